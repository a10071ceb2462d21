// The pipeline's Knative path (`startPipeline({ knative })`, `npm run local -- --knative`): knative/'s
// Broker, Triggers, ApiServerSources and PingSources applied after Knative's own defaulting, reconciled
// by Knative's controllers, and every event carried by Knative's ingress → in-memory channel → filter to
// the subscribers. The receive adapters run with the environment Knative's controller wrote into their
// Deployments; Knative's own adapter (mtping) fires the PingSources into the ingress. Knative Serving
// does not run here: the proxy hands a Knative Service's cluster name to the function supervisor (the
// activator's stand-in) or to the local dead-letter sink. knative/'s SinkBinding is reconciled by
// Knative's own SinkBinding reconciler, which patches K_SINK into the functions' Services; the functions
// are started with what it wrote (ADR 0085). Knative's admission webhooks for Triggers are served
// locally (ADR 0105): a Trigger a user applies is defaulted and validated by Knative's own code first.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { ReceiveAdapter } from './adapter.js';
import type { ProxyTarget } from './host-proxy.js';
import { TriggerAdmission } from './knative-admission.js';
import { KnativeControllers } from './knative-controllers.js';
import { KnativeDataPlane } from './knative-data-plane.js';
import { applyObjects, type KubeObject } from './knative-objects.js';
import { publishServices } from './serving-stand-in.js';
import { defaultedOrThrow } from './knative-webhook.js';
import { ofKind, type ApiServerSourceManifest, type Manifest, type TriggerManifest } from './manifests.js';

export interface KnativePathOptions {
  /** Admin kubeconfig: installs Knative's CRDs and objects; the controllers run with it. */
  readonly kubeconfig: string;
  /** The ApiServerSources' identity for the adapters (in a cluster: their ServiceAccount). */
  readonly adapterKubeconfig: string;
  readonly logDir: string;
  readonly manifests: readonly Manifest[];
  /** Triggers to apply (those whose subscriber runs locally). */
  readonly triggers: readonly TriggerManifest[];
  readonly sources: readonly ApiServerSourceManifest[];
  /** Run Knative's PingSource adapter: knative/'s PingSources fire on their schedules (they are applied and Ready either way). */
  readonly pings: boolean;
  /** A Knative Service's cluster name → where it runs locally. */
  readonly services: (name: string, namespace: string) => Promise<ProxyTarget | undefined>;
}

