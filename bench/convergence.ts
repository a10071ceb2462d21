// npm run bench:convergence [-- --n 1,100] [--sides floor,pgfn,zalando,zalando-unthrottled] [--timeout-min 30]
//                           [--prof dir] [--no-resync] [--throttled-resync-max-n N] [--out convergence] [--idle-s 30]
//                           [--keep-logs dir]
//
// pgfn versus Zalando's postgres-operator, side by side in one run on this machine (ADR 0008):
// N postgresql manifests are applied and the clock runs until every cluster has its objects and
// status Running. Each side gets a fresh control plane (kwok pods; a helper labels pods like Patroni)
// and its own operator-facing kube-apiserver, whose audit log records exactly that side's requests.
// Sides: pgfn; pgfn-knative (pgfn on Knative Eventing's own controllers and data plane, the pipeline
// `npm run local -- --knative` runs, ADR 0060; its Knative processes are measured apart, at idle and while
// converging); Zalando at upstream's client limit (-kubeqps 10) and unthrottled (a limit its peak
// request rate never reaches, shown in the table); the floor — the same objects rendered beforehand
// and applied by one client with no operator, what this control plane itself needs (issue 21).
// Measured per side and N:
//   convergence  first manifest submitted → last cluster Running (and per-cluster latencies), and as a
//                ratio to the floor's;
//   API cost     requests per created cluster and per cluster in a no-op resync (writes apart), the
//                peak request rate, watch events and bytes the operator-facing apiserver sent;
//   resources    CPU seconds and peak RSS of the side's whole process tree (pgfn: adapters, broker
//                stand-in with the function supervisor, functions; the broker also apart), and the
//                operator-facing apiserver's CPU.
// Prints markdown tables; writes bench/results/<out>.json and <out>.md (commit the run the README quotes,
// then `npm run bench:readme` regenerates the README's table from it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePort, httpsGet } from '@pgfn/controlplane';
import { example, onKwok } from '../test/reconcile/support.js';
import { startHelpers, WorkQueue } from './lib/helpers.js';
import {
  auditOffset,
  peakRequestsPerSecond,
  readAudit,
  subtract,
  summarise,
  watchTraffic,
  watchTrafficBetween,
  type RequestSummary,
  type WatchTraffic,
} from './lib/audit.js';
import { CONFIG_MAP, operatorConfigMap } from './lib/operator-config.js';
import { bundleAll, existingFunctions, PgfnSide } from './lib/pgfn-side.js';
import { sleep, waitUntil } from './lib/proc.js';
import { EVENTING_BINARIES, identityForServiceAccount } from '@pgfn/pipeline';
import { processTree, TreeSampler, type ComponentUsage, type ProcSample, type TreeUsage } from './lib/procstat.js';
import { arg, fixed, machine, median, quantile, table, writeResult } from './lib/report.js';
import { CLUSTER_NAMESPACE, PGFN_NAMESPACE, SYSTEM_NAMESPACE } from './lib/namespaces.js';
import { BenchStack } from './lib/stack.js';
import type { SideStats } from './lib/pgfn-side-main.js';
import { checkObjects, ConvergenceTracker } from './lib/tracker.js';
import { ensureZalando, ZALANDO_VERSION, ZalandoOperator } from './lib/zalando.js';
import { FloorSide } from './lib/floor-side.js';

/**
 * `pgfn`, `floor` (no operator), `zalando` (upstream's defaults), `zalando-unthrottled` (a client-go
 * limit its peak rate never reaches), or `zalando-qps<N>` (limit raised to N, burst 2N).
 */
type SideName = string;
/** The unthrottled side's -kubeqps (burst twice that); the table shows the peak rate stayed far below. */
const UNTHROTTLED_QPS = 100_000;

const sizes = arg('n', '1,100')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const sides: SideName[] = arg('sides', 'floor,pgfn,zalando,zalando-unthrottled').split(',');
const timeoutMs = Number(arg('timeout-min', '30')) * 60_000;
const zalandoVersion = arg('zalando-version', ZALANDO_VERSION);
const fns = arg('functions', existingFunctions().join(',')).split(',');
/**
 * `--prof <dir>`: V8 tick logs of the function processes (summarise with `node --prof-process <log>`),
 * to see where their CPU goes. Written as they run, so they survive the processes being stopped.
 * The broker stand-in's own: `PGFN_SIDE_CPU_PROFILE=<file>` (bench/lib/pgfn-side-main.ts).
 */
