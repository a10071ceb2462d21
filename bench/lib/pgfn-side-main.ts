// The pgfn side of the comparison as its own process, so its CPU and memory are measured apart from
// the bench: the real receive adapters, the local broker with our Triggers, and the function
// processes (bundled as the image runs them). Driven over IPC by bench/lib/pgfn-side.ts. With `knative`,
// the same pipeline `npm run local -- --knative` runs: Knative Eventing's own controllers and data plane
// in place of the broker stand-in (their processes are children of this one, so the bench samples them).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startPipeline, type DeliveryRecord, type FunctionProcessSpec } from '@pgfn/pipeline';

export interface SideConfig {
  readonly kubeconfig: string;
  readonly logDir: string;
  /** Function name → bundled .mjs file. */
  readonly bundles: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  readonly idleMs: number;
  /** Extra node flags for the function processes (e.g. --cpu-prof). */
  readonly nodeArgs: readonly string[];
  /** Admin kubeconfig for Knative's controllers: run pgfn on the Knative path (ADR 0060). */
  readonly knative?: string;
}

export type SideRequest =
  | { readonly cmd: 'resync'; readonly seq: number }
  | { readonly cmd: 'stats'; readonly seq: number }
  | { readonly cmd: 'idle'; readonly seq: number }
  | { readonly cmd: 'stop'; readonly seq: number };

export interface SideStats {
  readonly deliveries: number;
  readonly byTrigger: Record<string, number>;
  /**
   * Per Trigger, deliveries by what they carried (the watched kind for ApiServerSource events, else the
   * event type) and by the function's answer (its Pgfn-Outcome: ok, ignored, …): how many it acted on.
   */
  readonly byTriggerEvent: Record<string, Record<string, number>>;
  readonly byTriggerAnswer: Record<string, Record<string, number>>;
  readonly outcomes: Record<string, number>;
  /** Attempts beyond the first (redeliveries after a 5xx, timeout or refused connection). */
  readonly retries: number;
  /** No delivery in flight in the broker. */
  readonly idle: boolean;
  readonly coldStarts: readonly { fn: string; spawnToFirstResponseMs: number }[];
  /** Every process each function ran in: running now, or started and answered before (scaled down since). */
  readonly functionPids: Record<string, number[]>;
  readonly adapterPids: Record<string, number>;
  readonly skippedTriggers: readonly string[];
  /** This process's own CPU seconds (broker, supervisor, pings): once ready (its start-up), and now. */
  readonly runnerCpuSeconds: { readonly atReady: number; readonly now: number };
}

const config = JSON.parse(process.env['PGFN_BENCH_SIDE'] ?? '{}') as SideConfig;

// PGFN_SIDE_CPU_PROFILE=<file>: a V8 CPU profile of this process (broker, supervisor, pings), written at
// each stats request, i.e. after the run's convergence. The bench stops this process by a signal
// once done, so node's own --cpu-prof, which writes at a normal exit, may never write.
const profileFile = process.env['PGFN_SIDE_CPU_PROFILE'];
const profiler = profileFile === undefined ? undefined : new Session();
if (profiler !== undefined) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
  await profiler.post('Profiler.start');
}
async function writeProfile(): Promise<void> {
  if (profiler === undefined || profileFile === undefined) return;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  await profiler.post('Profiler.start');
}
const send = (msg: unknown): void => {
  process.send?.(msg);
};

const records: DeliveryRecord[] = [];
const functions: Record<string, FunctionProcessSpec> = Object.fromEntries(
  Object.entries(config.bundles).map(([fn, file]) => [
    fn,
    { command: process.execPath, args: [...config.nodeArgs, file], env: { ...config.env } },
  ]),
);
const pipeline = await startPipeline({
  kubeconfig: config.kubeconfig,
  logDir: config.logDir,
  functions,
  schedulePings: false,
  idleMs: config.idleMs,
  ...(config.knative === undefined ? {} : { knative: { kubeconfig: config.knative } }),
  onDelivery: (r) => {
    records.push(r);
  },
});

/** True when no delivery (or retry) is in flight in the broker. */
async function brokerIdle(): Promise<boolean> {
  return Promise.race([pipeline.broker.idle().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 0))]);
}

async function stats(): Promise<SideStats> {
  const count = (key: (r: DeliveryRecord) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of records) out[key(r)] = (out[key(r)] ?? 0) + 1;
    return out;
  };
  const countWithin = (key: (r: DeliveryRecord) => string): Record<string, Record<string, number>> => {
    const out: Record<string, Record<string, number>> = {};
    for (const r of records) {
      const inner = (out[r.trigger] ??= {});
      inner[key(r)] = (inner[key(r)] ?? 0) + 1;
    }
    return out;
  };
  return {
    deliveries: records.length,
    byTrigger: count((r) => r.trigger),
    byTriggerEvent: countWithin((r) => r.kind ?? r.type),
    byTriggerAnswer: countWithin((r) => r.answer ?? '(none)'),
    outcomes: count((r) => r.outcome),
    retries: records.reduce((n, r) => n + Math.max(0, r.attempts.length - 1), 0),
    idle: await brokerIdle(),
    coldStarts: pipeline.supervisor.coldStarts().map((c) => ({ fn: c.fn, spawnToFirstResponseMs: c.spawnToFirstResponseMs })),
    functionPids: Object.fromEntries(
      pipeline.supervisor.names.map((fn): [string, number[]] => {
        const ever = pipeline.supervisor.coldStarts(fn).map((c) => c.pid);
        return [fn, [...new Set([...pipeline.supervisor.pids(fn), ...ever])].filter((pid): pid is number => pid !== undefined)];
      }),
    ),
    adapterPids: Object.fromEntries(pipeline.adapters.map((a) => [a.name, a.pid ?? 0])),
    skippedTriggers: pipeline.broker.skipped,
    runnerCpuSeconds: { atReady: cpuSecondsAtReady, now: cpuSeconds() },
  };
}

process.on('message', (raw) => {
  const req = raw as SideRequest;
  void (async (): Promise<void> => {
    if (req.cmd === 'stats') {
      await writeProfile();
      return send({ seq: req.seq, stats: await stats() });
    }
    // Polled every half second while the bench waits for quiet: nothing more than the answer, so the
    // bench's own polling does not show up as the broker's CPU.
    if (req.cmd === 'idle') return send({ seq: req.seq, idle: await brokerIdle() });
    // On the Knative path the ping goes to Knative's ingress and no delivery is recorded here: the bench
    // waits for the side to go quiet instead.
    if (req.cmd === 'resync' && pipeline.knative !== undefined) {
      pipeline.pings.fire('pgfn-resync');
      return send({ seq: req.seq, ms: undefined, record: undefined });
    }
    if (req.cmd === 'resync') {
      const event = pipeline.pings.fire('pgfn-resync');
      const id = event.attributes['id'];
      const t0 = performance.now();
      while (!records.some((r) => r.id === id && r.trigger === 'pgfn-reconcile')) await new Promise((r) => setTimeout(r, 50));
      const record = records.find((r) => r.id === id && r.trigger === 'pgfn-reconcile');
      return send({ seq: req.seq, ms: performance.now() - t0, record });
    }
    await pipeline.stop();
    send({ seq: req.seq, stopped: true });
    process.exit(0);
  })().catch((err: unknown) => send({ seq: req.seq, error: (err as Error).stack ?? String(err) }));
});
// The bench died (IPC closed): stop the adapters and functions, which live in their own process groups.
process.on('disconnect', () => {
  void pipeline.stop().finally(() => process.exit(1));
});
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const cpuSecondsAtReady = cpuSeconds();
send({ ready: true });
