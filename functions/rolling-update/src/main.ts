// The rolling-update function's process: real clients wired into the handler, served on $PORT.
// Env: OPERATOR_NAMESPACE / POSTGRES_OPERATOR_CONFIGURATION_OBJECT / CONFIG_MAP_NAME (as reconcile),
// WATCHED_NAMESPACE, POD_TIMEOUT_SECONDS (default 300), POD_NAME (Lease identity; default host + pid).
import { hostname } from 'node:os';
import { createCloudEventServer, createEmitter, createLogger, createMetrics } from '@pgfn/fn-runtime';
import { KubeClient, loadKubeConfig, RestClient } from '@pgfn/kube';
import { PatroniClient } from '@pgfn/patroni';
import { createHandler } from './handler.js';
import { createClusterLease } from './lease.js';
import { conditionWriter, configLoader, eventRecorder } from './wiring.js';

const log = createLogger('rolling-update');
const metrics = createMetrics('rolling-update');
const kc = loadKubeConfig();
const kube = new KubeClient(kc, (verb, kind) => metrics.apiRequests.inc({ verb, kind }));
const now = (): Date => new Date();
const watched = process.env['WATCHED_NAMESPACE'];
const handle = createHandler({
  kube,
  patroni: new PatroniClient(),
  lease: createClusterLease(new RestClient(kc), {
    identity: process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`,
    durationSeconds: 90,
    now,
  }),
  loadConfig: configLoader(kube),
  writeConditions: conditionWriter(kube, now),
  recordEvent: eventRecorder(kube, now),
  emit: createEmitter(process.env['K_SINK'], 'pgfn/rolling-update'),
  now,
  podTimeoutMs: Number(process.env['POD_TIMEOUT_SECONDS'] ?? 300) * 1000,
  ...(watched === undefined || watched === '' || watched === '*' ? {} : { watchedNamespace: watched }),
});
const port = Number(process.env['PORT'] ?? 8081);
createCloudEventServer({ fn: 'rolling-update', handle, log, metrics }).listen(port, process.env['HOST'] ?? '0.0.0.0', () =>
  log.info({ port }, 'rolling-update listening'),
);
