// The reconcile function's process: real clients wired into the handler, served on $PORT.
import { createCloudEventServer, createEmitter, createLogger, createMetrics, randomPassword } from '@pgfn/fn-runtime';
import { KubeClient, loadKubeConfig } from '@pgfn/kube';
import { realBuilder } from './builder-port.js';
import { createHandler } from './handler.js';
import { cachedLoader, configSourceFromEnv, loadOperatorConfig } from './operator-config.js';
import { syncRoles } from './role-sync.js';

const log = createLogger('reconcile');
const metrics = createMetrics('reconcile');
const kube = new KubeClient(loadKubeConfig(), (verb, kind) => metrics.apiRequests.inc({ verb, kind }));
const source = configSourceFromEnv();
const watched = process.env['WATCHED_NAMESPACE'];
// Plain node:http rather than the express app (app.ts, used by tests): express costs ~65 ms of cold start (ADR 0011).
const handle = createHandler({
  kube,
  builder: realBuilder,
  log,
  loadConfig: cachedLoader(() => loadOperatorConfig(kube, source)),
  newPassword: () => randomPassword(),
  now: () => new Date(),
  emit: createEmitter(process.env['K_SINK'], 'pgfn/reconcile'),
  syncRoles: (cluster, config, pods, log) =>
    syncRoles(
      {
        kube,
        now: () => new Date(),
        newPassword: () => randomPassword(),
        sslmode: (process.env['PGSSLMODE'] as 'require' | 'prefer' | 'disable' | undefined) ?? 'require',
      },
      cluster,
      config,
      pods,
      log,
    ),
  watchedNamespace: watched === undefined || watched === '' || watched === '*' ? undefined : watched,
});
const port = Number(process.env['PORT'] ?? 8081);
const host = process.env['HOST'] ?? '0.0.0.0';
createCloudEventServer({ fn: 'reconcile', handle, log, metrics }).listen(port, host, () => log.info({ port, host }, 'reconcile listening'));
