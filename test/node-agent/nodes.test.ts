// Several local nodes (issue 24, ADR 0075): each a Node of its own node agent with its own loopback
// /24, zone and hostname labels; the real scheduler spreads a real Spilo cluster across them, and
// cordon and NoExecute taints act on where the pods really run. Local volumes stay on their node.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster, type SpiloCluster } from '@pgfn/node-agent/testing';
import { localNodeSpecs, NODE_AGENT_LABEL, ZONE_LABEL } from '@pgfn/node-agent';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { startTestNodes, waitForRoles, type TestNodes } from './support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('node agent: several local nodes', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestNodes;
  let cluster: SpiloCluster;

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'na-nodes');
    t = await startTestNodes({ count: 3, namePrefix: 'pgfn-nodes' });
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const pods = async (): Promise<k8s.V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${cluster.name}` })).items;

  it('lays nodes out with their own /24s and zones round robin, and refuses impossible layouts', () => {
    const specs = localNodeSpecs({ count: 4, zones: 2 });
    expect(specs.map((s) => [s.nodeName, s.ipRange, s.zone])).to.deep.equal([
      ['pgfn-agent-0', '127.0.10.0/24', 'pgfn-zone-a'],
      ['pgfn-agent-1', '127.0.11.0/24', 'pgfn-zone-b'],
      ['pgfn-agent-2', '127.0.12.0/24', 'pgfn-zone-a'],
      ['pgfn-agent-3', '127.0.13.0/24', 'pgfn-zone-b'],
    ]);
    expect(() => localNodeSpecs({ count: 2, zones: 3 })).to.throw(/zones/);
    expect(() => localNodeSpecs({ count: 0 })).to.throw(/nodes/);
  });

  it('registers every node Ready, with hostname and zone labels and the agent label', async () => {
    for (const agent of t.nodes.agents) {
      const node = await eventually(
        `${agent.nodeName} Ready`,
        async () => {
          const n = await core.readNode({ name: agent.nodeName });
          return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true ? n : undefined;
        },
        60_000,
      );
      expect(node.metadata?.labels?.['kubernetes.io/hostname']).to.equal(agent.nodeName);
      expect(node.metadata?.labels?.[NODE_AGENT_LABEL]).to.equal('true');
      expect(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).to.equal(agent.nodeIP);
    }
    const zones = await Promise.all(
      t.nodes.agents.map(async (a) => (await core.readNode({ name: a.nodeName })).metadata?.labels?.[ZONE_LABEL]),
    );
    expect(zones).to.deep.equal(['pgfn-zone-a', 'pgfn-zone-b', 'pgfn-zone-c']);
  });

  it('spreads a 3-instance Spilo cluster over the three nodes, each pod on an address of its node', async () => {
    cluster = await applySpiloCluster(kc, {
      namespace: ns.name,
      instances: 3,
      patroni: TUNED,
      podTerminateGracePeriodSeconds: 10,
      config: { enablePodAntiaffinity: true },
      extraSpec: { volume: { size: '1Gi', storageClass: 'pgfn-local' } },
    });
    await waitForRoles(kc, ns.name, cluster.name, 2);
    const placed = await pods();
    expect(new Set(placed.map((p) => p.spec?.nodeName)).size, 'distinct nodes').to.equal(3);
    for (const pod of placed) {
      const agent = t.nodes.agent(pod.spec?.nodeName ?? '');
      expect(pod.status?.hostIP).to.equal(agent.nodeIP);
      // Same /24 as its node: the address came from that node's pool.
      expect(pod.status?.podIP?.split('.').slice(0, 3)).to.deep.equal(agent.nodeIP.split('.').slice(0, 3));
    }
  });

  it('a cordoned node takes no new pod: a recreated replica whose volume lives there waits, then returns on uncordon', async () => {
    const { replicas } = await waitForRoles(kc, ns.name, cluster.name, 2);
    const replica = (await pods()).find((p) => p.metadata?.name === replicas[0]?.name);
    const nodeName = replica?.spec?.nodeName ?? '';
    await core.patchNode({ name: nodeName, body: { spec: { unschedulable: true } } }, merge);
    try {
      await core.deleteNamespacedPod({ name: replica?.metadata?.name ?? '', namespace: ns.name });
      const pending = await eventually(
        'the recreated replica unschedulable',
        async () => {
          const p = (await pods()).find((x) => x.metadata?.name === replica?.metadata?.name);
          const unschedulable = p?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
          return p !== undefined && p.metadata?.uid !== replica?.metadata?.uid && unschedulable !== undefined ? p : undefined;
        },
        120_000,
      );
      expect(pending.spec?.nodeName).to.equal(undefined);
    } finally {
      await core.patchNode({ name: nodeName, body: { spec: { unschedulable: null } } }, merge);
    }
    await waitForRoles(kc, ns.name, cluster.name, 2);
    const back = (await pods()).find((p) => p.metadata?.name === replica?.metadata?.name);
    expect(back?.spec?.nodeName, 'local data keeps the replica on its node').to.equal(nodeName);
  });

  it('a NoExecute taint evicts the pods on that node; without the taint the replica runs there again', async () => {
    const { replicas } = await waitForRoles(kc, ns.name, cluster.name, 2);
    const replica = (await pods()).find((p) => p.metadata?.name === replicas[0]?.name);
    const nodeName = replica?.spec?.nodeName ?? '';
    const taint = { key: 'pgfn.dev/test-evict', value: 'true', effect: 'NoExecute' };
    await core.patchNode({ name: nodeName, body: { spec: { taints: [taint] } } }, merge);
    try {
      await eventually(
        `${replica?.metadata?.name} evicted by the taint`,
        async () => ((await pods()).some((p) => p.metadata?.uid === replica?.metadata?.uid) ? undefined : true),
        120_000,
      );
      // Patroni sees the member go: one master, one replica left.
      await waitForRoles(kc, ns.name, cluster.name, 1);
    } finally {
      await core.patchNode({ name: nodeName, body: { spec: { taints: null } } }, merge);
    }
    await waitForRoles(kc, ns.name, cluster.name, 2);
    expect((await pods()).find((p) => p.metadata?.name === replica?.metadata?.name)?.spec?.nodeName).to.equal(nodeName);
  });
});
