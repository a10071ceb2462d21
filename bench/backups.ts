// Backup figures of a real Spilo cluster on the node agent archiving into a real S3 server
// (versitygw) with barman-cloud (ADR 0016):
//   - base-backup throughput of a database of --size-mib (default 1024): database size / (end − begin)
//     of the first scheduled base backup after the load, from barman's backup.info;
//   - restore time of that database: applying a clone from the archive (spec.clone with a timestamp)
//     until its master answers with every row;
//   - WAL archive lag under a steady writer: from the moment Postgres leaves a segment to the moment
//     pg_stat_archiver reports it archived, for every segment filled during --writer-seconds;
//   - logical-backup time: a Job of the CronJob, start to completion, and the dump's size.
// Usage: node --import tsx bench/backups.ts [--size-mib 1024] [--writer-seconds 60]
// Prints a markdown table and writes bench/results/backups.json. Needs root (the agent's sandboxes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { openArchive, s3ObjectStore } from '@pgfn/backup-store';
import { ControlPlane, S3Server } from '@pgfn/controlplane';
import { startNodeAgent } from '@pgfn/node-agent';
import { applySpiloCluster, clusterMembers, type SpiloCluster, type SpiloClusterSpec } from '@pgfn/node-agent/testing';
import pg from 'pg';
import { arg, fixed, machine, median, quantile, table, writeResult } from './lib/report.js';
import { sleep, until } from './lib/proc.js';

const sizeMib = Number(arg('size-mib', '1024'));
const writerSeconds = Number(arg('writer-seconds', '60'));

