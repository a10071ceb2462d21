// pgfn-ui's process: reads with its ServiceAccount (KUBECONFIG or in-cluster), serves pages and the
// fleet metrics on $PORT.
import type { Postgresql } from '@pgfn/api';
import { cachedLoader, configSourceFromEnv, createLogger, loadOperatorConfig } from '@pgfn/fn-runtime';
import { KubeClient, loadKubeConfig } from '@pgfn/kube';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createUiApp } from './app.js';
import { registerFleetMetrics } from './fleet-metrics.js';
import { writeIdentityFromEnv } from './identity.js';
import { readFleet } from './read.js';

const env = process.env;
const log = createLogger('ui');
const baseConfig = loadKubeConfig(env);
const kube = new KubeClient(baseConfig);
const loadConfig = cachedLoader(() => loadOperatorConfig(kube, configSourceFromEnv(env)));
const namespace = env['WATCHED_NAMESPACE'] || undefined;
const fleet = () => readFleet({ kube, loadConfig, ...(namespace === undefined ? {} : { namespace }) });
const registry = new Registry();
registry.setDefaultLabels({ fn: 'ui' });
collectDefaultMetrics({ register: registry, prefix: 'pgfn_' });
registerFleetMetrics(registry, fleet);
const app = createUiApp({
  readFleet: fleet,
  readCluster: (ns, name) =>
    kube.get<Postgresql & { kind: string }>({ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace: ns, name }),
  loadConfig: () => loadConfig(10_000),
  baseConfig,
  writeIdentity: writeIdentityFromEnv(env),
  registry,
  now: () => new Date(),
  secureCookies: env['PGFN_UI_SECURE_COOKIES'] === 'true',
});
const port = Number(env['PORT'] ?? 8080);
const host = env['HOST'] ?? '0.0.0.0';
const server = app.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  log.info({ port: actual, host }, 'pgfn-ui listening');
  // The local stack reads this line for the UI's address.
  process.stdout.write(`PGFN_UI_URL=http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}/\n`);
});
