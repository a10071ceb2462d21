import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { example, onKwok, pingEvent, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/**
 * Patroni's Endpoints DCS mode (kubernetes_use_configmaps: false, upstream's default). The operator
 * creates the master Endpoints `<cluster>` (Patroni fills in the leader's address) and the master
 * Service without a selector; Patroni creates the `<cluster>-config` Service and its
 * `<cluster>-{leader,config,sync,failover}` Endpoints, which the operator adopts: owner references
 * with enable_owner_references, inherited annotations, Patroni's own annotations kept. Patroni is
 * played here (the local node runs ConfigMaps mode: loopback pod addresses cannot go in Endpoints).
 */
describe('reconcile: Endpoints DCS mode (real control plane)', function () {
  this.timeout(120_000);
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let fn: RunningReconcile;
  let cluster: Cluster;
  const name = 'acid-eps';

  before(async () => {
    const kc = adminConfig();
    await ensureCrds(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'endpoints-dcs');
    fn = await startReconcile(kc, ns.name, {
      ...DEFAULT_OPERATOR_CONFIG,
      kubernetesUseConfigmaps: false,
      enableOwnerReferences: true,
      inheritedAnnotations: ['owner-team'],
    });
    const base = onKwok(example('minimal.yaml', ns.name, name));
    const body = { ...base, metadata: { ...base.metadata, annotations: { 'owner-team': 'payments' } } };
    cluster = (await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await fn.post(resourceEvent('add', cluster))).status).to.equal(200);
  });
  after(async () => {
    await fn?.stop();
    await ns?.cleanup();
  });

  const ownedByCluster = (o: { metadata?: k8s.V1ObjectMeta }): void => {
    expect(o.metadata?.ownerReferences?.map((r) => ({ kind: r.kind, name: r.name, uid: r.uid, controller: r.controller }))).to.deep.equal([
      { kind: 'postgresql', name, uid: cluster.metadata?.uid, controller: true },
    ]);
    expect(o.metadata?.annotations?.['owner-team']).to.equal('payments');
  };

  it('creates the master Endpoints with owner references, and a master Service without a selector', async () => {
    const endpoints = await core.readNamespacedEndpoints({ namespace: ns.name, name });
    ownedByCluster(endpoints);
    expect(endpoints.metadata?.labels).to.include({ 'cluster-name': name, 'spilo-role': 'master' });
    const master = await core.readNamespacedService({ namespace: ns.name, name });
    expect(master.spec?.selector ?? {}).to.deep.equal({});
    ownedByCluster(master);
    const replica = await core.readNamespacedService({ namespace: ns.name, name: `${name}-repl` });
    expect(replica.spec?.selector).to.include({ 'cluster-name': name, 'spilo-role': 'replica' });
  });

  it("adopts the <cluster>-config Service and Endpoints Patroni creates, keeping Patroni's annotations", async () => {
    const labels = { application: 'spilo', 'cluster-name': name };
    await core.createNamespacedService({
      namespace: ns.name,
      body: { metadata: { name: `${name}-config`, labels }, spec: { clusterIP: 'None' } },
    });
    await core.createNamespacedEndpoints({
      namespace: ns.name,
      body: { metadata: { name: `${name}-config`, labels, annotations: { config: '{"ttl":30}', initialize: '7301' } } },
    });
    expect((await fn.post(requestEvent(ns.name, name))).status).to.equal(200);
    const service = await core.readNamespacedService({ namespace: ns.name, name: `${name}-config` });
    ownedByCluster(service);
    expect(service.spec?.clusterIP).to.equal('None');
    const endpoints = await core.readNamespacedEndpoints({ namespace: ns.name, name: `${name}-config` });
    ownedByCluster(endpoints);
    expect(endpoints.metadata?.annotations).to.include({ config: '{"ttl":30}', initialize: '7301' });
  });

  it('writes nothing on a resync once everything is adopted', async () => {
    await fn.post(pingEvent());
    fn.requests.reset();
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(fn.requests.writes(), JSON.stringify([...fn.requests.counts])).to.equal(0);
  });
});
