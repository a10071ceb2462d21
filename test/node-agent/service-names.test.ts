// Pods reach Services by the names cluster DNS would answer (`<svc>` in their own namespace,
// `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local` everywhere): the agent keeps each
// pod's /etc/hosts up to date. A standby cluster in another namespace follows its source by
// `standby_host: <cluster>.<namespace>`, as upstream's documentation shows.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySpiloCluster, type SpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { connect, startTestAgent, waitForRoles, type TestAgent } from './support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };

describe('node agent: Service names across namespaces', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let home: { name: string; cleanup: () => Promise<void> };
  let away: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let source: SpiloCluster;
  let sourceMaster: string;

  before(async () => {
    kc = adminConfig();
    home = await createNamespace(kc, 'na-dns-src');
    away = await createNamespace(kc, 'na-dns-standby');
    t = await startTestAgent('pgfn-agent-dns');
    source = await applySpiloCluster(kc, { namespace: home.name, name: 'acid-src', instances: 1, patroni: TUNED });
    sourceMaster = (await waitForRoles(kc, home.name, source.name, 0)).master.ip ?? '';
    const client = await connect(sourceMaster, source.password('postgres'));
    try {
      await client.query("CREATE TABLE origin (note text); INSERT INTO origin VALUES ('from acid-src')");
    } finally {
      await client.end();
    }
  });
  after(async () => {
    await t?.stop();
    await home?.cleanup();
    await away?.cleanup();
  });

  it('follows a source in another namespace by standby_host <cluster>.<namespace>', async () => {
    const standby = await applySpiloCluster(kc, {
      namespace: away.name,
      name: 'acid-follow',
      instances: 1,
      patroni: TUNED,
      standby: { standby_host: `${source.name}.${home.name}` },
      credentialsOf: source,
    });
    const { master } = await waitForRoles(kc, away.name, standby.name, { replicas: 0, timeoutMs: 240_000 });
    const client = await connect(sourceMaster, source.password('postgres'));
    try {
      await client.query("INSERT INTO origin VALUES ('later')");
    } finally {
      await client.end();
    }
    const rows = await eventually(
      'the later row on the standby',
      async () => {
        const follower = await connect(master.ip ?? '', source.password('postgres')).catch(() => undefined);
        if (follower === undefined) return undefined;
        try {
          const r = (await follower.query<{ note: string }>('SELECT note FROM origin ORDER BY note')).rows.map((x) => x.note);
          return r.includes('later') ? r : undefined;
        } catch {
          return undefined;
        } finally {
          await follower.end();
        }
      },
      120_000,
      1000,
    );
    expect(rows).to.deep.equal(['from acid-src', 'later']);

    // Every form of the source's name is in the standby pod's /etc/hosts, pointing at the source master.
    const pods = join(t.dataDir, '.pgfn-agent', 'pods');
    const dir = readdirSync(pods).find((d) => d.startsWith(`${away.name}_${standby.name}-0_`));
    const hosts = readFileSync(join(pods, dir ?? 'missing', 'hosts'), 'utf8');
    const line = hosts.split('\n').find((l) => l.split(/\s+/)[1] === `${source.name}.${home.name}`);
    expect(line?.split(/\s+/), hosts).to.deep.equal([
      sourceMaster,
      `${source.name}.${home.name}`,
      `${source.name}.${home.name}.svc`,
      `${source.name}.${home.name}.svc.cluster.local`,
    ]);
  });
});
