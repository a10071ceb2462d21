import type { CoreV1Event, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
// Our field manager for server-side apply: one definition, beside the labels it manages.
import { FIELD_MANAGER } from '@pgfn/builder';
import { KNOWN_RESOURCES, findResource, groupVersionPath, resourcePath, type DiscoveredResource, type ResourceInfo } from './resources.js';
import { RestClient } from './rest.js';
import { parseRetryAfter, retryPolicy, withRetry, type RetryPolicy } from './retry-policy.js';

const APPLY_PATCH = 'application/apply-patch+yaml';
const MERGE_PATCH = 'application/merge-patch+json';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Called once per API request, so functions can count them (metrics, benchmarks). */
export type RequestObserver = (verb: string, kind: string) => void;

export interface KubeClientOptions {
  readonly observe?: RequestObserver;
  /** Over DEFAULT_RETRY (attempts, backoff, request timeout). */
  readonly retry?: Partial<RetryPolicy>;
}

/**
 * Every Kubernetes call a function makes goes through here: reads return `undefined` for 404,
 * writes are server-side applies with our field manager (idempotent by construction).
 * Objects come back as the API server sends them (JSON: timestamps are RFC 3339 strings).
 */
export class KubeClient {
  private readonly rest: RestClient;
  /** Discovery answers for kinds outside KNOWN_RESOURCES, per apiVersion. */
  private readonly discovered = new Map<string, Promise<readonly DiscoveredResource[]>>();

  private readonly observe: RequestObserver;
  private readonly retry: RetryPolicy;

  constructor(kc: KubeConfig, opts: KubeClientOptions | RequestObserver = {}) {
    const o = typeof opts === 'function' ? { observe: opts } : opts;
    this.observe = o.observe ?? (() => undefined);
    this.retry = retryPolicy(o.retry);
    this.rest = new RestClient(kc, this.retry.timeoutMs);
  }

  async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    this.observe('get', ref.kind);
    try {
      return await this.retrying(async () => (await this.rest.request({ method: 'GET', path: await this.objectPath(ref) })) as T);
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw new Error(`reading ${describe(ref)}`, { cause: err });
    }
  }

  /** Items come with apiVersion and kind set (the API server leaves them out of list items). */
  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<T[]> {
    this.observe('list', kind);
    try {
      const list = await this.retrying(
        async () =>
          (await this.rest.request({
            method: 'GET',
            path: resourcePath({ apiVersion, resource: await this.resource(apiVersion, kind), namespace }),
            query: { labelSelector },
          })) as { items?: T[] },
      );
      // The API server leaves apiVersion and kind out of list items; they are known here, so put them back.
      return (list.items ?? []).map((item) => ({ apiVersion, kind, ...item }));
    } catch (err) {
      throw new Error(`listing ${kind} in ${namespace ?? 'all namespaces'}${labelSelector === undefined ? '' : ` (${labelSelector})`}`, {
        cause: err,
      });
    }
  }

  /** Server-side apply: creates or updates only the fields we own; `force` takes over conflicts. */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    this.observe('apply', obj.kind ?? 'unknown');
    try {
      const body = stripServerFields(obj);
      return await this.retrying(
        async () =>
          (await this.rest.request({
            method: 'PATCH',
            path: await this.objectPath(refOf(obj)),
            query: { fieldManager: FIELD_MANAGER, force: true },
            body,
            contentType: APPLY_PATCH,
          })) as T,
      );
    } catch (err) {
      throw new Error(`applying ${describe(refOf(obj))}`, { cause: err });
    }
  }

  /**
   * Creates, never overwrites: `undefined` when an object of that name already exists (409), so a
   * caller that must not clobber existing content (a Secret's password) re-reads and decides again.
   */
  async create<T extends KubernetesObject>(obj: T): Promise<T | undefined> {
    this.observe('create', obj.kind ?? 'unknown');
    try {
      const body = stripServerFields(obj);
      return await this.retrying(
        async () =>
          (await this.rest.request({
            method: 'POST',
            path: await this.collectionPath(refOf(obj)),
            query: { fieldManager: FIELD_MANAGER },
            body,
          })) as T,
      );
    } catch (err) {
      if (statusCode(err) === 409) return undefined;
      throw new Error(`creating ${describe(refOf(obj))}`, { cause: err });
    }
  }

  /** Deletes; a missing object is success. `propagation: 'Orphan'` keeps dependents (pods of a StatefulSet). */
  async delete(ref: ObjectRef, propagation: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<void> {
    this.observe('delete', ref.kind);
    try {
      await this.retrying(
        async () =>
          await this.rest.request({ method: 'DELETE', path: await this.objectPath(ref), query: { propagationPolicy: propagation } }),
      );
    } catch (err) {
      if (statusCode(err) === 404) return;
      throw new Error(`deleting ${describe(ref)}`, { cause: err });
    }
  }

  /**
   * Merge-patches the status subresource. With `resourceVersion`, the write fails with 409 if the
   * object changed since it was read, so a slower concurrent writer cannot overwrite a newer status
   * with an older one.
   */
  async patchStatus(ref: ObjectRef, status: unknown, resourceVersion?: string): Promise<void> {
    this.observe('patch-status', ref.kind);
    try {
      const path = `${await this.objectPath(ref)}/status`;
      const body = resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status };
      await this.retrying(() => this.rest.request({ method: 'PATCH', path, body, contentType: MERGE_PATCH }));
    } catch (err) {
      throw new Error(`patching status of ${describe(ref)}`, { cause: err });
    }
  }

  /**
   * Replaces the whole object (PUT), guarded by its metadata.resourceVersion: 409 when it changed
   * since it was read. For objects whose writers take turns (a Lease), not for desired state.
   */
  async replace<T extends KubernetesObject>(obj: T): Promise<T> {
    this.observe('replace', obj.kind ?? 'unknown');
    try {
      const path = await this.objectPath(refOf(obj));
      return (await this.rest.request({ method: 'PUT', path, query: { fieldManager: FIELD_MANAGER }, body: obj })) as T;
    } catch (err) {
      throw new Error(`replacing ${describe(refOf(obj))}`, { cause: err });
    }
  }

  /**
   * JSON merge patch of any object under our field manager. Lists in `body` replace the live lists
   * whole, which a server-side apply cannot do when another manager added entries to them.
   */
  async mergePatch(ref: ObjectRef, body: Record<string, unknown>): Promise<void> {
    await this.sendMergePatch(ref, body, `merge-patching ${describe(ref)}`);
  }

  /** Merge-patches metadata (labels/annotations) of any object. */
  async patchMetadata(
    ref: ObjectRef,
    metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void> {
    const body = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace, ...metadata } };
    await this.sendMergePatch(ref, body, `patching metadata of ${describe(ref)}`);
  }

  /** One JSON merge patch under our field manager, retried; a failure names `step`. */
  private async sendMergePatch(ref: ObjectRef, body: Record<string, unknown>, step: string): Promise<void> {
    this.observe('patch', ref.kind);
    try {
      await this.retrying(
        async () =>
          await this.rest.request({
            method: 'PATCH',
            path: await this.objectPath(ref),
            query: { fieldManager: FIELD_MANAGER },
            body,
            contentType: MERGE_PATCH,
          }),
      );
    } catch (err) {
      throw new Error(step, { cause: err });
    }
  }

  /**
   * Replaces metadata.finalizers, guarded by resourceVersion: a concurrent change makes this fail
   * with 409 instead of dropping someone else's finalizer.
   */
  async patchFinalizers<T extends KubernetesObject>(
    ref: ObjectRef,
    finalizers: readonly string[],
    resourceVersion: string | undefined,
  ): Promise<T> {
    this.observe('patch', ref.kind);
    try {
      const body = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace, finalizers: [...finalizers], resourceVersion },
      };
      return (await this.rest.request({
        method: 'PATCH',
        path: await this.objectPath(ref),
        query: { fieldManager: FIELD_MANAGER },
        body,
        contentType: MERGE_PATCH,
      })) as T;
    } catch (err) {
      throw new Error(`setting finalizers of ${describe(ref)}`, { cause: err });
    }
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    this.observe('create', 'Event');
    const namespace = event.metadata.namespace ?? 'default';
    try {
      await this.retrying(() =>
        this.rest.request({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, body: event }),
      );
    } catch (err) {
      throw new Error(`recording Event ${event.reason ?? ''} in ${namespace}`, { cause: err });
    }
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    const resource = await this.resource(ref.apiVersion, ref.kind);
    return resourcePath({ apiVersion: ref.apiVersion, resource, namespace: this.namespaceOf(resource, ref), name: ref.name });
  }

  private async collectionPath(ref: ObjectRef): Promise<string> {
    const resource = await this.resource(ref.apiVersion, ref.kind);
    return resourcePath({ apiVersion: ref.apiVersion, resource, namespace: this.namespaceOf(resource, ref) });
  }

  /** A namespaced object without a namespace is in the context's namespace, as kubectl would put it. */
  private namespaceOf(resource: ResourceInfo, ref: ObjectRef): string | undefined {
    if (!resource.namespaced) return undefined;
    return ref.namespace === undefined || ref.namespace === '' ? this.rest.defaultNamespace() : ref.namespace;
  }

  /** Static for the kinds we use; otherwise one discovery request per apiVersion, cached. */
  private async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const known = KNOWN_RESOURCES.get(`${apiVersion}/${kind}`);
    if (known !== undefined) return known;
    let found = findResource(await this.discover(apiVersion), kind);
    if (found === undefined) {
      // A kind that appeared since (a CRD installed meanwhile): ask once more before giving up.
      this.discovered.delete(apiVersion);
      found = findResource(await this.discover(apiVersion), kind);
    }
    if (found === undefined) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${kind}`);
    return found;
  }

  private discover(apiVersion: string): Promise<readonly DiscoveredResource[]> {
    let pending = this.discovered.get(apiVersion);
    if (pending === undefined) {
      pending = this.rest
        .request({ method: 'GET', path: groupVersionPath(apiVersion) })
        .then((list) => (list as { resources?: DiscoveredResource[] }).resources ?? []);
      pending.catch(() => this.discovered.delete(apiVersion));
      this.discovered.set(apiVersion, pending);
    }
    return pending;
  }

  /**
   * Retries what the API server says to retry (429, 500, 502, 503, 504, timeouts, connection resets)
   * under the one retry policy: jittered backoff, Retry-After honoured. Every retried call is
   * idempotent (reads, server-side applies, deletes, creates that answer 409 when repeated).
   */
  private retrying<T>(call: () => Promise<T>): Promise<T> {
    return withRetry(call, { policy: this.retry, transient: isTransient, retryAfterMs: retryAfterOf });
  }
}

const RETRIABLE = new Set([429, 500, 502, 503, 504]);

function isTransient(err: unknown): boolean {
  const code = statusCode(err);
  return code === undefined ? isConnectionError(err) : RETRIABLE.has(code);
}

function retryAfterOf(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string | string[] | undefined> } | undefined)?.headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  return parseRetryAfter(Array.isArray(value) ? value[0] : value);
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  const text = typeof code === 'string' ? code : ((err as Error | undefined)?.message ?? '');
  return /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up/.test(text);
}

export function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'number') return (err as { code: number }).code;
  if ('cause' in err) return statusCode(err.cause);
  return undefined;
}

export function refOf(obj: KubernetesObject): ObjectRef {
  return { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? '' };
}

function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** Server-side apply rejects managedFields and resourceVersion conflicts; desired objects never need them. */
function stripServerFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata === undefined) return obj;
  const { managedFields: _m, resourceVersion: _r, uid: _u, creationTimestamp: _c, generation: _g, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
