import { MODE_RANK, type Mode } from './events.js';

/** How long work for a namespace may wait to gather company, by the most demanding mode queued. */
export interface BatchWindows {
  /**
   * A spec change, a resync, a deleted StatefulSet: users wait on these. Only the first event into an
   * idle namespace waits this long (events named while a batch runs wait for its end anyway), so 0 by
   * default: the first event starts at once, a burst gathers behind it (ADR 0009, amended).
   */
  readonly fullMs: number;
  /** Pod and StatefulSet progress: only the status moves, a second's delay costs nothing. */
  readonly observeMs: number;
  /**
   * Per cluster in the namespace, added to observeMs (up to observeMaxMs): a status refresh lists the
   * namespace's clusters, so large namespaces batch longer instead of listing every second.
   */
  readonly observeMsPerCluster?: number;
  readonly observeMaxMs?: number;
}

export const DEFAULT_WINDOWS: BatchWindows = { fullMs: 0, observeMs: 1000, observeMsPerCluster: 3, observeMaxMs: 5000 };

export type Settled<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error };
export type BatchRunner<R> = (namespace: string, entries: ReadonlyMap<string, Mode>) => Promise<ReadonlyMap<string, Settled<R>>>;

interface Pending<R> {
  mode: Mode;
  readonly since: number;
  readonly waiters: { resolve: (r: R) => void; reject: (e: Error) => void }[];
}

interface Lane<R> {
  readonly pending: Map<string, Pending<R>>;
  running: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Gathers the clusters events name into one run per namespace, so a burst of events costs one read
 * of each kind instead of one per cluster (ADR 0009). At most one run per namespace at a time: a
 * cluster named while its run is in progress is queued for the next run, which therefore starts
 * after the event arrived, as a fresh reconcile must. Every caller gets its own cluster's outcome.
 */
export class NamespaceBatcher<R> {
  private readonly lanes = new Map<string, Lane<R>>();
  /** Clusters last seen in each namespace (told by the runner). */
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly run: BatchRunner<R>,
    private readonly windows: BatchWindows = DEFAULT_WINDOWS,
    private readonly maxBatch = 200,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  submit(namespace: string, name: string, mode: Mode): Promise<R> {
    const lane = this.lanes.get(namespace) ?? { pending: new Map<string, Pending<R>>(), running: false };
    this.lanes.set(namespace, lane);
    const promise = new Promise<R>((resolve, reject) => {
      const entry = lane.pending.get(name) ?? { mode, since: this.clock(), waiters: [] };
      if (MODE_RANK[mode] > MODE_RANK[entry.mode]) entry.mode = mode;
      entry.waiters.push({ resolve, reject });
      lane.pending.set(name, entry);
    });
    this.schedule(namespace, lane);
    return promise;
  }

  /** How many clusters a namespace holds, as the last list of it showed. */
  noteNamespaceSize(namespace: string, clusters: number): void {
    this.sizes.set(namespace, clusters);
  }

  /** The window of a status refresh in this namespace. */
  observeWindow(namespace: string): number {
    const w = this.windows;
    const scaled = w.observeMs + (this.sizes.get(namespace) ?? 0) * (w.observeMsPerCluster ?? 0);
    return Math.min(Math.max(w.observeMs, w.observeMaxMs ?? w.observeMs), scaled);
  }

  /** Namespaces with work queued or running (for tests and metrics). */
  get busy(): number {
    return this.lanes.size;
  }

  private schedule(namespace: string, lane: Lane<R>): void {
    if (lane.running) return;
    if (lane.pending.size === 0) {
      this.lanes.delete(namespace);
      return;
    }
    const observeMs = this.observeWindow(namespace);
    const due = Math.min(...[...lane.pending.values()].map((p) => p.since + (p.mode === 'observe' ? observeMs : this.windows.fullMs)));
    clearTimeout(lane.timer);
    lane.timer = setTimeout(
      () => {
        void this.fire(namespace, lane);
      },
      Math.max(0, due - this.clock()),
    );
  }

  private async fire(namespace: string, lane: Lane<R>): Promise<void> {
    lane.running = true;
    lane.timer = undefined;
    // Full work first when the batch is capped: it is what users wait for.
    const ordered = [...lane.pending]
      .sort(([, a], [, b]) => (a.mode === b.mode ? a.since - b.since : MODE_RANK[b.mode] - MODE_RANK[a.mode]))
      .slice(0, this.maxBatch);
    for (const [name] of ordered) lane.pending.delete(name);
    const entries = new Map(ordered.map(([name, p]) => [name, p.mode]));
    let outcomes: ReadonlyMap<string, Settled<R>>;
    try {
      outcomes = await this.run(namespace, entries);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      outcomes = new Map(ordered.map(([name]) => [name, { ok: false, error }]));
    }
    for (const [name, p] of ordered) {
      const o = outcomes.get(name) ?? { ok: false, error: new Error(`cluster ${namespace}/${name} was not processed`) };
      for (const w of p.waiters) {
        if (o.ok) w.resolve(o.value);
        else w.reject(o.error);
      }
    }
    lane.running = false;
    this.schedule(namespace, lane);
  }
}
