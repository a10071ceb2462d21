// A cluster driven to Running by the real reconcile handler with kwok pods (Patroni's labels played by
// labelLikePatroni), and the UI served in-process against the test control plane.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { createUiApp, readFleet, registerFleetMetrics, type WriteIdentityMode } from '@pgfn/ui';
import { eventually, podsState } from '../support/kube.js';
import { kwokPodsRunning } from '../support/volumes.js';
import { example, labelLikePatroni, onKwok, podEvent, resourceEvent, type RunningReconcile } from '../reconcile/support.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

export interface KwokClusterOptions {
  readonly kc: k8s.KubeConfig;
  readonly reconcile: RunningReconcile;
  readonly namespace: string;
  readonly name: string;
}

/** Creates crds/examples/minimal.yaml as `name` (2 instances on kwok) and waits until its status is Running. */
export async function runningKwokCluster(o: KwokClusterOptions): Promise<Postgresql> {
  const custom = o.kc.makeApiClient(k8s.CustomObjectsApi);
  const created = (await custom.createNamespacedCustomObject({
    ...PG,
    namespace: o.namespace,
    body: onKwok(example('minimal.yaml', o.namespace, o.name)),
  })) as Postgresql & k8s.KubernetesObject;
  await o.reconcile.post(resourceEvent('add', created));
  await waitRunning(o);
  return (await custom.getNamespacedCustomObject({ ...PG, namespace: o.namespace, name: o.name })) as Postgresql;
}

/** Pods up (volumes bound by the test's provisioner), labelled as Patroni would, status Running. */
export async function waitRunning(o: KwokClusterOptions): Promise<void> {
  const custom = o.kc.makeApiClient(k8s.CustomObjectsApi);
  await eventually(`${o.name}: 2 Running kwok pods`, () => kwokPodsRunning(o.kc, o.namespace, `cluster-name=${o.name}`, 2), 90_000, 500);
  await labelLikePatroni(o.kc, o.namespace, o.name);
  await eventually(
    `${o.name}: status Running`,
    async () => {
      await o.reconcile.post(podEvent(o.namespace, o.name), 'structured');
      const c = (await custom.getNamespacedCustomObject({ ...PG, namespace: o.namespace, name: o.name })) as Postgresql;
      if (c.status?.PostgresClusterStatus === 'Running') return true;
      // Not yet: the status and the pods become the timeout's message if it never comes.
      const conditions = (c.status?.conditions ?? []).map((k) => `${k.type}=${k.status} ${k.reason ?? ''}`).join(', ');
      const pods = await podsState(o.kc, o.namespace, `cluster-name=${o.name}`);
      throw new Error(`status ${c.status?.PostgresClusterStatus ?? 'none'} (${conditions}); ${pods}`);
    },
    90_000,
    1000,
  );
}

export interface RunningUi {
  readonly url: string;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** The UI app on a free port: reads with `readConfig` (its ServiceAccount's in production), writes as `mode` says. */
export async function startUi(opts: {
  readConfig: k8s.KubeConfig;
  writeIdentity?: WriteIdentityMode;
  namespace?: string;
}): Promise<RunningUi> {
  const kube = new KubeClient(opts.readConfig);
  const loadConfig = () => Promise.resolve({ config: DEFAULT_OPERATOR_CONFIG, problems: [] as string[] });
  const fleet = () => readFleet({ kube, loadConfig, ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }) });
  const registry = new Registry();
  registry.setDefaultLabels({ fn: 'ui' });
  registerFleetMetrics(registry, fleet);
  const app = createUiApp({
    readFleet: fleet,
    readCluster: (namespace, name) =>
      kube.get<Postgresql & { kind: string }>({ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace, name }),
    loadConfig,
    baseConfig: opts.readConfig,
    writeIdentity: opts.writeIdentity ?? { mode: 'token' },
    registry,
    now: () => new Date(),
    secureCookies: false,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, registry, stop: () => new Promise<void>((r) => server.close(() => r())) };
}
