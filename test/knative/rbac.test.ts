// Each function's identity, built from knative/ (ServiceAccount, ClusterRole, ClusterRoleBinding) and a
// TokenRequest token, against the real apiserver's RBAC: allowed what its code calls, 403 otherwise.
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import { KubeClient, statusCode } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { identityForFunction, identityForServiceAccount, kubeconfigForFunction } from '../support/fn-identity.js';
import { adminConfig, createNamespace } from '../support/kube.js';

/**
 * The outcome of a call: 'ok' or the HTTP status. A 429 "storage is (re)initializing" right after a
 * CRD was established is retried, as client-go would (client-node does not).
 */
async function status(call: () => Promise<unknown>): Promise<number | 'ok'> {
  for (let attempt = 0; ; attempt++) {
    try {
      await call();
      return 'ok';
    } catch (err) {
      if (statusCode(err) !== 429 || attempt >= 20) return statusCode(err) ?? -1;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const PG_API = { group: 'acid.zalan.do', version: 'v1' };
const service = (namespace: string, name: string): k8s.V1Service & k8s.KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels: { application: 'spilo' } },
  spec: { type: 'ClusterIP', ports: [{ name: 'postgresql', port: 5432, targetPort: 5432 }] },
});

describe('function identities (knative/ RBAC, TokenRequest tokens)', function () {
  this.timeout(60_000);
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    await ensureCrds(adminConfig());
    ns = await createNamespace(adminConfig(), 'rbac');
  });
  after(async () => ns.cleanup());

  describe('reconcile', () => {
    let kube: KubeClient;
    let kc: k8s.KubeConfig;
    before(async () => {
      kc = await kubeconfigForFunction('reconcile');
      kube = new KubeClient(kc);
    });

    it('authenticates as its own ServiceAccount', async () => {
      const review = await kc
        .makeApiClient(k8s.AuthenticationV1Api)
        .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      expect(review.status?.userInfo?.username).to.equal('system:serviceaccount:pgfn-system:pgfn-reconcile');
    });

    it('lists postgresqls in every namespace and reads one', async () => {
      expect(await kube.list(API_VERSION, POSTGRESQL_KIND, undefined)).to.be.an('array');
      expect(await kube.get({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: ns.name, name: 'absent' })).to.equal(undefined);
    });

    it('creates and updates a Service by server-side apply, lists and deletes it', async () => {
      const applied = await kube.apply(service(ns.name, 'acid-rbac'));
      expect(applied.metadata?.uid).to.be.a('string');
      await kube.apply({
        ...service(ns.name, 'acid-rbac'),
        metadata: { ...service(ns.name, 'acid-rbac').metadata, annotations: { a: 'b' } },
      });
      expect((await kube.list('v1', 'Service', ns.name, 'application=spilo')).map((s) => s.metadata?.name)).to.deep.equal(['acid-rbac']);
      await kube.delete({ apiVersion: 'v1', kind: 'Service', namespace: ns.name, name: 'acid-rbac' });
    });

    it('binds the postgres-pod ClusterRole in a namespace, and no other ClusterRole', async () => {
      const binding = (role: string): k8s.KubernetesObject =>
        ({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: role, namespace: ns.name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ kind: 'ServiceAccount', name: 'postgres-pod', namespace: ns.name }],
        }) as k8s.KubernetesObject;
      expect(await status(() => kube.apply(binding('postgres-pod')))).to.equal('ok');
      expect(await status(() => kube.apply(binding('cluster-admin')))).to.equal(403);
    });

    const forbidden: [string, (kc: k8s.KubeConfig) => Promise<unknown>][] = [
      ['deleting a node', (c) => c.makeApiClient(k8s.CoreV1Api).deleteNode({ name: 'kwok-node-0' })],
      ['listing nodes', (c) => c.makeApiClient(k8s.CoreV1Api).listNode()],
      // (it deletes pods, the pooler's after a password rotation: ADR 0083; it never makes one)
      [
        'creating a pod',
        (c) =>
          c.makeApiClient(k8s.CoreV1Api).createNamespacedPod({
            namespace: 'default',
            body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } },
          }),
      ],
      [
        'watching postgresqls (it never watches: events come from the Broker)',
        (c) =>
          c
            .makeApiClient(k8s.CustomObjectsApi)
            .listClusterCustomObject({ group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls', watch: true }),
      ],
      [
        'replacing a postgresql (it only merge-patches finalizers)',
        (c) =>
          c.makeApiClient(k8s.CustomObjectsApi).replaceNamespacedCustomObject({
            group: 'acid.zalan.do',
            version: 'v1',
            plural: 'postgresqls',
            namespace: 'default',
            name: 'x',
            body: {},
          }),
      ],
      [
        'deleting a postgresql',
        (c) =>
          c.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({
            group: 'acid.zalan.do',
            version: 'v1',
            plural: 'postgresqls',
            namespace: 'default',
            name: 'x',
          }),
      ],
      [
        'creating a ClusterRole',
        (c) => c.makeApiClient(k8s.RbacAuthorizationV1Api).createClusterRole({ body: { metadata: { name: 'pgfn-escalate' }, rules: [] } }),
      ],
      [
        'reading PostgresTeams',
        (c) =>
          c.makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({ group: 'acid.zalan.do', version: 'v1', plural: 'postgresteams' }),
      ],
    ];
    for (const [what, call] of forbidden) {
      it(`gets 403 ${what}`, async () => expect(await status(() => call(kc))).to.equal(403));
    }
  });

  const others: [string, string, (kc: k8s.KubeConfig) => Promise<unknown>, (kc: k8s.KubeConfig) => Promise<unknown>][] = [
    [
      'rolling-update',
      'deletes a pod but cannot touch StatefulSets',
      (c) => c.makeApiClient(k8s.CoreV1Api).deleteNamespacedPod({ name: 'absent', namespace: 'default' }),
      (c) => c.makeApiClient(k8s.AppsV1Api).deleteNamespacedStatefulSet({ name: 'absent', namespace: 'default' }),
    ],
    [
      'backup-verify',
      'lists clusters but cannot write Secrets',
      (c) => c.makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({ ...PG_API, plural: 'postgresqls' }),
      (c) => c.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'x' } } }),
    ],
    [
      'team-role-sync',
      'reads PostgresTeams but cannot delete anything',
      (c) =>
        c.makeApiClient(k8s.CustomObjectsApi).listClusterCustomObject({ group: 'acid.zalan.do', version: 'v1', plural: 'postgresteams' }),
      (c) => c.makeApiClient(k8s.CoreV1Api).deleteNamespacedService({ name: 'absent', namespace: 'default' }),
    ],
  ];
  for (const [fn, what, allowed, denied] of others) {
    it(`${fn} ${what}`, async () => {
      const { kubeconfig, user } = await identityForFunction(fn);
      expect(user).to.equal(`system:serviceaccount:pgfn-system:pgfn-${fn}`);
      expect(await status(() => allowed(kubeconfig))).to.be.oneOf(['ok', 404]);
      expect(await status(() => denied(kubeconfig))).to.equal(403);
    });
  }

  it("lets the ApiServerSources' account watch what they watch and nothing else", async () => {
    const { kubeconfig } = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system');
    const custom = kubeconfig.makeApiClient(k8s.CustomObjectsApi);
    for (const plural of ['postgresqls', 'postgresteams', 'operatorconfigurations']) {
      expect(await status(() => custom.listClusterCustomObject({ group: 'acid.zalan.do', version: 'v1', plural })), plural).to.equal('ok');
    }
    expect(
      await status(() => kubeconfig.makeApiClient(k8s.CoreV1Api).listPodForAllNamespaces({ labelSelector: 'application=spilo' })),
    ).to.equal('ok');
    expect(await status(() => kubeconfig.makeApiClient(k8s.CoreV1Api).listNode())).to.equal('ok');
    expect(
      await status(() => kubeconfig.makeApiClient(k8s.CoreV1Api).patchNode({ name: 'absent', body: { spec: { unschedulable: true } } })),
    ).to.equal(403);
    expect(await status(() => kubeconfig.makeApiClient(k8s.CoreV1Api).listSecretForAllNamespaces())).to.equal(403);
    expect(
      await status(() =>
        custom.deleteNamespacedCustomObject({
          group: 'acid.zalan.do',
          version: 'v1',
          plural: 'postgresqls',
          namespace: 'default',
          name: 'x',
        }),
      ),
    ).to.equal(403);
  });
});
