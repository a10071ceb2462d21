// npm run bench:pipeline [-- --creates 20] [--restarts 3] [--knative]
// The local event path's timings, which tests no longer assert (issue 14: no timed assertions):
//   event latency      postgresql created on the API server → its add event at a subscriber, through
//                      Knative's receive adapter and the local broker (median, p95, max);
//   adapter restart    restart() called → the adapter watching again;
//   retry backoff      the broker's chosen waits before each retry and the gaps a subscriber saw.
// --knative runs the same through Knative Eventing's own controllers and data plane (ingress → in-memory
// channel → filter) instead of the stand-in broker, and reports CPU and RSS of the Knative processes.
// A fresh control plane; prints markdown tables; writes bench/results/pipeline(-knative).json.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane, repoRoot } from '@pgfn/controlplane';
import { identityForServiceAccount, loadKustomization, LocalBroker, startPipeline, type TriggerManifest } from '@pgfn/pipeline';
import { sleep, waitUntil } from './lib/proc.js';
import { arg, fixed, machine, median, quantile, table, writeResult } from './lib/report.js';

const creates = Number(arg('creates', '20'));
const restarts = Number(arg('restarts', '3'));
const NAMESPACE = 'bench-pipeline';
const knative = process.argv.includes('--knative');

/** CPU seconds (user + system) and RSS (MiB) of processes, from /proc. */
function usage(pids: readonly number[]): { cpuS: number; rssMiB: number } {
  let ticks = 0;
  let rssKiB = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return { cpuS: ticks / 100, rssMiB: rssKiB / 1024 };
}

interface Arrival {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly at: number;
}

/** A subscriber that records arrival times; `failFirst` answers 503 to that many requests per path. */
async function recorder(failFirst: number): Promise<{ url: string; arrivals: Arrival[]; close: () => Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      arrivals.push({ path, headers: req.headers, at: performance.now() });
      const seen = arrivals.filter((a) => a.path === path).length;
      res.writeHead(seen <= failFirst ? 503 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, arrivals, close: () => new Promise((r) => server.close(() => r())) };
}

const trigger = (name: string, uri: string, delivery: TriggerManifest['spec']['delivery']): TriggerManifest => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: 'pgfn-system' },
  spec: { broker: 'pgfn', filters: [{ prefix: { type: 'dev.knative.apiserver.resource.' } }], subscriber: { uri }, delivery },
});

