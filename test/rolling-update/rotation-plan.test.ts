import { expect } from 'chai';
import type { ClusterMember } from '@pgfn/patroni';
import { planRotation, type PodView, type RotationInput } from '../../functions/rolling-update/src/rotation-plan.js';
import { switchoverCandidate } from '../../functions/rolling-update/src/switchover-candidate.js';

const NOW = 1_000_000;
const pod = (name: string, role: PodView['role'], more: Partial<PodView> = {}): PodView => ({
  name,
  role,
  phase: 'Running',
  ready: true,
  deleting: false,
  flagged: false,
  image: 'spilo:1',
  readySinceMs: NOW - 60_000,
  ...more,
});
const member = (name: string, role: string, more: Partial<ClusterMember> = {}): ClusterMember => ({
  name,
  role,
  state: 'running',
  lag: 0,
  ...more,
});
const cluster3 = (flagged: string[], more: Partial<RotationInput> = {}): RotationInput => ({
  pods: [pod('c-0', 'master'), pod('c-1', 'replica'), pod('c-2', 'replica')].map((p) => ({ ...p, flagged: flagged.includes(p.name) })),
  expectedPods: 3,
  templateImage: 'spilo:1',
  lazySpiloUpgrade: false,
  synchronousMode: false,
  members: [member('c-0', 'leader'), member('c-1', 'replica', { lag: 10 }), member('c-2', 'replica', { lag: 5 })],
  streaming: new Set(['c-1', 'c-2']),
  nowMs: NOW,
  podTimeoutMs: 300_000,
  ...more,
});

describe('planRotation', () => {
  it('does nothing when no pod is flagged and every image matches', () => {
    expect(planRotation(cluster3([]))).to.include({ action: 'none' });
  });

  it('rotates flagged replicas first, one at a time, by name', () => {
    const step = planRotation(cluster3(['c-0', 'c-1', 'c-2']));
    expect(step).to.deep.include({ action: 'delete', pod: 'c-1', role: 'replica', downtime: false, pending: ['c-0', 'c-1', 'c-2'] });
  });

  it('waits while the recreated replica is not Ready, not labelled or not streaming', () => {
    for (const broken of [{ ready: false }, { role: undefined }, { phase: 'Pending' }]) {
      const input = cluster3(['c-0', 'c-2']);
      const pods = input.pods.map((p) => (p.name === 'c-1' ? { ...p, ...broken, readySinceMs: NOW - 1000 } : p));
      expect(planRotation({ ...input, pods }).action, JSON.stringify(broken)).to.equal('wait');
    }
    const notStreaming = planRotation(cluster3(['c-0', 'c-2'], { streaming: new Set(['c-2']) }));
    expect(notStreaming).to.include({ action: 'wait' });
    expect(notStreaming.reason).to.match(/c-1.*not streaming/);
  });

  it('waits until the StatefulSet recreated the deleted pod', () => {
    const input = cluster3(['c-0', 'c-2']);
    expect(planRotation({ ...input, pods: input.pods.filter((p) => p.name !== 'c-1') })).to.include({ action: 'wait' });
  });

  it('switches over to the lowest-lag replica once only the master is left', () => {
    expect(planRotation(cluster3(['c-0']))).to.deep.include({ action: 'switchover', from: 'c-0', to: 'c-2' });
  });

  it('prefers a synchronous standby and, in synchronous_mode, insists on one', () => {
    const members = [member('c-0', 'leader'), member('c-1', 'sync_standby', { lag: 100 }), member('c-2', 'replica', { lag: 0 })];
    expect(planRotation(cluster3(['c-0'], { members }))).to.deep.include({ action: 'switchover', to: 'c-1' });
    const noSync = [member('c-0', 'leader'), member('c-1', 'replica'), member('c-2', 'replica')];
    const blocked = planRotation(cluster3(['c-0'], { members: noSync, synchronousMode: true }));
    expect(blocked).to.include({ action: 'blocked' });
    expect(blocked.reason).to.match(/synchronous standby/);
  });

  it('rotates the old master as a replica after the switchover (one switchover in all)', () => {
    const input = cluster3(['c-0']);
    const pods = input.pods.map((p) => ({ ...p, role: p.name === 'c-2' ? ('master' as const) : ('replica' as const) }));
    const members = [member('c-0', 'replica'), member('c-1', 'replica'), member('c-2', 'leader')];
    const step = planRotation({ ...input, pods, members, streaming: new Set(['c-0', 'c-1']) });
    expect(step).to.deep.include({ action: 'delete', pod: 'c-0', role: 'replica' });
  });

  it('never deletes the master while Patroni cannot name a candidate', () => {
    const members = [
      member('c-0', 'leader'),
      member('c-1', 'replica', { state: 'stopped' }),
      member('c-2', 'replica', { tags: { nofailover: true } }),
    ];
    expect(planRotation(cluster3(['c-0'], { members }))).to.include({ action: 'blocked' });
    expect(planRotation(cluster3(['c-0'], { members: undefined }))).to.include({ action: 'wait' });
  });

  it('recreates a single-instance master with a downtime warning', () => {
    const input: RotationInput = {
      ...cluster3([]),
      pods: [pod('c-0', 'master', { flagged: true })],
      expectedPods: 1,
      members: [member('c-0', 'leader')],
    };
    expect(planRotation(input)).to.deep.include({ action: 'delete', pod: 'c-0', role: 'master', downtime: true });
  });

  it('reports failure when a rotated pod stays unhealthy past the timeout, and leaves the master alone', () => {
    const input = cluster3(['c-0', 'c-2']);
    const pods = input.pods.map((p) => (p.name === 'c-1' ? { ...p, ready: false, role: undefined, readySinceMs: NOW - 400_000 } : p));
    const step = planRotation({ ...input, pods });
    expect(step).to.deep.include({ action: 'fail', pod: 'c-1' });
    expect(step.reason).to.match(/c-1 is not Ready after 300 s/);
  });

  it('recreates a broken replica that waits for rotation anyway, but never a second one', () => {
    const input = cluster3(['c-1', 'c-2']);
    const broken = input.pods.map((p) => (p.name === 'c-1' ? { ...p, ready: false } : p));
    expect(planRotation({ ...input, pods: broken })).to.deep.include({ action: 'delete', pod: 'c-1' });
    const twoBroken = input.pods.map((p) => (p.name !== 'c-0' ? { ...p, ready: false } : p));
    expect(planRotation({ ...input, pods: twoBroken })).to.include({ action: 'wait' });
  });

  it('treats an outdated image as pending unless the lazy Spilo upgrade is on', () => {
    const input = cluster3([], { templateImage: 'spilo:2' });
    expect(planRotation(input)).to.deep.include({ action: 'delete', pod: 'c-1' });
    expect(planRotation({ ...input, lazySpiloUpgrade: true })).to.include({ action: 'none' });
  });
});

