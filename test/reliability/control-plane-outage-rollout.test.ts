// Control-plane outage mid-rollout (issue 20, item 3; ADR 0101): on a private control plane with a node
// agent of its own (real Patroni and PostgreSQL; Patroni's DCS is this API server too), a rollout of a
// 2-instance `synchronous_mode: true` cluster is cut off at the second write of its first step:
// kube-apiserver, then etcd, killed between two requests and brought back 30 s later. Asserted: while
// the component is away the function answers 503 (the Broker redelivers) and never crashes; after the
// return a delivery is answered 200 within one retry window; the rollout completes with every pod
// deleted exactly once and the Lease free; a ledger writer committing through the master Service all
// along lost no acknowledged row. Run under `flock /tmp/pgfn-realpg.lock`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { ControlPlane } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { startNodeAgent, type NodeAgent } from '@pgfn/node-agent';
import { applySpiloCluster, LedgerWriter, waitWhole, type SpiloCluster } from '@pgfn/node-agent/testing';
import { identityForFunction } from '@pgfn/pipeline';
import pg from 'pg';
import { ensureCrds } from '../crds/install.js';
import { driveRollout } from './crash-rollout.js';
import { claimLoopbackRanges, type LoopbackClaim } from '../support/loopback-ranges.js';

const OUTAGE_MS = 30_000;
/** The Broker's retry window: a delivery after the component is back must be answered 200 within it. */
const RETRY_WINDOW_MS = 60_000;

describe('control-plane outage mid-rollout: 503, the rollout completes, nothing lost (private control plane, real Patroni)', function () {
  this.timeout(1_200_000);
  let root: string;
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let agent: NodeAgent;
  let loopback: LoopbackClaim | undefined;
  let cluster: SpiloCluster;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'pgfn-outage-rollout-'));
    cp = await ControlPlane.start({});
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    await ensureCrds(kc);
    loopback = claimLoopbackRanges();
    agent = await startNodeAgent({
      kubeconfig: cp.kubeconfig,
      dataDir: join(root, 'data'),
      logDir: join(root, 'logs'),
      ipRange: loopback.ranges[0] ?? '',
      probePeriodCapSeconds: 2,
      stopGraceMs: 10_000,
    });
    const namespace = 'outage-rollout';
    await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    cluster = await applySpiloCluster(kc, {
      namespace,
      name: 'acid-outroll',
      instances: 2,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4, synchronous_mode: true },
      podTerminateGracePeriodSeconds: 30,
    });
    await new KubeClient(kc).apply({ ...cluster.manifest, metadata: { name: cluster.name, namespace } } as never);
    await waitWhole(kc, cluster);
  });
  after(async () => {
    await agent?.stop();
    loopback?.release();
    await cp?.stop();
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  for (const component of ['kube-apiserver', 'etcd']) {
    it(`${component} killed at the second write of a rollout step, back 30 s later: 503 meanwhile, then the rollout ends`, async () => {
      await waitWhole(kc, cluster);
      const writer = new LedgerWriter({
        resolver: agent.resolver,
        host: `${cluster.name}.${cluster.namespace}.svc`,
        user: 'postgres',
        password: cluster.password('postgres'),
        table: `ledger_${component.replace('-', '_')}`,
      });
      await writer.start();
      let cutAt = 0;
      /** When the component was started again: it was away from cutAt to here. */
      let restartAt = Number.POSITIVE_INFINITY;
      let restored: Promise<number> | undefined;
      const functionKc = (await identityForFunction('rolling-update', { admin: kc, dir: cp.state.dir })).kubeconfig;
      try {
        const report = await driveRollout({
          kc,
          functionKc,
          cluster,
          leaseSeconds: 30,
          beforeWrite: (made) => {
            if (made !== 1 || cutAt > 0) return;
            cutAt = Date.now();
            cp.outage(component);
            restored = new Promise((r) => setTimeout(r, OUTAGE_MS))
              .then(() => {
                restartAt = Date.now();
                return cp.restore(component);
              })
              .then(() => Date.now());
          },
        });
        expect(cutAt, 'the outage began mid-step').to.be.greaterThan(0);
        const back = await (restored ?? Promise.reject(new Error('no outage')));
        const during = report.unavailableAt.filter((t) => t >= cutAt && t <= restartAt);
        const firstAnswer = report.answeredAt.find((t) => t > cutAt) ?? Number.POSITIVE_INFINITY;
        console.log(
          `      ${component}: ${during.length} deliveries answered 503 while away, the first 200 ${firstAnswer - restartAt} ms after ` +
            `its restart (${back - restartAt} ms until restore() saw the API server ready), ` +
            `rollout ${(report.ms / 1000).toFixed(1)} s, ${report.podDeletions} pod deletions for ${report.pods} pods`,
        );
        expect(report.failures).to.deep.equal([]);
        // kube-apiserver away: the invocation cut off fails, and redeliveries while it is away too (503).
        // etcd away: the API server holds the write until etcd is back (the client's retries outlast 30 s),
        // so the invocation may answer late instead — after the return, never a 2xx while etcd was away.
        const answeredWhileAway = report.answeredAt.filter((t) => t > cutAt && t < restartAt).length;
        if (component === 'kube-apiserver') expect(during.length, 'deliveries answered 503 while away').to.be.greaterThan(0);
        else expect(during.length > 0 || firstAnswer >= restartAt, 'a 503, or the cut invocation held until etcd was back').to.equal(true);
        expect(answeredWhileAway, 'deliveries answered 200 while the component was away').to.equal(0);
        expect(firstAnswer - restartAt, `a delivery answered 200 within ${RETRY_WINDOW_MS} ms of the restart`).to.be.lessThan(
          RETRY_WINDOW_MS,
        );
        // Who is master now depends on the outage too (Patroni demotes a leader that lost the DCS), so only wholeness is asked.
        const after = await waitWhole(kc, cluster);
        await new Promise((r) => setTimeout(r, 1000));
        await writer.stop();
        const client = new pg.Client({
          host: after.master.ip,
          user: 'postgres',
          password: cluster.password('postgres'),
          database: 'postgres',
          ssl: { rejectUnauthorized: false },
        });
        await client.connect();
        try {
          const check = await writer.check(client);
          console.log(
            `      ${component}: ${check.acknowledged} rows acknowledged across the rollout and the outage, ${check.lost.length} lost`,
          );
          expect(check.acknowledged, 'rows acknowledged').to.be.greaterThan(40);
          expect(check.lost, 'acknowledged rows missing on the master').to.deep.equal([]);
        } finally {
          await client.end();
        }
      } finally {
        await writer.stop();
        // Never leave the component down for the next case.
        await restored?.catch(() => undefined);
      }
    });
  }
});
