// Checks of roles and databases in a manifest (upstream isValidUsername, normalizeUserFlags,
// shouldAvoidProtectedOrSystemRole in pkg/cluster/; databaseNameRegexp and databaseNameOwnerValid in
// pkg/cluster/database.go). Roles upstream refuses make the cluster invalid; roles and databases it
// skips with a log line are reported as warnings.
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { preparedDatabases, preparedSchemas, sortedEntries } from './prepared-roles.js';
import { credentialSecretName } from './secrets.js';
import { desiredUsers, isValidUsername, needsSecret, normalizeUserFlags, reservedRoleReason, systemUsers, type PgUser } from './users.js';
import type { ValidationError } from './validation.js';

/** Database and schema names Postgres accepts without quoting (upstream databaseNameRegexp). */
export const DATABASE_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A DNS-1123 label: what a namespace name must be. */
const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: what a Secret name must be. */
const SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const error = (path: string, message: string): ValidationError => ({ path, message, severity: 'error' });
const warning = (path: string, message: string): ValidationError => ({ path, message, severity: 'warning' });

export function validateUsers(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  const out: ValidationError[] = [];
  const system = systemUsers(cluster, config);
  for (const [name, flags] of sortedEntries(cluster.spec.users ?? {})) {
    const path = `spec.users.${name}`;
    if (!isValidUsername(name)) {
      out.push(error(path, `The role name "${name}" is not valid: use lower-case letters, digits, "-" and "_", starting and ending with a letter or digit (optionally prefixed with "namespace.").`));
      continue;
    }
    const normalized = normalizeUserFlags(flags);
    if (!normalized.ok) out.push(error(path, `The options of role "${name}" are not valid: ${normalized.reason}.`));
    const reserved = reservedRoleReason(name, cluster, config, system);
    if (reserved !== undefined) out.push(warning(path, `The role "${name}" is ignored because ${reserved}.`));
    const dot = name.indexOf('.');
    if (config.enableCrossNamespaceSecret && dot > 0 && !NAMESPACE_PATTERN.test(name.slice(0, dot))) {
      out.push(error(path, `The role "${name}" names the namespace "${name.slice(0, dot)}" for its Secret, which is not a valid namespace name.`));
    }
  }
  return out;
}

/** Every credentials Secret name must be a DNS-1123 subdomain (prepared database names may carry capitals). */
export function validateSecretNames(cluster: Postgresql, config: OperatorConfig, users: readonly PgUser[] = desiredUsers(cluster, config)): ValidationError[] {
  const out: ValidationError[] = [];
  for (const user of users.filter(needsSecret)) {
    const name = credentialSecretName(cluster, config, user.name);
    if (name.length > 253 || !SUBDOMAIN_PATTERN.test(name)) {
      out.push(error(`secret ${name}`, `The credentials Secret of role "${user.name}" would be named "${name}", which Kubernetes does not accept (lower-case letters, digits, "-" and ".", at most 253 characters).`));
    }
  }
  return out;
}

export function validateDatabases(cluster: Postgresql, config: OperatorConfig, users: readonly PgUser[] = desiredUsers(cluster, config)): ValidationError[] {
  const out: ValidationError[] = [];
  const roles = new Set(users.map((u) => u.name));
  for (const [db, owner] of sortedEntries(cluster.spec.databases ?? {})) {
    const path = `spec.databases.${db}`;
    if (!DATABASE_NAME_PATTERN.test(db)) {
      out.push(warning(path, `The database "${db}" will not be created: its name must start with a letter or "_" and contain only letters, digits and "_".`));
    }
    if (!roles.has(owner)) {
      out.push(warning(path, `The database "${db}" will not be created: its owner "${owner}" is not a role of this cluster (add it to spec.users).`));
    }
  }
  for (const [db, prepared] of sortedEntries(preparedDatabases(cluster))) {
    const path = `spec.preparedDatabases.${db}`;
    if (!DATABASE_NAME_PATTERN.test(db)) {
      out.push(warning(path, `The prepared database "${db}" will not be created: its name must start with a letter or "_" and contain only letters, digits and "_".`));
    }
    for (const [schema] of sortedEntries(preparedSchemas(prepared))) {
      if (!DATABASE_NAME_PATTERN.test(schema)) {
        out.push(warning(`${path}.schemas.${schema}`, `The schema "${schema}" will not be created: its name must start with a letter or "_" and contain only letters, digits and "_".`));
      }
    }
    if (prepared.secretNamespace && !config.enableCrossNamespaceSecret) {
      out.push(warning(`${path}.secretNamespace`, `The Secrets of database "${db}" stay in the cluster's namespace because the configuration does not enable cross-namespace secrets (enable_cross_namespace_secret).`));
    }
  }
  return out;
}
