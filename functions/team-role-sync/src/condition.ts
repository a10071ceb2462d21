// The TeamRolesSynced condition: only this one condition is written, by a read-modify-write of
// status.conditions guarded by resourceVersion, so the conditions reconcile and others own survive
// and a concurrent writer makes this one re-read instead of overwriting.
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, GROUP, POSTGRESQL_KIND, POSTGRESQL_PLURAL, VERSION, type Condition, type Postgresql } from '@pgfn/api';
import { statusCode, type KubeClient } from '@pgfn/kube';
import { TEAM_ROLES_CONDITION } from './events.js';

export interface TeamCondition {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

const ATTEMPTS = 5;

/**
 * Sets the condition on the cluster; returns whether anything changed (false: the condition already
 * said this, or the cluster is gone). The first attempt works from `cluster` as the caller read it
 * (no extra read when nothing changes); a conflict re-reads. `generation` is the one the sync read.
 */
export async function writeTeamCondition(
  kube: KubeClient,
  cluster: Postgresql & KubernetesObject,
  condition: TeamCondition,
  now: Date,
): Promise<boolean> {
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const generation = cluster.metadata?.generation;
  let live: (Postgresql & KubernetesObject) | undefined = cluster;
  for (let attempt = 1; ; attempt++) {
    if (live === undefined) return false;
    const next = mergeCondition(live.status?.conditions ?? [], condition, generation, now);
    if (next === undefined) return false;
    try {
      await kube.patchCustomStatus(
        GROUP,
        VERSION,
        POSTGRESQL_PLURAL,
        namespace,
        name,
        { conditions: next },
        live.metadata?.resourceVersion,
      );
      return true;
    } catch (err) {
      if (statusCode(err) !== 409 || attempt >= ATTEMPTS) throw err;
    }
    live = await kube.get<Postgresql & KubernetesObject>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace, name });
  }
}

/**
 * `conditions` with ours replaced (others kept in place, ours appended when new), or undefined when
 * nothing would change. The transition time moves only when the status does.
 */
export function mergeCondition(
  conditions: readonly Condition[],
  condition: TeamCondition,
  generation: number | undefined,
  now: Date,
): Condition[] | undefined {
  const previous = conditions.find((c) => c.type === TEAM_ROLES_CONDITION);
  const next: Condition = {
    type: TEAM_ROLES_CONDITION,
    status: condition.status,
    reason: condition.reason,
    message: condition.message.slice(0, 32_768),
    lastTransitionTime:
      previous !== undefined && previous.status === condition.status && previous.lastTransitionTime !== undefined
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (
    previous !== undefined &&
    previous.status === next.status &&
    previous.reason === next.reason &&
    previous.message === next.message &&
    previous.observedGeneration === next.observedGeneration
  )
    return undefined;
  return previous === undefined ? [...conditions, next] : conditions.map((c) => (c.type === TEAM_ROLES_CONDITION ? next : c));
}
