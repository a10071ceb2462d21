// Kubernetes Events about an object: what a user sees in `kubectl describe`. One per decision worth
// telling (a sync failed, objects were created), never one per retry.
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from '@pgfn/kube';

/** The API server rejects longer messages. */
const MAX_MESSAGE = 1024;

export interface EventRecord {
  /** The object the Event is about (needs apiVersion, kind, metadata.name/namespace; uid when known). */
  readonly about: KubernetesObject;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export type RecordEvent = (record: EventRecord) => Promise<void>;

export interface RecorderOptions {
  readonly kube: KubeClient;
  /** Who tells, e.g. `pgfn-reconcile`. */
  readonly component: string;
  readonly now?: () => Date;
  /** apiVersion and kind for objects that lack them (items of a list answer carry neither). */
  readonly kind?: { readonly apiVersion: string; readonly kind: string };
}

/** Records Events as `component`, timestamped by `now`. */
export function eventRecorder(opts: RecorderOptions): RecordEvent {
  const now = opts.now ?? (() => new Date());
  return async ({ about, type, reason, message }) => {
    const at = now();
    const name = about.metadata?.name;
    const namespace = about.metadata?.namespace;
    const event: CoreV1Event = {
      metadata: { generateName: `${name || 'object'}.`, namespace },
      involvedObject: {
        apiVersion: about.apiVersion ?? opts.kind?.apiVersion,
        kind: about.kind ?? opts.kind?.kind,
        name,
        namespace,
        uid: about.metadata?.uid,
      },
      type,
      reason,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      source: { component: opts.component },
    };
    await opts.kube.createEvent(event);
  };
}
