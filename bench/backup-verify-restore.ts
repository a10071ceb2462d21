// The restore half of bench:backup-verify: a real Spilo cluster on the node agent, loaded to
// --size-mib, archiving into a real S3 server; a base backup on request (Spilo's backup script exec'd
// in the master, ADR 0070); then pgfn's restore test of it (ADR 0039: a Spilo clone Job to a marker,
// checks, removal) against barman-cloud restoring the same backup by hand (cloud_restore, then
// Postgres replaying the archive through cloud_walrestore until it is promoted). pgfn goes first, so
// the bare tool reads a bucket the page cache has warmed: the ratio is, if anything, pgfn's worst case.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { openArchive, s3ObjectStore } from '@pgfn/backup-store';
import type { S3Server } from '@pgfn/controlplane';
import { SPILO_BACKUP_COMMAND } from '@pgfn/fn-runtime';
import { KubeClient, podExec } from '@pgfn/kube';
import { applySpiloCluster, clusterMembers, type SpiloClusterSpec } from '@pgfn/node-agent/testing';
import pg from 'pg';
import { runRestoreTest } from '../functions/backup-verify/src/restore-run.js';
import { until } from './lib/proc.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const VENV = join(homedir(), '.cache/pgfn/venv-barman-3.19.1');

function run(o: { command: string; args: string[]; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.command, o.args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${o.command} exited ${code}: ${out.slice(-2000)}`))));
  });
}

export interface RestoreFigures {
  readonly databaseBytes: number;
  readonly rows: number;
  readonly loadSeconds: number;
  readonly onDemandBackup: { readonly id: string; readonly seconds: number; readonly storedBytes: number };
  readonly pgfnRestoreTest: { readonly seconds: number; readonly ok: boolean; readonly detail: string };
  readonly bareRestore: { readonly seconds: number; readonly fetchSeconds: number; readonly replaySeconds: number; readonly rows: number };
  readonly ratio: number;
}

export async function benchRestore(o: { kc: KubeConfig; s3: S3Server; root: string; sizeMib: number }): Promise<RestoreFigures> {
  const { kc, s3, root } = o;
  const ns = 'bench-verify';
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  const keys = { AWS_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  const spec: SpiloClusterSpec = {
    namespace: ns,
    name: 'acid-bench',
    instances: 1,
    patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
    // only the bootstrap backup by schedule; the measured one is taken on request
    // (the CLONE_ keys: the restore test is a point-in-time clone of this cluster)
    podEnvironmentSecret: {
      name: 'pgfn-s3',
      data: {
        ...keys,
        ...Object.fromEntries(Object.entries(keys).map(([k, v]) => [`CLONE_${k}`, v])),
        USE_WALG_BACKUP: 'true',
        USE_WALG_RESTORE: 'true',
        BACKUP_SCHEDULE: '0 0 1 1 *',
      },
    },
    config: { walS3Bucket: 'pgfn-wal' },
  };
  const source = await applySpiloCluster(kc, spec);
  const password = source.password('postgres');
  const master = await until(
    'the master',
    async () => (await clusterMembers(kc, ns, source.name)).find((m) => m.role === 'master' && m.ready),
    300_000,
    500,
  );
  const db = new pg.Client({ host: master.ip, port: 5432, user: 'postgres', password, ssl: { rejectUnauthorized: false } });
  db.on('error', () => undefined);
  await db.connect();
  const uid = source.manifest.metadata?.uid ?? '';
  const archive = await openArchive({
    store: s3ObjectStore(s3.client(), 'pgfn-wal'),
    prefix: `spilo/${source.name}/${uid}/wal/15`,
    layout: 'barman-cloud',
  });
  await until('the bootstrap backup', async () => ((await archive.backups()).length > 0 ? true : undefined), 600_000, 2000);

  const rows = Math.round((o.sizeMib * 1024 * 1024) / 300);
  const loadStarted = performance.now();
  await db.query(
    `CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 7) AS payload FROM generate_series(1, ${rows}) g`,
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const databaseBytes = Number((await db.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]?.b);

  // The base backup, on request: what backup-verify runs for dev.pgfn.backup.requested.
  const asked = new Date();
  const backupStarted = performance.now();
  const ran = await podExec(kc)({ namespace: ns, pod: master.name, container: 'postgres', command: SPILO_BACKUP_COMMAND });
  if (ran.exitCode !== 0) throw new Error(`postgres_backup.sh exited ${ran.exitCode}: ${ran.stderr.slice(-2000)}`);
  const backupSeconds = (performance.now() - backupStarted) / 1000;
  const backup = (await archive.backups()).find((b) => (b.startTime?.getTime() ?? 0) >= asked.getTime() - 1000);
  if (backup === undefined) throw new Error('the requested backup is not in the archive');
  await db.end();

  // pgfn's restore test (it writes its marker, archives it, restores the newest backup to just after it).
  const kube = new KubeClient(kc);
  const restore = await runRestoreTest({
    kube,
    cluster: { ...source.manifest, metadata: { ...source.manifest.metadata, namespace: ns } },
    config: source.config,
    timeoutSeconds: 3600,
  });
  if (!restore.ok) throw new Error(`pgfn's restore test failed: ${restore.detail}`);

  // The same backup restored by hand with barman-cloud, then Postgres replaying the whole archive.
  const bare = join(root, 'bare');
  const venv = join(bare, 'venv'); // a copy the postgres user can read (the cache is under root's home)
  mkdirSync(bare, { recursive: true });
  cpSync(VENV, venv, { recursive: true, verbatimSymlinks: true });
  chmodSync(root, 0o755);
  const data = join(bare, 'data');
  const sock = join(bare, 'sock');
  mkdirSync(sock, { recursive: true });
  const url = `s3://pgfn-wal/spilo/${source.name}/${uid}/wal`;
  const awsEnv = { ...keys, AWS_DEFAULT_REGION: 'us-east-1' };
  const started = performance.now();
  await run({
    command: join(venv, 'bin/python3'),
    args: ['-m', 'barman.clients.cloud_restore', '--cloud-provider', 'aws-s3', '--endpoint-url', s3.endpoint, url, '15', backup.id, data],
    env: awsEnv,
  });
  const fetched = performance.now();
  writeFileSync(join(bare, 'hba.conf'), 'local all all trust\n');
  writeFileSync(join(bare, 'ident.conf'), '');
  const walRestore = `${join(venv, 'bin/python3')} -m barman.clients.cloud_walrestore`;
  const restoreCommand = `${walRestore} --cloud-provider aws-s3 --endpoint-url ${s3.endpoint} ${url} 15 %f %p`;
  writeFileSync(
    join(bare, 'postgresql.conf'),
    [
      `data_directory = '${data}'`,
      `hba_file = '${join(bare, 'hba.conf')}'`,
      `ident_file = '${join(bare, 'ident.conf')}'`,
      "listen_addresses = ''",
      `unix_socket_directories = '${sock}'`,
      'hot_standby = off',
      'archive_mode = off',
      `restore_command = '${restoreCommand}'`,
      "recovery_target_action = 'promote'",
      '',
    ].join('\n'),
  );
  writeFileSync(join(data, 'recovery.signal'), '');
  await run({ command: 'chown', args: ['-R', 'postgres:postgres', bare] });
  chmodSync(data, 0o700);
  await run({
    command: 'runuser',
    // -D: the folder holding postgresql.conf, which names the data directory
    args: ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', bare, '-l', join(bare, 'postgres.log'), '-W', 'start'],
    env: awsEnv,
  });
  const psql = (sql: string): Promise<string> =>
    run({ command: 'runuser', args: ['-u', 'postgres', '--', join(PG_BIN, 'psql'), '-X', '-h', sock, '-d', 'postgres', '-tAc', sql] });
  await until(
    'the bare restore promoted',
    async () => ((await psql('SELECT pg_is_in_recovery()')).trim() === 'f' ? true : undefined),
    3_600_000,
    250,
  );
  const done = performance.now();
  const restoredRows = Number((await psql('SELECT count(*) FROM big')).trim());
  await run({ command: 'runuser', args: ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] }).catch(
    () => '',
  );
  const bareSeconds = (done - started) / 1000;
  return {
    databaseBytes,
    rows,
    loadSeconds,
    onDemandBackup: { id: backup.id, seconds: backupSeconds, storedBytes: backup.storedBytes },
    pgfnRestoreTest: { seconds: restore.durationSeconds, ok: restore.ok, detail: restore.detail },
    bareRestore: {
      seconds: bareSeconds,
      fetchSeconds: (fetched - started) / 1000,
      replaySeconds: (done - fetched) / 1000,
      rows: restoredRows,
    },
    ratio: restore.durationSeconds / bareSeconds,
  };
}
