// The operator configuration as one flat, fully defaulted object: every key of upstream's
// pkg/util/config/config.go Config (embedded CRD, Resources, Auth, Scalyr, LogicalBackup and
// ConnectionPooler structs included).
//
// Conventions (see README.md):
// - Property name = camelCase of the ConfigMap key (`name:` tag): `pod_terminate_grace_period`
//   -> `podTerminateGracePeriod`, `toleration` -> `toleration`, `spilo_runasuser` -> `spiloRunasuser`.
// - Durations are numbers of SECONDS (fractions allowed): "10m" -> 600, "1.5s" -> 1.5.
// - Kubernetes quantities stay strings ("100m", "1Gi"); so do name templates ("{cluster}…").
// - Optional pointers without an upstream default are `T | undefined` (key always present).
// - Defaults are the `default:"…"` tags of config.go (the ConfigMap path). Where the
//   OperatorConfiguration path of upstream defaults differently, CONFIG_DEFAULT_DIVERGENCES lists it.
import type { V1Container, V1Probe } from '@kubernetes/client-node';

/** A namespaced object reference. An empty namespace means "the operator's own namespace". */
export interface NamespacedName {
  namespace: string;
  name: string;
}

/** Where to find infrastructure roles (upstream config.InfrastructureRole). */
export interface InfrastructureRole {
  secretName: NamespacedName;
  userKey: string;
  passwordKey: string;
  roleKey: string;
  defaultUserValue: string;
  defaultRoleValue: string;
  /** YAML with the detailed role definition, when present. */
  details: string;
  /** Keys are templates with an index suffix (user1, password1, …). */
  template: boolean;
}

export interface OperatorConfig {
  // --- CRD handling (config.CRD) ---
  readyWaitInterval: number;
  readyWaitTimeout: number;
  resyncPeriod: number;
  repairPeriod: number;
  enableCrdRegistration: boolean;
  crdCategories: string[];

  // --- Kubernetes resources (config.Resources) ---
  enableOwnerReferences: boolean;
  resourceCheckInterval: number;
  resourceCheckTimeout: number;
  podLabelWaitTimeout: number;
  podDeletionWaitTimeout: number;
  podTerminateGracePeriod: number;
  /** Only settable through the OperatorConfiguration (kubernetes.liveness_probe). */
  livenessProbe: V1Probe | undefined;
  spiloRunasuser: number | undefined;
  spiloRunasgroup: number | undefined;
  spiloFsgroup: number | undefined;
  podPriorityClassName: string;
  clusterDomain: string;
  spiloPrivileged: boolean;
  spiloAllowPrivilegeEscalation: boolean;
  additionalPodCapabilities: string[];
  clusterLabels: Record<string, string>;
  inheritedLabels: string[];
  inheritedAnnotations: string[];
  downscalerAnnotations: string[];
  ignoredAnnotations: string[];
  clusterNameLabel: string;
  deleteAnnotationDateKey: string;
  deleteAnnotationNameKey: string;
  podRoleLabel: string;
  /** Upstream's Go field PodToleration; key `toleration`. */
  toleration: Record<string, string>;
  defaultCpuRequest: string;
  defaultMemoryRequest: string;
  defaultCpuLimit: string;
  defaultMemoryLimit: string;
  minCpuLimit: string;
  minMemoryLimit: string;
  maxCpuRequest: string;
  maxMemoryRequest: string;
  podEnvironmentConfigmap: NamespacedName | undefined;
  podEnvironmentSecret: string;
  nodeReadinessLabel: Record<string, string>;
  nodeReadinessLabelMerge: string;
  enableShmVolume: boolean;
  /** -1 disables the limit. */
  maxInstances: number;
  /** -1 disables the limit. */
  minInstances: number;
  ignoreInstanceLimitsAnnotationKey: string;
  ignoreResourcesLimitsAnnotationKey: string;

