// preparedDatabases: each database with `<db>_owner/_reader/_writer` roles (and `_user` login
// variants with defaultUsers), schemas (default `data`) with their own `<db>_<schema>_*` roles,
// search_path settings, extensions, and the default privileges that tie them together.
// Facts from upstream pkg/cluster/cluster.go (initPreparedDatabaseRoles, initDefaultRoles),
// pkg/cluster/sync.go (syncDatabases, syncPreparedDatabases, syncPreparedSchemas) and
// pkg/cluster/database.go (execCreateDatabaseSchema, the default privilege statements); docs/user.md.
import type { DefaultPrivilege, Problem, RoleSpec, RolesConfig, SchemaUsage } from './model.js';
import type { RoleCluster } from './role-specs.js';
import {
  databaseNameProblem,
  DEFAULT_PREPARED_SCHEMA,
  defaultPreparedDatabaseName,
  OWNER_SUFFIX,
  PREPARED_DATABASE_ADMIN_ROLE,
  READER_SUFFIX,
  USER_SUFFIX,
  WRITER_SUFFIX,
} from './names.js';
import { identifierProblem } from './quote.js';

export interface PreparedSchemaSpec {
  readonly name: string;
  readonly defaultRoles: boolean;
  readonly defaultUsers: boolean;
}

export interface PreparedDatabaseSpec {
  readonly name: string;
  readonly defaultUsers: boolean;
  readonly secretNamespace: string;
  /** Sorted by name. */
  readonly schemas: readonly PreparedSchemaSpec[];
  /** [extension, schema], sorted by extension. */
  readonly extensions: readonly (readonly [string, string])[];
}

const EXTENSION_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The prepared databases with upstream's defaults filled in: `preparedDatabases: {}` means one
 * database named like the cluster; a database without schemas gets `data`.
 */
export function normalizePreparedDatabases(
  cluster: RoleCluster,
  config: RolesConfig,
  namespace: string,
): { databases: PreparedDatabaseSpec[]; problems: Problem[] } {
  const problems: Problem[] = [];
  let prepared = cluster.spec.preparedDatabases;
  if (prepared === undefined || prepared === null) return { databases: [], problems };
  if (Object.keys(prepared).length === 0) prepared = { [defaultPreparedDatabaseName(cluster.metadata.name ?? '')]: {} };
  const databases: PreparedDatabaseSpec[] = [];
  for (const name of Object.keys(prepared).sort(byName)) {
    const path = `spec.preparedDatabases[${JSON.stringify(name)}]`;
    const db = prepared[name] ?? {};
    const nameProblem = databaseNameProblem(name) ?? roleNamesProblem(name, db.defaultUsers === true);
    if (nameProblem !== undefined) {
      problems.push({ level: 'error', path, message: `the database name ${nameProblem}` });
      continue;
    }
    let secretNamespace = namespace;
    if (db.secretNamespace) {
      if (config.enableCrossNamespaceSecret) secretNamespace = db.secretNamespace;
      else
        problems.push({
          level: 'warning',
          path: `${path}.secretNamespace`,
          message: 'ignored because enable_cross_namespace_secret is false; Secrets go to the cluster namespace',
        });
    }
    databases.push({
      name,
      defaultUsers: db.defaultUsers === true,
      secretNamespace,
      schemas: preparedSchemas(name, db.schemas, path, problems),
      extensions: extensions(db.extensions ?? {}, path, problems),
    });
  }
  return { databases, problems };
}

function preparedSchemas(
  db: string,
  schemas: Record<string, { defaultRoles?: boolean; defaultUsers?: boolean }> | undefined,
  path: string,
  problems: Problem[],
): PreparedSchemaSpec[] {
  const given =
    schemas !== undefined && schemas !== null && Object.keys(schemas).length > 0
      ? schemas
      : { [DEFAULT_PREPARED_SCHEMA]: { defaultRoles: true } };
  const out: PreparedSchemaSpec[] = [];
  for (const name of Object.keys(given).sort(byName)) {
    const schema = given[name] ?? {};
    const defaultRoles = schema.defaultRoles !== false;
    const problem =
      databaseNameProblem(name) ?? (defaultRoles ? roleNamesProblem(`${db}_${name}`, schema.defaultUsers === true) : undefined);
    if (problem !== undefined) {
      problems.push({ level: 'error', path: `${path}.schemas[${JSON.stringify(name)}]`, message: `the schema name ${problem}` });
      continue;
    }
    out.push({ name, defaultRoles, defaultUsers: schema.defaultUsers === true });
  }
  return out;
}

