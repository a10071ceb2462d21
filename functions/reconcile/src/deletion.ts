import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { RetryableError } from '@pgfn/fn-runtime';
import { statusCode, type KubeClient, type ObjectRef } from '@pgfn/kube';
import { metadataHash } from './metadata-hash.js';

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

/** Attempts at a finalizer write that meets a concurrent change (409) before giving up. */
const FINALIZER_ATTEMPTS = 5;

/**
 * Adds our finalizer with optimistic concurrency. A conflict (another delivery about this cluster, in
 * this instance or another, wrote it first) re-reads the cluster: the finalizer already there is
 * success, otherwise the write is tried again on the fresh resourceVersion. Returns the cluster as
 * stored afterwards, so later writes are guarded by its new resourceVersion. Throws when the cluster
 * changed under us in a way this reconcile did not validate (new generation or metadata, deletion).
 */
export async function ensureFinalizer<T extends Postgresql & KubernetesObject>(kube: KubeClient, cluster: T): Promise<T> {
  let current = cluster;
  for (let attempt = 1; ; attempt++) {
    const finalizers = current.metadata?.finalizers ?? [];
    if (finalizers.includes(FINALIZER)) return current;
    try {
      return await kube.patchFinalizers<T>(pgRef(current), [...finalizers, FINALIZER], current.metadata?.resourceVersion);
    } catch (err) {
      if (statusCode(err) !== 409 || attempt >= FINALIZER_ATTEMPTS) throw err;
    }
    // kube-kinds: acid.zalan.do/v1/postgresql
    const fresh = await kube.get<T>(pgRef(cluster));
    if (fresh === undefined) throw new RetryableError(`cluster ${describe(cluster)} disappeared while its finalizer was added`);
    const changed =
      fresh.metadata?.uid !== cluster.metadata?.uid ||
      fresh.metadata?.deletionTimestamp !== undefined ||
      fresh.metadata?.generation !== cluster.metadata?.generation ||
      metadataHash(fresh.metadata) !== metadataHash(cluster.metadata);
    if (changed) throw new RetryableError(`cluster ${describe(cluster)} changed while its finalizer was added; its own event follows`);
    current = { ...fresh, apiVersion: API_VERSION, kind: POSTGRESQL_KIND };
  }
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
  await releaseFinalizer(kube, cluster);
  return deleted;
}

/**
 * Removes our finalizer. Another delivery may have released the cluster first: the object gone (404) is
 * done, and a conflict re-reads and removes it from the fresh list (already removed, or a new cluster of
 * the same name: done).
 */
async function releaseFinalizer(kube: KubeClient, cluster: Postgresql & KubernetesObject): Promise<void> {
  let current: (Postgresql & KubernetesObject) | undefined = cluster;
  for (let attempt = 1; current !== undefined && (current.metadata?.finalizers ?? []).includes(FINALIZER); attempt++) {
    const finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
    try {
      await kube.patchFinalizers(pgRef(current), finalizers, current.metadata?.resourceVersion);
      return;
    } catch (err) {
      if (statusCode(err) === 404) return;
      if (statusCode(err) !== 409 || attempt >= FINALIZER_ATTEMPTS) throw err;
    }
    // kube-kinds: acid.zalan.do/v1/postgresql
    current = await kube.get<Postgresql & KubernetesObject>(pgRef(cluster));
    // A cluster made again under the same name is not the one cleaned up: its finalizer stays.
    if (current?.metadata?.uid !== cluster.metadata?.uid) return;
  }
}

function describe(cluster: KubernetesObject): string {
  return `${cluster.metadata?.namespace ?? ''}/${cluster.metadata?.name ?? ''}`;
}

function pgRef(cluster: Postgresql & KubernetesObject): ObjectRef {
  return { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: cluster.metadata?.namespace, name: cluster.metadata?.name ?? '' };
}
