// npm run bench:chaos [-- --sequences 10000] [--clusters 60] [--operations 300] [--seed N] [--crash-rounds 5]
// Long runs of the reliability suite (issue 20): event chaos rounds (each `--clusters` clusters over 4
// namespaces, every cluster one event sequence, `--operations` edits and deliveries), until
// `--sequences` cluster sequences have run; every divergence is reported with its seed. Then
// `--crash-rounds` rounds of reconcile killed after each of its writes, per scenario. A fresh real
// control plane; the real reconcile handler in this process, as its ServiceAccount. Prints a markdown
// table; writes bench/results/chaos.json.
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '@pgfn/controlplane';
import { identityForFunction } from '@pgfn/pipeline';
import { ensureCrds } from '../test/crds/install.js';
import { CRASH_SCENARIOS, runCrashScenario } from '../test/reliability/crash.js';
import { chaosNamespaces, removeNamespaces, runEventChaos, type ChaosReport } from '../test/reliability/event-chaos.js';
import { arg, fixed, machine, median, quantile, table, writeResult } from './lib/report.js';

const sequences = Number(arg('sequences', '10000'));
const clusters = Number(arg('clusters', '60'));
const operations = Number(arg('operations', '300'));
const firstSeed = Number(arg('seed', String(Math.floor(Math.random() * 2 ** 31))));
const crashRounds = Number(arg('crash-rounds', '5'));
const NAMESPACES = 4;

async function k8sNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

const cp = await ControlPlane.start();
try {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  await ensureCrds(kc);
  // reconcile acts as its ServiceAccount with the RBAC in knative/ (a token lives an hour: one per round)
  let functionKc = kc;
  const rounds = Math.ceil(sequences / clusters);
  const reports: ChaosReport[] = [];
  const errors: { seed: number; error: string }[] = [];
  for (let round = 0; round < rounds; round++) {
    const seed = firstSeed + round;
    const shape = { prefix: `chaos-${seed.toString(36)}`, namespaces: NAMESPACES };
    try {
      functionKc = (await identityForFunction('reconcile', { admin: kc, dir: cp.state.dir })).kubeconfig;
      const report = await runEventChaos({
        kc,
        functionKc,
        seed,
        ...shape,
        clustersPerNamespace: Math.ceil(clusters / NAMESPACES),
        operations,
      });
      reports.push(report);
      const early = Object.keys(report.earlyDivergences).length;
      const final = Object.keys(report.divergences).length;
      console.error(`round ${round + 1}/${rounds} seed ${seed}: ${report.ms} ms, divergences early ${early}, final ${final}`);
    } catch (err) {
      errors.push({ seed, error: (err as Error).message });
      console.error(`round ${round + 1}/${rounds} seed ${seed}: error ${(err as Error).message}`);
    } finally {
      await removeNamespaces(kc, chaosNamespaces(shape));
    }
  }
  const crashes: { scenario: string; round: number; writes: number; failures: readonly string[]; ms: number }[] = [];
  for (let round = 0; round < crashRounds; round++) {
    for (const scenario of CRASH_SCENARIOS) {
      const namespace = `crash-${firstSeed.toString(36)}-${round}-${scenario.id}`;
      await k8sNamespace(kc, namespace);
      const started = Date.now();
      const report = await runCrashScenario(kc, namespace, scenario);
      crashes.push({ scenario: scenario.what, round, writes: report.writes, failures: report.failures, ms: Date.now() - started });
      console.error(
        `crash round ${round + 1}/${crashRounds} ${scenario.id}: ${report.writes} crash points, ${report.failures.length} failures`,
      );
      await removeNamespaces(kc, [namespace]);
    }
  }
  const sum = (f: (r: ChaosReport) => number): number => reports.reduce((n, r) => n + f(r), 0);
  const diverged = (m: Readonly<Record<string, unknown>>): number => Object.keys(m).length;
  const kinds = ['sent', 'dropped', 'duplicated', 'late', 'stale', 'pod', 'burst'] as const;
  const result = {
    machine: machine(),
    command: ['npm run bench:chaos', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    args: { sequences, clusters, operations, firstSeed, namespaces: NAMESPACES, crashRounds },
    events: {
      rounds: reports.length,
      roundErrors: errors,
      sequences: sum((r) => r.clusters),
      edits: sum((r) => r.edits),
      deliveries: Object.fromEntries(kinds.map((k) => [k, sum((r) => r.deliveries[k])])),
      brokerRetries: sum((r) => r.retries),
      failedDeliveries: sum((r) => r.failedDeliveries),
      checkedEarly: sum((r) => r.checkedEarly),
      earlyDivergences: sum((r) => diverged(r.earlyDivergences)),
      finalDivergences: sum((r) => diverged(r.divergences)),
      passwordChanges: sum((r) => r.passwordChanges.length),
      roundMs: {
        median: median(reports.map((r) => r.ms)),
        p95: quantile(
          reports.map((r) => r.ms),
          0.95,
        ),
      },
      divergent: reports
        .filter((r) => diverged(r.divergences) + diverged(r.earlyDivergences) + r.passwordChanges.length > 0)
        .map((r) => ({ seed: r.seed, early: r.earlyDivergences, final: r.divergences, passwordChanges: r.passwordChanges })),
    },
  };
  const crashSummary = CRASH_SCENARIOS.map((sc) => {
    const runs = crashes.filter((c) => c.scenario === sc.what);
    return {
      scenario: sc.what,
      rounds: runs.length,
      crashPoints: runs.reduce((n, c) => n + c.writes, 0),
      failures: runs.flatMap((c) => c.failures),
      roundMsMedian: median(runs.map((c) => c.ms)),
    };
  });
  Object.assign(result, { crashes: crashSummary });
  const e = result.events;
  console.log(
    table(
      ['fault', 'runs', 'outcome'],
      [
        [
          'events dropped / duplicated / late / stale / in bursts, with random spec edits',
          `${e.rounds} rounds, ${e.sequences} cluster sequences, ${e.edits} edits, ${e.deliveries['sent']} deliveries`,
          `${e.finalDivergences} diverged after a resync; ${e.earlyDivergences} of ${e.checkedEarly} diverged before it; ` +
            `${e.passwordChanges} passwords changed; ${errors.length} rounds failed`,
        ],
        ['event round duration, median / p95', `${e.rounds}`, `${fixed(e.roundMs.median / 1000)} s / ${fixed(e.roundMs.p95 / 1000)} s`],
        ...crashSummary.map((c) => [
          `reconcile killed after each write: ${c.scenario}`,
          `${c.rounds} rounds, ${c.crashPoints} crashes`,
          `${c.failures.length} did not converge or changed a password (round ${fixed(c.roundMsMedian / 1000)} s)`,
        ]),
      ],
    ),
  );
  console.log(`\nwritten to ${writeResult('chaos', result)}`);
  const crashFailures = crashSummary.reduce((n, c) => n + c.failures.length, 0);
  if (e.finalDivergences + e.earlyDivergences + e.passwordChanges + errors.length + crashFailures > 0) process.exitCode = 1;
} finally {
  await cp.stop();
}
