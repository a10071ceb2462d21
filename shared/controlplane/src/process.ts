import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, statSync } from 'node:fs';

export interface ProcessOptions {
  /** Shown in errors and logs. */
  readonly name: string;
  /** Appended to; stdout and stderr both go here. */
  readonly logFile: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment; the parent's by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working folder; the parent's by default. */
  readonly cwd?: string;
  /** Opens an IPC channel to a Node child (messages through `ipc`). */
  readonly ipc?: boolean;
}

/**
 * A process of the local stack (a control-plane component, a pipeline adapter, a function, a bench
 * run) in its own process group, output to a log file. Stopping signals the whole group, so helpers
 * it forks die with it. The pipeline's Child is this class.
 */
export class ManagedProcess {
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  /** Length of the log file before this process started: logSinceStart() reads from here. */
  private readonly logOffset: number;
  readonly startedAt: number;

  readonly name: string;
  readonly logFile: string;

  constructor(opts: ProcessOptions) {
    const { name, logFile, command, args, env = process.env } = opts;
    this.name = name;
    this.logFile = logFile;
    this.logOffset = fileSize(logFile);
    this.startedAt = performance.now();
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(command, args, {
        detached: true,
        stdio: opts.ipc === true ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
        env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolveExit(this.exitCode);
      });
      this.child.once('error', (err) => {
        appendFileSync(logFile, `\n[pgfn] failed to start ${command}: ${err.message}\n`);
        this.exitCode = -1;
        resolveExit(-1);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (failed to start)`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The IPC channel (only when started with `ipc: true`). */
  get ipc(): ChildProcess {
    return this.child;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    signalGroup(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.child.pid ?? 0, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Anything the leader left behind in its group goes too.
    signalGroup(this.child.pid, 'SIGKILL');
  }

  /** SIGKILL to the group, as a crash or an evicted pod would end it. */
  async kill(): Promise<void> {
    if (this.child.pid !== undefined && this.running) signalGroup(this.child.pid, 'SIGKILL');
    await this.exited;
  }

  tail(lines = 30): string {
    return tailFile(this.logFile, lines);
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

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function tailFile(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
