import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';

/**
 * A component process in its own process group, output to a log file. Stopping signals the whole
 * group, so helpers a component forks die with it.
 */
export interface ManagedProcessOptions {
  readonly name: string;
  readonly logFile: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment; the parent's by default. */
  readonly env?: NodeJS.ProcessEnv;
}

export class ManagedProcess {
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  readonly name: string;
  readonly logFile: string;

  constructor({ name, logFile, command, args, env = process.env }: ManagedProcessOptions) {
    this.name = name;
    this.logFile = logFile;
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
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

  tail(lines = 30): string {
    return tailFile(this.logFile, lines);
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
