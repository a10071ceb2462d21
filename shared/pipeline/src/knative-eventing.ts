// Knative Eventing's own controllers as local processes (issue 23, `npm run local -- --knative`):
// the eventing controller, the mt-broker controller and the in-memory channel controller, built by
// `bash hack/build-bins.sh knative-eventing`, reconciling Brokers, Triggers, channels and sources on the
// local API server. What a cluster provides around them is made here: Knative's CRDs, the config-*
// ConfigMaps of knative-eventing, and the Services, Endpoints and Deployments their readiness checks
// read. The API server refuses loopback Endpoints, so those name a documentation address (192.0.2.10)
// that nothing dials; kwok makes the Deployments Available.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { binaries, cacheDir, freePorts, kubectlRun, readVersions, repoRoot, takeExclusive } from '@pgfn/controlplane';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { Child } from './child.js';
import { installKnativeCrds } from './knative-crds.js';
import { SYSTEM_NAMESPACE } from './adapter.js';
import { HostProxy, type HostRoute, type ProxyTarget } from './host-proxy.js';

/** The processes of Knative's control plane run here (the data plane joins them in the same folder). */
export const EVENTING_BINARIES = ['controller', 'mtchannel-broker', 'imc-controller', 'channel_dispatcher', 'ingress', 'filter', 'mtping'];

/** The label of everything standing in for a process that runs locally (Services, Endpoints, Deployments and their pods). */
const PLACEHOLDER_SELECTOR = 'app.kubernetes.io/part-of=pgfn-local-knative';

/** A documentation-range address (RFC 5737) for Endpoints the API server must accept and nobody dials. */
export const PLACEHOLDER_IP = '192.0.2.10';

/** The folder of the cached Knative Eventing binaries (named by version and a hash of our thin mains). */
export function knativeEventingDir(): string {
  const v = readVersions()['KNATIVE_EVENTING_VERSION'] ?? '?';
  // The same key as build-bins.sh: every Go file of hack/knative-eventing/<dir>/, in path order.
  const root = join(repoRoot, 'hack/knative-eventing');
  const mains = readdirSync(root)
    .sort()
    .flatMap((d) =>
      readdirSync(join(root, d))
        .filter((f) => f.endsWith('.go'))
        .sort()
        .map((f) => readFileSync(join(root, d, f))),
    );
  const hash = createHash('sha256').update(Buffer.concat(mains)).digest('hex').slice(0, 12);
  const dir = join(cacheDir(), 'bin', `knative-eventing-${v}-${hash}`);
  const missing = EVENTING_BINARIES.filter((b) => !existsSync(join(dir, b)));
  if (missing.length > 0 || !existsSync(join(dir, 'config/.complete'))) {
    const what = missing.length > 0 ? missing.join(', ') : 'config';
    throw new Error(`Knative Eventing binaries missing in ${dir} (${what}); build them with: bash hack/build-bins.sh knative-eventing`);
  }
  return dir;
}

export interface KnativeControllersOptions {
  /** Admin kubeconfig: the controllers run with it (in a cluster: their ServiceAccounts). */
  readonly kubeconfig: string;
  readonly logDir: string;
  /** HTTP_PROXY for every Knative process (routes cluster DNS names to local ports). */
  readonly proxy?: string;
}

/** Knative's three controllers, running; `stop()` ends them. */
export class KnativeControllers {
  private constructor(
    readonly children: readonly Child[],
    private readonly keeper: PlaceholderKeeper,
  ) {}

  static async start(opts: KnativeControllersOptions): Promise<KnativeControllers> {
    await takeExclusive("Knative's controllers");
    const dir = knativeEventingDir();
    await installKnativeCrds(opts.kubeconfig);
    await applyObjects(opts.kubeconfig, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } },
      ...configMaps(join(dir, 'config')),
      ...placeholders(),
    ]);
    const children: Child[] = [];
    const run = async (binary: string, env: NodeJS.ProcessEnv): Promise<void> => {
      children.push(
        new Child({
          name: `knative ${binary}`,
          logFile: join(opts.logDir, `knative-${binary}.log`),
          command: join(dir, binary),
          args: [`--kubeconfig=${opts.kubeconfig}`, '--disable-ha'],
          env: { ...(await processEnv(binary, opts.proxy)), ...env },
        }),
      );
    };
    try {
      await run('controller', { APISERVER_RA_IMAGE: 'pgfn.local/apiserver-receive-adapter', AUTH_PROXY_IMAGE: 'pgfn.local/auth-proxy' });
      await run('mtchannel-broker', {});
      await run('imc-controller', { DISPATCHER_IMAGE: 'pgfn.local/imc-dispatcher', WEBHOOK_NAME: 'inmemorychannel-webhook' });
    } catch (err) {
      await Promise.all(children.map((c) => c.stop()));
      throw err;
    }
    return new KnativeControllers(children, new PlaceholderKeeper(opts.kubeconfig));
  }

  /** Whether every controller still runs; the log tail of one that exited otherwise. */
  check(): string | undefined {
    const dead = this.children.find((c) => !c.running);
    return dead === undefined ? undefined : `${dead.name} exited:\n${dead.tail(30)}`;
  }

  async stop(): Promise<void> {
    await this.keeper.stop();
    await Promise.all(this.children.map((c) => c.stop()));
  }
}

