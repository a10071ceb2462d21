// Upstream behaviours that need several nodes (issue 24, item 4), on 4 local nodes in 2 zones with real
// Patroni and PostgreSQL (ADR 0075). Volumes of the shared class `pgfn-shared` (not pinned to a node,
// as a network volume) let pods move; objects come from @pgfn/builder exactly as reconcile builds them.
// Upstream's e2e tests of the same names: test_topology_spread_constraints, test_taint_based_eviction,
// test_node_affinity. Run under `flock /tmp/pgfn-realpg.lock`.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster, type SpiloCluster, type SpiloClusterSpec } from '@pgfn/node-agent/testing';
import { SHARED_STORAGE_CLASS, ZONE_LABEL } from '@pgfn/node-agent';
import { PatroniClient, patroniUrl } from '@pgfn/patroni';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { startTestNodes, waitForRoles, type TestNodes } from './support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const SHARED = { volume: { size: '1Gi', storageClass: SHARED_STORAGE_CLASS } };

describe('node agent: upstream behaviours on several nodes (4 nodes, 2 zones)', function () {
  this.timeout(900_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestNodes;

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    ns = await createNamespace(kc, 'na-sched');
    t = await startTestNodes({ count: 4, zones: 2, namePrefix: 'pgfn-sched' });
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const pods = async (name: string): Promise<k8s.V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${name}` })).items;
  const zoneOf = async (node: string): Promise<string> => (await core.readNode({ name: node })).metadata?.labels?.[ZONE_LABEL] ?? '';
  const apply = (spec: Omit<SpiloClusterSpec, 'namespace'>): Promise<SpiloCluster> =>
    applySpiloCluster(kc, { namespace: ns.name, patroni: TUNED, podTerminateGracePeriodSeconds: 10, ...spec });
  /** Removes the cluster's StatefulSet and waits for its pods to go, so the next case has the nodes to itself. */
  const remove = async (cluster: SpiloCluster): Promise<void> => {
    await apps.deleteNamespacedStatefulSet({ name: cluster.name, namespace: ns.name, propagationPolicy: 'Foreground' });
    await eventually(`${cluster.name} gone`, async () => ((await pods(cluster.name)).length === 0 ? true : undefined), 180_000, 500);
  };

  it('topology spread over two zones: 6 pods, 3 in each', async () => {
    // Pods created at once (upstream's pod_management_policy: parallel), not each after the last is Ready:
    // the scheduler still places them one by one against the constraint.
    const cluster = await apply({
      name: 'acid-spread',
      instances: 6,
      config: { podManagementPolicy: 'parallel' },
      extraSpec: {
        ...SHARED,
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: ZONE_LABEL,
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { 'cluster-name': 'acid-spread' } },
          },
        ],
      },
    });
    await waitForRoles(kc, ns.name, cluster.name, { replicas: 5, timeoutMs: 600_000 });
    const zones = await Promise.all((await pods(cluster.name)).map((p) => zoneOf(p.spec?.nodeName ?? '')));
    const count = (z: string): number => zones.filter((x) => x === z).length;
    expect([count('pgfn-zone-a'), count('pgfn-zone-b')]).to.deep.equal([3, 3]);
    await remove(cluster);
  });

  it('a NoExecute taint on the master node: a failover, then 2 pods and 2 Patroni members off that node', async () => {
    const cluster = await apply({ name: 'acid-taint', instances: 2, config: { enablePodAntiaffinity: true }, extraSpec: SHARED });
    const before = await waitForRoles(kc, ns.name, cluster.name, 1);
    const node = (await pods(cluster.name)).find((p) => p.metadata?.name === before.master.name)?.spec?.nodeName ?? '';
    await core.patchNode(
      { name: node, body: { spec: { taints: [{ key: 'pgfn.dev/test-eol', value: 'true', effect: 'NoExecute' }] } } },
      merge,
    );
    try {
      // The taint manager evicts the master at once (no toleration); Patroni fails over to the replica.
      const after = await waitForRoles(kc, ns.name, cluster.name, { replicas: 1, not: before.master.name, timeoutMs: 300_000 });
      const placed = await eventually(
        'both pods ready off the tainted node',
        async () => {
          const all = await pods(cluster.name);
          const ready = all.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
          return ready.length === 2 && all.length === 2 && all.every((p) => p.spec?.nodeName !== node) ? all : undefined;
        },
        300_000,
        500,
      );
      expect(placed.map((p) => p.spec?.nodeName)).to.not.include(node);
      const patroni = new PatroniClient();
      const view = await eventually(
        'Patroni reports 2 members, one leader',
        async () => {
          const c = await patroni.cluster(patroniUrl(after.master.ip ?? '', 8008)).catch(() => undefined);
          return c?.members.length === 2 && c.members.filter((m) => m.role === 'leader').length === 1 ? c : undefined;
        },
        120_000,
        500,
      );
      expect(view.members.map((m) => m.name).sort()).to.deep.equal(placed.map((p) => p.metadata?.name).sort());
    } finally {
      await core.patchNode({ name: node, body: { spec: { taints: null } } }, merge);
    }
    await remove(cluster);
  });

  it('node affinity moves the pods to the labelled node, and to the other one when the label moves', async () => {
    const [a, b] = t.nodes.agents.map((x) => x.nodeName) as [string, string];
    const label = (node: string, value: string | null): Promise<unknown> =>
      core.patchNode({ name: node, body: { metadata: { labels: { 'pgfn.dev/test-affinity': value } } } }, merge);
    await label(a, 'yes');
    const affinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'pgfn.dev/test-affinity', operator: 'In', values: ['yes'] }] }],
      },
    };
    // AND: the manifest's affinity and node_readiness_label both hold (upstream's node_readiness_label_merge).
    const spec = {
      name: 'acid-affinity',
      instances: 2,
      config: { nodeReadinessLabelMerge: 'AND' },
      extraSpec: { ...SHARED, nodeAffinity: affinity },
    };
    const cluster = await apply(spec);
    await waitForRoles(kc, ns.name, cluster.name, { replicas: 1, timeoutMs: 300_000 });
    expect((await pods(cluster.name)).map((p) => p.spec?.nodeName)).to.deep.equal([a, a]);
    await label(a, null);
    await label(b, 'yes');
    // What rolling-update does on a template change: replicas first, then the master (its data is shared).
    const rank = (p: k8s.V1Pod): number => (p.metadata?.labels?.['spilo-role'] === 'master' ? 1 : 0);
    for (const pod of (await pods(cluster.name)).sort((x, y) => rank(x) - rank(y))) {
      await core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: ns.name });
      await eventually(
        `${pod.metadata?.name} recreated and ready`,
        async () => {
          const again = (await pods(cluster.name)).find((p) => p.metadata?.name === pod.metadata?.name);
          const ready = again?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
          return again !== undefined && again.metadata?.uid !== pod.metadata?.uid && ready ? true : undefined;
        },
        300_000,
        500,
      );
      await waitForRoles(kc, ns.name, cluster.name, { replicas: 1, timeoutMs: 300_000 });
    }
    expect((await pods(cluster.name)).map((p) => p.spec?.nodeName)).to.deep.equal([b, b]);
    await label(b, null);
    await remove(cluster);
  });
});
