// Reads the current state from the catalogs: pg_authid, pg_auth_members, pg_db_role_setting and
// pg_database cluster-wide; pg_namespace, pg_extension, pg_default_acl and pg_proc per database.
// Needs a superuser (pg_authid is not readable otherwise), as upstream connects.
import type pg from 'pg';
import type { Sessions } from './connection.js';
import { databasesToVisit, TEMPLATE_DATABASE } from './diff-databases.js';
import type {
  CurrentDatabase,
  CurrentRole,
  CurrentSchema,
  CurrentState,
  DatabaseObjects,
  DesiredState,
  Membership,
  PoolerFunctionState,
} from './model.js';
import { defaultAclKey } from './model.js';
import { withRetries, isConnectionLost, type RetryOptions } from './retry.js';

type Queryable = Pick<pg.Client, 'query'>;

const ROLES_SQL = `
SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls,
       r.rolpassword,
       COALESCE((SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0), '{}') AS setconfig,
       COALESCE((SELECT json_agg(json_build_object('role', g.rolname, 'admin', m.admin_option))
                   FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_authid g ON g.oid = m.roleid
                  WHERE m.member = r.oid), '[]') AS member_of
  FROM pg_catalog.pg_authid r
 WHERE r.rolname !~ '^pg_'`;

const DATABASES_SQL = `
SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba) AS owner, d.datallowconn, d.datistemplate
  FROM pg_catalog.pg_database d`;

// aclexplode of NULL gives nothing, so a NULL ACL is read as the built-in default. Grantee lists are cast
// to text[]: node-postgres leaves a name[] as its array literal, a string on which includes() matched
// substrings (USAGE held by "app_owner" counted for "app") and missed names with quotes or backslashes.
const SCHEMAS_SQL = `
SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
       COALESCE((SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END)
                   FROM pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a
                  WHERE a.privilege_type = 'USAGE'), '{}')::text[] AS usage
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`;

const EXTENSIONS_SQL = `
SELECT e.extname, n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace`;

const DEFAULT_ACL_SQL = `
SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS owner, COALESCE(n.nspname, '') AS schema, d.defaclobjtype::text AS objtype,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type
  FROM pg_catalog.pg_default_acl d
  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
 CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a`;

const POOLER_FUNCTION_SQL = `
SELECT p.prosrc, p.prosecdef, COALESCE(p.proconfig, '{}') AS config, pg_catalog.pg_get_userbyid(p.proowner) AS owner,
       COALESCE((SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END)
                   FROM pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                  WHERE a.privilege_type = 'EXECUTE'), '{}')::text[] AS executors
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND p.proname = 'user_lookup' AND p.proargtypes = '25'::pg_catalog.oidvector`;

interface RoleRow {
  rolname: string;
  rolsuper: boolean;
  rolinherit: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolcanlogin: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolpassword: string | null;
  setconfig: string[];
  member_of: { role: string; admin: boolean }[];
}

