// Default roles of spec.preparedDatabases (upstream initPreparedDatabaseRoles and initDefaultRoles in
// pkg/cluster/cluster.go; suffixes and search path in pkg/util/constants/roles.go). Per database and
// per schema: NOLOGIN group roles <prefix>_owner, _reader, _writer (writer inherits reader) and, with
// defaultUsers, LOGIN roles <prefix>_owner_user, _reader_user, _writer_user that join them.
import type { OperatorConfig, Postgresql, PreparedDatabase, PreparedSchema } from '@pgfn/api';
import { clusterNamespace } from './inputs.js';
import { clusterName } from './names.js';
import type { PgUser } from './users.js';

/** Group roles: suffix → the suffix of the role it inherits from. */
const DEFAULT_ROLES: readonly [string, string][] = [
  ['_owner', ''],
  ['_reader', ''],
  ['_writer', '_reader'],
];
/** Login roles: suffix → the group role it joins. */
const DEFAULT_USERS: readonly [string, string][] = [
  ['_owner_user', '_owner'],
  ['_reader_user', '_reader'],
  ['_writer_user', '_writer'],
];
const DEFAULT_SEARCH_PATH = '"$user"';
/** The owner of a prepared database's owner role (upstream passes "admin" literally). */
const DATABASE_ADMIN_ROLE = 'admin';

/**
 * preparedDatabases: {} (present but empty) prepares one database named after the cluster. A database
 * written without a body in YAML (`shop:`) is null and means {}.
 */
export function preparedDatabases(cluster: Postgresql): Record<string, PreparedDatabase> {
  const prepared = cluster.spec.preparedDatabases;
  if (prepared === undefined || prepared === null) return {};
  if (Object.keys(prepared).length === 0) return { [clusterName(cluster).replaceAll('-', '_')]: {} };
  return withoutNulls(prepared);
}

/** A database without schemas gets the schema "data" with default roles. */
export function preparedSchemas(db: PreparedDatabase): Record<string, PreparedSchema> {
  const schemas = withoutNulls(db.schemas ?? {});
  return Object.keys(schemas).length > 0 ? schemas : { data: { defaultRoles: true } };
}

function withoutNulls<T extends object>(record: Readonly<Record<string, T | null>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of Object.entries(record)) out[key] = value ?? ({} as T);
  return out;
}

interface RoleGroup {
  readonly prefix: string;
  readonly admin: string;
  readonly searchPath: string;
  readonly namespace: string;
}

export function preparedDatabaseRoles(cluster: Postgresql, config: OperatorConfig): PgUser[] {
  const out: PgUser[] = [];
  for (const [dbName, db] of sortedEntries(preparedDatabases(cluster))) {
    // secretNamespace is honoured only with enable_cross_namespace_secret.
    const namespace = db.secretNamespace && config.enableCrossNamespaceSecret ? db.secretNamespace : clusterNamespace(cluster);
    const schemas = sortedEntries(preparedSchemas(db));
    const dbSearchPath = [DEFAULT_SEARCH_PATH, ...schemas.map(([s]) => JSON.stringify(s))].join(', ');
    const dbGroup: RoleGroup = { prefix: dbName, admin: DATABASE_ADMIN_ROLE, searchPath: dbSearchPath, namespace };
    out.push(...roles(dbGroup, DEFAULT_ROLES));
    if (db.defaultUsers) out.push(...roles(dbGroup, DEFAULT_USERS));
    for (const [schemaName, schema] of schemas) {
      if (schema.defaultRoles === false) continue;
      const group: RoleGroup = {
        prefix: `${dbName}_${schemaName}`,
        admin: `${dbName}_owner`,
        searchPath: `${DEFAULT_SEARCH_PATH}, ${JSON.stringify(schemaName)}`,
        namespace,
      };
      out.push(...roles(group, DEFAULT_ROLES));
      if (schema.defaultUsers) out.push(...roles(group, DEFAULT_USERS));
    }
  }
  return out;
}

function roles(group: RoleGroup, kinds: readonly [string, string][]): PgUser[] {
  return kinds.map(([suffix, joins]): PgUser => {
    const isOwner = suffix.includes('_owner');
    return {
      name: `${group.prefix}${suffix}`,
      namespace: group.namespace,
      origin: 'bootstrap',
      flags: suffix.endsWith('_user') ? ['LOGIN'] : ['NOLOGIN'],
      memberOf: joins === '' ? [] : [`${group.prefix}${joins}`],
      adminRole: isOwner ? group.admin : `${group.prefix}_owner`,
      isDbOwner: isOwner,
      parameters: { search_path: group.searchPath },
    };
  });
}

/** Entries of a record sorted by key, so maps always yield objects in the same order. */
export function sortedEntries<T>(record: Readonly<Record<string, T>>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