function extensions(given: Record<string, string>, path: string, problems: Problem[]): [string, string][] {
  const out: [string, string][] = [];
  for (const name of Object.keys(given).sort(byName)) {
    const schema = given[name] ?? '';
    const problem =
      (EXTENSION_NAME.test(name) ? identifierProblem(name) : 'is not a valid extension name') ??
      (databaseNameProblem(schema) === undefined ? undefined : `has an invalid schema ${JSON.stringify(schema)}`);
    if (problem !== undefined) {
      problems.push({ level: 'error', path: `${path}.extensions[${JSON.stringify(name)}]`, message: `the extension ${problem}` });
      continue;
    }
    out.push([name, schema]);
  }
  return out;
}

/** The longest role derived from `prefix` must fit into an identifier. */
function roleNamesProblem(prefix: string, withUsers: boolean): string | undefined {
  const longest = `${prefix}${WRITER_SUFFIX}${withUsers ? USER_SUFFIX : ''}`;
  const problem = identifierProblem(longest);
  return problem === undefined ? undefined : `makes role ${JSON.stringify(longest)}, which ${problem}`;
}

/** Default roles of every prepared database and schema (upstream initPreparedDatabaseRoles). */
export function preparedDatabaseRoles(cluster: RoleCluster, config: RolesConfig, namespace: string, problems: Problem[]): RoleSpec[] {
  const normalized = normalizePreparedDatabases(cluster, config, namespace);
  problems.push(...normalized.problems);
  const roles: RoleSpec[] = [];
  for (const db of normalized.databases) {
    const searchPath = searchPathOf(db.schemas.map((s) => s.name));
    roles.push(
      ...defaultRoles(db.name, {
        ownerAdmin: PREPARED_DATABASE_ADMIN_ROLE,
        searchPath,
        withUsers: db.defaultUsers,
        secretNamespace: db.secretNamespace,
      }),
    );
    for (const schema of db.schemas) {
      if (!schema.defaultRoles) continue;
      roles.push(
        ...defaultRoles(`${db.name}_${schema.name}`, {
          ownerAdmin: db.name + OWNER_SUFFIX,
          searchPath: searchPathOf([schema.name]),
          withUsers: schema.defaultUsers,
          secretNamespace: db.secretNamespace,
        }),
      );
    }
  }
  return roles;
}

/** `"$user", "a", "b"`: the role's own schema first, then the prepared schemas (sorted, as Go's map order is random). */
function searchPathOf(schemas: readonly string[]): string {
  return ['"$user"', ...schemas.map((s) => `"${s}"`)].join(', ');
}

/**
 * `<prefix>_owner` (admin: `admin`), `_reader` and `_writer` (in `_reader`), admin `<prefix>_owner`;
 * NOLOGIN. With users, `<role>_user` LOGIN roles in their NOLOGIN counterpart, with a Secret.
 */
