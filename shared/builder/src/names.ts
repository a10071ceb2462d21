// Every object name of a cluster, made in one place.
// Rules from upstream pkg/cluster/k8sres.go (statefulSetName, serviceName, PDB names),
// connection_pooler.go (connectionPoolerName), util.go (credentialSecretNameForCluster, trimCronjobName)
// and pkg/apis/acid.zalan.do/v1/const.go (length limits).
import { GROUP, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';

/** The part of a postgresql object the names depend on. */
export type NamedCluster = Pick<Postgresql, 'metadata'>;

/** Longest Service name Kubernetes accepts (DNS-1035 label). */
export const SERVICE_NAME_MAX_LENGTH = 63;
/** Longest cluster name, so that `<cluster>-repl` is still a valid Service name (upstream clusterNameMaxLength). */
export const CLUSTER_NAME_MAX_LENGTH = SERVICE_NAME_MAX_LENGTH - '-repl'.length;
/** Longest CronJob name: the controller appends an 11-character suffix to Job names. */
export const CRONJOB_NAME_MAX_LENGTH = 52;

export const DEFAULT_SECRET_NAME_TEMPLATE = '{username}.{cluster}.credentials.{tprkind}.{tprgroup}';
export const DEFAULT_PDB_NAME_FORMAT = 'postgres-{cluster}-pdb';
export const DEFAULT_LOGICAL_BACKUP_JOB_PREFIX = 'logical-backup-';
export const DEFAULT_POD_SERVICE_ACCOUNT_NAME = 'postgres-pod';

/** The cluster's name; a postgresql object without one cannot be built. */
export function clusterName(cluster: NamedCluster): string {
  const name = cluster.metadata?.name;
  if (name === undefined || name === '') throw new Error('metadata.name: the postgresql object has no name');
  return name;
}

/** Replaces every `{key}` in a template, like upstream's StringTemplate.Format. */
export function formatTemplate(template: string, values: Readonly<Record<string, string>>): string {
  let out = template;
  for (const [key, value] of Object.entries(values)) out = out.split(`{${key}}`).join(value);
  return out;
}

export function statefulSetName(cluster: NamedCluster): string {
  return clusterName(cluster);
}

/** Master Service; also the Endpoints Patroni keeps the leader in. */
export function masterServiceName(cluster: NamedCluster): string {
  return clusterName(cluster);
}

export function replicaServiceName(cluster: NamedCluster): string {
  return `${clusterName(cluster)}-repl`;
}

/** Patroni's headless `<scope>-config` Service (and Endpoints/ConfigMap of its dynamic config). */
export function configServiceName(cluster: NamedCluster): string {
  return `${clusterName(cluster)}-config`;
}

/** Service name for a role: `master` → `<c>`, `replica` → `<c>-repl`. */
export function serviceNameForRole(cluster: NamedCluster, role: 'master' | 'replica'): string {
  return role === 'master' ? masterServiceName(cluster) : replicaServiceName(cluster);
}

export type SecretNameConfig = Partial<Pick<OperatorConfig, 'secretNameTemplate'>>;

/**
 * Name of a user's credentials Secret. Underscores in the user name become dashes, since Secret
 * names allow only lower-case alphanumerics, '-' and '.'.
 */
export function secretName(username: string, cluster: string, config: SecretNameConfig = {}): string {
  const template = config.secretNameTemplate || DEFAULT_SECRET_NAME_TEMPLATE;
  return formatTemplate(template, {
    username: username.replaceAll('_', '-'),
    cluster,
    tprkind: POSTGRESQL_KIND,
    tprgroup: GROUP,
  });
}

export type PdbNameConfig = Partial<Pick<OperatorConfig, 'pdbNameFormat'>>;

/** The PDB that keeps the master available. */
export function pdbName(cluster: NamedCluster, config: PdbNameConfig = {}): string {
  return formatTemplate(config.pdbNameFormat || DEFAULT_PDB_NAME_FORMAT, { cluster: clusterName(cluster) });
}

/** The PDB over pods labelled `critical-operation=true`; its template is fixed upstream. */
export function criticalOpPdbName(cluster: NamedCluster): string {
  return formatTemplate('postgres-{cluster}-critical-op-pdb', { cluster: clusterName(cluster) });
}

/** Pooler Deployment/Service: `<c>-pooler` for the master, `<c>-pooler-repl` for replicas. */
export function poolerName(cluster: NamedCluster, role: 'master' | 'replica' = 'master'): string {
  const base = `${clusterName(cluster)}-pooler`;
  return role === 'replica' ? `${base}-repl` : base;
}

/** Cuts a CronJob name to 52 characters and drops trailing dashes the cut left behind. */
export function trimCronJobName(name: string): string {
  if (name.length <= CRONJOB_NAME_MAX_LENGTH) return name;
  return name.slice(0, CRONJOB_NAME_MAX_LENGTH).replace(/-+$/, '');
}

export type LogicalBackupNameConfig = Partial<Pick<OperatorConfig, 'logicalBackupJobPrefix'>>;

export function logicalBackupJobName(cluster: NamedCluster, config: LogicalBackupNameConfig = {}): string {
  const prefix = config.logicalBackupJobPrefix ?? DEFAULT_LOGICAL_BACKUP_JOB_PREFIX;
  return trimCronJobName(`${prefix}${clusterName(cluster)}`);
}

export type ServiceAccountNameConfig = Partial<Pick<OperatorConfig, 'podServiceAccountName'>>;

/** ServiceAccount the Spilo pods run as (and the RoleBinding of the same name). */
export function podServiceAccountName(config: ServiceAccountNameConfig = {}): string {
  return config.podServiceAccountName || DEFAULT_POD_SERVICE_ACCOUNT_NAME;
}
