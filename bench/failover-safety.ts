// Data safety under failover (issue 20, item 4; ADR 0080): a 3-instance Spilo cluster on the node agent
// (Patroni 3.0.2 + PostgreSQL 15, Kubernetes DCS on a private control plane, tuned timings ttl 10,
// loop_wait 2, retry_timeout 4), once with `synchronous_mode: true` and once asynchronous. Against each,
// `--faults` faults on the master (pod deleted, sandbox crashed, postmaster killed, Patroni stopped past
// its leader lock, its loopback address cut off; in turn), each with a ledger writer committing every 50 ms
// through the master Service and a check of which acknowledged rows the master has once the cluster is
// whole again.
// Usage: node --import tsx bench/failover-safety.ts [--faults 20] [--modes sync,async] [--kinds network-cut]
//   [--result failover-safety]
// `--kinds` limits the faults to some kinds (default all, in turn). Prints a markdown table; writes
// bench/results/<result>.json after every fault (`complete: false` until the run ends, so an interrupted
// run keeps its figures). Two faults in a row that cannot complete end that mode's run (the cluster is
// not whole again; the rest would only time out). Needs root; hold /tmp/pgfn-realpg.lock.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ControlPlane } from '@pgfn/controlplane';
import { startNodeAgent } from '@pgfn/node-agent';
import { applySpiloCluster, FAULT_KINDS, runFault, waitWhole, type FaultKind, type FaultOutcome } from '@pgfn/node-agent/testing';
import { arg, machine, table, writeResult } from './lib/report.js';
import { SAFETY_HEADER, safetyRow } from './lib/survives-tables.js';

const TIMINGS = { ttl: 10, loop_wait: 2, retry_timeout: 4 };
const faults = Number(arg('faults', '20'));
const modes = arg('modes', 'sync,async')
  .split(',')
  .map((m) => m.trim())
  .filter((m) => m === 'sync' || m === 'async');
const kinds: readonly FaultKind[] = arg('kinds', FAULT_KINDS.join(','))
  .split(',')
  .map((k) => k.trim())
  .filter((k): k is FaultKind => (FAULT_KINDS as readonly string[]).includes(k));
const resultName = arg('result', 'failover-safety');
if (kinds.length === 0) throw new Error(`--kinds: none of ${FAULT_KINDS.join(', ')}`);

interface ModeResult {
  readonly mode: string;
  readonly outcomes: (FaultOutcome & { readonly n: number })[];
  /** Faults the run could not complete (a wait timed out): reported, never counted as safe. */
  readonly errors: { readonly n: number; readonly fault: string; readonly error: string }[];
  /** Faults not run because the two before could not complete. */
  notRun: number;
}

interface ModeRun {
  readonly kc: KubeConfig;
  readonly agent: Awaited<ReturnType<typeof startNodeAgent>>;
  readonly result: ModeResult;
  /** Called after every fault (writes the result file so far). */
  readonly saved: () => void;
}

async function runMode({ kc, agent, result, saved }: ModeRun): Promise<void> {
  const { mode, outcomes, errors } = result;
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `safety-${mode}-${Date.now() % 100000}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  try {
    const cluster = await applySpiloCluster(kc, {
      namespace: ns,
      instances: 3,
      patroni: { ...TIMINGS, ...(mode === 'sync' ? { synchronous_mode: true } : {}) },
    });
    await waitWhole(kc, cluster);
    for (let n = 1; n <= faults; n++) {
      const fault = kinds[(n - 1) % kinds.length] ?? 'pod-delete';
      const outcome = await runFault({
        kc,
        agent,
        cluster,
        fault,
        table: `ledger_${n}`,
        ttlSeconds: TIMINGS.ttl,
        log: (line) => console.error(`[${mode} ${n}/${faults}] ${line}`),
      }).catch((err: unknown) => {
        errors.push({ n, fault, error: (err as Error).message });
        console.error(`[${mode} ${n}/${faults}] ${fault}: ERROR ${(err as Error).message}`);
        return undefined;
      });
      if (outcome === undefined) {
        saved();
        if (errors.some((e) => e.n === n - 1)) {
          result.notRun = faults - n;
          console.error(`[${mode}] two faults in a row did not complete: the remaining ${result.notRun} not run`);
          break;
        }
        continue;
      }
      console.error(
        `[${mode} ${n}/${faults}] ${fault}: ${outcome.oldMaster} → ${outcome.newMaster}, ${outcome.lost.length} of ` +
          `${outcome.acknowledged} acknowledged lost, gap ${outcome.writeGapMs} ms, whole after ${outcome.recoveryMs} ms`,
      );
      outcomes.push({ n, ...outcome });
      saved();
    }
    await kc.makeApiClient(AppsV1Api).deleteNamespacedStatefulSet({ name: cluster.name, namespace: ns });
  } finally {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

const notCompleted = (r: ModeResult, kind: string): number => r.errors.filter((e) => e.fault === kind).length;

async function main(): Promise<void> {
  const started = machine();
  const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-safety-'));
  const cp = await ControlPlane.start({ dir: join(root, 'cp'), removeOnStop: false });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const agent = await startNodeAgent({
    kubeconfig: cp.kubeconfig,
    dataDir: join(root, 'data'),
    logDir: join(root, 'logs'),
    ipRange: '127.0.91.0/24',
  });
  const results: ModeResult[] = modes.map((mode) => ({ mode, outcomes: [], errors: [], notRun: 0 }));
  const save = (complete: boolean): string =>
    writeResult(resultName, {
      ...started,
      command: ['npm run bench:failover-safety', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      complete,
      ...(complete ? { finished: new Date().toISOString() } : { lastSaved: new Date().toISOString() }),
      loadAverageAtLastFault: loadavg().map((l) => Number(l.toFixed(2))),
      patroni: TIMINGS,
      faultsPerMode: faults,
      kinds,
      writerIntervalMs: 50,
      results: results.map((r) => ({
        mode: r.mode,
        acknowledged: r.outcomes.reduce((s, o) => s + o.acknowledged, 0),
        lost: r.outcomes.reduce((s, o) => s + o.lost.length, 0),
        outcomes: r.outcomes.map((o) => ({ ...o, lost: o.lost.length, lostIds: o.lost.slice(0, 20) })),
        errors: r.errors,
        notRun: r.notRun,
      })),
    });
  try {
    for (const result of results) await runMode({ kc, agent, result, saved: () => save(false) });
  } finally {
    await agent.stop();
    await cp.stop();
  }
  const rows = results.flatMap((r) =>
    kinds
      .map((kind) => ({ kind, outcomes: r.outcomes.filter((o) => o.fault === kind).map((o) => ({ ...o, lost: o.lost.length })) }))
      .filter(({ outcomes }) => outcomes.length > 0)
      .map(({ kind, outcomes }) => safetyRow({ mode: r.mode, kind, outcomes, notCompleted: notCompleted(r, kind) })),
  );
  console.log(table(SAFETY_HEADER, rows));
  const file = save(true);
  console.error(`wrote ${file}`);
  rmSync(root, { recursive: true, force: true });
}

await main();
