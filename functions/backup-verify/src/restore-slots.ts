// The restore-test queue's state in the API (ADR 0071): one Lease, `pgfn-restore-queue` in the
// function's namespace, whose annotation holds the queue (restore-queue.ts). Every change is a
// read-decide-replace guarded by the Lease's resourceVersion, so invocations on any number of
// instances take turns; the state outlives every instance (a cold start reads it back).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kit } from '@pgfn/fn-runtime';
import { statusCode } from '@pgfn/kube';
import { admit, finish, renew, type Admission, type QueueRules, type QueueState } from './restore-queue.js';

export const QUEUE_LEASE = 'pgfn-restore-queue';
export const QUEUE_ANNOTATION = 'pgfn.dev/restore-queue';

type LeaseObject = KubernetesObject & { spec?: Record<string, unknown> };

export interface RestoreSlots {
  enter(key: string, holder: string): Promise<Admission>;
  /** false when the slot is no longer this holder's: the test must stop. */
  renew(key: string, holder: string): Promise<boolean>;
  /** Frees the slot; the clusters to ask to go next. */
  leave(key: string, holder: string): Promise<string[]>;
  /** The queue as stored now. */
  read(): Promise<QueueState>;
}

function stateOf(lease: LeaseObject | undefined): QueueState {
  const text = lease?.metadata?.annotations?.[QUEUE_ANNOTATION];
  if (text === undefined || text === '') return {};
  try {
    return JSON.parse(text) as QueueState;
  } catch {
    // A hand-edited annotation that is not JSON: start over rather than stop every restore test.
    return {};
  }
}

export function restoreSlots(o: { kube: Kit['kube']; namespace: string; rules: QueueRules; now?: () => Date }): RestoreSlots {
  const now = o.now ?? ((): Date => new Date());
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: o.namespace, name: QUEUE_LEASE };
  const read = (): Promise<LeaseObject | undefined> => o.kube.get<LeaseObject>(ref);

  /** Applies `decide` to the stored queue until its write wins (another writer between read and write: again). */
  async function change<T>(decide: (state: QueueState) => { next: QueueState; value: T }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const current = await read();
      const { next, value } = decide(stateOf(current));
      const annotations = { ...(current?.metadata?.annotations ?? {}), [QUEUE_ANNOTATION]: JSON.stringify(next) };
      const body: LeaseObject = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: QUEUE_LEASE, namespace: o.namespace, annotations },
        spec: current?.spec ?? {},
      };
      try {
        if (current === undefined) {
          // kube-kinds: coordination.k8s.io/v1/Lease
          if ((await o.kube.create(body)) !== undefined) return value;
        } else {
          // kube-kinds: coordination.k8s.io/v1/Lease
          await o.kube.replace({ ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } });
          return value;
        }
      } catch (err) {
        if (statusCode(err) !== 409 || attempt > 50) throw err;
      }
      // lost the race: a short random pause so the contenders spread out
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
  }

  return {
    enter: (key, holder) =>
      change((state) => {
        const a = admit({ state, key, holder, now: now(), rules: o.rules });
        return { next: a.next, value: a };
      }),
    renew: (key, holder) =>
      change((state) => {
        const r = renew({ state, key, holder, now: now() });
        return { next: r.next, value: r.held };
      }),
    leave: (key, holder) =>
      change((state) => {
        const f = finish({ state, key, holder, now: now(), rules: o.rules });
        return { next: f.next, value: f.heads };
      }),
    read: async () => stateOf(await read()),
  };
}
