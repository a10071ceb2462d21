// The local node is a stand-in whose pods are unconfined local processes: what it advertises only
// gates scheduling. By default it is generous (upstream's 500m pooler requests fit many times over on
// a 2-CPU machine); given a capacity, the scheduler holds to it.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_NODE_CAPACITY, startNodeAgent, type NodeAgent, type NodeCapacity } from '@pgfn/node-agent';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { claimLoopbackRanges, type LoopbackClaim } from '../support/loopback-ranges.js';

describe('node agent: advertised capacity (real control plane and scheduler)', function () {
  this.timeout(120_000);
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  const agents: NodeAgent[] = [];
  const loopbacks: LoopbackClaim[] = [];
  const root = mkdtempSync(join(tmpdir(), 'pgfn-agent-capacity-'));

  /** An agent on the shared control plane with a loopback /24 of its own. */
  const startAgent = async (nodeName: string, capacity?: NodeCapacity): Promise<void> => {
    const loopback = claimLoopbackRanges();
    loopbacks.push(loopback);
    agents.push(
      await startNodeAgent({
        kubeconfig: testEnv().kubeconfig,
        nodeName,
        ipRange: loopback.ranges[0] ?? '',
        dataDir: join(root, nodeName, 'data'),
        logDir: join(root, nodeName, 'logs'),
        ...(capacity === undefined ? {} : { capacity }),
      }),
    );
  };

  before(async () => {
    const kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'na-capacity');
  });
  after(async () => {
    for (const a of agents) await a.stop();
    for (const l of loopbacks) l.release();
    await ns?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  /** Pods requesting `cpu` each, pinned to `node`; returns how many the scheduler bound and how many it left Pending. */
  const schedule = async (node: string, count: number, cpu: string): Promise<{ bound: number; unschedulable: number }> => {
    for (let i = 0; i < count; i++) {
      await core.createNamespacedPod({
        namespace: ns.name,
        body: {
          metadata: { name: `${node}-${i}`, labels: { test: node } },
          spec: {
            nodeSelector: { 'kubernetes.io/hostname': node },
            containers: [{ name: 'c', image: 'registry.invalid/none:1', resources: { requests: { cpu, memory: '100Mi' } } }],
          },
        },
      });
    }
    return eventually(
      `${count} pods of ${cpu} CPU on ${node} decided by the scheduler`,
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `test=${node}` })).items;
        const bound = pods.filter((p) => p.spec?.nodeName === node).length;
        const unschedulable = pods.filter((p) =>
          p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable'),
        ).length;
        return bound + unschedulable === count ? { bound, unschedulable } : undefined;
      },
      60_000,
    );
  };

  it('advertises a generous capacity by default: four pooler-sized pods and more fit', async () => {
    await startAgent('pgfn-agent-cap-default');
    const node = await core.readNode({ name: 'pgfn-agent-cap-default' });
    expect(node.status?.allocatable).to.include({ cpu: DEFAULT_NODE_CAPACITY.cpu, memory: DEFAULT_NODE_CAPACITY.memory });
    expect(await schedule('pgfn-agent-cap-default', 8, '500m')).to.deep.equal({ bound: 8, unschedulable: 0 });
  });

  it('advertises the configured capacity, and the scheduler holds to it', async () => {
    await startAgent('pgfn-agent-cap-small', { cpu: '2', memory: '8Gi' });
    const node = await core.readNode({ name: 'pgfn-agent-cap-small' });
    expect(node.status?.allocatable).to.include({ cpu: '2', memory: '8Gi' });
    expect(await schedule('pgfn-agent-cap-small', 3, '800m')).to.deep.equal({ bound: 2, unschedulable: 1 });
  });
});
