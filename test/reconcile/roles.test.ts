import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import pg from 'pg';
import type { Postgresql } from '@pgfn/api';
import { testPostgres } from '@pgfn/testpg';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { provisionVolumes } from '../support/volumes.js';
import {
  example,
  labelLikePatroni,
  onKwok,
  pingEvent,
  podEvent,
  requestEvent,
  resourceEvent,
  startReconcile,
  type RunningReconcile,
} from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/**
 * Reconcile with database access, against the run's real PostgreSQL 15 standing in for the master:
 * the kwok pod labelled master (as Patroni would) is translated to the test server's address (the
 * API server refuses loopback addresses in Endpoints, and kwok pods listen nowhere), and the
 * superuser Secret holds the server's password (a Secret made before the cluster is authoritative).
 * Role names carry a random prefix: roles are cluster-wide.
 */
describe('reconcile: roles and databases on the master (real PostgreSQL)', function () {
  this.timeout(120_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let fn: RunningReconcile;
  let db: pg.Client;
  const p = `rs${randomBytes(3).toString('hex')}`;
  const name = 'acid-roles';

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'reconcile-roles');
    const server = testPostgres();
    fn = await startReconcile(kc, ns.name, undefined, { syncRoles: true, reach: () => ({ host: server.host, port: server.port }) });
    db = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
    await db.connect();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: `postgres.${name}.credentials.postgresql.acid.zalan.do` },
        stringData: { username: server.user, password: server.password },
      },
    });
  });
  after(async () => {
    await db.end();
    await fn.stop();
    await ns.cleanup();
  });

  const read = async (): Promise<Cluster> =>
    (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;

  it('creates the manifest roles and databases with the passwords from their Secrets, then has nothing left to do', async () => {
    const base = onKwok(example('minimal.yaml', ns.name, name));
    const body = {
      ...base,
      spec: { ...base.spec, users: { [`${p}_owner`]: ['createdb'], [`${p}_app`]: [] }, databases: { [`${p}_db`]: `${p}_owner` } },
    };
    const created = (await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await fn.post(resourceEvent('add', created))).status).to.equal(200);
    // Pods come up on kwok; play Patroni's role labels; the next event finds the master.
    await eventually(
      'Running pods',
      async () => {
        await provisionVolumes(kc, ns.name);
        const pods = (
          await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${name}` })
        ).items;
        return pods.length === 2 && pods.every((x) => x.status?.phase === 'Running') ? true : undefined;
      },
      60_000,
    );
    await labelLikePatroni(kc, ns.name, name);
    // The master's pod event: roles are still waiting for it, so it runs the full reconcile.
    expect((await fn.post(podEvent(ns.name, name))).status).to.equal(200);

    const roles = await db.query<{ rolname: string; rolcreatedb: boolean; rolcanlogin: boolean }>(
      'SELECT rolname, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1',
      [`${p}%`],
    );
    expect(roles.rows).to.deep.equal([
      { rolname: `${p}_app`, rolcreatedb: false, rolcanlogin: true },
      { rolname: `${p}_owner`, rolcreatedb: true, rolcanlogin: true },
    ]);
    const owner = await db.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [
      `${p}_db`,
    ]);
    expect(owner.rows).to.deep.equal([{ owner: `${p}_owner` }]);

    // The role's password is the one in its Secret: log in with it.
    const secret = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: ns.name, name: `${p}-app.${name}.credentials.postgresql.acid.zalan.do` });
    const server = testPostgres();
    const login = new pg.Client({
      host: server.host,
      port: server.port,
      database: `${p}_db`,
      user: Buffer.from(secret.data?.['username'] ?? '', 'base64').toString(),
      password: Buffer.from(secret.data?.['password'] ?? '', 'base64').toString(),
    });
    await login.connect();
    expect((await login.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).to.equal(`${p}_app`);
    await login.end();

    const status = (await read()).status;
    expect(status?.conditions?.find((c) => c.type === 'RolesSynced')).to.include({ status: 'True', reason: 'Synced' });
    const events = (
      await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name, fieldSelector: `involvedObject.name=${name}` })
    ).items;
    expect(events.some((e) => e.reason === 'RolesSynced')).to.equal(true);

    // The next event finds nothing to do, in Kubernetes or in Postgres.
    fn.requests.reset();
    await fn.post(requestEvent(ns.name, name));
    await fn.post(requestEvent(ns.name, name));
    expect((await read()).status?.conditions?.find((c) => c.type === 'RolesSynced')?.message).to.match(/^0 statement\(s\)/);
  });

  it('repairs a role changed by hand on the next event', async () => {
    await db.query(`ALTER ROLE "${p}_owner" NOCREATEDB`);
    await fn.post(pingEvent());
    const r = await db.query<{ rolcreatedb: boolean }>('SELECT rolcreatedb FROM pg_roles WHERE rolname = $1', [`${p}_owner`]);
    expect(r.rows[0]?.rolcreatedb).to.equal(true);
  });

  it('waits, without failing the invocation, while no master is known', async () => {
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .patchNamespacedPod(
        { namespace: ns.name, name: `${name}-0`, body: { metadata: { labels: { 'spilo-role': null } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    expect((await fn.post(requestEvent(ns.name, name))).status).to.equal(200);
    expect((await read()).status?.conditions?.find((c) => c.type === 'RolesSynced')).to.include({
      status: 'Unknown',
      reason: 'WaitingForMaster',
    });
  });
});
