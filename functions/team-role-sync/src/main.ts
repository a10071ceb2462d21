// The team-role-sync function's process: real clients wired into the handler createApp serves,
// listening on $PORT with fn-runtime's node:http receiver (same answers as the express app in
// app.ts, which tests drive; it starts faster — ADR 0011).
// Env: OPERATOR_NAMESPACE / POSTGRES_OPERATOR_CONFIGURATION_OBJECT / CONFIG_MAP_NAME (as reconcile),
// WATCHED_NAMESPACE, PGSSLMODE (default require), TEAMS_API_TIMEOUT_MS (default 10000).
import { createCloudEventServer, createEmitter, createLogger, createMetrics } from '@pgfn/fn-runtime';
import { KubeClient, loadKubeConfig } from '@pgfn/kube';
import type { SslMode } from '@pgfn/roles';
import { cachedLoader, configSourceFromEnv, loadOperatorConfig } from '../../reconcile/src/operator-config.js';
import { createHandler } from './handler.js';

const log = createLogger('team-role-sync');
const metrics = createMetrics('team-role-sync');
const kube = new KubeClient(loadKubeConfig(), (verb, kind) => metrics.apiRequests.inc({ verb, kind }));
const source = configSourceFromEnv();
const watched = process.env['WATCHED_NAMESPACE'];
const timeout = Number(process.env['TEAMS_API_TIMEOUT_MS'] ?? '');
const handle = createHandler({
  kube,
  loadConfig: cachedLoader(() => loadOperatorConfig(kube, source)),
  operatorNamespace: source.namespace,
  now: () => new Date(),
  emit: createEmitter(process.env['K_SINK'], 'pgfn/team-role-sync'),
  sslmode: (process.env['PGSSLMODE'] as SslMode | undefined) ?? 'require',
  ...(Number.isFinite(timeout) && timeout > 0 ? { teamsApi: { timeoutMs: timeout } } : {}),
  watchedNamespace: watched === undefined || watched === '' || watched === '*' ? undefined : watched,
});
const port = Number(process.env['PORT'] ?? 8081);
const host = process.env['HOST'] ?? '0.0.0.0';
createCloudEventServer({ fn: 'team-role-sync', handle, log, metrics }).listen(port, host, () =>
  log.info({ port, host }, 'team-role-sync listening'),
);
