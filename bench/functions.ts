// npm run bench:functions [-- --runs 7] [--functions reconcile,team-role-sync] [--variants bundled,tsx]
//                          [--compare label=/path/fn.mjs,…]   (bundles built elsewhere, e.g. from an older
//                                                             commit, measured in the same run and load)
// Cold start and idle memory of every pgfn function (functions/*/src/main.ts), each start a new
// process: bundled as the image runs it (one .mjs, plain node) and from source as `npm run fn` runs it
// (node --import tsx). Measured:
//   spawn → listening        first TCP connection accepted;
//   spawn → first answer     the first CloudEvent answered: an ApiServerSource "add" of a postgresql
//                            that does not exist, so the function reads the API server once (TLS,
//                            discovery) and answers;
//   CPU to first answer      user + system CPU the process used until that answer (10 ms ticks):
//                            unlike wall time, barely moved by other load on the machine;
//   idle RSS                 resident memory 2 s after that answer (and the process's peak).
// A bare Node HTTP server is the floor. Prints a markdown table; writes bench/results/functions.json.
import { mkdtempSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, freePort, repoRoot } from '@pgfn/controlplane';
import { bundleAll, existingFunctions } from './lib/pgfn-side.js';
import { BenchProcess, sleep } from './lib/proc.js';
import { readProc } from './lib/procstat.js';
import { arg, fixed, machine, median, table, writeResult } from './lib/report.js';

const runs = Number(arg('runs', '7'));
const fns = arg('functions', existingFunctions().join(',')).split(',');
const variants = new Set(arg('variants', 'bundled,tsx').split(','));
const compare = arg('compare', '')
  .split(',')
  .filter((c) => c !== '')
  .map((c) => c.split('=') as [string, string]);

interface Start {
  firstAnswerMs: number;
  cpuToAnswerMs: number;
  status: number;
  idleRssMiB: number;
  peakRssMiB: number;
}

/** A Resource-mode "add" event for a postgresql that does not exist. */
const EVENT_HEADERS: Record<string, string> = {
  'ce-specversion': '1.0',
  'ce-source': 'https://127.0.0.1/apis/v1',
  'ce-type': 'dev.knative.apiserver.resource.add',
  'ce-subject': '/apis/acid.zalan.do/v1/namespaces/default/postgresqls/acid-absent',
  'ce-kind': 'postgresql',
  'ce-name': 'acid-absent',
  'ce-namespace': 'default',
  'ce-apiversion': 'acid.zalan.do/v1',
  'content-type': 'application/json',
};
const EVENT_BODY = JSON.stringify({
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name: 'acid-absent', namespace: 'default' },
  spec: { teamId: 'acid' },
});

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
  const proc = spawnOn(launch, port, String(i));
  const url = `http://127.0.0.1:${port}/`;
  try {
    for (;;) {
      if (!proc.running) throw new Error(`${name} exited before answering:\n${proc.tail(20)}`);
      if (performance.now() - proc.startedAt > 60_000) throw new Error(`${name} did not answer within 60 s:\n${proc.tail(20)}`);
      try {
        const res = await fetch(url, { method: 'POST', headers: { ...EVENT_HEADERS, 'ce-id': `cold-${i}` }, body: EVENT_BODY });
        const firstAnswerMs = performance.now() - proc.startedAt;
        const cpuToAnswerMs = (readProc(proc.pid)?.cpuSeconds ?? 0) * 1000;
        await res.arrayBuffer();
        await sleep(2000);
        const s = readProc(proc.pid);
        return { firstAnswerMs, cpuToAnswerMs, status: res.status, idleRssMiB: s?.rssMiB ?? 0, peakRssMiB: s?.peakRssMiB ?? 0 };
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
  listeningMs: number;
  firstAnswerMs: { median: number; max: number };
  cpuToAnswerMs: number;
  statuses: number[];
  idleRssMiB: number;
  peakRssMiB: number;
}

interface Measured {
  readonly fn: string;
  readonly variant: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The bundle file whose size to report, if any. */
  readonly bundle?: string;
}

async function measure({ fn, variant, command, args, bundle }: Measured, base: Pick<Launch, 'env' | 'logDir'>): Promise<Row> {
  const launch: Launch = { name: `${fn} ${variant}`, command, args, ...base };
  const starts: Start[] = [];
  const listens: number[] = [];
  // One unmeasured start warms the page cache, as on a node that has pulled the image.
  await oneStart(launch, -1);
  for (let i = 0; i < runs; i++) {
    starts.push(await oneStart(launch, i));
    listens.push(await listening(launch, i));
  }
  const answers = starts.map((s) => s.firstAnswerMs);
  return {
    fn,
    variant,
    ...(bundle === undefined ? {} : { bundleKiB: statSync(bundle).size / 1024 }),
    listeningMs: median(listens),
    firstAnswerMs: { median: median(answers), max: Math.max(...answers) },
    cpuToAnswerMs: median(starts.map((s) => s.cpuToAnswerMs)),
    statuses: starts.map((s) => s.status),
    idleRssMiB: median(starts.map((s) => s.idleRssMiB)),
    peakRssMiB: median(starts.map((s) => s.peakRssMiB)),
  };
}

const info = machine();
const cp = await ControlPlane.start({ kwok: false });
try {
  const logDir = mkdtempSync(join(tmpdir(), 'pgfn-bench-fn-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], KUBECONFIG: cp.kubeconfig, LOG_LEVEL: 'info' };
  const bundles = await bundleAll(fns);
  const base = { env, logDir };
  const node = process.execPath;
  const rows: Row[] = [await measure({ fn: '(bare node:http server)', variant: 'floor', command: node, args: ['-e', BARE] }, base)];
  for (const fn of fns) {
    const bundle = bundles[fn];
    if (variants.has('bundled'))
      rows.push(await measure({ fn, variant: 'bundled (image)', command: node, args: [bundle ?? ''], bundle }, base));
    if (variants.has('tsx')) {
      const args = ['--import', 'tsx', join(repoRoot, 'hack/run-fn.ts'), fn];
      rows.push(await measure({ fn, variant: 'tsx (npm run fn)', command: node, args }, base));
    }
  }
  for (const [label, file] of compare)
    rows.push(await measure({ fn: label, variant: 'bundled (compare)', command: node, args: [file], bundle: file }, base));
  console.log(
    table(
      [
        'function',
        'variant',
        'bundle (KiB)',
        'spawn → listening (ms)',
        'spawn → first answer, median / max (ms)',
        'CPU to first answer (ms)',
        'idle RSS (MiB)',
        'peak RSS (MiB)',
      ],
      rows.map((r) => [
        r.fn,
        r.variant,
        r.bundleKiB === undefined ? '—' : fixed(r.bundleKiB, 0),
        fixed(r.listeningMs, 0),
        `${fixed(r.firstAnswerMs.median, 0)} / ${fixed(r.firstAnswerMs.max, 0)}`,
        fixed(r.cpuToAnswerMs, 0),
        fixed(r.idleRssMiB, 0),
        fixed(r.peakRssMiB, 0),
      ]),
    ),
  );
  console.log(`\nmedians of ${runs} starts each; targets: first answer ≤ 200 ms, idle RSS ≤ 70 MiB (issue 8)`);
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const file = writeResult('functions', {
    machine: info,
    loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
    runs,
    event: 'dev.knative.apiserver.resource.add of an absent postgresql',
    rows,
  });
  console.error(`wrote ${file}`);
} finally {
  await cp.stop();
}
