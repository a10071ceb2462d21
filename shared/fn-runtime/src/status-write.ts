// Status writes every function shares: a merge patch of the status subresource guarded by the
// resourceVersion it was computed from, so a concurrent writer makes this one re-read and recompute
// instead of overwriting, and conditions other functions own survive (each function replaces only
// the conditions it owns).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Condition } from '@pgfn/api';
import { refOf, statusCode, type KubeClient } from '@pgfn/kube';

export interface StatusWrite<S> {
  readonly kube: KubeClient;
  /** The object as the caller read it (apiVersion and kind set): the first attempt needs no extra read. */
  readonly object: KubernetesObject & { status?: S };
  /** The status to write over `current`, or undefined when nothing would change. Pure. */
  readonly next: (current: S | undefined) => Partial<S> | undefined;
  /** Whether a re-read object is still this writer's to write (e.g. its generation is the one computed for). Default: yes. */
  readonly stillOurs?: (fresh: KubernetesObject & { status?: S }) => boolean;
  /** Attempts before a conflict is given up as an error. Default 5. */
  readonly attempts?: number;
}

/** Writes the status `next` computes; returns whether it wrote (false: nothing changed, the object is gone or no longer ours). */
export async function writeStatus<S>(w: StatusWrite<S>): Promise<boolean> {
  const ref = refOf(w.object);
  let live: (KubernetesObject & { status?: S }) | undefined = w.object;
  for (let attempt = 1; ; attempt++) {
    const next = w.next(live.status);
    if (next === undefined) return false;
    try {
      // kube-kinds: acid.zalan.do/v1/postgresql
      await w.kube.patchStatus(ref, next, live.metadata?.resourceVersion);
      return true;
    } catch (err) {
      if (statusCode(err) !== 409 || attempt >= (w.attempts ?? 5)) throw err;
    }
    // kube-kinds: acid.zalan.do/v1/postgresql
    live = await w.kube.get<KubernetesObject & { status?: S }>(ref);
    if (live === undefined || (w.stillOurs !== undefined && !w.stillOurs(live))) return false;
  }
}

/** A condition as a function states it; the transition time and generation are filled in. */
export interface ConditionInput {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** Kubernetes limits a condition's message to 32 KiB. */
const MAX_CONDITION_MESSAGE = 32_768;

/** RFC 3339 without fractions, as Kubernetes writes times. */
export function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The condition's lastTransitionTime: kept while its status stays, `now` when the status changes. */
export function transitionTime(previous: readonly Condition[] | undefined, c: Pick<Condition, 'type' | 'status'>, now: Date): string {
  const before = previous?.find((p) => p.type === c.type);
  return before?.lastTransitionTime !== undefined && before.status === c.status ? before.lastTransitionTime : rfc3339(now);
}

/**
 * `conditions` with `condition` set (others kept in place, a new one appended), or undefined when it
 * already says this (status, reason, message, generation).
 */
export function mergeCondition(
  conditions: readonly Condition[],
  condition: ConditionInput,
  at: { readonly now: Date; readonly generation?: number },
): Condition[] | undefined {
  const previous = conditions.find((c) => c.type === condition.type);
  const next: Condition = {
    type: condition.type,
    status: condition.status,
    reason: condition.reason,
    message: condition.message.slice(0, MAX_CONDITION_MESSAGE),
    lastTransitionTime: transitionTime(conditions, condition, at.now),
    ...(at.generation !== undefined ? { observedGeneration: at.generation } : {}),
  };
  if (
    previous !== undefined &&
    previous.status === next.status &&
    previous.reason === next.reason &&
    previous.message === next.message &&
    previous.observedGeneration === next.observedGeneration
  )
    return undefined;
  return previous === undefined ? [...conditions, next] : conditions.map((c) => (c.type === condition.type ? next : c));
}

/**
 * Sets one condition on an object's status.conditions, keeping every other; returns whether it
 * changed anything. `generation` is the one the caller's decision was based on.
 */
export function setCondition(opts: {
  kube: KubeClient;
  object: KubernetesObject & { status?: { conditions?: Condition[] } };
  condition: ConditionInput;
  now: Date;
}): Promise<boolean> {
  const generation = opts.object.metadata?.generation;
  return writeStatus<{ conditions?: Condition[] }>({
    kube: opts.kube,
    object: opts.object,
    next: (status) => {
      const conditions = mergeCondition(status?.conditions ?? [], opts.condition, {
        now: opts.now,
        ...(generation === undefined ? {} : { generation }),
      });
      return conditions === undefined ? undefined : { conditions };
    },
  });
}
