// Integration tests run as the function they test, not as admin (see @pgfn/pipeline identity.ts):
// a rule missing from knative/ then fails the test with 403, as it would in a cluster.
import type * as k8s from '@kubernetes/client-node';
import {
  identityForFunction as forFunction,
  identityForServiceAccount as forServiceAccount,
  loadKustomization,
  type Identity,
  type Manifest,
} from '@pgfn/pipeline';
import { testEnv } from './env.js';
import { adminConfig } from './kube.js';

export type { Identity };

/** A KubeConfig that acts as `fn`'s ServiceAccount with exactly the RBAC shipped in knative/. */
export async function kubeconfigForFunction(fn: string): Promise<k8s.KubeConfig> {
  return (await identityForFunction(fn)).kubeconfig;
}

export async function identityForFunction(fn: string): Promise<Identity> {
  // inside the control plane's folder, so the kubeconfig goes when the control plane does
  return forFunction(fn, { admin: adminConfig(), dir: testEnv().dir });
}

export async function identityForServiceAccount(
  name: string,
  namespace: string,
  manifests: readonly Manifest[] = loadKustomization(),
): Promise<Identity> {
  return forServiceAccount(name, namespace, { admin: adminConfig(), dir: testEnv().dir, manifests });
}
