// The database half of the diff: databases and owners, then inside each database its schemas,
// schema USAGE, default privileges, extensions, and the pooler's lookup function. Like upstream it
// never drops or revokes; unlike upstream it checks grants and default privileges on every sync
// (from the catalogs), so one removed by hand comes back and a converged cluster needs nothing.
import type { CurrentState, DatabaseObjects, DesiredState, Statement, StatementKind } from './model.js';
import { DEFAULT_ACL_OBJTYPE, defaultAclKey } from './model.js';
import { createUserLookupSql, grantUserLookupSql, revokeUserLookupSql, userLookupCurrent } from './pooler.js';
import {
  alterDatabaseOwnerSql,
  alterDefaultPrivilegesSql,
  alterExtensionSql,
  createDatabaseSql,
  createExtensionSql,
  createSchemaSql,
  grantSchemaUsageSql,
  statement,
} from './sql.js';

/** The database whose objects stand for a database this sync creates (CREATE DATABASE copies it). */
export const TEMPLATE_DATABASE = 'template1';

export interface DatabasePlan {
  readonly cluster: Statement[];
  /** Per database, in the order to run them. */
  readonly inside: Statement[];
  readonly warnings: string[];
}

const q = JSON.stringify;

export function planDatabases(desired: DesiredState, current: CurrentState): DatabasePlan {
  const plan: DatabasePlan = { cluster: [], inside: [], warnings: [] };
  const roleExists = roleLookup(desired, current);
  const created = new Set<string>();
  for (const db of desired.databases) {
    if (!roleExists(db.owner)) {
      plan.warnings.push(`database ${q(db.name)} is skipped: its owner ${q(db.owner)} does not exist`);
      continue;
    }
    const cur = current.databases.get(db.name);
    if (cur === undefined) {
      created.add(db.name);
      plan.cluster.push(
        statement({ kind: 'create-database', sql: createDatabaseSql(db.name, db.owner), reason: `database ${q(db.name)} does not exist` }),
      );
    } else if (db.enforceOwner && cur.owner !== db.owner) {
      plan.cluster.push(
        statement({
          kind: 'alter-database',
          sql: alterDatabaseOwnerSql(db.name, db.owner),
          reason: `database ${q(db.name)} is owned by ${q(cur.owner)}, not ${q(db.owner)}`,
        }),
      );
    }
  }
  for (const database of databasesToVisit(desired, current, created)) {
    const ctx = new InsideDatabase({
      database,
      objects: objectsOf(database, current, created),
      desired,
      roleExists,
      warnings: plan.warnings,
    });
    planSchemas(ctx);
    planSchemaUsage(ctx);
    planDefaultPrivileges(ctx);
    planExtensions(ctx);
    planPooler(ctx);
    plan.inside.push(...ctx.statements);
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

function objectsOf(database: string, current: CurrentState, created: ReadonlySet<string>): DatabaseObjects {
  if (created.has(database)) return current.objects.get(TEMPLATE_DATABASE) ?? EMPTY_DATABASE;
  const objects = current.objects.get(database);
  if (objects === undefined) throw new Error(`the state of database ${q(database)} was not read`);
  return objects;
}

/** A database as CREATE DATABASE makes it, for when template1 could not be read. */
const EMPTY_DATABASE: DatabaseObjects = {
  schemas: new Map([['public', { name: 'public', owner: 'pg_database_owner', usage: ['PUBLIC'] }]]),
  extensions: new Map([['plpgsql', 'pg_catalog']]),
  defaultPrivileges: new Set(),
};

/** What the planners of one database share: its objects, the schemas it will have, the output. */
class InsideDatabase {
  readonly statements: Statement[] = [];
  /** Schemas that exist or that this plan creates. */
  readonly schemas: Set<string>;

  readonly database: string;
  readonly objects: DatabaseObjects;
  readonly desired: DesiredState;
  readonly roleExists: (name: string) => boolean;
  readonly warnings: string[];

  constructor(o: {
    database: string;
    objects: DatabaseObjects;
    desired: DesiredState;
    roleExists: (name: string) => boolean;
    warnings: string[];
  }) {
    this.database = o.database;
    this.objects = o.objects;
    this.desired = o.desired;
    this.roleExists = o.roleExists;
    this.warnings = o.warnings;
    this.schemas = new Set(o.objects.schemas.keys());
  }

  mine<T extends { database: string }>(items: readonly T[]): T[] {
    return items.filter((i) => i.database === this.database);
  }

  add(kind: StatementKind, sql: string, reason: string): void {
    this.statements.push(statement({ kind, database: this.database, sql, reason: `${reason} in ${q(this.database)}` }));
  }

  /** The roles that exist; a warning for each that does not. */
  existing(roles: readonly string[], what: string): string[] {
    return roles.filter((r) => {
      if (this.roleExists(r)) return true;
      this.warnings.push(`${what} in ${q(this.database)}: role ${q(r)} does not exist`);
      return false;
    });
  }
}

function planSchemas(ctx: InsideDatabase): void {
  for (const schema of ctx.mine(ctx.desired.schemas)) {
    if (ctx.schemas.has(schema.name)) continue;
    if (!ctx.roleExists(schema.owner)) {
      ctx.warnings.push(`schema ${q(schema.name)} in ${q(ctx.database)} is skipped: its owner ${q(schema.owner)} does not exist`);
      continue;
    }
    ctx.schemas.add(schema.name);
    ctx.add('create-schema', createSchemaSql(schema.name, schema.owner), `schema ${q(schema.name)} does not exist`);
  }
}

function planSchemaUsage(ctx: InsideDatabase): void {
  const granted = new Set<string>();
  for (const usage of ctx.mine(ctx.desired.schemaUsage)) {
    if (!ctx.schemas.has(usage.schema)) continue;
    const have = ctx.objects.schemas.get(usage.schema)?.usage ?? [];
    const key = (grantee: string): string => `${usage.schema}\u0000${grantee}`;
    const missing = ctx.existing(
      usage.grantees.filter((g) => !have.includes(g) && !granted.has(key(g))),
      `USAGE on schema ${q(usage.schema)}`,
    );
    if (missing.length === 0) continue;
    for (const g of missing) granted.add(key(g));
    ctx.add(
      'grant-schema',
      grantSchemaUsageSql(usage.schema, missing),
      `${missing.map((m) => q(m)).join(', ')} lack USAGE on schema ${q(usage.schema)}`,
    );
  }
}

function planDefaultPrivileges(ctx: InsideDatabase): void {
  for (const d of ctx.mine(ctx.desired.defaultPrivileges)) {
    if (d.schema !== undefined && !ctx.schemas.has(d.schema)) continue;
    if (ctx.existing([d.owner], 'default privileges').length === 0) continue;
    const objtype = DEFAULT_ACL_OBJTYPE[d.object];
    // The owner holds every privilege on what it creates; PostgreSQL stores no default ACL entry that only
    // says so, so granting it there would be planned again on every sync.
    const lacking = d.grantees.filter(
      (g) =>
        g !== d.owner &&
        d.privileges.some(
          (p) =>
            !ctx.objects.defaultPrivileges.has(
              defaultAclKey({ owner: d.owner, schema: d.schema ?? '', objtype, grantee: g, privilege: p }),
            ),
        ),
    );
    const grantees = ctx.existing(lacking, `default privileges of ${q(d.owner)}`);
    if (grantees.length === 0) continue;
    const where = d.schema === undefined ? '' : ` in schema ${q(d.schema)}`;
    ctx.add(
      'default-privileges',
      alterDefaultPrivilegesSql({ owner: d.owner, schema: d.schema, object: d.object, privileges: d.privileges, grantees }),
      `new ${d.object} of ${q(d.owner)}${where} would not grant ${d.privileges.join(', ')} to ${grantees.map((g) => q(g)).join(', ')}`,
    );
  }
}

function planExtensions(ctx: InsideDatabase): void {
  for (const ext of ctx.mine(ctx.desired.extensions)) {
    const have = ctx.objects.extensions.get(ext.name);
    if (have === ext.schema) continue;
    if (!ctx.schemas.has(ext.schema)) {
      ctx.warnings.push(`extension ${q(ext.name)} in ${q(ctx.database)} is skipped: schema ${q(ext.schema)} does not exist`);
      continue;
    }
    if (have === undefined)
      ctx.add('create-extension', createExtensionSql(ext.name, ext.schema), `extension ${q(ext.name)} is not installed`);
    else
      ctx.add(
        'alter-extension',
        alterExtensionSql(ext.name, ext.schema),
        `extension ${q(ext.name)} is in schema ${q(have)}, not ${q(ext.schema)}`,
      );
  }
}

function planPooler(ctx: InsideDatabase): void {
  const lookup = ctx.desired.pooler;
  if (lookup === undefined || ctx.existing([lookup.user], 'the pooler lookup function').length === 0) return;
  const schema = ctx.objects.schemas.get(lookup.schema);
  if (!ctx.schemas.has(lookup.schema)) {
    ctx.schemas.add(lookup.schema);
    // Owned by the connecting superuser, as upstream (which runs this DDL as the superuser).
    ctx.add('pooler', createSchemaSql(lookup.schema), `the pooler schema ${q(lookup.schema)} does not exist`);
  }
  const fn = schema === undefined ? undefined : ctx.objects.poolerFunction;
  if (!userLookupCurrent(fn))
    ctx.add(
      'pooler',
      createUserLookupSql(lookup.schema),
      fn === undefined ? 'the pooler lookup function does not exist' : 'the pooler lookup function differs',
    );
  // CREATE OR REPLACE keeps existing grants; a new function starts executable by PUBLIC.
  const executors = fn === undefined ? ['PUBLIC'] : fn.executors;
  if (executors.includes('PUBLIC')) ctx.add('pooler', revokeUserLookupSql(lookup.schema), 'everyone may call the pooler lookup function');
  if (!executors.includes(lookup.user))
    ctx.add('pooler', grantUserLookupSql(lookup), `${q(lookup.user)} may not call the pooler lookup function`);
  if (!(schema?.usage ?? []).includes(lookup.user))
    ctx.add('pooler', grantSchemaUsageSql(lookup.schema, [lookup.user]), `${q(lookup.user)} lacks USAGE on the pooler schema`);
}

function roleLookup(desired: DesiredState, current: CurrentState): (name: string) => boolean {
  const names = new Set(desired.roles.map((r) => r.name));
  return (name) => names.has(name) || current.roles.has(name);
}
