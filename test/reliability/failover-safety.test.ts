// Data safety under failover (issue 20, item 4; ADR 0080), the CI-sized half of
// `npm run bench:failover-safety`: a 3-instance `synchronous_mode: true` Spilo cluster on the node
// agent (real Patroni and PostgreSQL), one fault of each kind on the master with a ledger writer
// committing through the master Service, and after each the check that every acknowledged row is on
// the master once the cluster is whole again. Synchronous mode promises exactly that, so one lost row
// fails the test. Afterwards (issue 20, item 7, for the parts the bounded log test lacks) every password
// of the cluster is searched for, raw and base64, in every log of the node agent's run: Patroni's,
// PostgreSQL's (in the volumes), the agent's own. Run under `flock /tmp/pgfn-realpg.lock`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { applySpiloCluster, clusterMembers, FAULT_KINDS, runFault, waitWhole, type SpiloCluster } from '@pgfn/node-agent/testing';
import { adminConfig, createNamespace } from '../support/kube.js';
import { connect, startTestAgent, type TestAgent } from '../node-agent/support.js';

const TUNED = { ttl: 10, loop_wait: 2, retry_timeout: 4 };

/** Every regular file below `dir`. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    const st = statSync(path, { throwIfNoEntry: false });
    return st === undefined ? [] : st.isDirectory() ? filesBelow(path) : [path];
  });
}

describe('data safety under failover: synchronous_mode loses no acknowledged write', function () {
  this.timeout(900_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let cluster: SpiloCluster;

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'safety');
    t = await startTestAgent('pgfn-agent-safety');
    cluster = await applySpiloCluster(kc, { namespace: ns.name, instances: 3, patroni: { ...TUNED, synchronous_mode: true } });
    await waitWhole(kc, cluster);
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  it('runs Patroni in synchronous mode with a synchronous standby', async () => {
    const { master } = await waitWhole(kc, cluster);
    const client = await connect(master.ip ?? '', cluster.password('postgres'));
    try {
      const r = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_replication WHERE sync_state = 'sync'");
      expect(Number(r.rows[0]?.n), 'synchronous standbys of the master').to.equal(1);
    } finally {
      await client.end();
    }
  });

  for (const fault of FAULT_KINDS) {
    it(`${fault} on the master: every acknowledged row survives`, async () => {
      const outcome = await runFault({
        kc,
        agent: t.agent,
        cluster,
        fault,
        table: `ledger_${fault.replace('-', '_')}`,
        ttlSeconds: TUNED.ttl,
      });
      console.log(
        `      ${fault}: ${outcome.oldMaster} → ${outcome.newMaster}, ${outcome.acknowledged} acknowledged, ${outcome.lost.length} lost, ` +
          `write gap ${outcome.writeGapMs} ms, whole after ${outcome.recoveryMs} ms`,
      );
      expect(outcome.acknowledged, 'writes acknowledged across the fault').to.be.greaterThan(40);
      expect(outcome.lost, 'acknowledged rows missing on the master afterwards').to.deep.equal([]);
      // The fault took effect: the writer saw it, and the master changed or its pod restarted in place.
      expect(outcome.failedAttempts, 'writes that failed during the fault').to.be.greaterThan(0);
      const old = (await clusterMembers(kc, ns.name, cluster.name)).find((m) => m.name === outcome.oldMaster);
      if (fault === 'patroni-stop') expect(outcome.newMaster, 'a new master').to.not.equal(outcome.oldMaster);
      if (fault === 'pod-delete') expect(old?.uid, 'the deleted pod replaced').to.not.equal(outcome.oldMasterUid);
      if (fault === 'sandbox-crash') expect(old?.restarts ?? 0, 'the crashed pod restarted').to.be.greaterThan(0);
    });
  }

  it('leaves no password, raw or base64, in any Patroni, PostgreSQL or node agent log of these failovers', () => {
    const passwords = cluster.roles.map((r) => cluster.password(r));
    expect(passwords.length, 'passwords of the cluster (superuser, replication)').to.be.at.least(2);
    const logs = [...filesBelow(t.logDir), ...filesBelow(t.dataDir).filter((f) => /\/pg_log\/|\.log$|\.csv$/.test(f))];
    const patroniLogs = logs.filter((f) => readFileSync(f, 'utf8').includes('no action. I am'));
    expect(patroniLogs.length, "files with Patroni's loop messages (the search reached them)").to.be.greaterThan(0);
    const hits: string[] = [];
    for (const file of logs) {
      const text = readFileSync(file, 'utf8');
      for (const pw of passwords)
        for (const form of [pw, Buffer.from(pw).toString('base64')]) if (text.includes(form)) hits.push(`${file}: a password`);
    }
    expect(hits, `searched ${logs.length} files for ${passwords.length} passwords`).to.deep.equal([]);
    console.log(`      searched ${logs.length} log files (Patroni, PostgreSQL, agent) for ${passwords.length} passwords: 0 hits`);
  });
});
