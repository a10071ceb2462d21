// Postgres parameters of a new cluster's manifest are live from its first start: the builder puts
// them in SPILO_CONFIGURATION (bootstrap.dcs for the cluster-wide ones, postgresql.parameters for
// the local ones) and the node's Spilo stand-in hands them to Patroni as Spilo would. Patroni itself
// refuses a max_connections below 25 and starts with its default 100 instead (CMDLINE_OPTIONS in
// patroni/postgresql/config.py): a manifest asking for "10" gets 100 with real Spilo too.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace } from '../support/kube.js';
import { connect, startTestAgent, waitForRoles, type TestAgent } from './support.js';

describe('node agent: postgres parameters of a new cluster', function () {
  this.timeout(300_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'na-params');
    t = await startTestAgent('pgfn-agent-params');
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  it('starts with the manifest parameters, cluster-wide and local ones', async () => {
    const cluster = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-params',
      instances: 1,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      parameters: { max_connections: '30', work_mem: '7MB', log_statement: 'all' },
    });
    const { master } = await waitForRoles(kc, ns.name, cluster.name, 0);
    const client = await connect(master.ip ?? '', cluster.password('postgres'));
    try {
      const show = async (name: string): Promise<string> =>
        (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '';
      expect(await show('max_connections')).to.equal('30');
      expect(await show('work_mem')).to.equal('7MB');
      expect(await show('log_statement')).to.equal('all');
    } finally {
      await client.end();
    }
  });
});
