import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, repoRoot } from '@pgfn/controlplane';
import { ReceiveAdapter } from './adapter.js';
import { LocalBroker, type Destination, type DeliveryRecord, type ResolveDestination } from './broker.js';
import type { DestinationSpec } from './delivery.js';
import {
  FUNCTION_LABEL,
  KNATIVE_DIR,
  ROLE_LABEL,
  apiServerSourcesOf,
  knativeServicesOf,
  loadKustomization,
  ofKind,
  pingSourcesOf,
  triggersOf,
  type KnativeServiceManifest,
  type Manifest,
  type TriggerManifest,
} from './manifests.js';
import { installKnativeCrds } from './knative-crds.js';
import { boundVariables, type SinkBindingManifest } from './sink-binding.js';
import { LocalPings } from './ping.js';
import { scalingOf, type Scaling } from './scaling.js';
import { FunctionSupervisor, type FunctionProcessSpec } from './supervisor.js';
import { TriggerWatch } from './trigger-watch.js';
import { ServiceWatch } from './service-watch.js';
import { serviceOfHost } from './serving-stand-in.js';
import type { ProxyTarget } from './host-proxy.js';
import { startKnativePath, type KnativePath } from './knative-path.js';
import { toBinaryHeaders, type WireEvent } from './wire-event.js';

/** Where the pgfn Broker and its Triggers live (knative/broker.yaml). */
export const BROKER_NAMESPACE = 'pgfn-system';

export interface PipelineOptions {
  /** Kubeconfig the functions use (and the adapters, unless adapterKubeconfig is given). */
  readonly kubeconfig: string;
  /** Kubeconfig the receive adapters watch with, e.g. one for the sources' ServiceAccount. */
  readonly adapterKubeconfig?: string;
  /** Logs: broker.jsonl, one file per adapter and per function. Created if missing. */
  readonly logDir: string;
  /**
   * pgfn functions to run as processes, by function name (the pgfn.dev/function label of their
   * Knative Service). `true` runs `node --import tsx hack/run-fn.ts <fn>`. Default: every function of
   * the manifests whose functions/<fn>/src/main.ts exists.
   */
  readonly functions?: Readonly<Record<string, FunctionProcessSpec | true>>;
  /** URLs for other Knative Services a Trigger names (users' own functions), by Service name. */
  readonly subscribers?: Readonly<Record<string, string>>;
  /** Where the manifests come from (default: the repository's knative/ kustomization). */
  readonly manifests?: readonly Manifest[];
  /** Triggers added to those of the manifests (tests, extra local subscribers). */
  readonly extraTriggers?: readonly TriggerManifest[];
  /**
   * Also route the Triggers users apply to the API server in the Broker's namespace (pgfn-system), each
   * defaulted and validated by Knative's own webhook code, its status written back. The kubeconfig must
   * be admin: Knative's CRDs are installed with it.
   */
  readonly triggersFromApi?: { readonly kubeconfig: string; readonly namespace?: string };
  /**
   * Run Knative Eventing's own controllers and data plane instead of the stand-in broker (issue 23):
   * knative/'s Broker, Triggers and ApiServerSources are applied (after Knative's defaulting) with this
   * admin kubeconfig and reconciled by Knative; events travel ingress → in-memory channel → filter.
   * knative/'s PingSources too: Knative's adapter (mtping) fires them when `schedulePings` is on, and
   * `pipeline.pings.fire(name)` posts the same event to Knative's ingress on demand.
   */
  readonly knative?: { readonly kubeconfig: string };
  /** ApiServerSources to run: all (default), none (false) or these names. */
  readonly sources?: boolean | readonly string[];
  /** Fire PingSources on their schedules (default true; on the Knative path by mtping); `pipeline.pings.fire(name)` works either way. */
  readonly schedulePings?: boolean;
  /**
   * How long an idle function instance stays, for every function (tests, benchmarks). Default: what each
   * Service's annotations say (scalingOf), which also give min-scale, max-scale, containerConcurrency and
   * timeoutSeconds.
   */
  readonly idleMs?: number;
  readonly brokerPort?: number;
  readonly onDelivery?: (record: DeliveryRecord) => void;
}