const profDir = process.argv.includes('--prof') ? arg('prof', '/tmp/pgfn-bench-prof') : undefined;
const BROKER = 'local broker (stand-in)';
/** The Knative side's own runner: the proxy, the function supervisor and the dead-letter sink. */
const RUNNER = 'proxy + supervisor';
/** Knative Eventing's processes as /proc names them (15 characters at most). */
const KNATIVE_COMMS = new Set(EVENTING_BINARIES.map((b) => b.slice(0, 15)));
/** `--idle-s`: how long a pgfn side is watched idle after its start-up, before the first manifest. */
const idleSeconds = Number(arg('idle-s', '30'));
/** `--no-resync`: skip the no-op resync (Zalando's takes as long as its creation at N = 1,000). */
const measureResync = !process.argv.includes('--no-resync');
/**
 * `--throttled-resync-max-n <N>`: skip the no-op resync of Zalando at its default client limit above N
 * clusters only (at 10 requests/s it takes about as long as its creation: some 50 minutes at 1,000).
 */
const throttledResyncMaxN = Number(arg('throttled-resync-max-n', 'Infinity'));
/** `--out <name>`: bench/results/<name>.json, so runs of different sizes do not overwrite each other. */
const outName = arg('out', 'convergence');
/**
 * `--keep-logs <dir>`: each side's control plane lives under <dir>/<side>-<n> and is kept after the run, so its
 * audit log (operator-audit.jsonl) and the functions' logs can be read afterwards (which requests conflicted, and why).
 */
const keepLogs = process.argv.includes('--keep-logs') ? arg('keep-logs', '/tmp/pgfn-bench-logs') : undefined;

for (const side of sides) {
  if (!isPgfn(side) && side !== 'floor' && zalandoQpsOf(side) === null)
    throw new Error(`--sides: unknown side ${side} (floor, pgfn, pgfn-knative, zalando, zalando-unthrottled, zalando-qps<N>)`);
}

function isPgfn(side: SideName): boolean {
  return side === 'pgfn' || side === 'pgfn-knative';
}

/** undefined: upstream's default client-go limit; null: not a Zalando side. */
function zalandoQpsOf(side: SideName): number | undefined | null {
  if (side === 'zalando') return undefined;
  if (side === 'zalando-unthrottled') return UNTHROTTLED_QPS;
  const m = /^zalando-qps(\d+)$/.exec(side);
  return m?.[1] === undefined ? null : Number(m[1]);
}
/** A side is quiet when its request count has not moved for this long. */
const QUIET_MS = 5000;

interface SideResult {
  side: SideName;
  clusters: number;
  converged: boolean;
  running: number;
  convergenceSeconds?: number;
  perClusterSeconds: { median: number; p90: number; p99: number; max: number };
  statusPaths: Record<string, number>;
  missingObjects: string[];
  objectsByKind: Record<string, number>;
  api: {
    startup: RequestSummary;
    create: RequestSummary;
    resync?: RequestSummary;
    resyncClusters?: number;
    resyncSeconds?: number;
    /** Most requests in one second while clusters were created, against the side's client limit. */
    peakRequestsPerSecond: number;
    clientQps?: number;
    /** Watch events and bytes the operator-facing apiserver sent while clusters were created. */
    watch: WatchTraffic;
  };
  resources: {
    startupCpuSeconds: number;
    convergeCpuSeconds: number;
    resyncCpuSeconds?: number;
    /** Everything the side runs: for pgfn adapters, broker stand-in (with the supervisor) and functions. */
    wholeSideCpuSeconds: number;
    wholeSidePeakRssMiB: number;
    /** The operator's own processes: Zalando's binary; pgfn's functions and receive adapters. */
    operatorCpuSeconds: number;
    operatorPeakRssMiB: number;
    /** pgfn's local broker stand-in (Knative's Broker in a cluster), counted apart. */
    brokerCpuSeconds: number;
    brokerPeakRssMiB: number;
    total: TreeUsage;
    apiserverCpuSeconds: number;
  };
  pgfn?: SideStats;
  /** pgfn sides: the whole side watched for `windowSeconds` after start-up, before the first manifest. */
  idle?: { windowSeconds: number; wholeSideCpuPercent: number; wholeSideRssMiB: number };
  /** pgfn-knative: Knative Eventing's processes (controllers, ingress, filter, dispatcher) apart. */
  knative?: KnativeUsage;
  /** What the helpers did: volumes provisioned, pods labelled like Patroni, Ready conditions restored. */
  helpers: { pvs: number; labelled: number; readied: number };
  notes: string[];
}

