// The database half of the diff: databases and owners, then inside each database its schemas,
// schema USAGE, default privileges, extensions, and the pooler's lookup function. Like upstream it
// never drops or revokes; unlike upstream it checks grants and default privileges on every sync
// (from the catalogs), so one removed by hand comes back and a converged cluster needs nothing.
import type { CurrentState, DatabaseObjects, DesiredState, Statement } from './model.js';
import { DEFAULT_ACL_OBJTYPE, defaultAclKey } from './model.js';
import { createUserLookupSql, grantUserLookupSql, revokeUserLookupSql, userLookupCurrent } from './pooler.js';
import {
  alterDatabaseOwnerSql, alterDefaultPrivilegesSql, alterExtensionSql, createDatabaseSql, createExtensionSql,
  createSchemaSql, grantSchemaUsageSql, statement,
} from './sql.js';

/** The database whose objects stand for a database this sync creates (CREATE DATABASE copies it). */
export const TEMPLATE_DATABASE = 'template1';

export interface DatabasePlan {
  readonly cluster: Statement[];
  /** Per database, in the order to run them. */
  readonly inside: Statement[];
  readonly warnings: string[];
}

export function planDatabases(desired: DesiredState, current: CurrentState): DatabasePlan {
  const plan: DatabasePlan = { cluster: [], inside: [], warnings: [] };
  const roleExists = roleLookup(desired, current);
  const created = new Set<string>();
  for (const db of desired.databases) {
    if (!roleExists(db.owner)) {
      plan.warnings.push(`database ${JSON.stringify(db.name)} is skipped: its owner ${JSON.stringify(db.owner)} does not exist`);
      continue;
    }
    const cur = current.databases.get(db.name);
    if (cur === undefined) {
      created.add(db.name);
      plan.cluster.push(statement({ kind: 'create-database', sql: createDatabaseSql(db.name, db.owner), reason: `database ${JSON.stringify(db.name)} does not exist` }));
    } else if (db.enforceOwner && cur.owner !== db.owner) {
      plan.cluster.push(statement({
        kind: 'alter-database', sql: alterDatabaseOwnerSql(db.name, db.owner),
        reason: `database ${JSON.stringify(db.name)} is owned by ${JSON.stringify(cur.owner)}, not ${JSON.stringify(db.owner)}`,
      }));
    }
  }
  for (const database of databasesToVisit(desired, current, created)) {
    const objects = objectsOf(database, current, created);
    if (objects === undefined) continue;
    plan.inside.push(...planInside(database, objects, desired, roleExists, plan.warnings));
  }
  return plan;
}

/** Databases whose objects the plan looks at: the prepared ones, and all of them for the pooler. */
export function databasesToVisit(desired: DesiredState, current: CurrentState, created: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const s of desired.schemas) names.add(s.database);
  for (const e of desired.extensions) names.add(e.database);
  for (const d of desired.defaultPrivileges) names.add(d.database);
  if (desired.pooler !== undefined) {
    for (const db of current.databases.values()) if (db.allowConnections && !db.isTemplate) names.add(db.name);
    for (const name of created) names.add(name);
  }
  return [...names].filter((n) => current.databases.has(n) || created.has(n)).sort();
}

function objectsOf(database: string, current: CurrentState, created: ReadonlySet<string>): DatabaseObjects | undefined {
  if (created.has(database)) return current.objects.get(TEMPLATE_DATABASE) ?? EMPTY_DATABASE;
  const objects = current.objects.get(database);
  if (objects === undefined) throw new Error(`the state of database ${JSON.stringify(database)} was not read`);
  return objects;
}

/** A database as CREATE DATABASE makes it when template1 was not read. */
const EMPTY_DATABASE: DatabaseObjects = {
  schemas: new Map([['public', { name: 'public', owner: 'pg_database_owner', usage: ['PUBLIC'] }]]),
  extensions: new Map([['plpgsql', 'pg_catalog']]),
  defaultPrivileges: new Set(),
};

