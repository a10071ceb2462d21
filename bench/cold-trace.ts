// node --import tsx bench/cold-trace.ts --runs 7 label=/path/reconcile.mjs[,--node-flag…] …
// Where cold starts of function bundles spend their time, side by side (ADR 0126, 0143): each start is
// traced with bench/lib/start-trace.cjs and answers the add of an existing postgresql (as
// `bench:functions -- --event existing`); the bundles' starts are taken in turns. Prints, per bundle,
// the median CPU and wall time (ms since spawn) at each milestone of the trace.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, freePort, repoRoot } from '@pgfn/controlplane';
import { BenchProcess, sleep } from './lib/proc.js';
import { arg, median } from './lib/report.js';
import { sampleCluster } from './lib/sample-cluster.js';

const runs = Number(arg('runs', '5'));
const NAMESPACE = 'bench-trace';
const variants = process.argv
  .slice(2)
  .filter((a) => a.includes('='))
  .map((a) => {
    const [label, rest] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    const [file, ...flags] = rest.split(',');
    return { label, file: file ?? '', flags };
  });

interface Mark {
  t: number;
  cpu: number;
  what: string;
}

/** Milestones of a trace: the first mark whose text matches, named. */
const MILESTONES: [string, RegExp][] = [
  ['preload', /^preload$/],
  ['compiled', /^bundle compiled/],
  ['top level done', /^bundle top level done/],
  ['listening', /^listening$/],
  ['event received', /^server POST/],
  ['first TLS context', /^createSecureContext/],
  ['first request', /^req#1 start/],
  ['first response', /^req#1 body end/],
  ['answered', /^server answered/],
];

async function traceOne(v: (typeof variants)[number], i: number, cp: ControlPlane, dir: string): Promise<Mark[]> {
  const name = `acid-t${variants.indexOf(v)}-${i + 1}`;
  await cp.kubectl(['apply', '-f', '-'], JSON.stringify(sampleCluster(NAMESPACE, name)));
  const port = await freePort();
  const traceFile = join(dir, `${name}.json`);
  const proc = new BenchProcess({
    name: v.label,
    logFile: join(dir, `${name}.log`),
    command: process.execPath,
    args: [...v.flags, '--require', join(repoRoot, 'bench/lib/start-trace.cjs'), v.file],
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      KUBECONFIG: cp.kubeconfig,
      LOG_LEVEL: 'info',
      PORT: String(port),
      HOST: '127.0.0.1',
      PGFN_START_TRACE: traceFile,
    },
    cwd: repoRoot,
  });
  const body = JSON.stringify(sampleCluster(NAMESPACE, name));
  const headers = {
    'ce-specversion': '1.0',
    'ce-id': `trace-${i}`,
    'ce-source': 'https://127.0.0.1/apis/v1',
    'ce-type': 'dev.knative.apiserver.resource.add',
    'ce-subject': `/apis/acid.zalan.do/v1/namespaces/${NAMESPACE}/postgresqls/${name}`,
    'ce-kind': 'postgresql',
    'ce-name': name,
    'ce-namespace': NAMESPACE,
    'ce-apiversion': 'acid.zalan.do/v1',
    'content-type': 'application/json',
  };
  try {
    for (;;) {
      if (!proc.running) throw new Error(`${v.label} exited:\n${proc.tail(20)}`);
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers, body }).catch(() => undefined);
      if (res !== undefined) {
        await res.arrayBuffer();
        if (res.status >= 300) throw new Error(`${v.label} answered ${res.status}:\n${proc.tail(20)}`);
        break;
      }
      await sleep(2);
    }
  } finally {
    await proc.stop();
  }
  return (JSON.parse(readFileSync(traceFile, 'utf8')) as { marks: Mark[] }).marks;
}

const cp = await ControlPlane.start({ kwok: false });
try {
  await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds/postgresql.crd.yaml')]);
  await cp.waitForCrds(['postgresqls.acid.zalan.do']);
  await cp.kubectl(['create', 'namespace', NAMESPACE]);
  const dir = mkdtempSync(join(tmpdir(), 'pgfn-cold-trace-'));
  const traces = new Map(variants.map((v) => [v.label, [] as Mark[][]]));
  for (const v of variants) await traceOne(v, -1, cp, dir);
  for (let i = 0; i < runs; i++)
    for (const v of i % 2 === 0 ? variants : [...variants].reverse()) traces.get(v.label)?.push(await traceOne(v, i, cp, dir));
  for (const [label, all] of traces) {
    console.log(`\n${label} (${all.length} starts; median CPU ms / wall ms since spawn)`);
    for (const [what, re] of MILESTONES) {
      const hits = all.map((marks) => marks.find((m) => re.test(m.what))).filter((m) => m !== undefined);
      if (hits.length === 0) continue;
      console.log(`  ${what.padEnd(20)} ${median(hits.map((h) => h.cpu)).toFixed(1)} / ${median(hits.map((h) => h.t)).toFixed(1)}`);
    }
    const requests = all.map((marks) => marks.filter((m) => /^req#\d+ start/.test(m.what)).length);
    console.log(`  requests             ${median(requests)}`);
  }
  console.log(`\ntraces in ${dir}`);
} finally {
  await cp.stop();
}
