// node --import tsx bench/team-sync.ts [-- --members 10000 --clusters 10 --concurrency 4]
// Time and statements to sync a 10,000-member team into 10 clusters: first sync, no-op sync, and a
// churn sync (1% of members leave, 1% join: deprecations and creations). Prints a markdown table and
// one JSON line; writes bench/results/team-sync.json.
//
// Method. Each sync runs what the function runs per cluster, minus Kubernetes: the Teams API request
// (a local HTTP server answering the team object), PostgresTeam-less resolution, the role model, then
// applyTeamRoles (read pg_authid, plan, execute statement by statement on one connection). The
// Kubernetes part per cluster (Endpoints get, pod list, Secret get, one status patch when the
// condition changes) is a handful of requests and is not measured here (see bench/reconcile.ts for
// their cost). The 10 clusters share ONE PostgreSQL 15 server (fsync off): roles are cluster-wide
// there, so each cluster has its own team of 10,000 distinct names (c01_m00001 …), its own PAM and
// admin roles, and does the full work of a separate server. Clusters run 4 at a time, as the
// function's resync does. One difference from 10 servers: every cluster's catalog read returns the
// roles of all clusters on the server (up to 100,000 rows instead of 10,000), so readMs is an upper
// bound; the table shows it separately, and the last two rows sync one cluster on a server of its own
// (10,000 roles in the catalog): what one real cluster pays.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig } from '@pgfn/api';
import { repoRoot } from '@pgfn/controlplane';
import { startPostgres } from '@pgfn/testpg';
import {
  applyTeamRoles,
  buildTeamMap,
  clusterTeams,
  fetchTeam,
  humanRoles,
  resolveMembers,
  teamMembers,
  type ApplyReport,
} from '../functions/team-role-sync/src/index.js';
import { mapLimited } from '@pgfn/fn-runtime';

const arg = (flag: string, fallback: number): number => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MEMBERS = arg('--members', 10_000);
const CLUSTERS = arg('--clusters', 10);
const CONCURRENCY = arg('--concurrency', 4);
const CHURN = Math.max(1, Math.round(MEMBERS / 100));

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const clusterId = (c: number): string => `c${pad(c, 2)}`;
const memberName = (c: number, m: number): string => `${clusterId(c)}_m${pad(m, 5)}`;

