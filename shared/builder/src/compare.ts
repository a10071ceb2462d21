// Decides what to do with a live StatefulSet given the freshly built desired one.
// - replace: a field the API server will not let us update changed (selector, serviceName,
//   podManagementPolicy, volumeClaimTemplates) — the same fields that make upstream's
//   compareStatefulSetWith (pkg/cluster/cluster.go) replace the StatefulSet;
// - roll: the pod-template hash differs, so pods must be re-created (after patching);
// - patch: only mutable fields differ (replicas, labels, annotations, updateStrategy, retention policy,
//   owner references), or the pod template changed in a way that needs no rotation (its content
//   hash differs while its rotation hash does not: pod annotations, DCS-only Patroni settings, the
//   postgres image under lazy Spilo upgrade);
// - none: nothing differs.
// Live pod-template fields are never compared (the API server defaults them); only our hashes are.
import type { V1LabelSelector, V1ObjectMeta, V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { FIELD_MANAGER, POD_TEMPLATE_CONTENT_HASH_ANNOTATION, POD_TEMPLATE_HASH_ANNOTATION } from './labels.js';
import { ownedMapKeys } from './managed-fields.js';
import { canonicalJson, storedPodTemplateHash } from './pod-template-hash.js';
import { compareQuantities, isQuantity } from './quantity.js';

export type StatefulSetAction = 'none' | 'patch' | 'roll' | 'replace';

export interface StatefulSetComparison {
  readonly action: StatefulSetAction;
  readonly reasons: string[];
}

export interface CompareOptions {
  /** Field manager whose earlier applies tell which labels/annotations to remove. Default: pgfn. */
  readonly fieldManager?: string;
  /** Annotation keys never compared (config ignored_annotations). */
  readonly ignoredAnnotations?: readonly string[];
}

export function compareStatefulSet(live: V1StatefulSet, desired: V1StatefulSet, options: CompareOptions = {}): StatefulSetComparison {
  const replace = immutableChanges(live, desired);
  const roll = templateChanges(live, desired);
  const patch = mutableChanges(live, desired, options);
  const action: StatefulSetAction = replace.length > 0 ? 'replace' : roll.length > 0 ? 'roll' : patch.length > 0 ? 'patch' : 'none';
  return { action, reasons: [...replace, ...roll, ...patch] };
}

function immutableChanges(live: V1StatefulSet, desired: V1StatefulSet): string[] {
  const reasons: string[] = [];
  if (!sameSelector(live.spec?.selector, desired.spec?.selector)) reasons.push('the selector changed (spec.selector is immutable)');
  if ((live.spec?.serviceName ?? '') !== (desired.spec?.serviceName ?? '')) {
    reasons.push(`serviceName changed from "${live.spec?.serviceName ?? ''}" to "${desired.spec?.serviceName ?? ''}"`);
  }
  const livePolicy = live.spec?.podManagementPolicy ?? 'OrderedReady';
  const desiredPolicy = desired.spec?.podManagementPolicy ?? 'OrderedReady';
  if (livePolicy !== desiredPolicy) reasons.push(`podManagementPolicy changed from ${livePolicy} to ${desiredPolicy}`);
  reasons.push(...claimTemplateChanges(live.spec?.volumeClaimTemplates ?? [], desired.spec?.volumeClaimTemplates ?? []));
  return reasons;
}

function sameSelector(a: V1LabelSelector | undefined, b: V1LabelSelector | undefined): boolean {
  const norm = (s: V1LabelSelector | undefined): string =>
    canonicalJson({ matchLabels: s?.matchLabels ?? {}, matchExpressions: s?.matchExpressions ?? [] });
  return norm(a) === norm(b);
}

function claimTemplateChanges(live: readonly V1PersistentVolumeClaim[], desired: readonly V1PersistentVolumeClaim[]): string[] {
  if (live.length !== desired.length) return [`volumeClaimTemplates: ${live.length} claim(s) live, ${desired.length} desired`];
  const reasons: string[] = [];
  desired.forEach((want, i) => {
    const have = live[i] as V1PersistentVolumeClaim;
    const name = want.metadata?.name ?? '';
    if ((have.metadata?.name ?? '') !== name) {
      reasons.push(`volumeClaimTemplates[${i}]: name changed from "${have.metadata?.name ?? ''}" to "${name}"`);
      return;
    }
    for (const field of claimFieldChanges(have, want)) reasons.push(`volumeClaimTemplates "${name}": ${field} changed`);
  });
  return reasons;
}

/** Only fields we set; the API server adds status and defaults to stored claim templates. */
function claimFieldChanges(have: V1PersistentVolumeClaim, want: V1PersistentVolumeClaim): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  if (!same(have.metadata?.labels ?? {}, want.metadata?.labels ?? {})) changed.push('labels');
  if (!same(have.metadata?.annotations ?? {}, want.metadata?.annotations ?? {})) changed.push('annotations');
  if (!same(have.spec?.accessModes ?? [], want.spec?.accessModes ?? [])) changed.push('accessModes');
  if (!sameQuantity(have.spec?.resources?.requests?.['storage'], want.spec?.resources?.requests?.['storage'])) changed.push('storage size');
  if ((have.spec?.storageClassName ?? '') !== (want.spec?.storageClassName ?? '')) changed.push('storageClassName');
  if ((have.spec?.volumeMode ?? 'Filesystem') !== (want.spec?.volumeMode ?? 'Filesystem')) changed.push('volumeMode');
  if (!same(have.spec?.selector, want.spec?.selector)) changed.push('selector');
  return changed;
}