interface KnativeUsage {
  /** At idle (the window above): percent of one core, and resident memory at its end. */
  idleCpuPercent: number;
  idleRssMiB: number;
  /** From the first manifest submitted until the side went quiet after the last cluster Running. */
  convergeCpuSeconds: number;
  /** Largest sum of their RSS in one sample over the whole run. */
  peakRssMiB: number;
  /** Over the whole run, per process. */
  components: ComponentUsage[];
}

const log = (msg: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** The common core both operators make for `c` (minimal.yaml): what "all its objects" means. */
function expectedObjects(c: string): string[] {
  const secret = (user: string): string => `Secret/${user}.${c}.credentials.postgresql.acid.zalan.do`;
  return [
    `StatefulSet/${c}`,
    `Service/${c}`,
    `Service/${c}-repl`,
    `Endpoints/${c}`,
    `PodDisruptionBudget/postgres-${c}-pdb`,
    secret('postgres'),
    secret('standby'),
    secret('app-owner'),
  ];
}

/**
 * Waits until the side has made no request for QUIET_MS (its audit log stops growing) and `extra`
 * holds; returns the audit log offset there.
 */
async function quiet(stack: BenchStack, extra: () => Promise<boolean> = () => Promise.resolve(true), limitMs = 300_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  let last = auditOffset(stack.auditLog);
  let since = Date.now();
  for (;;) {
    await sleep(500);
    const now = auditOffset(stack.auditLog);
    if (now !== last || !(await extra())) since = Date.now();
    last = now;
    if (Date.now() - since >= QUIET_MS || Date.now() > deadline) return last;
  }
}

/** pgfn's side runner (broker, pings, supervisor) and tsx's esbuild service under it. */
function isSideRunner(rootPids: () => readonly number[], s: ProcSample): boolean {
  return (rootPids().includes(s.pid) && s.comm === 'node') || s.comm === 'esbuild';
}

const isKnative = (s: ProcSample): boolean => KNATIVE_COMMS.has(s.comm);

/** Component names: Zalando's process; pgfn's functions by name, receive adapters, the local broker, Knative's processes. */
function componentName(rootPids: () => readonly number[], fnByPid: ReadonlyMap<number, string>, runner: string): (s: ProcSample) => string {
  return (s) => {
    if (s.comm.startsWith('apiserver_recei')) return 'receive adapters';
    if (s.comm === 'postgres-operat') return 'zalando operator';
    if (isSideRunner(rootPids, s)) return runner;
    if (isKnative(s)) return `knative ${s.comm}`;
    const fn = fnByPid.get(s.pid);
    return fn === undefined ? s.comm : `function ${fn}`;
  };
}

async function runSide(side: SideName, n: number, bundles: Record<string, string>, zalandoBin: string): Promise<SideResult> {
  log(`${side}, ${n} clusters: starting a fresh control plane`);
  const stack = await BenchStack.start({ clusters: n, ...(keepLogs === undefined ? {} : { dir: join(keepLogs, `${side}-${n}`) }) });
  const notes: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const core = stack.admin.makeApiClient(k8s.CoreV1Api);
    const configMap = operatorConfigMap(await freePort());
    await core.createNamespacedConfigMap({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name: CONFIG_MAP }, data: configMap } });
    const names = Array.from({ length: n }, (_, i) => `acid-b${i}`);
    const helpers = await startHelpers(stack.admin, CLUSTER_NAMESPACE);
    cleanups.push(() => helpers.stop());
    const tracker = new ConvergenceTracker(stack.admin, CLUSTER_NAMESPACE);
    await tracker.start();
    cleanups.push(() => tracker.stop());
    const identity = await stack.side(isPgfn(side) ? 'pgfn-bench' : side === 'floor' ? 'floor-bench' : 'zalando-bench');
    const qps = zalandoQpsOf(side) ?? undefined;
    const apiserverCpu = new TreeSampler({ roots: () => [stack.operatorApiserver.pid], name: () => 'apiserver' });
    apiserverCpu.start();

    // Start-up: everything the side does before the first manifest arrives.
    const o0 = auditOffset(stack.auditLog);
    let pgfn: PgfnSide | undefined;
    let zalando: ZalandoOperator | undefined;
    let floor: FloorSide | undefined;
    const zalandoLog = join(stack.cp.state.logDir, 'zalando.log');
    if (side === 'floor') {
      floor = await FloorSide.start({
        kubeconfig: identity.kubeconfig,
        logDir: join(stack.cp.state.logDir, 'floor'),
        config: { namespace: CLUSTER_NAMESPACE, names, configMap },
      });
      stack.adopt(floor.pid);
      cleanups.push(async () => floor?.stop());
    } else if (isPgfn(side)) {
      // Knative's ApiServerSource reconciler makes an adapter Deployment only once the source's
      // ServiceAccount may watch what it names: knative/'s account and RBAC, as a cluster would have them
      // (the adapters still run as the side's user, as on the stand-in side, so the audit log compares).
      if (side === 'pgfn-knative')
        await identityForServiceAccount('pgfn-apiserver-source', PGFN_NAMESPACE, { admin: stack.admin, dir: stack.cp.state.dir });
      pgfn = await PgfnSide.start({
        kubeconfig: identity.kubeconfig,
        logDir: join(stack.cp.state.logDir, 'pgfn'),
        bundles,
        // Knative's controllers as the admin of the control plane's own apiserver: in a cluster their
        // requests are Knative's, not the operator's, so the operator-facing audit log leaves them out.
        ...(side === 'pgfn-knative' ? { knative: stack.cp.kubeconfig } : {}),
        ...(profDir === undefined
          ? {}
          : { nodeArgs: ['--prof', '--no-logfile-per-isolate', `--logfile=${join(profDir, `v8-${n}-%p.log`)}`] }),
      });
      stack.adopt(pgfn.pid);
      cleanups.push(async () => pgfn?.stop());
    } else {
      zalando = await ZalandoOperator.start({
        binary: zalandoBin,
        kubeconfig: identity.kubeconfig,
        logFile: zalandoLog,
        ...(qps === undefined ? {} : { qps }),
      });
      stack.adopt(zalando.pid);
      cleanups.push(async () => zalando?.stop());
    }
    const roots = (): number[] => [pgfn?.pid ?? zalando?.pid ?? floor?.pid ?? 0].filter((p) => p > 0);
    const fnByPid = new Map<number, string>();
    const isBroker = (p: ProcSample): boolean => pgfn !== undefined && isSideRunner(roots, p);
    const runner = side === 'pgfn-knative' ? RUNNER : BROKER;
    const sampler = new TreeSampler({
      roots,
      name: floor === undefined ? componentName(roots, fnByPid, runner) : () => 'floor client',
      group: (p) => (isBroker(p) ? 'broker' : isKnative(p) ? 'knative' : 'operator'),
      fromBirth: true,
    });
    sampler.start();
    const cpuOf = (u: TreeUsage, which: (name: string) => boolean): number =>
      u.components.filter((c) => which(c.name)).reduce((a, c) => a + c.cpuSeconds, 0);
    const knativeCpu = (): number => cpuOf(sampler.usageNow(), (name) => name.startsWith('knative '));
    /** CPU seconds of the operator's processes so far (pgfn's local broker stand-in and Knative's processes left out). */
    const operatorCpu = (): number => {
      const u = sampler.usageNow();
      return u.cpuSeconds - cpuOf(u, (name) => name === runner || name.startsWith('knative '));
    };
    const idle = async (): Promise<boolean> => (pgfn === undefined ? true : pgfn.idle());
    const o1 = await quiet(stack, idle);
    const startup = readAudit(stack.auditLog, identity.user, o0, o1);
    const startupCpu = operatorCpu();
    // Idle: the pgfn side (and Knative's processes) with nothing to do, before the first manifest.
    let idleUsage: SideResult['idle'];
    let knativeIdle: { cpuPercent: number; rssMiB: number } | undefined;
    if (pgfn !== undefined && idleSeconds > 0) {
      const rss = (which: (p: ProcSample) => boolean): number =>
        roots()
          .flatMap(processTree)
          .filter(which)
          .reduce((a, p) => a + p.rssMiB, 0);
      const whole0 = sampler.usageNow().cpuSeconds;
      const kn0 = knativeCpu();
      await sleep(idleSeconds * 1000);
      const percent = (cpu: number): number => (100 * cpu) / idleSeconds;
      idleUsage = {
        windowSeconds: idleSeconds,
        wholeSideCpuPercent: percent(sampler.usageNow().cpuSeconds - whole0),
        wholeSideRssMiB: rss(() => true),
      };
      if (side === 'pgfn-knative') knativeIdle = { cpuPercent: percent(knativeCpu() - kn0), rssMiB: rss(isKnative) };
      log(`${side}: idle ${idleSeconds} s: ${JSON.stringify({ ...idleUsage, knative: knativeIdle })}`);
    }
    const createFrom = auditOffset(stack.auditLog);
    const cpuBeforeCreate = operatorCpu();
    const knativeBeforeCreate = knativeCpu();

    // Convergence: submit every manifest (through the control plane's own apiserver, as a user would).
    const custom = stack.admin.makeApiClient(k8s.CustomObjectsApi);
    const submit = new WorkQueue(16);
    const watch0 = await watchNow(stack);
    const t0 = performance.now();
    await floor?.go();
    for (const name of names) {
      submit.add(name, async () => {
        tracker.submitted(name, performance.now());
        await custom.createNamespacedCustomObject({
          group: 'acid.zalan.do',
          version: 'v1',
          plural: 'postgresqls',
          namespace: CLUSTER_NAMESPACE,
          body: onKwok(example('minimal.yaml', CLUSTER_NAMESPACE, name)),
        });
      });
    }
    await submit.drain();
    log(`${side}: ${n} manifests submitted in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for Running`);
    const progress = setInterval(
      () => log(`${side}: ${tracker.running()}/${n} Running after ${((performance.now() - t0) / 1000).toFixed(0)} s`),
      30_000,
    );
    let converged = true;
    try {
      await tracker.allRunning(names, timeoutMs);
    } catch (err) {
      converged = false;
      notes.push((err as Error).message);
      log((err as Error).message);
    } finally {
      clearInterval(progress);
    }
    const { perCluster, lastRunningAt } = tracker.latencies(names);
    let check = await checkObjects(stack.admin, CLUSTER_NAMESPACE, names.flatMap(expectedObjects));
    if (converged && check.missing.length > 0) {
      // Status says Running; give the objects a moment in case a write is still in flight.
      await waitUntil(
        'every expected object',
        async () => (check = await checkObjects(stack.admin, CLUSTER_NAMESPACE, names.flatMap(expectedObjects))).missing.length === 0,
        60_000,
        2000,
      ).catch(() => undefined);
    }
    const o2 = await quiet(stack, idle);
    const convergeCpu = operatorCpu() - cpuBeforeCreate;
    const knativeConvergeCpu = knativeCpu() - knativeBeforeCreate;
    const watchCreate = watchTrafficBetween(watch0, await watchNow(stack));
    log(`${side}: ${tracker.running()}/${n} Running, convergence ${fixed((lastRunningAt - t0) / 1000)} s; measuring a no-op resync`);

    // No-op resync of every cluster, only when the side converged (otherwise it is not a no-op).
    let resync: RequestSummary | undefined;
    let resyncSeconds: number | undefined;
    let resyncCpu: number | undefined;
    let resyncClusters: number | undefined;
    const throttledSkip = side === 'zalando' && n > throttledResyncMaxN;
    if (throttledSkip) notes.push(`resync: not measured for Zalando at its default client limit above ${throttledResyncMaxN} clusters`);
    if (converged && measureResync && !throttledSkip) {
      const cpuBefore = operatorCpu();
      if (pgfn !== undefined) {
        const r = await pgfn.resync();
        resyncSeconds = r.ms === undefined ? undefined : r.ms / 1000;
        if (r.ms === undefined)
          notes.push("resync: fired into Knative's ingress; its requests are counted until the side is quiet, its time is not measured");
        resyncClusters = n;
        const o3 = await quiet(stack, idle);
        resync = summarise(readAudit(stack.auditLog, identity.user, o2, o3));
      } else if (zalando !== undefined) {
        // Zalando resyncs every resync_period (30 min); its start-up sync runs the same Sync of every
        // cluster. So: restart it and take its start-up requests (measured above, with no clusters) out.
        await zalando.stop();
        const t = performance.now();
        zalando = await ZalandoOperator.start({
          binary: zalandoBin,
          kubeconfig: identity.kubeconfig,
          logFile: zalandoLog,
          ...(qps === undefined ? {} : { qps }),
        });
        stack.adopt(zalando.pid);
        const op = zalando;
        await waitUntil(`Zalando's start-up sync of ${n} clusters`, () => op.synced() >= n, timeoutMs, 500).catch((err: unknown) =>
          notes.push((err as Error).message),
        );
        resyncSeconds = (performance.now() - t) / 1000;
        resyncClusters = op.synced();
        const o3 = await quiet(stack);
        resync = summarise(subtract(readAudit(stack.auditLog, identity.user, o2, o3), startup));
        notes.push("Zalando's no-op resync is its start-up sync after a restart, less the requests of its start-up with no clusters");
      }
      resyncCpu = operatorCpu() - cpuBefore;
    }
    const pgfnStats = pgfn === undefined ? undefined : await pgfn.stats();
    for (const [fn, pids] of Object.entries(pgfnStats?.functionPids ?? {})) for (const pid of pids) fnByPid.set(pid, fn);
    const total = sampler.stop();
    if (floor !== undefined) notes.push(`floor: ${JSON.stringify(await floor.stats())}`);
    const brokerCpu = cpuOf(total, (name) => name === runner);
    const knativeTotalCpu = cpuOf(total, (name) => name.startsWith('knative '));
    const result: SideResult = {
      side,
      clusters: n,
      converged,
      running: tracker.running(),
      ...(converged ? { convergenceSeconds: (lastRunningAt - t0) / 1000 } : {}),
      perClusterSeconds: {
        median: median(perCluster) / 1000,
        p90: quantile(perCluster, 0.9) / 1000,
        p99: quantile(perCluster, 0.99) / 1000,
        max: Math.max(0, ...perCluster) / 1000,
      },
      statusPaths: tracker.statusPaths(),
      missingObjects: check.missing.slice(0, 20),
      objectsByKind: check.labelledByKind,
      api: {
        startup: summarise(startup),
        create: summarise(readAudit(stack.auditLog, identity.user, createFrom, o2)),
        ...(resync === undefined ? {} : { resync, resyncClusters, ...(resyncSeconds === undefined ? {} : { resyncSeconds }) }),
        peakRequestsPerSecond: peakRequestsPerSecond(stack.auditLog, identity.user, createFrom, o2),
        ...(qps === undefined ? {} : { clientQps: qps }),
        watch: watchCreate,
      },
      resources: {
        startupCpuSeconds: startupCpu,
        convergeCpuSeconds: convergeCpu,
        ...(resyncCpu === undefined ? {} : { resyncCpuSeconds: resyncCpu }),
        wholeSideCpuSeconds: total.cpuSeconds,
        wholeSidePeakRssMiB: total.peakRssMiB,
        operatorCpuSeconds: total.cpuSeconds - brokerCpu - knativeTotalCpu,
        operatorPeakRssMiB: total.peakRssMiBByGroup['operator'] ?? 0,
        brokerCpuSeconds: brokerCpu,
        brokerPeakRssMiB: total.peakRssMiBByGroup['broker'] ?? 0,
        total,
        apiserverCpuSeconds: apiserverCpu.stop().cpuSeconds,
      },
      ...(pgfnStats === undefined ? {} : { pgfn: pgfnStats }),
      ...(idleUsage === undefined ? {} : { idle: idleUsage }),
      ...(side === 'pgfn-knative'
        ? {
            knative: {
              idleCpuPercent: knativeIdle?.cpuPercent ?? Number.NaN,
              idleRssMiB: knativeIdle?.rssMiB ?? Number.NaN,
              convergeCpuSeconds: knativeConvergeCpu,
              peakRssMiB: total.peakRssMiBByGroup['knative'] ?? 0,
              components: total.components.filter((c) => c.name.startsWith('knative ')),
            },
          }
        : {}),
      helpers: { pvs: helpers.pvsCreated(), labelled: helpers.podsLabelled(), readied: helpers.podsReadied() },
      notes,
    };
    log(`${side}, ${n}: done`);
    return result;
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    await stack.stop();
  }
}

