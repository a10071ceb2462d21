// The state the diff aims at, from the role model, the settled credentials and the manifest's
// databases and preparedDatabases (upstream syncRoles, syncDatabases, syncPreparedDatabases and the
// pooler's lookup function).
import type { PostgresSpec } from '@pgfn/api';
import type { CredentialPlan } from './credentials.js';
import type {
  DesiredDatabase,
  DesiredRole,
  DesiredSchema,
  DesiredState,
  PoolerLookup,
  Problem,
  RoleSpec,
  RolesConfig,
  RotationCleanup,
} from './model.js';
import { databaseNameProblem, OWNER_SUFFIX } from './names.js';
import { passwordEncryptionOf } from './password-hash.js';
import { normalizePreparedDatabases, preparedDatabasePrivileges } from './prepared-databases.js';
import { identifierProblem } from './quote.js';
import { needsConnectionPooler, poolerSchemaName, poolerUserName, sortedEntries, type RoleCluster, type RoleModel } from './role-specs.js';

export interface DesiredStateInput {
  readonly model: RoleModel;
  readonly cluster: RoleCluster & { readonly spec: Pick<PostgresSpec, 'postgresql'> };
  readonly config: RolesConfig;
  readonly credentials: ReadonlyMap<string, CredentialPlan>;
  readonly now: Date;
  /** Roles whose Secret could not be written this time: left alone in the database (upstream "degraded"). */
  readonly degraded?: ReadonlySet<string>;
}

const DAY_MS = 86_400_000;
/** Databases the manifest may not claim. */
const RESERVED_DATABASES = new Set(['template0', 'template1']);

export function buildDesiredState(input: DesiredStateInput): { state: DesiredState; problems: Problem[] } {
  const problems: Problem[] = [];
  const { cluster, config, model } = input;
  const prepared = normalizePreparedDatabases(cluster, config, model.namespace).databases;
  const privileges = prepared.map(preparedDatabasePrivileges);
  const state: DesiredState = {
    roles: desiredRoles(input),
    databases: desiredDatabases(
      cluster,
      prepared.map((d) => d.name),
      problems,
    ),
    schemas: prepared.flatMap((db) =>
      db.schemas.map((s): DesiredSchema => ({
        database: db.name,
        name: s.name,
        owner: s.defaultRoles ? `${db.name}_${s.name}${OWNER_SUFFIX}` : db.name + OWNER_SUFFIX,
      })),
    ),
    schemaUsage: privileges.flatMap((p) => p.schemaUsage),
    defaultPrivileges: privileges.flatMap((p) => p.defaultPrivileges),
    extensions: prepared.flatMap((db) => db.extensions.map(([name, schema]) => ({ database: db.name, name, schema }))),
    rotationCleanup: rotationCleanup(input),
    passwordEncryption: passwordEncryptionOf(cluster.spec.postgresql?.parameters),
    ...poolerLookup(cluster, config, problems),
  };
  return { state, problems };
}

function desiredRoles(input: DesiredStateInput): DesiredRole[] {
  const roles: DesiredRole[] = [];
  const names = [...input.model.roles.keys()].sort();
  for (const name of names) {
    const role = input.model.roles.get(name) as RoleSpec;
    const credential = input.credentials.get(name);
    if (input.degraded?.has(name) === true || credential?.error !== undefined) continue;
    const admins = role.adminRole !== undefined && role.adminRole !== '' ? [role.adminRole] : [];
    const parameters = Object.keys(role.parameters).length > 0 ? role.parameters : undefined;
    const base = { name, flags: role.flags, memberOf: role.memberOf, admins, ...(parameters ? { parameters } : {}) };
    if (credential !== undefined && credential.login.username !== name) {
      // A rotation is under way: the Secret names `<role><YYMMDD>`, a member of the role that inherits
      // its privileges. The role itself keeps the password it had, so old connections still work.
      roles.push(base);
      roles.push({
        name: credential.login.username,
        flags: role.flags,
        memberOf: [name],
        admins,
        ...(parameters ? { parameters } : { parametersFrom: name }),
        password: credential.login.password,
      });
      continue;
    }
    const password = credential?.login.password ?? role.password;
    roles.push({ ...base, ...(password !== undefined ? { password } : {}) });
  }
  return roles;
}

/** Prepared databases are owned by `<db>_owner`; `databases` entries win and also fix the owner of an existing one. */
function desiredDatabases(cluster: DesiredStateInput['cluster'], prepared: readonly string[], problems: Problem[]): DesiredDatabase[] {
  const byName = new Map<string, DesiredDatabase>();
  for (const name of prepared) byName.set(name, { name, owner: name + OWNER_SUFFIX, enforceOwner: false });
  for (const [name, owner] of sortedEntries(cluster.spec.databases ?? {})) {
    const path = `spec.databases[${JSON.stringify(name)}]`;
    const problem = RESERVED_DATABASES.has(name) ? 'is a template database the operator does not manage' : databaseNameProblem(name);
    if (problem !== undefined) {
      problems.push({ level: 'error', path, message: `the database name ${problem}` });
      continue;
    }
    const ownerProblem = typeof owner === 'string' ? identifierProblem(owner) : 'is not a string';
    if (ownerProblem !== undefined) {
      problems.push({ level: 'error', path, message: `the owner ${JSON.stringify(owner)} ${ownerProblem}` });
      continue;
    }
    byName.set(name, { name, owner, enforceOwner: true });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Rotation users older than the retention are dropped; the retention is at least twice the
 * rotation interval (upstream cleanupRotatedUsers). Checked on every sync for every role with a
 * Secret, so users left behind after rotation was switched off go too.
 */
function rotationCleanup(input: DesiredStateInput): RotationCleanup[] {
  const { config, now } = input;
  const days = Math.max(config.passwordRotationUserRetention, 2 * config.passwordRotationInterval);
  const createdBefore = new Date(now.getTime() - days * DAY_MS);
  const out: RotationCleanup[] = [];
  for (const credential of input.credentials.values()) {
    if (credential.error !== undefined || input.degraded?.has(credential.role) === true) continue;
    out.push({ base: credential.role, keep: [credential.login.username], createdBefore });
  }
  return out.sort((a, b) => (a.base < b.base ? -1 : 1));
}

function poolerLookup(cluster: DesiredStateInput['cluster'], config: RolesConfig, problems: Problem[]): { pooler?: PoolerLookup } {
  if (!needsConnectionPooler(cluster.spec)) return {};
  const schema = poolerSchemaName(cluster.spec, config);
  const problem = databaseNameProblem(schema);
  if (problem !== undefined) {
    problems.push({
      level: 'error',
      path: 'spec.connectionPooler.schema',
      message: `the pooler schema ${JSON.stringify(schema)} ${problem}`,
    });
    return {};
  }
  return { pooler: { schema, user: poolerUserName(cluster.spec, config) } };
}
