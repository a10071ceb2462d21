import type { CloudEventV1 } from 'cloudevents';
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import { RetryableError, type HandlerContext, type Logger, type Outcome } from '@pgfn/fn-runtime';
import { DEFAULT_WINDOWS, NamespaceBatcher, type BatchWindows } from './batcher.js';
import { targetOf } from './events.js';
import { reconcileBatch, type ReconcileDeps, type ReconcileResult } from './reconcile.js';

export interface HandlerDeps extends ReconcileDeps {
  /** For batch-level messages (a batch serves many deliveries). */
  readonly log: Logger;
  /** Namespaces whose clusters a resync covers; `undefined` means all. */
  readonly watchedNamespace?: string;
  /** How long events may wait to be batched with others of their namespace (ADR 0009). */
  readonly batchWindows?: BatchWindows;
}

/**
 * Turns CloudEvents into batched reconciles. Each delivery is answered with the outcome of its own
 * cluster, so a failure is redelivered by the Broker. A resync (PingSource or configuration change)
 * reconciles every cluster in this one invocation (ADR 0005): reconciles of unchanged clusters
 * write nothing, and one failing cluster does not stop the others but fails the invocation.
 */
export function createHandler(deps: HandlerDeps): (event: CloudEventV1<unknown>, ctx: HandlerContext) => Promise<Outcome> {
  const batcher: NamespaceBatcher<ReconcileResult> = new NamespaceBatcher<ReconcileResult>(
    (namespace, entries) =>
      reconcileBatch({ ...deps, onNamespaceSize: (ns, n) => batcher.noteNamespaceSize(ns, n) }, namespace, entries, deps.log),
    deps.batchWindows ?? DEFAULT_WINDOWS,
  );
  return async (event, { log }) => {
    const target = targetOf(event);
    if (target.scope === 'ignore') {
      log.debug({ reason: target.reason }, 'ignored');
      return 'ignored';
    }
    if (target.scope === 'cluster') {
      await batcher.submit(target.namespace, target.name, target.mode);
      return 'ok';
    }
    const clusters = await deps.kube.list<KubernetesObject>(API_VERSION, POSTGRESQL_KIND, deps.watchedNamespace);
    log.info({ reason: target.reason, clusters: clusters.length }, 'resync');
    const failures: string[] = [];
    await Promise.all(
      clusters.map((c) =>
        batcher.submit(c.metadata?.namespace ?? '', c.metadata?.name ?? '', 'full').catch((err: unknown) => {
          failures.push((err as Error).message);
        }),
      ),
    );
    if (failures.length > 0)
      throw new RetryableError(`resync: ${failures.length} of ${clusters.length} clusters failed: ${failures.slice(0, 5).join('; ')}`);
    return 'ok';
  };
}
