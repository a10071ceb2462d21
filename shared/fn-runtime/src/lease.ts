// A coordination.k8s.io Lease per cluster and purpose, so that only one invocation at a time does
// work that must not run twice at once on a cluster (a rolling update, a backup verification), even
// when events for it arrive twice or functions scale out. The holder renews while it works; a holder
// that died stops renewing, and once its lease has expired another may take over.
import type { KubernetesObject } from '@kubernetes/client-node';
import { statusCode, type KubeClient } from '@pgfn/kube';

interface LeaseObject extends KubernetesObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaseOptions {
  readonly kube: KubeClient;
  readonly namespace: string;
  /** The Lease's name; clusterLeaseName() for one per cluster and purpose. */
  readonly name: string;
  /** Who holds it (unique per process and invocation, e.g. `<pod>/<event id>`). */
  readonly holder: string;
  /** How long the lease lasts without a renewal. */
  readonly durationSeconds: number;
  readonly now?: () => Date;
}

/** What a Lease says now. */
export interface LeaseState {
  readonly holder: string | undefined;
  readonly expiresAt: Date | undefined;
}

/** `<cluster>-<purpose>`, e.g. `acid-minimal-rolling-update`. */
export function clusterLeaseName(cluster: string, purpose: string): string {
  return `${cluster}-${purpose}`;
}

/** MicroTime as the API server writes it (RFC 3339, six fraction digits). */
function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class ClusterLease {
  private readonly now: () => Date;

  constructor(private readonly opts: LeaseOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * Takes the lease when it is free, expired or already ours; returns whether this holder has it now.
   * Two callers racing: the API server's resourceVersion check (or the create's name clash) lets one win.
   */
  async acquire(): Promise<boolean> {
    const current = await this.read();
    const now = this.now();
    if (current === undefined) {
      const created = await this.opts.kube.create<LeaseObject>(this.object({ acquireTime: now, transitions: 0 }));
      return created !== undefined;
    }
    const state = stateOf(current);
    const ours = state.holder === this.opts.holder;
    const free = state.holder === undefined || state.holder === '' || state.expiresAt === undefined || state.expiresAt <= now;
    if (!ours && !free) return false;
    const transitions = (current.spec?.leaseTransitions ?? 0) + (ours ? 0 : 1);
    const acquireTime = ours && current.spec?.acquireTime !== undefined ? new Date(current.spec.acquireTime) : now;
    return this.write(current, this.object({ acquireTime, transitions }));
  }

  /** Extends the lease; false when it is no longer ours (expired and taken over), so the work must stop. */
  async renew(): Promise<boolean> {
    const current = await this.read();
    if (current === undefined || current.spec?.holderIdentity !== this.opts.holder) return false;
    const acquireTime = current.spec.acquireTime === undefined ? this.now() : new Date(current.spec.acquireTime);
    return this.write(current, this.object({ acquireTime, transitions: current.spec.leaseTransitions ?? 0 }));
  }

  /** Gives the lease up when it is ours (others may take it at once); a lease held by another is left alone. */
  async release(): Promise<void> {
    const current = await this.read();
    if (current === undefined || current.spec?.holderIdentity !== this.opts.holder) return;
    await this.write(current, { ...current, spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined } });
  }

  /**
   * Runs `work` holding the lease: acquires it (undefined when another holder has it), renews it every
   * `renewEveryMs` (default a third of the duration) and releases it afterwards, also when `work`
   * throws. If a renewal finds the lease lost, `signal` aborts: the work must stop touching the cluster.
   */
  async hold<T>(work: (signal: AbortSignal) => Promise<T>, renewEveryMs?: number): Promise<{ value: T } | undefined> {
    if (!(await this.acquire())) return undefined;
    const lost = new AbortController();
    const every = renewEveryMs ?? (this.opts.durationSeconds * 1000) / 3;
    const timer = setInterval(() => {
      this.renew().then(
        (ours) => {
          if (!ours) lost.abort(new Error(`lease ${this.opts.namespace}/${this.opts.name} was lost`));
        },
        // A failed renewal is retried at the next tick; the lease lasts until it expires.
        () => undefined,
      );
    }, every);
    try {
      return { value: await work(lost.signal) };
    } finally {
      clearInterval(timer);
      await this.release();
    }
  }

  /** Who holds the lease now and until when. */
  async state(): Promise<LeaseState> {
    const current = await this.read();
    return current === undefined ? { holder: undefined, expiresAt: undefined } : stateOf(current);
  }

  private read(): Promise<LeaseObject | undefined> {
    return this.opts.kube.get<LeaseObject>({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: this.opts.namespace,
      name: this.opts.name,
    });
  }

  private object(o: { acquireTime: Date; transitions: number }): LeaseObject {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace },
      spec: {
        holderIdentity: this.opts.holder,
        leaseDurationSeconds: this.opts.durationSeconds,
        acquireTime: microTime(o.acquireTime),
        renewTime: microTime(this.now()),
        leaseTransitions: o.transitions,
      },
    };
  }

  /** Replaces `current` with `next`, guarded by current's resourceVersion; false when someone else wrote first. */
  private async write(current: LeaseObject, next: LeaseObject): Promise<boolean> {
    try {
      // kube-kinds: coordination.k8s.io/v1/Lease
      await this.opts.kube.replace<LeaseObject>({
        ...next,
        metadata: { ...next.metadata, resourceVersion: current.metadata?.resourceVersion },
      });
      return true;
    } catch (err) {
      if (statusCode(err) === 409) return false;
      throw err;
    }
  }
}

function stateOf(lease: LeaseObject): LeaseState {
  const holder = lease.spec?.holderIdentity || undefined;
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const seconds = lease.spec?.leaseDurationSeconds;
  const expiresAt = renewed === undefined || seconds === undefined ? undefined : new Date(Date.parse(renewed) + seconds * 1000);
  return { holder, expiresAt };
}
