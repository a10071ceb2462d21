// hello-cluster's decisions, pure: which cluster an event concerns, and what to say about it.
import type { CloudEventV1 } from 'cloudevents';
import { apiServerEvent, type ConditionInput } from '@pgfn/fn-runtime';

/** The condition this function owns on each cluster (others' conditions are left alone). */
export const GREETED_CONDITION = 'Greeted';

export type Target =
  { readonly scope: 'cluster'; readonly namespace: string; readonly name: string } | { readonly scope: 'ignore'; readonly reason: string };

/** A postgresql added (or re-listed) is greeted; anything else is not this function's business. */
export function targetOf(event: CloudEventV1<unknown>): Target {
  const e = apiServerEvent(event);
  if (e === undefined || e.kind !== 'postgresql' || e.verb !== 'add')
    return { scope: 'ignore', reason: `not a postgresql add (${event.type})` };
  if (e.namespace === undefined || e.name === undefined) return { scope: 'ignore', reason: 'postgresql add without namespace/name' };
  return { scope: 'cluster', namespace: e.namespace, name: e.name };
}

/** What the condition says about a cluster owned by `teamId`. */
export function greeting(teamId: string | undefined): ConditionInput {
  return {
    type: GREETED_CONDITION,
    status: 'True',
    reason: 'Greeted',
    message: teamId === undefined || teamId === '' ? 'hello, cluster' : `hello, cluster of team ${teamId}`,
  };
}
