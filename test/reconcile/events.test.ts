import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import { targetOf } from '../../functions/reconcile/src/events.js';

describe('targetOf (which cluster an event concerns)', () => {
  const cases: [string, Record<string, unknown>, unknown][] = [
    ['a resource-mode postgresql add', { type: 'dev.knative.apiserver.resource.add', kind: 'postgresql', namespace: 'team-a', name: 'acid-x', data: { metadata: { name: 'acid-x', namespace: 'team-a' } } },
      { scope: 'cluster', namespace: 'team-a', name: 'acid-x' }],
    ['a resource-mode update with data only', { type: 'dev.knative.apiserver.resource.update', data: { kind: 'postgresql', metadata: { name: 'acid-y', namespace: 'ns' } } },
      { scope: 'cluster', namespace: 'ns', name: 'acid-y' }],
    ['a delete', { type: 'dev.knative.apiserver.resource.delete', kind: 'postgresql', namespace: 'ns', name: 'acid-z' },
      { scope: 'cluster', namespace: 'ns', name: 'acid-z' }],
    ['a ref-mode event', { type: 'dev.knative.apiserver.ref.update', data: { kind: 'postgresql', namespace: 'ns', name: 'acid-r', apiVersion: 'acid.zalan.do/v1' } },
      { scope: 'cluster', namespace: 'ns', name: 'acid-r' }],
    ['a spilo pod change', { type: 'dev.knative.apiserver.resource.update', kind: 'Pod', namespace: 'ns', name: 'acid-x-0', data: { metadata: { name: 'acid-x-0', namespace: 'ns', labels: { 'cluster-name': 'acid-x' } } } },
      { scope: 'cluster', namespace: 'ns', name: 'acid-x' }],
    ['a ping', { type: 'dev.knative.sources.ping', data: {} }, { scope: 'all', reason: 'periodic resync' }],
    ['our own reconcile request', { type: 'dev.pgfn.reconcile.requested', subject: 'ns/acid-q' }, { scope: 'cluster', namespace: 'ns', name: 'acid-q' }],
  ];
  for (const [what, attrs, want] of cases) {
    it(`targets ${JSON.stringify(want)} for ${what}`, () => {
      expect(targetOf(new CloudEvent({ source: 'test', ...attrs } as never))).to.deep.equal(want);
    });
  }
  it('re-reconciles everything when the operator configuration changes', () => {
    expect(targetOf(new CloudEvent({ source: 't', type: 'dev.knative.apiserver.resource.update', kind: 'OperatorConfiguration', name: 'cfg', namespace: 'ops' } as never)).scope).to.equal('all');
  });
  it('ignores unrelated kinds and types, and pods that belong to no cluster', () => {
    expect(targetOf(new CloudEvent({ source: 't', type: 'com.example.other' } as never)).scope).to.equal('ignore');
    expect(targetOf(new CloudEvent({ source: 't', type: 'dev.knative.apiserver.resource.add', kind: 'ConfigMap', name: 'x', namespace: 'y' } as never)).scope).to.equal('ignore');
    expect(targetOf(new CloudEvent({ source: 't', type: 'dev.knative.apiserver.resource.add', kind: 'Pod', name: 'x', namespace: 'y', data: { metadata: { name: 'x' } } } as never)).scope).to.equal('ignore');
  });
});
