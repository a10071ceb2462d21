// Issue 20, item 2 (rolling-update; ADR 0100): rollouts of a 2-instance Spilo cluster on real Patroni in
// which the first invocation of every step (replica deleted, switchover, old master deleted, completion)
// is killed after its n-th write, for every n a step has; the next event goes to a fresh instance. Each
// rollout must complete, every pod deleted exactly once, the Lease released or expired. A dead holder's
// Lease refuses the next delivery (busy) at the real time; its expiry is then skipped on the functions'
// injected clock rather than waited out (crash-rollout.ts). Run under `flock /tmp/pgfn-realpg.lock`.
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeClient } from '@pgfn/kube';
import { applySpiloCluster, waitWhole, type SpiloCluster } from '@pgfn/node-agent/testing';
import { ensureCrds } from '../crds/install.js';
import { startTestAgent, type TestAgent } from '../node-agent/support.js';
import { kubeconfigForFunction } from '../support/fn-identity.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { driveRollout } from './crash-rollout.js';

/** Writes of the longest step (Lease, Event, the pod's deletion or the switchover, status, Lease release). */
const CRASH_POINTS = [0, 1, 2, 3, 4];
const LEASE_SECONDS = 8;

describe('reliability: rolling-update killed after each write of a rollout step (real Patroni)', function () {
  this.timeout(900_000);
  let kc: KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let cluster: SpiloCluster;
  let longestStep = 0;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'crash-rollout');
    t = await startTestAgent('pgfn-agent-crash-rollout');
    cluster = await applySpiloCluster(kc, {
      namespace: ns.name,
      name: 'acid-crashroll',
      instances: 2,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      podTerminateGracePeriodSeconds: 30,
    });
    await new KubeClient(kc).apply({ ...cluster.manifest, metadata: { name: cluster.name, namespace: ns.name } } as never);
    await waitWhole(kc, cluster);
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  for (const n of CRASH_POINTS) {
    it(`killed after write ${n} of every step: the rollout completes, each pod deleted once, the Lease free`, async () => {
      const { master } = await waitWhole(kc, cluster);
      const report = await driveRollout({
        kc,
        functionKc: await kubeconfigForFunction('rolling-update'),
        cluster,
        crashAfter: n,
        leaseSeconds: LEASE_SECONDS,
      });
      console.log(
        `      after write ${n}: ${report.crashes} invocations killed, ${report.busy} busy answers, ${report.podDeletions} pod deletions ` +
          `for ${report.pods} pods, ${report.switchovers} switchover(s), rollout ${(report.ms / 1000).toFixed(1)} s ` +
          `(${(report.leaseSkippedMs / 1000).toFixed(1)} s of dead holders' Leases skipped)`,
      );
      expect(report.failures).to.deep.equal([]);
      expect(report.crashes, 'invocations killed (one per step with more writes)').to.be.greaterThan(0);
      // Every write of a step comes after the Lease: a holder killed after one leaves it held, and the next delivery is refused.
      if (n > 0) expect(report.busy, "deliveries refused while a dead holder's Lease was valid").to.be.greaterThan(0);
      expect(report.switchovers, 'switchovers sent to Patroni').to.be.greaterThan(0);
      const after = await waitWhole(kc, cluster);
      expect(after.master.name, 'the master moved by a switchover').to.not.equal(master.name);
      longestStep = Math.max(longestStep, report.maxStepWrites);
    });
  }

  it('covered every crash point: no step makes more writes than the points above', () => {
    expect(longestStep, 'writes of the longest step').to.be.greaterThan(0).and.at.most(CRASH_POINTS.length);
  });
});
