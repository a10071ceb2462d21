// Public API of @pgfn/builder: pure functions from (postgresql, operator configuration, inputs read
// beforehand) to the Kubernetes objects of a cluster, plus names, labels, hashes, comparison and
// validation. buildCluster (build-cluster.ts) is the entry point; the rest is exported for callers
// that need one piece (the reconcile, rolling-update and role-sync functions, tests, the render CLI).
export { buildCluster, type BuildResult } from './build-cluster.js';
export { bucketScopeSuffix, cloneEnv, standbyEnv, type CloneEnvConfig } from './clone-standby-env.js';
export { SERVICE_NAME_PATTERN, extractClusterName, type ExtractedName } from './cluster-name.js';
export { compareStatefulSet, type CompareOptions, type StatefulSetAction, type StatefulSetComparison } from './compare.js';
export { compareLive, type DriftAction, type DriftComparison, type DriftOptions } from './drift.js';
export { buildMasterEndpoints, patroniUsesConfigMaps } from './endpoints.js';
export { appendEnvVars, fieldEnv, secretEnv, valueEnv } from './env-vars.js';
export { clusterNamespace, type BuildInputs, type KubeObject, type PodEnvironmentData } from './inputs.js';
export { isStandbyCluster, numberOfInstances } from './instances.js';
export {
  APPLICATION_LABEL,
  CRITICAL_OPERATION_LABEL,
  DEFAULT_CLUSTER_LABELS,
  DEFAULT_CLUSTER_NAME_LABEL,
  DEFAULT_POD_ROLE_LABEL,
  FIELD_MANAGER,
  MASTER_ROLE,
  POD_TEMPLATE_CONTENT_HASH_ANNOTATION,
  POD_TEMPLATE_HASH_ANNOTATION,
  REPLICA_ROLE,
  ROLLING_UPDATE_REQUIRED_ANNOTATION,
  TEAM_LABEL,
  clusterLabels,
  clusterNameLabelKey,
  downscalerAnnotations,
  inheritedAnnotations,
  inheritedLabels,
  objectAnnotations,
  objectLabels,
  podRoleLabelKey,
  roleObjectLabels,
  roleSelectorLabels,
  type LabelConfig,
  type LabelledCluster,
  type PostgresRole,
} from './labels.js';
export { podAwaitsRollingUpdate } from './pod-work.js';
export {
  LOGICAL_BACKUP_APPLICATION,
  LOGICAL_BACKUP_CONTAINER_NAME,
  buildLogicalBackupCronJob,
  cronJobSecretEnv,
  logicalBackupEnv,
  logicalBackupRetention,
} from './logical-backup.js';
export { ownedMapKeys } from './managed-fields.js';
export {
  CLUSTER_NAME_MAX_LENGTH,
  CRONJOB_NAME_MAX_LENGTH,
  DEFAULT_LOGICAL_BACKUP_JOB_PREFIX,
  DEFAULT_PDB_NAME_FORMAT,
  DEFAULT_POD_SERVICE_ACCOUNT_NAME,
  DEFAULT_SECRET_NAME_TEMPLATE,
  SERVICE_NAME_MAX_LENGTH,
  clusterName,
  configServiceName,
  criticalOpPdbName,
  formatTemplate,
  logicalBackupJobName,
  masterServiceName,
  pdbName,
  podServiceAccountName,
  poolerName,
  replicaServiceName,
  secretName,
  serviceNameForRole,
  statefulSetName,
  trimCronJobName,
  type LogicalBackupNameConfig,
  type NamedCluster,
  type PdbNameConfig,
  type SecretNameConfig,
  type ServiceAccountNameConfig,
} from './names.js';
export { normalizeCluster } from './normalize.js';
export { desiredObjectKeys, objectKey, objectRef, objectsToPrune, prunableObjectRefs, type ObjectRef } from './object-keys.js';
export { clusterObjectMeta, clusterPodAnnotations, type MetaParts } from './object-meta.js';
export { ownerReferences } from './owner.js';
export {
  mustMarkPodsForRotation,
  passwordChanges,
  podRotationReasons,
  type PasswordChange,
  type PasswordChangeKind,
} from './password-changes.js';
export {
  decideCredentials,
  formatRfc3339,
  nextRotationDate,
  parseRfc3339,
  rotationApplies,
  rotationSuffix,
  rotationUserName,
  type CredentialDecision,
  type CredentialOutcome,
  type CredentialSubject,
  type PasswordPods,
  type RotationContext,
  type RotationSpec,
  type SecretData,
} from './password-rotation.js';
export { buildCriticalOpPdb, buildPdbs, buildPrimaryPdb } from './pdb.js';
export { IRSA_ANNOTATION, buildPodRoleBinding, buildPodServiceAccount } from './pod-service-account.js';
export {
  canonicalJson,
  podTemplateContentHash,
  podTemplateHash,
  rotationRelevantTemplate,
  storedPodTemplateHash,
  withPodTemplateHash,
  type PodTemplateHashOptions,
} from './pod-template-hash.js';
export { KUBE_IAM_ANNOTATION, buildPodTemplate, type PodTemplateResult } from './pod-template.js';
export {
  DATA_MOUNT_PATH,
  DATA_VOLUME_NAME,
  POSTGRES_CONTAINER_NAME,
  RUN_MOUNT_PATH,
  RUN_VOLUME_NAME,
  SHM_MOUNT_PATH,
  SHM_VOLUME_NAME,
  addAdditionalVolumes,
  addRunVolume,
  addSecretVolume,
  addShmVolume,
  dataVolumeMount,
  type PodVolumes,
} from './pod-volumes.js';
export { CONNECTION_POOLER_LABEL, POOLER_APPLICATION, poolerObjectLabels, poolerSelectorLabels } from './pooler-labels.js';
export { buildPoolerService, poolerExposure, poolerServiceAnnotations } from './pooler-service.js';
export {
  POOLER_DEFAULT_MAX_DB_CONNECTIONS,
  POOLER_FALLBACK_RESOURCES,
  POOLER_MAX_CLIENT_CONNECTIONS,
  POOLER_MIN_INSTANCES,
  needMasterPooler,
  needPooler,
  needReplicaPooler,
  poolerDefaultResources,
  poolerImage,
  poolerMode,
  poolerSchema,
  poolerSizes,
  poolerUser,
  type PoolerSizes,
} from './pooler-settings.js';
export {
  POOLER_CONTAINER_NAME,
  POOLER_RUN_AS_GROUP,
  POOLER_RUN_AS_USER,
  USERLIST_KEY,
  buildPoolerAuthSecret,
  buildPoolerDeployment,
  poolerAuthSecretName,
  poolerEnv,
  poolerSizeEnv,
  userlist,
} from './pooler.js';
export { preparedDatabaseRoles, preparedDatabases, preparedSchemas, sortedEntries } from './prepared-roles.js';
export { compareQuantities, isQuantity, isZeroQuantity, quantityNanos } from './quantity.js';
export {
  defaultResources,
  enforcesThresholds,
  postgresResources,
  resourceRequirements,
  type ResourceConfig,
  type ResourceOptions,
} from './resources.js';
export {
  nodeAffinity,
  podAffinity,
  tolerations,
  topologySpreadConstraints,
  type AntiAffinityConfig,
  type NodeAffinityConfig,
} from './scheduling.js';
export { checkAgainstSchema, type SchemaNode } from './schema-check.js';
export { secretHolders, type SecretClaim } from './secret-holders.js';
export { buildUserSecrets, credentialSecretName, encodeData, readSecretData, type UserCredentials, type UserSecrets } from './secrets.js';
export {
  DEFAULT_LOAD_BALANCER_SOURCE_RANGE,
  DNS_NAME_ANNOTATION,
  applyExposure,
  buildService,
  buildServices,
  customServiceAnnotations,
  dnsName,
  exposure,
  isLoadBalancer,
  roleDnsName,
  serviceAnnotations,
  serviceExposure,
  type Exposure,
} from './services.js';
export { SCALYR_SIDECAR_NAME, buildSidecars, mergeContainers, sidecarInjectedEnv } from './sidecars.js';
export {
  LOCAL_POSTGRESQL_PARAMETERS,
  goJson,
  initdbOptions,
  isBootstrapOnlyParameter,
  spiloConfiguration,
  spiloConfigurationJson,
  splitPostgresqlParameters,
  type SpiloConfigConfig,
} from './spilo-config.js';
export {
  OPERATOR_API_PORT,
  PATRONI_API_PORT,
  POSTGRES_PORT,
  capabilities,
  spiloContainer,
  spiloReadinessProbe,
  type SpiloContainerParts,
} from './spilo-container.js';
export { PGROOT, desiredMajorVersion, spiloEnv, type PodEnvironmentInputs } from './spilo-env.js';
export {
  buildStatefulSet,
  buildStatefulSetResult,
  podManagementPolicy,
  pvcRetentionPolicy,
  volumeClaimTemplate,
  type StatefulSetInputs,
  type StatefulSetResult,
} from './statefulset.js';
export { TLS_CA_MOUNT_PATH, TLS_MOUNT_PATH, ensurePath, tlsMounts } from './tls.js';
export {
  ROLE_ORIGINS,
  STREAM_USER_NAME,
  USER_NAME_PATTERN,
  desiredUsers,
  infrastructureUsers,
  isValidUsername,
  manifestUsers,
  needsSecret,
  normalizeUserFlags,
  reservedRoleReason,
  systemUsers,
  type InfrastructureUser,
  type NormalizedFlags,
  type PgUser,
  type RoleOrigin,
} from './users.js';
export { DATABASE_NAME_PATTERN, MAX_IDENTIFIER_BYTES, validateDatabases, validateSecretNames, validateUsers } from './validation-users.js';
export { SUPPORTED_VERSIONS, isBuildable, maintenanceWindowProblem, validateCluster, type ValidationError } from './validation.js';
export {
  PLACEHOLDER_NOTE,
  POSTGRESQL_CRD_FILE,
  loadConfigDocument,
  placeholderPasswords,
  renderYaml,
  runRender,
  type RenderIo,
} from './render.js';
