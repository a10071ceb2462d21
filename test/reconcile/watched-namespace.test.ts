// WATCHED_NAMESPACE scopes what reconcile does, as upstream's watched_namespace does (not only its
// resyncs): an event about a cluster in another namespace, which a cluster-wide ApiServerSource delivers,
// is answered "ignored" and nothing is written there. Found when the e2e pipeline's reconcile, watching
// its own namespace, reconciled the differential test's clusters under another configuration.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { OUTCOME_HEADER } from '@pgfn/fn-runtime';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { example, onKwok, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

describe('reconcile: WATCHED_NAMESPACE scopes events, not only resyncs', function () {
  this.timeout(60_000);
  let kc: k8s.KubeConfig;
  let watched: { name: string; cleanup: () => Promise<void> };
  let other: { name: string; cleanup: () => Promise<void> };
  let reconcile: RunningReconcile;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    [watched, other] = await Promise.all([createNamespace(kc, 'watched'), createNamespace(kc, 'unwatched')]);
    reconcile = await startReconcile(kc, watched.name);
  });
  after(async () => {
    await reconcile?.stop();
    await Promise.all([watched?.cleanup(), other?.cleanup()]);
  });

  const create = async (namespace: string): Promise<k8s.KubernetesObject> =>
    (await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      ...PG,
      namespace,
      body: onKwok(example('minimal.yaml', namespace, 'acid-scope')),
    })) as k8s.KubernetesObject;
  const statefulSet = (namespace: string): Promise<boolean> =>
    kc
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedStatefulSet({ namespace, name: 'acid-scope' })
      .then(
        () => true,
        () => false,
      );

  it('ignores a cluster outside its namespace: answered "ignored", nothing made there', async () => {
    const res = await reconcile.post(resourceEvent('add', await create(other.name)));
    expect(res.headers.get(OUTCOME_HEADER)).to.equal('ignored');
    expect(await statefulSet(other.name)).to.equal(false);
    expect(reconcile.requests.writes(), 'writes').to.equal(0);
  });

  it('reconciles the same cluster in its own namespace', async () => {
    const res = await reconcile.post(resourceEvent('add', await create(watched.name)));
    expect(res.headers.get(OUTCOME_HEADER)).to.equal('ok');
    await eventually('its StatefulSet', async () => ((await statefulSet(watched.name)) ? true : undefined), 30_000);
  });
});
