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
    namespace: kubeName(nonEmpty(event['namespace']) ?? data.metadata?.namespace ?? data.namespace, NAMESPACE),
    name: kubeName(nonEmpty(event['name']) ?? data.metadata?.name ?? data.name, OBJECT_NAME),
    data,
  };
}

/** `<namespace>/<name>` of a subject (our own events name their cluster so), or undefined. */
export function subjectRef(subject: string | undefined): { readonly namespace: string; readonly name: string } | undefined {
  const [ns, name, ...rest] = (subject ?? '').split('/');
  const namespace = kubeName(ns, NAMESPACE);
  const object = kubeName(name, OBJECT_NAME);
  return rest.length === 0 && namespace !== undefined && object !== undefined ? { namespace, name: object } : undefined;
}

/** A namespace: a DNS-1123 label. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** An object name: a DNS-1123 subdomain (what every kind pgfn reads by name accepts at most). */
const OBJECT_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A name an event carries, if it can be one: events are input, and a forged or garbled one (a number,
 * "..", "a/../../b") must not become part of an API path. Anything else counts as absent.
 */
function kubeName(v: unknown, pattern: RegExp): string | undefined {
  return typeof v === 'string' && pattern.test(v) ? v : undefined;
}

/** A cluster an event names (by its data or a label value), if both parts can be Kubernetes names. */
export function clusterRefOf(namespace: unknown, name: unknown): { readonly namespace: string; readonly name: string } | undefined {
  const ns = kubeName(namespace, NAMESPACE);
  const n = kubeName(name, OBJECT_NAME);
  return ns === undefined || n === undefined ? undefined : { namespace: ns, name: n };
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
