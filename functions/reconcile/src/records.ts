import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import { eventRecorder, writeStatus as writeGuarded, type EventRecord } from '@pgfn/fn-runtime';
import { refOf } from '@pgfn/kube';
import type { ReconcileDeps } from './deps.js';
import type { Cluster } from './live-state.js';
import type { Step } from './plan.js';
import { computeStatus, statusChanged, type Observation } from './status.js';

// What reconcile tells: the status subresource and Kubernetes Events.

/**
 * Writes status only when it changes; returns whether it did. Guarded by resourceVersion (the kit's
 * writeStatus): if the CR changed meanwhile, a changed spec means a newer reconcile owns the status
 * (skip), while a status written by another function (its own condition) is merged by recomputing
 * from the fresh read.
 */
export function writeStatus(deps: ReconcileDeps, cluster: Cluster, obs: Observation): Promise<boolean> {
  return writeGuarded({
    kube: deps.kube,
    object: { ...cluster, apiVersion: API_VERSION, kind: POSTGRESQL_KIND },
    next: (previous) => {
      const next = computeStatus(obs, previous, deps.now());
      return statusChanged(previous, next) ? next : undefined;
    },
    stillOurs: (fresh) => fresh.metadata?.generation === cluster.metadata?.generation,
    attempts: 5,
  });
}

/** An Event about the cluster, from pgfn-reconcile. */
export function recordEvent(deps: ReconcileDeps, cluster: Cluster, event: Omit<EventRecord, 'about'>): Promise<void> {
  const record = eventRecorder({ kube: deps.kube, component: 'pgfn-reconcile', now: deps.now, kind: POSTGRESQL });
  return record({ about: cluster, ...event });
}

const POSTGRESQL = { apiVersion: API_VERSION, kind: POSTGRESQL_KIND } as const;

const STEP_REASON = { apply: 'Applied', replace: 'Replaced', delete: 'Deleted' } as const;

/**
 * One Event per kind of change a reconcile made (Applied, Replaced, Deleted), listing its objects,
 * rather than one per object: a new cluster gets one Event ("Created"), not nine.
 */
export async function recordSteps(deps: ReconcileDeps, cluster: Cluster, steps: readonly Step[], created: boolean): Promise<void> {
  const repaired = steps.filter((s) => s.op === 'apply' && s.drift !== undefined);
  if (repaired.length > 0) {
    await recordEvent(deps, cluster, {
      type: 'Warning',
      reason: 'DriftRepaired',
      message: `${repaired.length} object(s) changed by someone else, re-applied: ${describeDrift(repaired)}`,
    });
  }
  for (const op of ['replace', 'delete', 'apply'] as const) {
    const these = steps.filter((s) => s.op === op && !repaired.includes(s));
    if (these.length === 0) continue;
    const reason = op === 'apply' && created ? 'Created' : STEP_REASON[op];
    await recordEvent(deps, cluster, {
      type: 'Normal',
      reason,
      message: `${these.length} object(s): ${these.map(describeStep).join('; ')}`,
    });
  }
}

export function describeStep(s: Step): string {
  const ref = s.op === 'delete' ? s.ref : refOf(s.object);
  return `${s.op} ${ref.kind}/${ref.name} (${s.reason})`;
}

/** `Service/acid-test: spec.ports[5432/TCP]: missing; …` — each object with the fields that drifted. */
function describeDrift(steps: readonly Step[]): string {
  return steps
    .map((s) => {
      const ref = s.op === 'delete' ? s.ref : refOf(s.object);
      return `${ref.kind}/${ref.name}: ${(s.op === 'apply' ? (s.drift ?? []) : []).join('; ')}`;
    })
    .join(' | ');
}
