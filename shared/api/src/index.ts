// Public API of @pgfn/api: CR types, API constants, the operator configuration and its loaders.
export * from './constants.js';
export type * from './postgresql.js';
export { CLUSTER_STATUS } from './postgresql.js';
export type * from './postgres-team.js';
export type * from './operator-configuration.js';
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