  // --- Authentication (config.Auth) ---
  secretNameTemplate: string;
  pamRoleName: string;
  pamConfiguration: string;
  teamsApiUrl: string;
  oauthTokenSecretName: NamespacedName;
  infrastructureRolesSecretName: NamespacedName | undefined;
  /** ConfigMap: one description "secretname:…,userkey:…,passwordkey:…,rolekey:…"; CRD: a list. */
  infrastructureRolesSecrets: InfrastructureRole[];
  superUsername: string;
  replicationUsername: string;
  additionalOwnerRoles: string[];
  enablePasswordRotation: boolean;
  /** Days. */
  passwordRotationInterval: number;
  /** Days. */
  passwordRotationUserRetention: number;

  // --- Scalyr log shipping sidecar (config.Scalyr) ---
  scalyrApiKey: string;
  scalyrImage: string;
  scalyrServerUrl: string;
  scalyrCpuRequest: string;
  scalyrMemoryRequest: string;
  scalyrCpuLimit: string;
  scalyrMemoryLimit: string;

  // --- Logical backup (config.LogicalBackup) ---
  logicalBackupSchedule: string;
  logicalBackupDockerImage: string;
  logicalBackupProvider: string;
  logicalBackupAzureStorageAccountName: string;
  logicalBackupAzureStorageContainer: string;
  logicalBackupAzureStorageAccountKey: string;
  logicalBackupS3Bucket: string;
  logicalBackupS3BucketPrefix: string;
  logicalBackupS3Region: string;
  logicalBackupS3Endpoint: string;
  logicalBackupS3AccessKeyId: string;
  logicalBackupS3SecretAccessKey: string;
  logicalBackupS3Sse: string;
  logicalBackupS3RetentionTime: string;
  logicalBackupGoogleApplicationCredentials: string;
  logicalBackupJobPrefix: string;
  logicalBackupCronjobEnvironmentSecret: string;
  logicalBackupCpuRequest: string;
  logicalBackupMemoryRequest: string;
  logicalBackupCpuLimit: string;
  logicalBackupMemoryLimit: string;
  logicalBackupSuccessfulJobsHistoryLimit: number;
  logicalBackupFailedJobsHistoryLimit: number;
  logicalBackupTtlSecondsAfterFinished: number;

  // --- Connection pooler defaults (config.ConnectionPooler) ---
  connectionPoolerNumberOfInstances: number;
  connectionPoolerSchema: string;
  connectionPoolerUser: string;
  connectionPoolerImage: string;
  connectionPoolerMode: string;
  connectionPoolerMaxDbConnections: number;
  /** Empty: the builder uses upstream's constants (500m / 100Mi / 1 / 100Mi). */
  connectionPoolerDefaultCpuRequest: string;
  connectionPoolerDefaultMemoryRequest: string;
  connectionPoolerDefaultCpuLimit: string;
  connectionPoolerDefaultMemoryLimit: string;

