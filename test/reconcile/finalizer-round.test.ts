// The finalizer is written in the same round as the lists (ADR 0154): its write must still come before
// every object of the cluster. A ValidatingAdmissionPolicy refuses the finalizer in this test's
// namespace, so the finalizer write fails while the lists succeed; reconcile must then write nothing.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { example, onKwok, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const FINALIZER = 'postgres-operator.acid.zalan.do';

describe('reconcile: the finalizer before any object, though written alongside the lists (ADR 0154)', function () {
  this.timeout(120_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let fn: RunningReconcile;
  let admission: k8s.AdmissionregistrationV1Api;
  let custom: k8s.CustomObjectsApi;
  const policy = (): string => `pgfn-test-no-finalizer-${ns.name}`;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'reconcile-finalizer');
    admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    fn = await startReconcile(kc, ns.name);
  });
  after(async () => {
    await fn?.stop();
    await admission?.deleteValidatingAdmissionPolicyBinding({ name: policy() }).catch(() => undefined);
    await admission?.deleteValidatingAdmissionPolicy({ name: policy() }).catch(() => undefined);
    await ns?.cleanup();
  });

  it('writes none of a cluster’s objects when its finalizer is refused, and all of them once it is allowed', async () => {
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy() },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [{ apiGroups: ['acid.zalan.do'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['postgresqls'] }],
          },
          validations: [
            {
              expression: `!has(object.metadata.finalizers) || !object.metadata.finalizers.exists(f, f == '${FINALIZER}')`,
              message: 'this test refuses the finalizer',
            },
          ],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        metadata: { name: policy() },
        spec: {
          policyName: policy(),
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } } },
        },
      },
    });
    const pg = (await custom.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: onKwok(example('minimal.yaml', ns.name, 'acid-fin')),
    })) as Cluster;
    // The API server takes the policy up asynchronously: a dry run shows when it refuses.
    await eventually('the policy refuses the finalizer', async () => {
      try {
        await custom.patchNamespacedCustomObject(
          { ...PG, namespace: ns.name, name: 'acid-fin', body: { metadata: { finalizers: [FINALIZER] } }, dryRun: 'All' },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 422 || (err as { code?: number }).code === 403 ? true : undefined;
      }
    });

    fn.requests.reset();
    const refused = await fn.post(resourceEvent('add', pg));
    expect(refused.status, 'the Broker redelivers').to.equal(503);
    expect(fn.requests.byKind.get('list Secret'), 'the lists were read in the same round').to.equal(1);
    const written = [...fn.requests.byKind].filter(([k]) => /^(apply|create|replace) /.test(k));
    expect(written, 'no object written without the finalizer').to.deep.equal([]);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    expect((await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-fin' })).items).to.have.length(0);

    await admission.deleteValidatingAdmissionPolicyBinding({ name: policy() });
    await eventually(
      'the cluster reconciled once the finalizer is allowed',
      async () => ((await fn.post(resourceEvent('add', pg))).status === 200 ? true : undefined),
      60_000,
      500,
    );
    const stored = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-fin' })) as Cluster;
    expect(stored.metadata?.finalizers).to.include(FINALIZER);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    expect((await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-fin' })).metadata?.name).to.equal('acid-fin');
  });
});