function sameQuantity(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !isQuantity(a) || !isQuantity(b)) return a === b;
  return compareQuantities(a, b) === 0;
}

function templateChanges(live: V1StatefulSet, desired: V1StatefulSet): string[] {
  const have = storedPodTemplateHash(live.spec?.template);
  const want = storedPodTemplateHash(desired.spec?.template);
  if (have === undefined) return ['the live pod template carries no pod-template hash, so its pods may differ from the desired ones'];
  if (have !== want) return [`the pod template changed (hash ${short(have)} → ${short(want ?? '')})`];
  return [];
}

function short(hash: string): string {
  return hash.slice(0, 12);
}

function mutableChanges(live: V1StatefulSet, desired: V1StatefulSet, options: CompareOptions): string[] {
  const manager = options.fieldManager ?? FIELD_MANAGER;
  // The hash annotations are judged on their own below; reporting them as annotations would repeat that.
  const ignored = new Set([...(options.ignoredAnnotations ?? []), POD_TEMPLATE_HASH_ANNOTATION, POD_TEMPLATE_CONTENT_HASH_ANNOTATION]);
  const reasons: string[] = [];
  const liveReplicas = live.spec?.replicas ?? 1;
  const desiredReplicas = desired.spec?.replicas ?? 1;
  if (liveReplicas !== desiredReplicas) reasons.push(`replicas changed from ${liveReplicas} to ${desiredReplicas}`);
  const liveStrategy = live.spec?.updateStrategy?.type ?? 'RollingUpdate';
  const desiredStrategy = desired.spec?.updateStrategy?.type ?? 'RollingUpdate';
  if (liveStrategy !== desiredStrategy) reasons.push(`updateStrategy changed from ${liveStrategy} to ${desiredStrategy}`);
  const retention = (s: V1StatefulSet): string => {
    const p = s.spec?.persistentVolumeClaimRetentionPolicy;
    return `whenDeleted=${p?.whenDeleted ?? 'Retain'}, whenScaled=${p?.whenScaled ?? 'Retain'}`;
  };
  if (retention(live) !== retention(desired))
    reasons.push(`persistentVolumeClaimRetentionPolicy changed from ${retention(live)} to ${retention(desired)}`);
  const liveMeta = live.metadata;
  const maps = (what: 'labels' | 'annotations'): MapPair => ({
    what,
    live: liveMeta?.[what],
    desired: desired.metadata?.[what],
    owned: ownedMapKeys(liveMeta, manager, ['metadata', what]),
  });
  reasons.push(...mapChanges(maps('labels'), new Set()), ...mapChanges(maps('annotations'), ignored));
  reasons.push(...ownerChanges(liveMeta, desired.metadata));
  const liveContent = live.metadata?.annotations?.[POD_TEMPLATE_CONTENT_HASH_ANNOTATION];
  const desiredContent = desired.metadata?.annotations?.[POD_TEMPLATE_CONTENT_HASH_ANNOTATION];
  if (liveContent !== desiredContent && storedPodTemplateHash(live.spec?.template) === storedPodTemplateHash(desired.spec?.template)) {
    reasons.push(
      'the pod template changed in a way that needs no pod rotation (annotations, DCS-only settings or a lazily upgraded image)',
    );
  }
  return reasons;
}

interface MapPair {
  readonly what: string;
  readonly live: Readonly<Record<string, string>> | undefined;
  readonly desired: Readonly<Record<string, string>> | undefined;
  /** Keys we applied before (managedFields). */
  readonly owned: ReadonlySet<string>;
}

/** Desired keys missing or different in live, and keys we applied before but no longer want. */
function mapChanges(pair: MapPair, ignored: ReadonlySet<string>): string[] {
  const { what, owned } = pair;
  const have = pair.live ?? {};
  const want = pair.desired ?? {};
  const reasons: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    if (ignored.has(key)) continue;
    if (!(key in have)) reasons.push(`${what}: "${key}" added`);
    else if (have[key] !== value) reasons.push(`${what}: "${key}" changed from "${have[key]}" to "${value}"`);
  }
  for (const key of owned) {
    if (!ignored.has(key) && key in have && !(key in want)) reasons.push(`${what}: "${key}" removed`);
  }
  return reasons;
}

function ownerChanges(live: V1ObjectMeta | undefined, desired: V1ObjectMeta | undefined): string[] {
  const have = new Set((live?.ownerReferences ?? []).map((r) => r.uid));
  return (desired?.ownerReferences ?? []).filter((r) => !have.has(r.uid)).map((r) => `owner reference to ${r.kind} "${r.name}" added`);
}
