import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { cacheDir, freePort, readVersions } from '@pgfn/controlplane';
import { Child } from './child.js';
import type { ApiServerSourceManifest } from './manifests.js';
import { adapterConfigFor, type AdapterConfig } from './source-config.js';

/** The namespace Knative's own components live in; the adapter reads it from SYSTEM_NAMESPACE. */
export const SYSTEM_NAMESPACE = 'knative-eventing';

/** Path of the cached receive adapter; throws naming the build command when it is missing. */
export function receiveAdapterBinary(): string {
  const version = readVersions()['KNATIVE_EVENTING_VERSION'];
  if (version === undefined) throw new Error('hack/versions.env lacks KNATIVE_EVENTING_VERSION');
  const bin = join(cacheDir(), 'bin', `knative-${version}`, 'apiserver_receive_adapter');
  if (!existsSync(bin)) throw new Error(`receive adapter missing (${bin}); build it with: bash hack/build-bins.sh knative`);
  return bin;
}

export interface ReceiveAdapterOptions {
  /** One of our ApiServerSource manifests; K_SOURCE_CONFIG is derived from it. */
  readonly source: ApiServerSourceManifest;
  /** Where events go (the local broker's URL). */
  readonly sink: string;
  /** Kubeconfig the adapter watches with: in a cluster it runs as the source's ServiceAccount. */
  readonly kubeconfig: string;
  readonly logFile: string;
  readonly binary?: string;
  /** How long to wait for the adapter to start its watches. */
  readonly startTimeoutMs?: number;
  /**
   * The environment Knative's controller wrote into the adapter's Deployment (K_SINK, K_SOURCE_CONFIG,
   * NAME, NAMESPACE, …). When given, it is used as is, not derived from the manifest; `sink` is ignored.
   */
  readonly deploymentEnv?: Readonly<Record<string, string>>;
  /** HTTP_PROXY for the adapter: Knative's sinks are cluster DNS names (host-proxy.ts). */
  readonly proxy?: string;
}

// client-go logs this (klog V(2)) when a reflector's initial list is done and its watch begins.
const POPULATED = /"Caches populated".*reflector="([^"]+)"/g;

/**
 * Knative's real ApiServerSource receive adapter, run out of cluster with the environment its
 * controller would give the Deployment (receive_adapter.go makeEnv). Notes from its code:
 * - it serves health probes on :8080, a constant (injection.HealthCheckDefaultPort); a bind failure
 *   there is ignored, so several adapters can run at once — keep everything else off 8080;
 * - its profiling server binds PROFILING_PORT (default 8008), so each adapter gets a free one;
 * - discovery runs once at start: a CRD installed later is never watched — start it after crds/;
 * - the initial list (and the re-list after a restart) sends no events at all (its store's Replace is
 *   a no-op): whatever changed before the watch began, or while the adapter was down, is never
 *   reported. start() and restart() therefore wait until every watched resource's reflector logged
 *   "Caches populated" (klog -v=2); from then on every change is sent.
 */
export class ReceiveAdapter {
  private child: Child | undefined;
  private starts = 0;

  private constructor(
    private readonly opts: ReceiveAdapterOptions,
    readonly config: AdapterConfig,
  ) {}

  static async start(opts: ReceiveAdapterOptions): Promise<ReceiveAdapter> {
    const written = opts.deploymentEnv?.['K_SOURCE_CONFIG'];
    const config =
      written !== undefined
        ? (JSON.parse(written) as AdapterConfig)
        : await adapterConfigFor(opts.source, (selector) => listNamespaces(opts.kubeconfig, selector));
    const adapter = new ReceiveAdapter(opts, config);
    await adapter.spawn();
    return adapter;
  }

  get name(): string {
    return this.opts.source.metadata.name;
  }

  /** Where the adapter sends: the local broker, or (Knative path) the K_SINK Knative's controller wrote. */
  get sink(): string {
    return this.opts.deploymentEnv?.['K_SINK'] ?? this.opts.sink;
  }

  get running(): boolean {
    return this.child?.running ?? false;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the adapter again after stop() or kill(); a running one is left alone. */
  async restart(): Promise<void> {
    if (this.running) return;
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.child?.stop();
  }

  /** SIGKILL: the adapter dies without flushing, as in a node failure. */
  async kill(): Promise<void> {
    await this.child?.kill();
  }

  tail(lines = 30): string {
    return this.child?.tail(lines) ?? '';
  }

  private async spawn(): Promise<void> {
    const binary = this.opts.binary ?? receiveAdapterBinary();
    const derived = {
      K_SINK: this.opts.sink,
      K_SOURCE_CONFIG: JSON.stringify(this.config),
      NAME: this.opts.source.metadata.name,
      NAMESPACE: this.opts.source.metadata.namespace ?? 'default',
      SYSTEM_NAMESPACE,
      METRICS_DOMAIN: 'knative.dev/eventing',
    };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      KUBECONFIG: this.opts.kubeconfig,
      ...(this.opts.deploymentEnv ?? derived),
      PROFILING_PORT: String(await freePort()),
      ...(this.opts.proxy === undefined ? {} : { HTTP_PROXY: this.opts.proxy, http_proxy: this.opts.proxy }),
    };
    this.starts++;
    const child = new Child({
      name: `adapter ${this.name}`,
      logFile: this.opts.logFile,
      command: binary,
      args: [`--kubeconfig=${this.opts.kubeconfig}`, '--disable-ha', '--v=2'],
      env,
    });
    this.child = child;
    const resources = this.config.resources.map((r) => r.gvr.Resource);
    await waitForWatches(child, resources, this.opts.startTimeoutMs ?? 30_000);
  }
}

/** Waits until a reflector of every resource has populated its cache (its watch is running). */
async function waitForWatches(child: Child, resources: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const populated = [...child.logSinceStart().matchAll(POPULATED)].map((m) => m[1] ?? '');
    const waiting = resources.filter((r) => !populated.some((p) => p.includes(`Resource=${r}`)));
    if (waiting.length === 0) return;
    if (!child.running) throw new Error(`${child.name} exited while starting:\n${child.tail(20)}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`${child.name} did not start watching ${waiting.join(', ')} within ${timeoutMs} ms:\n${child.tail(20)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function listNamespaces(kubeconfig: string, labelSelector: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const list = await kc.makeApiClient(CoreV1Api).listNamespace({ labelSelector });
  return list.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '');
}
