import type { CloudEventV1 } from 'cloudevents';
import { DEFAULT_CLUSTER_NAME_LABEL } from '@pgfn/builder';
import { PGFN_PREFIX, PING_TYPE, apiServerEvent, clusterRefOf, subjectRef } from '@pgfn/fn-runtime';
import { FINALIZER } from './deletion.js';
import { metadataHash } from './metadata-hash.js';

/**
 * What an incoming event asks of reconcile. Events are hints: the target is re-read, never trusted.
 * `full` builds and applies everything (resync, a request, a deleted StatefulSet); `spec` does the
 * same unless the cluster as read now was already reconciled as it is (the event was an echo the
 * event data alone could not tell, e.g. of our finalizer write); `observe` only refreshes status
 * from pods and the StatefulSet. `spec` and `observe` escalate when what they read needs more.
 */
export type Mode = 'full' | 'spec' | 'observe';

/** How demanding a mode is: a cluster named twice gets the more demanding one. */
export const MODE_RANK: Readonly<Record<Mode, number>> = { full: 2, spec: 1, observe: 0 };
export type Target =
  | { readonly scope: 'cluster'; readonly namespace: string; readonly name: string; readonly mode: Mode }
  | { readonly scope: 'all'; readonly reason: string }
  | { readonly scope: 'ignore'; readonly reason: string };

export const RECONCILE_REQUESTED = `${PGFN_PREFIX}reconcile.requested`;
/** reconcile applied a new generation of a cluster that has run (ADR 0132). */
export const CLUSTER_UPDATED = `${PGFN_PREFIX}cluster.updated`;

/** Kinds of our children whose events name their cluster by the cluster-name label. */
export const CHILD_KINDS: ReadonlySet<string> = new Set(['StatefulSet', 'Pod']);

/**
 * Decides which cluster(s) an event concerns, and how much work it can need; pure. A child's cluster
 * is read from `clusterNameLabel`, the configured cluster_name_label (the handler reads the
 * configuration only for child events, see CHILD_KINDS).
 */
export function targetOf(event: CloudEventV1<unknown>, clusterNameLabel: string = DEFAULT_CLUSTER_NAME_LABEL): Target {
  if (event.type === PING_TYPE) return { scope: 'all', reason: 'periodic resync' };
  if (event.type === RECONCILE_REQUESTED) {
    const ref = subjectRef(event.subject);
    return ref === undefined
      ? { scope: 'ignore', reason: 'reconcile request without subject <namespace>/<name>' }
      : { scope: 'cluster', ...ref, mode: 'full' };
  }
  const e = apiServerEvent(event);
  if (e === undefined) return { scope: 'ignore', reason: `unhandled type ${event.type}` };
  const { kind, namespace, name, verb, data } = e;
  switch (kind) {
    case 'postgresql':
      if (namespace === undefined || name === undefined) return { scope: 'ignore', reason: 'postgresql event without namespace/name' };
      if (e.isResource && verb !== 'delete' && reconciledAsIs(data as Parameters<typeof reconciledAsIs>[0]))
        return { scope: 'ignore', reason: 'no change since the last reconcile (status or metadata write)' };
      return { scope: 'cluster', namespace, name, mode: verb === 'delete' ? 'full' : 'spec' };
    case 'OperatorConfiguration':
      return { scope: 'all', reason: `operator configuration ${name ?? ''} changed` };
    case 'StatefulSet':
    case 'Pod': {
      // Our children carry the cluster-name label; anything else is not ours.
      const ref = clusterRefOf(namespace, data.metadata?.labels?.[clusterNameLabel]);
      if (ref === undefined) return { scope: 'ignore', reason: `${kind} ${name ?? ''} has no ${clusterNameLabel} label naming a cluster` };
      // A deleted StatefulSet must be recreated; pods changing only move the status.
      return { scope: 'cluster', ...ref, mode: kind === 'StatefulSet' && verb === 'delete' ? 'full' : 'observe' };
    }
    default:
      return { scope: 'ignore', reason: `kind ${kind ?? '(none)'} is not handled by reconcile` };
  }
}

/**
 * True when a cluster was already reconciled as it is: its status records this generation and these
 * labels/annotations, it carries our finalizer and is not being deleted. An event carrying such an
 * object is the echo of our own status or finalizer write; reconcile asks the same of what it reads.
 */
export function reconciledAsIs(obj: {
  metadata?: {
    generation?: number;
    deletionTimestamp?: unknown;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  status?: { observedGeneration?: number; observedMetadataHash?: string };
}): boolean {
  const m = obj.metadata;
  return (
    m?.generation !== undefined &&
    m.deletionTimestamp === undefined &&
    (m.finalizers ?? []).includes(FINALIZER) &&
    obj.status?.observedGeneration === m.generation &&
    obj.status.observedMetadataHash === metadataHash(m)
  );
}
