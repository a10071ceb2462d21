// The local stack's monitoring and UI (npm run local): a real Prometheus with pgfn's rules, scraping
// through file-based discovery the functions while they run (they scale to zero, as on Knative), the
// UI's fleet metrics and one postgres_exporter per pod of the sample cluster (the sidecar's queries,
// run beside the node agent's real PostgreSQL); and the UI, reading as its own ServiceAccount.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ManagedProcess, freePort, repoRoot, type ControlPlane } from '@pgfn/controlplane';
import { Prometheus, startExporter, type RunningExporter } from '@pgfn/observe';
import { identityForServiceAccount, loadKustomization, type Pipeline } from '@pgfn/pipeline';

export interface LocalMonitoringOptions {
  readonly cp: ControlPlane;
  readonly dir: string;
  readonly pipeline: Pipeline;
  readonly admin: k8s.KubeConfig;
  readonly env: Readonly<Record<string, string>>;
}

export interface LocalMonitoring {
  readonly uiUrl: string;
  readonly prometheusUrl: string;
  /** Starts exporters for a cluster's pods (its superuser password from its Secret, as the sidecar gets it). */
  watchCluster(namespace: string, cluster: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startLocalMonitoring(o: LocalMonitoringOptions): Promise<LocalMonitoring> {
  const logDir = join(o.dir, 'logs', 'monitoring');
  mkdirSync(logDir, { recursive: true });
  const uiId = await identityForServiceAccount('pgfn-ui', 'pgfn-system', {
    admin: o.admin,
    dir: o.dir,
    manifests: loadKustomization(join(repoRoot, 'knative/ui')),
    expirationSeconds: 7 * 24 * 3600,
  });
  const uiPort = await freePort();
  const ui = new ManagedProcess({
    name: 'ui',
    logFile: join(logDir, 'ui.log'),
    command: process.execPath,
    args: ['--import', 'tsx', join(repoRoot, 'shared/ui/src/main.ts')],
    env: { ...process.env, ...o.env, KUBECONFIG: uiId.file, PORT: String(uiPort), HOST: '127.0.0.1', PGFN_UI_WRITE_IDENTITY: 'token' },
  });
  const uiUrl = `http://127.0.0.1:${uiPort}/`;
  await until(
    async () => (await fetch(`${uiUrl}healthz`).catch(() => undefined))?.ok === true,
    30_000,
    () => ui.tail(),
  );
  const prom = await Prometheus.start({ dir: join(o.dir, 'prometheus'), ruleFiles: [join(repoRoot, 'monitoring/rules/pgfn.rules.yaml')] });
  prom.setTargets('ui', [{ address: `127.0.0.1:${uiPort}`, labels: { job: 'pgfn-ui' } }]);
  const exporters: RunningExporter[] = [];
  const refresh = (): void => {
    const running = o.pipeline.supervisor.names.flatMap((fn) => {
      const url = o.pipeline.supervisor.runningUrl(fn);
      return url === undefined ? [] : [{ address: new URL(url).host, labels: { job: 'pgfn-functions', function: fn } }];
    });
    prom.setTargets('functions', running);
  };
  refresh();
  const timer = setInterval(refresh, 2000);
  const core = o.admin.makeApiClient(k8s.CoreV1Api);
  return {
    uiUrl,
    prometheusUrl: prom.url,
    async watchCluster(namespace, cluster) {
      const secret = await core.readNamespacedSecret({ namespace, name: `postgres.${cluster}.credentials.postgresql.acid.zalan.do` });
      const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString();
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `cluster-name=${cluster}` })).items;
      const started = await Promise.all(
        pods.map(async (pod) => {
          const name = pod.metadata?.name ?? '';
          const exporter = await startExporter({
            name,
            logDir,
            host: pod.status?.podIP ?? '',
            port: 5432,
            user: 'postgres',
            password,
            sslmode: 'require',
          });
          return {
            exporter,
            labels: { job: 'pgfn-postgres-exporter', namespace, cluster, pod: name, role: pod.metadata?.labels?.['spilo-role'] ?? '' },
          };
        }),
      );
      exporters.push(...started.map((s) => s.exporter));
      prom.setTargets(
        `exporters-${namespace}-${cluster}`,
        started.map((s) => ({ address: s.exporter.address, labels: s.labels })),
      );
      return started.length;
    },
    async stop() {
      clearInterval(timer);
      await prom.stop();
      await Promise.all(exporters.map((e) => e.stop()));
      await ui.stop();
    },
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready in ${timeoutMs} ms:\n${why()}`);
}
