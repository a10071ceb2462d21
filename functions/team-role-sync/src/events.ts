// Which clusters an incoming event concerns. Events are hints (ApiServerSource drops and reorders
// them; the PingSource repairs what was missed), so every target is re-read before anything is done.
import type { CloudEventV1 } from 'cloudevents';
import type { Postgresql, PostgresTeam } from '@pgfn/api';
import { APISERVER_RESOURCE_PREFIX, PGFN_PREFIX, PING_TYPE, apiServerEvent, subjectRef } from '@pgfn/fn-runtime';
import { teamsNamedBy } from './postgres-teams.js';

export type Target =
  | { readonly scope: 'cluster'; readonly namespace: string; readonly name: string; readonly reason: string }
  /** Clusters whose team reaches one of `teams`; `team` is the changed PostgresTeam, as the event carried it. */
  | { readonly scope: 'teams'; readonly teams: ReadonlySet<string>; readonly team: Pick<PostgresTeam, 'spec'>; readonly reason: string }
  | { readonly scope: 'all'; readonly reason: string }
  | { readonly scope: 'ignore'; readonly reason: string };

export const CLUSTER_READY = `${PGFN_PREFIX}cluster.ready`;
/** reconcile applied a changed spec of a cluster that has run: the shipped Trigger sends this, not postgresql events (ADR 0132). */
export const CLUSTER_UPDATED = `${PGFN_PREFIX}cluster.updated`;
/** The condition this function owns on each cluster. */
export const TEAM_ROLES_CONDITION = 'TeamRolesSynced';

/** Decides which cluster(s) an event concerns; pure. */
export function targetOf(event: CloudEventV1<unknown>): Target {
  if (event.type === PING_TYPE) return { scope: 'all', reason: 'periodic team sync' };
  if (event.type === CLUSTER_READY || event.type === CLUSTER_UPDATED) {
    const what = event.type === CLUSTER_READY ? 'the cluster became ready' : 'reconcile applied a changed spec';
    const ref = subjectRef(event.subject);
    return ref === undefined
      ? { scope: 'ignore', reason: `${what}, but the subject is not <namespace>/<name>` }
      : { scope: 'cluster', ...ref, reason: what };
  }
  // Resource mode only: the decisions below need the object, not a reference.
  const e = event.type.startsWith(APISERVER_RESOURCE_PREFIX) ? apiServerEvent(event) : undefined;
  if (e === undefined) return { scope: 'ignore', reason: `unhandled type ${event.type}` };
  const { verb, kind, name, namespace } = e;
  switch (kind) {
    case 'postgresql':
      return postgresqlTarget(verb, namespace, name, event.data);
    case 'PostgresTeam':
      return postgresTeamTarget(verb, name, event.data);
    case 'OperatorConfiguration':
      return { scope: 'all', reason: `operator configuration ${name ?? ''} changed` };
    default:
      return { scope: 'ignore', reason: `kind ${kind ?? '(none)'} is not handled by team-role-sync` };
  }
}

/**
 * Adds and updates of a cluster sync that cluster. ApiServerSource's Resource mode carries only the
 * new object, so "did teamId or users change?" is answered with the condition this function wrote:
 * if it succeeded at the object's current generation, the spec is what it synced last time, and only
 * status or metadata changed (reconcile's own status writes are most updates).
 */
function postgresqlTarget(verb: string, namespace: string | undefined, name: string | undefined, data: unknown): Target {
  if (namespace === undefined || name === undefined) return { scope: 'ignore', reason: 'postgresql event without namespace/name' };
  if (verb === 'delete') return { scope: 'ignore', reason: 'the cluster was deleted; its roles go with it' };
  const cluster = data as Partial<Postgresql> | undefined;
  const generation = cluster?.metadata?.generation;
  const condition = cluster?.status?.conditions?.find((c) => c.type === TEAM_ROLES_CONDITION);
  if (verb === 'update' && generation !== undefined && condition?.status === 'True' && condition.observedGeneration === generation) {
    return { scope: 'ignore', reason: `spec unchanged since the team roles were synced at generation ${generation}` };
  }
  return { scope: 'cluster', namespace, name, reason: `postgresql ${verb}` };
}

/**
 * A PostgresTeam added or deleted concerns the clusters whose team reaches a team it names (the
 * deleted object is in the event, so what it used to grant is known). An update carries only the new
 * object: a mapping it no longer has is invisible, so every cluster is synced.
 */
function postgresTeamTarget(verb: string, name: string | undefined, data: unknown): Target {
  const team = data as Partial<PostgresTeam> | undefined;
  if (verb === 'update' || team?.spec === undefined)
    return { scope: 'all', reason: `PostgresTeam ${name ?? ''} ${verb === 'update' ? 'changed' : `${verb} without spec`}` };
  return {
    scope: 'teams',
    teams: teamsNamedBy({ spec: team.spec }),
    team: { spec: team.spec },
    reason: `PostgresTeam ${name ?? ''} ${verb}`,
  };
}
