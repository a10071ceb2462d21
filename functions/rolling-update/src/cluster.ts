// The objects one invocation reads for a cluster, read fresh every time (events are only hints).
import type { KubernetesObject, V1Node, V1PersistentVolumeClaim, V1Pod, V1StatefulSet, V1StorageClass } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { clusterLabels, statefulSetName } from '@pgfn/builder';
import { equalitySelector, type KubeClient } from '@pgfn/kube';

export type Cluster = Postgresql & KubernetesObject;

export interface LiveCluster {
  readonly cluster: Cluster;
  readonly statefulSet: V1StatefulSet;
  readonly pods: readonly V1Pod[];
  readonly claims: readonly V1PersistentVolumeClaim[];
  readonly expandable: ReadonlyMap<string, boolean>;
  /** Every Node (ADR 0076: is one the pods run on going away?). */
  readonly nodes: readonly V1Node[];
}

/** Which StorageClasses allow volume expansion, by name. */
function expandableOf(classes: readonly V1StorageClass[]): ReadonlyMap<string, boolean> {
  return new Map(classes.map((c) => [c.metadata?.name ?? '', c.allowVolumeExpansion === true]));
}

/** Undefined when the cluster is gone, being deleted, or has no StatefulSet yet (nothing to roll). */
export async function readCluster(
  kube: KubeClient,
  ref: { namespace: string; name: string },
  config: OperatorConfig,
): Promise<LiveCluster | undefined> {
  const cluster = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, ...ref });
  if (cluster === undefined || cluster.metadata?.deletionTimestamp !== undefined) return undefined;
  const statefulSet = await kube.get<V1StatefulSet>({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    namespace: ref.namespace,
    name: statefulSetName(cluster),
  });
  if (statefulSet === undefined) return undefined;
  const labels = equalitySelector(clusterLabels(cluster, config));
  const [pods, claims, classes, nodes] = await Promise.all([
    kube.list<V1Pod>('v1', 'Pod', ref.namespace, labels),
    kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', ref.namespace, labels),
    kube.list<V1StorageClass>('storage.k8s.io/v1', 'StorageClass', undefined),
    kube.list<V1Node>('v1', 'Node', undefined),
  ]);
  const expandable = expandableOf(classes);
  return { cluster, statefulSet, pods, claims, expandable, nodes };
}

/**
 * Every cluster of the namespace (all namespaces when undefined) from six lists, for the periodic
 * check: a first look at a fleet then costs six reads instead of six per cluster. Clusters being
 * deleted or without a StatefulSet are left out, as readCluster leaves them.
 */
export async function readFleet(kube: KubeClient, namespace: string | undefined, config: OperatorConfig): Promise<LiveCluster[]> {
  const base = equalitySelector(config.clusterLabels);
  const [clusters, sets, pods, claims, classes, nodes] = await Promise.all([
    kube.list<Cluster>(API_VERSION, POSTGRESQL_KIND, namespace),
    kube.list<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, base),
    kube.list<V1Pod>('v1', 'Pod', namespace, base),
    kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', namespace, base),
    kube.list<V1StorageClass>('storage.k8s.io/v1', 'StorageClass', undefined),
    kube.list<V1Node>('v1', 'Node', undefined),
  ]);
  const expandable = expandableOf(classes);
  const byName = new Map(sets.map((s) => [`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`, s]));
  const podsOf = groupByCluster(pods, config.clusterNameLabel);
  const claimsOf = groupByCluster(claims, config.clusterNameLabel);
  const fleet: LiveCluster[] = [];
  for (const cluster of clusters) {
    const ns = cluster.metadata?.namespace ?? '';
    const statefulSet = byName.get(`${ns}/${statefulSetName(cluster)}`);
    if (cluster.metadata?.deletionTimestamp !== undefined || statefulSet === undefined) continue;
    const key = `${ns}/${clusterLabels(cluster, config)[config.clusterNameLabel] ?? ''}`;
    fleet.push({ cluster, statefulSet, pods: podsOf.get(key) ?? [], claims: claimsOf.get(key) ?? [], expandable, nodes });
  }
  return fleet;
}

function groupByCluster<T extends KubernetesObject>(items: readonly T[], nameLabel: string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = item.metadata?.labels?.[nameLabel];
    if (name === undefined) continue;
    const key = `${item.metadata?.namespace ?? ''}/${name}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}
