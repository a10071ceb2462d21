import type { CloudEventV1 } from 'cloudevents';

/** What an incoming event asks of reconcile. Events are hints: the target is re-read, never trusted. */
export type Target =
  | { readonly scope: 'cluster'; readonly namespace: string; readonly name: string }
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
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: { kind?: string; name?: string }[] };
}

/** Decides which cluster(s) an event concerns; pure. */
export function targetOf(event: CloudEventV1<unknown>): Target {
  if (event.type === PING_TYPE) return { scope: 'all', reason: 'periodic resync' };
  if (event.type === RECONCILE_REQUESTED) return fromSubject(event.subject, 'reconcile request without subject <namespace>/<name>');
  const isResource = event.type.startsWith(APISERVER_RESOURCE_PREFIX);
  if (!isResource && !event.type.startsWith(APISERVER_REF_PREFIX)) return { scope: 'ignore', reason: `unhandled type ${event.type}` };
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as ObjectLike & { name?: string; namespace?: string };
  const kind = str(event['kind']) ?? data.kind;
  const namespace = str(event['namespace']) ?? data.metadata?.namespace ?? data.namespace;
  const name = str(event['name']) ?? data.metadata?.name ?? data.name;
  switch (kind) {
    case 'postgresql':
      return namespace !== undefined && name !== undefined
        ? { scope: 'cluster', namespace, name }
        : { scope: 'ignore', reason: 'postgresql event without namespace/name' };
    case 'OperatorConfiguration':
      return { scope: 'all', reason: `operator configuration ${name ?? ''} changed` };
    case 'StatefulSet':
    case 'Pod': {
      // Our children carry the cluster-name label; anything else is not ours.
      const cluster = data.metadata?.labels?.[CLUSTER_NAME_LABEL];
      return cluster !== undefined && namespace !== undefined
        ? { scope: 'cluster', namespace, name: cluster }
        : { scope: 'ignore', reason: `${kind} ${name ?? ''} has no ${CLUSTER_NAME_LABEL} label` };
    }
    default:
      return { scope: 'ignore', reason: `kind ${kind ?? '(none)'} is not handled by reconcile` };
  }
}

function fromSubject(subject: string | undefined, reason: string): Target {
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(subject ?? '');
  return m?.[1] !== undefined && m[2] !== undefined ? { scope: 'cluster', namespace: m[1], name: m[2] } : { scope: 'ignore', reason };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