/**
 * Keeps the placeholder Deployments Available. When kwok's node misses its heartbeats on a busy machine,
 * the node lifecycle controller marks its pods not Ready, and kwok never marks them Ready again (a
 * kubelet would, its containers being fine); Knative then reports the PingSources and channels not
 * Ready although their processes run here. A placeholder pod found not Ready is deleted: its ReplicaSet
 * makes another, which kwok runs.
 */
class PlaceholderKeeper {
  private readonly timer: NodeJS.Timeout;
  private busy: Promise<void> = Promise.resolve();

  constructor(kubeconfig: string) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const sweep = async (): Promise<void> => {
      const pods = await core.listNamespacedPod({ namespace: SYSTEM_NAMESPACE, labelSelector: PLACEHOLDER_SELECTOR });
      const stale = pods.items.filter(
        (p) => p.metadata?.deletionTimestamp === undefined && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'),
      );
      for (const p of stale) await core.deleteNamespacedPod({ namespace: SYSTEM_NAMESPACE, name: p.metadata?.name ?? '' });
    };
    this.timer = setInterval(() => {
      this.busy = this.busy.then(sweep).catch(() => undefined);
    }, 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }
}

export interface KnativeDataPlaneOptions {
  readonly kubeconfig: string;
  readonly logDir: string;
  /** Where a Knative Service's cluster name goes (`<name>.<namespace>.svc.cluster.local`), or undefined. */
  readonly services?: (name: string, namespace: string) => Promise<ProxyTarget | undefined>;
  /** Other host names (a user's own `uri` subscribers, for instance). */
  readonly hosts?: HostRoute;
  /** Run Knative's PingSource adapter (mtping), firing every Ready PingSource on its schedule. Default true. */
  readonly pings?: boolean;
}

/**
 * Knative's data plane as local processes: broker ingress and filter, the in-memory channel dispatcher,
 * the PingSource adapter (mtping), and the host-routing proxy every one of them (and the controllers) sends through.
 * `ingressUrl` is the ingress's loopback address: senders that ignore HTTP_PROXY (our Node functions)
 * post there, `<ingressUrl>/<namespace>/<broker>`.
 */
export class KnativeDataPlane {
  private constructor(
    readonly proxy: HostProxy,
    readonly children: readonly Child[],
    readonly ingressUrl: string,
  ) {}

