import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG } from '@pgfn/api';
import { heldByOther, mergeConditions } from '../../functions/rolling-update/src/index.js';
import { clustersOf } from '../../functions/rolling-update/src/targets.js';
import { podHasWork } from '../../functions/rolling-update/src/pod-view.js';

describe('heldByOther', () => {
  const lease = (holder: string | undefined, renewed: string) => ({
    spec: { holderIdentity: holder, leaseDurationSeconds: 60, renewTime: new Date(renewed) },
  });
  const now = new Date('2026-12-05T05:00:30Z');
  it('is true only for another holder within the lease duration', () => {
    expect(heldByOther(lease('b', '2026-12-05T05:00:00Z'), 'a', now)).to.equal(true);
    expect(heldByOther(lease('b', '2026-12-05T04:59:00Z'), 'a', now), 'expired').to.equal(false);
    expect(heldByOther(lease('a', '2026-12-05T05:00:00Z'), 'a', now), 'ours').to.equal(false);
    expect(heldByOther(lease(undefined, '2026-12-05T05:00:00Z'), 'a', now), 'released').to.equal(false);
  });
});

describe('mergeConditions', () => {
  const t0 = new Date('2026-12-05T05:00:00Z');
  const ready = {
    type: 'Ready',
    status: 'True' as const,
    reason: 'ClusterReady',
    message: 'x',
    lastTransitionTime: '2026-12-05T04:00:00Z',
  };
  it("replaces its own conditions, keeps others', and reports no change when nothing differs", () => {
    const update = { type: 'RollingUpdate', status: 'True' as const, reason: 'WaitingForPod', message: 'waiting' };
    const merged = mergeConditions([ready], [update], t0, 4);
    expect(merged).to.deep.equal([ready, { ...update, lastTransitionTime: '2026-12-05T05:00:00Z', observedGeneration: 4 }]);
    expect(mergeConditions(merged ?? [], [update], t0, 4)).to.equal(undefined);
  });
});

describe('clustersOf', () => {
  const config = DEFAULT_OPERATOR_CONFIG;
  const pod = (labels: Record<string, string>) => ({
    specversion: '1.0' as const,
    id: '1',
    source: 's',
    type: 'dev.knative.apiserver.resource.update',
    kind: 'Pod',
    data: { kind: 'Pod', metadata: { name: 'acid-a-0', namespace: 'ns', labels } },
  });
  it('maps Spilo pod events to their cluster, marked as pod-triggered', () => {
    expect(clustersOf(pod({ application: 'spilo', 'cluster-name': 'acid-a' }), config)).to.deep.equal([
      { namespace: 'ns', name: 'acid-a', fromPod: true },
    ]);
    expect(clustersOf(pod({ application: 'db-connection-pooler', 'cluster-name': 'acid-a' }), config)).to.deep.equal([]);
  });
  it('reads the cluster from rollingupdate.required and answers all for the periodic check', () => {
    const required = {
      specversion: '1.0' as const,
      id: '1',
      source: 'pgfn/reconcile',
      type: 'dev.pgfn.rollingupdate.required',
      data: { namespace: 'ns', name: 'acid-a' },
    };
    expect(clustersOf(required, config)).to.deep.equal([{ namespace: 'ns', name: 'acid-a' }]);
    expect(clustersOf({ specversion: '1.0', id: '1', source: 'ping', type: 'dev.knative.sources.ping' }, config)).to.equal('all');
  });
});

describe('podHasWork', () => {
  it("sees a rotation mark or a pending restart in Patroni's member annotation", () => {
    expect(podHasWork({ metadata: { annotations: { 'zalando-postgres-operator-rolling-update-required': 'true' } } })).to.equal(true);
    expect(podHasWork({ metadata: { annotations: { status: '{"state":"running","pending_restart":true}' } } })).to.equal(true);
    expect(podHasWork({ metadata: { annotations: { status: '{"state":"running"}' } } })).to.equal(false);
  });
});
