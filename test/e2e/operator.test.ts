// End to end through the operator on real Patroni (issue 14, item 4): kubectl-like calls only; the
// reconcile function (via the real receive adapter and the local broker) builds everything, the node
// agent runs Patroni 3 + PostgreSQL 15 + PgBouncer behind the pods, Patroni elects and labels the
// master. Run under `flock /tmp/pgfn-realpg.lock`.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { clusterMembers } from '@pgfn/node-agent/testing';
import { connect, processesLeftIn, sandboxesOf, waitForRoles } from '../node-agent/support.js';
import { eventually } from '../support/kube.js';
import { filesBelow, passwordHits } from '../support/log-search.js';
import { manifest, PG, startStack, type Stack } from './stack.js';

const NAME = 'acid-op';

describe('end to end on real Patroni: the operator in the loop', function () {
  this.timeout(600_000);
  let s: Stack;

  before(async () => {
    s = await startStack({ prefix: 'e2e-op' });
  });
  after(async () => {
    await s?.stop();
  });

  const condition = (type: string) => (c: Awaited<ReturnType<Stack['read']>>) => c?.status?.conditions?.find((x) => x.type === type);
  const running = (c: Awaited<ReturnType<Stack['read']>>): true | undefined =>
    c?.status?.PostgresClusterStatus === 'Running' && condition('PodsReady')(c)?.status === 'True' ? true : undefined;

  async function sql<T extends Record<string, unknown>>(query: string, database = 'postgres'): Promise<T[]> {
    const { master } = await waitForRoles(s.kc, s.namespace, NAME, ((await s.read(NAME))?.spec.numberOfInstances ?? 1) - 1);
    const client = await connect(master.ip ?? '', await s.password(NAME, 'postgres'), { database });
    try {
      return (await client.query<T>(query)).rows;
    } finally {
      await client.end();
    }
  }

  it('creates a cluster that reaches Running with the master Patroni elected and labelled', async () => {
    const body = manifest(s.namespace, NAME, {
      users: { app_owner: ['createdb'], report: [] },
      databases: { app: 'app_owner' },
      preparedDatabases: { shop: { schemas: { data: {} } } },
      enableConnectionPooler: true,
    });
    await s.custom.createNamespacedCustomObject({ ...PG, namespace: s.namespace, body });
    await s.waitFor('status Running', NAME, running, 300_000);
    const { master, replicas } = await waitForRoles(s.kc, s.namespace, NAME, 1);
    expect(replicas).to.have.length(1);
    const pod = await s.core.readNamespacedPod({ namespace: s.namespace, name: master.name });
    const managers = (pod.metadata?.managedFields ?? [])
      .filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes('"f:spilo-role"'))
      .map((f) => f.manager);
    expect(managers.join(','), 'who set spilo-role').to.match(/^Patroni/);
    expect(pod.spec?.nodeName).to.equal(s.agent.agent.nodeName);
    expect(await sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).to.deep.equal([{ r: false }]);
  });

  it("puts the manifest's users, databases and preparedDatabases in pg_roles and pg_database", async () => {
    const roles = await eventually(
      'the roles',
      async () => {
        const wanted = ['app_owner', 'report', 'shop_owner', 'shop_reader', 'shop_writer', 'shop_data_owner'];
        const rows = await sql<{ rolname: string }>(
          `SELECT rolname FROM pg_roles WHERE rolname IN (${wanted.map((r) => `'${r}'`).join(',')}) ORDER BY 1`,
        );
        return rows.length === 6 ? rows.map((r) => r.rolname) : undefined;
      },
      120_000,
      1000,
    );
    expect(roles).to.deep.equal(['app_owner', 'report', 'shop_data_owner', 'shop_owner', 'shop_reader', 'shop_writer']);
    const dbs = await sql<{ datname: string; owner: string }>(
      "SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname IN ('app','shop') ORDER BY 1",
    );
    expect(dbs).to.deep.equal([
      { datname: 'app', owner: 'app_owner' },
      { datname: 'shop', owner: 'shop_owner' },
    ]);
    const schemas = await sql<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname = 'data'", 'shop');
    expect(schemas).to.have.length(1);
  });

  it("lets a manifest user log in through the pooler Service, with pgfn's own user_lookup", async () => {
    const password = await s.password(NAME, 'app_owner');
    const reached = await eventually(
      'a query through the pooler',
      async () => {
        const [pooler] = await s.agent.agent.resolver.resolveAddresses(`${NAME}-pooler.${s.namespace}.svc`, 5432);
        if (pooler === undefined) return undefined;
        const client = await connect(pooler.ip, password, { user: 'app_owner', port: pooler.port, database: 'app' });
        try {
          const r = await client.query<{ user: string; recovery: boolean }>('SELECT current_user AS user, pg_is_in_recovery() AS recovery');
          return r.rows[0];
        } finally {
          await client.end();
        }
      },
      180_000,
      1000,
    );
    expect(reached).to.deep.equal({ user: 'app_owner', recovery: false });
    // The lookup PgBouncer ran is the function pgfn installed, not one of the test's.
    const fn = await sql<{ owner: string }>(
      'SELECT pg_get_userbyid(p.proowner) AS owner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace' +
        " WHERE n.nspname = 'pooler' AND p.proname = 'user_lookup'",
      'app',
    );
    expect(fn).to.have.length(1);
  });

  it('scales 2 → 3 → 1 with Patroni following', async () => {
    await s.edit(NAME, (spec) => ({ ...spec, numberOfInstances: 3 }));
    await waitForRoles(s.kc, s.namespace, NAME, { replicas: 2, timeoutMs: 240_000 });
    await s.waitFor('status Running with 3 pods', NAME, (c) =>
      running(c) && /^3\/3 pods ready/.test(condition('PodsReady')(c)?.message ?? '') ? true : undefined,
    );
    await s.edit(NAME, (spec) => ({ ...spec, numberOfInstances: 1 }));
    await eventually(
      'one pod left, the master',
      async () => {
        const members = await clusterMembers(s.kc, s.namespace, NAME);
        return members.length === 1 && members[0]?.role === 'master' && members[0].ready ? true : undefined;
      },
      240_000,
      500,
    );
    await s.waitFor('status Running with 1 pod', NAME, (c) =>
      running(c) && /^1\/1 pods ready/.test(condition('PodsReady')(c)?.message ?? '') ? true : undefined,
    );
  });

  it('follows the new master in status when the master pod is deleted', async () => {
    await s.edit(NAME, (spec) => ({ ...spec, numberOfInstances: 2 }));
    const before = await waitForRoles(s.kc, s.namespace, NAME, { replicas: 1, timeoutMs: 240_000 });
    await s.waitFor('Running with 2 pods', NAME, (c) =>
      running(c) && /^2\/2/.test(condition('PodsReady')(c)?.message ?? '') ? true : undefined,
    );
    await s.core.deleteNamespacedPod({ namespace: s.namespace, name: before.master.name });
    const after = await waitForRoles(s.kc, s.namespace, NAME, { replicas: 1, timeoutMs: 180_000, not: before.master.name });
    expect(after.master.name).to.not.equal(before.master.name);
    await s.waitFor('status Running again with the new master', NAME, (c) =>
      running(c) && /^2\/2 pods ready, 1 master/.test(condition('PodsReady')(c)?.message ?? '') ? true : undefined,
    );
    const pods = await s.core.listNamespacedPod({
      namespace: s.namespace,
      labelSelector: `application=spilo,cluster-name=${NAME},spilo-role=master`,
    });
    expect(pods.items.map((p) => p.metadata?.name)).to.deep.equal([after.master.name]);
  });

  // Issue 20, item 7, for the logs the bounded log test lacks: this run's event pipeline (receive
  // adapter, broker, reconcile, Knative controllers) and the node agent's pods (PgBouncer, Patroni,
  // PostgreSQL). By now every credential has been created, used through the pooler and by a failover.
  it('leaves no password, raw or base64, in any log: PgBouncer, receive adapter, broker, reconcile, Patroni, PostgreSQL', async () => {
    const secrets = (await s.core.listNamespacedSecret({ namespace: s.namespace })).items;
    const passwords = secrets.map((x) => Buffer.from(x.data?.['password'] ?? '', 'base64').toString('utf8')).filter((pw) => pw !== '');
    // postgres, standby, app_owner, report, the pooler's user (and prepared databases' roles)
    expect(passwords.length, 'passwords of the cluster').to.be.at.least(5);
    const pgLogs = filesBelow(s.agent.dataDir).filter((f) => /\/pg_log\/|\.log$|\.csv$/.test(f));
    const files = [...filesBelow(s.logDir), ...filesBelow(s.agent.logDir), ...pgLogs];
    const kinds = {
      PgBouncer: files.filter((f) => /-pooler-[^/]*\/connection-pooler\.log$/.test(f)),
      'receive adapter': files.filter((f) => /\/adapter-[^/]*\.log$/.test(f)),
      broker: files.filter((f) => f.endsWith('/broker.jsonl')),
      reconcile: files.filter((f) => /\/reconcile(-\d+)?\.log$/.test(f)),
      Patroni: files.filter((f) => /\/postgres\.log$/.test(f)),
      PostgreSQL: pgLogs,
    };
    const empty = Object.entries(kinds)
      .filter(([, list]) => list.length === 0)
      .map(([k]) => k);
    expect(empty, `log kinds found in ${files.length} files`).to.deep.equal([]);
    expect(passwordHits(files, passwords), `searched ${files.length} files for ${passwords.length} passwords`).to.deep.equal([]);
    const counts = Object.entries(kinds)
      .map(([k, list]) => `${k} ${list.length}`)
      .join(', ');
    console.log(`      searched ${files.length} log files (${counts}) for ${passwords.length} passwords: 0 hits`);
  });

  it('leaves nothing behind when the cluster is deleted, processes included', async () => {
    const sandboxes = sandboxesOf(s.agent.agent.processGroups());
    expect(sandboxes.length, 'sandboxes running before the delete').to.be.greaterThan(0);
    await s.custom.deleteNamespacedCustomObject({ ...PG, namespace: s.namespace, name: NAME });
    await eventually(
      'the CR and every object of the cluster gone',
      async () => {
        const gone = (await s.read(NAME)) === undefined;
        const selector = `cluster-name=${NAME}`;
        const left = [
          ...(await s.core.listNamespacedPod({ namespace: s.namespace, labelSelector: selector })).items,
          ...(await s.core.listNamespacedService({ namespace: s.namespace, labelSelector: selector })).items,
          ...(await s.core.listNamespacedSecret({ namespace: s.namespace, labelSelector: selector })).items,
          ...(await s.core.listNamespacedPersistentVolumeClaim({ namespace: s.namespace, labelSelector: selector })).items,
          ...(await s.kc.makeApiClient(k8s.AppsV1Api).listNamespacedStatefulSet({ namespace: s.namespace, labelSelector: selector })).items,
          ...(await s.kc.makeApiClient(k8s.AppsV1Api).listNamespacedDeployment({ namespace: s.namespace })).items,
        ];
        return gone && left.length === 0 ? true : undefined;
      },
      180_000,
      1000,
    );
    const leftover = await eventually(
      'every sandbox process gone',
      () => Promise.resolve(processesLeftIn(sandboxes).length === 0 ? [] : undefined),
      60_000,
      500,
    );
    expect(leftover).to.deep.equal([]);
    expect(s.agent.agent.processGroups(), 'process groups the agent still runs').to.deep.equal([]);
  });
});
