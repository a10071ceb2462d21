// Functions and sources run as their own ServiceAccounts, not as admin: the ServiceAccount, its
// ClusterRoles and ClusterRoleBindings are taken from knative/ (the objects we ship), applied with an
// admin kubeconfig, and a token is minted with the TokenRequest API. A rule missing from the manifests
// then fails with 403 locally and in tests, as it would in a cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { FUNCTION_LABEL, knativeServicesOf, loadKustomization, ofKind, type Manifest } from './manifests.js';

const FIELD_MANAGER = 'pgfn-identity';

export interface Identity {
  readonly kubeconfig: k8s.KubeConfig;
  /** The same identity as a kubeconfig file, for processes (functions, receive adapters). */
  readonly file: string;
  readonly serviceAccount: string;
  readonly namespace: string;
  /** `system:serviceaccount:<namespace>:<name>` */
  readonly user: string;
}

export interface IdentityOptions {
  /** Applies the RBAC objects and requests the token. */
  readonly admin: k8s.KubeConfig;
  /** Where the kubeconfig file goes (a new folder inside it). */
  readonly dir: string;
  /** Token lifetime (default one hour). */
  readonly expirationSeconds?: number;
  readonly manifests?: readonly Manifest[];
}

/** The identity of the Knative Service labelled `pgfn.dev/function=<fn>`. */
export async function identityForFunction(fn: string, opts: IdentityOptions): Promise<Identity> {
  const manifests = opts.manifests ?? loadKustomization();
  const svc = knativeServicesOf(manifests).find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
  if (svc === undefined) throw new Error(`knative/ has no Knative Service labelled ${FUNCTION_LABEL}=${fn}`);
  const sa = svc.spec.template.spec.serviceAccountName;
  if (sa === undefined) throw new Error(`Knative Service ${svc.metadata.name} sets no serviceAccountName`);
  return identityForServiceAccount(sa, svc.metadata.namespace ?? 'default', { ...opts, manifests });
}

/** Applies a ServiceAccount of knative/ with its bindings and roles (idempotent), then mints a token. */
export async function identityForServiceAccount(name: string, namespace: string, opts: IdentityOptions): Promise<Identity> {
  const manifests = opts.manifests ?? loadKustomization();
  const account = manifests.find(
    (m) => m.kind === 'ServiceAccount' && m.metadata.name === name && (m.metadata.namespace ?? 'default') === namespace,
  );
  if (account === undefined) throw new Error(`knative/ has no ServiceAccount ${namespace}/${name}`);
  const bindings = ofKind<Manifest & k8s.V1ClusterRoleBinding>(manifests, 'rbac.authorization.k8s.io', 'ClusterRoleBinding').filter((b) =>
    (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace),
  );
  if (bindings.length === 0) throw new Error(`no ClusterRoleBinding in knative/ binds ServiceAccount ${namespace}/${name}`);
  const roles = bindings.map((b) => {
    const role = manifests.find((m) => m.kind === 'ClusterRole' && m.metadata.name === b.roleRef.name);
    if (role === undefined)
      throw new Error(`ClusterRoleBinding ${b.metadata.name} names ClusterRole ${b.roleRef.name}, which knative/ does not define`);
    return role;
  });
  const namespaceObject = manifests.find((m) => m.kind === 'Namespace' && m.metadata.name === namespace) ?? {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  };
  await applyAll(opts.admin, [namespaceObject, account, ...roles, ...bindings]);

  const core = opts.admin.makeApiClient(k8s.CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: opts.expirationSeconds ?? 3600 } },
  });
  const token = request.status?.token;
  if (token === undefined || token === '') throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const kubeconfig = withToken(opts.admin, token);
  const file = join(mkdtempSync(join(opts.dir, `id-${name}-`)), 'kubeconfig');
  writeFileSync(file, kubeconfig.exportConfig(), { mode: 0o600 });
  return { kubeconfig, file, serviceAccount: name, namespace, user: `system:serviceaccount:${namespace}:${name}` };
}

function withToken(admin: k8s.KubeConfig, token: string): k8s.KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('admin kubeconfig has no current cluster');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
    currentContext: 'sa',
  });
  return kc;
}

async function applyAll(kc: k8s.KubeConfig, objects: readonly Manifest[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) {
    await api.patch(o, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }
}
