// Knative Eventing's data plane as local processes (issue 23): broker ingress and filter, the in-memory
// channel dispatcher, the PingSource adapter (mtping), and the host-routing proxy every Knative process
// sends through (Knative addresses every hop by cluster DNS name).
import { join } from 'node:path';
import { assertExclusive } from '@pgfn/controlplane';
import { Child } from './child.js';
import { SYSTEM_NAMESPACE } from './adapter.js';
import { HostProxy, type HostRoute, type ProxyTarget } from './host-proxy.js';
import { serviceOfHost } from './serving-stand-in.js';
import { knativeEventingDir, processEnv, takePorts, waitListening } from './knative-process.js';

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
    assertExclusive("Knative's data plane", ['knative']);
    const dir = knativeEventingDir();
    const [ingress, ingressTls, filter, filterTls, dispatcher, dispatcherTls] = await takePorts(6);
    const local = (port: number | undefined): ProxyTarget => ({ url: `http://127.0.0.1:${port ?? 0}` });
    const proxy = await HostProxy.start(async (host) => {
      if (host === `broker-ingress.${SYSTEM_NAMESPACE}.svc.cluster.local`) return local(ingress);
      if (host === `broker-filter.${SYSTEM_NAMESPACE}.svc.cluster.local`) return local(filter);
      if (host === `imc-dispatcher.${SYSTEM_NAMESPACE}.svc.cluster.local`) return local(dispatcher);
      const svc = serviceOfHost(host);
      if (svc?.name.endsWith('-kn-channel')) return local(dispatcher);
      if (svc !== undefined && opts.services !== undefined) {
        const target = await opts.services(svc.name, svc.namespace);
        if (target !== undefined) return target;
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

  /**
   * A URL Knative wrote for our Node functions (K_SINK: the Broker's cluster address) as they can reach it:
   * they ignore HTTP_PROXY, so the ingress's cluster name becomes its loopback address. Undefined for other hosts.
   */
  loopbackUrl(url: string): string | undefined {
    const u = new URL(url);
    return u.host === `broker-ingress.${SYSTEM_NAMESPACE}.svc.cluster.local` ? `${this.ingressUrl}${u.pathname}` : undefined;
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
