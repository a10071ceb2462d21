import type { CloudEventV1 } from 'cloudevents';
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import { RetryableError, type HandlerContext, type Outcome } from '@pgfn/fn-runtime';
import { Coalescer } from './coalesce.js';
import { targetOf } from './events.js';
import { reconcileCluster, type ReconcileDeps } from './reconcile.js';

export interface HandlerDeps extends ReconcileDeps {
  /** Namespaces whose clusters a resync covers; `undefined` means all. */
  readonly watchedNamespace?: string;
  /** Clusters reconciled at once during a resync. */
  readonly resyncConcurrency?: number;
}

/**
 * Turns one CloudEvent into reconciles. A resync (PingSource or configuration change) reconciles
 * every cluster in this one invocation (ADR 0005): reconciles of unchanged clusters write nothing,
 * and one failing cluster does not stop the others but fails the invocation so it is redelivered.
 */
export function createHandler(deps: HandlerDeps): (event: CloudEventV1<unknown>, ctx: HandlerContext) => Promise<Outcome> {
  const coalescer = new Coalescer();
  const reconcile = (namespace: string, name: string, log: HandlerContext['log']): Promise<void> =>
    coalescer.run(`${namespace}/${name}`, async () => {
      await reconcileCluster(deps, namespace, name, log.child({ namespace, cluster: name }));
    });
  return async (event, { log }) => {
    const target = targetOf(event);
    if (target.scope === 'ignore') {
      log.debug({ reason: target.reason }, 'ignored');
      return 'ignored';
    }
    if (target.scope === 'cluster') {
      await reconcile(target.namespace, target.name, log);
      return 'ok';
    }
    const clusters = await deps.kube.list<KubernetesObject>(API_VERSION, POSTGRESQL_KIND, deps.watchedNamespace);
    log.info({ reason: target.reason, clusters: clusters.length }, 'resync');
    const failures = await forEachLimited(clusters, deps.resyncConcurrency ?? 4, async (c) => {
      const namespace = c.metadata?.namespace ?? '';
      const name = c.metadata?.name ?? '';
      await reconcile(namespace, name, log);
    });
    if (failures.length > 0) throw new RetryableError(`resync: ${failures.length} of ${clusters.length} clusters failed: ${failures.slice(0, 5).join('; ')}`);
    return 'ok';
  };
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((err: unknown) => { failures.push((err as Error).message); });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failures;
}
