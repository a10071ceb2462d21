import type { CloudEventV1 } from 'cloudevents';
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

export const APISERVER_RESOURCE_PREFIX = 'dev.knative.apiserver.resource.';
export const APISERVER_REF_PREFIX = 'dev.knative.apiserver.ref.';
export const PING_TYPE = 'dev.knative.sources.ping';
/** Our own types share this prefix (see the README's event catalogue). */
export const PGFN_PREFIX = 'dev.pgfn.';
export const RECONCILE_REQUESTED = `${PGFN_PREFIX}reconcile.requested`;

const CLUSTER_NAME_LABEL = 'cluster-name';

interface ObjectLike {
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    generation?: number;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  status?: { observedGeneration?: number; observedMetadataHash?: string };
}

/** Decides which cluster(s) an event concerns, and how much work it can need; pure. */
export function targetOf(event: CloudEventV1<unknown>): Target {
  if (event.type === PING_TYPE) return { scope: 'all', reason: 'periodic resync' };
  if (event.type === RECONCILE_REQUESTED) return fromSubject(event.subject, 'reconcile request without subject <namespace>/<name>');
  const isResource = event.type.startsWith(APISERVER_RESOURCE_PREFIX);
  if (!isResource && !event.type.startsWith(APISERVER_REF_PREFIX)) return { scope: 'ignore', reason: `unhandled type ${event.type}` };
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as ObjectLike & {
    name?: string;
    namespace?: string;
  };
  const kind = str(event['kind']) ?? data.kind;
  const namespace = str(event['namespace']) ?? data.metadata?.namespace ?? data.namespace;
  const name = str(event['name']) ?? data.metadata?.name ?? data.name;
  const verb = event.type.slice(event.type.lastIndexOf('.') + 1);
  switch (kind) {
    case 'postgresql':
      if (namespace === undefined || name === undefined) return { scope: 'ignore', reason: 'postgresql event without namespace/name' };
      if (isResource && verb !== 'delete' && reconciledAsIs(data))
        return { scope: 'ignore', reason: 'no change since the last reconcile (status or metadata write)' };
      return { scope: 'cluster', namespace, name, mode: verb === 'delete' ? 'full' : 'spec' };
    case 'OperatorConfiguration':
      return { scope: 'all', reason: `operator configuration ${name ?? ''} changed` };
    case 'StatefulSet':
    case 'Pod': {
      // Our children carry the cluster-name label; anything else is not ours.
      const cluster = data.metadata?.labels?.[CLUSTER_NAME_LABEL];
      if (cluster === undefined || namespace === undefined)
        return { scope: 'ignore', reason: `${kind} ${name ?? ''} has no ${CLUSTER_NAME_LABEL} label` };
      // A deleted StatefulSet must be recreated; pods changing only move the status.
      return { scope: 'cluster', namespace, name: cluster, mode: kind === 'StatefulSet' && verb === 'delete' ? 'full' : 'observe' };
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

function fromSubject(subject: string | undefined, reason: string): Target {
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(subject ?? '');
  return m?.[1] !== undefined && m[2] !== undefined
    ? { scope: 'cluster', namespace: m[1], name: m[2], mode: 'full' }
    : { scope: 'ignore', reason };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
