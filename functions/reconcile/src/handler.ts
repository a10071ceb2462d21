import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import { clusterNameLabelKey } from '@pgfn/builder';
import { RetryableError, apiServerEvent, watches, type EventHandler, type Logger } from '@pgfn/fn-runtime';
import { DEFAULT_WINDOWS, NamespaceBatcher, type BatchWindows } from './batcher.js';
import { CHILD_KINDS, targetOf } from './events.js';
import { OBSERVE_CONFIG_MAX_AGE_MS, reconcileBatch, type ReconcileDeps, type ReconcileResult } from './reconcile.js';

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
export function createHandler(deps: HandlerDeps): EventHandler {
  const batcher: NamespaceBatcher<ReconcileResult> = new NamespaceBatcher<ReconcileResult>(
    (namespace, entries) =>
      reconcileBatch({ ...deps, onNamespaceSize: (ns, n) => batcher.noteNamespaceSize(ns, n) }, namespace, entries, deps.log),
    deps.batchWindows ?? DEFAULT_WINDOWS,
  );
  return async (event, { log }) => {
    // A child names its cluster by the configured cluster_name_label: only its events need the configuration to be triaged.
    const kind = apiServerEvent(event)?.kind;
    const label =
      kind !== undefined && CHILD_KINDS.has(kind)
        ? clusterNameLabelKey((await deps.loadConfig(OBSERVE_CONFIG_MAX_AGE_MS)).config)
        : undefined;
    const target = targetOf(event, label);
    if (target.scope === 'ignore') {
      log.debug({ reason: target.reason }, 'ignored');
      return 'ignored';
    }
    if (target.scope === 'cluster') {
      if (!watches(deps.watchedNamespace, target.namespace)) {
        log.debug({ namespace: target.namespace }, 'ignored: outside the watched namespace');
        return 'ignored';
      }
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