export async function readRoles(db: Queryable): Promise<Map<string, CurrentRole>> {
  const { rows } = await db.query<RoleRow>(ROLES_SQL);
  const roles = new Map<string, CurrentRole>();
  for (const r of rows) {
    const parameters = new Map<string, string>();
    for (const entry of r.setconfig) {
      const eq = entry.indexOf('=');
      if (eq > 0) parameters.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    const memberOf: Membership[] = [];
    for (const m of r.member_of) {
      const seen = memberOf.findIndex((x) => x.role === m.role);
      // Since PostgreSQL 16 a membership can be granted more than once (by different grantors).
      if (seen >= 0) memberOf[seen] = { role: m.role, admin: (memberOf[seen]?.admin ?? false) || m.admin };
      else memberOf.push({ role: m.role, admin: m.admin });
    }
    roles.set(r.rolname, {
      name: r.rolname,
      flags: {
        SUPERUSER: r.rolsuper,
        INHERIT: r.rolinherit,
        LOGIN: r.rolcanlogin,
        CREATEROLE: r.rolcreaterole,
        CREATEDB: r.rolcreatedb,
        REPLICATION: r.rolreplication,
        BYPASSRLS: r.rolbypassrls,
      },
      password: r.rolpassword,
      memberOf,
      parameters,
    });
  }
  return roles;
}

export async function readDatabases(db: Queryable): Promise<Map<string, CurrentDatabase>> {
  const { rows } = await db.query<{ datname: string; owner: string; datallowconn: boolean; datistemplate: boolean }>(DATABASES_SQL);
  return new Map(
    rows.map((r) => [r.datname, { name: r.datname, owner: r.owner, allowConnections: r.datallowconn, isTemplate: r.datistemplate }]),
  );
}

/** Objects of the database `db` is connected to; the pooler function is looked up in `poolerSchema`. */
export async function readDatabaseObjects(db: Queryable, poolerSchema?: string): Promise<DatabaseObjects> {
  const schemas = new Map<string, CurrentSchema>();
  for (const r of (await db.query<{ nspname: string; owner: string; usage: string[] }>(SCHEMAS_SQL)).rows) {
    schemas.set(r.nspname, { name: r.nspname, owner: r.owner, usage: r.usage });
  }
  const extensions = new Map<string, string>();
  for (const r of (await db.query<{ extname: string; nspname: string }>(EXTENSIONS_SQL)).rows) extensions.set(r.extname, r.nspname);
  const defaultPrivileges = new Set<string>();
  for (const r of (
    await db.query<{ owner: string; schema: string; objtype: string; grantee: string; privilege_type: string }>(DEFAULT_ACL_SQL)
  ).rows) {
    defaultPrivileges.add(
      defaultAclKey({ owner: r.owner, schema: r.schema, objtype: r.objtype, grantee: r.grantee, privilege: r.privilege_type }),
    );
  }
  let poolerFunction: PoolerFunctionState | undefined;
  if (poolerSchema !== undefined) {
    const { rows } = await db.query<{ prosrc: string; prosecdef: boolean; config: string[]; owner: string; executors: string[] }>(
      POOLER_FUNCTION_SQL,
      [poolerSchema],
    );
    const r = rows[0];
    if (r !== undefined)
      poolerFunction = { source: r.prosrc, securityDefiner: r.prosecdef, config: r.config, owner: r.owner, executors: r.executors };
  }
  return { schemas, extensions, defaultPrivileges, ...(poolerFunction !== undefined ? { poolerFunction } : {}) };
}

/**
 * Everything the diff needs for `desired`: roles and databases, plus the objects of every database
 * the plan will look into, and of template1 when a database is still to be created.
 */
export async function readCurrentState(sessions: Sessions, desired: DesiredState, retry: RetryOptions = {}): Promise<CurrentState> {
  const onDb = <T>(database: string | undefined, work: (db: Queryable) => Promise<T>): Promise<T> =>
    withRetries(
      async () => work(await sessions.client(database)),
      retry,
      async (err) => {
        if (isConnectionLost(err)) await sessions.drop(database);
      },
    );
  const [roles, databases] = await onDb(undefined, async (db) => [await readRoles(db), await readDatabases(db)] as const);
  const objects = new Map<string, DatabaseObjects>();
  const partial: CurrentState = { roles, databases, objects };
  const visit = databasesToVisit(desired, partial, new Set());
  if (desired.databases.some((d) => !databases.has(d.name))) visit.push(TEMPLATE_DATABASE);
  for (const database of visit) {
    if (!databases.has(database)) continue;
    const read = onDb(database, (db) => readDatabaseObjects(db, desired.pooler?.schema));
    // template1 only sharpens the plan for new databases; without it they are planned as empty.
    const found = database === TEMPLATE_DATABASE ? await read.catch(() => undefined) : await read;
    if (found !== undefined) objects.set(database, found);
  }
  await sessions.releaseOthers();
  return partial;
}
