// What the rolling-update function needs from the world; main.ts wires the real clients.
import type { OperatorConfig } from '@pgfn/api';
import type { Emit } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import type { ClusterView, DynamicConfig, MemberStatus, SwitchoverRequest } from '@pgfn/patroni';
import type { ConditionUpdate } from './conditions.js';
import type { Cluster } from './cluster.js';

/** The Patroni calls rolling-update makes (PatroniClient has them). */
export interface PatroniApi {
  cluster(base: string): Promise<ClusterView>;
  member(base: string): Promise<MemberStatus>;
  config(base: string): Promise<DynamicConfig>;
  patchConfig(base: string, patch: DynamicConfig): Promise<DynamicConfig>;
  switchover(base: string, body: SwitchoverRequest): Promise<string>;
  restart(base: string): Promise<string>;
}

/** A per-cluster lock: at most one invocation acts on a cluster at a time, across instances. */
export interface ClusterLease {
  tryAcquire(namespace: string, cluster: string): Promise<boolean>;
  release(namespace: string, cluster: string): Promise<void>;
}

export interface RollingDeps {
  readonly kube: KubeClient;
  readonly patroni: PatroniApi;
  readonly lease: ClusterLease;
  readonly loadConfig: () => Promise<OperatorConfig>;
  /** Merges these conditions into the cluster's status (guarded by resourceVersion); false when nothing changed. */
  readonly writeConditions: (cluster: Cluster, conditions: readonly ConditionUpdate[]) => Promise<boolean>;
  readonly recordEvent: (cluster: Cluster, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
  readonly emit: Emit;
  readonly now: () => Date;
  /** How long a recreated pod may take to become healthy before the rollout is reported failed. */
  readonly podTimeoutMs: number;
  /** Namespace the periodic check looks at (undefined: all). */
  readonly watchedNamespace?: string;
  /** Patroni's REST port on each pod (Spilo: 8008). */
  readonly patroniPort?: number;
}
