// Knative Serving's and Eventing's own CRDs on the shared test apiserver, so knative/ can be validated
// with a server-side dry run (installed by @pgfn/pipeline's installKnativeCrds).
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { installKnativeCrds } from '@pgfn/pipeline';
import { testEnv } from '../support/env.js';

/** kubectl against the test apiserver as admin. */
export async function kubectl(...args: string[]): Promise<string> {
  return kubectlRun(binaries().kubectl, testEnv().kubeconfig, args);
}

export async function ensureKnativeCrds(): Promise<void> {
  await installKnativeCrds(testEnv().kubeconfig, 'pgfn-test-knative-crds');
}
/** The namespace knative/ installs into, created for real (a dry run cannot create it for the objects in it). */
export async function ensureNamespace(name: string): Promise<void> {
  await kubectl('create', 'namespace', name, '--dry-run=client', '-o', 'yaml').then((yaml) =>
    kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['apply', '--server-side', '--field-manager=pgfn-test-knative', '-f', '-'], yaml),
  );
}
