// Checks of roles and databases in a manifest (upstream isValidUsername, normalizeUserFlags,
// shouldAvoidProtectedOrSystemRole in pkg/cluster/; databaseNameRegexp and databaseNameOwnerValid in
// pkg/cluster/database.go). Roles upstream refuses make the cluster invalid. pgfn is stricter than
// upstream for names Postgres cannot take (ADR 0006): an invalid or over-long database, schema or
// role name is an error, not a skipped line in a log. Protected and system role names stay warnings,
// as upstream ignores them and existing manifests must keep working.
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { preparedDatabases, preparedSchemas, sortedEntries } from './prepared-roles.js';
import { credentialSecretName } from './secrets.js';
import { desiredUsers, isValidUsername, needsSecret, normalizeUserFlags, reservedRoleReason, systemUsers, type PgUser } from './users.js';
import type { ValidationError } from './validation.js';

/** Database and schema names Postgres accepts without quoting (upstream databaseNameRegexp). */
export const DATABASE_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Postgres truncates identifiers to 63 bytes (NAMEDATALEN - 1): longer names would silently collide. */
export const MAX_IDENTIFIER_BYTES = 63;
const tooLong = (name: string): boolean => Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES;
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
      out.push(
        error(
          path,
          `The role name "${name}" is not valid: use lower-case letters, digits, "-" and "_", starting and ` +
            `ending with a letter or digit (optionally prefixed with "namespace.").`,
        ),
      );
      continue;
    }
    const roleName = name.includes('.') && config.enableCrossNamespaceSecret ? name.slice(name.indexOf('.') + 1) : name;
    if (tooLong(roleName)) {
      out.push(error(path, `The role name "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes, the most Postgres keeps; shorten it.`));
      continue;
    }
    const normalized = normalizeUserFlags(flags);
    if (!normalized.ok) out.push(error(path, `The options of role "${name}" are not valid: ${normalized.reason}.`));
    const reserved = reservedRoleReason(name, cluster, config, system);
    if (reserved !== undefined) out.push(warning(path, `The role "${name}" is ignored because ${reserved}.`));
    const dot = name.indexOf('.');
    if (config.enableCrossNamespaceSecret && dot > 0 && !NAMESPACE_PATTERN.test(name.slice(0, dot))) {
      out.push(
        error(path, `The role "${name}" names the namespace "${name.slice(0, dot)}" for its Secret, which is not a valid namespace name.`),
      );
    }
  }
  return out;
}

/** Every credentials Secret name must be a DNS-1123 subdomain (prepared database names may carry capitals). */
export function validateSecretNames(
  cluster: Postgresql,
  config: OperatorConfig,
  users: readonly PgUser[] = desiredUsers(cluster, config),
): ValidationError[] {
  const out: ValidationError[] = [];
  for (const user of users.filter(needsSecret)) {
    const name = credentialSecretName(cluster, config, user.name);
    if (name.length > 253 || !SUBDOMAIN_PATTERN.test(name)) {
      out.push(
        error(
          `secret ${name}`,
          `The credentials Secret of role "${user.name}" would be named "${name}", which Kubernetes does not ` +
            `accept (lower-case letters, digits, "-" and ".", at most 253 characters).`,
        ),
      );
    }
  }
  return out;
}

export function validateDatabases(
  cluster: Postgresql,
  config: OperatorConfig,
  users: readonly PgUser[] = desiredUsers(cluster, config),
): ValidationError[] {
  const out: ValidationError[] = [];
  const roles = new Set(users.map((u) => u.name));
  for (const [db, owner] of sortedEntries(cluster.spec.databases ?? {})) {
    const path = `spec.databases.${db}`;
    if (!DATABASE_NAME_PATTERN.test(db) || tooLong(db)) {
      out.push(
        error(
          path,
          `The database name "${db}" is not valid: it must start with a letter or "_", contain only letters, ` +
            `digits and "_", and be at most ${MAX_IDENTIFIER_BYTES} bytes.`,
        ),
      );
    }
    if (!isValidUsername(owner) || tooLong(owner)) {
      out.push(
        error(
          path,
          `The owner "${owner}" of database "${db}" is not a valid role name: use lower-case letters, digits, ` +
            `"-" and "_", at most ${MAX_IDENTIFIER_BYTES} bytes.`,
        ),
      );
    } else if (!roles.has(owner)) {
      out.push(
        warning(
          path,
          `The database "${db}" will not be created: its owner "${owner}" is not a role of this cluster (add it to spec.users).`,
        ),
      );
    }
  }
  for (const [db, prepared] of sortedEntries(preparedDatabases(cluster))) {
    const path = `spec.preparedDatabases.${db}`;
    // Prepared roles are named <db>_<schema>_writer etc., so the name must leave room for them.
    if (!DATABASE_NAME_PATTERN.test(db) || tooLong(`${db}_owner_user`)) {
      out.push(
        error(
          path,
          `The prepared database name "${db}" is not valid: it must start with a letter or "_", contain only ` +
            `letters, digits and "_", and leave room for its roles ("${db}_owner_user" must fit in ` +
            `${MAX_IDENTIFIER_BYTES} bytes).`,
        ),
      );
    }
    for (const [schema] of sortedEntries(preparedSchemas(prepared))) {
      if (!DATABASE_NAME_PATTERN.test(schema) || tooLong(`${db}_${schema}_owner_user`)) {
        out.push(
          error(
            `${path}.schemas.${schema}`,
            `The schema name "${schema}" is not valid: it must start with a letter or "_", contain only letters, ` +
              `digits and "_", and "${db}_${schema}_owner_user" must fit in ${MAX_IDENTIFIER_BYTES} bytes.`,
          ),
        );
      }
    }
    if (prepared.secretNamespace && !config.enableCrossNamespaceSecret) {
      out.push(
        warning(
          `${path}.secretNamespace`,
          `The Secrets of database "${db}" stay in the cluster's namespace because the configuration does not ` +
            `enable cross-namespace secrets (enable_cross_namespace_secret).`,
        ),
      );
    }
  }
  return out;
}
