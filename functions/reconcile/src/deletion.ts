import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';
import type { KubeClient, ObjectRef } from '@pgfn/kube';

/** Upstream's finalizer name, so clusters moved between operators keep working. */
export const FINALIZER = 'postgres-operator.acid.zalan.do';

/**
 * Upstream's delete protection: with `delete_annotation_date_key` / `delete_annotation_name_key`
 * configured, a cluster may only be deleted when it carries today's date and its own name in those
 * annotations. Returns the reasons deletion is refused (empty = allowed). Pure.
 */
export function deletionRefusals(cluster: Postgresql, config: OperatorConfig, now: Date): string[] {
  const annotations = cluster.metadata?.annotations ?? {};
  const refusals: string[] = [];
  const today = now.toISOString().slice(0, 10);
  const dateKey = config.deleteAnnotationDateKey;
  if (dateKey !== '') {
    const got = annotations[dateKey];
    if (got === undefined) refusals.push(`annotation ${dateKey} is not set; set it to ${today} to allow deleting this cluster`);
    else if (got !== today) refusals.push(`annotation ${dateKey} is ${got}, not today's date ${today}`);
  }
  const nameKey = config.deleteAnnotationNameKey;
  if (nameKey !== '') {
    const got = annotations[nameKey];
    const name = cluster.metadata?.name ?? '';
    if (got === undefined) refusals.push(`annotation ${nameKey} is not set; set it to ${name} to allow deleting this cluster`);
    else if (got !== name) refusals.push(`annotation ${nameKey} is ${got}, not the cluster name ${name}`);
  }
  return refusals;
}

/**
 * The kinds removed when a cluster is deleted, in upstream's order: the logical backup first (no
 * backup against vanishing pods), then the StatefulSet and its volumes, secrets, PDBs, endpoints and
 * services (ours and Patroni's), Patroni's ConfigMaps, and the pooler last.
 */
export function cleanupKinds(config: OperatorConfig): readonly [string, string][] {
  return [
    ['batch/v1', 'CronJob'],
    ['apps/v1', 'StatefulSet'],
    ...(config.enablePersistentVolumeClaimDeletion ? [['v1', 'PersistentVolumeClaim'] as [string, string]] : []),
    ...(config.enableSecretsDeletion ? [['v1', 'Secret'] as [string, string]] : []),
    ['policy/v1', 'PodDisruptionBudget'],
    ['v1', 'Endpoints'],
    ['v1', 'Service'],
    ['v1', 'ConfigMap'],
    ['apps/v1', 'Deployment'],
  ];
}

/**
 * Adds our finalizer with optimistic concurrency (a conflict fails the invocation; it is retried).
 * Returns the cluster as stored afterwards, so later writes are guarded by its new resourceVersion.
 */
export async function ensureFinalizer<T extends Postgresql & KubernetesObject>(kube: KubeClient, cluster: T): Promise<T> {
  const finalizers = cluster.metadata?.finalizers ?? [];
  if (finalizers.includes(FINALIZER)) return cluster;
  return kube.patchFinalizers<T>(pgRef(cluster), [...finalizers, FINALIZER], cluster.metadata?.resourceVersion);
}

/**
 * Deletes everything the cluster owns, then releases the CR by removing our finalizer. Any failure
 * keeps the finalizer, so the next event or resync finishes the job; nothing is lost by a crash
 * halfway. Returns the number of objects deleted.
 */
export async function cleanUp(
  kube: KubeClient,
  cluster: Postgresql & KubernetesObject,
  config: OperatorConfig,
  selector: string,
): Promise<number> {
  const namespace = cluster.metadata?.namespace ?? '';
  let deleted = 0;
  for (const [apiVersion, kind] of cleanupKinds(config)) {
    // kube-kinds: batch/v1/CronJob apps/v1/StatefulSet v1/PersistentVolumeClaim v1/Secret policy/v1/PodDisruptionBudget
    // kube-kinds: v1/Endpoints v1/Service v1/ConfigMap apps/v1/Deployment
    const objects = await kube.list(apiVersion, kind, namespace, selector);
    for (const o of objects) {
      const ref: ObjectRef = { apiVersion, kind, namespace, name: o.metadata?.name ?? '' };
      // kube-kinds: batch/v1/CronJob apps/v1/StatefulSet v1/PersistentVolumeClaim v1/Secret policy/v1/PodDisruptionBudget
      // kube-kinds: v1/Endpoints v1/Service v1/ConfigMap apps/v1/Deployment
      await kube.delete(ref, kind === 'StatefulSet' ? 'Foreground' : 'Background');
      deleted++;
    }
  }
  const finalizers = (cluster.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
  await kube.patchFinalizers(pgRef(cluster), finalizers, cluster.metadata?.resourceVersion);
  return deleted;
}

function pgRef(cluster: Postgresql & KubernetesObject): ObjectRef {
  return { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: cluster.metadata?.namespace, name: cluster.metadata?.name ?? '' };
}