  // --- General (config.Config) ---
  /** "*" = all namespaces; "" = the operator's namespace. */
  watchedNamespace: string;
  kubernetesUseConfigmaps: boolean;
  /** Empty: Patroni uses Kubernetes as its DCS. */
  etcdHost: string;
  enableMaintenanceWindows: boolean;
  maintenanceWindows: string[];
  dockerImage: string;
  /** Deprecated upstream in favour of `sidecars`. */
  sidecarDockerImages: Record<string, string>;
  sidecars: V1Container[];
  podServiceAccountName: string;
  podServiceAccountDefinition: string;
  podServiceAccountRoleBindingDefinition: string;
  masterPodMoveTimeout: number;
  dbHostedZone: string;
  awsRegion: string;
  walS3Bucket: string;
  logS3Bucket: string;
  kubeIamRole: string;
  irsaRoleArn: string;
  walGsBucket: string;
  gcpCredentials: string;
  walAzStorageAccount: string;
  additionalSecretMount: string;
  additionalSecretMountPath: string;
  debugLogging: boolean;
  enableDatabaseAccess: boolean;
  enableTeamsApi: boolean;
  enableTeamSuperuser: boolean;
  teamAdminRole: string;
  roleDeletionSuffix: string;
  enableTeamMemberDeprecation: boolean;
  enableAdminRoleForUsers: boolean;
  enablePostgresTeamCrd: boolean;
  enablePostgresTeamCrdSuperusers: boolean;
  enableMasterLoadBalancer: boolean;
  enableMasterPoolerLoadBalancer: boolean;
  enableReplicaLoadBalancer: boolean;
  enableReplicaPoolerLoadBalancer: boolean;
  enableMasterNodePort: boolean;
  enableMasterPoolerNodePort: boolean;
  enableReplicaNodePort: boolean;
  enableReplicaPoolerNodePort: boolean;
  customServiceAnnotations: Record<string, string>;
  customPodAnnotations: Record<string, string>;
  enablePodAntiaffinity: boolean;
  podAntiaffinityPreferredDuringScheduling: boolean;
  podAntiaffinityTopologyKey: string;
  storageResizeMode: string;
  /** Deprecated upstream (ConfigMap only); kept for backward compatibility. */
  enableLoadBalancer: boolean | undefined;
  externalTrafficPolicy: string;
  masterDnsNameFormat: string;
  masterLegacyDnsNameFormat: string;
  replicaDnsNameFormat: string;
  replicaLegacyDnsNameFormat: string;
  pdbNameFormat: string;
  pdbMasterLabelSelector: boolean;
  enablePodDisruptionBudget: boolean;
  enableInitContainers: boolean;
  enableSidecars: boolean;
  sharePgsocketWithSidecars: boolean;
  workers: number;
  apiPort: number;
  ringLogLines: number;
  clusterHistoryEntries: number;
  teamApiRoleConfiguration: Record<string, string>;
  podManagementPolicy: string;
  enableReadinessProbe: boolean;
  protectedRoleNames: string[];
  postgresSuperuserTeams: string[];
  setMemoryRequestToLimit: boolean;
  enableLazySpiloUpgrade: boolean;
  enableCrossNamespaceSecret: boolean;
  enableFinalizers: boolean;
  enablePgversionEnvVar: boolean;
  enableSpiloWalPathCompat: boolean;
  enableTeamIdClusternamePrefix: boolean;
  majorVersionUpgradeMode: string;
  majorVersionUpgradeTeamAllowList: string[];
  minimalMajorVersion: string;
  targetMajorVersion: string;
  patroniApiCheckInterval: number;
  patroniApiCheckTimeout: number;
  enablePatroniFailsafeMode: boolean;
  enableSecretsDeletion: boolean;
  enablePersistentVolumeClaimDeletion: boolean;
  persistentVolumeClaimRetentionPolicy: Record<string, string>;
}

/**
 * Upstream's defaults (the `default:` tags of pkg/util/config/config.go). Durations in seconds.
 * Frozen deeply: copy before changing (loaders return fresh objects).
 */
