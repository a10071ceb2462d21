// Whether a cluster's live objects are what a fresh reconcile of its current spec builds: the desired
// objects rebuilt now (the real builder, the cluster's live Secrets as existing passwords) compared
// with live ones the way reconcile's drift repair judges them (applied-hash, compareLive,
// compareStatefulSet), plus what must not be there (owned objects no longer desired) and the status.
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';
import type { KubeClient } from '@pgfn/kube';
import { APPLIED_HASH_ANNOTATION, appliedHashOf, withAppliedHash } from '../../functions/reconcile/src/applied-hash.js';
import { realBuilder } from '../../functions/reconcile/src/builder-port.js';

type Cluster = Postgresql & KubernetesObject;

/** Kinds reconcile owns per cluster, found by the cluster label. */
export const OWNED_KINDS: readonly (readonly [apiVersion: string, kind: string])[] = [
  ['apps/v1', 'StatefulSet'],
  ['v1', 'Service'],
  ['v1', 'Endpoints'],
  ['v1', 'Secret'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['apps/v1', 'Deployment'],
  ['batch/v1', 'CronJob'],
];

const keyOf = (o: KubernetesObject): string => `${o.kind ?? ''}/${o.metadata?.name ?? ''}`;

/** Every live object of the cluster's label in its namespace, by `Kind/name`. */
export async function ownedObjects(kube: KubeClient, cluster: Cluster, config: OperatorConfig): Promise<Map<string, KubernetesObject>> {
  const namespace = cluster.metadata?.namespace ?? '';
  const selector = realBuilder.objectSelector(cluster, config);
  const lists = await Promise.all(OWNED_KINDS.map(([v, k]) => kube.list(v, k, namespace, selector)));
  return new Map(lists.flat().map((o) => [keyOf(o), o]));
}

/**
 * Reasons the cluster differs from a fresh reconcile of its spec as stored now; empty when converged.
 * A cluster that no longer exists has converged when nothing of it is left but its Secrets.
 */
export async function divergences(kube: KubeClient, ref: { namespace: string; name: string }, config: OperatorConfig): Promise<string[]> {
  return (await inspect(kube, ref, config)).divergences;
}

/** divergences() and passwords() from one read of the cluster and its objects (no password when the cluster is gone). */
export async function inspect(
  kube: KubeClient,
  ref: { namespace: string; name: string },
  config: OperatorConfig,
): Promise<{ divergences: string[]; passwords: Map<string, string> }> {
  const cluster = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, ...ref });
  if (cluster === undefined) return { divergences: [], passwords: new Map() };
  const reasons: string[] = [];
  const status = cluster.status;
  if (status?.observedGeneration !== cluster.metadata?.generation)
    reasons.push(`status.observedGeneration ${String(status?.observedGeneration)}, generation ${String(cluster.metadata?.generation)}`);
  for (const type of ['Valid', 'Synced']) {
    const c = status?.conditions?.find((x) => x.type === type);
    if (c?.status !== 'True') reasons.push(`condition ${type} is ${c?.status ?? 'missing'}: ${c?.message ?? ''}`);
  }
  const live = await ownedObjects(kube, cluster, config);
  const existingSecrets = new Map(
    [...live.values()].filter((o): o is V1Secret => o.kind === 'Secret').map((s) => [s.metadata?.name ?? '', s] as const),
  );
  const built = realBuilder.build({
    cluster,
    config,
    existingSecrets,
    newPassword: () => 'not-yet-created', // only for a missing Secret, reported below
    now: new Date(),
  });
  const desired = built.objects.map((o) => withAppliedHash(o));
  for (const want of desired) {
    const have = live.get(keyOf(want)) ?? (await sharedObject(kube, want));
    if (have === undefined) {
      reasons.push(`${keyOf(want)}: missing`);
      continue;
    }
    if (appliedHashOf(have) !== appliedHashOf(want)) reasons.push(`${keyOf(want)}: applied for another spec (applied-hash differs)`);
    const drift = realBuilder.compareLive?.(have, want, config.ignoredAnnotations);
    if (drift !== undefined && drift.action !== 'none') reasons.push(`${keyOf(want)}: ${drift.reasons.join('; ')}`);
    if (want.kind === 'StatefulSet') {
      const cmp = realBuilder.compareStatefulSet(have, want);
      if (cmp.action !== 'none') reasons.push(`${keyOf(want)}: ${cmp.action}: ${cmp.reasons.join('; ')}`);
    }
  }
  const wanted = new Set(desired.map(keyOf));
  // A role leaving the manifest keeps its Secret (upstream), unless it is one upstream deletes (the pooler's).
  const prunable = realBuilder.prunableKeys(cluster, config);
  for (const [key, o] of live) {
    const ours = o.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== undefined;
    const mayGo = o.kind !== 'Secret' || prunable.has(`Secret/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
    if (!wanted.has(key) && ours && mayGo) reasons.push(`${key}: orphan (no longer desired, still there)`);
  }
  return { divergences: reasons, passwords: passwordsOf(live) };
}

/** Objects shared by every cluster of a namespace (the pod ServiceAccount, its RoleBinding) carry no cluster label. */
async function sharedObject(kube: KubeClient, want: KubernetesObject): Promise<KubernetesObject | undefined> {
  if (want.kind !== 'ServiceAccount' && want.kind !== 'RoleBinding') return undefined;
  return kube.get({
    apiVersion: want.apiVersion ?? '',
    kind: want.kind,
    namespace: want.metadata?.namespace ?? '',
    name: want.metadata?.name ?? '',
  });
}

/** Every credential password of the cluster, by Secret name (to prove none changed). */
export async function passwords(kube: KubeClient, cluster: Cluster, config: OperatorConfig): Promise<Map<string, string>> {
  return passwordsOf(await ownedObjects(kube, cluster, config));
}

function passwordsOf(live: Map<string, KubernetesObject>): Map<string, string> {
  return new Map(
    [...live.values()]
      .filter((o): o is V1Secret => o.kind === 'Secret')
      .map((s) => [s.metadata?.name ?? '', Buffer.from(s.data?.['password'] ?? '', 'base64').toString('utf8')] as const),
  );
}
