// Environment for clusters cloned from another cluster (CLONE_*) and for standby clusters
// (STANDBY_*), as upstream's generateCloneEnvironment / generateStandbyEnvironment
// (pkg/cluster/k8sres.go) produce it. Spilo reads these in configure_spilo.py (see SPILO-CONTRACT.md §1.8, §1.9).
import type { V1EnvVar } from '@kubernetes/client-node';
import type { CloneDescription, OperatorConfig, StandbyDescription } from '@pgfn/api';
import { secretEnv, valueEnv } from './env-vars.js';
import { secretName } from './names.js';

export type CloneEnvConfig = Pick<
  OperatorConfig,
  'replicationUsername' | 'secretNameTemplate' | 'walS3Bucket' | 'walGsBucket' | 'gcpCredentials' | 'walAzStorageAccount' | 'irsaRoleArn'
>;

const IRSA_TOKEN_FILE = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';
const POSTGRES_PORT = '5432';

/** "/<uid>" — the per-cluster part of WAL paths, so a re-created cluster of the same name never mixes WAL. */
export function bucketScopeSuffix(uid: string | undefined): string {
  return uid ? `/${uid}` : '';
}

export function cloneEnv(clone: CloneDescription | undefined, config: CloneEnvConfig): V1EnvVar[] {
  const source = clone?.cluster;
  if (clone === undefined || !source) return [];
  const env: V1EnvVar[] = [valueEnv('CLONE_SCOPE', source)];
  if (!clone.timestamp) env.push(...basebackupCloneEnv(source, config));
  else env.push(...walCloneEnv(clone, config));
  if (config.irsaRoleArn) {
    env.push(valueEnv('CLONE_AWS_ROLE_ARN', config.irsaRoleArn), valueEnv('CLONE_AWS_WEB_IDENTITY_TOKEN_FILE', IRSA_TOKEN_FILE));
  }
  return env;
}

/** Without a timestamp Spilo runs pg_basebackup against the source's master Service in this namespace. */
function basebackupCloneEnv(source: string, config: CloneEnvConfig): V1EnvVar[] {
  return [
    valueEnv('CLONE_METHOD', 'CLONE_WITH_BASEBACKUP'),
    valueEnv('CLONE_HOST', source),
    valueEnv('CLONE_PORT', POSTGRES_PORT),
    valueEnv('CLONE_USER', config.replicationUsername),
    secretEnv('CLONE_PASSWORD', secretName(config.replicationUsername, source, config), 'password'),
  ];
}

/** With a timestamp Spilo restores the source's base backup and WAL up to that time. */
function walCloneEnv(clone: CloneDescription, config: CloneEnvConfig): V1EnvVar[] {
  const env: V1EnvVar[] = [];
  if (!clone.s3_wal_path) {
    // The source's WAL lives under the configured bucket, in its own uid-scoped folder.
    if (config.walS3Bucket) env.push(valueEnv('CLONE_WAL_S3_BUCKET', config.walS3Bucket));
    else if (config.walGsBucket) {
      env.push(valueEnv('CLONE_WAL_GS_BUCKET', config.walGsBucket));
      if (config.gcpCredentials) env.push(valueEnv('CLONE_GOOGLE_APPLICATION_CREDENTIALS', config.gcpCredentials));
    } else if (config.walAzStorageAccount) env.push(valueEnv('CLONE_AZURE_STORAGE_ACCOUNT', config.walAzStorageAccount));
    env.push(valueEnv('CLONE_WAL_BUCKET_SCOPE_SUFFIX', bucketScopeSuffix(clone.uid)));
  } else {
    env.push(valueEnv('CLONE_WALE_S3_PREFIX', clone.s3_wal_path));
  }
  env.push(
    valueEnv('CLONE_METHOD', 'CLONE_WITH_WALE'),
    valueEnv('CLONE_TARGET_TIME', clone.timestamp ?? ''),
    valueEnv('CLONE_WAL_BUCKET_SCOPE_PREFIX', ''),
  );
  if (clone.s3_endpoint) {
    env.push(valueEnv('CLONE_AWS_ENDPOINT', clone.s3_endpoint), valueEnv('CLONE_WALE_S3_ENDPOINT', clone.s3_endpoint));
  }
  if (clone.s3_access_key_id) env.push(valueEnv('CLONE_AWS_ACCESS_KEY_ID', clone.s3_access_key_id));
  if (clone.s3_secret_access_key) env.push(valueEnv('CLONE_AWS_SECRET_ACCESS_KEY', clone.s3_secret_access_key));
  if (clone.s3_force_path_style !== undefined) {
    env.push(valueEnv('CLONE_AWS_S3_FORCE_PATH_STYLE', clone.s3_force_path_style ? '1' : '0'));
  }
  return env;
}

export function standbyEnv(standby: StandbyDescription | undefined, config: Pick<OperatorConfig, 'irsaRoleArn'>): V1EnvVar[] {
  if (standby === undefined) return [];
  const env: V1EnvVar[] = [];
  if (standby.standby_host) {
    env.push(valueEnv('STANDBY_HOST', standby.standby_host));
    if (standby.standby_port) env.push(valueEnv('STANDBY_PORT', standby.standby_port));
    if (standby.standby_primary_slot_name) env.push(valueEnv('STANDBY_PRIMARY_SLOT_NAME', standby.standby_primary_slot_name));
  }
  // A WAL archive may be given with or without a host; S3 wins over GCS.
  if (standby.s3_wal_path) env.push(...standbyWalEnv('STANDBY_WALE_S3_PREFIX', standby.s3_wal_path));
  else if (standby.gs_wal_path) env.push(...standbyWalEnv('STANDBY_WALE_GS_PREFIX', standby.gs_wal_path));
  if (config.irsaRoleArn) {
    env.push(valueEnv('STANDBY_AWS_ROLE_ARN', config.irsaRoleArn), valueEnv('STANDBY_AWS_WEB_IDENTITY_TOKEN_FILE', IRSA_TOKEN_FILE));
  }
  return env;
}

function standbyWalEnv(prefixName: string, path: string): V1EnvVar[] {
  return [valueEnv(prefixName, path), valueEnv('STANDBY_METHOD', 'STANDBY_WITH_WALE'), valueEnv('STANDBY_WAL_BUCKET_SCOPE_PREFIX', '')];
}
