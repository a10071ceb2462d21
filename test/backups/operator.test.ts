// The operator in the loop: the reconcile function (as in test/reconcile, real clients against the
// control plane) turns `postgresql` manifests into clusters on the node agent that archive into a real
// S3 server; a clone manifest with a timestamp restores exactly the rows committed before it; the
// logical-backup CronJob reconcile made runs and uploads.
import * as k8s from '@kubernetes/client-node';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { createLogger, eventRecorder } from '@pgfn/fn-runtime';
import { PatroniClient } from '@pgfn/patroni';
import { openArchive, s3ObjectStore } from '@pgfn/backup-store';
import { secretName } from '@pgfn/builder';
import type { S3Server } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { advance } from '../../functions/rolling-update/src/index.js';
import { eventually } from '../support/kube.js';
import { waitForRoles } from '../node-agent/support.js';
import { podEvent, resourceEvent, type RunningReconcile } from '../reconcile/support.js';
import { LOGICAL_BUCKET, sql, WAL_BUCKET, startBackupStack, type BackupStack } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

describe('backups with the operator in the loop (reconcile → node agent → S3)', function () {
  this.timeout(900_000);
  let stack: BackupStack | undefined;
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let s3: S3Server;
  let fn: RunningReconcile;
  let source: Cluster;
  let sourceMaster: string;
  let config: OperatorConfig;

  const manifest = (name: string, spec: Partial<Postgresql['spec']> = {}): Cluster => ({
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace: ns.name },
    spec: {
      teamId: 'acid',
      numberOfInstances: 1,
      postgresql: { version: '15' },
      volume: { size: '1Gi' },
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      ...spec,
    },
  });
  const create = async (body: Cluster): Promise<Cluster> => {
    const created = (await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await fn.post(resourceEvent('add', created))).status).to.equal(200);
    return created;
  };
  const password = async (cluster: string): Promise<string> => {
    const secret = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: ns.name, name: secretName('postgres', cluster, DEFAULT_OPERATOR_CONFIG) });
    return Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
  };
  const running = async (name: string): Promise<void> => {
    await eventually(
      `${name} Running`,
      async () => {
        await fn.post(podEvent(ns.name, name));
        const cur = (await kc
          .makeApiClient(k8s.CustomObjectsApi)
          .getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
        return cur.status?.PostgresClusterStatus === 'Running' ? true : undefined;
      },
      120_000,
      2000,
    );
  };

  before(async () => {
    stack = await startBackupStack({
      namespace: 'backups-op',
      agentNode: 'pgfn-agent-backups-op',
      spiloEnv: { BACKUP_SCHEDULE: '* * * * *', BACKUP_NUM_TO_RETAIN: '2' },
    });
    ({ kc, s3, ns, config, reconcile: fn } = stack);
    source = await create(manifest('acid-op', { enableLogicalBackup: true, logicalBackupSchedule: '* * * * *' }));
    sourceMaster = (await waitForRoles(kc, ns.name, 'acid-op', 0)).master.ip ?? '';
    await running('acid-op');
  });
  after(async () => {
    await stack?.stop();
  });

  it('clones a cluster to a timestamp from its archive: exactly the rows committed before it', async () => {
    const pw = await password('acid-op');
    await sql(sourceMaster, pw, 'CREATE TABLE events (id serial PRIMARY KEY, phase text)');
    await sql(sourceMaster, pw, "INSERT INTO events (phase) SELECT 'before' FROM generate_series(1, 30)");
    const rowsAt = Date.now();
    const archive = await openArchive({
      store: s3ObjectStore(s3.client(), WAL_BUCKET),
      prefix: `spilo/acid-op/${source.metadata?.uid ?? ''}/wal/15`,
      layout: 'barman-cloud',
    });
    // A completed base backup (on Spilo's schedule) that began after those rows.
    await eventually(
      'a base backup begun after the rows',
      async () => ((await archive.backups()).some((b) => (b.startTime?.getTime() ?? 0) > rowsAt) ? true : undefined),
      150_000,
      2000,
    );
    await sql(sourceMaster, pw, "INSERT INTO events (phase) SELECT 'after-backup' FROM generate_series(1, 20)");
    const [{ t: target }] = (await sql<{ t: string }>(
      sourceMaster,
      pw,
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00' AS t`,
    )) as [{ t: string }];
    await new Promise((r) => setTimeout(r, 1500));
    await sql(sourceMaster, pw, "INSERT INTO events (phase) SELECT 'after-target' FROM generate_series(1, 10)");
    await sql(sourceMaster, pw, 'SELECT pg_switch_wal()');
    await eventually(
      'the archiver caught up',
      async () => {
        const [row] = await sql<{ done: boolean }>(
          sourceMaster,
          pw,
          'SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) AS done FROM pg_stat_archiver',
        );
        return row?.done === true ? true : undefined;
      },
      60_000,
      1000,
    );

    await create(manifest('acid-op-pitr', { clone: { cluster: 'acid-op', uid: source.metadata?.uid ?? '', timestamp: target } }));
    const pitr = (await waitForRoles(kc, ns.name, 'acid-op-pitr', { replicas: 0, timeoutMs: 300_000 })).master.ip ?? '';
    await running('acid-op-pitr');
    const phases = await sql<{ phase: string; n: string }>(
      pitr,
      await password('acid-op-pitr'),
      'SELECT phase, count(*) AS n FROM events GROUP BY phase ORDER BY phase',
    );
    expect(phases.map((r) => [r.phase, Number(r.n)])).to.deep.equal([
      ['after-backup', 20],
      ['before', 30],
    ]);
  });

  it('promotes a standby cluster when spec.standby is removed: rolling-update deletes standby_cluster, it takes writes', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    // A standby replays the source's data, roles included: it needs the source's credentials (upstream's docs).
    for (const role of ['postgres', config.replicationUsername]) {
      const from = await core.readNamespacedSecret({ namespace: ns.name, name: secretName(role, 'acid-op', config) });
      await core.createNamespacedSecret({
        namespace: ns.name,
        body: {
          metadata: {
            name: secretName(role, 'acid-op-stby', config),
            labels: { ...from.metadata?.labels, 'cluster-name': 'acid-op-stby' },
          },
          data: from.data ?? {},
        },
      });
    }
    const pw = await password('acid-op');
    await create(
      manifest('acid-op-stby', { standby: { s3_wal_path: `s3://${WAL_BUCKET}/spilo/acid-op/${source.metadata?.uid ?? ''}/wal/15` } }),
    );
    const leader = (await waitForRoles(kc, ns.name, 'acid-op-stby', { replicas: 0, timeoutMs: 300_000 })).master.ip ?? '';
    await sql(sourceMaster, pw, 'CREATE TABLE IF NOT EXISTS events (id serial PRIMARY KEY, phase text)');
    await sql(sourceMaster, pw, "INSERT INTO events (phase) VALUES ('seen-by-standby')");
    await sql(sourceMaster, pw, 'SELECT pg_switch_wal()');
    const inRecovery = async (): Promise<boolean | undefined> =>
      (await sql<{ r: boolean }>(leader, pw, 'SELECT pg_is_in_recovery() AS r'))[0]?.r;
    await eventually(
      'the row replayed on the standby from the archive',
      async () => ((await sql(leader, pw, "SELECT 1 FROM events WHERE phase = 'seen-by-standby'")).length === 1 ? true : undefined),
      180_000,
      2000,
    );
    expect(await inRecovery()).to.equal(true);

    // The user removes spec.standby; reconcile writes the objects, rolling-update compares Patroni's configuration.
    const updated = (await objects.patchNamespacedCustomObject(
      { ...PG, namespace: ns.name, name: 'acid-op-stby', body: { spec: { standby: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as Cluster;
    expect(updated.spec.standby).to.equal(undefined);
    expect((await fn.post(resourceEvent('update', updated))).status).to.equal(200);
    const kube = new KubeClient(kc);
    const now = (): Date => new Date();
    const deps: Parameters<typeof advance>[0] = {
      kube,
      patroni: new PatroniClient(),
      loadConfig: () => Promise.resolve({ config, problems: [] }),
      recordEvent: eventRecorder({ kube, component: 'pgfn-rolling-update', now }),
      emit: () => Promise.resolve(),
      now,
      holder: 'backups-op-test',
      podTimeoutMs: 120_000,
    };
    expect(await advance(deps, { namespace: ns.name, name: 'acid-op-stby' }, { log: createLogger('rolling-update-test') })).to.equal(
      'acted',
    );
    await eventually('the standby leader promoted', async () => ((await inRecovery()) === false ? true : undefined), 120_000, 1000);
    await sql(leader, pw, "INSERT INTO events (phase) VALUES ('written-after-promotion')");
    expect(await sql(leader, pw, "SELECT 1 FROM events WHERE phase = 'written-after-promotion'")).to.have.length(1);

    const stored = (await objects.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-op-stby' })) as Cluster;
    const patroniCondition = stored.status?.conditions?.find((c) => c.type === 'PatroniConfigApplied');
    expect(patroniCondition?.message).to.include('standby_cluster removed (promote to primary)');
    const promoted = (await core.listNamespacedEvent({ namespace: ns.name })).items.filter(
      (e) => e.reason === 'StandbyPromoted' && e.involvedObject.name === 'acid-op-stby',
    );
    expect(promoted).to.have.length(1);
    // Patroni's configuration now matches the manifest: the next invocation patches nothing more.
    expect(await new PatroniClient().config(`http://${leader}:8008`)).to.not.have.property('standby_cluster');
  });

  it('puts WAL archive failures on the postgresql status: WALArchiving False with the S3 error, True once archiving works', async () => {
    const archiving = async (name: string): Promise<{ status: string; reason?: string; message?: string } | undefined> => {
      expect((await fn.post(podEvent(ns.name, name))).status).to.equal(200);
      const cur = (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
      return cur.status?.conditions?.find((c) => c.type === 'WALArchiving');
    };
    // Wrong credentials (the manifest's env outranks pod_environment_secret): the S3 server's refusal, on status.
    await create(manifest('acid-op-badkey', { env: [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'not-the-secret' }] }));
    const bad = (await waitForRoles(kc, ns.name, 'acid-op-badkey', 0)).master.ip ?? '';
    await sql(bad, await password('acid-op-badkey'), 'SELECT pg_switch_wal()');
    const refused = await eventually(
      'WALArchiving False on acid-op-badkey',
      async () => ((await archiving('acid-op-badkey'))?.status === 'False' ? archiving('acid-op-badkey') : undefined),
      120_000,
      2000,
    );
    expect(refused?.reason).to.equal('WALArchiveFailing');
    expect(refused?.message).to.match(/^acid-op-badkey-0: archiving WAL segment [0-9A-F]{24} to S3 fails/);
    expect(refused?.message).to.match(/SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|403/);
    expect(refused?.message).to.not.contain('not-the-secret');

    // The S3 server away and back: False while it is down, True once the held-back WAL is archived.
    const pw = await password('acid-op');
    await s3.pause();
    try {
      await sql(sourceMaster, pw, 'CREATE TABLE IF NOT EXISTS wal_probe (x int); INSERT INTO wal_probe VALUES (1)');
      await sql(sourceMaster, pw, 'SELECT pg_switch_wal()');
      const down = await eventually(
        'WALArchiving False on acid-op while S3 is down',
        async () => ((await archiving('acid-op'))?.status === 'False' ? archiving('acid-op') : undefined),
        120_000,
        2000,
      );
      expect(down?.message).to.match(/^acid-op-0: archiving WAL segment [0-9A-F]{24} to S3 fails/);
    } finally {
      await s3.resume();
    }
    const back = await eventually(
      'WALArchiving True on acid-op after S3 returned',
      async () => ((await archiving('acid-op'))?.status === 'True' ? archiving('acid-op') : undefined),
      120_000,
      2000,
    );
    expect(back?.reason).to.equal('WALArchiveRecovered');
  });

  it("runs the logical-backup CronJob reconcile made, and the dump lands under upstream's key", async () => {
    const job = await eventually(
      'a succeeded logical-backup Job',
      async () =>
        (await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({ namespace: ns.name })).items.find(
          (j) => (j.status?.succeeded ?? 0) > 0,
        ),
      180_000,
      2000,
    );
    expect(job.metadata?.name).to.match(/^logical-backup-acid-op-/);
    const client = s3.client();
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: LOGICAL_BUCKET, Prefix: `spilo/acid-op/${source.metadata?.uid ?? ''}/logical_backups/` }),
    );
    client.destroy();
    expect((listed.Contents ?? []).map((o) => o.Key)).to.satisfy((keys: string[]) =>
      keys.some((k) => /\/logical_backups\/\d{10}\.sql\.gz$/.test(k)),
    );
  });
});
