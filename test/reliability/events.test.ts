// Issue 20, item 1: seeded event chaos over many clusters with the real reconcile handler against the
// real control plane. CI runs a bounded number of rounds (PGFN_CHAOS_ROUNDS, default 2: 2 × 40
// clusters, each one event sequence); `npm run bench:chaos` runs many more and reports divergences.
// A failure prints the seed; replay it with PGFN_CHAOS_SEED=<seed>.
import type { KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, DEFAULT_OPERATOR_CONFIG, POSTGRESQL_KIND, type Postgresql } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile } from '../reconcile/support.js';
import { kubeconfigForFunction } from '../support/fn-identity.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { divergences } from './convergence.js';
import { chaosNamespaces, removeNamespaces, runEventChaos, type ChaosReport } from './event-chaos.js';
import { seedFromEnv } from './seeded.js';

type Cluster = Postgresql & KubernetesObject;
const ROUNDS = Number(process.env['PGFN_CHAOS_ROUNDS'] ?? '2');

describe('reliability: events duplicated, reordered, dropped, stale, in bursts', function () {
  this.timeout(600_000);
  before(async () => ensureCrds(adminConfig()));

  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round + 1}: every cluster equals a fresh reconcile of its final spec, early and after a resync`, async () => {
      const seed = seedFromEnv() + round;
      const shape = { prefix: `chaos-${seed.toString(36)}`, namespaces: 4 };
      let report: ChaosReport | undefined;
      try {
        const functionKc = await kubeconfigForFunction('reconcile');
        report = await runEventChaos({ kc: adminConfig(), functionKc, seed, ...shape, clustersPerNamespace: 10, operations: 200 });
      } catch (err) {
        throw new Error(`event chaos with seed ${seed} failed (replay: PGFN_CHAOS_SEED=${seed - round})`, { cause: err });
      } finally {
        await removeNamespaces(adminConfig(), chaosNamespaces(shape));
      }
      const { seed: _s, earlyDivergences: _e, divergences: _d, passwordChanges: _p, ...figures } = report;
      console.log(`      seed ${seed}: ${JSON.stringify(figures)}`);
      const summary = `seed ${seed} (replay: PGFN_CHAOS_SEED=${seed - round}): ${JSON.stringify(report, null, 1)}`;
      expect(report.divergences, summary).to.deep.equal({});
      expect(report.earlyDivergences, summary).to.deep.equal({});
      expect(report.passwordChanges, summary).to.deep.equal([]);
      expect(report.failedDeliveries, summary).to.equal(0);
      // the schedule did what it claims: every kind of chaos happened, and the early check had work
      for (const kind of ['dropped', 'duplicated', 'late', 'stale', 'burst', 'pod'] as const)
        expect(report.deliveries[kind], `${kind}: ${summary}`).to.be.greaterThan(0);
      expect(report.checkedEarly, summary).to.be.greaterThan(10);
    });
  }
});

describe('reliability: the convergence check itself', function () {
  this.timeout(120_000);
  let ns: { name: string };
  before(async () => {
    await ensureCrds(adminConfig());
    ns = await createNamespace(adminConfig(), 'chaos-check');
  });
  after(async () => {
    await removeNamespaces(adminConfig(), [ns.name]);
  });

  it('finds a cluster never reconciled, one edited without an event, and an owned object edited by hand', async () => {
    const kc = adminConfig();
    const kube = new KubeClient(kc);
    const fn = await startReconcile(kc, ns.name);
    try {
      const ref = { namespace: ns.name, name: 'acid-check' };
      const created = await kube.create<Cluster>(onKwok(example('minimal.yaml', ns.name, 'acid-check')));
      expect((await divergences(kube, ref, DEFAULT_OPERATOR_CONFIG)).join('\n')).to.match(/StatefulSet\/acid-check: missing/);
      expect((await fn.post(resourceEvent('add', created ?? {}))).status).to.equal(200);
      expect(await divergences(kube, ref, DEFAULT_OPERATOR_CONFIG)).to.deep.equal([]);

      const cur = (await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, ...ref })) as Cluster;
      await kube.replace<Cluster>({ ...cur, spec: { ...cur.spec, numberOfInstances: 3 } });
      expect((await divergences(kube, ref, DEFAULT_OPERATOR_CONFIG)).join('\n')).to.match(
        /observedGeneration[\s\S]*StatefulSet\/acid-check: applied for another spec/,
      );
      expect((await fn.post(requestEvent(ns.name, 'acid-check'))).status).to.equal(200);
      expect(await divergences(kube, ref, DEFAULT_OPERATOR_CONFIG)).to.deep.equal([]);

      await kube.mergePatch({ apiVersion: 'v1', kind: 'Service', ...ref }, { metadata: { labels: { 'spilo-role': 'replica' } } });
      expect((await divergences(kube, ref, DEFAULT_OPERATOR_CONFIG)).join('\n')).to.match(
        /Service\/acid-check: metadata\.labels\["spilo-role"\]/,
      );
    } finally {
      await fn.stop();
    }
  });
});
