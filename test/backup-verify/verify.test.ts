// backup-verify against real backups: the operator (reconcile) makes a cluster on the node agent that
// archives into a real S3 server (barman-cloud, ADR 0016); the function, acting as its own
// ServiceAccount, reads that bucket and reports on the cluster, and a subscriber gets its CloudEvents.
import * as k8s from '@kubernetes/client-node';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { openArchive, s3ObjectStore, type BackupArchive } from '@pgfn/backup-store';
import { secretName } from '@pgfn/builder';
import type { S3Server } from '@pgfn/controlplane';
import { eventually } from '../support/kube.js';
import { waitForRoles } from '../node-agent/support.js';
import { podEvent, resourceEvent, type RunningReconcile } from '../reconcile/support.js';
import { LOGICAL_BUCKET, runLogicalBackupNow, sql, WAL_BUCKET, startBackupStack, type BackupStack } from '../backups/support.js';
import { restoreJob } from '../../functions/backup-verify/src/restore-job.js';
import { startSubscriber, startVerify, type RunningVerify } from './support.js';

type Cluster = Postgresql &
  k8s.KubernetesObject & { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const NAME = 'acid-bv';

describe('backup-verify against a real archive (reconcile → node agent → S3 → backup-verify)', function () {
  this.timeout(900_000);
  let stack: BackupStack | undefined;
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let s3: S3Server;
  let reconcile: RunningReconcile;
  let verify: RunningVerify;
  let subscriber: Awaited<ReturnType<typeof startSubscriber>>;
  let config: OperatorConfig;
  let archive: BackupArchive;
  let master: string;
  let password: string;
  let uid: string;
  const walPrefixOf = (): string => `spilo/${NAME}/${uid}/wal/15`;

  const cluster = async (): Promise<Cluster> =>
    (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace: ns.name, name: NAME })) as Cluster;
  const condition = async (): Promise<{ status: string; reason?: string; message?: string } | undefined> =>
    (await cluster()).status?.conditions?.find((c) => c.type === 'BackupVerified');
  const requestVerification = async (fn: RunningVerify): Promise<void> => {
    expect(await fn.post({ type: 'dev.pgfn.backup.verify.requested', subject: `${ns.name}/${NAME}` })).to.equal(200);
  };

  before(async () => {
    // The first base backup is taken at bootstrap; the schedule (once a year) adds none during the test.
    stack = await startBackupStack({
      namespace: 'backup-verify',
      agentNode: 'pgfn-agent-backup-verify',
      spiloEnv: { BACKUP_SCHEDULE: '0 0 1 1 *', BACKUP_NUM_TO_RETAIN: '2' },
    });
    ({ kc, s3, ns, config, reconcile } = stack);
    const body: Cluster = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'postgresql',
      metadata: { name: NAME, namespace: ns.name },
      spec: {
        teamId: 'acid',
        numberOfInstances: 1,
        postgresql: { version: '15' },
        volume: { size: '1Gi' },
        patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
        // upstream's logical-backup CronJob: its one dump, run at once from its template (ADR 0135), is what the
        // verification restores; its schedule (once a year, as the base backups') adds none during the test
        enableLogicalBackup: true,
        logicalBackupSchedule: '0 0 1 1 *',
      },
    };
    const created = (await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await reconcile.post(resourceEvent('add', created))).status).to.equal(200);
    master = (await waitForRoles(kc, ns.name, NAME, 0)).master.ip ?? '';
    await eventually(
      `${NAME} Running`,
      async () => {
        await reconcile.post(podEvent(ns.name, NAME));
        return (await cluster()).status?.PostgresClusterStatus === 'Running' ? true : undefined;
      },
      120_000,
      2000,
    );
    // The first logical dump now, from the CronJob's template (ADR 0135), while the base backup and WAL come.
    await runLogicalBackupNow(kc, ns.name, NAME);
    const secret = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: ns.name, name: secretName('postgres', NAME, DEFAULT_OPERATOR_CONFIG) });
    password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
    uid = created.metadata?.uid ?? '';
    archive = await openArchive({
      store: s3ObjectStore(s3.client(), WAL_BUCKET),
      prefix: `spilo/${NAME}/${created.metadata?.uid ?? ''}/wal/15`,
      layout: 'barman-cloud',
    });
    await eventually('the bootstrap base backup', async () => ((await archive.backups()).length > 0 ? true : undefined), 180_000, 2000);
    // WAL after the backup: a few segments, every one archived.
    await sql(master, password, 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz DEFAULT now())');
    let switched = '';
    for (let i = 0; i < 4; i++) {
      await sql(master, password, 'INSERT INTO ticks DEFAULT VALUES');
      const [row] = await sql<{ seg: string }>(master, password, 'SELECT pg_walfile_name(pg_switch_wal()) AS seg');
      switched = row?.seg ?? switched;
    }
    await eventually(
      'the archiver caught up',
      async () => {
        const [row] = await sql<{ done: boolean }>(
          master,
          password,
          // the last segment switched away from (a checkpoint may already have written into the next one)
          `SELECT last_archived_wal >= '${switched}' AS done FROM pg_stat_archiver`,
        );
        return row?.done === true ? true : undefined;
      },
      // barman-cloud-wal-archive starts a Python per segment; on a loaded machine that takes a while
      180_000,
      1000,
    );
    const logicalPrefix = `spilo/${NAME}/${created.metadata?.uid ?? ''}/logical_backups/`;
    const store = s3ObjectStore(s3.client(), LOGICAL_BUCKET);
    await eventually('a logical backup', async () => ((await store.list(logicalPrefix)).length > 0 ? true : undefined), 300_000, 3000);
    subscriber = await startSubscriber();
    verify = await startVerify({ s3, config, sink: subscriber.url });
  });
  after(async () => {
    await verify?.stop();
    await subscriber?.stop();
    await stack?.stop();
  });

  it('healthy backups: BackupVerified=True with backup, age, size, point reached, logical dump; the CloudEvent is delivered', async () => {
    const [newest] = (await archive.backups()).slice(-1);
    await requestVerification(verify);
    const c = await condition();
    expect(c).to.include({ status: 'True', reason: 'Verified' });
    const figures =
      `^verified: base backup ${newest?.id ?? '?'}, \\d+[sm].* old, [\\d.]+ [KM]iB stored; recoverable to \\d+/[0-9A-F]+ ` +
      '.*; restore test \\d+[sm].*: restored to [-0-9T:.+]+: marker found, \\d+ catalog indexes pass amcheck' +
      '; logical backup \\d{10}\\.sql\\.gz, \\d+[sm].* old, [\\d.]+ [KM]?i?B' +
      ', restored into a scratch database: \\d+ databases?, \\d+ tables, \\d+ rows as in the dump$';
    expect(c?.message).to.match(new RegExp(figures));
    const event = subscriber.received.find((e) => e.type === 'dev.pgfn.backup.verified');
    expect(event?.subject).to.equal(`${ns.name}/${NAME}`);
    expect(event?.data).to.deep.include({ namespace: ns.name, name: NAME, outcome: 'verified', reason: 'Verified' });
    expect((event?.data['backup'] as { id: string }).id).to.equal(newest?.id);
    expect((event?.data['restore'] as { ok: boolean }).ok).to.equal(true);
    // The scratch instance is gone.
    const left = await kc
      .makeApiClient(k8s.BatchV1Api)
      .listNamespacedJob({ namespace: ns.name, labelSelector: `pgfn.dev/restore-test-of=${NAME}` });
    expect(left.items).to.deep.equal([]);
    expect((event?.data['logical'] as { key: string }).key).to.match(/\/logical_backups\/\d{10}\.sql\.gz$/);
    expect(event?.data['segmentsChecked']).to.be.greaterThan(3);
    const metrics = await verify.registryText();
    expect(metrics).to.match(new RegExp(`pgfn_backup_age_seconds\\{namespace="${ns.name}",cluster="${NAME}",fn="backup-verify"\\} \\d`));
    expect(metrics).to.include('pgfn_backup_verifications_total{outcome="verified",reason="Verified",fn="backup-verify"} 1');
    expect(metrics).to.include('pgfn_backup_verify_duration_seconds_count{fn="backup-verify",outcome="verified"} 1');
    const events = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    expect(events.items.some((e) => e.reason === 'BackupVerified' && e.involvedObject.name === NAME)).to.equal(true);
  });

  it('a scratch instance left by a run that died mid-restore is removed, and the cluster verified again', async () => {
    // What a killed run leaves: its scratch Job, restoring, and the pod the node agent runs for it.
    const statefulSet = await kc.makeApiClient(k8s.AppsV1Api).readNamespacedStatefulSet({ namespace: ns.name, name: NAME });
    const leftover = restoreJob({
      cluster: await cluster(),
      statefulSet,
      config,
      targetTime: new Date().toISOString(),
      deadlineSeconds: 600,
    });
    await kc.makeApiClient(k8s.BatchV1Api).createNamespacedJob({ namespace: ns.name, body: leftover });
    const leftoverUid = (
      await kc.makeApiClient(k8s.BatchV1Api).readNamespacedJob({ namespace: ns.name, name: leftover.metadata?.name ?? '' })
    ).metadata?.uid;
    await eventually(
      'the leftover scratch pod',
      async () => {
        const pods = await kc
          .makeApiClient(k8s.CoreV1Api)
          .listNamespacedPod({ namespace: ns.name, labelSelector: `pgfn.dev/restore-test-of=${NAME}` });
        return pods.items.length > 0 ? true : undefined;
      },
      60_000,
      1000,
    );
    await requestVerification(verify);
    const c = await condition();
    expect(c).to.include({ status: 'True', reason: 'Verified' });
    expect(c?.message).to.match(/restore test .*: restored to .*: marker found/);
    const jobs = await kc
      .makeApiClient(k8s.BatchV1Api)
      .listNamespacedJob({ namespace: ns.name, labelSelector: `pgfn.dev/restore-test-of=${NAME}` });
    expect(jobs.items.map((j) => j.metadata?.uid)).to.not.include(leftoverUid);
    expect(jobs.items).to.deep.equal([]);
  });

  it('no base backup younger than the policy: fails with the age', async () => {
    const strict = await startVerify({ s3, config, sink: subscriber.url, policy: { maxBackupAgeSeconds: 1 } });
    try {
      await requestVerification(strict);
    } finally {
      await strict.stop();
    }
    const c = await condition();
    expect(c).to.include({ status: 'False', reason: 'BackupTooOld' });
    expect(c?.message).to.match(/^the newest base backup \d{8}T\d{6} is \d+[sm]( \d+s)? old, older than the policy's 1s/);
    const failed = subscriber.received.filter((e) => e.type === 'dev.pgfn.backup.failed');
    expect(failed.at(-1)?.data).to.deep.include({ outcome: 'failed', reason: 'BackupTooOld' });
  });

  it("a base backup's data corrupted (bytes of its object changed): the restore test fails, says why, removes the scratch", async () => {
    const [newest] = (await archive.backups()).slice(-1);
    const client = s3.client();
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: WAL_BUCKET, Prefix: `${walPrefixOf()}/base/${newest?.id ?? '?'}/` }),
    );
    const data = (listed.Contents ?? []).find((o) => /data\.tar/.test(o.Key ?? ''));
    expect(data?.Key, 'the base backup holds data.tar*').to.be.a('string');
    const original = Buffer.from(
      await (await client.send(new GetObjectCommand({ Bucket: WAL_BUCKET, Key: data?.Key ?? '' }))).Body!.transformToByteArray(),
    );
    const corrupted = Buffer.from(original);
    const from = Math.floor(corrupted.length / 3);
    for (let i = from; i < Math.min(from + 4096, corrupted.length); i++) corrupted[i] = (corrupted[i] ?? 0) ^ 0xff;
    await client.send(new PutObjectCommand({ Bucket: WAL_BUCKET, Key: data?.Key ?? '', Body: corrupted }));
    client.destroy();
    const bounded = await startVerify({ s3, config, sink: subscriber.url, policy: { restoreTimeoutSeconds: 300 } });
    try {
      await requestVerification(bounded);
    } finally {
      await bounded.stop();
    }
    const c = await condition();
    expect(c).to.include({ status: 'False', reason: 'RestoreFailed' });
    expect(c?.message).to.match(/^the restore of the newest base backup failed: the scratch instance ended \(.+\)/);
    const failed = subscriber.received.filter((e) => e.type === 'dev.pgfn.backup.failed').at(-1);
    expect(failed?.data).to.deep.include({ reason: 'RestoreFailed' });
    const jobs = await kc
      .makeApiClient(k8s.BatchV1Api)
      .listNamespacedJob({ namespace: ns.name, labelSelector: `pgfn.dev/restore-test-of=${NAME}` });
    expect(jobs.items).to.deep.equal([]);
  });

  it('one WAL segment deleted from the bucket: fails naming the gap, on the status, as an Event and as a CloudEvent', async () => {
    const [newest] = (await archive.backups()).slice(-1);
    const after = (await archive.walSegments()).filter((s) => s.name > (newest?.startSegment ?? ''));
    expect(after.length, 'segments archived after the backup began').to.be.greaterThan(2);
    const victim = after[1];
    const client = s3.client();
    await client.send(new DeleteObjectCommand({ Bucket: WAL_BUCKET, Key: victim?.key ?? '' }));
    client.destroy();
    await requestVerification(verify);
    const c = await condition();
    expect(c).to.include({ status: 'False', reason: 'MissingWalSegment' });
    expect(c?.message).to.include(`WAL segment ${victim?.name ?? '?'} is missing from the archive`);
    const failed = subscriber.received.filter((e) => e.type === 'dev.pgfn.backup.failed').at(-1);
    expect(failed?.data).to.deep.include({
      reason: 'MissingWalSegment',
      message: `WAL segment ${victim?.name ?? '?'} is missing from the archive`,
    });
    const events = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    expect(events.items.some((e) => e.reason === 'BackupVerificationFailed' && (e.message ?? '').includes(victim?.name ?? '?'))).to.equal(
      true,
    );
  });
});
