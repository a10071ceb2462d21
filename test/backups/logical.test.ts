// Logical backups that run: the CronJob the builder makes creates Jobs through the real CronJob and
// Job controllers, the node agent runs their pods with its stand-in of upstream's dump.sh, and the
// dump lands in a real S3 server under upstream's key. A Job whose upload cannot work fails.
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { gunzipSync } from 'node:zlib';
import { buildLogicalBackupCronJob } from '@pgfn/builder';
import type { S3Server } from '@pgfn/controlplane';
import { applySpiloCluster, type SpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { startTestAgent, waitForRoles, type TestAgent } from '../node-agent/support.js';
import { LOGICAL_BUCKET, sql, startS3 } from './support.js';

describe('backups: logical backups through the CronJob', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let s3: S3Server;
  let lb: SpiloCluster;
  let master: string;
  let dumpKey = '';
  const fingerprint = async (host: string, password: string): Promise<string[]> =>
    (
      await sql<{ t: string }>(
        host,
        password,
        `SELECT 'items ' || count(*) || ' ' || md5(string_agg(i::text, ',' ORDER BY id)) AS t FROM items i
         UNION ALL SELECT 'orders ' || count(*) || ' ' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o`,
      )
    ).map((r) => r.t);

  before(async () => {
    kc = adminConfig();
    s3 = await startS3();
    ns = await createNamespace(kc, 'logical');
    t = await startTestAgent('pgfn-agent-logical');
    lb = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-lb',
      instances: 1,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      extraSpec: { enableLogicalBackup: true, logicalBackupSchedule: '* * * * *' },
      config: {
        logicalBackupS3Bucket: LOGICAL_BUCKET,
        logicalBackupS3Endpoint: s3.endpoint,
        logicalBackupS3AccessKeyId: s3.accessKeyId,
        logicalBackupS3SecretAccessKey: s3.secretAccessKey,
        logicalBackupS3Region: s3.region,
      },
      withCronJob: true,
    });
    master = (await waitForRoles(kc, ns.name, lb.name, 0)).master.ip ?? '';
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
    await s3?.stop();
  });

  const jobs = async (): Promise<k8s.V1Job[]> => (await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({ namespace: ns.name })).items;

  it('runs on schedule, uploads pg_dumpall under upstream key, and the Job succeeds', async () => {
    const password = lb.password('postgres');
    await sql(
      master,
      password,
      "CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g",
    );
    await sql(
      master,
      password,
      'CREATE TABLE orders (id int PRIMARY KEY, item int REFERENCES items, amount numeric); ' +
        'INSERT INTO orders SELECT g, g % 500 + 1, g * 1.5 FROM generate_series(1, 2000) g',
    );
    const since = Date.now();
    const job = await eventually(
      'a succeeded logical-backup Job started after the data was written',
      async () => (await jobs()).find((j) => (j.status?.succeeded ?? 0) > 0 && (j.status?.startTime?.getTime() ?? 0) >= since - 1000),
      180_000,
      2000,
    );
    expect(job.metadata?.ownerReferences?.[0]?.kind).to.equal('CronJob');
    const client = s3.client();
    const prefix = `spilo/acid-lb/${lb.manifest.metadata.uid ?? ''}/logical_backups/`;
    const listed = await client.send(new ListObjectsV2Command({ Bucket: LOGICAL_BUCKET, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    expect(keys.length).to.be.greaterThan(0);
    for (const key of keys) expect(key).to.match(new RegExp(`^${prefix}\\d{10}\\.sql\\.gz$`));
    const newest = keys.sort().at(-1) ?? '';
    dumpKey = newest;
    const body = await client.send(new GetObjectCommand({ Bucket: LOGICAL_BUCKET, Key: newest }));
    const dump = gunzipSync(
      Buffer.from(await (body.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
    ).toString('utf8');
    client.destroy();
    expect(dump).to.contain('PostgreSQL database cluster dump');
    expect(dump).to.contain('CREATE TABLE public.items');
    expect(dump).to.contain('500\titem 500');
  });

  it('restores a new cluster from that logical backup (ADR 0017): same row counts and checksums per table', async () => {
    const restored = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-restored',
      instances: 1,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      extraSpec: { env: [{ name: 'PGFN_RESTORE_LOGICAL_BACKUP', value: `s3://${LOGICAL_BUCKET}/${dumpKey}` }] },
      podEnvironmentSecret: {
        name: 'pgfn-s3-logical',
        data: { LOGICAL_BACKUP_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      },
    });
    const restoredMaster = (await waitForRoles(kc, ns.name, restored.name, { replicas: 0, timeoutMs: 240_000 })).master.ip ?? '';
    const expected = await fingerprint(master, lb.password('postgres'));
    expect(expected).to.have.length(2);
    // The restored cluster keeps its own superuser password (from its own Secret).
    expect(await fingerprint(restoredMaster, restored.password('postgres'))).to.deep.equal(expected);
  });

  it('fails the Job truthfully when the upload cannot work (a bucket that does not exist)', async () => {
    // Started by hand from the CronJob's template, as `kubectl create job --from=cronjob/…` does: the
    // schedule itself was proven above, and waiting for the next minute proves nothing more.
    const broken = buildLogicalBackupCronJob(lb.manifest, { ...lb.config, logicalBackupS3Bucket: 'no-such-bucket' });
    if (broken === undefined) throw new Error('no CronJob built');
    const template = broken.spec?.jobTemplate;
    const name = 'logical-backup-manual';
    await kc.makeApiClient(k8s.BatchV1Api).createNamespacedJob({
      namespace: ns.name,
      body: {
        metadata: { name, labels: template?.metadata?.labels, annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' } },
        spec: template?.spec,
      },
    });
    const failed = await eventually(
      'the manual logical-backup Job with a failed pod',
      async () => (await jobs()).find((j) => j.metadata?.name === name && (j.status?.failed ?? 0) > 0),
      180_000,
      1000,
    );
    const pods = await kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({ namespace: ns.name, labelSelector: `job-name=${failed.metadata?.name}` });
    const terminated = pods.items.map((p) => [p.status?.phase, p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode]);
    expect(terminated).to.deep.include(['Failed', 1]);
  });
});
