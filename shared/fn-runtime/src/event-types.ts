// What every function reads off an incoming CloudEvent before deciding: the event types pgfn
// subscribes to and, for the ApiServerSource's events, which object changed and how. Pure.
import type { CloudEventV1 } from 'cloudevents';

/** The PingSource's periodic event: a resync (events are hints; the resync repairs what was missed). */
export const PING_TYPE = 'dev.knative.sources.ping';
/** ApiServerSource in Resource mode: `<prefix>add|update|delete`, the object as data. */
export const APISERVER_RESOURCE_PREFIX = 'dev.knative.apiserver.resource.';
/** ApiServerSource in Reference mode: only a reference as data. */
export const APISERVER_REF_PREFIX = 'dev.knative.apiserver.ref.';
/** Our own types share this prefix (see the README's event catalogue). */
export const PGFN_PREFIX = 'dev.pgfn.';

/** The object an ApiServerSource event carries, as far as functions look at it. */
export interface ObjectLike {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly generation?: number;
    readonly deletionTimestamp?: string;
    readonly finalizers?: string[];
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly status?: unknown;
}

export interface ApiServerEvent {
  /** `add`, `update` or `delete`. */
  readonly verb: string;
  /** Resource mode (the whole object as data) rather than Reference mode. */
  readonly isResource: boolean;
  readonly kind: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The object (Resource mode) or the reference (Reference mode); `{}` when the event carried none. */
  readonly data: ObjectLike;
}

/** The changed object of an ApiServerSource event (extension attributes first, then the data); undefined for other types. */
export function apiServerEvent(event: CloudEventV1<unknown>): ApiServerEvent | undefined {
  const isResource = event.type.startsWith(APISERVER_RESOURCE_PREFIX);
  if (!isResource && !event.type.startsWith(APISERVER_REF_PREFIX)) return undefined;
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as ObjectLike & {
    name?: string;
    namespace?: string;
  };
  return {
    verb: event.type.slice(event.type.lastIndexOf('.') + 1),
    isResource,
    kind: nonEmpty(event['kind']) ?? data.kind,
    namespace: nonEmpty(event['namespace']) ?? data.metadata?.namespace ?? data.namespace,
    name: nonEmpty(event['name']) ?? data.metadata?.name ?? data.name,
    data,
  };
}

/** `<namespace>/<name>` of a subject (our own events name their cluster so), or undefined. */
export function subjectRef(subject: string | undefined): { readonly namespace: string; readonly name: string } | undefined {
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(subject ?? '');
  return m?.[1] !== undefined && m[2] !== undefined ? { namespace: m[1], name: m[2] } : undefined;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