  static async start(opts: KnativeDataPlaneOptions): Promise<KnativeDataPlane> {
    await takeExclusive("Knative's data plane");
    const dir = knativeEventingDir();
    const [ingress, ingressTls, filter, filterTls, dispatcher, dispatcherTls] = await takePorts(6);
    const local = (port: number | undefined): ProxyTarget => ({ url: `http://127.0.0.1:${port ?? 0}` });
    const proxy = await HostProxy.start(async (host) => {
      if (host === `broker-ingress.${SYSTEM_NAMESPACE}.svc.cluster.local`) return local(ingress);
      if (host === `broker-filter.${SYSTEM_NAMESPACE}.svc.cluster.local`) return local(filter);
      if (host === `imc-dispatcher.${SYSTEM_NAMESPACE}.svc.cluster.local`) return local(dispatcher);
      const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
      if (m?.[1]?.endsWith('-kn-channel')) return local(dispatcher);
      if (m?.[1] !== undefined && m[2] !== undefined && opts.services !== undefined) {
        const svc = await opts.services(m[1], m[2]);
        if (svc !== undefined) return svc;
      }
      return opts.hosts?.(host);
    });
    const children: Child[] = [];
    try {
      const run = async (binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<Child> => {
        const child = new Child({
          name: `knative ${binary}`,
          logFile: join(opts.logDir, `knative-${binary}.log`),
          command: join(dir, binary),
          args: [`--kubeconfig=${opts.kubeconfig}`, ...args],
          env: { ...(await processEnv(binary, proxy.url)), KUBECONFIG: opts.kubeconfig, ...env },
        });
        children.push(child);
        return child;
      };
      const waits = [
        [
          await run('channel_dispatcher', ['--disable-ha'], {
            MAX_IDLE_CONNS: '1000',
            MAX_IDLE_CONNS_PER_HOST: '1000',
            IMC_DISPATCHER_PORT: String(dispatcher),
            IMC_DISPATCHER_PORT_HTTPS: String(dispatcherTls),
          }),
          dispatcher,
        ],
        [
          await run('ingress', [], { NAMESPACE: SYSTEM_NAMESPACE, INGRESS_PORT: String(ingress), INGRESS_PORT_HTTPS: String(ingressTls) }),
          ingress,
        ],
        [
          await run('filter', [], { NAMESPACE: SYSTEM_NAMESPACE, FILTER_PORT: String(filter), FILTER_PORT_HTTPS: String(filterTls) }),
          filter,
        ],
      ] as const;
      for (const [child, port] of waits) await waitListening(child, port ?? 0, 60_000);
      // mtping listens on nothing of its own: it watches PingSources and sends to their status.sinkUri.
      // K_NO_SHUTDOWN_AFTER=59: stop at once (upstream delays a stop late in a minute to not miss a tick).
      if (opts.pings ?? true)
        await run('mtping', ['--disable-ha'], { NAMESPACE: SYSTEM_NAMESPACE, K_NO_SHUTDOWN_AFTER: '59', K_SINK_TIMEOUT: '-1' });
    } catch (err) {
      await Promise.all(children.map((c) => c.stop()));
      await proxy.stop();
      throw err;
    }
    return new KnativeDataPlane(proxy, children, `http://127.0.0.1:${ingress ?? 0}`);
  }

  check(): string | undefined {
    const dead = this.children.find((c) => !c.running);
    return dead === undefined ? undefined : `${dead.name} exited:\n${dead.tail(30)}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
    await this.proxy.stop();
  }
}

/** The environment Knative's Deployments give every process, with a free profiling port and the proxy. */
async function processEnv(container: string, proxy: string | undefined): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    SYSTEM_NAMESPACE,
    POD_NAME: `${container}-local`,
    CONTAINER_NAME: container,
    CONFIG_LOGGING_NAME: 'config-logging',
    CONFIG_OBSERVABILITY_NAME: 'config-observability',
    METRICS_DOMAIN: 'knative.dev/eventing',
    // sharedmain's profiling server defaults to 8008, Patroni's REST port
    PROFILING_PORT: String((await takePorts(1))[0]),
    ...(proxy === undefined ? {} : { HTTP_PROXY: proxy, http_proxy: proxy }),
  };
}

/** Ports handed to Knative processes and maybe not bound yet: never handed out twice. */
const handedOut = new Set<number>();

/** Free ports none of our other Knative processes was given (a process binds its ports a while later). */
async function takePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const [port] = await freePorts(1);
    if (port === undefined || handedOut.has(port)) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

async function waitListening(child: Child, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running) throw new Error(`${child.name} exited while starting:\n${child.tail(20)}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${child.name} did not listen on ${port} within ${timeoutMs} ms:\n${child.tail(20)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Knative Services as the resolver sees them: stored (after Knative's defaulting) with the address
 * Serving would give them, `http://<name>.<namespace>.svc.cluster.local`. Serving does not run here;
 * the local proxy routes that name to the process standing in for the Service.
 */
export async function publishServices(kubeconfig: string, services: readonly KubeObject[]): Promise<void> {
  const kubectl = binaries().kubectl;
  await applyObjects(kubeconfig, services);
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const url = `http://${svc.metadata.name}.${ns}.svc.cluster.local`;
    const status = { status: { url, address: { url }, conditions: [{ type: 'Ready', status: 'True' }] } };
    await kubectlRun(kubectl, kubeconfig, [
      'patch',
      '-n',
      ns,
      'services.serving.knative.dev',
      svc.metadata.name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
  }
}

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

function configMaps(dir: string): KubeObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as KubeObject | null))
    .filter((o): o is KubeObject => o?.kind === 'ConfigMap')
    .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: SYSTEM_NAMESPACE } }));
}

/** Services, Endpoints and Deployments Knative's readiness checks read, for processes that run locally instead. */
function placeholders(): KubeObject[] {
  const labels = { 'app.kubernetes.io/part-of': 'pgfn-local-knative' };
  const service = (name: string): KubeObject[] => [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
      subsets: [{ addresses: [{ ip: PLACEHOLDER_IP }], ports: [{ name: 'http', port: 8080 }] }],
    },
  ];
  const deployment = (name: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: {
          // kwok runs it (the real process runs locally); it only has to be Available
          nodeSelector: { type: 'kwok' },
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name, image: `pgfn.local/${name}` }],
        },
      },
    },
  });
  return [
    ...service('broker-ingress'),
    ...service('broker-filter'),
    ...service('imc-dispatcher'),
    deployment('imc-dispatcher'),
    deployment('pingsource-mt-adapter'),
  ];
}

export async function applyObjects(kubeconfig: string, objects: readonly KubeObject[]): Promise<void> {
  const yaml = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  await kubectlRun(
    binaries().kubectl,
    kubeconfig,
    ['apply', '--server-side', '--force-conflicts', '--field-manager=pgfn-local-knative', '-f', '-'],
    yaml,
  );
}
