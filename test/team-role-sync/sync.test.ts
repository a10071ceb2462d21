import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import pg from 'pg';
import type { OperatorConfig } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { startPostgres, testPostgres, type RunningPostgres } from '@pgfn/testpg';
import { setCondition } from '@pgfn/fn-runtime';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import {
  makeCluster,
  PG,
  pingEvent,
  readCluster,
  resourceEvent,
  startTeamsApi,
  startTeamSync,
  teamConfig,
  type FakeTeamsApi,
  type RunningTeamSync,
} from './support.js';

interface RoleRow {
  rolname: string;
  login: boolean;
  superuser: boolean;
  nopassword: boolean;
  groups: string[];
  config: string[];
}

/** Roles whose name starts with `prefix`, as the catalogs have them. */
async function roles(db: pg.Client, prefix: string): Promise<RoleRow[]> {
  const { rows } = await db.query<RoleRow>(
    `
    SELECT r.rolname, r.rolcanlogin AS login, r.rolsuper AS superuser, r.rolpassword IS NULL AS nopassword,
           ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                  WHERE m.member = r.oid ORDER BY g.rolname COLLATE "C") AS groups,
           COALESCE((SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0), '{}') AS config
      FROM pg_authid r WHERE starts_with(r.rolname, $1) ORDER BY r.rolname COLLATE "C"`,
    [prefix],
  );
  return rows;
}

async function connect(server: { host: string; port: number; user: string; password: string }): Promise<pg.Client> {
  const db = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await db.connect();
  return db;
}

/** Spilo's post_init creates the PAM role and the team admin role; the test servers get them here. */
async function spiloGroups(db: pg.Client, config: OperatorConfig): Promise<void> {
  await db.query(`CREATE ROLE "${config.pamRoleName}" NOLOGIN`);
  await db.query(`CREATE ROLE "${config.teamAdminRole}" NOLOGIN`);
}

async function tokenSecret(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'postgresql-operator' },
      stringData: { 'read-only-token-type': 'Bearer', 'read-only-token-secret': 'team-token' },
    },
  });
}

async function waitForDefaultServiceAccount(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  await eventually('default ServiceAccount', async () =>
    (await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedServiceAccount({ namespace, name: 'default' })
      .catch(() => undefined)) === undefined
      ? undefined
      : true,
  );
}