export const DEFAULT_OPERATOR_CONFIG: Readonly<OperatorConfig> = deepFreeze({
  readyWaitInterval: 4,
  readyWaitTimeout: 30,
  resyncPeriod: 30 * 60,
  repairPeriod: 5 * 60,
  enableCrdRegistration: true,
  crdCategories: ['all'],

  enableOwnerReferences: false,
  resourceCheckInterval: 3,
  resourceCheckTimeout: 10 * 60,
  podLabelWaitTimeout: 10 * 60,
  podDeletionWaitTimeout: 10 * 60,
  podTerminateGracePeriod: 5 * 60,
  livenessProbe: undefined,
  spiloRunasuser: undefined,
  spiloRunasgroup: undefined,
  spiloFsgroup: undefined,
  podPriorityClassName: '',
  clusterDomain: 'cluster.local',
  spiloPrivileged: false,
  spiloAllowPrivilegeEscalation: true,
  additionalPodCapabilities: [],
  clusterLabels: { application: 'spilo' },
  inheritedLabels: [],
  inheritedAnnotations: [],
  downscalerAnnotations: [],
  ignoredAnnotations: [],
  clusterNameLabel: 'cluster-name',
  deleteAnnotationDateKey: '',
  deleteAnnotationNameKey: '',
  podRoleLabel: 'spilo-role',
  toleration: {},
  defaultCpuRequest: '',
  defaultMemoryRequest: '',
  defaultCpuLimit: '',
  defaultMemoryLimit: '',
  minCpuLimit: '',
  minMemoryLimit: '',
  maxCpuRequest: '',
  maxMemoryRequest: '',
  podEnvironmentConfigmap: undefined,
  podEnvironmentSecret: '',
  nodeReadinessLabel: {},
  nodeReadinessLabelMerge: 'OR',
  enableShmVolume: true,
  maxInstances: -1,
  minInstances: -1,
  ignoreInstanceLimitsAnnotationKey: '',
  ignoreResourcesLimitsAnnotationKey: '',

  secretNameTemplate: '{username}.{cluster}.credentials.{tprkind}.{tprgroup}',
  pamRoleName: 'zalandos',
  pamConfiguration: 'https://info.example.com/oauth2/tokeninfo?access_token= uid realm=/employees',
  teamsApiUrl: 'https://teams.example.com/api/',
  oauthTokenSecretName: { namespace: '', name: 'postgresql-operator' },
  infrastructureRolesSecretName: undefined,
  infrastructureRolesSecrets: [],
  superUsername: 'postgres',
  replicationUsername: 'standby',
  additionalOwnerRoles: [],
  enablePasswordRotation: false,
  passwordRotationInterval: 90,
  passwordRotationUserRetention: 180,

  scalyrApiKey: '',
  scalyrImage: '',
  scalyrServerUrl: 'https://upload.eu.scalyr.com',
  scalyrCpuRequest: '100m',
  scalyrMemoryRequest: '50Mi',
  scalyrCpuLimit: '1',
  scalyrMemoryLimit: '500Mi',

  logicalBackupSchedule: '30 00 * * *',
  logicalBackupDockerImage: 'ghcr.io/zalando/postgres-operator/logical-backup:v2.0.1',
  logicalBackupProvider: 's3',
  logicalBackupAzureStorageAccountName: '',
  logicalBackupAzureStorageContainer: '',
  logicalBackupAzureStorageAccountKey: '',
  logicalBackupS3Bucket: '',
  logicalBackupS3BucketPrefix: 'spilo',
  logicalBackupS3Region: '',
  logicalBackupS3Endpoint: '',
  logicalBackupS3AccessKeyId: '',
  logicalBackupS3SecretAccessKey: '',
  logicalBackupS3Sse: '',
  logicalBackupS3RetentionTime: '',
  logicalBackupGoogleApplicationCredentials: '',
  logicalBackupJobPrefix: 'logical-backup-',
  logicalBackupCronjobEnvironmentSecret: '',
  logicalBackupCpuRequest: '',
  logicalBackupMemoryRequest: '',
  logicalBackupCpuLimit: '',
  logicalBackupMemoryLimit: '',
  logicalBackupSuccessfulJobsHistoryLimit: 3,
  logicalBackupFailedJobsHistoryLimit: 3,
  logicalBackupTtlSecondsAfterFinished: 86400,

  connectionPoolerNumberOfInstances: 2,
  connectionPoolerSchema: 'pooler',
  connectionPoolerUser: 'pooler',
  connectionPoolerImage: 'ghcr.io/zalando/postgres-operator/pgbouncer:v2.0.1',
  connectionPoolerMode: 'transaction',
  connectionPoolerMaxDbConnections: 60,
  connectionPoolerDefaultCpuRequest: '',
  connectionPoolerDefaultMemoryRequest: '',
  connectionPoolerDefaultCpuLimit: '',
  connectionPoolerDefaultMemoryLimit: '',

  watchedNamespace: '',
  kubernetesUseConfigmaps: true,
  etcdHost: '',
  enableMaintenanceWindows: true,
  maintenanceWindows: [],
  dockerImage: 'ghcr.io/zalando/spilo-18:4.1-p2',
  sidecarDockerImages: {},
  sidecars: [],
  podServiceAccountName: 'postgres-pod',
  podServiceAccountDefinition: '',
  podServiceAccountRoleBindingDefinition: '',
  masterPodMoveTimeout: 20 * 60,
  dbHostedZone: 'db.example.com',
  awsRegion: 'eu-central-1',
  walS3Bucket: '',
  logS3Bucket: '',
  kubeIamRole: '',
  irsaRoleArn: '',
  walGsBucket: '',
  gcpCredentials: '',
  walAzStorageAccount: '',
  additionalSecretMount: '',
  additionalSecretMountPath: '',
  debugLogging: true,
  enableDatabaseAccess: true,
  enableTeamsApi: true,
  enableTeamSuperuser: false,
  teamAdminRole: 'admin',
  roleDeletionSuffix: '_deleted',
  enableTeamMemberDeprecation: false,
  enableAdminRoleForUsers: true,
  enablePostgresTeamCrd: false,
  enablePostgresTeamCrdSuperusers: false,
  enableMasterLoadBalancer: true,
  enableMasterPoolerLoadBalancer: false,
  enableReplicaLoadBalancer: false,
  enableReplicaPoolerLoadBalancer: false,
  enableMasterNodePort: false,
  enableMasterPoolerNodePort: false,
  enableReplicaNodePort: false,
  enableReplicaPoolerNodePort: false,
  customServiceAnnotations: {},
  customPodAnnotations: {},
  enablePodAntiaffinity: false,
  podAntiaffinityPreferredDuringScheduling: false,
  podAntiaffinityTopologyKey: 'kubernetes.io/hostname',
  storageResizeMode: 'pvc',
  enableLoadBalancer: undefined,
  externalTrafficPolicy: 'Cluster',
  masterDnsNameFormat: '{cluster}.{namespace}.{hostedzone}',
  masterLegacyDnsNameFormat: '{cluster}.{team}.{hostedzone}',
  replicaDnsNameFormat: '{cluster}-repl.{namespace}.{hostedzone}',
  replicaLegacyDnsNameFormat: '{cluster}-repl.{team}.{hostedzone}',
  pdbNameFormat: 'postgres-{cluster}-pdb',
  pdbMasterLabelSelector: true,
  enablePodDisruptionBudget: true,
  enableInitContainers: true,
  enableSidecars: true,
  sharePgsocketWithSidecars: false,
  workers: 8,
  apiPort: 8080,
  ringLogLines: 100,
  clusterHistoryEntries: 1000,
  teamApiRoleConfiguration: { log_statement: 'all' },
  podManagementPolicy: 'ordered_ready',
  enableReadinessProbe: false,
  protectedRoleNames: ['admin', 'cron_admin'],
  postgresSuperuserTeams: [],
  setMemoryRequestToLimit: false,
  enableLazySpiloUpgrade: false,
  enableCrossNamespaceSecret: false,
  enableFinalizers: false,
  enablePgversionEnvVar: true,
  enableSpiloWalPathCompat: false,
  enableTeamIdClusternamePrefix: false,
  majorVersionUpgradeMode: 'manual',
  majorVersionUpgradeTeamAllowList: [],
  minimalMajorVersion: '14',
  targetMajorVersion: '18',
  patroniApiCheckInterval: 1,
  patroniApiCheckTimeout: 5,
  enablePatroniFailsafeMode: false,
  enableSecretsDeletion: true,
  enablePersistentVolumeClaimDeletion: true,
  persistentVolumeClaimRetentionPolicy: { when_deleted: 'retain', when_scaled: 'retain' },
});

/**
 * Keys where upstream's OperatorConfiguration path (the CRD schema defaults in
 * operatorconfiguration.crd.yaml and the coalescing in pkg/controller/operator_config.go)
 * yields another value than config.go. pgfn uses the config.go value for both forms.
 */
export const CONFIG_DEFAULT_DIVERGENCES: Readonly<Record<string, string>> = Object.freeze({
  master_pod_move_timeout: 'operator_config.go coalesces an empty value to "10m"; config.go and the CRD schema say "20m".',
  password_rotation_user_retention: 'the CRD schema defaults to 120; config.go and operator_config.go say 180.',
  enable_postgres_team_crd: 'the CRD schema defaults to true; config.go says false.',
  enable_teams_api: 'the CRD schema has no default, so the CRD path reads false; config.go says true.',
  oauth_token_secret_name: 'the CRD schema defaults to "postgres-operator"; config.go says "postgresql-operator".',
  connection_pooler_number_of_instances:
    'operator_config.go raises values below 2 to 2; pgfn rejects values below 1, as config.go validation does.',
  infrastructure_roles_secrets:
    'operator_config.go copies only secretname, userkey, passwordkey and rolekey of each item; pgfn keeps every field.',
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
