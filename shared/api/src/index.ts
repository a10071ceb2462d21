// Public API of @pgfn/api: CR types, API constants, the operator configuration and its loaders.
export {
  API_VERSION,
  GROUP,
  OPERATOR_CONFIGURATION_CRD_NAME,
  OPERATOR_CONFIGURATION_KIND,
  OPERATOR_CONFIGURATION_LIST_KIND,
  OPERATOR_CONFIGURATION_PLURAL,
  OPERATOR_CONFIGURATION_SHORT_NAME,
  OPERATOR_CONFIGURATION_SINGULAR,
  POSTGRESQL_CRD_NAME,
  POSTGRESQL_KIND,
  POSTGRESQL_LIST_KIND,
  POSTGRESQL_PLURAL,
  POSTGRESQL_SHORT_NAME,
  POSTGRESQL_SINGULAR,
  POSTGRES_TEAM_CRD_NAME,
  POSTGRES_TEAM_KIND,
  POSTGRES_TEAM_LIST_KIND,
  POSTGRES_TEAM_PLURAL,
  POSTGRES_TEAM_SHORT_NAME,
  POSTGRES_TEAM_SINGULAR,
  VERSION,
} from './constants.js';
export {
  CLUSTER_STATUS,
  type KnownOr,
  type AdditionalVolume,
  type CloneDescription,
  type ClusterStatus,
  type Condition,
  type ConnectionPooler,
  type MaintenanceWindow,
  type Patroni,
  type PostgresSpec,
  type PostgresStatus,
  type Postgresql,
  type PostgresqlList,
  type PostgresqlParam,
  type PreparedDatabase,
  type PreparedSchema,
  type ResourceDescription,
  type Resources,
  type Sidecar,
  type StandbyDescription,
  type Stream,
  type StreamTable,
  type TLSDescription,
  type UserFlags,
  type Volume,
  type VolumeSource,
} from './postgresql.js';
export { type PostgresTeam, type PostgresTeamList, type PostgresTeamSpec } from './postgres-team.js';
export {
  type AWSGCPConfiguration,
  type ConnectionPoolerConfiguration,
  type GoDuration,
  type InfrastructureRoleSpec,
  type KubernetesMetaConfiguration,
  type LoadBalancerConfiguration,
  type LoggingRESTAPIConfiguration,
  type MajorVersionUpgradeConfiguration,
  type OperatorConfiguration,
  type OperatorConfigurationData,
  type OperatorConfigurationList,
  type OperatorDebugConfiguration,
  type OperatorLogicalBackupConfiguration,
  type OperatorTimeouts,
  type PatroniConfiguration,
  type PostgresPodResourcesDefaults,
  type PostgresUsersConfiguration,
  type ScalyrConfiguration,
  type TeamsAPIConfiguration,
} from './operator-configuration.js';
export type { OperatorConfig, NamespacedName, InfrastructureRole } from './config.js';
export { DEFAULT_OPERATOR_CONFIG, CONFIG_DEFAULT_DIVERGENCES } from './config.js';
export { CONFIG_KEYS, camelCase, type ConfigKey, type ValueKind, type CrdGroup } from './config-keys.js';
export type { ConfigError, ConfigLoadResult, ConfigLoadOptions } from './config-load.js';
export { fromConfigMap } from './from-config-map.js';
export { fromOperatorConfiguration } from './from-operator-configuration.js';
export { toOperatorConfiguration, DEFAULT_OPERATOR_CONFIGURATION_NAME } from './to-operator-configuration.js';
export {
  parseGoBool,
  parseGoInt,
  parseGoDuration,
  formatGoDuration,
  parseGoList,
  parseGoMap,
  splitMapPairs,
  parseNamespacedName,
  formatNamespacedName,
  type IntFormat,
} from './go-parse.js';
export {
  parseMaintenanceWindow,
  formatMaintenanceWindow,
  isInMaintenanceWindow,
  type ParsedMaintenanceWindow,
} from './maintenance-window.js';
export { WAL_ARCHIVE_FAILURE_ANNOTATION } from './pod-annotations.js';
