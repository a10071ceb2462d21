// The pure parts of moving clusters off nodes that go away (issue 24, ADR 0076): which nodes leave,
// which Node events concern anyone, and the one step a cluster takes next.
import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import type { ClusterMember } from '@pgfn/patroni';
import { nodeLeaving } from '../../functions/rolling-update/src/node-leaving.js';
import { planNodeMigration, type MigrationInput, type PodPlacement } from '../../functions/rolling-update/src/node-migration-plan.js';
import { clustersOnNode, leavingNodeOf } from '../../functions/rolling-update/src/targets.js';

const READY = { 'pgfn.dev/node-agent': 'true' };
const node = (
  more: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[]; labels?: Record<string, string> } = {},
) => ({
  metadata: { name: 'n1', labels: more.labels ?? { ...READY } },
  spec: {
    ...(more.unschedulable === undefined ? {} : { unschedulable: more.unschedulable }),
    ...(more.taints === undefined ? {} : { taints: more.taints }),
  },
});

describe('nodeLeaving', () => {
  const rules = { readinessLabel: READY, tolerations: [] };
  const taint = { key: 'pgfn.dev/maintenance', value: 'planned', effect: 'NoExecute' };
  it('a schedulable node with the readiness label and no NoExecute taint stays', () => {
    expect(nodeLeaving(node(), rules)).to.equal(undefined);
    expect(nodeLeaving(node({ taints: [{ key: 'dedicated', value: 'pg', effect: 'NoSchedule' }] }), rules)).to.equal(undefined);
    expect(nodeLeaving(node({ labels: {} }), { readinessLabel: {}, tolerations: [] })).to.equal(undefined);
  });
  it('a cordoned node, an untolerated NoExecute taint, or a lost readiness label means the node is going away', () => {
    expect(nodeLeaving(node({ unschedulable: true }), rules)).to.equal('node n1 is cordoned');
    expect(nodeLeaving(node({ taints: [{ key: 'eol', value: 'true', effect: 'NoExecute' }] }), rules)).to.equal(
      'node n1 has the NoExecute taint eol=true',
    );
    expect(nodeLeaving(node({ labels: { 'pgfn.dev/node-agent': 'false' } }), rules)).to.equal(
      'node n1 lost the readiness label pgfn.dev/node-agent=true',
    );
  });
  it("upstream's end-of-life node: the configured readiness label replaced by a decommission value", () => {
    // Upstream's node_eol_label (lifecycle-status:pending-decommission) became "lacks node_readiness_label" (#184).
    const eol = { readinessLabel: { 'lifecycle-status': 'ready' }, tolerations: [] };
    expect(nodeLeaving(node({ labels: { 'lifecycle-status': 'ready' } }), eol)).to.equal(undefined);
    expect(nodeLeaving(node({ labels: { 'lifecycle-status': 'pending-decommission' } }), eol)).to.equal(
      'node n1 lost the readiness label lifecycle-status=ready',
    );
  });
  it('a NoExecute taint the pods tolerate without a time limit keeps the node; one tolerated for a while does not', () => {
    const tainted = node({ taints: [taint] });
    for (const toleration of [
      { key: 'pgfn.dev/maintenance', operator: 'Equal', value: 'planned', effect: 'NoExecute' },
      { key: 'pgfn.dev/maintenance', operator: 'Exists' },
      { operator: 'Exists' },
      { key: 'pgfn.dev/maintenance', value: 'planned' },
    ])
      expect(nodeLeaving(tainted, { readinessLabel: READY, tolerations: [toleration] }), JSON.stringify(toleration)).to.equal(undefined);
    for (const toleration of [
      { key: 'pgfn.dev/maintenance', operator: 'Exists', tolerationSeconds: 300 },
      { key: 'pgfn.dev/maintenance', value: 'unplanned', effect: 'NoExecute' },
      { key: 'pgfn.dev/maintenance', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'other', operator: 'Exists' },
    ])
      expect(nodeLeaving(tainted, { readinessLabel: READY, tolerations: [toleration] }), JSON.stringify(toleration)).to.equal(
        'node n1 has the NoExecute taint pgfn.dev/maintenance=planned',
      );
    // Tolerating the taint does not keep a cordoned node or one that lost its readiness label.
    const tolerated = [{ key: 'pgfn.dev/maintenance', operator: 'Exists' }];
    expect(nodeLeaving(node({ taints: [taint], unschedulable: true }), { readinessLabel: READY, tolerations: tolerated })).to.equal(
      'node n1 is cordoned',
    );
  });
  it("a node labelled master=true never goes away (upstream's nodeIsReady)", () => {
    expect(nodeLeaving(node({ unschedulable: true, labels: { master: 'true' } }), rules)).to.equal(undefined);
  });
});

