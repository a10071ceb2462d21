import {
  CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions,
  type KubeConfig, type KubernetesObject, type CoreV1Event,
} from '@kubernetes/client-node';

/** The name of our field manager for server-side apply. */
export const FIELD_MANAGER = 'pgfn';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Called once per API request, so functions can count them (metrics, benchmarks). */
export type RequestObserver = (verb: string, kind: string) => void;

/**
 * Every Kubernetes call a function makes goes through here: reads return `undefined` for 404,
 * writes are server-side applies with our field manager (idempotent by construction).
 */
export class KubeClient {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig, private readonly observe: RequestObserver = () => undefined, private readonly retry: RetryPolicy = DEFAULT_RETRY) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    this.observe('get', ref.kind);
    try {
      return (await this.retrying(() => this.objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }))) as T;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw new Error(`reading ${describe(ref)}`, { cause: err });
    }
  }

  async list<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, labelSelector?: string): Promise<T[]> {
    this.observe('list', kind);
    try {
      const list = await this.retrying(() => this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector));
      return list.items as T[];
    } catch (err) {
      throw new Error(`listing ${kind} in ${namespace ?? 'all namespaces'}${labelSelector === undefined ? '' : ` (${labelSelector})`}`, { cause: err });
    }
  }

  /** Server-side apply: creates or updates only the fields we own; `force` takes over conflicts. */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    this.observe('apply', obj.kind ?? 'unknown');
    try {
      return (await this.retrying(() => this.objects.patch(stripServerFields(obj), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply))) as T;
    } catch (err) {
      throw new Error(`applying ${describe(refOf(obj))}`, { cause: err });
    }
  }

  /** Deletes; a missing object is success. `propagation: 'Orphan'` keeps dependents (pods of a StatefulSet). */
  async delete(ref: ObjectRef, propagation: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<void> {
    this.observe('delete', ref.kind);
    try {
      await this.retrying(() => this.objects.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } },
        undefined, undefined, undefined, undefined, propagation));
    } catch (err) {
      if (statusCode(err) === 404) return;
      throw new Error(`deleting ${describe(ref)}`, { cause: err });
    }
  }

  /**
   * Merge-patches the status subresource of a custom object. With `resourceVersion`, the write fails
   * with 409 if the object changed since it was read, so a slower concurrent reconcile cannot
   * overwrite a newer status with an older one.
   */
  async patchCustomStatus(group: string, version: string, plural: string, namespace: string, name: string, status: unknown, resourceVersion?: string): Promise<void> {
    this.observe('patch-status', plural);
    try {
      await this.retrying(() => this.custom.patchNamespacedCustomObjectStatus({ group, version, plural, namespace, name,
        body: resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    } catch (err) {
      throw new Error(`patching status of ${plural}/${name} in ${namespace}`, { cause: err });
    }
  }

  /** Merge-patches metadata (labels/annotations) of any object. */
  async patchMetadata(ref: ObjectRef, metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> }): Promise<void> {
    this.observe('patch', ref.kind);
    try {
      await this.retrying(() => this.objects.patch({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace, ...metadata } } as KubernetesObject,
        undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch));
    } catch (err) {
      throw new Error(`patching metadata of ${describe(ref)}`, { cause: err });
    }
  }

  /**
   * Replaces metadata.finalizers, guarded by resourceVersion: a concurrent change makes this fail
   * with 409 instead of dropping someone else's finalizer.
   */
  async patchFinalizers(ref: ObjectRef, finalizers: readonly string[], resourceVersion: string | undefined): Promise<void> {
    this.observe('patch', ref.kind);
    try {
      await this.objects.patch({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace, finalizers: [...finalizers], resourceVersion } } as KubernetesObject,
        undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
    } catch (err) {
      throw new Error(`setting finalizers of ${describe(ref)}`, { cause: err });
    }
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    this.observe('create', 'Event');
    const namespace = event.metadata.namespace ?? 'default';
    try {
      await this.retrying(() => this.core.createNamespacedEvent({ namespace, body: event }));
    } catch (err) {
      throw new Error(`recording Event ${event.reason ?? ''} in ${namespace}`, { cause: err });
    }
  }

  /**
   * Retries what the API server says to retry (429 with Retry-After, 500, 503, 504, connection
   * resets) a few times within one invocation; beyond that the invocation fails and the Broker
   * redelivers later. Every retried call is idempotent (reads, server-side applies, deletes).
   */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const code = statusCode(err);
        const transient = code === undefined ? isConnectionError(err) : RETRIABLE.has(code);
        if (!transient || attempt >= this.retry.attempts) throw err;
        await new Promise((r) => setTimeout(r, Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1))));
      }
    }
  }
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 2000 };
const RETRIABLE = new Set([429, 500, 502, 503, 504]);

function isConnectionError(err: unknown): boolean {
  const text = String((err as { code?: unknown })?.code ?? (err as Error)?.message ?? '');
  return /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up/.test(text);
}

export function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof (err as { code: unknown }).code === 'number') return (err as { code: number }).code;
  if ('cause' in err) return statusCode((err as { cause: unknown }).cause);
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
