// The CronJob `logical-backup-<c>` that runs pg_dumpall against a replica and uploads the dump
// (upstream generateLogicalBackupJob, generateLogicalBackupPodEnvVars, getLogicalBackupRetentionTime,
// getCronjobEnvironmentSecretVariables and makeLogicalBackupResources in pkg/cluster/k8sres.go).
// The image's dump.sh finds a replica pod itself from SCOPE and CLUSTER_NAME_LABEL, so no PGHOST.
import type { V1Container, V1CronJob, V1EnvVar, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { bucketScopeSuffix } from './clone-standby-env.js';
import { appendEnvVars, fieldEnv, secretEnv, valueEnv } from './env-vars.js';
import { APPLICATION_LABEL, objectAnnotations, objectLabels } from './labels.js';
import { clusterName, logicalBackupJobName } from './names.js';
import { clusterObjectMeta, clusterPodAnnotations } from './object-meta.js';
import { KUBE_IAM_ANNOTATION } from './pod-template.js';
import { addSecretVolume, type PodVolumes } from './pod-volumes.js';
import { defaultResources, resourceRequirements } from './resources.js';
import { nodeAffinity, tolerations, topologySpreadConstraints } from './scheduling.js';
import { credentialSecretName } from './secrets.js';
import { OPERATOR_API_PORT, PATRONI_API_PORT, POSTGRES_PORT } from './spilo-container.js';

export const LOGICAL_BACKUP_CONTAINER_NAME = 'logical-backup';
export const LOGICAL_BACKUP_APPLICATION = 'spilo-logical-backup';
const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/** Dumps older than this are deleted after an upload: the manifest's value, else the configuration's. */
export function logicalBackupRetention(cluster: Postgresql, config: OperatorConfig): string {
  return cluster.spec.logicalBackupRetention || config.logicalBackupS3RetentionTime;
}

/** What the backup image needs: the cluster, how to log in, and where to upload for the configured provider. */
export function logicalBackupEnv(cluster: Postgresql, config: OperatorConfig): V1EnvVar[] {
  const env: V1EnvVar[] = [
    valueEnv('SCOPE', clusterName(cluster)),
    valueEnv('CLUSTER_NAME_LABEL', config.clusterNameLabel),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    valueEnv('PG_VERSION', cluster.spec.postgresql.version),
    valueEnv('PGPORT', String(POSTGRES_PORT)),
    valueEnv('PGUSER', config.superUsername),
    valueEnv('PGDATABASE', config.superUsername),
    valueEnv('PGSSLMODE', 'require'),
    secretEnv('PGPASSWORD', credentialSecretName(cluster, config, config.superUsername), 'password'),
    valueEnv('LOGICAL_BACKUP_PROVIDER', config.logicalBackupProvider),
    valueEnv('LOGICAL_BACKUP_S3_BUCKET', config.logicalBackupS3Bucket),
    valueEnv('LOGICAL_BACKUP_S3_BUCKET_PREFIX', config.logicalBackupS3BucketPrefix),
    valueEnv('LOGICAL_BACKUP_S3_BUCKET_SCOPE_SUFFIX', bucketScopeSuffix(cluster.metadata.uid)),
  ];
  return appendEnvVars(env, ...providerEnv(cluster, config));
}

function providerEnv(cluster: Postgresql, config: OperatorConfig): V1EnvVar[] {
  const optional = (name: string, value: string): V1EnvVar[] => (value === '' ? [] : [valueEnv(name, value)]);
  switch (config.logicalBackupProvider) {
    case 's3':
      return [
        valueEnv('LOGICAL_BACKUP_S3_REGION', config.logicalBackupS3Region),
        valueEnv('LOGICAL_BACKUP_S3_ENDPOINT', config.logicalBackupS3Endpoint),
        valueEnv('LOGICAL_BACKUP_S3_SSE', config.logicalBackupS3Sse),
        valueEnv('LOGICAL_BACKUP_S3_RETENTION_TIME', logicalBackupRetention(cluster, config)),
        ...optional('AWS_ACCESS_KEY_ID', config.logicalBackupS3AccessKeyId),
        ...optional('AWS_SECRET_ACCESS_KEY', config.logicalBackupS3SecretAccessKey),
      ];
    case 'gcs':
      return optional('LOGICAL_BACKUP_GOOGLE_APPLICATION_CREDENTIALS', config.logicalBackupGoogleApplicationCredentials);
    case 'az':
      return [
        valueEnv('LOGICAL_BACKUP_AZURE_STORAGE_ACCOUNT_NAME', config.logicalBackupAzureStorageAccountName),
        valueEnv('LOGICAL_BACKUP_AZURE_STORAGE_CONTAINER', config.logicalBackupAzureStorageContainer),
        ...optional('LOGICAL_BACKUP_AZURE_STORAGE_ACCOUNT_KEY', config.logicalBackupAzureStorageAccountKey),
      ];
    default:
      return [];
  }
}

/** One variable per key of logical_backup_cronjob_environment_secret, sorted by name. */
export function cronJobSecretEnv(config: OperatorConfig, secretData: Readonly<Record<string, string>> | undefined): V1EnvVar[] {
  const name = config.logicalBackupCronjobEnvironmentSecret;
  if (name === '') return [];
  // As for the pod environment: a job built without the variables the administrator configured would be wrong.
  if (secretData === undefined) {
    throw new Error(
      `logical_backup_cronjob_environment_secret "${name}" is configured, but its data was not read and passed to the builder`,
    );
  }
  return Object.keys(secretData)
    .sort()
    .map((key) => secretEnv(key, name, key));
}

function backupContainer(
  cluster: Postgresql,
  config: OperatorConfig,
  secretData: Readonly<Record<string, string>> | undefined,
): V1Container {
  const own = {
    requests: { cpu: config.logicalBackupCpuRequest, memory: config.logicalBackupMemoryRequest },
    limits: { cpu: config.logicalBackupCpuLimit, memory: config.logicalBackupMemoryLimit },
  };
  return {
    name: LOGICAL_BACKUP_CONTAINER_NAME,
    image: config.logicalBackupDockerImage,
    imagePullPolicy: 'IfNotPresent',
    resources: resourceRequirements(own, defaultResources(config), config, {
      path: 'configuration logical_backup',
      enforceThresholds: false,
    }),
    // The same ports as the Spilo container: upstream builds both with one container generator.
    ports: [PATRONI_API_PORT, POSTGRES_PORT, OPERATOR_API_PORT].map((containerPort) => ({ containerPort, protocol: 'TCP' })),
    env: [...logicalBackupEnv(cluster, config), ...cronJobSecretEnv(config, secretData)],
    securityContext: {
      allowPrivilegeEscalation: config.spiloAllowPrivilegeEscalation,
      privileged: config.spiloPrivileged,
      readOnlyRootFilesystem: false,
    },
  };
}

function backupPodSpec(cluster: Postgresql, config: OperatorConfig, labels: Record<string, string>, container: V1Container): V1PodSpec {
  const runAsUser = cluster.spec.spiloRunAsUser ?? config.spiloRunasuser;
  const runAsGroup = cluster.spec.spiloRunAsGroup ?? config.spiloRunasgroup;
  const fsGroup = cluster.spec.spiloFSGroup ?? config.spiloFsgroup;
  const pod: V1PodSpec = {
    serviceAccountName: config.podServiceAccountName,
    terminationGracePeriodSeconds: config.podTerminateGracePeriod,
    restartPolicy: 'Never',
    securityContext: {
      ...(runAsUser === undefined ? {} : { runAsUser }),
      ...(runAsGroup === undefined ? {} : { runAsGroup }),
      ...(fsGroup === undefined ? {} : { fsGroup }),
    },
    containers: [container],
    // Prefers the node where an earlier backup pod of this cluster ran (upstream's choice), within
    // the nodes config node_readiness_label allows.
    affinity: {
      podAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 1, podAffinityTerm: { labelSelector: { matchLabels: { ...labels } }, topologyKey: HOSTNAME_TOPOLOGY_KEY } },
        ],
      },
    },
  };
  const node = nodeAffinity(undefined, config);
  if (node !== undefined && pod.affinity) pod.affinity.nodeAffinity = node;
  const tolerated = tolerations(cluster.spec.tolerations, config);
  if (tolerated.length > 0) pod.tolerations = tolerated;
  const spread = topologySpreadConstraints(cluster.spec.topologySpreadConstraints);
  if (spread !== undefined) pod.topologySpreadConstraints = spread;
  if (config.additionalSecretMount !== '') {
    const mounted: PodVolumes = { volumes: [], containers: pod.containers };
    addSecretVolume(mounted, config.additionalSecretMount, config.additionalSecretMountPath);
    pod.volumes = mounted.volumes;
  }
  return pod;
}

