// The operator's connection pooler on the node agent: Debian's pgbouncer configured from the pooler
// env contract, reaching the master through its Service's ready endpoints, authenticating users
// through the pooler schema's user_lookup function.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster, type SpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { connect, startTestAgent, waitForRoles, type TestAgent } from './support.js';

/** What reconcile provisions for the pooler (upstream connectionPoolerLookup in pkg/cluster/database.go). */
async function provisionPooler(masterIp: string, superuserPassword: string, poolerPassword: string): Promise<void> {
  const client = await connect(masterIp, superuserPassword);
  try {
    await client.query(`CREATE ROLE pooler LOGIN PASSWORD '${poolerPassword}'`);
    await client.query("CREATE ROLE app_user LOGIN PASSWORD 'app-secret'");
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS pooler;
      CREATE OR REPLACE FUNCTION pooler.user_lookup(in i_username text, out uname text, out phash text)
      RETURNS record AS $$
      BEGIN
        SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = i_username INTO uname, phash;
        RETURN;
      END;
      $$ LANGUAGE plpgsql SECURITY DEFINER;
      REVOKE ALL ON FUNCTION pooler.user_lookup(text) FROM public, pooler;
      GRANT EXECUTE ON FUNCTION pooler.user_lookup(text) TO pooler;
      GRANT USAGE ON SCHEMA pooler TO pooler;`);
  } finally {
    await client.end();
  }
}

describe('node agent: the connection pooler as real pgbouncer', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let cluster: SpiloCluster;

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'na-pool');
    t = await startTestAgent('pgfn-agent-pooler');
    cluster = await applySpiloCluster(kc, {
      namespace: ns.name,
      instances: 2,
      connectionPooler: true,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
    });
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const viaPooler = async (): Promise<string | undefined> => {
    const [pooler] = await t.agent.resolver.resolveAddresses(`${cluster.name}-pooler.${ns.name}.svc`, 5432);
    if (pooler === undefined) return undefined;
    const client = await connect(pooler.ip, 'app-secret', { user: 'app_user', port: pooler.port });
    try {
      const r = await client.query<{ addr: string; recovery: boolean }>(
        'SELECT host(inet_server_addr()) AS addr, pg_is_in_recovery() AS recovery',
      );
      return r.rows[0]?.recovery === false ? r.rows[0].addr : undefined;
    } finally {
      await client.end();
    }
  };

  it('lets a role log in through the pooler Service and reach the master', async () => {
    const { master } = await waitForRoles(kc, ns.name, cluster.name, 1);
    await provisionPooler(master.ip ?? '', cluster.password('postgres'), cluster.password('pooler'));
    const reached = await eventually('a query through the pooler', viaPooler, 120_000, 1000);
    expect(reached).to.equal(master.ip);
  });

  it('follows the master Service to the new master after a failover', async () => {
    const before = await waitForRoles(kc, ns.name, cluster.name, 1);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.deleteNamespacedPod({ name: before.master.name, namespace: ns.name });
    const after = await waitForRoles(kc, ns.name, cluster.name, { replicas: 0, timeoutMs: 120_000, not: before.master.name });
    const reached = await eventually(
      'the pooler to reach the new master',
      async () => {
        const addr = await viaPooler().catch(() => undefined);
        return addr === after.master.ip ? addr : undefined;
      },
      120_000,
      1000,
    );
    expect(reached).to.not.equal(before.master.ip);
  });
});
