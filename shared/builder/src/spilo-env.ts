// The Spilo container's environment, in upstream's order and with its precedence
// (generateSpiloPodEnvVars in pkg/cluster/k8sres.go; documented order in docs/administrator.md):
// operator-assigned > manifest `env` > clone > standby > pod_environment_secret >
// pod_environment_configmap > WAL/log settings of the operator configuration.
// A later source never overrides an earlier one; names are compared case-insensitively.
import type { V1EnvVar } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { bucketScopeSuffix, cloneEnv, standbyEnv } from './clone-standby-env.js';
import { appendEnvVars, fieldEnv, secretEnv, valueEnv } from './env-vars.js';
import type { PodEnvironmentData } from './inputs.js';
import { clusterName, secretName } from './names.js';
import { goJson } from './spilo-config.js';

/** Where Spilo keeps PGROOT: on the data volume (upstream constants.PostgresDataPath). */
export const PGROOT = '/home/postgres/pgdata/pgroot';

/** Objects the operator configuration points at, read by the caller before building (see inputs.ts). */
export type PodEnvironmentInputs = PodEnvironmentData;

/** The Postgres major version to run: the manifest's, unless major_version_upgrade_mode "full" lifts it. */
export function desiredMajorVersion(
  cluster: Pick<Postgresql, 'spec'>,
  config: Pick<OperatorConfig, 'majorVersionUpgradeMode' | 'minimalMajorVersion' | 'targetMajorVersion'>,
): string {
  const version = cluster.spec.postgresql.version;
  if (config.majorVersionUpgradeMode === 'full' && toInt(config.minimalMajorVersion) > toInt(version)) {
    return config.targetMajorVersion;
  }
  return version;
}

function toInt(text: string): number {
  const n = Number.parseInt(text, 10);
  return Number.isNaN(n) ? 0 : n;
}

/** The full environment of the postgres container (without TLS variables; see tls.ts). */
export function spiloEnv(
  cluster: Postgresql,
  config: OperatorConfig,
  spiloConfiguration: string,
  inputs: PodEnvironmentInputs = {},
): V1EnvVar[] {
  let env = operatorEnv(cluster, config, spiloConfiguration);
  env = appendEnvVars(env, ...(cluster.spec.env ?? []));
  env = appendEnvVars(env, ...cloneEnv(cluster.spec.clone, config));
  env = appendEnvVars(env, ...standbyEnv(cluster.spec.standby, config));
  env = appendEnvVars(env, ...podEnvironmentSecretEnv(config, inputs));
  env = appendEnvVars(env, ...podEnvironmentConfigMapEnv(config, inputs));
  return appendEnvVars(env, ...storageEnv(config, cluster.metadata.uid));
}

/** The variables the operator always sets; they guarantee core behaviour and cannot be overridden. */
function operatorEnv(cluster: Postgresql, config: OperatorConfig, spiloConfiguration: string): V1EnvVar[] {
  const name = clusterName(cluster);
  const env: V1EnvVar[] = [
    valueEnv('SCOPE', name),
    valueEnv('PGROOT', PGROOT),
    fieldEnv('POD_IP', 'status.podIP'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    valueEnv('PGUSER_SUPERUSER', config.superUsername),
    valueEnv('KUBERNETES_SCOPE_LABEL', config.clusterNameLabel),
    valueEnv('KUBERNETES_ROLE_LABEL', config.podRoleLabel),
    secretEnv('PGPASSWORD_SUPERUSER', secretName(config.superUsername, name, config), 'password'),
    valueEnv('PGUSER_STANDBY', config.replicationUsername),
    secretEnv('PGPASSWORD_STANDBY', secretName(config.replicationUsername, name, config), 'password'),
    valueEnv('PAM_OAUTH2', config.pamConfiguration),
    valueEnv('HUMAN_ROLE', config.pamRoleName),
  ];
  if (config.enableSpiloWalPathCompat) env.push(valueEnv('ENABLE_WAL_PATH_COMPAT', 'true'));
  if (config.enablePgversionEnvVar) env.push(valueEnv('PGVERSION', desiredMajorVersion(cluster, config)));
  env.push(valueEnv('KUBERNETES_LABELS', goJson(sortedRecord(config.clusterLabels))));
  if (spiloConfiguration !== '') env.push(valueEnv('SPILO_CONFIGURATION', spiloConfiguration));
  env.push(...dcsEnv(config));
  return env;
}

/** Patroni's DCS: the Kubernetes API unless etcd_host is configured. */
function dcsEnv(config: OperatorConfig): V1EnvVar[] {
  if (config.etcdHost !== '') return [valueEnv('ETCD_HOST', config.etcdHost)];
  const env = [valueEnv('DCS_ENABLE_KUBERNETES_API', 'true')];
  // Patroni >= 4.1 labels bootstrapping pods so the critical-op PDB protects them.
  if (config.enablePodDisruptionBudget) env.push(valueEnv('KUBERNETES_BOOTSTRAP_LABELS', '{"critical-operation":"true"}'));
  if (config.kubernetesUseConfigmaps) env.push(valueEnv('KUBERNETES_USE_CONFIGMAPS', 'true'));
  return env;
}

function podEnvironmentSecretEnv(config: OperatorConfig, inputs: PodEnvironmentInputs): V1EnvVar[] {
  const name = config.podEnvironmentSecret;
  if (name === '') return [];
  const data = inputs.secret;
  if (data === undefined) {
    throw new Error(`pod_environment_secret "${name}" is configured, but its data was not read and passed to the builder`);
  }
  // Only the keys are used: the values stay in the Secret and reach the pod through secretKeyRef.
  return Object.keys(data)
    .sort()
    .map((key) => secretEnv(key, name, key));
}

function podEnvironmentConfigMapEnv(config: OperatorConfig, inputs: PodEnvironmentInputs): V1EnvVar[] {
  const ref = config.podEnvironmentConfigmap;
  if (ref === undefined || ref.name === '') return [];
  const data = inputs.configMap;
  if (data === undefined) {
    throw new Error(
      `pod_environment_configmap "${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}" is configured, ` +
        `but its data was not read and passed to the builder`,
    );
  }
  return Object.keys(data)
    .sort()
    .map((key) => valueEnv(key, data[key] as string));
}

/** WAL archive and log shipping locations from the operator configuration (lowest precedence). */
function storageEnv(config: OperatorConfig, uid: string | undefined): V1EnvVar[] {
  const env: V1EnvVar[] = [];
  const walScope = (): V1EnvVar[] => [valueEnv('WAL_BUCKET_SCOPE_SUFFIX', bucketScopeSuffix(uid)), valueEnv('WAL_BUCKET_SCOPE_PREFIX', '')];
  if (config.walS3Bucket) env.push(valueEnv('WAL_S3_BUCKET', config.walS3Bucket), ...walScope());
  if (config.walGsBucket) env.push(valueEnv('WAL_GS_BUCKET', config.walGsBucket), ...walScope());
  if (config.walAzStorageAccount) env.push(valueEnv('AZURE_STORAGE_ACCOUNT', config.walAzStorageAccount), ...walScope());
  if (config.gcpCredentials) env.push(valueEnv('GOOGLE_APPLICATION_CREDENTIALS', config.gcpCredentials));
  if (config.logS3Bucket) {
    env.push(
      valueEnv('LOG_S3_BUCKET', config.logS3Bucket),
      valueEnv('LOG_BUCKET_SCOPE_SUFFIX', bucketScopeSuffix(uid)),
      valueEnv('LOG_BUCKET_SCOPE_PREFIX', ''),
    );
  }
  return env;
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as string;
  return out;
}
