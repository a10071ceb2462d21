// The periodic check's first look reads the whole fleet with six lists (readFleet) instead of six
// reads per cluster (readCluster): both must see each cluster the same way, or a check would decide
// on a different picture than the step it leads to.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { readCluster, readFleet, type LiveCluster } from '../../functions/rolling-update/src/cluster.js';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { kwokPodsRunning } from '../support/volumes.js';
import { example, labelLikePatroni, onKwok, resourceEvent, startReconcile, type RunningReconcile } from '../reconcile/support.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/** What a step decides on, by name: the cluster, its StatefulSet, pods (with role labels), claims. */
function view(live: LiveCluster | undefined): unknown {
  if (live === undefined) return undefined;
  return {
    cluster: live.cluster.metadata?.name,
    generation: live.cluster.metadata?.generation,
    statefulSet: live.statefulSet.metadata?.name,
    pods: live.pods.map((p) => `${p.metadata?.name}:${p.metadata?.labels?.['spilo-role'] ?? ''}:${p.status?.podIP ?? ''}`).sort(),
    claims: live.claims.map((c) => c.metadata?.name).sort(),
    expandable: [...live.expandable.entries()].sort(),
  };
}

describe('rolling-update: the periodic check reads the fleet at once', function () {
  this.timeout(240_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let fn: RunningReconcile;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'rolling-fleet');
    fn = await startReconcile(kc, ns.name, DEFAULT_OPERATOR_CONFIG);
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  it('sees every cluster as the per-cluster read does, and leaves out one without a StatefulSet', async () => {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    // Names that share a prefix: grouping by prefix instead of by the cluster-name label would mix them.
    for (const name of ['acid-fleet', 'acid-fleet-two']) {
      const pg = (await custom.createNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        body: onKwok(example('minimal.yaml', ns.name, name)),
      })) as k8s.KubernetesObject;
      expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    }
    // Applied, never reconciled: no StatefulSet, nothing to roll.
    await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body: onKwok(example('minimal.yaml', ns.name, 'acid-bare')) });
    await eventually('4 Running kwok pods with bound claims', () => kwokPodsRunning(kc, ns.name, 'application=spilo', 4), 180_000);
    for (const name of ['acid-fleet', 'acid-fleet-two']) await labelLikePatroni(kc, ns.name, name);

    const kube = new KubeClient(kc);
    const fleet = await readFleet(kube, ns.name, DEFAULT_OPERATOR_CONFIG);
    expect(fleet.map((l) => l.cluster.metadata?.name).sort()).to.deep.equal(['acid-fleet', 'acid-fleet-two']);
    for (const seen of fleet) {
      const one = await readCluster(kube, { namespace: ns.name, name: seen.cluster.metadata?.name ?? '' }, DEFAULT_OPERATOR_CONFIG);
      expect(view(seen), seen.cluster.metadata?.name).to.deep.equal(view(one));
      expect(seen.pods).to.have.length(2);
      expect(seen.claims).to.have.length(2);
    }
    expect(await readCluster(kube, { namespace: ns.name, name: 'acid-bare' }, DEFAULT_OPERATOR_CONFIG)).to.equal(undefined);
  });
});
