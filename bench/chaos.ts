// npm run bench:chaos [-- --sequences 10000] [--clusters 60] [--operations 300] [--seed N] [--crash-rounds 5]
//                     [--parallel 3] [--until HH:MM]
// Long runs of the reliability suite (issue 20): `--crash-rounds` rounds of reconcile killed after each
// of its writes, per scenario, beside event chaos rounds (each `--clusters` clusters over 4
// namespaces, every cluster one event sequence, `--operations` edits and deliveries), `--parallel` rounds
// at a time (each with its own namespaces and reconcile), until `--sequences` cluster sequences have run;
// every divergence is reported with its seed. `--until HH:MM` (UTC, today) starts no round that would
// not end by then. A fresh real control plane; the real reconcile handler in this process, as its
// ServiceAccount. bench/results/chaos.json is written after every round (sequences done of requested,
// whether the run finished), so an interrupted run keeps its figures; a markdown table at the end (ADR 0111).
import * as k8s from '@kubernetes/client-node';
import { loadavg } from 'node:os';
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
const parallel = Number(arg('parallel', '3'));
const until = arg('until', '');
const NAMESPACES = 4;
/** A token lives an hour: mint a new one well before. */
const TOKEN_MAX_AGE_MS = 40 * 60_000;

function deadlineOf(hhmm: string): number | undefined {
  if (hhmm === '') return undefined;
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (m === null) throw new Error(`--until wants HH:MM (UTC), got ${hhmm}`);
  const d = new Date();
  d.setUTCHours(Number(m[1]), Number(m[2]), 0, 0);
  return d.getTime();
}
const deadline = deadlineOf(until);

async function k8sNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

interface CrashRun {
  readonly scenario: string;
  readonly round: number;
  readonly writes: number;
  readonly failures: readonly string[];
  readonly ms: number;
}

