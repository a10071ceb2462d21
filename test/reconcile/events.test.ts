import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import { targetOf } from '../../functions/reconcile/src/events.js';
import { metadataHash } from '../../functions/reconcile/src/metadata-hash.js';

describe('targetOf (which cluster an event concerns)', () => {
  const cases: [string, Record<string, unknown>, unknown][] = [
    [
      'a resource-mode postgresql add',
      {
        type: 'dev.knative.apiserver.resource.add',
        kind: 'postgresql',
        namespace: 'team-a',
        name: 'acid-x',
        data: { metadata: { name: 'acid-x', namespace: 'team-a' } },
      },
      { scope: 'cluster', namespace: 'team-a', name: 'acid-x', mode: 'spec' },
    ],
    [
      'a resource-mode update with data only',
      { type: 'dev.knative.apiserver.resource.update', data: { kind: 'postgresql', metadata: { name: 'acid-y', namespace: 'ns' } } },
      { scope: 'cluster', namespace: 'ns', name: 'acid-y', mode: 'spec' },
    ],
    [
      'a delete',
      { type: 'dev.knative.apiserver.resource.delete', kind: 'postgresql', namespace: 'ns', name: 'acid-z' },
      { scope: 'cluster', namespace: 'ns', name: 'acid-z', mode: 'full' },
    ],
    [
      'a ref-mode event',
      {
        type: 'dev.knative.apiserver.ref.update',
        data: { kind: 'postgresql', namespace: 'ns', name: 'acid-r', apiVersion: 'acid.zalan.do/v1' },
      },
      { scope: 'cluster', namespace: 'ns', name: 'acid-r', mode: 'spec' },
    ],
    [
      'a spilo pod change',
      {
        type: 'dev.knative.apiserver.resource.update',
        kind: 'Pod',
        namespace: 'ns',
        name: 'acid-x-0',
        data: { metadata: { name: 'acid-x-0', namespace: 'ns', labels: { 'cluster-name': 'acid-x' } } },
      },
      { scope: 'cluster', namespace: 'ns', name: 'acid-x', mode: 'observe' },
    ],
    ['a ping', { type: 'dev.knative.sources.ping', data: {} }, { scope: 'all', reason: 'periodic resync' }],
    [
      'our own reconcile request',
      { type: 'dev.pgfn.reconcile.requested', subject: 'ns/acid-q' },
      { scope: 'cluster', namespace: 'ns', name: 'acid-q', mode: 'full' },
    ],
  ];
  for (const [what, attrs, want] of cases) {
    it(`targets ${JSON.stringify(want)} for ${what}`, () => {
      expect(targetOf(new CloudEvent({ source: 'test', ...attrs }))).to.deep.equal(want);
    });
  }
  it('re-reconciles everything when the operator configuration changes', () => {
    expect(
      targetOf(
        new CloudEvent({
          source: 't',
          type: 'dev.knative.apiserver.resource.update',
          kind: 'OperatorConfiguration',
          name: 'cfg',
          namespace: 'ops',
        }),
      ).scope,
    ).to.equal('all');
  });
  it('ignores unrelated kinds and types, and pods that belong to no cluster', () => {
    expect(targetOf(new CloudEvent({ source: 't', type: 'com.example.other' })).scope).to.equal('ignore');
    expect(
      targetOf(new CloudEvent({ source: 't', type: 'dev.knative.apiserver.resource.add', kind: 'ConfigMap', name: 'x', namespace: 'y' }))
        .scope,
    ).to.equal('ignore');
    expect(
      targetOf(
        new CloudEvent({
          source: 't',
          type: 'dev.knative.apiserver.resource.add',
          kind: 'Pod',
          name: 'x',
          namespace: 'y',
          data: { metadata: { name: 'x' } },
        }),
      ).scope,
    ).to.equal('ignore');
  });

  describe('echoes of our own writes', () => {
    const labels = { team: 'acid' };
    const annotations = { note: 'x' };
    const reconciled = {
      kind: 'postgresql',
      metadata: { name: 'acid-e', namespace: 'ns', generation: 4, finalizers: ['postgres-operator.acid.zalan.do'], labels, annotations },
      status: { PostgresClusterStatus: 'Running', observedGeneration: 4, observedMetadataHash: metadataHash({ labels, annotations }) },
    };
    const update = (data: unknown): ReturnType<typeof targetOf> =>
      targetOf(
        new CloudEvent({
          source: 't',
          type: 'dev.knative.apiserver.resource.update',
          kind: 'postgresql',
          name: 'acid-e',
          namespace: 'ns',
          data,
        }),
      );
    it('ignores an update that carries a generation and metadata the status already records', () => {
      expect(update(reconciled).scope).to.equal('ignore');
    });
    const changed: [string, unknown][] = [
      ['a new generation', { ...reconciled, metadata: { ...reconciled.metadata, generation: 5 } }],
      ['a changed annotation', { ...reconciled, metadata: { ...reconciled.metadata, annotations: { note: 'y' } } }],
      ['a new label', { ...reconciled, metadata: { ...reconciled.metadata, labels: { ...labels, extra: '1' } } }],
      ['a missing finalizer', { ...reconciled, metadata: { ...reconciled.metadata, finalizers: [] } }],
      ['a deletion in progress', { ...reconciled, metadata: { ...reconciled.metadata, deletionTimestamp: '2026-11-22T00:00:00Z' } }],
      ['no status yet', { ...reconciled, status: undefined }],
    ];
    for (const [what, data] of changed) {
      it(`reconciles (spec) on ${what}`, () => {
        expect(update(data)).to.deep.equal({ scope: 'cluster', namespace: 'ns', name: 'acid-e', mode: 'spec' });
      });
    }
    it('always acts on a delete event', () => {
      const t = targetOf(
        new CloudEvent({
          source: 't',
          type: 'dev.knative.apiserver.resource.delete',
          kind: 'postgresql',
          name: 'acid-e',
          namespace: 'ns',
          data: reconciled,
        }),
      );
      expect(t.scope).to.equal('cluster');
    });
    it('rebuilds when a StatefulSet is deleted, refreshes status when one changes', () => {
      const sts = (verb: string): ReturnType<typeof targetOf> =>
        targetOf(
          new CloudEvent({
            source: 't',
            type: `dev.knative.apiserver.resource.${verb}`,
            kind: 'StatefulSet',
            name: 'acid-e',
            namespace: 'ns',
            data: { metadata: { name: 'acid-e', namespace: 'ns', labels: { 'cluster-name': 'acid-e' } } },
          }),
        );
      expect(sts('delete')).to.deep.include({ mode: 'full' });
      expect(sts('update')).to.deep.include({ mode: 'observe' });
    });
  });
});
