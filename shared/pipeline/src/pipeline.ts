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
  pingSourcesOf,
  triggersOf,
  type KnativeServiceManifest,
  type Manifest,
  type TriggerManifest,
} from './manifests.js';
import { installKnativeCrds } from './knative-crds.js';
import { LocalPings } from './ping.js';
import { scalingOf, type Scaling } from './scaling.js';
import { FunctionSupervisor, type FunctionProcessSpec } from './supervisor.js';
import { TriggerWatch } from './trigger-watch.js';

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
  /** ApiServerSources to run: all (default), none (false) or these names. */
  readonly sources?: boolean | readonly string[];
  /** Fire PingSources on their schedules (default true); `pipeline.pings.fire(name)` works either way. */
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
  const brokerUrl = `http://127.0.0.1:${brokerPort}`;
  const supervisor = new FunctionSupervisor({
    functions: functionSpecs(opts.functions, services, opts.idleMs),
    logDir: opts.logDir,
    env: { KUBECONFIG: opts.kubeconfig, K_SINK: brokerUrl },
  });
  const broker = await LocalBroker.start({
    triggers: [...triggersOf(manifests), ...(opts.extraTriggers ?? [])],
    resolve: resolver(services, supervisor, opts.subscribers ?? {}),
    port: brokerPort,
    logFile: join(opts.logDir, 'broker.jsonl'),
    ...(opts.onDelivery === undefined ? {} : { onDelivery: opts.onDelivery }),
  });
  const adapters: ReceiveAdapter[] = [];
  const pings = new LocalPings(pingSourcesOf(manifests), (e) => broker.publish(e));
  let triggerWatch: TriggerWatch | undefined;
  const stop = async (): Promise<void> => {
    pings.stop();
    await triggerWatch?.stop();
    await Promise.all(adapters.map((a) => a.stop()));
    await broker.stop();
    await supervisor.stop();
  };
  try {
    if (opts.triggersFromApi !== undefined) {
      await installKnativeCrds(opts.triggersFromApi.kubeconfig);
      triggerWatch = await TriggerWatch.start({
        kubeconfig: opts.triggersFromApi.kubeconfig,
        namespace: opts.triggersFromApi.namespace ?? BROKER_NAMESPACE,
        broker,
        onChange: (change) =>
          appendFileSync(join(opts.logDir, 'broker.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), trigger: change })}\n`),
      });
    }
    const wanted = opts.sources ?? true;
    for (const source of apiServerSourcesOf(manifests)) {
      if (wanted === false || (Array.isArray(wanted) && !wanted.includes(source.metadata.name))) continue;
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
    if (opts.schedulePings ?? true) pings.start();
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

/** Trigger destinations → local URLs: pgfn functions via the supervisor, the dead-letter Service via the broker. */
function resolver(
  services: readonly KnativeServiceManifest[],
  supervisor: FunctionSupervisor,
  subscribers: Readonly<Record<string, string>>,
): ResolveDestination {
  const fixed = (url: string): Destination => ({ describe: url, acquire: () => Promise.resolve({ url, release: () => undefined }) });
  return (dest: DestinationSpec, namespace: string, broker: LocalBroker) => {
    if (dest.uri !== undefined) return fixed(dest.uri);
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
    const url = subscribers[ref.name];
    return url === undefined ? undefined : fixed(url);
  };
}
