// Knative Services a user applies to the API server, run by the function supervisor when their image has
// a local equivalent (local-images.ts): what Serving's activator does with a Service a Trigger names.
// As Serving would, it writes each Service's status: Ready with its cluster-local address, or Ready
// False when nothing here can run its image; so Knative's own Trigger controller (the Knative path)
// resolves a Trigger's `ref` to it, and the local proxy routes that address to the supervisor.
// A Trigger naming such a Service routes to it; the first event starts its process, its scale
// annotations apply as for pgfn's own functions (scalingOf). Every namespace is watched: a user's Service
// in their own namespace is the subscriber of a Trigger in the Broker's (a `ref` with its namespace, or
// its address as `uri`), as on a cluster.
import * as k8s from '@kubernetes/client-node';
import { KubeClient } from '@pgfn/kube';
import { startInformer, type Informer } from '@pgfn/node-agent/informer';
import { localProcessFor } from './local-images.js';
import { FUNCTION_LABEL, ROLE_LABEL, type KnativeServiceManifest } from './manifests.js';
import { scalingOf } from './scaling.js';
import { sameServingStatus, servingStatus, type NotRunnable, type ServingStatus } from './serving-stand-in.js';
import type { FunctionSupervisor } from './supervisor.js';

export interface ServiceWatchOptions {
  /** Reads Services and writes their status (in a cluster: Serving's controller identity). */
  readonly kubeconfig: string;
  readonly supervisor: FunctionSupervisor;
  /** Told when the set of runnable Services changed (Triggers naming them are resolved again). */
  readonly onChange?: () => void;
  /**
   * A K_SINK a SinkBinding wrote into a Service (a cluster address) → where its process reaches it
   * (the Knative path: the ingress on loopback); the value is kept when undefined.
   */
  readonly localUrl?: (url: string) => string | undefined;
  /** The variables a SinkBinding stand-in gives the Service (the stand-in path; on the Knative path they are in its env). */
  readonly bound?: (svc: KnativeServiceManifest) => Readonly<Record<string, string>>;
}

type ServiceObject = KnativeServiceManifest &
  k8s.KubernetesObject & {
    readonly metadata: k8s.V1ObjectMeta & { readonly name: string };
    readonly status?: Partial<ServingStatus>;
  };

/** The supervisor's name for a user's Service (also its log file's name). */
export const userServiceFunction = (namespace: string, name: string): string => `ksvc.${namespace}.${name}`;

export class ServiceWatch {
  /** `<namespace>/<name>` → the supervisor's function name, for the Services that run here. */
  private readonly runnable = new Map<string, string>();
  private informer: Informer<ServiceObject> | undefined;
  private readonly client: KubeClient;
  readonly errors: string[] = [];

  private constructor(
    private readonly opts: ServiceWatchOptions,
    kc: k8s.KubeConfig,
  ) {
    this.client = new KubeClient(kc);
  }

  /** Resolves once the Services present at start are listed. */
  static async start(opts: ServiceWatchOptions): Promise<ServiceWatch> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const w = new ServiceWatch(opts, kc);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const list = async (): Promise<k8s.KubernetesListObject<ServiceObject>> =>
      (await custom.listClusterCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        plural: 'services',
      })) as k8s.KubernetesListObject<ServiceObject>;
    w.informer = startInformer<ServiceObject>(kc, `/apis/serving.knative.dev/v1/services`, list, {
      onChange: (svc) => void w.take(svc).catch((err: unknown) => w.errors.push(String(err))),
      onDelete: (svc) => w.drop(svc),
      onError: (err) => w.errors.push(String(err)),
    });
    await w.informer.synced;
    return w;
  }

  /** The supervisor's function for Service `name` in `namespace`, if it runs here. */
  functionOf(name: string, namespace: string): string | undefined {
    return this.runnable.get(`${namespace}/${name}`);
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  private async take(svc: ServiceObject): Promise<void> {
    // pgfn's own Services are run and published by the pipeline itself.
    const labels = svc.metadata.labels ?? {};
    if (labels[FUNCTION_LABEL] !== undefined || labels[ROLE_LABEL] !== undefined) return;
    const namespace = svc.metadata.namespace ?? 'default';
    const container = svc.spec.template.spec.containers[0];
    const local = container?.image === undefined ? undefined : localProcessFor(container.image);
    const notRunnable: NotRunnable =
      local === undefined
        ? {
            reason: 'NoLocalEquivalent',
            message: `image ${container?.image ?? '(none)'} has no local equivalent (local-images.ts); Knative Serving does not run here`,
          }
        : undefined;
    if (local === undefined) this.drop(svc);
    else {
      const fn = userServiceFunction(namespace, svc.metadata.name);
      const env = Object.fromEntries(
        (container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, this.localValue(e.name, e.value ?? '')]),
      );
      this.opts.supervisor.add(fn, { ...local, env: { ...this.opts.bound?.(svc), ...env }, scaling: scalingOf(svc) });
      const known = this.runnable.has(`${namespace}/${svc.metadata.name}`);
      this.runnable.set(`${namespace}/${svc.metadata.name}`, fn);
      if (!known) this.opts.onChange?.();
    }
    await this.writeStatus(svc, namespace, notRunnable);
  }

  private localValue(name: string, value: string): string {
    return name === 'K_SINK' ? (this.opts.localUrl?.(value) ?? value) : value;
  }

  /** What Serving would report; our own write comes back as an update with the same status: nothing to do. */
  private async writeStatus(svc: ServiceObject, namespace: string, notRunnable: NotRunnable): Promise<void> {
    const desired = servingStatus({
      name: svc.metadata.name,
      namespace,
      ...(svc.metadata.generation === undefined ? {} : { generation: svc.metadata.generation }),
      notRunnable,
    });
    if (sameServingStatus(svc.status, desired)) return;
    const now = new Date().toISOString();
    await this.client.patchStatus(
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace, name: svc.metadata.name },
      { ...desired, conditions: desired.conditions.map((c) => ({ ...c, lastTransitionTime: now })) },
    );
  }

  private drop(svc: ServiceObject): void {
    if (this.runnable.delete(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`)) this.opts.onChange?.();
  }
}