async function client(host: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({ host, port: 5432, user: 'postgres', password, database: 'postgres', ssl: { rejectUnauthorized: false } });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function masterIp(kc: KubeConfig, ns: string, cluster: string, timeoutMs: number): Promise<string> {
  return until(
    `${cluster} master`,
    async () => (await clusterMembers(kc, ns, cluster)).find((m) => m.role === 'master' && m.ready)?.ip,
    timeoutMs,
    500,
  );
}

const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-backups-'));
const cp = await ControlPlane.start({ dir: join(root, 'cp'), removeOnStop: false });
const s3 = await S3Server.start({ dir: join(root, 's3'), buckets: ['pgfn-wal', 'pgfn-logical'] });
const agent = await startNodeAgent({
  kubeconfig: cp.kubeconfig,
  nodeName: 'pgfn-bench-backups',
  dataDir: join(root, 'data'),
  logDir: join(root, 'logs'),
});
const kc = new KubeConfig();
kc.loadFromFile(cp.kubeconfig);
const ns = 'bench-backups';
try {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  const keys = { AWS_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  const podEnv: Record<string, string> = { ...keys, USE_WALG_BACKUP: 'true', BACKUP_SCHEDULE: '* * * * *', BACKUP_NUM_TO_RETAIN: '2' };
  for (const [k, v] of Object.entries(keys)) podEnv[`CLONE_${k}`] = v;
  const spec = (name: string, extra: Partial<SpiloClusterSpec> = {}): SpiloClusterSpec => ({
    namespace: ns,
    name,
    instances: 1,
    patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
    podEnvironmentSecret: { name: 'pgfn-s3', data: podEnv },
    config: {
      walS3Bucket: 'pgfn-wal',
      logicalBackupS3Bucket: 'pgfn-logical',
      logicalBackupS3Endpoint: s3.endpoint,
      logicalBackupS3AccessKeyId: s3.accessKeyId,
      logicalBackupS3SecretAccessKey: s3.secretAccessKey,
    },
    ...extra,
  });
  const source: SpiloCluster = await applySpiloCluster(kc, spec('acid-bench'));
  const password = source.password('postgres');
  const ip = await masterIp(kc, ns, source.name, 300_000);
  const db = await client(ip, password);

  // WAL archive lag under a steady writer (200 rows of 1 KiB every 50 ms: a few MB/s of WAL).
  await db.query('CREATE TABLE steady (id bigserial PRIMARY KEY, payload text)');
  const lags: number[] = [];
  const switched = new Map<string, number>();
  const watcher = await client(ip, password);
  let writing = true;
  const writer = (async () => {
    const w = await client(ip, password);
    while (writing) {
      await w.query('INSERT INTO steady (payload) SELECT repeat(md5(random()::text), 32) FROM generate_series(1, 200)');
      await sleep(50);
    }
    await w.end();
  })();
  const writerEnd = Date.now() + writerSeconds * 1000;
  let previous = '';
  while (Date.now() < writerEnd + 30_000 && (Date.now() < writerEnd || switched.size > 0)) {
    const r = await watcher.query<{ current: string; archived: string | null }>(
      'SELECT pg_walfile_name(pg_current_wal_lsn()) AS current, last_archived_wal AS archived FROM pg_stat_archiver',
    );
    const now = Date.now();
    const { current, archived } = r.rows[0] as { current: string; archived: string | null };
    if (previous !== '' && current !== previous && now < writerEnd) switched.set(previous, now);
    previous = current;
    for (const [segment, at] of switched) {
      if (archived !== null && archived >= segment) {
        lags.push(now - at);
        switched.delete(segment);
      }
    }
    if (Date.now() >= writerEnd) writing = false;
    await sleep(100);
  }
  writing = false;
  await writer;
  await watcher.end();

  // Load the database to --size-mib, then wait for a scheduled base backup that began afterwards.
  const rows = Math.round((sizeMib * 1024 * 1024) / 300);
  const loadStarted = Date.now();
  await db.query(
    `CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 7) AS payload FROM generate_series(1, ${rows}) g`,
  );
  const loadMs = Date.now() - loadStarted;
  const dbBytes = Number((await db.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]?.b);
  const loaded = new Date();
  const archive = await openArchive({
    store: s3ObjectStore(s3.client(), 'pgfn-wal'),
    prefix: `spilo/${source.name}/${source.manifest.metadata.uid ?? ''}/wal/15`,
    layout: 'barman-cloud',
  });
  const backup = await until(
    'a base backup begun after the load',
    async () => (await archive.backups()).find((b) => (b.startTime?.getTime() ?? 0) > loaded.getTime()),
    3_600_000,
    5000,
  );
  const backupSeconds = (backup.finishTime.getTime() - (backup.startTime?.getTime() ?? 0)) / 1000;
  const clusterBytes = backup.dataBytes ?? dbBytes;

  // Restore: a clone at a timestamp after that backup.
  const target = (
    await db.query<{ t: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00' AS t`)
  ).rows[0]?.t as string;
  await sleep(1000);
  await db.query('INSERT INTO steady (payload) VALUES (NULL)');
  const last = (await db.query<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w')).rows[0]?.w as string;
  await until(
    'the last segment archived',
    async () => ((await archive.walSegments()).some((s) => s.name === last) ? true : undefined),
    300_000,
    1000,
  );
  const restoreStarted = Date.now();
  const clone = await applySpiloCluster(
    kc,
    spec('acid-restore', { clone: { cluster: source.name, uid: source.manifest.metadata.uid ?? '', timestamp: target } }),
  );
  const cloneIp = await masterIp(kc, ns, clone.name, 3_600_000);
  await until(
    'every row on the restored cluster',
    async () => {
      const c = await client(cloneIp, clone.password('postgres'));
      try {
        return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM big')).rows[0]?.n) === rows ? true : undefined;
      } finally {
        await c.end();
      }
    },
    600_000,
    1000,
  );
  const restoreSeconds = (Date.now() - restoreStarted) / 1000;

  // Logical backup: the CronJob's Job, start to completion.
  await applySpiloCluster(kc, {
    ...spec('acid-bench'),
    extraSpec: { enableLogicalBackup: true, logicalBackupSchedule: '* * * * *' },
    withCronJob: true,
    credentialsOf: source,
  });
  const job = await until(
    'a completed logical-backup Job',
    async () =>
      (await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns })).items.find((j) => j.status?.completionTime !== undefined),
    3_600_000,
    5000,
  );
  const logicalSeconds = ((job.status?.completionTime?.getTime() ?? 0) - (job.status?.startTime?.getTime() ?? 0)) / 1000;
  const dumps = await s3.client().send(new ListObjectsV2Command({ Bucket: 'pgfn-logical', Prefix: `spilo/${source.name}/` }));
  const dumpBytes = Math.max(...(dumps.Contents ?? []).map((o) => o.Size ?? 0));
  await db.end();

  const mib = (b: number): number => b / 1024 / 1024;
  const figures = {
    databaseBytes: dbBytes,
    loadSeconds: loadMs / 1000,
    baseBackup: {
      id: backup.id,
      seconds: backupSeconds,
      clusterBytes,
      storedBytes: backup.storedBytes,
      mibPerSecond: mib(clusterBytes) / backupSeconds,
    },
    restore: { seconds: restoreSeconds, rows },
    walArchiveLagMs: { segments: lags.length, median: median(lags), p95: quantile(lags, 0.95), max: Math.max(0, ...lags) },
    logicalBackup: { seconds: logicalSeconds, dumpBytes },
  };
  console.log(
    table(
      ['figure', 'value'],
      [
        ['database size', `${fixed(mib(dbBytes), 0)} MiB (${rows} rows, loaded in ${fixed(loadMs / 1000)} s)`],
        [
          'base backup (barman-cloud, gzip)',
          `${fixed(backupSeconds)} s, ${fixed(figures.baseBackup.mibPerSecond)} MiB/s, ${fixed(mib(backup.storedBytes), 0)} MiB stored`,
        ],
        ['restore (clone at a timestamp, to all rows readable)', `${fixed(restoreSeconds)} s`],
        [
          'WAL archive lag (segment full → archived)',
          `median ${figures.walArchiveLagMs.median} ms, p95 ${figures.walArchiveLagMs.p95} ms, ` +
            `max ${figures.walArchiveLagMs.max} ms over ${lags.length} segments`,
        ],
        ['logical backup (Job start → complete)', `${fixed(logicalSeconds)} s, dump ${fixed(mib(dumpBytes))} MiB`],
      ],
    ),
  );
  console.log(`\n${writeResult('backups', { machine: machine(), sizeMib, writerSeconds, figures })}`);
} finally {
  await agent.stop();
  await s3.stop();
  await cp.stop();
  rmSync(root, { recursive: true, force: true });
}
