// Knative Eventing's own controllers as local processes (issue 23, `npm run local -- --knative`): the
// eventing controller, the mt-broker controller, the in-memory channel controller and the SinkBinding
// reconciler of Knative's webhook binary, built by `bash hack/build-bins.sh knative-eventing`,
// reconciling Brokers, Triggers, channels, sources and SinkBindings on the local API server. What a
// cluster provides around them (CRDs, ConfigMaps, placeholders for readiness) is applied first.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { assertExclusive } from '@pgfn/controlplane';
import { Child } from './child.js';
import { installKnativeCrds } from './knative-crds.js';
import { SYSTEM_NAMESPACE } from './adapter.js';
import { knativeEventingDir, processEnv } from './knative-process.js';
import { PLACEHOLDER_SELECTOR, applyObjects, configMaps, placeholders } from './knative-objects.js';

export interface KnativeControllersOptions {
  /** Admin kubeconfig: the controllers run with it (in a cluster: their ServiceAccounts). */
  readonly kubeconfig: string;
  readonly logDir: string;
  /** HTTP_PROXY for every Knative process (routes cluster DNS names to local ports). */
  readonly proxy?: string;
}

/** Knative's four controllers, running; `stop()` ends them. */
export class KnativeControllers {
  private constructor(
    readonly children: readonly Child[],
    private readonly keeper: PlaceholderKeeper,
  ) {}

  static async start(opts: KnativeControllersOptions): Promise<KnativeControllers> {
    assertExclusive("Knative's controllers", ['knative']);
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
      // The webhook binary's SinkBinding reconciler alone: no webhook is reachable here (ADR 0085).
      await run('sinkbinding', {});
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
