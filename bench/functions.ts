// npm run bench:functions [-- --runs 7] [--functions reconcile,team-role-sync] [--variants bundled,tsx]
//                          [--event absent|existing] [--idle-s 30] [--out functions]
//                          [--compare label=/path/fn.mjs,…]   (bundles built elsewhere, e.g. from an older
//                                                             commit, measured in the same run and load;
//                                                             `label=--flag /path/fn.mjs` adds Node flags)
// Cold start and idle memory of every pgfn function (functions/*/src/main.ts), each start a new
// process: bundled as the image runs it (node with FUNCTION_NODE_ARGS and FUNCTION_TRUST_ENV, ADR 0143;
// the launcher .mjs with its bundle and code cache)
// and from source as `npm run fn` runs it (node --import tsx). Measured:
//   spawn → listening        first TCP connection accepted;
//   spawn → first answer     the first CloudEvent answered: an ApiServerSource "add" of a postgresql;
//                            `--event absent` (default): one that does not exist, so the function
//                            reads the API server once (TLS, discovery) and answers; `--event existing`:
//                            one applied beforehand, so the function reads, builds and writes what it
//                            would for a new cluster (issue 21's realistic cold start);
//   after idle               (`--event existing`) the same process, left idle `--idle-s` seconds (30),
//                            answers the add of a second existing cluster: latency, CPU and RSS;
//   CPU to first answer      user + system CPU the process used until that answer (10 ms ticks):
//                            unlike wall time, barely moved by other load on the machine;
//   idle RSS                 resident memory 2 s after that answer (and the process's peak).
// A bare Node HTTP server is the floor. The variants' starts are taken in turns (one of each, then the
// next), so a machine whose load changes during the run weighs on all of them alike. Prints a markdown
// table; writes bench/results/functions.json.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, freePort, repoRoot } from '@pgfn/controlplane';
import { FUNCTION_NODE_ARGS, FUNCTION_TRUST_ENV } from '@pgfn/pipeline';
import { bundleAll, existingFunctions } from './lib/pgfn-side.js';
import { BenchProcess, sleep } from './lib/proc.js';
import { readProc } from './lib/procstat.js';
import { sampleCluster } from './lib/sample-cluster.js';
import { arg, fixed, machine, median, quantile, table, writeResult } from './lib/report.js';

const runs = Number(arg('runs', '7'));
const fns = arg('functions', existingFunctions().join(',')).split(',');
const variants = new Set(arg('variants', 'bundled,tsx').split(','));
const eventKind = arg('event', 'absent');
if (eventKind !== 'absent' && eventKind !== 'existing') throw new Error(`--event ${eventKind}: absent or existing`);
const idleSeconds = Number(arg('idle-s', '30'));
const NAMESPACE = 'bench-fn';
const EXISTING = 'an existing postgresql (2 instances, a user, a database)';
const compare = arg('compare', '')
  .split(',')
  .filter((c) => c !== '')
  .map((c) => {
    const [label, value] = [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)];
    const words = value.split(/\s+/).filter((w) => w !== '');
    return { label, file: words.at(-1) ?? '', flags: words.slice(0, -1) };
  });

interface Start {
  firstAnswerMs: number;
  cpuToAnswerMs: number;
  status: number;
  idleRssMiB: number;
  peakRssMiB: number;
  afterIdle?: { answerMs: number; cpuMs: number; status: number; rssMiB: number };
}

/** A Resource-mode "add" event of a postgresql, as the ApiServerSource sends it. */
function addEvent(namespace: string, name: string): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-source': 'https://127.0.0.1/apis/v1',
    'ce-type': 'dev.knative.apiserver.resource.add',
    'ce-subject': `/apis/acid.zalan.do/v1/namespaces/${namespace}/postgresqls/${name}`,
    'ce-kind': 'postgresql',
    'ce-name': name,
    'ce-namespace': namespace,
    'ce-apiversion': 'acid.zalan.do/v1',
    'content-type': 'application/json',
  };
  return { headers, body: JSON.stringify(sampleCluster(namespace, name)) };
}

