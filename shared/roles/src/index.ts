// Public API of @pgfn/roles.
//
// Flow for one cluster (the caller does the I/O between the steps):
//   1. buildRoleModel({ cluster, config, infrastructureRoles })     -> roles with origins, problems
//   2. credentialSecretRefs(model, config)                            -> Secrets to read
//   3. planCredentials({ model, spec, config, secrets, now, newPassword }) -> Secrets to write, logins
//   4. write the Secrets; roles whose Secret failed are `degraded`
//   5. buildDesiredState({ model, cluster, config, credentials, now, degraded })
//   6. pickMaster({ endpoints, pods, roleLabel }) (functions: the kit's findMaster) and syncRolesAndDatabases(connection, desired, options)
// Steps 1–3, 5 and planSync are pure.
export { ROLE_ORIGINS, DEFAULT_ACL_OBJTYPE, defaultAclKey } from './model.js';
export type {
  RoleOrigin,
  SystemUserKey,
  RoleSpec,
  Problem,
  RolesConfig,
  DesiredRole,
  DesiredDatabase,
  DesiredSchema,
  DesiredExtension,
  DefaultPrivilegeObject,
  DefaultPrivilege,
  SchemaUsage,
  PoolerLookup,
  RotationCleanup,
  DesiredState,
  Membership,
  CurrentRole,
  CurrentDatabase,
  CurrentSchema,
  PoolerFunctionState,
  DatabaseObjects,
  CurrentState,
  StatementKind,
  Statement,
  Plan,
} from './model.js';
export { ROLE_FLAGS, normalizeFlags, formatFlags, isRoleFlag, type RoleFlag, type FlagSet, type FlagsResult } from './flags.js';
export { quoteIdent, quoteLiteral, identifierProblem, MAX_IDENTIFIER_BYTES } from './quote.js';
export {
  userNameProblem,
  databaseNameProblem,
  parameterNameProblem,
  rotationUserName,
  rotationUserDate,
  rotationDateSuffix,
  defaultPreparedDatabaseName,
  OWNER_SUFFIX,
  READER_SUFFIX,
  WRITER_SUFFIX,
  USER_SUFFIX,
  DEFAULT_PREPARED_SCHEMA,
  PREPARED_DATABASE_ADMIN_ROLE,
  STREAM_USER,
} from './names.js';
export {
  scramSha256,
  md5Password,
  hashPassword,
  storedPasswordMatches,
  passwordEncryptionOf,
  parseScram,
  SCRAM_ITERATIONS,
  SCRAM_SALT_BYTES,
  type PasswordEncryption,
  type RandomBytes,
} from './password-hash.js';
export { saslprep } from './saslprep.js';
export {
  buildRoleModel,
  resolveNameConflict,
  needsConnectionPooler,
  poolerUserName,
  poolerSchemaName,
  type RoleModel,
  type RoleModelInput,
  type RoleCluster,
  type InfrastructureRoleInput,
} from './role-specs.js';
export {
  infrastructureRoleDefinitions,
  parseInfrastructureRoles,
  readInfrastructureRoles,
  type InfrastructureRoleSource,
  type InfrastructureRoles,
} from './infrastructure-roles.js';
export {
  normalizePreparedDatabases,
  preparedDatabasePrivileges,
  type PreparedDatabaseSpec,
  type PreparedSchemaSpec,
} from './prepared-databases.js';
export {
  credentialSecretRefs,
  planCredentials,
  formatRfc3339,
  parseRfc3339,
  type SecretContent,
  type SecretRef,
  type CredentialPlan,
  type CredentialsInput,
  type RotationSpec,
} from './credentials.js';
export { buildDesiredState, type DesiredStateInput } from './desired-state.js';
export { planSync } from './plan.js';
export { planRoles, parameterEqual } from './diff-roles.js';
export { planDatabases, databasesToVisit, TEMPLATE_DATABASE } from './diff-databases.js';
export { USER_LOOKUP_BODY, createUserLookupSql } from './pooler.js';
export { parseListValue, parameterValueSql } from './sql.js';
export { readCurrentState, readRoles, readDatabases, readDatabaseObjects } from './reader.js';
export { Sessions, openClient, sslOption, DEFAULT_MAINTENANCE_DATABASE, type ConnectionConfig, type SslMode } from './connection.js';
export {
  executePlan,
  type ExecuteOptions,
  type ExecutionResult,
  type ProgressEvent,
  type StatementError,
  type StatementOutcome,
} from './executor.js';
export { isRetryable, isConnectionLost, withRetries, type RetryOptions } from './retry.js';
export { syncRolesAndDatabases, countByKind, type SyncOptions, type SyncReport } from './sync.js';
export { pickMaster, type MasterAddress, type MasterInput, type MasterResult } from './master.js';
