// Everything the builder needs besides the manifest and the operator configuration. The caller reads
// these beforehand; the builder itself never does I/O, never reads the clock and never draws random
// numbers, so the same inputs always give the same objects.
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import type { InfrastructureUser } from './users.js';

/** Any Kubernetes object the builder returns; apiVersion, kind and metadata.name are always set. */
export type KubeObject = KubernetesObject & {
  apiVersion: string;
  kind: string;
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string };
};

/** Data of Secrets and ConfigMaps the configuration points at, read by the caller. */
export interface PodEnvironmentData {
  /** `data` of the ConfigMap named by pod_environment_configmap. */
  readonly configMap?: Readonly<Record<string, string>>;
  /** `data` of the Secret named by pod_environment_secret (only the keys are used). */
  readonly secret?: Readonly<Record<string, string>>;
}

export interface BuildInputs {
  readonly cluster: Postgresql;
  readonly config: OperatorConfig;
  /**
   * The cluster's credential Secrets as they exist now, by name. An existing password always wins
   * over a new one, so rebuilding never changes a password by accident.
   */
  readonly existingSecrets: ReadonlyMap<string, V1Secret>;
  /** A fresh random password (crypto RNG in production, a fixed sequence in tests and renders). */
  readonly newPassword: () => string;
  /** The current time; only password rotation depends on it. */
  readonly now: Date;
  readonly podEnvironment?: PodEnvironmentData;
  /** `data` of the Secret named by logical_backup_cronjob_environment_secret (only the keys are used). */
  readonly logicalBackupEnvironmentSecret?: Readonly<Record<string, string>>;
  /** Infrastructure roles read from the configured Secrets; each gets a credentials Secret with its password. */
  readonly infrastructureRoles?: readonly InfrastructureUser[];
}

/** The namespace of the cluster; a manifest without one lives in "default", as kubectl would place it. */
export function clusterNamespace(cluster: Pick<Postgresql, 'metadata'>): string {
  return cluster.metadata.namespace || 'default';
}
