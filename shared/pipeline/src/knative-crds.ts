// Knative Serving's and Eventing's own CRDs (copied from their modules' config/ folders by
// `bash hack/build-bins.sh knative-crds`), installed on a local API server so Knative objects can be
// stored, watched and dry-run there. A forced server-side apply under one field manager: installing
// twice, or concurrently, converges to the same objects.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { binaries, cacheDir, kubectlRun, readVersions } from '@pgfn/controlplane';

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

/** Applies every Knative CRD and waits until the API server serves them. */
export async function installKnativeCrds(kubeconfig: string, fieldManager = 'pgfn-knative-crds'): Promise<void> {
  const files = knativeCrdFiles().flatMap((f) => ['-f', f]);
  const kubectl = binaries().kubectl;
  await kubectlRun(kubectl, kubeconfig, ['apply', '--server-side', '--force-conflicts', `--field-manager=${fieldManager}`, ...files]);
  await kubectlRun(kubectl, kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', ...files]);
}
