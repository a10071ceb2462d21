// Knative Services a user applies to the API server, run by the function supervisor when their image has
// a local equivalent (local-images.ts): what Serving's activator does with a Service a Trigger names.
// A Trigger naming such a Service routes to it; the first event starts its process, its scale
// annotations apply as for pgfn's own functions (scalingOf).
import * as k8s from '@kubernetes/client-node';
import { startInformer, type Informer } from '@pgfn/node-agent/informer';
import { localProcessFor } from './local-images.js';
import type { KnativeServiceManifest } from './manifests.js';
import { scalingOf } from './scaling.js';
import type { FunctionSupervisor } from './supervisor.js';

export interface ServiceWatchOptions {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly supervisor: FunctionSupervisor;
  /** Told when the set of runnable Services changed (Triggers naming them are resolved again). */
  readonly onChange?: () => void;
}

type ServiceObject = KnativeServiceManifest & k8s.KubernetesObject & { readonly metadata: k8s.V1ObjectMeta & { readonly name: string } };

/** The supervisor's name for a user's Service (also its log file's name). */
export const userServiceFunction = (namespace: string, name: string): string => `ksvc.${namespace}.${name}`;

export class ServiceWatch {
  /** `<namespace>/<name>` → the supervisor's function name, for the Services that run here. */
  private readonly runnable = new Map<string, string>();
  private informer: Informer<ServiceObject> | undefined;
  readonly errors: string[] = [];

  private constructor(private readonly opts: ServiceWatchOptions) {}

  /** Resolves once the Services present at start are listed. */
  static async start(opts: ServiceWatchOptions): Promise<ServiceWatch> {
    const w = new ServiceWatch(opts);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const list = async (): Promise<k8s.KubernetesListObject<ServiceObject>> =>
      (await custom.listNamespacedCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        namespace: opts.namespace,
        plural: 'services',
      })) as k8s.KubernetesListObject<ServiceObject>;
    w.informer = startInformer<ServiceObject>(kc, `/apis/serving.knative.dev/v1/namespaces/${opts.namespace}/services`, list, {
      onChange: (svc) => w.take(svc),
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

  private take(svc: ServiceObject): void {
    const namespace = svc.metadata.namespace ?? this.opts.namespace;
    const container = svc.spec.template.spec.containers[0];
    const local = container?.image === undefined ? undefined : localProcessFor(container.image);
    if (local === undefined) return this.drop(svc);
    const fn = userServiceFunction(namespace, svc.metadata.name);
    const env = Object.fromEntries((container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']));
    this.opts.supervisor.add(fn, { ...local, env, scaling: scalingOf(svc) });
    const known = this.runnable.has(`${namespace}/${svc.metadata.name}`);
    this.runnable.set(`${namespace}/${svc.metadata.name}`, fn);
    if (!known) this.opts.onChange?.();
  }

  private drop(svc: ServiceObject): void {
    if (this.runnable.delete(`${svc.metadata.namespace ?? this.opts.namespace}/${svc.metadata.name}`)) this.opts.onChange?.();
  }
}
