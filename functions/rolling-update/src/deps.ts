// What the rolling-update function needs: the kit's clients (kube, configuration, Events, emitter,
// clock) plus Patroni's REST API and its own settings. main.ts wires the real ones.
import type { Emit, ConfigLoader, RecordEvent } from '@pgfn/fn-runtime';
import type { KubeClient, PodExec } from '@pgfn/kube';
import type { ClusterView, DynamicConfig, MemberStatus, SwitchoverRequest } from '@pgfn/patroni';

/** The Patroni calls rolling-update makes (PatroniClient has them). */
export interface PatroniApi {
  cluster(base: string): Promise<ClusterView>;
  member(base: string): Promise<MemberStatus>;
  config(base: string): Promise<DynamicConfig>;
  patchConfig(base: string, patch: DynamicConfig): Promise<DynamicConfig>;
  switchover(base: string, body: SwitchoverRequest): Promise<string>;
  restart(base: string): Promise<string>;
}

export interface RollingDeps {
  readonly kube: KubeClient;
  readonly patroni: PatroniApi;
  readonly loadConfig: ConfigLoader;
  readonly recordEvent: RecordEvent;
  readonly emit: Emit;
  readonly now: () => Date;
  /** This instance's name in the per-cluster Lease (each invocation adds its own suffix). */
  readonly holder: string;
  /** How long a recreated pod may take to become healthy before the rollout is reported failed. */
  readonly podTimeoutMs: number;
  /** Namespace the periodic check looks at (undefined: all). */
  readonly watchedNamespace?: string | undefined;
  /** `kubectl exec` into pods (Spilo's inplace_upgrade.py); without it major upgrades fail with a message. */
  readonly exec?: PodExec;
  /** Patroni's REST port on each pod (Spilo: 8008). */
  readonly patroniPort?: number;
  /** How long the cluster's Lease lasts without a renewal, seconds (default 30; crash tests shorten it). */
  readonly leaseSeconds?: number;
  /** How long a member's pending restart must last before it is acted on (default 2.5 s; tests shorten it). */
  readonly reloadWindowMs?: number;
}
