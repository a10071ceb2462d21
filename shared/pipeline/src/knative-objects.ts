// The Kubernetes objects a Knative install has around its processes, made for the local stack: the
// config-* ConfigMaps of knative-eventing, and the Services, Endpoints and Deployments Knative's
// readiness checks read for processes that run locally instead. The API server refuses loopback
// Endpoints, so those name a documentation address (192.0.2.10) that nothing dials; kwok makes the
// Deployments Available.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { parseAllDocuments } from 'yaml';
import { SYSTEM_NAMESPACE } from './adapter.js';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/** The label of everything standing in for a process that runs locally (Services, Endpoints, Deployments and their pods). */
export const PLACEHOLDER_SELECTOR = 'app.kubernetes.io/part-of=pgfn-local-knative';

/** A documentation-range address (RFC 5737) for Endpoints the API server must accept and nobody dials. */
export const PLACEHOLDER_IP = '192.0.2.10';

/** The config-* ConfigMaps of a Knative install (from the cached module), in knative-eventing. */
export function configMaps(dir: string): KubeObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as KubeObject | null))
    .filter((o): o is KubeObject => o?.kind === 'ConfigMap')
    .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: SYSTEM_NAMESPACE } }));
}

/** Services, Endpoints and Deployments Knative's readiness checks read, for processes that run locally instead. */
export function placeholders(): KubeObject[] {
  const labels = { 'app.kubernetes.io/part-of': 'pgfn-local-knative' };
  const service = (name: string): KubeObject[] => [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
      subsets: [{ addresses: [{ ip: PLACEHOLDER_IP }], ports: [{ name: 'http', port: 8080 }] }],
    },
  ];
  const deployment = (name: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: {
          // kwok runs it (the real process runs locally); it only has to be Available
          nodeSelector: { type: 'kwok' },
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name, image: `pgfn.local/${name}` }],
        },
      },
    },
  });
  return [
    ...service('broker-ingress'),
    ...service('broker-filter'),
    ...service('imc-dispatcher'),
    deployment('imc-dispatcher'),
    deployment('pingsource-mt-adapter'),
  ];
}

/** Server-side apply with the local stack's field manager. */
export async function applyObjects(kubeconfig: string, objects: readonly KubeObject[]): Promise<void> {
  const yaml = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  await kubectlRun(
    binaries().kubectl,
    kubeconfig,
    ['apply', '--server-side', '--force-conflicts', '--field-manager=pgfn-local-knative', '-f', '-'],
    yaml,
  );
}