const started = Date.now();
const startMachine = machine();
const command = ['npm run bench:chaos', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
const rounds = Math.ceil(sequences / clusters);
const reports: ChaosReport[] = [];
const errors: { seed: number; error: string }[] = [];
const crashes: CrashRun[] = [];
let stoppedAtDeadline = false;

const sum = (f: (r: ChaosReport) => number): number => reports.reduce((n, r) => n + f(r), 0);
const diverged = (m: Readonly<Record<string, unknown>>): number => Object.keys(m).length;
const KINDS = ['sent', 'dropped', 'duplicated', 'late', 'stale', 'pod', 'burst'] as const;
const PHASES = ['create', 'operations', 'drain', 'early', 'resync', 'final'] as const;

/** The result as it stands: written after every round, `finished` only by the last write. */
function result(finished: boolean) {
  const ms = reports.map((r) => r.ms);
  const events = {
    rounds: reports.length,
    roundErrors: errors,
    sequences: sum((r) => r.clusters),
    edits: sum((r) => r.edits),
    deliveries: Object.fromEntries(KINDS.map((k) => [k, sum((r) => r.deliveries[k])])),
    brokerRetries: sum((r) => r.retries),
    failedDeliveries: sum((r) => r.failedDeliveries),
    checkedEarly: sum((r) => r.checkedEarly),
    earlyDivergences: sum((r) => diverged(r.earlyDivergences)),
    finalDivergences: sum((r) => diverged(r.divergences)),
    passwordChanges: sum((r) => r.passwordChanges.length),
    roundMs: { median: median(ms), p95: quantile(ms, 0.95) },
    phaseMsMedian: Object.fromEntries(PHASES.map((p) => [p, median(reports.map((r) => r.phases[p]))])),
    divergent: reports
      .filter((r) => diverged(r.divergences) + diverged(r.earlyDivergences) + r.passwordChanges.length > 0)
      .map((r) => ({ seed: r.seed, early: r.earlyDivergences, final: r.divergences, passwordChanges: r.passwordChanges })),
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
  return {
    machine: startMachine,
    command,
    args: { sequences, clusters, operations, firstSeed, namespaces: NAMESPACES, crashRounds, parallel, until: until || undefined },
    run: {
      finished,
      stoppedAtDeadline,
      sequencesRequested: sequences,
      sequencesCompleted: events.sequences,
      wallSeconds: Math.round((Date.now() - started) / 1000),
      loadAverageNow: loadavg().map((l) => Number(l.toFixed(2))),
    },
    events,
    crashes: crashSummary,
  };
}

const cp = await ControlPlane.start();
const removals: Promise<void>[] = [];
/** A finished round's namespaces go while the next round runs. */
function removeLater(kc: k8s.KubeConfig, namespaces: readonly string[]): void {
  removals.push(
    removeNamespaces(kc, namespaces).catch((err: unknown) => {
      console.error(`removing ${namespaces.join(', ')}: ${(err as Error).message}`);
    }),
  );
}
try {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  await ensureCrds(kc);

  // reconcile acts as its ServiceAccount with the RBAC in knative/, a token minted again before it expires
  let identity: { kc: Promise<k8s.KubeConfig>; at: number } | undefined;
  const functionKc = (): Promise<k8s.KubeConfig> => {
    if (identity === undefined || Date.now() - identity.at > TOKEN_MAX_AGE_MS) {
      identity = { kc: identityForFunction('reconcile', { admin: kc, dir: cp.state.dir }).then((i) => i.kubeconfig), at: Date.now() };
    }
    return identity.kc;
  };
  // The crash rounds run beside the event rounds (their own namespaces), so a run bounded by time has them.
  const crashRuns = async (): Promise<void> => {
    for (let round = 0; round < crashRounds; round++) {
      if (deadline !== undefined && Date.now() > deadline) return;
      for (const scenario of CRASH_SCENARIOS) {
        const namespace = `crash-${firstSeed.toString(36)}-${round}-${scenario.id}`;
        await k8sNamespace(kc, namespace);
        const t = Date.now();
        const report = await runCrashScenario(kc, namespace, scenario).catch((err: unknown) => ({
          writes: 0,
          failures: [`round ${round + 1} did not complete: ${(err as Error).message}`],
        }));
        crashes.push({ scenario: scenario.what, round, writes: report.writes, failures: report.failures, ms: Date.now() - t });
        console.error(
          `crash round ${round + 1}/${crashRounds} ${scenario.id}: ${report.writes} crash points, ${report.failures.length} failures, ` +
            `${Date.now() - t} ms`,
        );
        removeLater(kc, [namespace]);
        writeResult('chaos', result(false));
      }
    }
  };
  let next = 0;
  let longestMs = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      if (next >= rounds) return;
      // A round started now must end by the deadline: the longest so far is the estimate.
      if (deadline !== undefined && Date.now() + longestMs > deadline) {
        stoppedAtDeadline = true;
        return;
      }
      const round = next++;
      const seed = firstSeed + round;
      const shape = { prefix: `chaos-${seed.toString(36)}`, namespaces: NAMESPACES };
      try {
        const report = await runEventChaos({
          kc,
          functionKc: await functionKc(),
          seed,
          ...shape,
          clustersPerNamespace: Math.ceil(clusters / NAMESPACES),
          operations,
        });
        reports.push(report);
        longestMs = Math.max(longestMs, report.ms);
        const early = diverged(report.earlyDivergences);
        const final = diverged(report.divergences);
        console.error(
          `round ${round + 1}/${rounds} seed ${seed}: ${report.ms} ms ${JSON.stringify(report.phases)}, divergences early ${early}, ` +
            `final ${final}; ${sum((r) => r.clusters)} sequences, load ${fixed(loadavg()[0], 2)}`,
        );
      } catch (err) {
        errors.push({ seed, error: (err as Error).message });
        console.error(`round ${round + 1}/${rounds} seed ${seed}: error ${(err as Error).message}`);
      }
      removeLater(kc, chaosNamespaces(shape));
      writeResult('chaos', result(false));
    }
  };
  await Promise.all([crashRuns(), ...Array.from({ length: Math.max(1, parallel) }, lane)]);
  await Promise.allSettled(removals);

  const final = result(true);
  const e = final.events;
  const crashSummary = final.crashes;
  console.log(
    table(
      ['fault', 'runs', 'outcome'],
      [
        [
          'events dropped / duplicated / late / stale / in bursts, with random spec edits',
          `${e.rounds} rounds, ${e.sequences} of ${sequences} cluster sequences${stoppedAtDeadline ? ' (stopped at --until)' : ''}, ` +
            `${e.edits} edits, ${e.deliveries['sent']} deliveries`,
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
  console.log(`\nwritten to ${writeResult('chaos', final)}`);
  const crashFailures = crashSummary.reduce((n, c) => n + c.failures.length, 0);
  if (e.finalDivergences + e.earlyDivergences + e.passwordChanges + errors.length + crashFailures > 0) process.exitCode = 1;
} finally {
  await Promise.allSettled(removals);
  await cp.stop();
}
