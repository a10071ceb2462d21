// The next safe step of a pod rotation, upstream's order (pkg/cluster/pod.go recreatePods): flagged
// replicas one at a time, then a switchover, then the old master — which by then is a flagged replica,
// so "rotate the master" is simply the next invocation's replica step. Stateless by design: every
// input is read fresh, so any instance can take the next step after a lost event or a cold start.
// Safety rules: nothing moves while any pod is unhealthy (never two pods down), unless the unhealthy
// pod is itself the one to rotate (recreating it is the only fix, as upstream allows); the master is
// never deleted while another member could take over.
import type { ClusterMember } from '@pgfn/patroni';
import { switchoverCandidate } from './switchover-candidate.js';
import { byCodeUnit } from '@pgfn/fn-runtime';

export interface PodView {
  readonly name: string;
  /** The role label Patroni set (master or replica); undefined when it removed it (Postgres down). */
  readonly role: 'master' | 'replica' | undefined;
  readonly phase: string | undefined;
  readonly ready: boolean;
  readonly deleting: boolean;
  /** Marked `zalando-postgres-operator-rolling-update-required` by reconcile. */
  readonly flagged: boolean;
  /** The postgres container's image. */
  readonly image: string | undefined;
  /** Since when (ms) the pod is in its current Ready state: the Ready condition's transition, else its creation. */
  readonly readySinceMs: number;
}

export interface RotationInput {
  readonly pods: readonly PodView[];
  /** The StatefulSet's replicas. */
  readonly expectedPods: number;
  /** The postgres image of the StatefulSet's template. */
  readonly templateImage: string | undefined;
  readonly lazySpiloUpgrade: boolean;
  readonly synchronousMode: boolean;
  /** GET /cluster through the master; undefined when Patroni did not answer. */
  readonly members: readonly ClusterMember[] | undefined;
  /** Members streaming from the master (its pg_stat_replication); undefined when unknown. */
  readonly streaming: ReadonlySet<string> | undefined;
  readonly nowMs: number;
  /** How long a pod may stay unhealthy before the rollout is reported failed. */
  readonly podTimeoutMs: number;
}

interface StepBase {
  /** Pods still to rotate, by name. */
  readonly pending: readonly string[];
  readonly reason: string;
}

export type RotationStep =
  | (StepBase & { readonly action: 'none' })
  | (StepBase & { readonly action: 'wait' })
  | (StepBase & { readonly action: 'blocked' })
  | (StepBase & { readonly action: 'fail'; readonly pod: string })
  | (StepBase & { readonly action: 'delete'; readonly pod: string; readonly role: 'master' | 'replica'; readonly downtime: boolean })
  | (StepBase & { readonly action: 'switchover'; readonly from: string; readonly to: string });

/** Whether a pod must be recreated: flagged, or (lazy upgrade off) running another image than the template. */
export function needsRotation(pod: PodView, input: Pick<RotationInput, 'templateImage' | 'lazySpiloUpgrade'>): boolean {
  if (pod.flagged) return true;
  return !input.lazySpiloUpgrade && input.templateImage !== undefined && pod.image !== undefined && pod.image !== input.templateImage;
}

/** Why a pod does not count as healthy, or undefined when it does. */
export function unhealthyReason(pod: PodView, streaming: ReadonlySet<string> | undefined): string | undefined {
  if (pod.deleting) return 'is being deleted';
  if (pod.phase !== 'Running') return `is ${pod.phase ?? 'not started'}`;
  if (!pod.ready) return 'is not Ready';
  if (pod.role === undefined) return 'has no role label from Patroni';
  if (pod.role === 'replica' && streaming !== undefined && !streaming.has(pod.name)) return 'is not streaming from the master';
  return undefined;
}

export function planRotation(input: RotationInput): RotationStep {
  const pods = [...input.pods].sort((a, b) => byCodeUnit(a.name, b.name));
  const pending = pods.filter((p) => needsRotation(p, input)).map((p) => p.name);
  if (pending.length === 0) return { action: 'none', pending, reason: 'every pod runs the desired template' };
  const isPending = new Set(pending);
  const unhealthy = pods.flatMap((p) => {
    const why = unhealthyReason(p, input.streaming);
    return why === undefined ? [] : [{ pod: p, why }];
  });
  const masters = pods.filter((p) => p.role === 'master');
  const first = unhealthy[0];
  if (first !== undefined) {
    const overdue = unhealthy.find((u) => !isPending.has(u.pod.name) && input.nowMs - u.pod.readySinceMs > input.podTimeoutMs);
    if (overdue !== undefined)
      return {
        action: 'fail',
        pending,
        pod: overdue.pod.name,
        reason: `pod ${overdue.pod.name} ${overdue.why} after ${seconds(input.podTimeoutMs)} s; the rollout stops and the master stays`,
      };
    // Recreating the one broken pod that waits for rotation anyway takes nothing else down.
    // (A replica that is only briefly not streaming is waited for, not recreated.)
    const down = first.pod.phase !== 'Running' || !first.pod.ready;
    const only = unhealthy.length === 1 && down && isPending.has(first.pod.name) && !first.pod.deleting && first.pod.role !== 'master';
    if (only && masters.length === 1 && pods.length === input.expectedPods)
      return { action: 'delete', pending, pod: first.pod.name, role: 'replica', downtime: false, reason: `${first.pod.name} ${first.why}` };
    return { action: 'wait', pending, reason: `waiting for pod ${first.pod.name}: it ${first.why}` };
  }
  if (pods.length !== input.expectedPods)
    return { action: 'wait', pending, reason: `waiting for the StatefulSet's pods: ${pods.length} of ${input.expectedPods} exist` };
  const master = masters[0];
  if (master === undefined || masters.length !== 1)
    return { action: 'wait', pending, reason: `waiting for exactly one master (${masters.length} pods are labelled master)` };
  const replica = pods.find((p) => p.role === 'replica' && isPending.has(p.name));
  if (replica !== undefined)
    return {
      action: 'delete',
      pending,
      pod: replica.name,
      role: 'replica',
      downtime: false,
      reason: `replica ${replica.name} waits for rotation`,
    };
  if (pods.length === 1)
    return {
      action: 'delete',
      pending,
      pod: master.name,
      role: 'master',
      downtime: true,
      reason: `single-instance cluster: master ${master.name} is recreated; the database is unavailable until it is back`,
    };
  return planSwitchover(input, master.name, pending);
}

function planSwitchover(input: RotationInput, master: string, pending: readonly string[]): RotationStep {
  if (input.members === undefined) return { action: 'wait', pending, reason: `waiting for Patroni's API on master ${master}` };
  const leader = input.members.find((m) => ['leader', 'master', 'primary', 'standby_leader'].includes(m.role));
  if (leader?.name !== master)
    return {
      action: 'wait',
      pending,
      reason: `waiting for Patroni: its leader is ${leader?.name ?? 'none'}, the labelled master is ${master}`,
    };
  const candidate = switchoverCandidate({
    members: input.members,
    synchronousMode: input.synchronousMode,
    excluded: new Set(pending),
    streaming: input.streaming,
  });
  if (candidate.name === undefined) return { action: 'blocked', pending, reason: `cannot switch over from ${master}: ${candidate.reason}` };
  return {
    action: 'switchover',
    pending,
    from: master,
    to: candidate.name,
    reason: `master ${master} waits for rotation; ${candidate.reason}`,
  };
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
