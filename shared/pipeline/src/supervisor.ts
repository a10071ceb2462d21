import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, repoRoot } from '@pgfn/controlplane';
import { Child } from './child.js';

/** How to run one function as a process; by default `node --import tsx hack/run-fn.ts <name>`. */
export interface FunctionProcessSpec {
  readonly command?: string;
  readonly args?: readonly string[];
  /** Extra environment (the Knative Service's literal env values, for instance). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface SupervisorOptions {
  readonly functions: Readonly<Record<string, FunctionProcessSpec>>;
  readonly logDir: string;
  /** Stop a function this long after its last request finished (Knative: scale to zero). Default 60 s. */
  readonly idleMs?: number;
  /** Give up on a function that does not answer /readyz within this time. Default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Environment every function gets (KUBECONFIG, K_SINK, …), below its own env and PORT. */
  readonly env?: Readonly<Record<string, string>>;
}

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
  /** `responded`: the function answered (any status), as opposed to a connection failure. */
  release(responded: boolean): void;
}

interface Instance {
  readonly child: Child;
  readonly url: string;
  readonly ready: Promise<number>;
  inflight: number;
  answered: boolean;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Functions as separate processes, started by their first event and stopped after an idle period,
 * like Knative Services with min-scale 0 and max-scale 1: cold starts are real and measured.
 */
export class FunctionSupervisor {
  private readonly instances = new Map<string, Instance>();
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly starting = new Map<string, Promise<Instance>>();
  private readonly cold: ColdStart[] = [];
  private closed = false;

  constructor(private readonly opts: SupervisorOptions) {}

  get names(): string[] {
    return Object.keys(this.opts.functions);
  }

  has(fn: string): boolean {
    return fn in this.opts.functions;
  }

  /** A running, ready instance of `fn` (started if needed), reserved until released. */
  async acquire(fn: string): Promise<FunctionLease> {
    if (this.closed) throw new Error('the function supervisor is stopped');
    const instance = await this.instance(fn);
    instance.inflight++;
    if (instance.idleTimer !== undefined) clearTimeout(instance.idleTimer);
    instance.idleTimer = undefined;
    return {
      url: instance.url,
      release: (responded) => {
        instance.inflight--;
        if (responded && !instance.answered) {
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
        if (instance.inflight === 0 && this.instances.get(fn) === instance) {
          instance.idleTimer = setTimeout(() => {
            void this.scaleToZero(fn, instance);
          }, this.opts.idleMs ?? 60_000);
        }
      },
    };
  }

  /** Cold starts so far, oldest first. */
  coldStarts(fn?: string): ColdStart[] {
    return this.cold.filter((c) => fn === undefined || c.fn === fn);
  }

  /** The URL of `fn`'s running instance, without starting or reserving it (a scrape target while it runs). */
  runningUrl(fn: string): string | undefined {
    return this.isRunning(fn) ? this.instances.get(fn)?.url : undefined;
  }

  isRunning(fn: string): boolean {
    return this.instances.get(fn)?.child.running ?? false;
  }

  pid(fn: string): number | undefined {
    return this.instances.get(fn)?.child.pid;
  }

  /** Resident memory of a running function in KiB (Linux /proc), undefined when it is not running. */
  rssKiB(fn: string): number | undefined {
    const pid = this.pid(fn);
    if (pid === undefined || !this.isRunning(fn)) return undefined;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m?.[1] === undefined ? undefined : Number(m[1]);
    } catch {
      return undefined;
    }
  }

  /** Stops one function now (its next event starts it again). */
  async stopFunction(fn: string): Promise<void> {
    const instance = this.instances.get(fn);
    if (instance !== undefined) await this.scaleToZero(fn, instance, true);
  }

  async stop(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.keys()].map((fn) => this.stopFunction(fn)));
    await Promise.all(this.stopping.values());
  }

  private async instance(fn: string): Promise<Instance> {
    await this.stopping.get(fn);
    const existing = this.instances.get(fn);
    if (existing !== undefined && existing.child.running) {
      await existing.ready;
      return existing;
    }
    let starting = this.starting.get(fn);
    if (starting === undefined) {
      starting = this.spawn(fn).finally(() => this.starting.delete(fn));
      this.starting.set(fn, starting);
    }
    return starting;
  }

  private async spawn(fn: string): Promise<Instance> {
    const spec = this.opts.functions[fn];
    if (spec === undefined) throw new Error(`no function ${fn} is configured (known: ${this.names.join(', ')})`);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.opts.env, ...spec.env, PORT: String(port) };
    const command = spec.command ?? process.execPath;
    const args = spec.args ?? ['--import', 'tsx', join(repoRoot, 'hack/run-fn.ts'), fn];
    const child = new Child({ name: fn, logFile: join(this.opts.logDir, `${fn}.log`), command, args, env, cwd: spec.cwd ?? repoRoot });
    const url = `http://127.0.0.1:${port}`;
    const instance: Instance = {
      child,
      url,
      ready: waitReady(child, url, this.opts.readyTimeoutMs ?? 30_000),
      inflight: 0,
      answered: false,
    };
    this.instances.set(fn, instance);
    void child.exited.then(() => {
      if (this.instances.get(fn) === instance) this.instances.delete(fn);
    });
    try {
      await instance.ready;
    } catch (err) {
      await child.stop();
      throw err;
    }
    return instance;
  }

  private async scaleToZero(fn: string, instance: Instance, force = false): Promise<void> {
    if (!force && instance.inflight > 0) return;
    if (instance.idleTimer !== undefined) clearTimeout(instance.idleTimer);
    if (this.instances.get(fn) === instance) this.instances.delete(fn);
    const done = instance.child.stop().finally(() => {
      if (this.stopping.get(fn) === done) this.stopping.delete(fn);
    });
    this.stopping.set(fn, done);
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