/** The cluster a start's event names: absent, or applied now so the function finds it. */
async function clusterFor(tag: string): Promise<{ headers: Record<string, string>; body: string }> {
  if (eventKind === 'absent') return addEvent('default', 'acid-absent');
  // A short name whatever the variant's label: a cluster name beyond 58 characters is refused as invalid.
  const name = `acid-${createHash('sha256').update(tag).digest('hex').slice(0, 12)}`;
  await cp.kubectl(['apply', '-f', '-'], JSON.stringify(sampleCluster(NAMESPACE, name)));
  return addEvent(NAMESPACE, name);
}

/** Node's own HTTP server answering 200: the least a Node function can cost. */
const BARE = [
  "require('node:http')",
  ".createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); })",
  ".listen(Number(process.env.PORT), '127.0.0.1');",
].join('');

/** One way of starting a function process. */
interface Launch {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logDir: string;
}

function spawnOn(launch: Launch, port: number, logSuffix: string): BenchProcess {
  const { name, command, args, env, logDir } = launch;
  return new BenchProcess({
    name,
    logFile: join(logDir, `${name.replace(/\W+/g, '-')}-${logSuffix}.log`),
    command,
    args,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    cwd: repoRoot,
  });
}

async function oneStart(launch: Launch, i: number): Promise<Start> {
  const { name } = launch;
  const port = await freePort();
  const event = await clusterFor(`${name}-${i}`);
  const proc = spawnOn(launch, port, String(i));
  const url = `http://127.0.0.1:${port}/`;
  try {
    for (;;) {
      if (!proc.running) throw new Error(`${name} exited before answering:\n${proc.tail(20)}`);
      if (performance.now() - proc.startedAt > 60_000) throw new Error(`${name} did not answer within 60 s:\n${proc.tail(20)}`);
      try {
        const res = await fetch(url, { method: 'POST', headers: { ...event.headers, 'ce-id': `cold-${i}` }, body: event.body });
        const firstAnswerMs = performance.now() - proc.startedAt;
        const cpuToAnswerMs = (readProc(proc.pid)?.cpuSeconds ?? 0) * 1000;
        await res.arrayBuffer();
        await sleep(2000);
        const s = readProc(proc.pid);
        const start: Start = {
          firstAnswerMs,
          cpuToAnswerMs,
          status: res.status,
          idleRssMiB: s?.rssMiB ?? 0,
          peakRssMiB: s?.peakRssMiB ?? 0,
        };
        return eventKind === 'existing' && i >= 0 ? { ...start, afterIdle: await afterIdle(proc, url, `${name}-${i}-idle`) } : start;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code !== 'ECONNREFUSED') throw err;
        await sleep(2);
      }
    }
  } finally {
    await proc.stop();
  }
}

/** The same process after `idleSeconds` without events: the add of another existing cluster. */
async function afterIdle(proc: BenchProcess, url: string, tag: string): Promise<NonNullable<Start['afterIdle']>> {
  const event = await clusterFor(tag);
  await sleep(idleSeconds * 1000);
  const cpuBefore = readProc(proc.pid)?.cpuSeconds ?? 0;
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { ...event.headers, 'ce-id': `idle-${tag}` }, body: event.body });
  await res.arrayBuffer();
  const answerMs = performance.now() - t0;
  const s = readProc(proc.pid);
  return { answerMs, cpuMs: ((s?.cpuSeconds ?? 0) - cpuBefore) * 1000, status: res.status, rssMiB: s?.rssMiB ?? 0 };
}

