import type { CoreV1Event } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, POSTGRESQL_PLURAL, GROUP, VERSION } from '@pgfn/api';
import { refOf, statusCode } from '@pgfn/kube';
import type { ReconcileDeps } from './deps.js';
import type { Cluster } from './live-state.js';
import type { Step } from './plan.js';
import { computeStatus, statusChanged, type ClusterStatus, type Observation } from './status.js';

// What reconcile tells: the status subresource and Kubernetes Events.

/**
 * Writes status only when it changes; returns whether it did. Guarded by resourceVersion: if the CR
 * changed meanwhile, a changed spec means a newer reconcile owns the status (skip), while a status
 * written by another function (its own condition) is merged by recomputing once from the fresh read.
 */
export async function writeStatus(deps: ReconcileDeps, cluster: Cluster, obs: Observation): Promise<boolean> {
  let current = cluster;
  for (let attempt = 1; ; attempt++) {
    const previous = current.status as Partial<ClusterStatus> | undefined;
    const next = computeStatus(obs, previous, deps.now());
    if (!statusChanged(previous, next)) return false;
    try {
      await deps.kube.patchCustomStatus(
        GROUP,
        VERSION,
        POSTGRESQL_PLURAL,
        current.metadata?.namespace ?? '',
        current.metadata?.name ?? '',
        next,
        current.metadata?.resourceVersion,
      );
      return true;
    } catch (err) {
      if (statusCode(err) !== 409 || attempt >= 3) throw err;
      const fresh = await deps.kube.get<Cluster>(refOf(current));
      if (fresh === undefined || fresh.metadata?.generation !== current.metadata?.generation) return false;
      current = fresh;
    }
  }
}

const STEP_REASON = { apply: 'Applied', replace: 'Replaced', delete: 'Deleted' } as const;

/**
 * One Event per kind of change a reconcile made (Applied, Replaced, Deleted), listing its objects,
 * rather than one per object: a new cluster gets one Event ("Created"), not nine.
 */
export async function recordSteps(deps: ReconcileDeps, cluster: Cluster, steps: readonly Step[], created: boolean): Promise<void> {
  const repaired = steps.filter((s) => s.op === 'apply' && s.drift !== undefined);
  if (repaired.length > 0) {
    await recordEvent(
      deps,
      cluster,
      'Warning',
      'DriftRepaired',
      `${repaired.length} object(s) changed by someone else, re-applied: ${describeDrift(repaired)}`,
    );
  }
  for (const op of ['replace', 'delete', 'apply'] as const) {
    const these = steps.filter((s) => s.op === op && !repaired.includes(s));
    if (these.length === 0) continue;
    const reason = op === 'apply' && created ? 'Created' : STEP_REASON[op];
    await recordEvent(deps, cluster, 'Normal', reason, `${these.length} object(s): ${these.map(describeStep).join('; ')}`);
  }
}

export async function recordEvent(
  deps: ReconcileDeps,
  cluster: Cluster,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const now = deps.now();
  const event: CoreV1Event = {
    metadata: { generateName: `${cluster.metadata?.name ?? 'cluster'}.`, namespace: cluster.metadata?.namespace },
    involvedObject: {
      apiVersion: API_VERSION,
      kind: POSTGRESQL_KIND,
      name: cluster.metadata?.name,
      namespace: cluster.metadata?.namespace,
      uid: cluster.metadata?.uid,
    },
    type,
    reason,
    message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    source: { component: 'pgfn-reconcile' },
  };
  await deps.kube.createEvent(event);
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