function defaultRoles(
  prefix: string,
  {
    ownerAdmin,
    searchPath,
    withUsers,
    secretNamespace,
  }: { ownerAdmin: string; searchPath: string; withUsers: boolean; secretNamespace: string },
): RoleSpec[] {
  const owner = prefix + OWNER_SUFFIX;
  const reader = prefix + READER_SUFFIX;
  const writer = prefix + WRITER_SUFFIX;
  const parameters = { search_path: searchPath };
  const base = { origin: 'bootstrap' as const, parameters };
  const roles: RoleSpec[] = [
    { ...base, name: owner, flags: { LOGIN: false }, memberOf: [], adminRole: ownerAdmin, isDbOwner: true },
    { ...base, name: reader, flags: { LOGIN: false }, memberOf: [], adminRole: owner, isDbOwner: false },
    { ...base, name: writer, flags: { LOGIN: false }, memberOf: [reader], adminRole: owner, isDbOwner: false },
  ];
  if (withUsers) {
    roles.push(
      {
        ...base,
        name: owner + USER_SUFFIX,
        flags: { LOGIN: true },
        memberOf: [owner],
        adminRole: ownerAdmin,
        isDbOwner: true,
        secretNamespace,
      },
      {
        ...base,
        name: reader + USER_SUFFIX,
        flags: { LOGIN: true },
        memberOf: [reader],
        adminRole: owner,
        isDbOwner: false,
        secretNamespace,
      },
      {
        ...base,
        name: writer + USER_SUFFIX,
        flags: { LOGIN: true },
        memberOf: [writer],
        adminRole: owner,
        isDbOwner: false,
        secretNamespace,
      },
    );
  }
  return roles;
}

/** Default privileges and schema USAGE of one prepared database (upstream database.go). */
export function preparedDatabasePrivileges(db: PreparedDatabaseSpec): {
  defaultPrivileges: DefaultPrivilege[];
  schemaUsage: SchemaUsage[];
} {
  const defaultPrivileges: DefaultPrivilege[] = [];
  const schemaUsage: SchemaUsage[] = [];
  const dbOwner = db.name + OWNER_SUFFIX;
  const owners = (prefix: string, withUser: boolean): string[] =>
    withUser ? [prefix + OWNER_SUFFIX, prefix + OWNER_SUFFIX + USER_SUFFIX] : [prefix + OWNER_SUFFIX];

  for (const owner of owners(db.name, db.defaultUsers)) defaultPrivileges.push(...globalDefaults(db.name, owner, db.name));

  for (const schema of db.schemas) {
    const schemaRoles = `${db.name}_${schema.name}`;
    const schemaOwner = schema.defaultRoles ? schemaRoles + OWNER_SUFFIX : dbOwner;
    const add = (owner: string, prefix: string): void => {
      schemaUsage.push({ database: db.name, schema: schema.name, grantees: [prefix + READER_SUFFIX, prefix + WRITER_SUFFIX] });
      defaultPrivileges.push(...schemaDefaults(db.name, schema.name, owner, prefix));
    };
    // The schema owner's future objects are readable/writable by the database-wide roles …
    add(schemaOwner, db.name);
    if (schemaOwner !== dbOwner) {
      if (schema.defaultUsers) add(schemaOwner + USER_SUFFIX, db.name);
      // … and every owner of the database or schema grants the schema's own reader/writer.
      for (const owner of [...owners(db.name, db.defaultUsers), ...owners(schemaRoles, schema.defaultUsers)]) add(owner, schemaRoles);
    } else if (db.defaultUsers) {
      add(dbOwner + USER_SUFFIX, db.name);
    }
  }
  return { defaultPrivileges, schemaUsage };
}

function globalDefaults(database: string, owner: string, prefix: string): DefaultPrivilege[] {
  const reader = prefix + READER_SUFFIX;
  const writer = prefix + WRITER_SUFFIX;
  const p = (object: DefaultPrivilege['object'], privileges: string[], grantees: string[]): DefaultPrivilege => ({
    database,
    owner,
    object,
    privileges,
    grantees,
  });
  return [
    p('schemas', ['USAGE'], [writer, reader]),
    p('tables', ['SELECT'], [reader]),
    p('sequences', ['SELECT'], [reader]),
    p('tables', ['INSERT', 'UPDATE', 'DELETE'], [writer]),
    p('sequences', ['USAGE', 'UPDATE'], [writer]),
    p('functions', ['EXECUTE'], [reader, writer]),
    p('types', ['USAGE'], [reader, writer]),
  ];
}

function schemaDefaults(database: string, schema: string, owner: string, prefix: string): DefaultPrivilege[] {
  return globalDefaults(database, owner, prefix)
    .filter((d) => d.object !== 'schemas')
    .map((d) => ({ ...d, schema }));
}
