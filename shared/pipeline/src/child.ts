import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';

export interface ChildOptions {
  /** Shown in errors and logs. */
  readonly name: string;
  /** Appended to; stdout and stderr both go here. */
  readonly logFile: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment; the parent's by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working folder; the parent's by default. */
  readonly cwd?: string;
  /** Opens an IPC channel to a Node child (messages through `ipc`). */
  readonly ipc?: boolean;
}

/**
 * A process of the pipeline (an adapter, a function) or of the bench in its own process group with its
 * output in a log file. Stopping signals the whole group, so whatever it forked goes with it.
 */
export class Child {
  private readonly proc: ChildProcess;
  private exitCode: number | null | undefined;
  /** Length of the log file before this process started: logSinceStart() reads from here. */
  private readonly logOffset: number;
  readonly exited: Promise<number | null>;
  readonly startedAt: number;

  readonly name: string;
  readonly logFile: string;

  constructor(opts: ChildOptions) {
    const { logFile, command, args, env = process.env } = opts;
    this.name = opts.name;
    this.logFile = logFile;
    this.logOffset = fileSize(logFile);
    this.startedAt = performance.now();
    const fd = openSync(logFile, 'a');
    try {
      this.proc = spawn(command, args, {
        detached: true,
        stdio: opts.ipc === true ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
        env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve(this.exitCode);
      });
      this.proc.once('error', () => {
        this.exitCode = -1;
        resolve(-1);
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The IPC channel (only when started with `ipc: true`). */
  get ipc(): ChildProcess {
    return this.proc;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the leader has exited. */
  async stop(graceMs = 5000): Promise<void> {
    const pid = this.proc.pid;
    if (!this.running || pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    signalGroup(pid, 'SIGKILL');
  }

  /** SIGKILL to the group, as a crash or an evicted pod would end it. */
  async kill(): Promise<void> {
    if (this.proc.pid !== undefined && this.running) signalGroup(this.proc.pid, 'SIGKILL');
    await this.exited;
  }

  tail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** The log written since this process started (the file may hold earlier runs' output). */
  logSinceStart(): string {
    try {
      return readFileSync(this.logFile).subarray(this.logOffset).toString('utf8');
    } catch {
      return '';
    }
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}