async function clusterEvents(kc: k8s.KubeConfig, namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  return (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;
}

/**
 * team-role-sync against the real control plane and the run's real PostgreSQL 15, with a local HTTP
 * server as the Teams API. The cluster's master is a kwok pod labelled as Patroni would; the function
 * reaches it through the `reach` seam. Roles are cluster-wide on the shared server, so every name
 * (members, the PAM and admin roles) carries a per-run prefix.
 */
describe('team-role-sync: human roles from the Teams API (real PostgreSQL)', function () {
  this.timeout(120_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let api: FakeTeamsApi;
  let fn: RunningTeamSync;
  let db: pg.Client;
  const p = `trs${randomBytes(3).toString('hex')}`;
  const name = 'acid-main';
  const jane = `${p}_jane`;
  const joe = `${p}_joe`;
  let config: OperatorConfig;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'team-role-sync');
    api = await startTeamsApi();
    const server = testPostgres();
    db = await connect(server);
    config = teamConfig(p, {
      teamsApiUrl: api.url,
      enableTeamMemberDeprecation: true,
      oauthTokenSecretName: { namespace: '', name: 'postgresql-operator' },
    });
    await spiloGroups(db, config);
    await tokenSecret(kc, ns.name);
    await waitForDefaultServiceAccount(kc, ns.name);
    fn = await startTeamSync(kc, {
      config,
      watchedNamespace: ns.name,
      operatorNamespace: ns.name,
      reach: () => ({ host: server.host, port: server.port }),
    });
    await db.query(`CREATE ROLE "${p}_app" LOGIN`); // a manifest user, reconcile's
  });
  after(async () => {
    await fn.stop();
    await api.stop();
    await db.end();
    await ns.cleanup();
  });

  const humans = async (): Promise<RoleRow[]> =>
    (await roles(db, p)).filter((r) => ![`${p}_pam`, `${p}_admin`, `${p}_app`, `${p}_v`].includes(r.rolname));
  const condition = async (): Promise<Record<string, unknown> | undefined> =>
    (await readCluster(kc, ns.name, name)).status?.conditions?.find((c) => c.type === 'TeamRolesSynced') as
      Record<string, unknown> | undefined;

  it('creates a LOGIN role without password for every member, in the PAM and admin roles, with the configured settings', async () => {
    api.teams.set('acid', [jane, joe, 'admin', 'postgres', `${p}_app`]);
    const created = await makeCluster(kc, { namespace: ns.name, name }, 'acid', { server: testPostgres(), users: { [`${p}_app`]: [] } });
    // Another writer's condition must survive ours.
    await kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObjectStatus(
      {
        ...PG,
        namespace: ns.name,
        name,
        body: {
          status: {
            PostgresClusterStatus: 'Running',
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'ClusterReady',
                message: 'the cluster is running',
                lastTransitionTime: '2026-01-01T00:00:00Z',
              },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await eventually('the master pod Running', async () => {
      const pod = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedPod({ namespace: ns.name, name: `${name}-0` });
      return pod.status?.phase === 'Running' && pod.status.podIP ? true : undefined;
    });

    const res = await fn.post(resourceEvent('add', created));
    expect(res.status, await res.clone().text()).to.equal(200);
    const group = [`${p}_admin`, `${p}_pam`];
    expect(await humans()).to.deep.equal([
      { rolname: jane, login: true, superuser: false, nopassword: true, groups: group, config: ['log_statement=all'] },
      { rolname: joe, login: true, superuser: false, nopassword: true, groups: group, config: ['log_statement=all'] },
    ]);
    expect(api.requests.map((r) => r.authorization)).to.deep.equal(['Bearer team-token']);
    const cluster = await readCluster(kc, ns.name, name);
    expect(cluster.status?.conditions?.map((c) => c.type)).to.deep.equal(['Ready', 'TeamRolesSynced']);
    expect(await condition()).to.include({ status: 'True', reason: 'Synced', observedGeneration: cluster.metadata?.generation });
    expect(String((await condition())?.['message']))
      .to.match(/2 human role\(s\) from team\(s\) acid/)
      .and.to.match(/protected role/)
      .and.to.match(/a system user/)
      .and.to.match(/a user of the cluster manifest/);
    expect((await clusterEvents(kc, ns.name, name)).map((e) => e.reason)).to.include('TeamRolesSynced');
    expect(fn.emitted.at(-1)).to.deep.include({ type: 'dev.pgfn.teamroles.synced', subject: `${ns.name}/${name}` });
    expect(fn.emitted.at(-1)?.data).to.include({ teamId: 'acid', roles: 2, created: 2 });
  });

  it('changes nothing, in Postgres or Kubernetes, when nothing changed', async () => {
    const before = await humans();
    const events = (await clusterEvents(kc, ns.name, name)).length;
    fn.requests.clear();
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(await humans()).to.deep.equal(before);
    expect(fn.emitted.at(-1)?.data).to.include({ statements: 0 });
    expect(fn.requests.get('patch-status') ?? 0).to.equal(0);
    expect((await clusterEvents(kc, ns.name, name)).length).to.equal(events);
  });

  it('ignores an update of the cluster whose spec it already synced', async () => {
    fn.requests.clear();
    const res = await fn.post(resourceEvent('update', await readCluster(kc, ns.name, name)));
    expect(res.headers.get('pgfn-outcome')).to.equal('ignored');
    expect(await res.text(), 'no body: Knative takes one that is not a CloudEvent as a failure').to.equal('');
    expect([...fn.requests.values()].reduce((a, b) => a + b, 0)).to.equal(0);
  });

  it('deprecates a member who left: NOLOGIN and renamed with the suffix; other roles untouched', async () => {
    await db.query(`CREATE ROLE "${p}_cron" LOGIN IN ROLE "${p}_pam"`); // protected, though in the PAM role
    fn.config = { ...config, protectedRoleNames: [...config.protectedRoleNames, `${p}_cron`] };
    await db.query(`GRANT pg_monitor TO "${joe}"`); // granted by hand; must survive the round trip
    api.teams.set('acid', [jane]);
    expect((await fn.post(pingEvent())).status).to.equal(200);
    const after = await roles(db, p);
    expect(after.map((r) => [r.rolname, r.login])).to.deep.equal([
      [`${p}_admin`, false],
      [`${p}_app`, true],
      [`${p}_cron`, true],
      [jane, true],
      [`${joe}_deleted`, false],
      [`${p}_pam`, false],
    ]);
    expect(fn.emitted.at(-1)?.data).to.deep.include({ deprecated: [joe] });
  });

  it('restores a member who came back under the original name, with LOGIN and the grants it had', async () => {
    api.teams.set('acid', [jane, joe]);
    expect((await fn.post(pingEvent())).status).to.equal(200);
    const back = (await humans()).find((r) => r.rolname === joe);
    expect(back).to.deep.include({ login: true, superuser: false, nopassword: true });
    expect(back?.groups).to.deep.equal(['pg_monitor', `${p}_admin`, `${p}_pam`]);
    expect(await roles(db, `${joe}_deleted`)).to.deep.equal([]);
    expect(fn.emitted.at(-1)?.data).to.deep.include({ restored: [joe], deprecated: [] });
  });

  it('makes members of superuser teams superusers, and the owning team with enable_team_superuser, and takes it back', async () => {
    const root = `${p}_root`;
    api.teams.set('dba', [root]);
    fn.config = { ...fn.config, postgresSuperuserTeams: ['dba'] };
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect((await humans()).find((r) => r.rolname === root)).to.deep.include({ login: true, superuser: true, groups: [`${p}_pam`] });

    fn.config = { ...fn.config, enableTeamSuperuser: true };
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect((await humans()).filter((r) => r.superuser).map((r) => r.rolname)).to.deep.equal([jane, joe, root]);

    fn.config = { ...fn.config, enableTeamSuperuser: false, postgresSuperuserTeams: [] };
    api.teams.set('acid', [jane, joe, root]);
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect((await humans()).filter((r) => r.superuser).map((r) => r.rolname)).to.deep.equal([]);
  });

  const outages: { mode: FakeTeamsApi['mode']; error: RegExp }[] = [
    { mode: 'error-500', error: /answered 500/ },
    { mode: 'garbage', error: /neither a list of names nor an object/ },
    { mode: 'not-json', error: /not JSON/ },
    { mode: 'hang', error: /no answer within 1500 ms/ },
  ];
  for (const o of outages) {
    it(`changes no role and answers 503 when the Teams API ${o.mode === 'hang' ? 'does not answer' : `answers ${o.mode}`}`, async () => {
      const before = await roles(db, p);
      api.teams.set('acid', [jane]); // a leaver that must NOT be deprecated while the API is broken
      api.mode = o.mode;
      try {
        const res = await fn.post(pingEvent());
        expect(res.status).to.equal(503);
        expect(String(((await res.json()) as { error: string }).error)).to.match(o.error);
        expect(await roles(db, p)).to.deep.equal(before);
        expect(await condition()).to.include({ status: 'False', reason: 'TeamsApiUnavailable' });
        expect(String((await condition())?.['message']))
          .to.match(/^no role was changed/)
          .and.to.match(o.error);
        expect((await clusterEvents(kc, ns.name, name)).some((e) => e.reason === 'TeamsApiUnavailable' && e.type === 'Warning')).to.equal(
          true,
        );
      } finally {
        api.mode = 'ok';
        api.teams.set('acid', [jane, joe, `${p}_root`]);
      }
    });
  }

  it('answers 503 and changes nothing when the token Secret is missing, and recovers when the API is back', async () => {
    fn.config = { ...fn.config, oauthTokenSecretName: { namespace: '', name: 'no-such-secret' } };
    const res = await fn.post(pingEvent());
    expect(res.status).to.equal(503);
    expect(String((await condition())?.['message'])).to.match(/no-such-secret.*does not exist/);
    fn.config = { ...fn.config, oauthTokenSecretName: { namespace: '', name: 'postgresql-operator' } };
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(await condition()).to.include({ status: 'True', reason: 'Synced' });
  });

  it('handles member names that are hostile SQL as plain names (checked in pg_authid)', async () => {
    await db.query(`CREATE ROLE "${p}_v" LOGIN`);
    const hostile = [
      `${p}_x"; DROP ROLE "${p}_v"; --`,
      `${p}_y'); DROP ROLE "${p}_v"; --`,
      `${p}_z\\"; ALTER ROLE "${p}_v" SUPERUSER; --`,
      `${p} $$; DROP ROLE "${p}_v"; $$`,
    ];
    api.teams.set('acid', [jane, joe, `${p}_root`, ...hostile, `${p}_nul\u0000x`]);
    expect((await fn.post(pingEvent())).status).to.equal(200);
    const all = await roles(db, p);
    expect(all.find((r) => r.rolname === `${p}_v`)).to.deep.include({ login: true, superuser: false });
    for (const h of hostile)
      expect(
        all.find((r) => r.rolname === h),
        h,
      ).to.deep.include({ login: true, superuser: false, groups: [`${p}_admin`, `${p}_pam`] });
    expect(String((await condition())?.['message'])).to.match(/NUL character; skipped/);

    // Leaving the team deprecates them by their exact names, too.
    api.teams.set('acid', [jane, joe, `${p}_root`]);
    expect((await fn.post(pingEvent())).status).to.equal(200);
    const deprecated = (await roles(db, p))
      .filter((r) => r.rolname.endsWith('_deleted'))
      .map((r) => r.rolname)
      .sort();
    expect(deprecated).to.deep.equal(hostile.map((h) => `${h}_deleted`).sort());
    expect(await roles(db, `${p}_v`)).to.have.length(1);
  });

  it("writes its condition over a stale read without losing a concurrent writer's status (resourceVersion guard)", async () => {
    const stale = await readCluster(kc, ns.name, name);
    const conditions = [
      ...(stale.status?.conditions ?? []),
      {
        type: 'BackupVerified',
        status: 'True',
        reason: 'Verified',
        message: 'restore test passed',
        lastTransitionTime: '2026-01-02T00:00:00Z',
      },
    ];
    await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .patchNamespacedCustomObjectStatus(
        { ...PG, namespace: ns.name, name, body: { status: { conditions } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    const changed = await setCondition({
      kube: new KubeClient(kc),
      object: stale,
      condition: { type: 'TeamRolesSynced', status: 'False', reason: 'SyncFailed', message: 'from a stale read' },
      now: new Date(),
    });
    expect(changed).to.equal(true);
    const types = (await readCluster(kc, ns.name, name)).status?.conditions?.map((c) => `${c.type}=${c.status}`);
    expect(types).to.deep.equal(['Ready=True', 'TeamRolesSynced=False', 'BackupVerified=True']);
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(await condition()).to.include({ status: 'True', reason: 'Synced' });
  });

  it('does not deprecate anyone while the teams features are off, and ignores the event', async () => {
    fn.config = { ...fn.config, enableTeamsApi: false, enablePostgresTeamCrd: false };
    const before = await roles(db, p);
    const res = await fn.post(pingEvent());
    expect(res.headers.get('pgfn-outcome')).to.equal('ignored');
    expect(await res.text(), 'no body: Knative takes one that is not a CloudEvent as a failure').to.equal('');
    expect(await roles(db, p)).to.deep.equal(before);
    fn.config = { ...fn.config, enableTeamsApi: true };
  });
});

/**
 * PostgresTeam chains across three clusters. Each cluster gets its own PostgreSQL server: roles are
 * cluster-wide, so clusters sharing one server could not show who got what.
 */
describe('team-role-sync: PostgresTeam chains, virtual teams and superuser teams (three real PostgreSQL servers)', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let api: FakeTeamsApi;
  let fn: RunningTeamSync;
  const servers = new Map<string, RunningPostgres>();
  const dbs = new Map<string, pg.Client>();
  const clusters = ['a-main', 'b-main', 'c-main'];

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'team-chains');
    api = await startTeamsApi();
    const config = teamConfig('hum', {
      teamsApiUrl: api.url,
      enableTeamMemberDeprecation: true,
      enablePostgresTeamCrd: true,
      enablePostgresTeamCrdSuperusers: true,
      oauthTokenSecretName: { namespace: '', name: 'postgresql-operator' },
    });
    const started = await Promise.all(clusters.map(() => startPostgres()));
    for (const [i, c] of clusters.entries()) {
      const server = started[i] as RunningPostgres;
      servers.set(c, server);
      const db = await connect(server);
      dbs.set(c, db);
      await spiloGroups(db, config);
    }
    await tokenSecret(kc, ns.name);
    await waitForDefaultServiceAccount(kc, ns.name);
    fn = await startTeamSync(kc, {
      config,
      watchedNamespace: ns.name,
      operatorNamespace: ns.name,
      reach: (m) => {
        const server = servers.get((m.podName ?? '').replace(/-0$/, ''));
        if (server === undefined) throw new Error(`no server for ${m.podName}`);
        return { host: server.host, port: server.port };
      },
    });
    for (const c of clusters)
      await makeCluster(kc, { namespace: ns.name, name: c }, `${c[0]}-team`, { server: servers.get(c) as RunningPostgres });
    await eventually('master pods Running', async () => {
      const pods = (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: ns.name })).items;
      return pods.length === 3 && pods.every((x) => x.status?.phase === 'Running' && x.status.podIP) ? true : undefined;
    });
  });
  after(async () => {
    await fn?.stop();
    await api?.stop();
    for (const db of dbs.values()) await db.end();
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await ns?.cleanup();
  });

  const custom = (): k8s.CustomObjectsApi => kc.makeApiClient(k8s.CustomObjectsApi);
  const TEAMS = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresteams' };
  const people = async (c: string): Promise<[string, boolean, boolean][]> =>
    (await roles(dbs.get(c) as pg.Client, 'hum_'))
      .filter((r) => r.rolname !== 'hum_pam' && r.rolname !== 'hum_admin')
      .map((r) => [r.rolname, r.login, r.superuser]);

  it('resolves additional teams transitively, through a virtual team, with members, and superuser teams only where mapped', async () => {
    api.teams.set('a-team', ['hum_alice']);
    api.teams.set('b-team', ['hum_bob']);
    api.teams.set('c-team', ['hum_carl']);
    api.teams.set('ops', ['hum_olga']);
    // "virtual" is not in the Teams API (404): its members come from the PostgresTeam alone.
    await custom().createNamespacedCustomObject({
      ...TEAMS,
      namespace: ns.name,
      body: {
        apiVersion: 'acid.zalan.do/v1',
        kind: 'PostgresTeam',
        metadata: { name: 'mapping' },
        spec: {
          additionalTeams: {
            'a-team': ['virtual'],
            'b-team': ['a-team'],
            virtual: ['c-team'],
            'c-team': ['b-team-cycle'],
            'b-team-cycle': ['c-team'],
          },
          additionalMembers: { virtual: ['hum_flynch'] },
          additionalSuperuserTeams: { 'a-team': ['ops'] },
        },
      },
    });
    const res = await fn.post(pingEvent());
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(await people('a-main')).to.deep.equal([
      ['hum_alice', true, false],
      ['hum_carl', true, false],
      ['hum_flynch', true, false],
      ['hum_olga', true, true],
    ]);
    expect(await people('b-main')).to.deep.equal([
      ['hum_alice', true, false],
      ['hum_bob', true, false],
      ['hum_carl', true, false],
      ['hum_flynch', true, false],
    ]);
    expect(await people('c-main')).to.deep.equal([['hum_carl', true, false]]);
    // Each team was asked for once, however many clusters need it.
    const asked = api.requests.map((r) => r.path).sort();
    expect(asked).to.deep.equal([...new Set(asked)]);
    const a = (await readCluster(kc, ns.name, 'a-main')).status?.conditions?.find((c) => c.type === 'TeamRolesSynced');
    expect(a?.message).to.match(/does not know team "virtual"/);
  });

  it('syncs exactly the clusters a new PostgresTeam concerns', async () => {
    const body = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'PostgresTeam',
      metadata: { name: 'cora', namespace: ns.name },
      spec: { additionalMembers: { 'c-team': ['hum_cora'] } },
    };
    await custom().createNamespacedCustomObject({ ...TEAMS, namespace: ns.name, body });
    fn.emitted.length = 0;
    expect((await fn.post(resourceEvent('add', body))).status).to.equal(200);
    expect(fn.emitted.map((e) => e.subject).sort()).to.deep.equal(clusters.map((c) => `${ns.name}/${c}`));
    for (const c of clusters) expect((await people(c)).map(([n]) => n)).to.include('hum_cora');

    const unrelated = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'PostgresTeam',
      metadata: { name: 'zed', namespace: ns.name },
      spec: { additionalMembers: { 'z-team': ['hum_zed'] } },
    };
    await custom().createNamespacedCustomObject({ ...TEAMS, namespace: ns.name, body: unrelated });
    fn.emitted.length = 0;
    expect((await fn.post(resourceEvent('add', unrelated))).status).to.equal(200);
    expect(fn.emitted).to.deep.equal([]);
  });

  it('deprecates the members a deleted PostgresTeam gave, in every cluster it reached', async () => {
    const deleted = (await custom().getNamespacedCustomObject({ ...TEAMS, namespace: ns.name, name: 'cora' })) as Record<string, unknown>;
    await custom().deleteNamespacedCustomObject({ ...TEAMS, namespace: ns.name, name: 'cora' });
    fn.emitted.length = 0;
    expect((await fn.post(resourceEvent('delete', { ...deleted, kind: 'PostgresTeam' }))).status).to.equal(200);
    expect(fn.emitted).to.have.length(3);
    for (const c of clusters) {
      const names = (await people(c)).map(([n, login]) => `${n}:${login}`);
      expect(names).to.include('hum_cora_deleted:false');
      expect(names).to.not.include('hum_cora:true');
    }
  });
});
