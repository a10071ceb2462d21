import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, repoRoot } from '@pgfn/controlplane';
import { Child } from './child.js';
import type { Scaling } from './scaling.js';

/** How to run one function as a process; by default `node --import tsx hack/run-fn.ts <name>`. */
export interface FunctionProcessSpec {
  readonly command?: string;
  readonly args?: readonly string[];
  /** Extra environment (the Knative Service's literal env values, for instance). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** What the function's Knative Service asks for (scalingOf); unset fields take the supervisor's defaults. */
  readonly scaling?: Partial<Scaling>;
}

export interface SupervisorOptions {
  readonly functions: Readonly<Record<string, FunctionProcessSpec>>;
  readonly logDir: string;
  /** Stop an instance this long after its last request finished, for functions whose scaling sets none. Default 60 s. */
  readonly idleMs?: number;
  /** Give up on a function that does not answer /readyz within this time. Default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Environment every function gets (KUBECONFIG, K_SINK, …), below its own env and PORT. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long requests wait for a busy instance's slot before another instance starts. Default SCALE_UP_AFTER_MS. */
  readonly scaleUpAfterMs?: number;
}

/**
 * Knative's autoscaler decides every 2 s (its tick) from concurrency averaged over the panic window (6 s by
 * default): a queue shorter than a tick does not add a pod.
 */
export const SCALE_UP_AFTER_MS = 2000;

export interface ColdStart {
  readonly fn: string;
  readonly pid: number | undefined;
  /** Process spawn until /readyz answered 200. */
  readonly spawnToReadyMs: number;
  /** Process spawn until the function answered its first event. */
  readonly spawnToFirstResponseMs: number;
}

/** A function instance reserved for one request; call `release` when the request is over. */
export interface FunctionLease {
  readonly url: string;
  /** The Service's timeoutSeconds: a request still running then is answered 504, as by the queue-proxy. */
  readonly timeoutMs?: number;
  /** `responded`: the function answered (any status), as opposed to a connection failure. */
  release(responded: boolean): void;
}

