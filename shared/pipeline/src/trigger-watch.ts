// Triggers a user applies to the API server, routed by the local broker: what Knative's broker filter
// does with the Triggers of its namespace. Each Trigger first goes through Knative's own defaulting and
// validation (the webhook a cluster would run; none runs locally), then the broker resolves its
// subscriber; the outcome is written to the Trigger's status, so `kubectl get triggers` shows READY
// and the reason, as in a cluster. Deleting a Trigger stops its deliveries.
import * as k8s from '@kubernetes/client-node';
import { KubeClient } from '@pgfn/kube';
import { startInformer, type Informer } from '@pgfn/node-agent/informer';
import type { LocalBroker, TriggerState } from './broker.js';
import { admitObjects } from './knative-webhook.js';
import type { TriggerManifest } from './manifests.js';

export interface TriggerWatchOptions {
  /** Reads Triggers and writes their status (in a cluster: the broker filter's identity). */
  readonly kubeconfig: string;
  /** The Broker's namespace: Triggers live beside their Broker. */
  readonly namespace: string;
  readonly broker: LocalBroker;
  /** Told about every Trigger taken up, changed or dropped (logs). */
  readonly onChange?: (change: TriggerChange) => void;
}

export interface TriggerChange {
  readonly name: string;
  readonly generation?: number;
  /** undefined: the Trigger was deleted. */
  readonly state?: TriggerState;
}

interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime: string;
}

type TriggerObject = TriggerManifest &
  k8s.KubernetesObject & {
    readonly metadata: k8s.V1ObjectMeta & { readonly name: string };
    readonly status?: { readonly observedGeneration?: number; readonly conditions?: readonly Condition[] };
  };

const API_VERSION = 'eventing.knative.dev/v1';

export class TriggerWatch {
  private informer: Informer<TriggerObject> | undefined;
  /** Per Trigger, the work in progress: changes to one Trigger are handled one at a time, in order. */
  private readonly queue = new Map<string, Promise<void>>();
  private readonly client: KubeClient;
  /** The generation each Trigger was last taken up at (a status write alone does not change it). */
  private readonly seen = new Map<string, number | undefined>();
  readonly errors: string[] = [];

  private constructor(private readonly opts: TriggerWatchOptions) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    this.client = new KubeClient(kc);
  }

  /** Resolves once the Triggers present at start are listed and routing. */
  static async start(opts: TriggerWatchOptions): Promise<TriggerWatch> {
    const w = new TriggerWatch(opts);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const path = `/apis/${API_VERSION}/namespaces/${opts.namespace}/triggers`;
    const list = async (): Promise<k8s.KubernetesListObject<TriggerObject>> =>
      (await custom.listNamespacedCustomObject({
        group: 'eventing.knative.dev',
        version: 'v1',
        namespace: opts.namespace,
        plural: 'triggers',
      })) as k8s.KubernetesListObject<TriggerObject>;
    w.informer = startInformer<TriggerObject>(kc, path, list, {
      onChange: (t) => w.enqueue(t.metadata.name, () => w.take(t)),
      onDelete: (t) => w.enqueue(t.metadata.name, () => w.drop(t)),
      onError: (err) => w.errors.push(String(err)),
    });
    await w.informer.synced;
    await w.settled();
    return w;
  }

  /** Resolves once every change seen so far is handled. */
  async settled(): Promise<void> {
    while (this.queue.size > 0) await Promise.allSettled([...this.queue.values()]);
  }

  /** Resolves every Trigger again (a Service a subscriber names appeared or went). */
  resync(): void {
    for (const t of this.informer?.cache.list() ?? []) {
      this.enqueue(t.metadata.name, () => {
        this.seen.delete(t.metadata.name);
        return this.take(t);
      });
    }
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
    await this.settled();
  }

  private enqueue(name: string, work: () => Promise<void>): void {
    const next = (this.queue.get(name) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) => {
        this.errors.push(`Trigger ${this.opts.namespace}/${name}: ${(err as Error).message}`);
      })
      .finally(() => {
        if (this.queue.get(name) === next) this.queue.delete(name);
      });
    this.queue.set(name, next);
  }

  private async take(t: TriggerObject): Promise<void> {
    const name = t.metadata.name;
    if (t.metadata.deletionTimestamp !== undefined) return this.drop(t);
    // Our own status write comes back as an update of the same generation: nothing to do.
    if (this.seen.has(name) && this.seen.get(name) === t.metadata.generation) return;
    this.seen.set(name, t.metadata.generation);
    const state = await this.admit(t);
    this.opts.onChange?.({ name, ...(t.metadata.generation === undefined ? {} : { generation: t.metadata.generation }), state });
    await this.writeStatus(t, state);
  }

  /** Knative's webhook first (defaults such as the subscriber's namespace, and its refusals), then the broker. */
  private async admit(t: TriggerObject): Promise<TriggerState> {
    const { status: _status, ...object } = t;
    const [admitted] = await admitObjects([{ ...object, apiVersion: API_VERSION, kind: 'Trigger' }]);
    if (admitted === undefined || admitted.errors.length > 0) {
      this.opts.broker.removeTrigger(this.opts.namespace, t.metadata.name);
      return {
        ready: false,
        reason: 'WebhookRefused',
        message: `Knative's webhook refuses this Trigger: ${admitted?.errors.join('; ') ?? ''}`,
      };
    }
    return this.opts.broker.setTrigger(admitted.object as TriggerManifest);
  }

  private drop(t: TriggerObject): Promise<void> {
    this.seen.delete(t.metadata.name);
    this.opts.broker.removeTrigger(this.opts.namespace, t.metadata.name);
    this.opts.onChange?.({ name: t.metadata.name });
    return Promise.resolve();
  }

  /** Ready, with Knative's reason when not; the transition time stays while the condition does not change. */
  private async writeStatus(t: TriggerObject, state: TriggerState): Promise<void> {
    const before = t.status?.conditions?.find((c) => c.type === 'Ready');
    const ready: Omit<Condition, 'lastTransitionTime'> = state.ready
      ? { type: 'Ready', status: 'True' }
      : { type: 'Ready', status: 'False', reason: state.reason, message: state.message };
    const same = before?.status === ready.status && before.reason === ready.reason && before.message === ready.message;
    const condition: Condition = { ...ready, lastTransitionTime: same ? before.lastTransitionTime : new Date().toISOString() };
    if (same && t.status?.observedGeneration === t.metadata.generation) return;
    await this.client.patchStatus(
      { apiVersion: API_VERSION, kind: 'Trigger', namespace: this.opts.namespace, name: t.metadata.name },
      {
        observedGeneration: t.metadata.generation,
        conditions: [condition],
        // Knative reports where it delivers (a function started on demand has no fixed address).
        subscriberUri: state.ready && /^https?:\/\//.test(state.subscriber) ? state.subscriber : null,
      },
    );
  }
}