const info = machine();
const cp = await ControlPlane.start();
try {
  const crds = ['postgresql', 'operatorconfiguration', 'postgresteam'];
  await cp.kubectl(['apply', '--server-side', ...crds.flatMap((c) => ['-f', join(repoRoot, `crds/${c}.crd.yaml`)])]);
  await cp.waitForCrds(crds.map((c) => `${c}s.acid.zalan.do`));
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(cp.kubeconfig);
  await admin.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const custom = admin.makeApiClient(k8s.CustomObjectsApi);
  const dir = mkdtempSync(join(tmpdir(), 'pgfn-bench-pipeline-'));

  // Event latency and adapter restarts, through the shipped sources with their own ServiceAccount's rights.
  const sink = await recorder(0);
  const identity = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system', {
    admin,
    dir,
    manifests: loadKustomization(),
  });
  const pipeline = await startPipeline({
    kubeconfig: cp.kubeconfig,
    adapterKubeconfig: identity.file,
    logDir: join(dir, 'logs'),
    functions: {},
    schedulePings: false,
    extraTriggers: [trigger('bench-recorder', `${sink.url}/`, { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.05S' })],
    ...(knative ? { knative: { kubeconfig: cp.kubeconfig } } : {}),
  });
  const knativeChildren = [...(pipeline.knative?.controllers.children ?? []), ...(pipeline.knative?.dataPlane.children ?? [])];
  const knativePids = knativeChildren.map((c) => c.pid);
  const knativeNames = knativeChildren.map((c) => c.name.replace(/^knative /, '')).join(', ');
  const idleStart = usage(knativePids);
  await sleep(knative ? 10_000 : 0);
  const idleEnd = usage(knativePids);
  const idle = { cpuPercent: ((idleEnd.cpuS - idleStart.cpuS) / 10) * 100, rssMiB: idleEnd.rssMiB };
  let busy = { cpuS: 0, rssMiB: 0 };
  const latencies: number[] = [];
  const restartMs: number[] = [];
  try {
    const arrived = (name: string): Arrival | undefined =>
      sink.arrivals.find((a) => a.headers['ce-name'] === name && a.headers['ce-type'] === 'dev.knative.apiserver.resource.add');
    const createAndWait = async (name: string): Promise<number> => {
      const started = performance.now();
      await custom.createNamespacedCustomObject({
        group: 'acid.zalan.do',
        version: 'v1',
        plural: 'postgresqls',
        namespace: NAMESPACE,
        body: {
          apiVersion: 'acid.zalan.do/v1',
          kind: 'postgresql',
          metadata: { name, namespace: NAMESPACE },
          spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '17' }, volume: { size: '1Gi' } },
        },
      });
      await waitUntil(`the add event of ${name}`, () => arrived(name) !== undefined, 30_000, 5);
      return (arrived(name)?.at ?? NaN) - started;
    };
    await createAndWait('acid-warmup');
    const before = usage(knativePids);
    for (let i = 0; i < creates; i++) latencies.push(await createAndWait(`acid-lat-${i}`));
    const after = usage(knativePids);
    busy = { cpuS: after.cpuS - before.cpuS, rssMiB: after.rssMiB };
    const adapter = pipeline.adapter('pgfn-resources');
    for (let i = 0; i < restarts; i++) {
      await adapter.kill();
      const started = performance.now();
      await adapter.restart();
      restartMs.push(performance.now() - started);
    }
  } finally {
    await pipeline.stop();
    await sink.close();
  }

  // Retry backoff: three 503s, then 200, with the exponential 50 ms policy.
  const flaky = await recorder(3);
  const broker = await LocalBroker.start({
    triggers: [trigger('bench-flaky', `${flaky.url}/flaky`, { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.05S' })],
    resolve: (dest) =>
      dest.uri === undefined
        ? undefined
        : { describe: dest.uri, acquire: () => Promise.resolve({ url: dest.uri ?? '', release: () => undefined }) },
  });
  let chosen: (number | undefined)[] = [];
  let gaps: number[] = [];
  try {
    const res = await fetch(broker.url, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'bench-1',
        'ce-source': 'bench',
        'ce-type': 'dev.knative.apiserver.resource.add',
        'content-type': 'application/json',
      },
      body: '{}',
    });
    if (res.status !== 202) throw new Error(`broker answered ${res.status}`);
    await broker.idle();
    await sleep(10);
    chosen = broker.deliveries()[0]?.attempts.map((a) => a.backoffMs) ?? [];
    const times = flaky.arrivals.map((a) => a.at);
    gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
  } finally {
    await broker.stop();
    await flaky.close();
  }

  const via = knative ? "Knative's own ingress → in-memory channel → filter" : 'the stand-in broker';
  console.log(`\nLocal event path through ${via}, ${creates} creates, ${restarts} adapter restarts, ${info['date'] as string}\n`);
  if (knative) {
    console.log(
      table(
        [`Knative processes (${knativeChildren.length}: ${knativeNames})`, 'CPU', 'RSS (MiB)'],
        [
          ['idle (10 s)', `${fixed(idle.cpuPercent)} %`, fixed(idle.rssMiB, 0)],
          [`during ${creates} creates`, `${fixed(busy.cpuS, 2)} CPU-s`, fixed(busy.rssMiB, 0)],
        ],
      ),
    );
    console.log('');
  }
  console.log(
    table(
      ['figure', 'median (ms)', 'p95 (ms)', 'max (ms)'],
      [
        [
          'postgresql created → add event at a subscriber',
          fixed(median(latencies)),
          fixed(quantile(latencies, 0.95)),
          fixed(Math.max(...latencies)),
        ],
        [
          'adapter restart() → watching again',
          fixed(median(restartMs), 0),
          fixed(quantile(restartMs, 0.95), 0),
          fixed(Math.max(...restartMs), 0),
        ],
      ],
    ),
  );
  console.log('');
  console.log(
    table(
      ['retry', 'backoff chosen (ms)', 'gap seen by the subscriber (ms)'],
      gaps.map((g, i) => [i + 1, chosen[i] ?? '—', fixed(g)]),
    ),
  );
  const file = writeResult(knative ? 'pipeline-knative' : 'pipeline', {
    machine: info,
    path: knative ? 'knative' : 'stand-in',
    ...(knative ? { knativeProcesses: { idle, duringCreates: busy } } : {}),
    eventLatencyMs: { creates, median: median(latencies), p95: quantile(latencies, 0.95), max: Math.max(...latencies), all: latencies },
    adapterRestartMs: restartMs,
    retry: { policy: 'exponential, PT0.05S, 3 × 503 then 200', chosenBackoffMs: chosen, gapsMs: gaps },
  });
  console.error(`wrote ${file}`);
} finally {
  await cp.stop();
}
