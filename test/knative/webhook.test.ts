// Knative's own defaulting and validation (the webhooks' SetDefaults + Validate, run by the
// knative-webhook CLI built from knative.dev/eventing and knative.dev/serving) over every manifest we
// ship. The dry-run test covers the CRD schemas; this covers what only Knative's Go code decides.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import { admitFiles, admitObjects, loadKustomization, type AdmissionResult, type Manifest } from '@pgfn/pipeline';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return f.endsWith('.yaml') && !f.startsWith('kustomization') ? [path] : [];
    })
    .sort();
}

const isKnative = (apiVersion: string): boolean => (apiVersion.split('/')[0] ?? '').endsWith('.knative.dev');
const describeResult = (r: AdmissionResult): string => `${relative(repoRoot, r.file)}#${r.index} ${r.kind} ${r.name}`;

describe("knative/ passes Knative's own defaulting and validation", function () {
  this.timeout(60_000);
  const files = yamlFiles(join(repoRoot, 'knative'));
  let results: AdmissionResult[];
  before(async () => {
    results = await admitFiles(files);
  });

  it('checks every Knative object of every file in knative/ (and nothing else)', () => {
    expect(results.length).to.be.greaterThan(0);
    for (const r of results) expect(r.checked, describeResult(r)).to.equal(isKnative(r.apiVersion));
    const kinds = new Set(results.filter((r) => r.checked).map((r) => r.kind));
    expect([...kinds].sort()).to.deep.equal(['ApiServerSource', 'Broker', 'PingSource', 'Service', 'SinkBinding', 'Trigger']);
  });

  it('finds no errors and no warnings', () => {
    const problems = results
      .filter((r) => r.errors.length > 0 || r.warnings.length > 0)
      .map((r) => `${describeResult(r)}: ${[...r.errors, ...r.warnings].join('; ')}`);
    expect(problems).to.deep.equal([]);
  });

  it('admits the whole kustomization as kubectl apply -k renders it', async () => {
    const admitted = await admitObjects(loadKustomization());
    expect(admitted.filter((r) => r.checked).length).to.equal(loadKustomization().filter((o) => isKnative(o.apiVersion)).length);
    expect(admitted.flatMap((r) => r.errors)).to.deep.equal([]);
  });

  describe('what the defaulting webhook adds (and the local Knative path relies on)', () => {
    const defaulted = (kind: string, name: string): Manifest & { spec: Record<string, unknown> } => {
      const r = results.find((x) => x.kind === kind && x.name === name);
      if (r === undefined) throw new Error(`no ${kind} ${name} in knative/`);
      return r.object as Manifest & { spec: Record<string, unknown> };
    };

    it("gives the Broker the cluster's default channel configuration (without it: 'failed to find channelTemplate')", () => {
      expect(defaulted('Broker', 'pgfn').spec['config']).to.deep.equal({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'config-br-default-channel',
        namespace: 'knative-eventing',
      });
    });

    it("gives every Trigger's subscriber and dead-letter ref its namespace, and the broker label", () => {
      const trigger = defaulted('Trigger', 'pgfn-reconcile');
      expect(trigger.metadata.labels?.['eventing.knative.dev/broker']).to.equal('pgfn');
      const spec = trigger.spec as {
        subscriber: { ref: { namespace?: string } };
        delivery: { deadLetterSink: { ref: { namespace?: string } } };
      };
      expect(spec.subscriber.ref.namespace).to.equal('pgfn-system');
      expect(spec.delivery.deadLetterSink.ref.namespace).to.equal('pgfn-system');
    });

    it('gives each function Service a port, probes on it and 100 % of traffic to the latest revision', () => {
      const svc = defaulted('Service', 'pgfn-reconcile') as unknown as {
        spec: { traffic: unknown[]; template: { spec: { containers: { ports?: unknown[] }[] } } };
      };
      expect(svc.spec.traffic).to.deep.equal([{ latestRevision: true, percent: 100 }]);
      expect(svc.spec.template.spec.containers[0]?.ports).to.deep.equal([{ containerPort: 8080, name: 'http1' }]);
    });
  });

  describe('is a real check: Knative refuses', () => {
    const trigger = (spec: Record<string, unknown>): Manifest => ({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 't', namespace: 'pgfn-system' },
      spec: { broker: 'pgfn', subscriber: { uri: 'http://127.0.0.1:1' }, ...spec },
    });
    const service = (container: Record<string, unknown>, annotations: Record<string, string> = {}): Manifest => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'pgfn-system' },
      spec: { template: { metadata: { annotations }, spec: { containers: [{ image: 'x', ...container }] } } },
    });
    const cases: [string, Manifest, RegExp][] = [
      ['a filter attribute with upper-case letters', trigger({ filters: [{ exact: { Type: 'x' } }] }), /invalid key name "Type"/],
      ['two dialects in one filter', trigger({ filters: [{ exact: { type: 'a' }, prefix: { type: 'b' } }] }), /multiple dialects found/],
      ['a Trigger without a subscriber', { ...trigger({}), spec: { broker: 'pgfn' } }, /subscriber/],
      ['a field Knative does not know', trigger({ filterz: [] }), /unknown field "filterz"/],
      ['the reserved PORT variable', service({ env: [{ name: 'PORT', value: '1' }] }), /PORT/],
      [
        'min-scale above max-scale',
        service({}, { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '1' }),
        /max-scale/,
      ],
      [
        'a PingSource with an invalid schedule',
        {
          apiVersion: 'sources.knative.dev/v1',
          kind: 'PingSource',
          metadata: { name: 'p', namespace: 'pgfn-system' },
          spec: { schedule: 'every minute', sink: { uri: 'http://127.0.0.1:1' } },
        },
        /schedule/,
      ],
      [
        'an ApiServerSource in an unknown mode',
        {
          apiVersion: 'sources.knative.dev/v1',
          kind: 'ApiServerSource',
          metadata: { name: 'a', namespace: 'pgfn-system' },
          spec: { mode: 'Everything', resources: [{ apiVersion: 'v1', kind: 'Pod' }], sink: { uri: 'http://127.0.0.1:1' } },
        },
        /mode/,
      ],
    ];
    it('but not a filter with an empty value: Knative drops that filter (the local broker refuses the Trigger instead)', async () => {
      const [r] = await admitObjects([trigger({ filters: [{ prefix: { type: '' } }] })]);
      expect(r?.errors).to.deep.equal([]);
    });
    for (const [what, object, message] of cases) {
      it(what, async () => {
        const [r] = await admitObjects([object]);
        expect(r?.checked).to.equal(true);
        expect(r?.errors.join('\n')).to.match(message);
      });
    }
  });
});