interface Instance {
  readonly child: Child;
  readonly url: string;
  readonly ready: Promise<number>;
  isReady: boolean;
  inflight: number;
  answered: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** Scaling with the request timeout optional (none unless the Service sets one). */
export type SupervisedScaling = Omit<Scaling, 'timeoutMs'> & { readonly timeoutMs?: number };

/** A request waiting for capacity (Knative's activator buffers it the same way). */
interface Waiter {
  readonly wake: () => void;
}

/**
 * Functions as separate processes, like Knative Services run by the activator and autoscaler: an
 * instance is started by a request no running instance has room for (containerConcurrency), up to
 * max-scale; beyond that requests wait for a free slot. An instance idle for the Service's scale-down
 * time is stopped, down to min-scale (0: scale to zero, cold starts real and measured); min-scale
 * instances start with the supervisor and are replaced when they exit.
 */
export class FunctionSupervisor {
  private readonly instances = new Map<string, Instance[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Instances being spawned (their port not yet chosen), per function. */
  private readonly pending = new Map<string, number>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly cold: ColdStart[] = [];
  private closed = false;

  /** The functions it can start: those given, and Services a user applied that run here (`add`). */
  private readonly functions: Record<string, FunctionProcessSpec>;

  constructor(private readonly opts: SupervisorOptions) {
    this.functions = { ...opts.functions };
  }

  get names(): string[] {
    return Object.keys(this.functions);
  }

  has(fn: string): boolean {
    return fn in this.functions;
  }

  /** How `fn` is run (undefined when the supervisor does not know it). */
  spec(fn: string): FunctionProcessSpec | undefined {
    return this.functions[fn];
  }

  /** Adds (or changes, for the next instance) a function it can start: a Knative Service a user applied. */
  add(fn: string, spec: FunctionProcessSpec): void {
    this.functions[fn] = spec;
  }

  /** The scaling in force for `fn` (its Service's, over the supervisor's defaults: 0 or 1 instance, no limits). */
  scaling(fn: string): SupervisedScaling {
    const given = this.functions[fn]?.scaling ?? {};
    return {
      minScale: given.minScale ?? 0,
      maxScale: given.maxScale ?? 1,
      containerConcurrency: given.containerConcurrency ?? 0,
      idleMs: given.idleMs ?? this.opts.idleMs ?? 60_000,
      ...(given.timeoutMs === undefined ? {} : { timeoutMs: given.timeoutMs }),
    };
  }

  /** Starts the min-scale instances of every function (Knative keeps them without traffic). */
  async startMinimum(): Promise<void> {
    await Promise.all(this.names.map((fn) => this.keepMinimum(fn)));
  }

  /**
   * A ready instance of `fn` with room for one more request (started or waited for), reserved until released.
   * With no instance one is started at once (a cold start). With every instance at containerConcurrency the
   * request waits for a slot, and another instance starts only when none freed within scaleUpAfterMs: Knative
   * scales on concurrency averaged over its panic window, so a burst of short requests is queued by the
   * activator rather than answered by a new pod (ADR 0121).
   */
  async acquire(fn: string): Promise<FunctionLease> {
    let atCapacitySince: number | undefined;
    for (;;) {
      if (this.closed) throw new Error('the function supervisor is stopped');
      const scaling = this.scaling(fn);
      const live = this.live(fn);
      const free = live
        .filter((i) => i.isReady && (scaling.containerConcurrency === 0 || i.inflight < scaling.containerConcurrency))
        .sort((a, b) => a.inflight - b.inflight)[0];
      if (free !== undefined) return this.lease(fn, free);
      const starting = live.some((i) => !i.isReady) || (this.pending.get(fn) ?? 0) > 0;
      if (!starting && (scaling.maxScale === 0 || live.length < scaling.maxScale)) {
        atCapacitySince ??= performance.now();
        const waitMs = live.length === 0 ? 0 : atCapacitySince + this.scaleUpAfterMs - performance.now();
        if (waitMs <= 0) {
          await (
            await this.spawn(fn)
          ).ready;
          continue;
        }
        await this.waitForSlot(fn, waitMs);
        continue;
      }
      // At max-scale, or an instance is starting: wait until a slot frees or the start finishes.
      await this.waitForSlot(fn);
    }
  }

  private get scaleUpAfterMs(): number {
    return this.opts.scaleUpAfterMs ?? SCALE_UP_AFTER_MS;
  }

  /** Until a slot frees or a start finishes (wakeOne), or `limitMs` passed. */
  private async waitForSlot(fn: string, limitMs?: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = limitMs === undefined ? undefined : setTimeout(() => done(true), limitMs);
      const waiter: Waiter = { wake: () => done(false) };
      const done = (timedOut: boolean): void => {
        clearTimeout(timer);
        if (timedOut) {
          const list = this.waitersOf(fn);
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
        }
        resolve();
      };
      this.waitersOf(fn).push(waiter);
    });
  }

  /** Requests of `fn` waiting for a free slot (all instances busy at max-scale). */
  waiting(fn: string): number {
    return this.waiters.get(fn)?.length ?? 0;
  }

  /** Running instances of `fn` (starting ones included). */
  instanceCount(fn: string): number {
    return this.live(fn).length;
  }

  /** Cold starts so far, oldest first. */
  coldStarts(fn?: string): ColdStart[] {
    return this.cold.filter((c) => fn === undefined || c.fn === fn);
  }

  /** The URL of a ready instance of `fn`, without starting or reserving one (a scrape target while it runs). */
  runningUrl(fn: string): string | undefined {
    return this.live(fn).find((i) => i.isReady)?.url;
  }

  isRunning(fn: string): boolean {
    return this.live(fn).length > 0;
  }

  /** The pid of the oldest running instance. */
  pid(fn: string): number | undefined {
    return this.live(fn)[0]?.child.pid;
  }

  pids(fn: string): number[] {
    return this.live(fn)
      .map((i) => i.child.pid)
      .filter((p): p is number => p !== undefined);
  }