/** The backup CronJob, or undefined when spec.enableLogicalBackup is not set. */
export function buildLogicalBackupCronJob(
  cluster: Postgresql,
  config: OperatorConfig,
  secretData?: Readonly<Record<string, string>>,
): V1CronJob | undefined {
  if (!cluster.spec.enableLogicalBackup) return undefined;
  const labels = { ...objectLabels(cluster, config), [APPLICATION_LABEL]: LOGICAL_BACKUP_APPLICATION };
  const annotations = objectAnnotations(cluster, config, clusterPodAnnotations(cluster, config));
  const withAnnotations = annotations === undefined ? {} : { annotations };
  const podAnnotations: Record<string, string> = { ...(annotations ?? {}) };
  if (config.kubeIamRole !== '') podAnnotations[KUBE_IAM_ANNOTATION] = config.kubeIamRole;
  const podMeta: V1PodTemplateSpec['metadata'] = {
    labels,
    ...(Object.keys(podAnnotations).length > 0 ? { annotations: podAnnotations } : {}),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: clusterObjectMeta(cluster, config, {
      name: logicalBackupJobName(cluster, config),
      labels,
      annotations: clusterPodAnnotations(cluster, config),
    }),
    spec: {
      schedule: cluster.spec.logicalBackupSchedule || config.logicalBackupSchedule,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: config.logicalBackupSuccessfulJobsHistoryLimit,
      failedJobsHistoryLimit: config.logicalBackupFailedJobsHistoryLimit,
      jobTemplate: {
        metadata: { labels, ...withAnnotations },
        spec: {
          ttlSecondsAfterFinished: config.logicalBackupTtlSecondsAfterFinished,
          template: { metadata: podMeta, spec: backupPodSpec(cluster, config, labels, backupContainer(cluster, config, secretData)) },
        },
      },
    },
  };
}
