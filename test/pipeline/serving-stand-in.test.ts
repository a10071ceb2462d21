// The status the Serving stand-in writes on a Knative Service (serving-stand-in.ts): what Knative's
// Trigger and SinkBinding controllers resolve a `ref` to a Service by.
import { expect } from 'chai';
import { sameServingStatus, serviceOfHost, servingStatus } from '@pgfn/pipeline';

describe('servingStatus', () => {
  it('a Service that runs here: Ready with the cluster-local address Serving gives, for the generation seen', () => {
    const s = servingStatus({ name: 'notifier', namespace: 'team-a', generation: 3 });
    expect(s.address?.url).to.equal('http://notifier.team-a.svc.cluster.local');
    expect(s.url).to.equal('http://notifier.team-a.svc.cluster.local');
    expect(s.observedGeneration).to.equal(3);
    expect(s.conditions.map((c) => `${c.type}=${c.status}`).sort()).to.deep.equal([
      'ConfigurationsReady=True',
      'Ready=True',
      'RoutesReady=True',
    ]);
  });

  it('a Service that cannot run here: Ready False with the reason and no address (nothing would answer there)', () => {
    const s = servingStatus({ name: 'x', namespace: 'y', notRunnable: { reason: 'NoLocalEquivalent', message: 'image z' } });
    expect(s.address).to.equal(null);
    expect(s.url).to.equal(null);
    expect(s.conditions.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'NoLocalEquivalent', message: 'image z' });
  });
});

describe('sameServingStatus', () => {
  const desired = servingStatus({ name: 'a', namespace: 'b', generation: 2 });

  it('ignores transition times and condition order (our own write coming back needs no second write)', () => {
    const live = {
      ...desired,
      conditions: [...desired.conditions].reverse().map((c) => ({ ...c, lastTransitionTime: '2026-12-05T10:00:00Z' })),
    };
    expect(sameServingStatus(live, desired)).to.equal(true);
  });

  it('differs on a new generation, a missing status or a changed outcome', () => {
    expect(sameServingStatus({ ...desired, observedGeneration: 1 }, desired)).to.equal(false);
    expect(sameServingStatus(undefined, desired)).to.equal(false);
    const failed = servingStatus({ name: 'a', namespace: 'b', generation: 2, notRunnable: { reason: 'R', message: 'm' } });
    expect(sameServingStatus(failed, desired)).to.equal(false);
  });
});

describe('serviceOfHost', () => {
  it('reads a Service cluster name, nothing else', () => {
    expect(serviceOfHost('notifier.team-a.svc.cluster.local')).to.deep.equal({ name: 'notifier', namespace: 'team-a' });
    expect(serviceOfHost('notifier.team-a.example.com')).to.equal(undefined);
    expect(serviceOfHost('a.b.c.svc.cluster.local')).to.equal(undefined);
  });
});