/** The operator-facing apiserver's watch counters now. */
async function watchNow(stack: BenchStack): Promise<WatchTraffic> {
  const r = await httpsGet(stack.operatorServer, '/metrics', stack.cp.state.pki, 30_000);
  if (r.status !== 200) throw new Error(`GET /metrics of the operator-facing apiserver: ${r.status}`);
  return watchTraffic(r.body);
}

function perCluster(s: RequestSummary | undefined, n: number | undefined): string {
  if (s === undefined || n === undefined || n === 0) return '—';
  return `${fixed(s.requests / n)} (${fixed(s.writes / n)} writes)`;
}

function label(r: SideResult): string {
  if (r.side === 'pgfn') return 'pgfn';
  if (r.side === 'pgfn-knative') return 'pgfn on Knative Eventing';
  if (r.side === 'floor') return 'floor (no operator)';
  const qps = zalandoQpsOf(r.side);
  if (qps === UNTHROTTLED_QPS) return `Zalando ${zalandoVersion}, unthrottled`;
  return `Zalando ${zalandoVersion}${qps === undefined || qps === null ? '' : ` (kubeqps ${qps})`}`;
}

/** A side's time to all Running over the floor's at the same N. */
function floorRatio(r: SideResult, results: readonly SideResult[]): string {
  const floor = results.find((x) => x.side === 'floor' && x.clusters === r.clusters);
  if (floor?.convergenceSeconds === undefined || r.convergenceSeconds === undefined) return '—';
  return `${fixed(r.convergenceSeconds / floor.convergenceSeconds, 2)}×`;
}

