// Clusters made from other clusters on the node agent: a clone with pg_basebackup (CLONE_* env) and
// a standby cluster streaming from a remote primary (STANDBY_* env). Both reach the source by its
// Service name, which the agent resolves for pods through their /etc/hosts.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster, type SpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { connect, startTestAgent, waitForRoles, type TestAgent } from './support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };

describe('node agent: clones and standby clusters', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let source: SpiloCluster;
  let sourceMaster: string;

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'na-clone');
    t = await startTestAgent('pgfn-agent-clone');
    source = await applySpiloCluster(kc, { namespace: ns.name, name: 'acid-src', instances: 1, patroni: TUNED });
    sourceMaster = (await waitForRoles(kc, ns.name, source.name, 0)).master.ip ?? '';
    const client = await connect(sourceMaster, source.password('postgres'));
    try {
      await client.query("CREATE TABLE origin (note text); INSERT INTO origin VALUES ('from acid-src')");
    } finally {
      await client.end();
    }
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const notes = async (ip: string, password: string): Promise<string[] | undefined> => {
    const client = await connect(ip, password);
    try {
      return (await client.query<{ note: string }>('SELECT note FROM origin ORDER BY note')).rows.map((r) => r.note);
    } catch {
      return undefined;
    } finally {
      await client.end();
    }
  };

  it('clones a running cluster with pg_basebackup and promotes the copy', async () => {
    const clone = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-copy',
      instances: 1,
      patroni: TUNED,
      clone: { cluster: source.name },
    });
    const { master } = await waitForRoles(kc, ns.name, clone.name, 0);
    // A physical copy of the source; Patroni then sets the clone's own superuser password.
    const rows = await eventually('the source rows on the clone', () => notes(master.ip ?? '', clone.password('postgres')), 60_000, 1000);
    expect(rows).to.deep.equal(['from acid-src']);
    const client = await connect(master.ip ?? '', clone.password('postgres'));
    try {
      expect((await client.query('SELECT pg_is_in_recovery() AS r')).rows[0]).to.deep.equal({ r: false });
    } finally {
      await client.end();
    }
  });

  it('follows a remote primary as a standby cluster', async () => {
    const standby = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-follow',
      instances: 1,
      patroni: TUNED,
      standby: { standby_host: source.name },
      credentialsOf: source,
    });
    // Patroni labels a standby leader "master" (3.0.2), but it stays in recovery and replays the source.
    const { master } = await waitForRoles(kc, ns.name, standby.name, { replicas: 0, timeoutMs: 240_000 });
    const client = await connect(sourceMaster, source.password('postgres'));
    try {
      await client.query("INSERT INTO origin VALUES ('later')");
    } finally {
      await client.end();
    }
    const rows = await eventually(
      'the later row on the standby',
      async () => {
        const r = await notes(master.ip ?? '', source.password('postgres'));
        return r?.includes('later') === true ? r : undefined;
      },
      120_000,
      1000,
    );
    expect(rows).to.deep.equal(['from acid-src', 'later']);
    const follower = await connect(master.ip ?? '', source.password('postgres'));
    try {
      expect((await follower.query('SELECT pg_is_in_recovery() AS r')).rows[0]).to.deep.equal({ r: true });
    } finally {
      await follower.end();
    }
  });
});
