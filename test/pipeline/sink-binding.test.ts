// The stand-in path's reading of knative/'s SinkBinding (sink-binding.ts): which Services it binds and what
// it injects. On the Knative path Knative's own reconciler does this (test/e2e/user-trigger.test.ts).
import { expect } from 'chai';
import { binds, boundVariables, KNATIVE_DIR, knativeServicesOf, loadKustomization, type SinkBindingManifest } from '@pgfn/pipeline';

const manifests = loadKustomization(KNATIVE_DIR);
const shipped = manifests.filter((m) => m.kind === 'SinkBinding') as SinkBindingManifest[];
const service = (name: string, labels: Record<string, string>, namespace = 'pgfn-system'): Parameters<typeof binds>[1] => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
});
const broker = (): string => 'http://127.0.0.1:9/';

describe("knative/'s SinkBinding on the stand-in path", () => {
  it('binds exactly the shipped Services labelled pgfn.dev/emits-events', () => {
    const services = knativeServicesOf(manifests);
    const bound = services.filter((s) => shipped.some((b) => binds(b, s))).map((s) => s.metadata.name);
    const labelled = services.filter((s) => s.metadata.labels?.['pgfn.dev/emits-events'] === 'true').map((s) => s.metadata.name);
    expect(bound).to.deep.equal(labelled);
    expect(bound).to.include('pgfn-reconcile');
    expect(bound).to.not.include('pgfn-postgres-pod');
  });

  it('gives a bound Service K_SINK (the Broker resolved), an unbound one nothing', () => {
    expect(boundVariables(shipped, service('mine', { 'pgfn.dev/emits-events': 'true' }), broker)).to.deep.equal({ K_SINK: broker() });
    expect(boundVariables(shipped, service('mine', {}), broker)).to.deep.equal({});
    // a subject selector binds in the SinkBinding's own namespace only
    expect(boundVariables(shipped, service('mine', { 'pgfn.dev/emits-events': 'true' }, 'elsewhere'), broker)).to.deep.equal({});
  });

  it('follows matchExpressions and ceOverrides as Knative does', () => {
    const binding = {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'SinkBinding',
      metadata: { name: 'b', namespace: 'pgfn-system' },
      spec: {
        subject: {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          selector: {
            matchExpressions: [
              { key: 'tier', operator: 'In', values: ['a', 'b'] },
              { key: 'off', operator: 'DoesNotExist' },
            ],
          },
        },
        sink: { uri: 'http://127.0.0.1:1/' },
        ceOverrides: { extensions: { team: 'acid' } },
      },
    } as SinkBindingManifest;
    const sinkUrl = (sink: { uri?: string }): string | undefined => sink.uri;
    expect(boundVariables([binding], service('x', { tier: 'a' }), sinkUrl)).to.deep.equal({
      K_SINK: 'http://127.0.0.1:1/',
      K_CE_OVERRIDES: '{"extensions":{"team":"acid"}}',
    });
    expect(boundVariables([binding], service('x', { tier: 'c' }), sinkUrl)).to.deep.equal({});
    expect(boundVariables([binding], service('x', { tier: 'a', off: '1' }), sinkUrl)).to.deep.equal({});
  });
});
