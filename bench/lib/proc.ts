import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/**
 * A process the bench starts (the extra apiserver, Zalando's operator, the pgfn side), in its own
 * process group with output in a log file; stop() signals the whole group.
 */
export class BenchProcess {
  private readonly child: ChildProcess;
  private code: number | null | undefined;
  readonly exited: Promise<number | null>;
  readonly startedAt = performance.now();

  constructor(readonly name: string, readonly logFile: string, command: string, args: readonly string[],
    env: NodeJS.ProcessEnv = process.env, extra: Pick<SpawnOptions, 'cwd'> & { ipc?: boolean } = {}) {
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(command, args, {
        detached: true, env, ...(extra.cwd === undefined ? {} : { cwd: extra.cwd }),
        stdio: extra.ipc === true ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.code = code ?? (signal === null ? null : -1);
        resolve(this.code);
      });
      this.child.once('error', () => {
        this.code = -1;
        resolve(-1);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (it failed to start)`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.code === undefined;
  }

  /** The IPC channel (only when started with `ipc: true`). */
  get ipc(): ChildProcess {
    return this.child;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const pid = this.child.pid;
    if (!this.running || pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    signalGroup(pid, 'SIGKILL');
  }

  tail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Polls `check` every `everyMs` until it returns true; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
