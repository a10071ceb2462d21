// Statements and wall time to sync 1,000 roles and 50 databases into a fresh PostgreSQL 15, first
// run and no-op run. Prints a markdown table, then one JSON line. Run: npm run bench:roles
// Shape: 910 manifest users (LOGIN, each with a Secret), 40 databases owned by some of them, and 10
// prepared databases with defaultUsers (9 roles each: db and `data` schema roles, db login users),
// connection pooler on (lookup function in every database).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_OPERATOR_CONFIG, type PostgresSpec } from '@pgfn/api';
import {
  buildDesiredState,
  buildRoleModel,
  planCredentials,
  syncRolesAndDatabases,
  type SecretContent,
  type SyncReport,
} from '@pgfn/roles';
import { startPostgres } from '@pgfn/testpg';

const USERS = 910;
const PLAIN_DATABASES = 40;
const PREPARED_DATABASES = 10;

const server = await startPostgres();
try {
  const admin = new pg.Client(server);
  await admin.connect();
  await admin.query('CREATE ROLE admin NOLOGIN CREATEDB'); // Spilo's post_init role
  await admin.end();

  const users: Record<string, string[]> = {};
  for (let i = 1; i <= USERS; i++) users[`u${String(i).padStart(4, '0')}`] = i % 10 === 0 ? ['createdb'] : [];
  const databases: Record<string, string> = {};
  for (let i = 1; i <= PLAIN_DATABASES; i++) databases[`db${String(i).padStart(2, '0')}`] = `u${String(i).padStart(4, '0')}`;
  const preparedDatabases: PostgresSpec['preparedDatabases'] = {};
  for (let i = 1; i <= PREPARED_DATABASES; i++) preparedDatabases[`prep${String(i).padStart(2, '0')}`] = { defaultUsers: true };
  const cluster = {
    metadata: { name: 'acid-bench', namespace: 'default' },
    spec: {
      teamId: 'acid',
      numberOfInstances: 1,
      postgresql: { version: '15' },
      volume: { size: '1Gi' },
      users,
      databases,
      preparedDatabases,
      enableConnectionPooler: true,
    } as PostgresSpec,
  };
  const config = { ...DEFAULT_OPERATOR_CONFIG };
  // The superuser's Secret holds the password the server has (as Patroni's does in a real cluster).
  const secrets = new Map<string, SecretContent>([['postgres', { username: 'postgres', password: server.password }]]);
  const connection = { host: server.host, port: server.port, user: server.user, password: server.password, sslmode: 'disable' as const };

  const msByKind: Record<string, number> = {};
  const run = async (): Promise<{ report: SyncReport; modelMs: number; totalMs: number; roles: number }> => {
    const started = performance.now();
    const now = new Date();
    const model = buildRoleModel({ cluster, config });
    const { credentials } = planCredentials({
      model,
      spec: cluster.spec,
      config,
      secrets,
      now,
      newPassword: () => randomBytes(24).toString('base64url'),
    });
    for (const plan of credentials.values()) if (plan.write !== 'none') secrets.set(plan.role, plan.content);
    const { state } = buildDesiredState({ model, cluster, config, credentials, now });
    const modelMs = performance.now() - started;
    const report = await syncRolesAndDatabases(connection, state, {
      now: () => performance.now(),
      onProgress: (e) => {
        if (e.outcome === 'done') msByKind[e.statement.kind] = (msByKind[e.statement.kind] ?? 0) + e.durationMs;
      },
    });
    const errors = report.execution?.errors ?? [];
    if (errors.length > 0) throw new Error(`bench sync failed: ${errors[0]?.statement.display}: ${errors[0]?.message}`);
    return { report, modelMs, totalMs: performance.now() - started, roles: state.roles.length };
  };

  const first = await run();
  const firstMsByKind = Object.fromEntries(Object.entries(msByKind).map(([k, v]) => [k, Math.round(v)]));
  const noop = await run();
  const row = (name: string, r: Awaited<ReturnType<typeof run>>): Record<string, number | string> => ({
    run: name,
    roles: r.roles,
    statements: r.report.plan.statements.length,
    modelMs: Math.round(r.modelMs),
    readMs: Math.round(r.report.readMs),
    planMs: Math.round(r.report.planMs),
    executeMs: Math.round(r.report.execution?.durationMs ?? 0),
    totalMs: Math.round(r.totalMs),
  });
  const rows = [row('first run', first), row('no-op run', noop)];
  const headers = Object.keys(rows[0] ?? {});
  console.log(
    `\nSync of ${first.roles} roles (${USERS} manifest users, ${PREPARED_DATABASES} prepared databases, system and pooler users)` +
      ` and ${PLAIN_DATABASES + PREPARED_DATABASES} databases, PostgreSQL 15 (fsync off), ${new Date().toISOString().slice(0, 10)}\n`,
  );
  console.log(`| ${headers.join(' | ')} |`);
  console.log(`| ${headers.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${headers.map((h) => r[h]).join(' | ')} |`);
  console.log(`\nfirst run, statements by kind: ${JSON.stringify(first.report.counts)}`);
  console.log(`first run, execution ms by kind: ${JSON.stringify(firstMsByKind)}`);
  console.log(JSON.stringify({ bench: 'roles', rows, firstRunByKind: first.report.counts, firstRunMsByKind: firstMsByKind }));
} finally {
  await server.stop();
}
