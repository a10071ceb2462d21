// Base backups on request (ADR 0070) on real Patroni: the operator (reconcile) makes a cluster on the
// node agent archiving into a real S3 server; backup-verify, as its own ServiceAccount, answers
// dev.pgfn.backup.requested by exec'ing Spilo's backup script in the master pod through the API server.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { openArchive, s3ObjectStore, type BackupArchive } from '@pgfn/backup-store';
import type { S3Server } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { eventually } from '../support/kube.js';
import { waitForRoles } from '../node-agent/support.js';
import { podEvent, resourceEvent, type RunningReconcile } from '../reconcile/support.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { secretName } from '@pgfn/builder';
import { LOGICAL_BUCKET, runLogicalBackupNow, sql, WAL_BUCKET, startBackupStack, type BackupStack } from '../backups/support.js';
import { DEFAULT_QUEUE_RULES } from '../../functions/backup-verify/src/restore-queue.js';
import { restoreSlots } from '../../functions/backup-verify/src/restore-slots.js';
import { startSubscriber, startVerify, type RunningVerify } from './support.js';

type Condition = { type: string; status: string; reason?: string; message?: string };
type Cluster = Postgresql & k8s.KubernetesObject & { status?: { conditions?: Condition[]; PostgresClusterStatus?: string } };
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const NAME = 'acid-ondemand';
const REQUESTED = 'dev.pgfn.backup.requested';