describe('leavingNodeOf and clustersOnNode', () => {
  const event = (type: string, data: unknown, kind = 'Node'): CloudEvent<unknown> =>
    new CloudEvent({ type, source: 'https://api', id: '1', kind, name: 'n1', data });
  it('a healthy node (a status heartbeat) and a deleted node concern nobody; a cordoned one names the node', () => {
    expect(leavingNodeOf(event('dev.knative.apiserver.resource.update', node()), READY)).to.equal(undefined);
    expect(leavingNodeOf(event('dev.knative.apiserver.resource.delete', node({ unschedulable: true })), READY)).to.equal(undefined);
    expect(leavingNodeOf(event('dev.knative.apiserver.resource.update', node({ unschedulable: true })), READY)).to.equal('n1');
    // Any NoExecute taint may concern a cluster: which ones its pods tolerate is decided in its own step.
    expect(
      leavingNodeOf(event('dev.knative.apiserver.resource.update', node({ taints: [{ key: 'k', effect: 'NoExecute' }] })), READY),
    ).to.equal('n1');
    expect(leavingNodeOf(event('dev.knative.apiserver.resource.update', node({ unschedulable: true }), 'Pod'), READY)).to.equal(undefined);
    expect(leavingNodeOf(event('dev.knative.apiserver.resource.update', 'garbage'), READY)).to.equal(undefined);
  });
  it('finds each cluster with a Spilo pod on the node (or one not scheduled) once, and skips names that cannot be clusters', () => {
    const pod = (ns: string, cluster: string, nodeName: string) => ({
      metadata: { namespace: ns, labels: { 'cluster-name': cluster } },
      spec: { nodeName },
    });
    const refs = clustersOnNode(
      [
        pod('a', 'acid-x', 'n1'),
        pod('a', 'acid-x', 'n1'),
        pod('b', 'acid-y', 'n1'),
        pod('a', 'acid-z', 'n2'),
        pod('a', 'Not_A_Name', 'n1'),
        { metadata: { namespace: 'c', labels: { 'cluster-name': 'acid-pending' } }, spec: {} },
      ],
      'n1',
      { clusterNameLabel: 'cluster-name' },
    );
    expect(refs).to.deep.equal([
      { namespace: 'a', name: 'acid-x' },
      { namespace: 'b', name: 'acid-y' },
      { namespace: 'c', name: 'acid-pending' },
    ]);
  });
});

describe('planNodeMigration', () => {
  const pod = (name: string, role: PodPlacement['role'], nodeName: string, more: Partial<PodPlacement> = {}): PodPlacement => ({
    name,
    role,
    nodeName,
    ready: true,
    deleting: false,
    ...more,
  });
  const member = (name: string, role: string, lag = 0): ClusterMember => ({
    name,
    role,
    state: role === 'leader' ? 'running' : 'streaming',
    lag,
  });
  const input = (more: Partial<MigrationInput> = {}): MigrationInput => ({
    pods: [pod('c-0', 'master', 'n1'), pod('c-1', 'replica', 'n2'), pod('c-2', 'replica', 'n3')],
    leaving: new Map([['n1', 'node n1 is cordoned']]),
    members: [member('c-0', 'leader'), member('c-1', 'replica', 5), member('c-2', 'replica', 1)],
    synchronousMode: false,
    ...more,
  });

  it('does nothing when no pod runs on a leaving node', () => {
    expect(planNodeMigration(input({ leaving: new Map() }))).to.include({ action: 'none' });
  });
  it('switches the master over to the best replica on a node that stays', () => {
    expect(planNodeMigration(input())).to.deep.include({ action: 'switchover', from: 'c-0', to: 'c-2' });
  });
  it('never picks a replica on another leaving node, nor one that is not ready', () => {
    const leaving = new Map([
      ['n1', 'node n1 is cordoned'],
      ['n3', 'node n3 is cordoned'],
    ]);
    expect(planNodeMigration(input({ leaving }))).to.deep.include({ action: 'switchover', to: 'c-1' });
    const pods = [pod('c-0', 'master', 'n1'), pod('c-1', 'replica', 'n2', { ready: false }), pod('c-2', 'replica', 'n3')];
    expect(planNodeMigration(input({ pods, leaving }))).to.include({ action: 'blocked' });
  });
  it('blocks a single instance, and waits while Patroni cannot be asked', () => {
    const single = input({ pods: [pod('c-0', 'master', 'n1')], members: [member('c-0', 'leader')] });
    expect(planNodeMigration(single).reason).to.match(/no replica on another ready node/);
    expect(planNodeMigration(input({ members: undefined }))).to.include({ action: 'wait' });
  });
  it('takes a replica the master reports streaming over one with a lower lag that is not; blocks while none streams', () => {
    expect(planNodeMigration(input({ streaming: new Set(['c-1']) }))).to.deep.include({ action: 'switchover', to: 'c-1' });
    const none = planNodeMigration(input({ streaming: new Set() }));
    expect(none).to.include({ action: 'blocked' });
    expect(none.reason).to.match(/no replica is streaming from the master yet/);
  });
  it('in synchronous_mode only a synchronous standby may take over', () => {
    const members = [member('c-0', 'leader'), member('c-1', 'sync_standby', 9), member('c-2', 'replica', 0)];
    expect(planNodeMigration(input({ members, synchronousMode: true }))).to.deep.include({ action: 'switchover', to: 'c-1' });
  });
  it('then recreates replicas on leaving nodes one at a time, only while every other pod is ready', () => {
    const pods = [pod('c-0', 'replica', 'n1'), pod('c-1', 'master', 'n2'), pod('c-2', 'replica', 'n3')];
    expect(planNodeMigration(input({ pods }))).to.deep.include({ action: 'recreate', pod: 'c-0', node: 'n1' });
    const unready = [pods[0] as PodPlacement, pods[1] as PodPlacement, pod('c-2', 'replica', 'n3', { ready: false })];
    expect(planNodeMigration(input({ pods: unready }))).to.include({ action: 'wait' });
    const deleting = [pod('c-0', 'replica', 'n1', { deleting: true }), pods[1] as PodPlacement, pods[2] as PodPlacement];
    expect(planNodeMigration(input({ pods: deleting }))).to.include({ action: 'wait' });
    // evicted by a drain and recreated: Pending, its local volume on the leaving node
    const evicted = [
      pod('c-0', 'replica', 'n1', { nodeName: undefined, ready: false, volumeNode: 'n1' }),
      pods[1] as PodPlacement,
      pods[2] as PodPlacement,
    ];
    expect(planNodeMigration(input({ pods: evicted }))).to.deep.include({ action: 'recreate', pod: 'c-0', node: 'n1' });
  });
});