function planInside(database: string, objects: DatabaseObjects, desired: DesiredState, roleExists: (n: string) => boolean, warnings: string[]): Statement[] {
  const out: Statement[] = [];
  const schemas = new Set(objects.schemas.keys());
  const inDb = <T extends { database: string }>(items: readonly T[]): T[] => items.filter((i) => i.database === database);
  const quoted = JSON.stringify;

  for (const schema of inDb(desired.schemas)) {
    if (schemas.has(schema.name)) continue;
    if (!roleExists(schema.owner)) {
      warnings.push(`schema ${quoted(schema.name)} in ${quoted(database)} is skipped: its owner ${quoted(schema.owner)} does not exist`);
      continue;
    }
    schemas.add(schema.name);
    out.push(statement({ kind: 'create-schema', database, sql: createSchemaSql(schema.name, schema.owner), reason: `schema ${quoted(schema.name)} does not exist in ${quoted(database)}` }));
  }

  const granted = new Set<string>();
  for (const usage of inDb(desired.schemaUsage)) {
    if (!schemas.has(usage.schema)) continue;
    const have = objects.schemas.get(usage.schema)?.usage ?? [];
    const wanted = usage.grantees.filter((g) => !have.includes(g) && !granted.has(`${usage.schema}\u0000${g}`));
    const missing = existing(wanted, roleExists, warnings, `USAGE on schema ${quoted(usage.schema)}`);
    if (missing.length === 0) continue;
    for (const g of missing) granted.add(`${usage.schema}\u0000${g}`);
    out.push(statement({ kind: 'grant-schema', database, sql: grantSchemaUsageSql(usage.schema, missing), reason: `${missing.map((m) => quoted(m)).join(', ')} lack USAGE on schema ${quoted(usage.schema)} in ${quoted(database)}` }));
  }

  for (const d of inDb(desired.defaultPrivileges)) {
    if (d.schema !== undefined && !schemas.has(d.schema)) continue;
    if (!roleExists(d.owner)) {
      warnings.push(`default privileges of ${quoted(d.owner)} in ${quoted(database)} are skipped: the role does not exist`);
      continue;
    }
    const objtype = DEFAULT_ACL_OBJTYPE[d.object];
    const missing = d.grantees.filter((g) => d.privileges.some((p) => !objects.defaultPrivileges.has(defaultAclKey(d.owner, d.schema ?? '', objtype, g, p))));
    const grantees = existing(missing, roleExists, warnings, `default privileges of ${quoted(d.owner)}`);
    if (grantees.length === 0) continue;
    const where = d.schema === undefined ? `in ${quoted(database)}` : `in schema ${quoted(d.schema)} of ${quoted(database)}`;
    out.push(statement({
      kind: 'default-privileges', database, sql: alterDefaultPrivilegesSql(d.owner, d.schema, d.object, d.privileges, grantees),
      reason: `new ${d.object} of ${quoted(d.owner)} ${where} would not grant ${d.privileges.join(', ')} to ${grantees.map((g) => quoted(g)).join(', ')}`,
    }));
  }

  for (const ext of inDb(desired.extensions)) {
    const have = objects.extensions.get(ext.name);
    if (have === ext.schema) continue;
    if (!schemas.has(ext.schema)) {
      warnings.push(`extension ${quoted(ext.name)} in ${quoted(database)} is skipped: schema ${quoted(ext.schema)} does not exist`);
      continue;
    }
    out.push(have === undefined
      ? statement({ kind: 'create-extension', database, sql: createExtensionSql(ext.name, ext.schema), reason: `extension ${quoted(ext.name)} is not installed in ${quoted(database)}` })
      : statement({ kind: 'alter-extension', database, sql: alterExtensionSql(ext.name, ext.schema), reason: `extension ${quoted(ext.name)} is in schema ${quoted(have)}, not ${quoted(ext.schema)}` }));
  }

  if (desired.pooler !== undefined) out.push(...planPooler(database, objects, schemas, desired, roleExists, warnings));
  return out;
}

function planPooler(database: string, objects: DatabaseObjects, schemas: Set<string>, desired: DesiredState, roleExists: (n: string) => boolean, warnings: string[]): Statement[] {
  const lookup = desired.pooler;
  if (lookup === undefined) return [];
  if (!roleExists(lookup.user)) {
    warnings.push(`the pooler lookup function in ${JSON.stringify(database)} is skipped: role ${JSON.stringify(lookup.user)} does not exist`);
    return [];
  }
  const out: Statement[] = [];
  const add = (sql: string, reason: string): void => { out.push(statement({ kind: 'pooler', database, sql, reason: `${reason} in ${JSON.stringify(database)}` })); };
  const schema = objects.schemas.get(lookup.schema);
  if (!schemas.has(lookup.schema)) {
    schemas.add(lookup.schema);
    // Owned by the connecting superuser, as upstream (which runs this DDL as the superuser).
    add(createSchemaSql(lookup.schema), `the pooler schema ${JSON.stringify(lookup.schema)} does not exist`);
  }
  const fn = schema === undefined ? undefined : objects.poolerFunction;
  if (!userLookupCurrent(fn)) add(createUserLookupSql(lookup.schema), fn === undefined ? 'the pooler lookup function does not exist' : 'the pooler lookup function differs');
  // CREATE OR REPLACE keeps existing grants; a new function starts executable by PUBLIC.
  const executors = fn === undefined ? ['PUBLIC'] : fn.executors;
  if (executors.includes('PUBLIC')) add(revokeUserLookupSql(lookup.schema), 'everyone may call the pooler lookup function');
  if (!executors.includes(lookup.user)) add(grantUserLookupSql(lookup), `${JSON.stringify(lookup.user)} may not call the pooler lookup function`);
  if (!(schema?.usage ?? []).includes(lookup.user)) add(grantSchemaUsageSql(lookup.schema, [lookup.user]), `${JSON.stringify(lookup.user)} lacks USAGE on the pooler schema`);
  return out;
}

function existing(roles: readonly string[], roleExists: (n: string) => boolean, warnings: string[], what: string): string[] {
  return roles.filter((r) => {
    if (roleExists(r)) return true;
    warnings.push(`${what}: role ${JSON.stringify(r)} does not exist`);
    return false;
  });
}

function roleLookup(desired: DesiredState, current: CurrentState): (name: string) => boolean {
  const names = new Set(desired.roles.map((r) => r.name));
  return (name) => names.has(name) || current.roles.has(name);
}
