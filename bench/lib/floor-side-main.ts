// The floor of bench:convergence (issue 21) as its own process: no operator at all. Every cluster's
// objects are built by the builder before the clock starts (what `npm run render` prints, with real
// random passwords); on `go`, one client applies each cluster's objects (server-side apply, 16 at a
// time) and writes status Running once the cluster's pods are Ready with a labelled master — the least
// any operator must do, so what remains is the control plane's own cost. Driven over IPC by floor-side.ts.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, fromConfigMap, POSTGRESQL_KIND } from '@pgfn/api';
import { buildCluster, type KubeObject } from '@pgfn/builder';
import { KubeClient } from '@pgfn/kube';
import { example, onKwok } from '../../test/reconcile/support.js';
import { WorkQueue } from './helpers.js';

export interface FloorConfig {
  readonly namespace: string;
  readonly names: readonly string[];
  /** The flat operator ConfigMap both operators read. */
  readonly configMap: Readonly<Record<string, string>>;
}

export type FloorRequest = { readonly cmd: 'go' | 'stats' | 'stop'; readonly seq: number };

export interface FloorStats {
  readonly applied: number;
  readonly running: number;
  /** Requests the work queue retried (a status write before its manifest existed, a conflict). */
  readonly retried: number;
}

const config = JSON.parse(process.env['PGFN_BENCH_FLOOR'] ?? '{}') as FloorConfig;
const kc = new k8s.KubeConfig();
kc.loadFromDefault();
const kube = new KubeClient(kc);
const { config: operatorConfig } = fromConfigMap({ ...config.configMap });

const rendered = new Map<string, KubeObject[]>();
for (const name of config.names) {
  const built = buildCluster({
    cluster: onKwok(example('minimal.yaml', config.namespace, name)),
    config: operatorConfig,
    existingSecrets: new Map(),
    newPassword: () => randomBytes(24).toString('base64url'),
    now: new Date(),
  });
  if (built.objects.length === 0) throw new Error(`${name}: ${built.errors.map((e) => e.message).join('; ')}`);
  rendered.set(name, built.objects);
}

let applied = 0;
const running = new Set<string>();
const queue = new WorkQueue(16);
const instances = new Map<string, number>(
  config.names.map((n) => [n, Number((rendered.get(n)?.find((o) => o.kind === 'StatefulSet') as k8s.V1StatefulSet).spec?.replicas)]),
);

/** A cluster is Running when all its pods are Ready and one is labelled master (what status says upstream). */
function checkCluster(pods: Iterable<k8s.V1Pod>, name: string): void {
  if (running.has(name) || !instances.has(name)) return;
  const mine = [...pods].filter((p) => p.metadata?.labels?.['cluster-name'] === name);
  const ready = mine.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const masters = mine.filter((p) => p.metadata?.labels?.['spilo-role'] === 'master');
  if (ready.length !== instances.get(name) || masters.length !== 1) return;
  running.add(name);
  queue.add(`status/${name}`, async () => {
    const ref = { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: config.namespace, name };
    await kube.patchStatus(ref, { PostgresClusterStatus: 'Running' });
  });
}

const core = kc.makeApiClient(k8s.CoreV1Api);
const podStore = new Map<string, k8s.V1Pod>();
const informer = k8s.makeInformer<k8s.V1Pod>(
  kc,
  `/api/v1/namespaces/${config.namespace}/pods`,
  () => core.listNamespacedPod({ namespace: config.namespace, labelSelector: 'application=spilo' }),
  'application=spilo',
);
const seen = (pod: k8s.V1Pod): void => {
  podStore.set(pod.metadata?.name ?? '', pod);
  checkCluster(podStore.values(), pod.metadata?.labels?.['cluster-name'] ?? '');
};
informer.on('add', seen);
informer.on('update', seen);
informer.on('error', () =>
  setTimeout(() => {
    void informer.start().catch(() => undefined);
  }, 500),
);

function go(): void {
  for (const [name, objects] of rendered) {
    queue.add(`apply/${name}`, async () => {
      for (const o of objects) await kube.apply(o);
      applied++;
    });
  }
}

process.on('message', (raw) => {
  const msg = raw as FloorRequest;
  if (msg.cmd === 'go') {
    go();
    process.send?.({ seq: msg.seq });
  } else if (msg.cmd === 'stats') {
    process.send?.({ seq: msg.seq, stats: { applied, running: running.size, retried: queue.failures } satisfies FloorStats });
  } else {
    void informer.stop().then(
      () => process.send?.({ seq: msg.seq }),
      () => process.send?.({ seq: msg.seq }),
    );
  }
});
await informer.start();
process.send?.({ ready: true });