function clientLimit(r: SideResult): string {
  if (isPgfn(r.side) || r.side === 'floor') return 'none';
  return r.api.clientQps === undefined ? '10 (default)' : String(r.api.clientQps);
}

/** The run's tables as markdown (printed, and written beside the JSON). */
function report(results: readonly SideResult[]): string {
  const out: string[] = [];
  out.push('### Convergence\n');
  out.push(
    table(
      ['clusters', 'side', 'all Running (s)', '÷ floor', 'per cluster p50 / p99 (s)', 'Running', 'missing objects'],
      results.map((r) => [
        r.clusters,
        label(r),
        r.converged ? fixed(r.convergenceSeconds) : `not within ${timeoutMs / 60_000} min`,
        floorRatio(r, results),
        `${fixed(r.perClusterSeconds.median)} / ${fixed(r.perClusterSeconds.p99)}`,
        `${r.running}/${r.clusters}`,
        r.missingObjects.length,
      ]),
    ),
  );
  out.push('\n### API requests (audit log of the operator-facing apiserver; watches apart)\n');
  out.push(
    table(
      [
        'clusters',
        'side',
        'start-up',
        'per created cluster',
        'per cluster, no-op resync',
        'resync (s)',
        'peak req/s (client limit)',
        'watch events (MiB) while creating',
        '409 / 429',
      ],
      results.map((r) => [
        r.clusters,
        label(r),
        r.api.startup.requests,
        perCluster(r.api.create, r.clusters),
        perCluster(r.api.resync, r.api.resyncClusters),
        fixed(r.api.resyncSeconds),
        `${r.api.peakRequestsPerSecond} (${clientLimit(r)})`,
        `${r.api.watch.events} (${fixed(r.api.watch.bytes / 2 ** 20)})`,
        `${r.api.create.conflicts + (r.api.resync?.conflicts ?? 0)} / ${r.api.create.throttled + (r.api.resync?.throttled ?? 0)}`,
      ]),
    ),
  );
  out.push('\n### Resources (CPU seconds over the whole run and peak RSS of everything the side runs)\n');
  out.push(
    table(
      [
        'clusters',
        'side',
        'CPU s: whole side',
        'start-up',
        'converge',
        'resync',
        'peak RSS (MiB)',
        'of which broker stand-in CPU s / MiB',
        'apiserver CPU s',
        'components (CPU s / peak MiB)',
      ],
      results.map((r) => [
        r.clusters,
        label(r),
        fixed(r.resources.wholeSideCpuSeconds),
        fixed(r.resources.startupCpuSeconds),
        fixed(r.resources.convergeCpuSeconds),
        fixed(r.resources.resyncCpuSeconds),
        fixed(r.resources.wholeSidePeakRssMiB, 0),
        isPgfn(r.side) ? `${fixed(r.resources.brokerCpuSeconds)} / ${fixed(r.resources.brokerPeakRssMiB, 0)}` : '—',
        fixed(r.resources.apiserverCpuSeconds),
        r.resources.total.components
          .map((c) => `${c.name}${c.processes > 1 ? ` ×${c.processes}` : ''}: ${fixed(c.cpuSeconds)} / ${fixed(c.peakRssMiB, 0)}`)
          .join('; '),
      ]),
    ),
  );
  out.push(
    '\nStart-up, converge and resync count the operator alone (pgfn: functions + receive adapters, the broker stand-in apart); ' +
      'the whole side includes the broker stand-in and the function supervisor (on Knative: the proxy and the supervisor, ' +
      "and Knative's processes).",
  );
  const idled = results.filter((r) => r.idle !== undefined);
  if (idled.length > 0) {
    out.push(`\n### Idle and Knative's processes (pgfn sides; idle: ${idleSeconds} s after start-up, before the first manifest)\n`);
    out.push(
      table(
        [
          'clusters',
          'side',
          'idle: whole side % of a core / RSS MiB',
          "idle: Knative's processes % of a core / RSS MiB",
          "converging: Knative's CPU s",
          "Knative's peak RSS MiB",
          "Knative's processes over the run (CPU s / peak MiB)",
        ],
        idled.map((r) => [
          r.clusters,
          label(r),
          `${fixed(r.idle?.wholeSideCpuPercent)} / ${fixed(r.idle?.wholeSideRssMiB, 0)}`,
          r.knative === undefined ? '—' : `${fixed(r.knative.idleCpuPercent)} / ${fixed(r.knative.idleRssMiB, 0)}`,
          fixed(r.knative?.convergeCpuSeconds),
          fixed(r.knative?.peakRssMiB, 0),
          (r.knative?.components ?? [])
            .map((c) => `${c.name.slice('knative '.length)}: ${fixed(c.cpuSeconds)} / ${fixed(c.peakRssMiB, 0)}`)
            .join('; ') || '—',
        ]),
      ),
    );
  }
  return out.join('\n');
}

