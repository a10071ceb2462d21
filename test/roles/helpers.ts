// Shared pieces of the roles tests: a unique prefix per test (roles are cluster-wide in Postgres),
// a configuration whose system users carry it, an in-memory stand-in for the credentials Secrets,
// and the caller's side of a sync (model -> Secrets -> desired state -> database).
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_OPERATOR_CONFIG, type PostgresSpec } from '@pgfn/api';
import {
  buildDesiredState,
  buildRoleModel,
  planCredentials,
  quoteIdent,
  syncRolesAndDatabases,
  type ConnectionConfig,
  type CredentialPlan,
  type DesiredState,
  type InfrastructureRoleInput,
  type Problem,
  type RandomBytes,
  type RoleModel,
  type RolesConfig,
  type SecretContent,
  type SyncOptions,
  type SyncReport,
} from '@pgfn/roles';
import { testPostgres } from '@pgfn/testpg';

/** `r1a2b3c_`: lower-case, valid in role, database and schema names. */
export function uniquePrefix(): string {
  return `r${randomBytes(3).toString('hex')}_`;
}

/** Configuration whose system and protected roles are private to one test. */
export function testConfig(prefix: string, overrides: Partial<RolesConfig> = {}): RolesConfig {
  return {
    ...DEFAULT_OPERATOR_CONFIG,
    superUsername: `${prefix}postgres`,
    replicationUsername: `${prefix}standby`,
    protectedRoleNames: [`${prefix}admin`, `${prefix}cron_admin`],
    teamAdminRole: `${prefix}admin`,
    connectionPoolerUser: `${prefix}pooler`,
    connectionPoolerSchema: `${prefix}pooler`,
    ...overrides,
  };
}

export type TestSpec = Partial<PostgresSpec>;

export interface TestCluster {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: PostgresSpec;
}

export function testCluster(prefix: string, spec: TestSpec = {}): TestCluster {
  return {
    metadata: { name: `${prefix.replaceAll('_', '-')}acid`, namespace: 'default' },
    spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '15' }, volume: { size: '1Gi' }, ...spec },
  };
}

/** Deterministic salts: reproducible plans in pure tests. */
export function seededRandom(seed = 'pgfn'): RandomBytes {
  let counter = 0;
  return (size) => {
    const out = Buffer.alloc(size);
    let filled = 0;
    while (filled < size) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      filled += block.copy(out, filled);
    }
    return out;
  };
}

/** Passwords `pw-1`, `pw-2` … so tests can predict them. */
export function countingPasswords(prefix = 'pw'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

export function connection(database?: string): ConnectionConfig {
  const pgc = testPostgres();
  return {
    host: pgc.host,
    port: pgc.port,
    user: pgc.user,
    password: pgc.password,
    sslmode: 'disable',
    ...(database !== undefined ? { database } : {}),
  };
}

/** A superuser client to `database` of the test server; the caller ends it. */
export async function adminClient(database = 'postgres'): Promise<pg.Client> {
  const pgc = testPostgres();
  const client = new pg.Client({ ...pgc, database });
  await client.connect();
  return client;
}

export async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = [], database = 'postgres'): Promise<T[]> {
  const client = await adminClient(database);
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Roles Spilo's post_init creates and the operator relies on: `admin` (prepared databases) and the test's team admin. */
export async function createSpiloRoles(prefix: string): Promise<void> {
  await query(`DO $$ BEGIN CREATE ROLE admin NOLOGIN CREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
  await query(`CREATE ROLE ${quoteIdent(`${prefix}admin`)} NOLOGIN CREATEDB`);
  await query(`CREATE ROLE ${quoteIdent(`${prefix}cron_admin`)} NOLOGIN`);
}

/** The caller's side of the Secrets: what exists in the cluster, by role name. */
export class SecretStore {
  readonly secrets = new Map<string, SecretContent>();
  writes = 0;

  apply(credentials: ReadonlyMap<string, CredentialPlan>): void {
    for (const plan of credentials.values()) {
      if (plan.error !== undefined || plan.write === 'none') continue;
      this.secrets.set(plan.role, plan.content);
      this.writes++;
    }
  }
}

export interface RunInput {
  readonly cluster: TestCluster;
  readonly config: RolesConfig;
  readonly secrets: SecretStore;
  readonly now?: Date;
  readonly infrastructureRoles?: readonly InfrastructureRoleInput[];
  readonly newPassword?: () => string;
  readonly options?: SyncOptions;
  /** Default: the test server's superuser. */
  readonly connection?: ConnectionConfig;
}

export interface RunResult {
  readonly model: RoleModel;
  readonly credentials: ReadonlyMap<string, CredentialPlan>;
  readonly desired: DesiredState;
  readonly problems: readonly Problem[];
  readonly report: SyncReport;
}

/** Everything a caller does for one sync, against the test server. */
export async function runSync(input: RunInput): Promise<RunResult> {
  const now = input.now ?? new Date('2026-11-21T12:00:00Z');
  const model = buildRoleModel({ cluster: input.cluster, config: input.config, infrastructureRoles: input.infrastructureRoles ?? [] });
  const { credentials, problems: credentialProblems } = planCredentials({
    model,
    spec: input.cluster.spec,
    config: input.config,
    secrets: input.secrets.secrets,
    now,
    newPassword: input.newPassword ?? (() => randomBytes(24).toString('base64url')),
  });
  input.secrets.apply(credentials);
  const { state: desired, problems } = buildDesiredState({ model, cluster: input.cluster, config: input.config, credentials, now });
  const report = await syncRolesAndDatabases(input.connection ?? connection(), desired, {
    random: (n) => randomBytes(n),
    attempts: 2,
    backoffMs: 10,
    ...input.options,
  });
  return { model, credentials, desired, problems: [...model.problems, ...credentialProblems, ...problems], report };
}

/** Fails with the statements' errors when a sync did not go through cleanly. */
export function assertClean(report: SyncReport): void {
  const errors = report.execution?.errors ?? [];
  if (errors.length > 0) throw new Error(`sync failed:\n${errors.map((e) => `${e.statement.display}: ${e.message}`).join('\n')}`);
}

/** Removes what a test made: its databases, its schemas elsewhere, then its roles. */
export async function cleanup(prefix: string, extraRoles: readonly string[] = []): Promise<void> {
  const like = `${prefix.replaceAll('_', '\\_')}%`;
  const dbs = await query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [like]);
  for (const { datname } of dbs) await query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  const roles = (
    await query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1 OR rolname = ANY($2)`, [like, extraRoles])
  ).map((r) => r.rolname);
  const others = await query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate`);
  for (const { datname } of others) {
    const schemas = await query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [like], datname);
    for (const { nspname } of schemas) await query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`, [], datname);
    if (roles.length > 0) await query(`DROP OWNED BY ${roles.map(quoteIdent).join(', ')}`, [], datname);
  }
  for (const role of roles) await query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
}

/** Can `user` log in with `password` (node-postgres, i.e. without SASLprep)? */
export async function canLogin(user: string, password: string, database = 'postgres'): Promise<boolean> {
  const pgc = testPostgres();
  const client = new pg.Client({ host: pgc.host, port: pgc.port, user, password, database });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
