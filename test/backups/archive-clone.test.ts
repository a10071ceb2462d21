// Continuous archiving and base backups behind Spilo pods (barman-cloud in place of WAL-G, ADR 0016)
// into a real S3 server, and clones from that archive to a point in time — all through the node
// agent with real Patroni and PostgreSQL, the cluster objects built by @pgfn/builder as reconcile does.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { S3Server } from '@pgfn/controlplane';
import { applySpiloCluster, type SpiloCluster, type SpiloClusterSpec } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { startTestAgent, waitForRoles, type TestAgent } from '../node-agent/support.js';
import { archiveOf, s3PodEnvironment, sql, startS3, takeBaseBackupNow, WAL_BUCKET, walPrefix } from './support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };

describe('backups: WAL archive, base backups and point-in-time clones', function () {
  this.timeout(900_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let s3: S3Server;
  let source: SpiloCluster;
  let sourceMaster: string;
  let firstBackup = '';

  const cluster = (name: string, extra: Partial<SpiloClusterSpec> = {}): Promise<SpiloCluster> =>
    applySpiloCluster(kc, {
      namespace: ns.name,
      name,
      instances: 1,
      patroni: TUNED,
      config: { walS3Bucket: WAL_BUCKET },
      podEnvironmentSecret: { name: 'pgfn-s3', data: s3PodEnvironment(s3, { BACKUP_SCHEDULE: '* * * * *', BACKUP_NUM_TO_RETAIN: '2' }) },
      ...extra,
    });
  const events = async (reason: string): Promise<k8s.CoreV1Event[]> =>
    (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name })).items.filter((e) => e.reason === reason);
  const count = async (host: string, password: string): Promise<number> =>
    Number((await sql<{ n: string }>(host, password, 'SELECT count(*) AS n FROM events'))[0]?.n);

  before(async () => {
    kc = adminConfig();
    s3 = await startS3();
    ns = await createNamespace(kc, 'backups');
    t = await startTestAgent('pgfn-agent-backups');
    source = await cluster('acid-arch');
    sourceMaster = (await waitForRoles(kc, ns.name, source.name, 0)).master.ip ?? '';
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
    await s3?.stop();
  });

  it('takes a base backup once the primary is up and archives WAL into the bucket under the Spilo prefix', async () => {
    const archive = await archiveOf(s3, source);
    const backups = await eventually(
      'a base backup in the bucket',
      async () => ((await archive.backups()).length > 0 ? archive.backups() : undefined),
      180_000,
      2000,
    );
    firstBackup = backups[0]?.id ?? '';
    expect(backups[0]?.pgMajor).to.equal(15);
    expect(backups[0]?.timeline).to.equal(1);
    await sql(
      sourceMaster,
      source.password('postgres'),
      'CREATE TABLE events (id serial PRIMARY KEY, phase text, at timestamptz DEFAULT clock_timestamp())',
    );
    const [{ wal }] = (await sql<{ wal: string }>(
      sourceMaster,
      source.password('postgres'),
      'SELECT pg_walfile_name(pg_switch_wal()) AS wal',
    )) as [{ wal: string }];
    await eventually(
      `segment ${wal} archived`,
      async () => ((await archive.walSegments()).some((s) => s.name === wal) ? true : undefined),
      60_000,
      1000,
    );
  });

  it('clones to a timestamp: exactly the rows committed before it; a clone of the running cluster has all', async () => {
    const password = source.password('postgres');
    await sql(sourceMaster, password, "INSERT INTO events (phase) SELECT 'before-backup' FROM generate_series(1, 100)");
    const archive = await archiveOf(s3, source);
    const rowsWritten = new Date();
    // A base backup that began after those rows: taken now with the command Spilo's cron runs (ADR 0135;
    // BACKUP_SCHEDULE, every minute, keeps running: the retention test below counts its backups).
    const took = await takeBaseBackupNow(kc, ns.name, `${source.name}-0`);
    if (took.exitCode !== 0) console.log(`      postgres_backup.sh exited ${took.exitCode} (a scheduled run beside it?): ${took.tail}`);
    await eventually(
      'a base backup taken after the first rows',
      async () => ((await archive.backups()).some((b) => (b.startTime?.getTime() ?? 0) > rowsWritten.getTime()) ? true : undefined),
      150_000,
      2000,
    );
    await sql(sourceMaster, password, "INSERT INTO events (phase) SELECT 'after-backup' FROM generate_series(1, 50)");
    const [{ t: target }] = (await sql<{ t: string }>(
      sourceMaster,
      password,
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00' AS t`,
    )) as [{ t: string }];
    await new Promise((r) => setTimeout(r, 1500));
    await sql(sourceMaster, password, "INSERT INTO events (phase) SELECT 'after-target' FROM generate_series(1, 25)");
    const [{ wal }] = (await sql<{ wal: string }>(sourceMaster, password, 'SELECT pg_walfile_name(pg_switch_wal()) AS wal')) as [
      { wal: string },
    ];
    await eventually(
      `segment ${wal} archived`,
      async () => ((await archive.walSegments()).some((s) => s.name === wal) ? true : undefined),
      60_000,
      1000,
    );

    // Both clones at once: every row they are checked against is written and archived already.
    const [pitr, copy] = await Promise.all([
      cluster('acid-pitr', { clone: { cluster: source.name, uid: source.manifest.metadata.uid ?? '', timestamp: target } }),
      cluster('acid-copy', { clone: { cluster: source.name } }),
    ]);
    const [pitrRoles, copyRoles] = await Promise.all(
      [pitr, copy].map((c) => waitForRoles(kc, ns.name, c.name, { replicas: 0, timeoutMs: 300_000 })),
    );
    const pitrMaster = pitrRoles?.master.ip ?? '';
    const phases = await sql<{ phase: string; n: string }>(
      pitrMaster,
      pitr.password('postgres'),
      'SELECT phase, count(*) AS n FROM events GROUP BY phase ORDER BY phase',
    );
    expect(phases.map((r) => [r.phase, Number(r.n)])).to.deep.equal([
      ['after-backup', 50],
      ['before-backup', 100],
    ]);
    expect((await sql<{ r: boolean }>(pitrMaster, pitr.password('postgres'), 'SELECT pg_is_in_recovery() AS r'))[0]?.r).to.equal(false);

    const copyMaster = copyRoles?.master.ip ?? '';
    expect(await count(copyMaster, copy.password('postgres'))).to.equal(175);
  });

  it('keeps serving while the S3 server is down and archives the held-back WAL once it returns', async () => {
    const password = source.password('postgres');
    const archive = await archiveOf(s3, source);
    await s3.pause();
    try {
      await sql(sourceMaster, password, "INSERT INTO events (phase) SELECT 'during-outage' FROM generate_series(1, 40)");
      await sql(sourceMaster, password, 'SELECT pg_switch_wal()');
      await eventually(
        'the archiver reporting failures',
        async () => {
          const [row] = await sql<{ failed: string; last: string | null }>(
            sourceMaster,
            password,
            'SELECT failed_count AS failed, last_failed_wal AS last FROM pg_stat_archiver',
          );
          return Number(row?.failed) > 0 && row?.last !== null ? true : undefined;
        },
        60_000,
        1000,
      );
      const warning = await eventually(
        'a WALArchiveFailing Event on the source pod',
        async () => (await events('WALArchiveFailing')).find((e) => e.involvedObject.name === 'acid-arch-0'),
        60_000,
        1000,
      );
      expect(warning.type).to.equal('Warning');
      expect(warning.message).to.match(/^archiving WAL segment [0-9A-F]{24} to S3 fails; Postgres keeps it and retries: .+/);
      // Still serving writes while the archive is away.
      await sql(sourceMaster, password, "INSERT INTO events (phase) VALUES ('during-outage-2')");
    } finally {
      await s3.resume();
    }
    const [{ wal: last }] = (await sql<{ wal: string }>(sourceMaster, password, 'SELECT pg_walfile_name(pg_switch_wal()) AS wal')) as [
      { wal: string },
    ];
    await eventually(
      `segment ${last} archived after the outage`,
      async () => ((await archive.walSegments()).some((s) => s.name === last) ? true : undefined),
      120_000,
      1000,
    );
    await eventually(
      'a WALArchiveRecovered Event',
      async () => (await events('WALArchiveRecovered')).find((e) => e.involvedObject.name === 'acid-arch-0'),
      60_000,
      1000,
    );
    // Nothing lost: every segment from the oldest base backup's start to the last switch is in the bucket.
    const segments = new Set((await archive.walSegments()).map((s) => s.name));
    const first = (await archive.backups())[0]?.startSegment ?? '';
    const wanted: string[] = [];
    for (let n = Number.parseInt(first.slice(16), 16); n <= Number.parseInt(last.slice(16), 16); n++)
      wanted.push(`${first.slice(0, 16)}${n.toString(16).toUpperCase().padStart(8, '0')}`);
    expect(wanted.filter((w) => !segments.has(w))).to.deep.equal([]);
  });

  it('follows the source from its archive as a standby cluster; promoted (standby_cluster removed), it takes writes', async () => {
    const password = source.password('postgres');
    const standby = await cluster('acid-stby', {
      standby: { s3_wal_path: `s3://${WAL_BUCKET}/${walPrefix(source)}` },
      credentialsOf: source,
    });
    const leader = (await waitForRoles(kc, ns.name, standby.name, { replicas: 0, timeoutMs: 300_000 })).master.ip ?? '';
    await sql(sourceMaster, password, "INSERT INTO events (phase) VALUES ('seen-by-standby')");
    await sql(sourceMaster, password, 'SELECT pg_switch_wal()');
    const phases = await eventually(
      'the new row replayed on the standby from the archive',
      async () => {
        const rows = await sql<{ phase: string; n: string }>(
          leader,
          password,
          'SELECT phase, count(*) AS n FROM events GROUP BY phase ORDER BY phase',
        );
        return rows.some((r) => r.phase === 'seen-by-standby') ? rows : undefined;
      },
      180_000,
      2000,
    );
    // Rows written while S3 was down reached the standby too: nothing was lost.
    expect(phases.map((r) => [r.phase, Number(r.n)])).to.deep.include.members([
      ['during-outage', 40],
      ['during-outage-2', 1],
      ['seen-by-standby', 1],
    ]);
    expect((await sql<{ r: boolean }>(leader, password, 'SELECT pg_is_in_recovery() AS r'))[0]?.r).to.equal(true);
    // Without the operator here, the test takes rolling-update's step itself (standby_cluster: null);
    // test/backups/operator.test.ts has the operator do it when spec.standby is removed.
    const response = await fetch(`http://${leader}:8008/config`, { method: 'PATCH', body: JSON.stringify({ standby_cluster: null }) });
    expect(response.status).to.equal(200);
    await eventually(
      'the standby promoted',
      async () => ((await sql<{ r: boolean }>(leader, password, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false ? true : undefined),
      120_000,
      1000,
    );
    await sql(leader, password, "INSERT INTO events (phase) VALUES ('written-after-promotion')");
    const [{ n }] = (await sql<{ n: string }>(
      leader,
      password,
      "SELECT count(*) AS n FROM events WHERE phase = 'written-after-promotion'",
    )) as [{ n: string }];
    expect(Number(n)).to.equal(1);
  });

  it('reports wrong S3 credentials as a Warning Event on the pod, and keeps serving', async () => {
    const wrong = await cluster('acid-badkey', {
      podEnvironmentSecret: { name: 'pgfn-s3-wrong', data: s3PodEnvironment(s3, { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }) },
    });
    const master = (await waitForRoles(kc, ns.name, wrong.name, 0)).master.ip ?? '';
    await sql(master, wrong.password('postgres'), 'SELECT pg_switch_wal()');
    const warning = await eventually(
      'a WALArchiveFailing Event naming the refusal',
      async () => (await events('WALArchiveFailing')).find((e) => e.involvedObject.name === 'acid-badkey-0'),
      120_000,
      1000,
    );
    expect(warning.message).to.match(/SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|403/);
    expect(warning.message).to.not.contain('not-the-secret');
    expect(warning.source?.component).to.equal('kubelet');
    // Postgres keeps the segments and serves writes.
    await sql(master, wrong.password('postgres'), 'CREATE TABLE still_writable (x int); INSERT INTO still_writable VALUES (1)');
  });

  it('keeps the newest BACKUP_NUM_TO_RETAIN (2) base backups of the scheduled ones', async () => {
    const archive = await archiveOf(s3, source);
    // Base backups ran every minute through the tests above; retention runs after each one.
    const kept = await eventually(
      'exactly two base backups, the first one deleted',
      async () => {
        const ids = (await archive.backups()).map((b) => b.id);
        return ids.length === 2 && !ids.includes(firstBackup) ? ids : undefined;
      },
      150_000,
      2000,
    );
    expect(kept.every((id) => id > firstBackup)).to.equal(true);
    // WAL older than the oldest kept backup went with the deleted backups.
    const oldestStart = (await archive.backups())[0]?.startSegment ?? '';
    expect((await archive.walSegments()).filter((w) => w.name < oldestStart && w.timeline === 1)).to.deep.equal([]);
  });
});
