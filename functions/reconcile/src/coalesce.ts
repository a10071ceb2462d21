/**
 * Per-key coalescing: while work for a key runs, every further request for that key waits for ONE
 * more run that starts after the current one ends. A burst of events about one cluster (its pods,
 * StatefulSet and CR all changing) costs at most two reconciles in this process, and two reconciles
 * of one cluster never race here (across instances, resourceVersion guards still apply).
 */
export class Coalescer {
  private readonly entries = new Map<string, { current: Promise<void>; queued?: Promise<void> }>();

  run(key: string, work: () => Promise<void>): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const fresh: { current: Promise<void>; queued?: Promise<void> } = { current: Promise.resolve() };
      this.entries.set(key, fresh);
      fresh.current = work().finally(() => this.finish(key, fresh));
      return fresh.current;
    }
    entry.queued ??= entry.current.catch(() => undefined).then(() => {
      entry.queued = undefined;
      entry.current = work().finally(() => this.finish(key, entry));
      return entry.current;
    });
    return entry.queued;
  }

  /** Keys with work running or queued (for tests and metrics). */
  get busy(): number {
    return this.entries.size;
  }

  private finish(key: string, entry: { queued?: Promise<void> }): void {
    if (entry.queued === undefined && this.entries.get(key) === entry) this.entries.delete(key);
  }
}
