// Knative Serving's and Eventing's own CRDs (copied from their modules' config/ folders by
// `bash hack/build-bins.sh knative-crds`) on the shared test apiserver, so knative/ can be validated
// with a server-side dry run. Installed with a forced server-side apply under one field manager: test
// files may install them concurrently, and applying twice converges to the same objects.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { binaries, cacheDir, kubectlRun, readVersions } from '@pgfn/controlplane';
import { testEnv } from '../support/env.js';

export function knativeCrdsDir(): string {
  const v = readVersions();
  const dir = join(
    cacheDir(),
    `knative-crds-serving-${v['KNATIVE_SERVING_VERSION'] ?? '?'}-eventing-${v['KNATIVE_EVENTING_VERSION'] ?? '?'}`,
  );
  if (!existsSync(join(dir, '.complete')))
    throw new Error(`Knative CRDs missing (${dir}); fetch them with: bash hack/build-bins.sh knative-crds`);
  return dir;
}

export function knativeCrdFiles(): string[] {
  const dir = knativeCrdsDir();
  return ['serving', 'eventing'].flatMap((d) =>
    readdirSync(join(dir, d))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, d, f)),
  );
}

/** kubectl against the test apiserver as admin. */
export async function kubectl(...args: string[]): Promise<string> {
  return kubectlRun(binaries().kubectl, testEnv().kubeconfig, args);
}

export async function ensureKnativeCrds(): Promise<void> {
  const files = knativeCrdFiles().flatMap((f) => ['-f', f]);
  await kubectl('apply', '--server-side', '--force-conflicts', '--field-manager=pgfn-test-knative-crds', ...files);
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', ...files);
}

/** The namespace knative/ installs into, created for real (a dry run cannot create it for the objects in it). */
export async function ensureNamespace(name: string): Promise<void> {
  await kubectl('create', 'namespace', name, '--dry-run=client', '-o', 'yaml').then((yaml) =>
    kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['apply', '--server-side', '--field-manager=pgfn-test-knative', '-f', '-'], yaml),
  );
}
