// Knative's Trigger webhooks served locally (ADR 0105): the API server calls them for every Trigger
// written, they run Knative's own SetDefaults and Validate (the knative-webhook CLI), and a Trigger
// Knative refuses is never stored. The Knative path of the pipeline starts them; here they run alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { binaries, kubectlRun, repoRoot } from '@pgfn/controlplane';
import { admitObjects, defaultingPatch, installKnativeCrds, TriggerAdmission, type Manifest } from '@pgfn/pipeline';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace } from '../support/kube.js';

const trigger = (namespace: string, name: string, filter: Record<string, string>): Manifest => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace },
  spec: {
    broker: 'pgfn',
    filters: [{ exact: filter }],
    subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'some-fn' } },
  },
});

describe("Knative's Trigger webhooks, served locally", function () {
  this.timeout(120_000);

  it('the defaulting patch sets what Knative defaults: the broker label and the subscriber ref namespace', async () => {
    const t = trigger('team-a', 't', { type: 'dev.pgfn.cluster.ready' });
    const [admitted] = await admitObjects([t]);
    const patch = defaultingPatch(t, admitted?.object ?? t);
    expect(patch.map((p) => p.path)).to.deep.equal(['/spec', '/metadata/labels']);
    const spec = patch[0]?.value as { subscriber: { ref: { namespace?: string } } };
    expect(spec.subscriber.ref.namespace).to.equal('team-a');
    expect(patch[1]?.value).to.deep.equal({ 'eventing.knative.dev/broker': 'pgfn' });
    // already defaulted: nothing to patch
    expect(defaultingPatch(admitted?.object ?? t, admitted?.object ?? t)).to.deep.equal([]);
  });

  describe('registered with the API server', () => {
    let kc: k8s.KubeConfig;
    let ns: { name: string; cleanup: () => Promise<void> };
    let admission: TriggerAdmission | undefined;
    const apply = async (m: Manifest): Promise<string | undefined> =>
      kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['apply', '-f', '-'], JSON.stringify(m)).then(
        () => undefined,
        (err: Error) => err.message,
      );
    const read = async (name: string): Promise<Manifest & { spec: { subscriber: { ref: { namespace?: string } } } }> =>
      (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({
        group: 'eventing.knative.dev',
        version: 'v1',
        namespace: ns.name,
        plural: 'triggers',
        name,
      })) as Manifest & { spec: { subscriber: { ref: { namespace?: string } } } };

    before(async () => {
      kc = adminConfig();
      await installKnativeCrds(testEnv().kubeconfig);
      ns = await createNamespace(kc, 'kn-admission');
      admission = await TriggerAdmission.start({ kubeconfig: testEnv().kubeconfig });
    });
    after(async () => {
      await admission?.stop();
      await ns?.cleanup();
    });

    it("refuses a Trigger Knative refuses, with Knative's message; nothing is stored", async () => {
      const refused = await apply(trigger(ns.name, 'bad', { Type: 'dev.pgfn.cluster.ready' }));
      expect(refused).to.match(/admission webhook "validation\.webhook\.eventing\.knative\.dev" denied the request/);
      expect(refused).to.match(/invalid key name "Type"/);
      const stored = await read('bad').then(
        () => true,
        () => false,
      );
      expect(stored).to.equal(false);
      expect(admission?.answered.filter((a) => a.name === 'bad').map((a) => `${a.kind} ${a.allowed}`)).to.include('validate false');
    });

    it('stores a valid Trigger as Knative defaults it', async () => {
      expect(await apply(trigger(ns.name, 'good', { type: 'dev.pgfn.cluster.ready' }))).to.equal(undefined);
      const stored = await read('good');
      expect(stored.spec.subscriber.ref.namespace).to.equal(ns.name);
      expect(stored.metadata.labels?.['eventing.knative.dev/broker']).to.equal('pgfn');
    });

    it('an example a user applies (cluster-ready-notifier) passes as it is', async () => {
      const yaml = readFileSync(join(repoRoot, 'knative/examples/cluster-ready-notifier.yaml'), 'utf8').split(/^---$/m)[0] ?? '';
      const manifest = yaml.replace('namespace: pgfn-system', `namespace: ${ns.name}`);
      await kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['apply', '-f', '-'], manifest);
      expect((await read('cluster-ready-notifier')).spec.subscriber.ref.namespace).to.equal(ns.name);
    });

    it('once stopped, its configurations are gone: the API server no longer calls it', async () => {
      await admission?.stop();
      admission = undefined;
      const out = await kubectlRun(binaries().kubectl, testEnv().kubeconfig, [
        'get',
        'mutatingwebhookconfigurations,validatingwebhookconfigurations',
        '-o',
        'name',
      ]);
      expect(out).to.not.match(/webhook\.eventing\.knative\.dev/);
      // Without a webhook the API server stores what Knative would refuse (only its CRD schema applies).
      expect(await apply(trigger(ns.name, 'bad-unchecked', { Type: 'dev.pgfn.cluster.ready' }))).to.equal(undefined);
    });

    it('started again, it finds the Trigger stored without it and records a Warning Event on it', async () => {
      admission = await TriggerAdmission.start({ kubeconfig: testEnv().kubeconfig });
      expect(await admission.checkStored())
        .to.include(`${ns.name}/bad-unchecked`)
        .and.not.include(`${ns.name}/good`);
      const events = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({
        namespace: ns.name,
        fieldSelector: 'involvedObject.name=bad-unchecked',
      });
      const warning = events.items.find((e) => e.reason === 'WebhookRefused');
      expect(warning?.type).to.equal('Warning');
      expect(warning?.involvedObject.kind).to.equal('Trigger');
      expect(warning?.message).to.match(/invalid key name "Type"/);
    });
  });
});
