import { expect } from 'chai';
import { computeStatus, statusChanged, type Observation } from '../../functions/reconcile/src/status.js';

const t0 = new Date('2026-11-22T00:00:00Z');
const t1 = new Date('2026-11-22T01:00:00Z');
const sts = (replicas: number, ready: number): Observation['statefulSet'] => ({
  spec: { replicas, selector: {}, serviceName: 'x', template: {} },
  status: { replicas, readyReplicas: ready },
});
const pods = (total: number, ready: number, masters: number, replicas: number): Observation['pods'] => ({
  total,
  ready,
  masters,
  replicas,
});
const base: Observation = { generation: 3, invalid: [], creating: false, podsPendingRotation: 0 };
const cond = (s: ReturnType<typeof computeStatus>, type: string): string | undefined => s.conditions.find((c) => c.type === type)?.status;

describe('computeStatus', () => {
  it('reports WAL archive failures from the pods as WALArchiving False, then True once they clear', () => {
    const running = { ...base, statefulSet: sts(1, 1) };
    const failing = computeStatus(
      {
        ...running,
        pods: {
          total: 1,
          ready: 1,
          masters: 1,
          replicas: 0,
          archiveFailures: ['acid-a-0: archiving WAL segment 0001 to S3 fails: AccessDenied'],
        },
      },
      undefined,
      t0,
    );
    const archiving = failing.conditions.find((c) => c.type === 'WALArchiving');
    expect(archiving).to.include({ status: 'False', reason: 'WALArchiveFailing' });
    expect(archiving?.message).to.include('AccessDenied');
    expect(cond(failing, 'Ready')).to.equal('True');
    const recovered = computeStatus({ ...running, pods: pods(1, 1, 1, 0) }, failing, t1);
    expect(recovered.conditions.find((c) => c.type === 'WALArchiving')).to.include({
      status: 'True',
      reason: 'WALArchiveRecovered',
      lastTransitionTime: '2026-11-22T01:00:00Z',
    });
    // A cluster whose archiving never failed carries no such condition.
    expect(cond(computeStatus({ ...running, pods: pods(1, 1, 1, 0) }, undefined, t0), 'WALArchiving')).to.equal(undefined);
  });

  const cases: [string, Observation, string, Record<string, string | undefined>][] = [
    [
      'invalid spec',
      { ...base, invalid: ['spec.postgresql.version: unsupported'] },
      'Invalid',
      { Valid: 'False', Ready: 'False', Synced: undefined },
    ],
    ['first sync failed', { ...base, creating: true, syncError: 'boom' }, 'CreateFailed', { Synced: 'False', Ready: 'False' }],
    ['later sync failed', { ...base, syncError: 'boom', statefulSet: sts(2, 2) }, 'SyncFailed', { Synced: 'False' }],
    [
      'pods coming up',
      { ...base, creating: true, statefulSet: sts(3, 1), pods: pods(3, 1, 0, 0) },
      'Creating',
      { PodsReady: 'False', Ready: 'False' },
    ],
    [
      'all pods ready, one master',
      { ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 1, 2) },
      'Running',
      { Valid: 'True', Synced: 'True', PodsReady: 'True', RollingUpdate: 'False', Ready: 'True' },
    ],
    [
      'pods ready but no master elected',
      { ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 0, 3) },
      'Updating',
      { PodsReady: 'False', Ready: 'False' },
    ],
    ['two masters (split brain)', { ...base, statefulSet: sts(2, 2), pods: pods(2, 2, 2, 0) }, 'Updating', { PodsReady: 'False' }],
    [
      'pods wait for rotation',
      { ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 1, 2), podsPendingRotation: 2 },
      'Updating',
      { RollingUpdate: 'True', Ready: 'False' },
    ],
  ];
  for (const [what, obs, status, conditions] of cases) {
    it(`says ${status} when ${what}`, () => {
      const s = computeStatus(obs, undefined, t0);
      expect(s.PostgresClusterStatus).to.equal(status);
      expect(s.observedGeneration).to.equal(3);
      for (const [type, want] of Object.entries(conditions)) expect(cond(s, type), type).to.equal(want);
    });
  }

  it("keeps other functions' conditions untouched, so their writes and ours never undo each other", () => {
    const teams = {
      type: 'TeamRolesSynced',
      status: 'True' as const,
      reason: 'Synced',
      message: 'm',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    };
    const prev = { ...computeStatus({ ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 1, 2) }, undefined, t0) };
    prev.conditions = [...prev.conditions, teams];
    const next = computeStatus({ ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 1, 2) }, prev, t1);
    expect(next.conditions).to.deep.include(teams);
    expect(statusChanged(prev, next)).to.equal(false);
  });

  it("states VolumesResized up to date on a new cluster with claims from the manifest, then keeps rolling-update's (ADR 0131)", () => {
    const creating = { ...base, creating: true, statefulSet: sts(2, 0), pods: pods(0, 0, 0, 0) };
    const fresh = computeStatus({ ...creating, volumesFromManifest: true }, undefined, t0);
    expect(fresh.conditions.find((c) => c.type === 'VolumesResized')).to.include({
      status: 'True',
      reason: 'UpToDate',
      observedGeneration: 3,
    });
    expect(cond(computeStatus(creating, undefined, t0), 'VolumesResized'), 'an older claim exists: left to rolling-update').to.equal(
      undefined,
    );
    const refused = {
      type: 'VolumesResized',
      status: 'False' as const,
      reason: 'ResizeRefused',
      message: 'shrink',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    };
    const prev = { ...fresh, conditions: [...fresh.conditions.filter((c) => c.type !== 'VolumesResized'), refused] };
    const next = computeStatus({ ...creating, volumesFromManifest: true }, prev, t1);
    expect(next.conditions.filter((c) => c.type === 'VolumesResized')).to.deep.equal([refused]);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a change', () => {
    const first = computeStatus({ ...base, statefulSet: sts(3, 1), pods: pods(3, 1, 1, 0) }, undefined, t0);
    const again = computeStatus({ ...base, statefulSet: sts(3, 1), pods: pods(3, 1, 1, 0) }, first, t1);
    expect(statusChanged(first, again)).to.equal(false);
    const ready = computeStatus({ ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 1, 2) }, again, t1);
    expect(statusChanged(again, ready)).to.equal(true);
    expect(ready.conditions.find((c) => c.type === 'PodsReady')?.lastTransitionTime).to.equal('2026-11-22T01:00:00Z');
    expect(ready.conditions.find((c) => c.type === 'Valid')?.lastTransitionTime).to.equal('2026-11-22T00:00:00Z');
  });

  it("keeps rolling-update's reason and message on RollingUpdate while pods wait, and leaves the rollout's end to rolling-update", () => {
    const pending = { ...base, statefulSet: sts(3, 3), pods: pods(3, 3, 1, 2), podsPendingRotation: 2 };
    const first = computeStatus(pending, undefined, t0);
    const detailed = {
      ...first,
      conditions: first.conditions.map((c) =>
        c.type === 'RollingUpdate' ? { ...c, reason: 'WaitingForPod', message: 'waiting for pod acid-a-1: it is not Ready' } : c,
      ),
    };
    const again = computeStatus(pending, detailed, t1);
    expect(again.conditions.find((c) => c.type === 'RollingUpdate')).to.deep.include({ status: 'True', reason: 'WaitingForPod' });
    expect(statusChanged(detailed, again)).to.equal(false);
    // No pod waits any more: still rolling-update's to close (it announces the completion).
    const done = computeStatus({ ...pending, podsPendingRotation: 0 }, detailed, t1);
    expect(done.conditions.find((c) => c.type === 'RollingUpdate')).to.deep.include({ status: 'True', reason: 'WaitingForPod' });
    expect(done.conditions.find((c) => c.type === 'Ready')).to.deep.include({ status: 'True' });
    // Once rolling-update closed it, reconcile opens the next rollout.
    const closed = {
      ...done,
      conditions: done.conditions.map((c) => (c.type === 'RollingUpdate' ? { ...c, status: 'False' as const, reason: 'Completed' } : c)),
    };
    const next = computeStatus(pending, closed, t1);
    expect(next.conditions.find((c) => c.type === 'RollingUpdate')).to.deep.include({ status: 'True', reason: 'PodsPendingRotation' });
  });
});
