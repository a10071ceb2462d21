// npm run bench:reconcile [-- --clusters N] [--cross-namespace]
// --cross-namespace: every cluster also has a user `<other namespace>.app_user` whose Secret lives in
// another namespace (enable_cross_namespace_secret); results go to bench/results/reconcile-cross-namespace.json.
// Reconcile latency for a new cluster (event in → every object applied, handler answered), and the
// Kubernetes API requests it costs, per new cluster and per no-op resync. A real control plane and
// the real reconcile app in this process. Prints a markdown table; writes bench/results/reconcile.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { ControlPlane, repoRoot } from '@pgfn/controlplane';
import { example, onKwok, pingEvent, resourceEvent, startReconcile } from '../test/reconcile/support.js';

const arg = process.argv.indexOf('--clusters');
const clusters = arg > 0 ? Number(process.argv[arg + 1]) : 100;
const crossNamespace = process.argv.includes('--cross-namespace');
const OTHER_NAMESPACE = 'bench-secrets';
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
};

const cp = await ControlPlane.start();
try {
  await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds/postgresql.crd.yaml')]);
  await cp.waitForCrds(['postgresqls.acid.zalan.do']);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const namespace = 'bench';
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  if (crossNamespace) await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: OTHER_NAMESPACE } } });
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const fn = await startReconcile(kc, namespace, { ...DEFAULT_OPERATOR_CONFIG, enableCrossNamespaceSecret: crossNamespace });
  const manifest = (name: string): Postgresql => {
    const pg = onKwok(example('minimal.yaml', namespace, name));
    return crossNamespace ? { ...pg, spec: { ...pg.spec, users: { ...pg.spec.users, [`${OTHER_NAMESPACE}.app_user`]: [] } } } : pg;
  };
  // Warm-up: discovery caches, TLS sessions, JIT.
  const warm: unknown = await custom.createNamespacedCustomObject({ ...PG, namespace, body: manifest('acid-warmup') });
  await fn.post(resourceEvent('add', warm as never));

  const latencies: number[] = [];
  const perCluster: number[] = [];
  const writesPerCluster: number[] = [];
  for (let i = 0; i < clusters; i++) {
    const pg: unknown = await custom.createNamespacedCustomObject({ ...PG, namespace, body: manifest(`acid-b${i}`) });
    fn.requests.reset();
    const t0 = performance.now();
    const res = await fn.post(resourceEvent('add', pg as never));
    latencies.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`reconcile of acid-b${i} answered ${res.status}`);
    perCluster.push([...fn.requests.counts.values()].reduce((a, b) => a + b, 0));
    writesPerCluster.push(fn.requests.writes());
  }
  // Two resyncs settle statuses (pods of kwok become ready meanwhile); the third is the no-op one.
  await fn.post(pingEvent());
  await fn.post(pingEvent());
  fn.requests.reset();
  const t0 = performance.now();
  await fn.post(pingEvent());
  const resyncMs = performance.now() - t0;
  const resyncRequests = [...fn.requests.counts.values()].reduce((a, b) => a + b, 0);
  const resyncWrites = fn.requests.writes();
  const byVerb = Object.fromEntries(fn.requests.counts);
  await fn.stop();

  const result = {
    clusters,
    crossNamespace,
    latencyMs: { median: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies) },
    requestsPerNewCluster: { median: quantile(perCluster, 0.5), writesMedian: quantile(writesPerCluster, 0.5) },
    noopResync: {
      clusters: clusters + 1,
      ms: resyncMs,
      requests: resyncRequests,
      requestsPerCluster: resyncRequests / (clusters + 1),
      writes: resyncWrites,
      byVerb,
    },
  };
  console.log('| measure | value |\n|---|---|');
  console.log(`| reconcile latency, new cluster, median (ms) | ${result.latencyMs.median.toFixed(1)} |`);
  console.log(`| reconcile latency, new cluster, p99 (ms) | ${result.latencyMs.p99.toFixed(1)} |`);
  const { median, writesMedian } = result.requestsPerNewCluster;
  console.log(`| API requests per new cluster (median) | ${median} (${writesMedian} writes) |`);
  console.log(`| no-op resync of ${clusters + 1} clusters (ms) | ${resyncMs.toFixed(0)} |`);
  console.log(`| API requests per cluster, no-op resync | ${result.noopResync.requestsPerCluster.toFixed(1)} |`);
  console.log(`| writes in the no-op resync | ${resyncWrites} |`);
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(join(repoRoot, `bench/results/reconcile${crossNamespace ? '-cross-namespace' : ''}.json`), JSON.stringify(result, null, 2));
} finally {
  await cp.stop();
}