/** team -> members, served like upstream's Teams API. */
const teams = new Map<string, string[]>();
const api: Server = createServer((req, res) => {
  const team = decodeURIComponent(/\/teams\/([^/]+)$/.exec(req.url ?? '')?.[1] ?? '');
  const members = teams.get(team);
  if (members === undefined) {
    res.writeHead(404).end('{}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: team, member: members }));
});
api.listen(0, '127.0.0.1');
await new Promise((r) => api.once('listening', r));
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api`;

const server = await startPostgres();
interface ClusterRun {
  readonly apiMs: number;
  readonly roles: number;
  readonly report: ApplyReport;
  readonly totalMs: number;
}
interface RunRow {
  run: string;
  clusters: number;
  roles: number;
  statements: number;
  created: number;
  deprecated: number;
  restored: number;
  apiMs: number;
  readMs: number;
  planMs: number;
  executeMs: number;
  wallMs: number;
  statementsPerSecond: number;
}
try {
  const admin = new pg.Client(server);
  await admin.connect();
  const configs: OperatorConfig[] = [];
  for (let c = 1; c <= CLUSTERS; c++) {
    const config: OperatorConfig = {
      ...DEFAULT_OPERATOR_CONFIG,
      enableTeamsApi: true,
      enablePostgresTeamCrd: false,
      enableTeamMemberDeprecation: true,
      pamRoleName: `${clusterId(c)}_pam`,
      teamAdminRole: `${clusterId(c)}_admin`,
      teamsApiUrl: apiUrl,
    };
    configs.push(config);
    // Spilo's post_init creates these two in every real cluster.
    await admin.query(`CREATE ROLE "${config.pamRoleName}" NOLOGIN`);
    await admin.query(`CREATE ROLE "${config.teamAdminRole}" NOLOGIN`);
    teams.set(
      `team${pad(c, 2)}`,
      Array.from({ length: MEMBERS }, (_, m) => memberName(c, m + 1)),
    );
  }
  await admin.end();
  const connection = { host: server.host, port: server.port, user: server.user, password: server.password, sslmode: 'disable' as const };

  const syncCluster = async (c: number, target = connection): Promise<ClusterRun> => {
    const config = configs[c - 1] as OperatorConfig;
    const t0 = performance.now();
    const owner = `team${pad(c, 2)}`;
    const lookup = await fetchTeam({ url: apiUrl, token: 'bench' }, owner);
    const apiMs = performance.now() - t0;
    const map = buildTeamMap([]);
    const members = resolveMembers(clusterTeams(owner, config, map), (team) =>
      teamMembers(team, config, map, team === owner ? lookup.members : []),
    );
    const { roles } = humanRoles(
      members.values(),
      config,
      new Map([
        ['postgres', 'a system user'],
        ['standby', 'a system user'],
      ]),
    );
    const report = await applyTeamRoles(target, {
      desired: roles,
      pamRole: config.pamRoleName,
      untouchable: new Set(['postgres', 'standby', 'admin', 'cron_admin']),
      deprecation: { enabled: true, suffix: config.roleDeletionSuffix },
    });
    if (report.execution.failed > 0)
      throw new Error(`cluster ${c}: ${report.execution.errors[0]?.statement.display}: ${report.execution.errors[0]?.message}`);
    return { apiMs, roles: roles.length, report, totalMs: performance.now() - t0 };
  };

  const byKind: Record<string, number> = {};
  const run = async (name: string): Promise<RunRow> => {
    const t0 = performance.now();
    const runs = await mapLimited(
      Array.from({ length: CLUSTERS }, (_, i) => i + 1),
      CONCURRENCY,
      syncCluster,
    );
    const wallMs = performance.now() - t0;
    const sum = (f: (r: ClusterRun) => number): number => runs.reduce((n, r) => n + f(r), 0);
    const statements = sum((r) => r.report.execution.executed);
    if (name === 'first sync') for (const r of runs) for (const s of r.report.plan.statements) byKind[s.kind] = (byKind[s.kind] ?? 0) + 1;
    return {
      run: name,
      clusters: CLUSTERS,
      roles: sum((r) => r.roles),
      statements,
      created: sum((r) => r.report.plan.created.length),
      deprecated: sum((r) => r.report.plan.deprecated.length),
      restored: sum((r) => r.report.plan.restored.length),
      apiMs: Math.round(sum((r) => r.apiMs)),
      readMs: Math.round(sum((r) => r.report.readMs)),
      planMs: Math.round(sum((r) => r.report.planMs)),
      executeMs: Math.round(sum((r) => r.report.execution.durationMs)),
      wallMs: Math.round(wallMs),
      statementsPerSecond: Math.round(statements / (wallMs / 1000)),
    };
  };

  const rows: RunRow[] = [];
  rows.push(await run('first sync'));
  rows.push(await run('no-op sync'));
  // 1% leave, 1% join, in every cluster.
  for (let c = 1; c <= CLUSTERS; c++) {
    const members = teams.get(`team${pad(c, 2)}`) as string[];
    teams.set(`team${pad(c, 2)}`, [...members.slice(CHURN), ...Array.from({ length: CHURN }, (_, m) => memberName(c, MEMBERS + m + 1))]);
  }
  rows.push(await run(`churn sync (${CHURN} leave, ${CHURN} join per cluster)`));
  rows.push(await run('no-op sync after churn'));

  // What one real cluster pays: the same team on a server of its own, so the catalog holds its
  // 10,000 roles only (the shared server above makes every read return all clusters' roles).
  const alone = await startPostgres();
  try {
    const db = new pg.Client(alone);
    await db.connect();
    await db.query(`CREATE ROLE "${configs[0]?.pamRoleName}" NOLOGIN`);
    await db.query(`CREATE ROLE "${configs[0]?.teamAdminRole}" NOLOGIN`);
    await db.end();
    const target = { host: alone.host, port: alone.port, user: alone.user, password: alone.password, sslmode: 'disable' as const };
    for (const name of ['one cluster on its own server: first sync', 'one cluster on its own server: no-op sync']) {
      const t0 = performance.now();
      const r = await syncCluster(1, target);
      const wallMs = performance.now() - t0;
      rows.push({
        run: name,
        clusters: 1,
        roles: r.roles,
        statements: r.report.execution.executed,
        created: r.report.plan.created.length,
        deprecated: r.report.plan.deprecated.length,
        restored: r.report.plan.restored.length,
        apiMs: Math.round(r.apiMs),
        readMs: Math.round(r.report.readMs),
        planMs: Math.round(r.report.planMs),
        executeMs: Math.round(r.report.execution.durationMs),
        wallMs: Math.round(wallMs),
        statementsPerSecond: Math.round(r.report.execution.executed / (wallMs / 1000)),
      });
    }
  } finally {
    await alone.stop();
  }

  const headers = Object.keys(rows[0] ?? {}) as (keyof RunRow)[];
  console.log(
    `\nteam-role-sync: a ${MEMBERS.toLocaleString('en')}-member team into ${CLUSTERS} clusters, ${CONCURRENCY} at a time, ` +
      `one PostgreSQL 15 (fsync off), ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log('apiMs/readMs/planMs/executeMs are summed over clusters; wallMs is the whole run.\n');
  console.log(`| ${headers.join(' | ')} |`);
  console.log(`| ${headers.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${headers.map((h) => r[h]).join(' | ')} |`);
  console.log(`\nfirst sync, statements by kind: ${JSON.stringify(byKind)}`);
  const result = {
    bench: 'team-sync',
    members: MEMBERS,
    clusters: CLUSTERS,
    concurrency: CONCURRENCY,
    date: new Date().toISOString(),
    rows,
    firstSyncByKind: byKind,
  };
  console.log(JSON.stringify(result));
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(join(repoRoot, 'bench/results/team-sync.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await server.stop();
  await new Promise((r) => api.close(r));
}