export interface KnativePath {
  readonly controllers: KnativeControllers;
  readonly dataPlane: KnativeDataPlane;
  /** Knative's Trigger webhooks, served here and registered with the API server. */
  readonly admission: TriggerAdmission;
  readonly adapters: readonly ReceiveAdapter[];
  /** Where our Node functions post their events (they ignore HTTP_PROXY): the ingress on loopback. */
  readonly brokerUrl: string;
  /**
   * What Knative's SinkBinding reconciler wrote into each Service it binds (`<namespace>/<name>` →
   * K_SINK, K_CE_OVERRIDES), K_SINK turned into the loopback address our Node functions can reach.
   */
  readonly boundEnv: ReadonlyMap<string, Readonly<Record<string, string>>>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 120_000;

export async function startKnativePath(opts: KnativePathOptions): Promise<KnativePath> {
  const controllers = await KnativeControllers.start({ kubeconfig: opts.kubeconfig, logDir: opts.logDir });
  let dataPlane: KnativeDataPlane | undefined;
  let admission: TriggerAdmission | undefined;
  const adapters: ReceiveAdapter[] = [];
  const applied: KubeObject[] = [];
  let boundEnv: ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(adapters.map((a) => a.stop()));
    // What was applied goes again: the API server may be shared with tests that follow. A SinkBinding
    // holds a finalizer its reconciler removes (after unbinding its subjects): wait for that while it runs.
    const bindings = applied.filter((o) => o.kind === 'SinkBinding');
    await deleteObjects(opts.kubeconfig, bindings, true).catch(() => undefined);
    // A Trigger's Subscription leaves the Broker's channel only through Knative's finalizer: gone with
    // its dependents (foreground) while the controllers run, one at a time, since two Subscriptions
    // leaving at once can write the channel's list back with the other still on it (ADR 0151).
    const triggers = applied.filter((o) => o.kind === 'Trigger');
    await deleteTriggers(
      opts.kubeconfig,
      triggers.map((t) => ({ namespace: t.metadata.namespace ?? 'default', name: t.metadata.name })),
    );
    await deleteObjects(
      opts.kubeconfig,
      [...applied].reverse().filter((o) => o.kind !== 'SinkBinding' && o.kind !== 'Trigger'),
      false,
    ).catch(() => undefined);
    await admission?.stop();
    await dataPlane?.stop();
    await controllers.stop();
  };
  try {
    dataPlane = await KnativeDataPlane.start({
      kubeconfig: opts.kubeconfig,
      logDir: opts.logDir,
      services: opts.services,
      pings: opts.pings,
    });
    admission = await TriggerAdmission.start({ kubeconfig: opts.kubeconfig });
    await admission.checkStored();
    const services = (await defaultedOrThrow(ofKind(opts.manifests, 'serving.knative.dev', 'Service'))) as KubeObject[];
    const namespaces = opts.manifests.filter((m) => m.kind === 'Namespace') as KubeObject[];
    await applyObjects(opts.kubeconfig, namespaces);
    await publishServices(opts.kubeconfig, services);
    applied.push(...services);
    const eventing = (await defaultedOrThrow([
      ...ofKind(opts.manifests, 'eventing.knative.dev', 'Broker'),
      ...opts.triggers,
      ...opts.sources,
      ...ofKind(opts.manifests, 'sources.knative.dev', 'PingSource'),
      ...ofKind(opts.manifests, 'sources.knative.dev', 'SinkBinding'),
    ])) as KubeObject[];
    await applyObjects(opts.kubeconfig, eventing);
    applied.push(...eventing);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    // An ApiServerSource is Ready once its Deployment is Available, i.e. when kwok has run a pod that
    // stands for nothing: its adapter runs here, from the Deployment's env, whatever kwok does.
    for (const o of eventing) if (o.kind !== 'ApiServerSource') await waitReady(kc, o, controllers, dataPlane);
    await waitNoStaleSubscribers(kc);
    // Every SinkBinding is Ready: its reconciler has patched its subjects.
    const plane = dataPlane;
    boundEnv = await sinkBoundEnv(kc, services, (url) => plane.loopbackUrl(url) ?? url);
    for (const source of opts.sources) {
      const env = await deploymentEnv(kc, source);
      adapters.push(
        await ReceiveAdapter.start({
          source,
          sink: env['K_SINK'] ?? '',
          deploymentEnv: env,
          proxy: dataPlane.proxy.url,
          kubeconfig: opts.adapterKubeconfig,
          logFile: join(opts.logDir, `adapter-${source.metadata.name}.log`),
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    controllers,
    dataPlane,
    admission,
    adapters,
    brokerUrl: `${dataPlane.ingressUrl}/pgfn-system/pgfn`,
    boundEnv: boundEnv ?? new Map(),
    stop,
  };
}

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** Waits until Knative reports the object Ready (and its controllers and data plane still run). */
async function waitReady(kc: k8s.KubeConfig, o: KubeObject, controllers: KnativeControllers, dataPlane: KnativeDataPlane): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: Condition | undefined;
  for (;;) {
    const problem = controllers.check() ?? dataPlane.check();
    if (problem !== undefined) throw new Error(problem);
    const live = (await api.read({
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace ?? 'default' },
    })) as {
      status?: { conditions?: Condition[] };
    };
    last = live.status?.conditions?.find((c) => c.type === 'Ready');
    if (last?.status === 'True') return;
    if (Date.now() > deadline)
      throw new Error(`${o.kind} ${o.metadata.name} not Ready within ${READY_TIMEOUT_MS} ms: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The receive adapter container's environment from the Deployment Knative's controller made for the source. */
async function deploymentEnv(kc: k8s.KubeConfig, source: ApiServerSourceManifest): Promise<Record<string, string>> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const namespace = source.metadata.namespace ?? 'default';
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const list = await apps.listNamespacedDeployment({ namespace });
    const d = list.items.find((x) =>
      (x.metadata?.ownerReferences ?? []).some((r) => r.kind === 'ApiServerSource' && r.name === source.metadata.name),
    );
    const container = d?.spec?.template.spec?.containers.find((c) => c.name === 'receive-adapter');
    if (container !== undefined) {
      const env: Record<string, string> = {};
      for (const e of container.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
      }
      return env;
    }
    if (Date.now() > deadline) throw new Error(`Knative made no adapter Deployment for ApiServerSource ${source.metadata.name}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface TriggerList {
  readonly items: readonly { metadata: { name: string; namespace?: string; uid?: string } }[];
}

interface ChannelList {
  readonly items: readonly { metadata: { name: string }; spec?: { subscribers?: readonly { subscriberUri?: string }[] } }[];
}

/**
 * Waits until the Broker channels deliver to no Trigger that is gone. Knative removes a deleted
 * Trigger's subscriber from the channel through a finalizer. A file that deleted a Trigger and stopped
 * the controllers at once left its subscriber behind. Every event then waited for the 404s' retries
 * (about 15 s) on the synchronous InMemoryChannel, and the next file's updates came minutes late
 * (ADR 0151). Failing here says so.
 */
async function waitNoStaleSubscribers(kc: k8s.KubeConfig): Promise<void> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const deadline = Date.now() + STALE_SUBSCRIBER_WAIT_MS;
  for (;;) {
    const [channels, triggers] = await Promise.all([
      custom.listClusterCustomObject({ group: 'messaging.knative.dev', version: 'v1', plural: 'inmemorychannels' }) as Promise<ChannelList>,
      custom.listClusterCustomObject({ group: 'eventing.knative.dev', version: 'v1', plural: 'triggers' }) as Promise<TriggerList>,
    ]);
    const live = new Set(triggers.items.map((t) => `${t.metadata.namespace ?? ''}/${t.metadata.name}/${t.metadata.uid ?? ''}`));
    const stale = channels.items.flatMap((c) =>
      (c.spec?.subscribers ?? [])
        .map((sub) => /\/triggers\/([^/]+\/[^/]+\/[^/]+)$/.exec(sub.subscriberUri ?? '')?.[1])
        .filter((t): t is string => t !== undefined && !live.has(t))
        .map((t) => `${c.metadata.name} → ${t}`),
    );
    if (stale.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`Knative's channels still deliver to Triggers that are gone (channel → namespace/trigger/uid): ${stale.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const STALE_SUBSCRIBER_WAIT_MS = 60_000;

/**
 * Deletes Triggers one at a time, each after its Subscription (foreground, waited up to 60 s): call
 * it while Knative's controllers run, whose finalizer takes the subscriber off the channel (ADR 0151).
 * Best effort: a Trigger that cannot be deleted is left for the start-up check to report.
 */
export async function deleteTriggers(kubeconfig: string, triggers: readonly { namespace: string; name: string }[]): Promise<void> {
  for (const t of triggers) {
    await kubectlRun(binaries().kubectl, kubeconfig, [
      'delete',
      '--ignore-not-found',
      '--wait=true',
      '--timeout=60s',
      '--cascade=foreground',
      '-n',
      t.namespace,
      'trigger',
      t.name,
    ]).catch(() => '');
  }
}

async function deleteObjects(kubeconfig: string, objects: readonly KubeObject[], wait: boolean): Promise<void> {
  if (objects.length === 0) return;
  const yaml = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  const waiting = wait ? ['--wait=true', '--timeout=60s'] : ['--wait=false'];
  await kubectlRun(binaries().kubectl, kubeconfig, ['delete', '--ignore-not-found', ...waiting, '-f', '-'], yaml);
}

/** The variables a SinkBinding injects, as its reconciler wrote them into each Service's first container. */
const BOUND_VARIABLES = ['K_SINK', 'K_CE_OVERRIDES'];

async function sinkBoundEnv(
  kc: k8s.KubeConfig,
  services: readonly KubeObject[],
  localUrl: (url: string) => string,
): Promise<Map<string, Record<string, string>>> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const bound = new Map<string, Record<string, string>>();
  for (const svc of services) {
    const namespace = svc.metadata.namespace ?? 'default';
    const live = (await custom.getNamespacedCustomObject({
      group: 'serving.knative.dev',
      version: 'v1',
      namespace,
      plural: 'services',
      name: svc.metadata.name,
    })) as { spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } };
    const env = live.spec?.template?.spec?.containers?.[0]?.env ?? [];
    const vars = env.filter((e) => BOUND_VARIABLES.includes(e.name) && e.value !== undefined);
    if (vars.length === 0) continue;
    bound.set(
      `${namespace}/${svc.metadata.name}`,
      Object.fromEntries(vars.map((e) => [e.name, e.name === 'K_SINK' ? localUrl(e.value ?? '') : (e.value ?? '')])),
    );
  }
  return bound;
}