export interface Pipeline {
  readonly brokerUrl: string;
  readonly broker: LocalBroker;
  readonly supervisor: FunctionSupervisor;
  readonly adapters: readonly ReceiveAdapter[];
  readonly pings: LocalPings;
  /** Present with `triggersFromApi`. */
  readonly triggerWatch?: TriggerWatch;
  /** Present with `knative`: Knative's processes. */
  readonly knative?: KnativePath;
  adapter(name: string): ReceiveAdapter;
  stop(): Promise<void>;
}

/**
 * The whole local event path: receive adapters → broker (our Triggers) → functions started on demand,
 * plus our PingSources. Everything binds 127.0.0.1 on free ports; `stop()` ends every process.
 */
export async function startPipeline(opts: PipelineOptions): Promise<Pipeline> {
  mkdirSync(opts.logDir, { recursive: true });
  const manifests = opts.manifests ?? loadKustomization(KNATIVE_DIR);
  const services = knativeServicesOf(manifests);
  const brokerPort = opts.brokerPort ?? (await freePort());
  let brokerUrl = `http://127.0.0.1:${brokerPort}`;
  // Read by the supervisor at each spawn. K_SINK comes from knative/'s SinkBindings (ADR 0085): on the
  // stand-in path read here (the Broker is the local broker), on the Knative path as Knative's own
  // SinkBinding reconciler wrote it into each Service.
  const functionEnv: Record<string, string> = { KUBECONFIG: opts.kubeconfig };
  const bindings = ofKind<SinkBindingManifest>(manifests, 'sources.knative.dev', 'SinkBinding');
  const standInSink = (sink: DestinationSpec): string | undefined =>
    sink.uri ?? (sink.ref?.kind === 'Broker' && sink.ref.name === 'pgfn' ? brokerUrl : undefined);
  const specs = functionSpecs(opts.functions, services, opts.idleMs);
  if (opts.knative === undefined)
    for (const [fn, spec] of Object.entries(specs)) {
      const svc = services.find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
      const bound = svc === undefined ? {} : boundVariables(bindings, svc, standInSink);
      specs[fn] = { ...spec, env: { ...bound, ...spec.env } };
    }
  const supervisor = new FunctionSupervisor({
    functions: specs,
    logDir: opts.logDir,
    env: functionEnv,
  });
  // Knative Services users apply in any namespace (with triggersFromApi or knative), run by the supervisor when
  // their image has a local equivalent.
  let serviceWatch: ServiceWatch | undefined;
  const userService = (name: string, namespace: string): string | undefined => serviceWatch?.functionOf(name, namespace);
  const resolve = resolver({ services, supervisor, subscribers: opts.subscribers ?? {}, userService });
  const triggers = [...triggersOf(manifests), ...(opts.extraTriggers ?? [])];
  // On the Knative path the stand-in routes nothing: it only serves as the local dead-letter sink.
  const broker = await LocalBroker.start({
    triggers: opts.knative === undefined ? triggers : [],
    resolve,
    port: brokerPort,
    logFile: join(opts.logDir, 'broker.jsonl'),
    ...(opts.onDelivery === undefined ? {} : { onDelivery: opts.onDelivery }),
  });
  const adapters: ReceiveAdapter[] = [];
  let knative: KnativePath | undefined;
  const publish = (e: WireEvent): void => (knative === undefined ? broker.publish(e) : void postEvent(knative.brokerUrl, e));
  const pings = new LocalPings(pingSourcesOf(manifests), publish);
  let triggerWatch: TriggerWatch | undefined;
  const stop = async (): Promise<void> => {
    pings.stop();
    await triggerWatch?.stop();
    await serviceWatch?.stop();
    await Promise.all(adapters.map((a) => a.stop()));
    await knative?.stop();
    await broker.stop();
    await supervisor.stop();
  };
  const wanted = opts.sources ?? true;
  const sources = apiServerSourcesOf(manifests).filter(
    (source) => wanted === true || (Array.isArray(wanted) && wanted.includes(source.metadata.name)),
  );
  try {
    if (opts.knative !== undefined) {
      knative = await startKnativePath({
        kubeconfig: opts.knative.kubeconfig,
        adapterKubeconfig: opts.adapterKubeconfig ?? opts.kubeconfig,
        logDir: opts.logDir,
        manifests,
        // Triggers whose subscriber runs here; the stand-in leaves out the same ones.
        triggers: triggers.filter((t) => {
          const ns = t.metadata.namespace ?? 'default';
          const dls = t.spec.delivery?.deadLetterSink;
          return resolve(t.spec.subscriber, ns, broker) !== undefined && (dls === undefined || resolve(dls, ns, broker) !== undefined);
        }),
        sources,
        pings: opts.schedulePings ?? true,
        services: serviceTarget({ services, supervisor, broker, subscribers: opts.subscribers ?? {}, userService }),
      });
      adapters.push(...knative.adapters);
      brokerUrl = knative.brokerUrl;
      bindSinks(supervisor, services, knative.boundEnv);
    }
    const admin = opts.triggersFromApi?.kubeconfig ?? opts.knative?.kubeconfig;
    if (admin !== undefined) {
      await installKnativeCrds(admin);
      const path = knative;
      serviceWatch = await ServiceWatch.start({
        kubeconfig: admin,
        supervisor,
        onChange: () => triggerWatch?.resync(),
        ...(path === undefined
          ? { bound: (svc: KnativeServiceManifest) => boundVariables(bindings, svc, standInSink) }
          : { localUrl: (url: string) => path.dataPlane.loopbackUrl(url) }),
      });
    }
    if (opts.triggersFromApi !== undefined) {
      triggerWatch = await TriggerWatch.start({
        kubeconfig: opts.triggersFromApi.kubeconfig,
        namespace: opts.triggersFromApi.namespace ?? BROKER_NAMESPACE,
        broker,
        onChange: (change) =>
          appendFileSync(join(opts.logDir, 'broker.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), trigger: change })}\n`),
      });
    }
    for (const source of knative === undefined ? sources : []) {
      adapters.push(
        await ReceiveAdapter.start({
          source,
          sink: brokerUrl,
          kubeconfig: opts.adapterKubeconfig ?? opts.kubeconfig,
          logFile: join(opts.logDir, `adapter-${source.metadata.name}.log`),
        }),
      );
    }
    await supervisor.startMinimum();
    // On the Knative path Knative's mtping fires the schedules; the stand-in only fires on demand.
    if ((opts.schedulePings ?? true) && knative === undefined) pings.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    brokerUrl,
    broker,
    supervisor,
    adapters,
    pings,
    ...(triggerWatch === undefined ? {} : { triggerWatch }),
    ...(knative === undefined ? {} : { knative }),
    stop,
    adapter: (name) => {
      const a = adapters.find((x) => x.name === name);
      if (a === undefined) throw new Error(`no adapter for ApiServerSource ${name} (running: ${adapters.map((x) => x.name).join(', ')})`);
      return a;
    },
  };
}

/** Which function processes to run, with the environment (the Service's literal env values) and scaling of their Services. */
function functionSpecs(
  wanted: PipelineOptions['functions'],
  services: readonly KnativeServiceManifest[],
  idleMs: number | undefined,
): Record<string, FunctionProcessSpec> {
  const serviceOf = (fn: string): KnativeServiceManifest | undefined => services.find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
  const scaling = (fn: string): Partial<Scaling> => {
    const svc = serviceOf(fn);
    const own = svc === undefined ? {} : scalingOf(svc);
    return { ...own, ...(idleMs === undefined ? {} : { idleMs }) };
  };
  const envOf = (fn: string): Record<string, string> => {
    const svc = serviceOf(fn);
    const env = svc?.spec.template.spec.containers[0]?.env ?? [];
    return Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']));
  };
  const names =
    wanted !== undefined
      ? Object.keys(wanted)
      : services
          .map((s) => s.metadata.labels?.[FUNCTION_LABEL])
          .filter((fn): fn is string => fn !== undefined && existsSync(join(repoRoot, 'functions', fn, 'src/main.ts')));
  return Object.fromEntries(
    names.map((fn) => {
      const spec = wanted?.[fn];
      const given = spec === undefined || spec === true ? {} : spec;
      return [fn, { ...given, env: { ...envOf(fn), ...given.env }, scaling: { ...scaling(fn), ...given.scaling } }];
    }),
  );
}

/** Each function started with what Knative's SinkBinding reconciler wrote into its Service (K_SINK, K_CE_OVERRIDES). */
function bindSinks(
  supervisor: FunctionSupervisor,
  services: readonly KnativeServiceManifest[],
  boundEnv: ReadonlyMap<string, Readonly<Record<string, string>>>,
): void {
  for (const svc of services) {
    const fn = svc.metadata.labels?.[FUNCTION_LABEL];
    const spec = fn === undefined ? undefined : supervisor.spec(fn);
    const bound = boundEnv.get(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`);
    if (fn === undefined || spec === undefined || bound === undefined) continue;
    supervisor.add(fn, { ...spec, env: { ...bound, ...spec.env } });
  }
}

interface ServiceTargetOptions {
  readonly services: readonly KnativeServiceManifest[];
  readonly supervisor: FunctionSupervisor;
  readonly broker: LocalBroker;
  readonly subscribers: Readonly<Record<string, string>>;
  /** The supervisor's function for a Service a user applied, if it runs here. */
  readonly userService: (name: string, namespace: string) => string | undefined;
}

/** A Knative Service's cluster name → its local stand-in (the proxy's route on the Knative path). */
function serviceTarget({
  services,
  supervisor,
  broker,
  subscribers,
  userService,
}: ServiceTargetOptions): (name: string, namespace: string) => Promise<ProxyTarget | undefined> {
  return async (name, namespace) => {
    const svc = services.find((s) => s.metadata.name === name && (s.metadata.namespace ?? 'default') === namespace);
    if (svc?.metadata.labels?.[ROLE_LABEL] === 'dead-letter') return { url: broker.deadLetterUrl };
    const fn = svc?.metadata.labels?.[FUNCTION_LABEL] ?? (svc === undefined ? userService(name, namespace) : undefined);
    if (fn !== undefined && supervisor.has(fn)) {
      const lease = await supervisor.acquire(fn);
      return { url: lease.url, release: (responded) => lease.release(responded) };
    }
    const url = subscribers[name];
    return url === undefined ? undefined : { url };
  };
}

/** Posts an event in binary mode (pings on the Knative path go to its ingress, as PingSource's adapter sends them). */
async function postEvent(url: string, event: WireEvent): Promise<void> {
  await fetch(url, { method: 'POST', headers: toBinaryHeaders(event), body: event.data }).catch(() => undefined);
}

/** The Service a `http://<name>.<namespace>.svc.cluster.local[/]` URI addresses, else undefined. */
function serviceAtUri(uri: string): { readonly name: string; readonly namespace: string } | undefined {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && (url.pathname === '/' || url.pathname === '') ? serviceOfHost(url.hostname) : undefined;
  } catch {
    return undefined;
  }
}

interface ResolverOptions {
  readonly services: readonly KnativeServiceManifest[];
  readonly supervisor: FunctionSupervisor;
  readonly subscribers: Readonly<Record<string, string>>;
  /** The supervisor's function for a Service a user applied, if it runs here. */
  readonly userService: (name: string, namespace: string) => string | undefined;
}

/**
 * Trigger destinations → local URLs: pgfn functions and users' runnable Services via the supervisor,
 * the dead-letter Service via the broker.
 */
function resolver({ services, supervisor, subscribers, userService }: ResolverOptions): ResolveDestination {
  const fixed = (url: string): Destination => ({ describe: url, acquire: () => Promise.resolve({ url, release: () => undefined }) });
  return (dest: DestinationSpec, namespace: string, broker: LocalBroker) => {
    if (dest.uri !== undefined) {
      // A user's Service by its cluster address (as Knative's filter would reach it through Serving).
      const at = serviceAtUri(dest.uri);
      const users = at === undefined ? undefined : userService(at.name, at.namespace);
      return users === undefined
        ? fixed(dest.uri)
        : { describe: `Service ${at?.namespace}/${at?.name}`, acquire: async () => supervisor.acquire(users) };
    }
    const ref = dest.ref;
    if (ref === undefined) return undefined;
    if (ref.kind === 'Broker') return fixed(broker.url);
    if (ref.kind !== 'Service' || !(ref.apiVersion ?? '').startsWith('serving.knative.dev/')) return undefined;
    const svc = services.find((s) => s.metadata.name === ref.name && (s.metadata.namespace ?? 'default') === (ref.namespace ?? namespace));
    if (svc?.metadata.labels?.[ROLE_LABEL] === 'dead-letter') return fixed(broker.deadLetterUrl);
    const fn = svc?.metadata.labels?.[FUNCTION_LABEL];
    if (fn !== undefined && supervisor.has(fn)) {
      return { describe: `function ${fn}`, acquire: async () => supervisor.acquire(fn) };
    }
    const users = svc === undefined ? userService(ref.name, ref.namespace ?? namespace) : undefined;
    if (users !== undefined) return { describe: `Service ${ref.name}`, acquire: async () => supervisor.acquire(users) };
    const url = subscribers[ref.name];
    return url === undefined ? undefined : fixed(url);
  };
}
