// Integration tests run as the function they test, not as admin: the function's ServiceAccount,
// ClusterRole and ClusterRoleBinding are taken from knative/ (the objects we ship), applied to the test
// apiserver, and a token for the ServiceAccount is minted with the TokenRequest API. A rule missing
// from the manifests then fails the test with 403, as it would in a cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { FUNCTION_LABEL, knativeServicesOf, loadKustomization, ofKind, type Manifest } from '@pgfn/pipeline';
import { testEnv } from './env.js';
import { adminConfig, tokenConfig } from './kube.js';

const FIELD_MANAGER = 'pgfn-test-identity';

export interface Identity {
  readonly kubeconfig: k8s.KubeConfig;
  /** The same identity as a kubeconfig file, for processes (functions, receive adapters). */
  readonly file: string;
  readonly serviceAccount: string;
  readonly namespace: string;
  /** `system:serviceaccount:<namespace>:<name>` */
  readonly user: string;
}

/** A KubeConfig that acts as `fn`'s ServiceAccount with exactly the RBAC shipped in knative/. */
export async function kubeconfigForFunction(fn: string): Promise<k8s.KubeConfig> {
  return (await identityForFunction(fn)).kubeconfig;
}

export async function identityForFunction(fn: string): Promise<Identity> {
  const manifests = loadKustomization();
  const svc = knativeServicesOf(manifests).find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
  if (svc === undefined) throw new Error(`knative/ has no Knative Service labelled ${FUNCTION_LABEL}=${fn}`);
  const sa = svc.spec.template.spec.serviceAccountName;
  if (sa === undefined) throw new Error(`Knative Service ${svc.metadata.name} sets no serviceAccountName`);
  return identityForServiceAccount(sa, svc.metadata.namespace ?? 'default', manifests);
}

/**
 * Applies a ServiceAccount of knative/ with every ClusterRoleBinding that names it and the ClusterRoles
 * those bind (idempotent server-side applies: test files may do this concurrently), then mints a
 * one-hour token for it.
 */
export async function identityForServiceAccount(name: string, namespace: string, manifests: readonly Manifest[] = loadKustomization()): Promise<Identity> {
  const account = manifests.find((m) => m.kind === 'ServiceAccount' && m.metadata.name === name && (m.metadata.namespace ?? 'default') === namespace);
  if (account === undefined) throw new Error(`knative/ has no ServiceAccount ${namespace}/${name}`);
  const bindings = ofKind<Manifest & k8s.V1ClusterRoleBinding>(manifests, 'rbac.authorization.k8s.io', 'ClusterRoleBinding')
    .filter((b) => (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace));
  if (bindings.length === 0) throw new Error(`no ClusterRoleBinding in knative/ binds ServiceAccount ${namespace}/${name}`);
  const roles = bindings.map((b) => {
    const role = manifests.find((m) => m.kind === 'ClusterRole' && m.metadata.name === b.roleRef.name);
    if (role === undefined) throw new Error(`ClusterRoleBinding ${b.metadata.name} names ClusterRole ${b.roleRef.name}, which knative/ does not define`);
    return role;
  });
  const admin = adminConfig();
  const namespaceObject = manifests.find((m) => m.kind === 'Namespace' && m.metadata.name === namespace)
    ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
  await applyAll(admin, [namespaceObject, account, ...roles, ...bindings]);

  const core = admin.makeApiClient(k8s.CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = request.status?.token;
  if (token === undefined || token === '') throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const kubeconfig = tokenConfig(token);
  // inside the control plane's folder, so it goes when the control plane does
  const file = join(mkdtempSync(join(testEnv().dir, `id-${name}-`)), 'kubeconfig');
  writeFileSync(file, kubeconfig.exportConfig(), { mode: 0o600 });
  return { kubeconfig, file, serviceAccount: name, namespace, user: `system:serviceaccount:${namespace}:${name}` };
}

async function applyAll(kc: k8s.KubeConfig, objects: readonly Manifest[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) {
    await api.patch(o as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }
}
