// Knative Serving's and Eventing's own CRDs (copied from their modules' config/ folders by
// `bash hack/build-bins.sh knative-crds`), installed on a local API server so Knative objects can be
// stored, watched and dry-run there. A forced server-side apply under one field manager: installing
// twice, or concurrently, converges to the same objects.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaries, cacheDir, kubectlRun, readVersions } from '@pgfn/controlplane';
import { parseAllDocuments } from 'yaml';

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

/**
 * Applies every Knative CRD and waits until the API server serves them. No conversion webhook runs
 * locally, so the CRDs that name one (EventType, PingSource) get `strategy: None`: otherwise a list in a
 * version other than the storage version fails, and a Knative process whose informer lists it never
 * starts (the broker ingress lists EventTypes at v1beta3, stored at v1beta2, once the controller has
 * made some for an ApiServerSource). Objects are then read unconverted; pgfn uses neither kind's
 * version-specific fields.
 */
export async function installKnativeCrds(kubeconfig: string, fieldManager = 'pgfn-knative-crds'): Promise<void> {
  const crds = knativeCrdFiles()
    .flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJSON() as Crd | null))
    .filter((c): c is Crd => c?.kind === 'CustomResourceDefinition')
    .map((c) => (c.spec.conversion?.strategy === 'Webhook' ? { ...c, spec: { ...c.spec, conversion: { strategy: 'None' } } } : c));
  const kubectl = binaries().kubectl;
  const yaml = crds.map((c) => JSON.stringify(c)).join('\n---\n');
  await kubectlRun(
    kubectl,
    kubeconfig,
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${fieldManager}`, '-f', '-'],
    yaml,
  );
  const names = crds.map((c) => `crd/${c.metadata.name}`);
  await kubectlRun(kubectl, kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
}

interface Crd {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: { readonly conversion?: { readonly strategy?: string } };
}
