import type { KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type Postgresql } from '@pgfn/api';
import type { KubeClient } from '@pgfn/kube';

export type Cluster = Postgresql & KubernetesObject;

/** The kinds a cluster's own objects have; listed by the cluster-name label to see what exists. */
export const LISTED_KINDS: readonly (readonly [string, string])[] = [
  ['v1', 'Secret'],
  ['v1', 'Service'],
  ['v1', 'Endpoints'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'Deployment'],
  ['batch/v1', 'CronJob'],
];
const LISTED = new Set(LISTED_KINDS.map(([, kind]) => kind));

/** Whether reconcile sees objects of this kind through its label lists (else it reads them by name). */
export function isListedKind(kind: string | undefined): boolean {
  return kind !== undefined && LISTED.has(kind);
}

/**
 * The clusters of one batch, as stored now: one read for one cluster, one list of the namespace for
 * more (a list costs one request however many clusters it returns).
 */
export async function readClusters(
  kube: KubeClient,
  namespace: string,
  names: readonly string[],
): Promise<{ clusters: Map<string, Cluster>; inNamespace?: number }> {
  if (names.length === 1) {
    const one = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace, name: names[0] as string });
    return { clusters: new Map(one === undefined ? [] : [[names[0] as string, one]]) };
  }
  const wanted = new Set(names);
  const all = await kube.list<Cluster>(API_VERSION, POSTGRESQL_KIND, namespace);
  return {
    clusters: new Map(
      all
        .filter((c) => wanted.has(c.metadata?.name ?? ''))
        .map((c) => [c.metadata?.name ?? '', { ...c, apiVersion: API_VERSION, kind: POSTGRESQL_KIND }]),
    ),
    inNamespace: all.length,
  };
}

/** What exists for the clusters of a batch, grouped by the value of their cluster-name label. */
export interface LiveState {
  /** Objects of every listed kind, for clusters reconciled in full. */
  readonly owned: ReadonlyMap<string, readonly KubernetesObject[]>;
  readonly statefulSets: ReadonlyMap<string, V1StatefulSet>;
  readonly pods: ReadonlyMap<string, readonly V1Pod[]>;
}

/**
 * One list per kind for the whole batch, narrowed by a set-based selector on the cluster-name label
 * (`cluster-name in (a,b,c)`): clusters reconciled in full need every kind, clusters only observed
 * need their StatefulSet and pods.
 */
export async function readLive(
  kube: KubeClient,
  namespace: string,
  clusters: { readonly labelKey: string; readonly full: readonly string[]; readonly observed: readonly string[] },
): Promise<LiveState> {
  const { labelKey, full, observed } = clusters;
  const everyone = [...full, ...observed];
  const lists = await Promise.all([
    ...LISTED_KINDS.map(async ([apiVersion, kind]) => {
      const names = kind === 'StatefulSet' ? everyone : full;
      if (names.length === 0) return [];
      // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
      return (await kube.list(apiVersion, kind, namespace, labelSelector(labelKey, names))).map((o) => ({ ...o, apiVersion, kind }));
    }),
    everyone.length === 0
      ? Promise.resolve([])
      : kube
          .list<V1Pod>('v1', 'Pod', namespace, labelSelector(labelKey, everyone))
          .then((pods) =>
            pods.filter((p) => p.metadata?.deletionTimestamp === undefined).map((p) => ({ ...p, apiVersion: 'v1', kind: 'Pod' })),
          ),
  ]);
  const pods = lists.pop() as V1Pod[];
  const owned = new Map<string, KubernetesObject[]>();
  const statefulSets = new Map<string, V1StatefulSet>();
  const fullSet = new Set(full);
  for (const o of lists.flat() as KubernetesObject[]) {
    const value = o.metadata?.labels?.[labelKey];
    if (value === undefined) continue;
    if (o.kind === 'StatefulSet') statefulSets.set(value, o);
    if (fullSet.has(value)) append(owned, value, o);
  }
  return { owned, statefulSets, pods: groupBy(pods, (p) => p.metadata?.labels?.[labelKey]) };
}

/**
 * Which of these clusters (cluster-label values) have a PersistentVolumeClaim already: a StatefulSet made
 * now adopts such a claim at whatever size it has; the others get claims made from the manifest.
 */
export async function clustersWithClaims(
  kube: KubeClient,
  namespace: string,
  clusters: { readonly labelKey: string; readonly values: readonly string[] },
): Promise<ReadonlySet<string>> {
  if (clusters.values.length === 0) return new Set();
  // kube-kinds: v1/PersistentVolumeClaim
  const claims = await kube.list('v1', 'PersistentVolumeClaim', namespace, labelSelector(clusters.labelKey, clusters.values));
  return new Set(claims.map((c) => c.metadata?.labels?.[clusters.labelKey] ?? ''));
}

/** `key=value` for one value, `key in (a,b)` for more. */
export function labelSelector(key: string, values: readonly string[]): string {
  return values.length === 1 ? `${key}=${values[0] as string}` : `${key} in (${[...new Set(values)].sort().join(',')})`;
}

/** Whether `labels` satisfy an equality-only selector such as `application=spilo,cluster-name=x`. */
export function matchesSelector(labels: Readonly<Record<string, string>> | undefined, selector: string): boolean {
  return selector
    .split(',')
    .filter((t) => t !== '')
    .every((term) => {
      const i = term.indexOf('=');
      return labels?.[term.slice(0, i)] === term.slice(i + 1);
    });
}

function groupBy<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) append(out, k, item);
  }
  return out;
}

function append<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}
