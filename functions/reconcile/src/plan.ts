import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { refOf, type ObjectRef } from '@pgfn/kube';
import { APPLIED_HASH_ANNOTATION, appliedHashOf, withAppliedHash } from './applied-hash.js';

export type StatefulSetAction = 'none' | 'patch' | 'roll' | 'replace';
export type CompareStatefulSet = (live: V1StatefulSet, desired: V1StatefulSet) => { action: StatefulSetAction; reasons: string[] };
/** The builder's drift check (compareLive): what of the desired object the live one no longer holds. */
export interface DriftResult {
  readonly action: 'none' | 'repair';
  readonly reasons: string[];
  readonly replaceLists?: Record<string, unknown>;
}
export type CompareLive = (
  live: KubernetesObject,
  desired: KubernetesObject,
  /** Annotation keys never compared (config ignored_annotations). */
  ignoredAnnotations?: readonly string[],
) => DriftResult;

/** How live objects are judged against desired ones. */
export interface Judge {
  readonly compareStatefulSet: CompareStatefulSet;
  /** Without it, an object whose applied-hash matches counts as unchanged whatever its content. */
  readonly compareLive?: (live: KubernetesObject, desired: KubernetesObject) => DriftResult;
}

export type Step =
  | {
      readonly op: 'apply';
      readonly object: KubernetesObject;
      readonly reason: string;
      /** Set when the object is re-applied because someone changed it: the fields that drifted. */
      readonly drift?: readonly string[];
      /** A merge patch to write first: lists holding entries another manager added (see compareLive). */
      readonly replaceLists?: Record<string, unknown>;
    }
  | { readonly op: 'replace'; readonly object: KubernetesObject; readonly reason: string }
  | { readonly op: 'delete'; readonly ref: ObjectRef; readonly reason: string };

export interface Plan {
  readonly steps: readonly Step[];
  /** Set when the pod template changed: pods must be rotated by the rolling-update function. */
  readonly rollReasons: readonly string[];
  readonly unchanged: number;
}

const key = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * Which live objects a plan may delete when no longer desired: anything but a Secret, and a Secret only
 * when its `Kind/namespace/name` key is among `prunableKeys` (the builder's, for this cluster).
 */
export function mayPruneBy(prunableKeys: ReadonlySet<string>): (o: KubernetesObject) => boolean {
  return (o) => o.kind !== 'Secret' || prunableKeys.has(key(o));
}

/**
 * Pure: what to write so the live objects match the desired ones. An object whose stored applied-hash
 * equals the desired one's is left alone unless `compareLive` finds that someone changed what we
 * applied (drift: a port edited, a label removed, the pod template's env changed); then it is
 * re-applied, the drifted fields named on the step. Drift is judged on objects already read, so a
 * no-op resync still costs no request. The StatefulSet additionally goes through `compareStatefulSet`,
 * which knows what needs a replace and what a pod rotation. Live objects carrying our applied-hash but
 * no longer desired are deleted when `mayPrune` allows it (by default never a Secret: a role leaving
 * the manifest keeps its password, as upstream). Objects without the hash (Patroni's Endpoints and
 * config Service, user-made Secrets) are never pruned.
 */
export function planChanges(
  desired: readonly KubernetesObject[],
  live: readonly KubernetesObject[],
  judge: Judge,
  mayPrune: (o: KubernetesObject) => boolean = (o) => o.kind !== 'Secret',
): Plan {
  const liveByKey = new Map(live.map((o) => [key(o), o]));
  const steps: Step[] = [];
  let rollReasons: string[] = [];
  let unchanged = 0;
  for (const raw of desired) {
    const want = withAppliedHash(raw);
    const have = liveByKey.get(key(want));
    if (have === undefined) {
      steps.push({ op: 'apply', object: want, reason: 'missing' });
      continue;
    }
    if (want.kind === 'StatefulSet') {
      const cmp = judge.compareStatefulSet(have, want);
      if (cmp.action === 'replace') steps.push({ op: 'replace', object: want, reason: cmp.reasons.join('; ') });
      else if (cmp.action !== 'none' || appliedHashOf(have) !== appliedHashOf(want))
        steps.push({ op: 'apply', object: want, reason: cmp.reasons.join('; ') || 'changed' });
      else if (!repairDrift(judge, have, want, steps)) unchanged++;
      if (cmp.action === 'roll' || cmp.action === 'replace') rollReasons = cmp.reasons;
      continue;
    }
    if (appliedHashOf(have) !== appliedHashOf(want)) {
      steps.push({ op: 'apply', object: want, reason: appliedHashOf(have) === undefined ? 'adopting an existing object' : 'changed' });
    } else if (!repairDrift(judge, have, want, steps)) unchanged++;
  }
  const wanted = new Set(desired.map(key));
  for (const o of live) {
    if (!wanted.has(key(o)) && o.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== undefined && mayPrune(o)) {
      steps.push({ op: 'delete', ref: refOf(o), reason: 'no longer desired' });
    }
  }
  return { steps, rollReasons, unchanged };
}

/** Adds a re-apply step when the live object drifted from what we applied; tells whether it did. */
function repairDrift(judge: Judge, have: KubernetesObject, want: KubernetesObject, steps: Step[]): boolean {
  const drift = judge.compareLive?.(have, want);
  if (drift === undefined || drift.action === 'none') return false;
  const step = { op: 'apply' as const, object: want, reason: `drifted: ${drift.reasons.join('; ')}`, drift: drift.reasons };
  steps.push(drift.replaceLists === undefined ? step : { ...step, replaceLists: drift.replaceLists });
  return true;
}
