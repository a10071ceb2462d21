import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import type { BuildInputs } from '@pgfn/builder';
import type { ConfigLoader, Emit, Logger } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import type { CompareLive, CompareStatefulSet } from './plan.js';
import type { RoleSyncOutcome } from './role-sync.js';
import type { StreamsOutcome } from './streams-sync.js';

// What reconcile is wired with (main.ts, tests) and what it answers.

/** Upstream's pod annotation asking for a rotation; the rolling-update function acts on it. */
export const ROLLING_UPDATE_REQUIRED = 'zalando-postgres-operator-rolling-update-required';

/** The builder as reconcile uses it; wired to @pgfn/builder in main.ts, replaceable in tests. */
export interface BuilderPort {
  validate(cluster: Postgresql, config: OperatorConfig): readonly { path: string; message: string; severity?: string }[];
  build(inputs: BuildInputs): Built;
  compareStatefulSet: CompareStatefulSet;
  /** Drift of a live object from the desired one (fields someone else changed); absent: never looked for. */
  compareLive?: CompareLive;
  /** Label selector matching every object of the cluster (Spilo and pooler alike). */
  objectSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** The label every object of a cluster carries, and its value for this cluster. */
  clusterLabel(cluster: Postgresql, config: OperatorConfig): readonly [key: string, value: string];
  /** Label selector matching the cluster's Spilo pods only. */
  podSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** Label selector matching the cluster's pooler pods (every role). */
  poolerPodSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** Keys (`Kind/namespace/name`) of the objects upstream deletes when they stop being desired. */
  prunableKeys(cluster: Postgresql, config: OperatorConfig): ReadonlySet<string>;
  /** The pod-template hash stored on a StatefulSet's template or on a pod. */
  podTemplateHash(obj: { metadata?: { annotations?: Record<string, string> } } | undefined): string | undefined;
}

export interface Built {
  readonly objects: readonly KubernetesObject[];
  /**
   * Why every Spilo pod must be restarted although its template did not change: an existing system
   * user's password was rotated in place or reset by this build, and Spilo reads it from env.
   */
  readonly podRotationReasons: readonly string[];
  /** Why the pooler's pods must be replaced: its user's password was rotated in place by this build. */
  readonly poolerPodRotationReasons: readonly string[];
}

export interface ReconcileDeps {
  readonly kube: KubeClient;
  readonly builder: BuilderPort;
  /** The operator configuration, at most `maxAgeMs` old (0 or absent: read now). */
  readonly loadConfig: ConfigLoader;
  readonly newPassword: () => string;
  readonly now: () => Date;
  /**
   * Syncs roles and databases on the master (`enable_database_access`); absent where no database
   * is reachable by design (tests of the Kubernetes side against kwok pods).
   */
  readonly syncRoles?: (
    cluster: Postgresql & KubernetesObject,
    config: OperatorConfig,
    pods: readonly V1Pod[],
    log: Logger,
  ) => Promise<RoleSyncOutcome>;
  /**
   * Syncs spec.streams (publications, logical slots through Patroni, FabricEventStream objects);
   * absent where no database is reachable by design.
   */
  readonly syncStreams?: (
    cluster: Postgresql & KubernetesObject,
    config: OperatorConfig,
    pods: readonly V1Pod[],
  ) => Promise<StreamsOutcome>;
  /** Sends one of our CloudEvents to the Broker (a no-op when no sink is bound). */
  readonly emit: Emit;
  /** Clusters of one batch worked on at once. */
  readonly clusterConcurrency?: number;
  /** Told how many clusters a namespace holds whenever a batch lists them (sizes the batch windows). */
  readonly onNamespaceSize?: (namespace: string, clusters: number) => void;
}

export type ReconcileResult =
  | { readonly outcome: 'gone' }
  | { readonly outcome: 'deleted'; readonly objects: number }
  | { readonly outcome: 'delete-refused'; readonly reasons: readonly string[] }
  | { readonly outcome: 'invalid'; readonly errors: readonly string[] }
  | {
      readonly outcome: 'synced';
      readonly writes: number;
      readonly unchanged: number;
      readonly status: string;
      readonly podsPendingRotation: number;
    }
  | { readonly outcome: 'observed'; readonly status: string; readonly statusWritten: boolean };
