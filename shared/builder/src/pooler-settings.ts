// The effective connection pooler settings of a cluster: the manifest's connectionPooler section
// over the operator configuration (upstream needConnectionPooler, needMasterConnectionPoolerWorker,
// needReplicaConnectionPoolerWorker, poolerUser, getConnectionPoolerEnvVars and
// generateConnectionPoolerDeployment in pkg/cluster/connection_pooler.go;
// constants in pkg/util/constants/pooler.go).
import type { OperatorConfig, PostgresSpec, Resources } from '@pgfn/api';
import type { PostgresRole } from './labels.js';

/** Upstream constants.ConnectionPoolerMaxDBConnections: used when neither manifest nor config set one. */
export const POOLER_DEFAULT_MAX_DB_CONNECTIONS = 60;
/** Upstream constants.ConnectionPoolerMaxClientConnections: high enough for any client count. */
export const POOLER_MAX_CLIENT_CONNECTIONS = 10000;
export const POOLER_MIN_INSTANCES = 1;
/** Used when config connection_pooler_default_* are empty (upstream's shipped configuration values). */
export const POOLER_FALLBACK_RESOURCES: Readonly<Required<Resources>> = Object.freeze({
  requests: { cpu: '500m', memory: '100Mi' },
  limits: { cpu: '1', memory: '100Mi' },
});

/** A pooler for the master: enableConnectionPooler, or a connectionPooler section without that flag. */
export function needMasterPooler(spec: PostgresSpec): boolean {
  if (spec.enableConnectionPooler !== undefined && spec.enableConnectionPooler !== null) return spec.enableConnectionPooler;
  return spec.connectionPooler !== undefined && spec.connectionPooler !== null;
}

export function needReplicaPooler(spec: PostgresSpec): boolean {
  return spec.enableReplicaConnectionPooler === true;
}

export function needPooler(spec: PostgresSpec, role?: PostgresRole): boolean {
  if (role === 'master') return needMasterPooler(spec);
  if (role === 'replica') return needReplicaPooler(spec);
  return needMasterPooler(spec) || needReplicaPooler(spec);
}

/**
 * The role the pooler logs in as: the manifest's user, unless that is the superuser, a protected role
 * or another system role (replication user) — then the configured pooler user.
 */
export function poolerUser(spec: PostgresSpec, config: OperatorConfig): string {
  const wanted = spec.connectionPooler?.user ?? '';
  const forbidden = [config.superUsername, config.replicationUsername, ...config.protectedRoleNames];
  if (wanted === '' || forbidden.includes(wanted)) return config.connectionPoolerUser;
  return wanted;
}

export interface PoolerSizes {
  readonly instances: number;
  readonly maxDbConnections: number;
  readonly defaultSize: number;
  readonly minSize: number;
  readonly reserveSize: number;
}

/**
 * Pool sizes per pooler pod: the database connection budget (max_db_connections) is split across the
 * pooler pods; half of a pod's share is the default pool per user/database, half of that the minimum,
 * and the reserve equals the minimum. Integer division throughout, as upstream does.
 */
export function poolerSizes(spec: PostgresSpec, config: OperatorConfig): PoolerSizes {
  const section = spec.connectionPooler ?? {};
  const configured = section.numberOfInstances ?? config.connectionPoolerNumberOfInstances;
  const budget = section.maxDBConnections ?? (config.connectionPoolerMaxDbConnections || POOLER_DEFAULT_MAX_DB_CONNECTIONS);
  // Upstream divides by the configured count before raising it to the minimum; a count of 0 would
  // divide by zero there, so the raised count is used for the division.
  const instances = Math.max(configured, POOLER_MIN_INSTANCES);
  const maxDbConnections = Math.trunc(budget / instances);
  const defaultSize = Math.trunc(maxDbConnections / 2);
  const minSize = Math.trunc(defaultSize / 2);
  return { instances, maxDbConnections, defaultSize, minSize, reserveSize: minSize };
}

export function poolerMode(spec: PostgresSpec, config: OperatorConfig): string {
  return spec.connectionPooler?.mode || config.connectionPoolerMode;
}

export function poolerSchema(spec: PostgresSpec, config: OperatorConfig): string {
  return spec.connectionPooler?.schema || config.connectionPoolerSchema;
}

export function poolerImage(spec: PostgresSpec, config: OperatorConfig): string {
  return spec.connectionPooler?.dockerImage || config.connectionPoolerImage;
}

/** Default pooler resources from the configuration, each empty value replaced by upstream's shipped default. */
export function poolerDefaultResources(config: OperatorConfig): Resources {
  const f = POOLER_FALLBACK_RESOURCES;
  return {
    requests: {
      cpu: config.connectionPoolerDefaultCpuRequest || f.requests.cpu,
      memory: config.connectionPoolerDefaultMemoryRequest || f.requests.memory,
    },
    limits: {
      cpu: config.connectionPoolerDefaultCpuLimit || f.limits.cpu,
      memory: config.connectionPoolerDefaultMemoryLimit || f.limits.memory,
    },
  };
}
