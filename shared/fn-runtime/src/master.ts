// Where a cluster's master is, and what a failure to reach it means: one lookup and one error policy
// for every function that talks to Postgres. No master yet, or a master that cannot be reached (a
// failover, a booting pod), is "waiting": retried by the next event or resync, never a failure of
// the invocation. Any other failure (no permission, a bug) is "failed".
import type { KubernetesObject, V1Endpoints, V1Pod } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterLabels } from '@pgfn/builder';
import { equalitySelector, type KubeClient } from '@pgfn/kube';
import { isRetryable, pickMaster, type MasterAddress, type MasterResult } from '@pgfn/roles';

export interface MasterLookup {
  readonly kube: KubeClient;
  readonly cluster: Postgresql & KubernetesObject;
  readonly config: OperatorConfig;
  /** The cluster's Spilo pods when the caller has listed them already; listed here otherwise. */
  readonly pods?: readonly V1Pod[];
}

/**
 * Patroni's leader Endpoints `<cluster>` first, else the one Running pod carrying the configured role
 * label (pod_role_label) with value master. Reads that fail throw (the invocation is retried).
 */
export async function findMaster(opts: MasterLookup): Promise<MasterResult> {
  // Pods listed and none of them live (a cluster being created, as on its first event): no Postgres
  // runs anywhere, whatever an Endpoints left by an earlier leader says; one round trip less (ADR 0143).
  if (opts.pods !== undefined && opts.pods.every((p) => p.metadata?.deletionTimestamp !== undefined))
    return { reason: 'no pod of the cluster exists yet' };
  const namespace = opts.cluster.metadata?.namespace ?? '';
  const name = opts.cluster.metadata?.name ?? '';
  const [endpoints, pods] = await Promise.all([
    opts.kube.get<V1Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', namespace, name }),
    opts.pods ?? opts.kube.list<V1Pod>('v1', 'Pod', namespace, equalitySelector(clusterLabels(opts.cluster, opts.config))),
  ]);
  return pickMaster({ endpoints, pods, roleLabel: opts.config.podRoleLabel });
}

/** Where to connect for a master address: the address itself in a cluster; out of cluster (local stack, tests) a translation. */
export type Reach = (master: MasterAddress) => { host: string; port: number };

export const directReach: Reach = (m) => ({ host: m.host, port: m.port });

/** The one error policy for work on the master: unreachable is waiting, anything else failed. */
export function masterFailure(err: unknown, master: MasterAddress): { readonly state: 'waiting' | 'failed'; readonly message: string } {
  const message = (err as Error).message;
  return isRetryable(err)
    ? { state: 'waiting', message: `cannot reach the master ${master.host}:${master.port}: ${message}` }
    : { state: 'failed', message: `on the master ${master.host}:${master.port}: ${message}` };
}
