// backup-verify over many clusters, against the real API server and a real S3 server holding WAL-G's
// layout (fixture: WAL-G cannot be installed here, see support.ts): the hourly ping verifies every
// cluster with bounded concurrency, each under its Lease; a cluster whose Lease another holder has is
// left alone, and one whose namespace is being deleted is passed over. No Postgres: the archives are
// objects, the clusters only manifests.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { S3Server } from '@pgfn/controlplane';
import { ClusterLease, clusterLeaseName } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { segmentNames, startSubscriber, startVerify, writeWalgArchive, type RunningVerify } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const BUCKET = 'pgfn-wal';
const PING = { type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/pgfn-system/pingsources/pgfn-backup-check' };

describe('backup-verify at scale: every cluster of a ping, bounded, one verification per cluster at a time', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let leaving: { name: string; cleanup: () => Promise<void> };
  let s3: S3Server;
  let verify: RunningVerify;
  let subscriber: Awaited<ReturnType<typeof startSubscriber>>;
  const names = ['acid-s1', 'acid-s2', 'acid-s3', 'acid-s4', 'acid-s5', 'acid-s6'];
  const uids = new Map<string, string>();

  const condition = async (
    name: string,
    namespace = ns.name,
  ): Promise<{ status: string; reason?: string; message?: string } | undefined> => {
    const c = (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace, name })) as Cluster;
    return c.status?.conditions?.find((x) => x.type === 'BackupVerified');
  };

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    s3 = await S3Server.start({ buckets: [BUCKET] });
    ns = await createNamespace(kc, 'bv-scale');
    for (const name of names) {
      const body: Cluster = {
        apiVersion: 'acid.zalan.do/v1',
        kind: 'postgresql',
        metadata: { name, namespace: ns.name },
        spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '15' }, volume: { size: '1Gi' } },
      };
      const created = (await kc
        .makeApiClient(k8s.CustomObjectsApi)
        .createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
      uids.set(name, created.metadata?.uid ?? '');
      // acid-s4 misses a segment; acid-s5's backup is two days old; acid-s6 is new, nothing archived yet.
      if (name === 'acid-s6') continue;
      const segments = segmentNames(0x20, 40).filter((s) => name !== 'acid-s4' || !s.endsWith('30'));
      await writeWalgArchive({
        s3,
        bucket: BUCKET,
        prefix: `spilo/${name}/${created.metadata?.uid ?? ''}/wal/15`,
        segments,
        ageSeconds: name === 'acid-s5' ? 48 * 3600 : 3600,
      });
    }
    // A cluster whose namespace is being deleted (its finalizer keeps it listed a while): nothing to verify.
    leaving = await createNamespace(kc, 'bv-leaving');
    const gone = (await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      ...PG,
      namespace: leaving.name,
      body: {
        apiVersion: 'acid.zalan.do/v1',
        kind: 'postgresql',
        metadata: { name: 'acid-leaving', namespace: leaving.name, finalizers: ['pgfn.dev/test-hold'] },
        spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '15' }, volume: { size: '1Gi' } },
      },
    })) as Cluster;
    await writeWalgArchive({
      s3,
      bucket: BUCKET,
      prefix: `spilo/acid-leaving/${gone.metadata?.uid ?? ''}/wal/15`,
      segments: segmentNames(0x20, 40),
      ageSeconds: 3600,
    });
    await leaving.cleanup();
    subscriber = await startSubscriber();
    const config: OperatorConfig = { ...structuredClone(DEFAULT_OPERATOR_CONFIG), walS3Bucket: BUCKET };
    verify = await startVerify({ s3, config, sink: subscriber.url, policy: { concurrency: 2, restoreTest: false } });
  });
  after(async () => {
    await verify?.stop();
    await subscriber?.stop();
    await ns?.cleanup();
    if (leaving !== undefined) {
      await kc
        .makeApiClient(k8s.CustomObjectsApi)
        .patchNamespacedCustomObject(
          { ...PG, namespace: leaving.name, name: 'acid-leaving', body: { metadata: { finalizers: null } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    }
    await s3?.stop();
  });

  it("leaves alone a cluster whose Lease another holds, and verifies the rest of the ping's clusters (WAL-G layout)", async () => {
    const other = new ClusterLease({
      kube: new KubeClient(kc),
      namespace: ns.name,
      name: clusterLeaseName('acid-s1', 'backup-verify'),
      holder: 'another-invocation',
      durationSeconds: 120,
    });
    expect(await other.acquire()).to.equal(true);
    expect(await verify.post({ ...PING, data: { task: 'backup-check' } })).to.equal(200);
    expect(await condition('acid-s1')).to.equal(undefined);
    for (const name of ['acid-s2', 'acid-s3']) expect(await condition(name)).to.include({ status: 'True', reason: 'Verified' });
    const s4 = await condition('acid-s4');
    expect(s4).to.include({ status: 'False', reason: 'MissingWalSegment' });
    expect(s4?.message).to.match(/^WAL segment 000000010000000000000030 is missing from the archive/);
    const s5 = await condition('acid-s5');
    expect(s5).to.include({ status: 'False', reason: 'BackupTooOld' });
    expect(s5?.message).to.match(/is 2d old, older than the policy's 1d 2h/);
    const s6 = await condition('acid-s6');
    expect(s6).to.include({ status: 'Unknown', reason: 'AwaitingFirstBackup' });
    expect(s6?.message).to.match(/^no base backup yet; the cluster is \d+s old \(the policy allows 1d 2h\)$/);
    // Only this file's clusters: others the control plane holds (other test files') are not this test's.
    const ours = subscriber.received.filter(
      (e) => (e.subject ?? '').startsWith(`${ns.name}/`) || (e.subject ?? '').startsWith(leaving.name),
    );
    expect(ours.map((e) => `${e.type} ${e.subject ?? ''}`).sort()).to.deep.equal(
      [
        `dev.pgfn.backup.failed ${ns.name}/acid-s4`,
        `dev.pgfn.backup.failed ${ns.name}/acid-s5`,
        `dev.pgfn.backup.verified ${ns.name}/acid-s2`,
        `dev.pgfn.backup.verified ${ns.name}/acid-s3`,
      ].sort(),
    );
    expect(await condition('acid-leaving', leaving.name)).to.equal(undefined);
    expect((await other.state()).holder).to.equal('another-invocation');

    await other.release();
    expect(await verify.post({ type: 'dev.pgfn.backup.verify.requested', source: 'test', subject: `${ns.name}/acid-s1` })).to.equal(200);
    expect(await condition('acid-s1')).to.include({ status: 'True', reason: 'Verified' });
    // Its own Lease was given back when it finished.
    const own = new ClusterLease({
      kube: new KubeClient(kc),
      namespace: ns.name,
      name: clusterLeaseName('acid-s1', 'backup-verify'),
      holder: 'x',
      durationSeconds: 1,
    });
    expect((await own.state()).holder ?? '').to.equal('');
  });

  it('ignores events it does not handle and clusters that do not exist', async () => {
    expect(await verify.post({ type: 'dev.pgfn.backup.verify.requested', source: 'test', subject: `${ns.name}/absent` })).to.equal(202);
    expect(await verify.post({ type: 'dev.pgfn.cluster.invalid', source: 'test', subject: `${ns.name}/acid-s2` })).to.equal(202);
  });
});
