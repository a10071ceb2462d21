// Issue 20, item 6: each function's ServiceAccount, with the RBAC shipped in knative/ applied to the
// real API server and a TokenRequest token, asks the API server about every verb on every resource it
// serves (subresources included), in a namespace without clusters and cluster-wide. What it may do must
// be exactly what its ClusterRole in knative/ grants (plus what Kubernetes grants every authenticated
// user): nothing more. A few of the most dangerous requests are then made for real, and must be 403.
// That the ClusterRoles grant exactly what each function's code calls is rbac-from-code.test.ts (ADR
// 0083); the integration tests run the functions as these identities too (a missing rule is a 403).
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { forEachLimited } from '@pgfn/fn-runtime';
import { loadKustomization } from '@pgfn/pipeline';
import { statusCode } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { identityForServiceAccount, type Identity } from '../support/fn-identity.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { granted, rulesOf } from './rbac-rules.js';

interface Resource {
  readonly group: string;
  /** `pods`, or `pods/exec` for a subresource. */
  readonly name: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

/** What Kubernetes' default roles (system:basic-user, system:discovery) let every authenticated user do. */
const EVERYONE = new Set([
  'create authorization.k8s.io/selfsubjectaccessreviews',
  'create authorization.k8s.io/selfsubjectrulesreviews',
  'create authentication.k8s.io/selfsubjectreviews',
]);

const ACCOUNTS = ['pgfn-reconcile', 'pgfn-rolling-update', 'pgfn-team-role-sync', 'pgfn-backup-verify', 'pgfn-apiserver-source'] as const;

/** Every resource the API server serves, by preferred version, with the verbs it supports. */
async function discover(kc: k8s.KubeConfig): Promise<Resource[]> {
  const out: Resource[] = [];
  const core = await kc.makeApiClient(k8s.CoreV1Api).getAPIResources();
  for (const r of core.resources) out.push({ group: '', name: r.name, namespaced: r.namespaced, verbs: r.verbs });
  const groups = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  for (const g of groups.groups) {
    const version = g.preferredVersion?.groupVersion ?? g.versions[0]?.groupVersion ?? '';
    const [group = '', v = ''] = version.split('/');
    const list = await custom.getAPIResources({ group, version: v });
    for (const r of list.resources) out.push({ group, name: r.name, namespaced: r.namespaced, verbs: r.verbs });
  }
  return out;
}

describe('reliability: least privilege of every function ServiceAccount (knative/ RBAC, real API server)', function () {
  this.timeout(300_000);
  let ns: { name: string; cleanup: () => Promise<void> };
  let resources: Resource[];
  const manifests = loadKustomization();
  const identities = new Map<string, Identity>();

  before(async () => {
    const admin = adminConfig();
    await ensureCrds(admin);
    ns = await createNamespace(admin, 'no-clusters');
    resources = await discover(admin);
    for (const account of ACCOUNTS) identities.set(account, await identityForServiceAccount(account, 'pgfn-system', manifests));
  });
  after(async () => ns.cleanup());

  for (const account of ACCOUNTS) {
    it(`${account}: allowed exactly what its ClusterRole grants, on every verb of every resource`, async () => {
      const identity = identities.get(account);
      if (identity === undefined) throw new Error(`no identity for ${account}`);
      const api = identity.kubeconfig.makeApiClient(k8s.AuthorizationV1Api);
      const rules = rulesOf(manifests, account);
      const checks = resources.flatMap((r) =>
        r.verbs.flatMap((verb) =>
          // namespaced: in a namespace without clusters, and across all namespaces; cluster-scoped: as is
          (r.namespaced ? [ns.name, ''] : ['']).map((namespace) => ({ r, verb, namespace })),
        ),
      );
      const wrong: string[] = [];
      let denied = 0;
      await forEachLimited(checks, 16, async ({ r, verb, namespace }) => {
        const [resource = '', subresource] = r.name.split('/');
        const review = await api.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { group: r.group, resource, subresource, verb, namespace } } },
        });
        const allowed = review.status?.allowed === true;
        const key = `${verb} ${r.group === '' ? '' : `${r.group}/`}${r.name}`;
        const expected = granted(rules, { verb, group: r.group, resource: r.name }) || EVERYONE.has(key);
        if (!allowed) denied++;
        if (allowed !== expected) wrong.push(`${key}${namespace === '' ? '' : ` in ${namespace}`}: ${allowed ? 'allowed' : 'denied'}`);
      });
      expect(wrong.sort(), account).to.deep.equal([]);
      expect(denied, 'the matrix covered many denials').to.be.greaterThan(500);
    });
  }

  const dangerous: [string, (kc: k8s.KubeConfig, namespace: string) => Promise<unknown>][] = [
    ['exec into a pod', (c, n) => c.makeApiClient(k8s.CoreV1Api).connectPostNamespacedPodExec({ name: 'x', namespace: n, command: 'sh' })],
    ['create a namespace', (c) => c.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: 'pgfn-evil' } } })],
    ['delete a node', (c) => c.makeApiClient(k8s.CoreV1Api).deleteNode({ name: 'kwok-node-0' })],
    [
      'create a ClusterRoleBinding',
      (c) =>
        c.makeApiClient(k8s.RbacAuthorizationV1Api).createClusterRoleBinding({
          body: {
            metadata: { name: 'pgfn-evil' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          },
        }),
    ],
    ['delete a CRD', (c) => c.makeApiClient(k8s.ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'postgresqls.acid.zalan.do' })],
    [
      'mint a token for another account',
      (c, n) =>
        c
          .makeApiClient(k8s.CoreV1Api)
          .createNamespacedServiceAccountToken({ name: 'default', namespace: n, body: { spec: { audiences: [] } } }),
    ],
    [
      'create a pod',
      (c, n) =>
        c
          .makeApiClient(k8s.CoreV1Api)
          .createNamespacedPod({ namespace: n, body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } } }),
    ],
    [
      'update a webhook configuration',
      (c) => c.makeApiClient(k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: 'x' }),
    ],
  ];
  // pods/exec is granted where the code needs it (rolling-update runs Spilo's in-place major upgrade in
  // the primary's pod, as upstream's operator does; backup-verify runs Spilo's backup script and psql
  // in the master pod, ADR 0070/0072); the access matrix above checks those grants exactly.
  const mayExec = (account: string): boolean => granted(rulesOf(manifests, account), { verb: 'create', group: '', resource: 'pods/exec' });
  for (const [what, call] of dangerous) {
    const accounts = what === 'exec into a pod' ? ACCOUNTS.filter((a) => !mayExec(a)) : [...ACCOUNTS];
    const but = what === 'exec into a pod' ? ' but the one its code needs' : '';
    it(`denies every account to ${what}${but} (a real request: 403)`, async () => {
      expect(accounts.length, 'accounts checked').to.be.at.least(3);
      const got: Record<string, number | string> = {};
      for (const account of accounts) {
        const identity = identities.get(account);
        if (identity === undefined) throw new Error(`no identity for ${account}`);
        got[account] = await call(identity.kubeconfig, ns.name).then(
          () => 'allowed',
          (err: unknown) => statusCode(err) ?? (err as Error).message,
        );
      }
      expect(got).to.deep.equal(Object.fromEntries(accounts.map((a) => [a, 403])));
    });
  }
});