describe('base backups on request (dev.pgfn.backup.requested → exec of Spilo’s backup script in the master)', function () {
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
  let masterIp: string;
  let password: string;
  let logicalPrefix: string;

  const cluster = async (): Promise<Cluster> =>
    (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace: ns.name, name: NAME })) as Cluster;
  const requested = async (): Promise<Condition | undefined> =>
    (await cluster()).status?.conditions?.find((c) => c.type === 'BackupRequested');
  const backupIds = async (): Promise<string[]> => (await archive.backups()).map((b) => b.id);
  /** Posts the request as the Broker would: a 503 (busy) is redelivered until it is answered. */
  const deliver = async (id: string, time: string): Promise<number[]> => {
    const statuses: number[] = [];
    for (;;) {
      const status = await verify.post({ id, type: REQUESTED, subject: `${ns.name}/${NAME}`, time });
      statuses.push(status);
      if (status !== 503 || statuses.length > 120) return statuses;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const received = (type: string, requestId: string): Record<string, unknown>[] =>
    subscriber.received.filter((e) => e.type === type && e.data['requestId'] === requestId).map((e) => e.data);

  before(async () => {
    // Only the bootstrap backup comes by itself: the schedule (once a year) adds none during the test.
    stack = await startBackupStack({
      namespace: 'backup-ondemand',
      agentNode: 'pgfn-agent-backup-ondemand',
      spiloEnv: { BACKUP_SCHEDULE: '0 0 1 1 *', BACKUP_NUM_TO_RETAIN: '10' },
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
    const roles = await waitForRoles(kc, ns.name, NAME, 0);
    master = roles.master.name ?? '';
    masterIp = roles.master.ip ?? '';
    await eventually(
      `${NAME} Running`,
      async () => {
        await reconcile.post(podEvent(ns.name, NAME));
        return (await cluster()).status?.PostgresClusterStatus === 'Running' ? true : undefined;
      },
      120_000,
      2000,
    );
    archive = await openArchive({
      store: s3ObjectStore(s3.client(), WAL_BUCKET),
      prefix: `spilo/${NAME}/${created.metadata?.uid ?? ''}/wal/15`,
      layout: 'barman-cloud',
    });
    // The bootstrap backup first, so a request never runs beside it.
    await eventually('the bootstrap base backup', async () => ((await archive.backups()).length > 0 ? true : undefined), 180_000, 2000);
    // Data the logical dumps carry (in a database of its own and in postgres), then the first dump.
    const secret = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: ns.name, name: secretName('postgres', NAME, DEFAULT_OPERATOR_CONFIG) });
    password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
    await sql(masterIp, password, 'CREATE TABLE orders (id int PRIMARY KEY, note text)');
    await sql(masterIp, password, "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 250) g");
    logicalPrefix = `spilo/${NAME}/${created.metadata?.uid ?? ''}/logical_backups/`;
    const logical = s3ObjectStore(s3.client(), LOGICAL_BUCKET);
    await runLogicalBackupNow(kc, ns.name, NAME);
    await eventually('a logical backup', async () => ((await logical.list(logicalPrefix)).length > 0 ? true : undefined), 300_000, 3000);
    subscriber = await startSubscriber();
    verify = await startVerify({ s3, config, sink: subscriber.url, policy: { restoreTest: false } });
  });
  after(async () => {
    await verify?.stop();
    await subscriber?.stop();
    await stack?.stop();
  });

  it('takes a base backup in the master: BackupRequested=True, Event, metrics, backup.completed, then its verification', async () => {
    const before = await backupIds();
    const askedAt = new Date();
    expect(await deliver('req-1', askedAt.toISOString())).to.deep.equal([200]);
    const c = await requested();
    expect(c, c?.message).to.include({ status: 'True', reason: 'Completed' });
    const after = await archive.backups();
    const fresh = after.filter((b) => !before.includes(b.id));
    expect(fresh, 'one new base backup').to.have.length(1);
    const taken = fresh[0];
    expect(taken?.startTime?.getTime()).to.be.at.least(askedAt.getTime() - 1000);
    expect(c?.message).to.match(
      new RegExp(`^request req-1: base backup ${taken?.id ?? '?'} \\(.*stored\\) taken on ${master} in [\\d.]+ s$`),
    );
    const [completed] = received('dev.pgfn.backup.completed', 'req-1');
    expect(completed).to.deep.include({ namespace: ns.name, name: NAME, outcome: 'completed', pod: master, earlier: false });
    expect((completed?.['backup'] as { id: string; finishLsn: string }).id).to.equal(taken?.id);
    const events = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    expect(
      events.items.some((e) => e.reason === 'BackupCompleted' && e.involvedObject.name === NAME && /req-1/.test(e.message ?? '')),
    ).to.equal(true);
    expect(await verify.registryText()).to.include(
      'pgfn_backup_requests_total{outcome="completed",reason="Completed",fn="backup-verify"} 1',
    );
    // The Broker routes dev.pgfn.backup.completed back to this function (knative/triggers.yaml): the new backup is verified.
    expect(await verify.post({ type: 'dev.pgfn.backup.completed', subject: `${ns.name}/${NAME}`, data: completed ?? {} })).to.equal(200);
    const verified = (await cluster()).status?.conditions?.find((x) => x.type === 'BackupVerified');
    expect(verified).to.include({ status: 'True', reason: 'Verified' });
    expect(verified?.message).to.include(`base backup ${taken?.id ?? '?'}`);
  });

  it('is idempotent: a redelivered request, two copies at once, and a late copy each leave one backup per request', async () => {
    const before = await backupIds();
    // the same request again: already answered, nothing taken, nothing emitted
    const completedBefore = subscriber.received.length;
    expect(await deliver('req-1', new Date(0).toISOString())).to.deep.equal([200]);
    expect(await backupIds()).to.deep.equal(before);
    expect(subscriber.received.length).to.equal(completedBefore);
    // two copies of a new request at once: one takes the backup, the other waits (503) and finds it answered
    const askedAt = new Date().toISOString();
    const [a, b] = await Promise.all([deliver('req-2', askedAt), deliver('req-2', askedAt)]);
    expect([a?.at(-1), b?.at(-1)]).to.deep.equal([200, 200]);
    const afterTwo = await backupIds();
    expect(
      afterTwo.filter((id) => !before.includes(id)),
      'one backup for req-2',
    ).to.have.length(1);
    expect(received('dev.pgfn.backup.completed', 'req-2')).to.have.length(1);
    // a late copy of a request asked just before req-2, arriving after it: answered by req-2's backup
    const late = new Date(Date.parse(askedAt) - 1000).toISOString();
    expect(await deliver('req-late', late)).to.deep.equal([200]);
    expect(await backupIds()).to.deep.equal(afterTwo);
    const c = await requested();
    expect(c).to.include({ status: 'True', reason: 'Completed' });
    expect(c?.message).to.match(/^request req-late: answered by base backup \S+ .*begun after the request$/);
    expect(received('dev.pgfn.backup.completed', 'req-late')[0]).to.deep.include({ earlier: true });
  });

  it('a failed backup (S3 down) says why: BackupRequested=False, a Warning, dev.pgfn.backup.failed; a later request succeeds', async () => {
    const before = await backupIds();
    await s3.pause();
    try {
      expect(await deliver('req-down', new Date().toISOString())).to.deep.equal([200]);
    } finally {
      await s3.resume();
    }
    const c = await requested();
    expect(c).to.include({ status: 'False', reason: 'BackupFailed' });
    expect(c?.message).to.match(new RegExp(`^request req-down: postgres_backup.sh on ${master} exited 1: .+`));
    const [failed] = received('dev.pgfn.backup.failed', 'req-down');
    expect(failed).to.deep.include({ outcome: 'backup-failed', reason: 'BackupFailed', pod: master });
    const events = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    expect(events.items.some((e) => e.reason === 'BackupFailed' && e.type === 'Warning' && /req-down/.test(e.message ?? ''))).to.equal(
      true,
    );
    expect(await backupIds()).to.deep.equal(before);
    // the same request redelivered is answered (failed, once); a new one takes a backup again
    expect(await deliver('req-down', new Date().toISOString())).to.deep.equal([200]);
    expect(received('dev.pgfn.backup.failed', 'req-down')).to.have.length(1);
    expect(await deliver('req-again', new Date().toISOString())).to.deep.equal([200]);
    expect(await requested()).to.include({ status: 'True', reason: 'Completed' });
    expect((await backupIds()).length).to.equal(before.length + 1);
  });

  it('restore-test queue: every slot taken, the restore test is queued; once one frees it runs, then asks the next', async () => {
    const slots = restoreSlots({ kube: new KubeClient(kc), namespace: ns.name, rules: { ...DEFAULT_QUEUE_RULES, limit: 1 } });
    const queued = await startVerify({ s3, config, sink: subscriber.url, queue: { namespace: ns.name, limit: 1 } });
    try {
      // another cluster's restore test holds the only slot
      expect((await slots.enter('elsewhere/busy', 'another-instance')).admitted).to.equal(true);
      expect(await queued.post({ type: 'dev.pgfn.backup.verify.requested', subject: `${ns.name}/${NAME}` })).to.equal(200);
      const waiting = (await cluster()).status?.conditions?.find((x) => x.type === 'BackupVerified');
      expect(waiting?.message).to.match(/restore test queued \(1 of 1 waiting for the fleet's restore-test slots\)/);
      // (the logical-backup CronJob's Jobs are there too: only the scratch instance's count)
      const jobs = await kc
        .makeApiClient(k8s.BatchV1Api)
        .listNamespacedJob({ namespace: ns.name, labelSelector: `pgfn.dev/restore-test-of=${NAME}` });
      expect(jobs.items, 'no scratch instance while queued').to.deep.equal([]);
      // a later cluster queues behind ours (both never tested: first come first)
      expect(await slots.enter('elsewhere/later', 'a-third-instance')).to.include({ admitted: false, position: 2 });
      // the busy test ends: ours is the head, asked to go again (the kick the finisher emits)
      expect(await slots.leave('elsewhere/busy', 'another-instance')).to.deep.equal([`${ns.name}/${NAME}`]);
      expect(await queued.post({ type: 'dev.pgfn.backup.verify.requested', subject: `${ns.name}/${NAME}` })).to.equal(200);
      const ran = (await cluster()).status?.conditions?.find((x) => x.type === 'BackupVerified');
      expect(ran, ran?.message).to.include({ status: 'True', reason: 'Verified' });
      expect(ran?.message).to.match(/restore test \d+[sm].*: restored to .*: marker found/);
      const state = await slots.read();
      expect(state[`${ns.name}/${NAME}`]).to.include({ state: 'idle' });
      expect(state[`${ns.name}/${NAME}`]?.lastTested).to.be.a('string');
      // our test ended: the next in line was asked to go
      const kicked = subscriber.received.filter((e) => e.type === 'dev.pgfn.backup.verify.requested');
      expect(kicked.map((e) => e.subject)).to.deep.equal(['elsewhere/later']);
    } finally {
      await queued.stop();
    }
  });

  it('restores the newest logical dump into a scratch database (rows as in the dump, scratch dropped); a broken dump fails', async () => {
    expect(await verify.post({ type: 'dev.pgfn.backup.verify.requested', subject: `${ns.name}/${NAME}` })).to.equal(200);
    const ok = (await cluster()).status?.conditions?.find((x) => x.type === 'BackupVerified');
    expect(ok, ok?.message).to.include({ status: 'True', reason: 'Verified' });
    // postgres holds at least orders (250 rows) and the restore tests' probe table
    expect(ok?.message, ok?.message).to.match(
      /logical backup \d{10}\.sql\.gz, .*, restored into a scratch database: \d+ databases?, [1-9]\d* tables, \d{3,} rows as in the dump$/,
    );
    const scratch = async (): Promise<unknown[]> =>
      sql(masterIp, password, "SELECT datname FROM pg_database WHERE datname = 'pgfn_logical_check'");
    expect(await scratch()).to.deep.equal([]);
    expect(await verify.registryText()).to.match(
      /pgfn_backup_logical_restore_duration_seconds_count\{fn="backup-verify",outcome="restored"\} [1-9]/,
    );
    // a newer dump whose data does not fit its table (a corrupted COPY row): the restore fails and says why
    const broken = [
      '--',
      '-- Database "postgres" dump',
      '--',
      'CREATE TABLE public.orders (id integer PRIMARY KEY, note text);',
      'COPY public.orders (id, note) FROM stdin;',
      '1\tfine',
      'not-a-number\tbroken',
      '\\.',
      '',
    ].join('\n');
    const epoch = Math.floor(Date.now() / 1000) + 3600;
    await s3
      .client()
      .send(new PutObjectCommand({ Bucket: LOGICAL_BUCKET, Key: `${logicalPrefix}${epoch}.sql.gz`, Body: gzipSync(broken) }));
    expect(await verify.post({ type: 'dev.pgfn.backup.verify.requested', subject: `${ns.name}/${NAME}` })).to.equal(200);
    const failed = (await cluster()).status?.conditions?.find((x) => x.type === 'BackupVerified');
    expect(failed).to.include({ status: 'False', reason: 'LogicalRestoreFailed' });
    expect(failed?.message).to.match(
      new RegExp(
        `^logical backup ${epoch}\\.sql\\.gz, .*: the restore into a scratch database failed: ` +
          'database postgres did not restore: .*invalid input syntax for type integer: "not-a-number"',
      ),
    );
    expect(await scratch()).to.deep.equal([]);
    const [event] = subscriber.received.filter((e) => e.type === 'dev.pgfn.backup.failed' && e.data['reason'] === 'LogicalRestoreFailed');
    expect(event?.subject).to.equal(`${ns.name}/${NAME}`);
  });
});