/** Time until the port accepts a connection (separately from answering, which may need the API). */
async function listening(launch: Launch, i: number): Promise<number> {
  const { name } = launch;
  const port = await freePort();
  const proc = spawnOn(launch, port, `listen-${i}`);
  try {
    for (;;) {
      if (!proc.running || performance.now() - proc.startedAt > 60_000) throw new Error(`${name} never listened:\n${proc.tail(20)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => true,
        () => false,
      );
      if (ok) return performance.now() - proc.startedAt;
      await sleep(2);
    }
  } finally {
    await proc.stop();
  }
}

interface Row {
  fn: string;
  variant: string;
  bundleKiB?: number;
  /** V8's code cache beside the bundle, if any (ADR 0117). */
  codeCacheKiB?: number;
  listeningMs: number;
  firstAnswerMs: { median: number; p90: number; max: number };
  /** Each start's first answer and CPU to it (ms), in the order taken. */
  starts: { firstAnswerMs: number; cpuToAnswerMs: number }[];
  cpuToAnswerMs: number;
  /** The mean resolves below the 10 ms clock tick each start is counted in. */
  cpuToAnswerMeanMs: number;
  statuses: number[];
  idleRssMiB: number;
  peakRssMiB: number;
  /** Medians over the starts (`--event existing`). */
  afterIdle?: { answerMs: number; cpuMs: number; rssMiB: number; statuses: number[] };
}

interface Measured {
  readonly fn: string;
  readonly variant: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The bundle file whose size to report, if any. */
  readonly bundle?: string;
}

/** One row's launch and the bundle it reports, before measuring. */
interface Planned {
  readonly measured: Measured;
  readonly launch: Launch;
  readonly starts: Start[];
  readonly listens: number[];
}

/**
 * Every variant's starts, taken in turns (start i of each variant, then start i + 1): on a loaded
 * machine, load that rises or falls during the run then weighs on every variant alike.
 */
async function measureAll(all: readonly Measured[], base: Pick<Launch, 'env' | 'logDir'>): Promise<Row[]> {
  const planned: Planned[] = all.map((m) => ({
    measured: m,
    launch: { name: `${m.fn} ${m.variant}`, command: m.command, args: m.args, ...base },
    starts: [],
    listens: [],
  }));
  // One unmeasured start each warms the page cache, as on a node that has pulled the image.
  for (const p of planned) await oneStart(p.launch, -1);
  for (let i = 0; i < runs; i++) {
    // Every other turn in reverse order, so no variant always follows the same one.
    for (const p of i % 2 === 0 ? planned : [...planned].reverse()) {
      p.starts.push(await oneStart(p.launch, i));
      p.listens.push(await listening(p.launch, i));
    }
  }
  return planned.map(({ measured, starts, listens }) => rowOf(measured, starts, listens));
}

function rowOf({ fn, variant, bundle }: Measured, starts: readonly Start[], listens: readonly number[]): Row {
  const answers = starts.map((s) => s.firstAnswerMs);
  return {
    fn,
    variant,
    ...(bundle === undefined ? {} : bundleSizes(bundle)),
    listeningMs: median(listens),
    firstAnswerMs: { median: median(answers), p90: quantile(answers, 0.9), max: Math.max(...answers) },
    starts: starts.map((s) => ({ firstAnswerMs: Math.round(s.firstAnswerMs), cpuToAnswerMs: Math.round(s.cpuToAnswerMs) })),
    cpuToAnswerMs: median(starts.map((s) => s.cpuToAnswerMs)),
    cpuToAnswerMeanMs: starts.reduce((a, s) => a + s.cpuToAnswerMs, 0) / starts.length,
    statuses: starts.map((s) => s.status),
    idleRssMiB: median(starts.map((s) => s.idleRssMiB)),
    peakRssMiB: median(starts.map((s) => s.peakRssMiB)),
    ...afterIdleOf(starts),
  };
}

/** The code a launcher runs (`<fn>.cjs` beside `<fn>.mjs`, ADR 0117) and its code cache, else the file itself. */
function bundleSizes(file: string): Pick<Row, 'bundleKiB' | 'codeCacheKiB'> {
  const code = file.replace(/\.mjs$/, '.cjs');
  const cache = file.replace(/\.mjs$/, '.jsc');
  return {
    bundleKiB: statSync(existsSync(code) ? code : file).size / 1024,
    ...(existsSync(cache) ? { codeCacheKiB: statSync(cache).size / 1024 } : {}),
  };
}

function afterIdleOf(starts: readonly Start[]): Pick<Row, 'afterIdle'> {
  const idle = starts.map((s) => s.afterIdle).filter((a) => a !== undefined);
  if (idle.length === 0) return {};
  return {
    afterIdle: {
      answerMs: median(idle.map((a) => a.answerMs)),
      cpuMs: median(idle.map((a) => a.cpuMs)),
      rssMiB: median(idle.map((a) => a.rssMiB)),
      statuses: idle.map((a) => a.status),
    },
  };
}

const info = machine();
const startLoad = (info['loadAverageAtStart'] as number[]).join(' ');
const about = `${String(info['pgfnCommit'])}, ${String(info['date'])}, ${String(info['cpus'])} cores`;
const cp = await ControlPlane.start({ kwok: false });
try {
  if (eventKind === 'existing') {
    await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds/postgresql.crd.yaml')]);
    await cp.waitForCrds(['postgresqls.acid.zalan.do']);
    await cp.kubectl(['create', 'namespace', NAMESPACE]);
  }
  const logDir = mkdtempSync(join(tmpdir(), 'pgfn-bench-fn-'));
  // Every variant gets the image's trust environment; only those started with FUNCTION_NODE_ARGS use it.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    KUBECONFIG: cp.kubeconfig,
    LOG_LEVEL: 'info',
    ...FUNCTION_TRUST_ENV,
  };
  const bundles = await bundleAll(fns);
  const base = { env, logDir };
  const node = process.execPath;
  const measured: Measured[] = [{ fn: '(bare node:http server)', variant: 'floor', command: node, args: ['-e', BARE] }];
  for (const fn of fns) {
    const bundle = bundles[fn];
    if (variants.has('bundled'))
      measured.push({ fn, variant: 'bundled (image)', command: node, args: [...FUNCTION_NODE_ARGS, bundle ?? ''], bundle });
    if (variants.has('tsx'))
      measured.push({ fn, variant: 'tsx (npm run fn)', command: node, args: ['--import', 'tsx', join(repoRoot, 'hack/run-fn.ts'), fn] });
  }
  for (const { label, file, flags } of compare)
    measured.push({
      fn: label,
      variant: flags.length === 0 ? 'bundled (compare)' : `bundled (compare, ${flags.join(' ')})`,
      command: node,
      args: [...flags, file],
      bundle: file,
    });
  const rows = await measureAll(measured, base);
  const markdown = table(
    [
      'function',
      'variant',
      'bundle (KiB)',
      'spawn → listening (ms)',
      'spawn → first answer, median / p90 / max (ms)',
      'CPU to first answer, median / mean (ms)',
      'idle RSS (MiB)',
      'peak RSS (MiB)',
      ...(eventKind === 'existing' ? [`after ${idleSeconds} s idle: answer / CPU (ms) / RSS (MiB)`] : []),
    ],
    rows.map((r) => [
      r.fn,
      r.variant,
      r.bundleKiB === undefined
        ? '—'
        : fixed(r.bundleKiB, 0) + (r.codeCacheKiB === undefined ? '' : ` + ${fixed(r.codeCacheKiB, 0)} cache`),
      fixed(r.listeningMs, 0),
      `${fixed(r.firstAnswerMs.median, 0)} / ${fixed(r.firstAnswerMs.p90, 0)} / ${fixed(r.firstAnswerMs.max, 0)}`,
      `${fixed(r.cpuToAnswerMs, 0)} / ${fixed(r.cpuToAnswerMeanMs, 0)}`,
      fixed(r.idleRssMiB, 0),
      fixed(r.peakRssMiB, 0),
      ...(r.afterIdle === undefined
        ? []
        : [`${fixed(r.afterIdle.answerMs, 0)} / ${fixed(r.afterIdle.cpuMs, 0)} / ${fixed(r.afterIdle.rssMiB, 0)}`]),
    ]),
  );
  const notes = [
    `medians of ${runs} starts each, the variants' starts taken in turns; targets: first answer ≤ 200 ms, idle RSS ≤ 70 MiB (issue 8)`,
    `load average at start: ${startLoad}, at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ];
  console.log(`${markdown}\n\n${notes.join('\n')}`);
  const file = writeResult(arg('out', eventKind === 'absent' ? 'functions' : 'functions-existing'), {
    machine: info,
    loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
    runs,
    event: `dev.knative.apiserver.resource.add of ${eventKind === 'absent' ? 'an absent postgresql' : EXISTING}`,
    ...(eventKind === 'existing' ? { idleSeconds } : {}),
    command: `npm run bench:functions -- ${process.argv.slice(2).join(' ')}`.trim(),
    rows,
  });
  const command = `npm run bench:functions -- ${process.argv.slice(2).join(' ')}`.trim();
  writeFileSync(
    file.replace(/\.json$/, '.md'),
    `# bench:functions\n\n\`${command}\` at ${about}\n\n${markdown}\n\n${notes.join('  \n')}\n`,
  );
  console.error(`wrote ${file} and its .md`);
} finally {
  await cp.stop();
}
