import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Postgresql } from '@pgfn/api';
import { identityForFunction, loadKustomization, loadManifests, startPipeline, type Pipeline } from '@pgfn/pipeline';
import { repoRoot } from '@pgfn/controlplane';
import { ensureCrds } from '../crds/install.js';
import { identityForServiceAccount } from '../support/fn-identity.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { example } from '../reconcile/support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/**
 * The template function of docs/adding-a-function.md through the whole local event path: the real
 * receive adapter watching postgresqls, the local broker routing by the example's Trigger, and the
 * function's bundle-equivalent process acting as its own ServiceAccount (its example ClusterRole).
 */
describe('end to end: the template function hello-cluster', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let pipeline: Pipeline;

  before(async () => {
    kc = adminConfig();
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'e2e-hello');
    const manifests = [...loadKustomization(), ...loadManifests(join(repoRoot, 'knative/examples/hello-cluster.yaml'))];
    const fn = await identityForFunction('hello-cluster', { admin: kc, dir: testEnv().dir, manifests });
    const source = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system');
    pipeline = await startPipeline({
      kubeconfig: fn.file,
      adapterKubeconfig: source.file,
      logDir: mkdtempSync(join(tmpdir(), 'pgfn-e2e-hello-')),
      manifests,
      functions: { 'hello-cluster': true },
      sources: ['pgfn-resources'],
      schedulePings: false,
    });
  });
  after(async () => {
    await pipeline?.stop();
    await ns?.cleanup();
  });

  it('greets a new cluster with its condition and an Event, once', async () => {
    await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body: example('minimal.yaml', ns.name, 'acid-hello') });
    const greeted = await eventually(
      'the Greeted condition',
      async () => {
        const c = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-hello' })) as Cluster;
        return c.status?.conditions?.find((x) => x.type === 'Greeted');
      },
      90_000,
    );
    expect(greeted).to.include({ status: 'True', reason: 'Greeted', message: 'hello, cluster of team acid' });
    const events = (await core.listNamespacedEvent({ namespace: ns.name })).items.filter((e) => e.reason === 'Greeted');
    expect(events.map((e) => [e.involvedObject.name, e.source?.component])).to.deep.equal([['acid-hello', 'pgfn-hello-cluster']]);
  });
});