const info = machine();
log(`sizes ${sizes.join(', ')}; sides ${sides.join(', ')}; load average ${(info['loadAverageAtStart'] as number[]).join(' ')}`);
if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
const zalandoBin = sides.some((x) => zalandoQpsOf(x) !== null) ? await ensureZalando(zalandoVersion, log) : '';
const bundles = sides.some(isPgfn) ? await bundleAll(fns) : {};
const results: SideResult[] = [];
const command = `npm run bench:convergence -- ${process.argv.slice(2).join(' ')}`.trim();
/** The JSON and markdown of the sides run so far: written after each side, so a long run cut short keeps what it measured. */
function writeResults(final: boolean): string {
  const markdown = report(results);
  const file = writeResult(outName, {
    command,
    machine: info,
    zalandoVersion,
    zalandoClientLimit: `upstream default -kubeqps 10 -kubeburst 20; zalando-unthrottled: ${UNTHROTTLED_QPS}; zalando-qps<N>: N`,
    functions: fns,
    method: 'docs/adr/0008-benchmark-against-zalando.md',
    ...(final ? {} : { partial: `${results.length} of ${sizes.length * sides.length} sides` }),
    results,
  });
  const heading = `\`${command}\` — ${String(info['date'])}, commit ${String(info['pgfnCommit'])}, ${String(info['cpus'])} cores`;
  const load = `load average at start ${(info['loadAverageAtStart'] as number[]).join(' ')}`;
  writeFileSync(file.replace(/\.json$/, '.md'), `# bench:convergence\n\n${heading}, ${load}\n\n${markdown}\n`);
  log(`wrote ${file} and its .md${final ? '' : ` (${results.length} side(s) so far)`}`);
  return markdown;
}
for (const n of sizes) {
  for (const side of sides) {
    results.push(await runSide(side, n, bundles, zalandoBin));
    if (results.length < sizes.length * sides.length) writeResults(false);
  }
}
console.log(writeResults(true));
// Keep-alive sockets and the sampler's timers of finished sides would otherwise hold the process open.
process.exit(0);