describe('switchoverCandidate', () => {
  it('skips the leader, pods still to rotate and members that are not running', () => {
    const members = [member('a', 'leader'), member('b', 'replica', { lag: 0 }), member('c', 'replica', { lag: 1, state: 'running' })];
    expect(switchoverCandidate({ members, synchronousMode: false, excluded: new Set(['b']) }).name).to.equal('c');
    expect(switchoverCandidate({ members, synchronousMode: false, excluded: new Set(['b', 'c']) }).name).to.equal(undefined);
  });

  it("takes only a replica the master reports streaming, when it reports: lag 0 in Patroni's members is not enough", () => {
    // Patroni's lag compares positions published every loop_wait; a replica not connected yet can show 0.
    const members = [member('a', 'leader'), member('b', 'replica', { lag: 0 }), member('c', 'replica', { lag: 5, state: 'streaming' })];
    expect(switchoverCandidate({ members, synchronousMode: false, excluded: new Set(), streaming: new Set(['c']) })).to.deep.equal({
      name: 'c',
      reason: 'c is the streaming replica with the lowest lag (5)',
    });
    const none = switchoverCandidate({ members, synchronousMode: false, excluded: new Set(), streaming: new Set() });
    expect(none.name).to.equal(undefined);
    expect(none.reason).to.match(/no replica is streaming from the master yet \(b running, c streaming\): a switchover now could lose/);
    // Unknown (the master's API did not answer): upstream's rule, the running replica with the lowest lag.
    expect(switchoverCandidate({ members, synchronousMode: false, excluded: new Set() }).name).to.equal('b');
  });

  it('ranks an unknown lag last', () => {
    const members = [member('a', 'leader'), member('b', 'replica', { lag: 'unknown' }), member('c', 'replica', { lag: 99 })];
    expect(switchoverCandidate({ members, synchronousMode: false, excluded: new Set() }).name).to.equal('c');
  });
});
