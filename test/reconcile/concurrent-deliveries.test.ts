import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, POSTGRESQL_KIND, fromConfigMap, type Postgresql } from '@pgfn/api';
import { RetryableError } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { FINALIZER, cleanUp, ensureFinalizer } from '../../functions/reconcile/src/deletion.js';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

// Knative routes a delivery to any instance, with no affinity: deliveries about one cluster meet, in one
// instance or across instances. Each must succeed without redoing or undoing the other's work (ADR 0136).
describe('reconcile: concurrent deliveries about one cluster', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let kube: KubeClient;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    kube = new KubeClient(kc);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'reconcile-concurrent');
  });
  after(async () => {
    await ns.cleanup();
  });

  const create = async (name: string): Promise<Cluster> => {
    const created = (await custom.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: onKwok(example('minimal.yaml', ns.name, name)),
    })) as Cluster;
    return { ...created, apiVersion: API_VERSION, kind: POSTGRESQL_KIND };
  };
  const read = async (name: string): Promise<Cluster> =>
    (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;

  describe('the finalizer, written from one stale read', () => {
    it('is added once when two writers race on the same resourceVersion, and both succeed', async () => {
      const stale = await create('acid-fin-race');
      const [one, two] = await Promise.all([ensureFinalizer(kube, stale), ensureFinalizer(kube, stale)]);
      for (const c of [one, two]) expect(c.metadata?.finalizers).to.deep.equal([FINALIZER]);
      expect((await read('acid-fin-race')).metadata?.finalizers).to.deep.equal([FINALIZER]);
    });

    it('is found already there when the read predates another writer', async () => {
      const stale = await create('acid-fin-late');
      await ensureFinalizer(kube, stale);
      const later = await ensureFinalizer(kube, stale);
      expect(later.metadata?.finalizers).to.deep.equal([FINALIZER]);
      // the fresh object: later writes are guarded by the resourceVersion that holds the finalizer
      expect(later.metadata?.resourceVersion).to.equal((await read('acid-fin-late')).metadata?.resourceVersion);
    });

    it('is not written over a spec this reconcile did not validate: a retryable failure, the new spec has its own event', async () => {
      const stale = await create('acid-fin-edit');
      await custom.patchNamespacedCustomObject(
        { ...PG, namespace: ns.name, name: 'acid-fin-edit', body: { spec: { numberOfInstances: 3 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const failure = await ensureFinalizer(kube, stale).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).to.be.instanceOf(RetryableError);
      expect((await read('acid-fin-edit')).metadata?.finalizers ?? []).to.deep.equal([]);
    });
  });

  describe('the finalizer, released from one stale read', () => {
    it('stays on a new cluster made under the same name after another delivery released the old one', async () => {
      const first = await ensureFinalizer(kube, await create('acid-fin-again'));
      await custom.deleteNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-fin-again' });
      const deleting = await read('acid-fin-again');
      expect(deleting.metadata?.deletionTimestamp, 'held by the finalizer').to.not.equal(undefined);
      // another delivery released it, and the user made the cluster again, which reconcile gave its finalizer
      await cleanUp(kube, deleting, fromConfigMap({}).config, 'pgfn.dev/matches=nothing');
      const again = await ensureFinalizer(kube, await create('acid-fin-again'));
      expect(again.metadata?.uid).to.not.equal(first.metadata?.uid);
      // the late delivery about the old cluster: its write meets the new object (409) and must leave it alone
      await cleanUp(kube, deleting, fromConfigMap({}).config, 'pgfn.dev/matches=nothing');
      expect((await read('acid-fin-again')).metadata?.finalizers).to.deep.equal([FINALIZER]);
    });
  });

  describe('two instances reconciling a new cluster at the same moment', () => {
    let a: RunningReconcile;
    let b: RunningReconcile;
    before(async () => {
      [a, b] = await Promise.all([startReconcile(kc, ns.name), startReconcile(kc, ns.name)]);
    });
    after(async () => {
      await Promise.all([a.stop(), b.stop()]);
    });

    it('answers every delivery 200, makes one Secret per user, and never changes a password', async () => {
      const cluster = await create('acid-twice');
      // The add event (twice: redelivered) and a request, to both instances at once: both batches read
      // the cluster without finalizer, Secrets or status and write the same objects.
      const first = await Promise.all([
        a.post(resourceEvent('add', cluster)),
        b.post(resourceEvent('add', cluster)),
        a.post(requestEvent(ns.name, 'acid-twice')),
        b.post(requestEvent(ns.name, 'acid-twice')),
      ]);
      expect(first.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);

      const secrets = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-twice' })).items;
      const names = secrets.map((s) => s.metadata?.name).sort();
      expect(names).to.deep.equal(
        ['app-owner', 'postgres', 'standby'].map((u) => `${u}.acid-twice.credentials.postgresql.acid.zalan.do`).sort(),
      );
      const passwords = new Map(secrets.map((s) => [s.metadata?.name, s.data?.['password']]));
      const stored = await read('acid-twice');
      expect(stored.metadata?.finalizers).to.deep.equal([FINALIZER]);
      expect(stored.status?.observedGeneration).to.equal(stored.metadata?.generation);

      // More meetings of the two: all succeed (the update event of a cluster reconciled as it is: 202, nothing
      // new in it), nothing is regenerated.
      const again = await Promise.all([
        a.post(requestEvent(ns.name, 'acid-twice')),
        b.post(requestEvent(ns.name, 'acid-twice')),
        a.post(resourceEvent('update', stored)),
        b.post(requestEvent(ns.name, 'acid-twice')),
      ]);
      expect(again.map((r) => r.status)).to.deep.equal([200, 200, 202, 200]);
      const after = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-twice' })).items;
      expect(new Map(after.map((s) => [s.metadata?.name, s.data?.['password']]))).to.deep.equal(passwords);
    });

    it('deletes a cluster from both at once: both deliveries succeed, the CR is released', async () => {
      const cluster = await create('acid-gone');
      expect((await a.post(requestEvent(ns.name, 'acid-gone'))).status).to.equal(200);
      await custom.deleteNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-gone' });
      const deleting = await read('acid-gone');
      expect(deleting.metadata?.deletionTimestamp).to.be.a('string');
      const answers = await Promise.all([a.post(resourceEvent('delete', deleting)), b.post(resourceEvent('delete', deleting))]);
      for (const r of answers) expect(r.status, await r.text()).to.be.within(200, 299);
      const left = await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: cluster.metadata?.name ?? '' }).then(
        () => true,
        () => false,
      );
      expect(left, 'the CR is still there').to.equal(false);
    });
  });
});