  /** Resident memory of a function's running instances in KiB (Linux /proc), undefined when none runs. */
  rssKiB(fn: string): number | undefined {
    const each = this.pids(fn).map((pid) => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m?.[1] === undefined ? 0 : Number(m[1]);
      } catch {
        return 0;
      }
    });
    return each.length === 0 ? undefined : each.reduce((a, b) => a + b, 0);
  }

  /** Stops every instance of one function now (its next event starts it again; min-scale is not restored). */
  async stopFunction(fn: string): Promise<void> {
    await Promise.all(this.live(fn).map((i) => this.scaleDown(fn, i, true)));
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const fn of this.waiters.keys()) this.wakeAll(fn);
    await Promise.all(this.names.map((fn) => this.stopFunction(fn)));
    await Promise.all([...this.stopping]);
  }

  private live(fn: string): Instance[] {
    return (this.instances.get(fn) ?? []).filter((i) => i.child.running);
  }

  private waitersOf(fn: string): Waiter[] {
    let list = this.waiters.get(fn);
    if (list === undefined) this.waiters.set(fn, (list = []));
    return list;
  }

  private wakeAll(fn: string): void {
    while (this.wakeOne(fn));
  }

  private wakeOne(fn: string): boolean {
    const w = this.waiters.get(fn)?.shift();
    w?.wake();
    return w !== undefined;
  }

  private lease(fn: string, instance: Instance): FunctionLease {
    instance.inflight++;
    if (instance.idleTimer !== undefined) clearTimeout(instance.idleTimer);
    instance.idleTimer = undefined;
    const { timeoutMs } = this.scaling(fn);
    let released = false;
    return {
      url: instance.url,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      release: (responded) => {
        if (released) return;
        released = true;
        instance.inflight--;
        if (responded && !instance.answered) this.recordColdStart(fn, instance);
        this.wakeOne(fn);
        if (instance.inflight === 0 && this.live(fn).includes(instance)) {
          instance.idleTimer = setTimeout(() => {
            if (this.live(fn).length > this.scaling(fn).minScale) void this.scaleDown(fn, instance);
          }, this.scaling(fn).idleMs);
        }
      },
    };
  }

  private recordColdStart(fn: string, instance: Instance): void {
    instance.answered = true;
    void instance.ready.then((readyMs) => {
      this.cold.push({
        fn,
        pid: instance.child.pid,
        spawnToReadyMs: readyMs,
        spawnToFirstResponseMs: performance.now() - instance.child.startedAt,
      });
    });
  }

  private async keepMinimum(fn: string): Promise<void> {
    const missing = this.scaling(fn).minScale - this.live(fn).length - (this.pending.get(fn) ?? 0);
    await Promise.all(Array.from({ length: Math.max(0, missing) }, async () => (await this.spawn(fn)).ready));
  }

  private async spawn(fn: string): Promise<Instance> {
    const spec = this.functions[fn];
    if (spec === undefined) throw new Error(`no function ${fn} is configured (known: ${this.names.join(', ')})`);
    this.pending.set(fn, (this.pending.get(fn) ?? 0) + 1);
    let port: number;
    try {
      port = await freePort();
    } finally {
      this.pending.set(fn, (this.pending.get(fn) ?? 1) - 1);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.opts.env, ...spec.env, PORT: String(port) };
    const command = spec.command ?? process.execPath;
    const args = spec.args ?? ['--import', 'tsx', join(repoRoot, 'hack/run-fn.ts'), fn];
    const n = (this.instances.get(fn) ?? []).length;
    const child = new Child({
      name: fn,
      logFile: join(this.opts.logDir, `${fn}${n === 0 ? '' : `-${n}`}.log`),
      command,
      args,
      env,
      cwd: spec.cwd ?? repoRoot,
    });
    const url = `http://127.0.0.1:${port}`;
    const ready = waitReady(child, url, this.opts.readyTimeoutMs ?? 30_000);
    const instance: Instance = { child, url, ready, isReady: false, inflight: 0, answered: false };
    this.instances.set(fn, [...this.live(fn), instance]);
    ready.then(
      () => {
        instance.isReady = true;
        this.wakeAll(fn);
      },
      () => void child.stop(),
    );
    void child.exited.then(() => {
      this.instances.set(
        fn,
        this.live(fn).filter((i) => i !== instance),
      );
      this.wakeAll(fn);
      if (!this.closed && this.scaling(fn).minScale > 0) void this.keepMinimum(fn).catch(() => undefined);
    });
    return instance;
  }

  private async scaleDown(fn: string, instance: Instance, force = false): Promise<void> {
    if (!force && instance.inflight > 0) return;
    if (instance.idleTimer !== undefined) clearTimeout(instance.idleTimer);
    this.instances.set(
      fn,
      this.live(fn).filter((i) => i !== instance),
    );
    const done = instance.child.stop().finally(() => this.stopping.delete(done));
    this.stopping.add(done);
    await done;
  }
}

/** Polls /readyz until 200; resolves with the time since spawn (ms). */
async function waitReady(child: Child, url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running) throw new Error(`function ${child.name} exited before it was ready:\n${child.tail(20)}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return performance.now() - child.startedAt;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`function ${child.name} was not ready within ${timeoutMs} ms:\n${child.tail(20)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
