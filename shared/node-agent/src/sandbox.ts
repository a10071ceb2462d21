// A container without a container runtime: the process runs in fresh PID, mount, UTS and IPC
// namespaces (util-linux `unshare`), so
// - the pod's own files appear at the paths its image expects (/run, /home/postgres, volume mounts)
//   through bind mounts that only this pod sees, and `hostname` is the pod name;
// - killing the namespace's first process makes the kernel kill every other process in it. That is what
//   makes a crash real: Postgres backends call setsid(), so signalling a process group alone would
//   leave orphans that keep acknowledging writes (DESIGN.md §3).
// The network namespace is shared: each pod listens on its own loopback address instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export type SandboxMount =
  | { readonly kind: 'tmpfs'; readonly target: string; readonly mode?: string; readonly owner?: string }
  | { readonly kind: 'bind'; readonly source: string; readonly target: string; readonly readOnly?: boolean; readonly file?: boolean };

export interface SandboxSpec {
  /** Mounts in order (parents before children). */
  readonly mounts: readonly SandboxMount[];
  readonly hostname: string;
  /** Shell commands run as root after the mounts, before dropping privileges (symlinks, chown). */
  readonly setup?: readonly string[];
  /** `user:group` to run as; root when undefined. */
  readonly user?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
  readonly cwd?: string;
  readonly logFile: string;
}

export interface SandboxExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running sandbox; its process group holds `unshare` and the namespace's first process. */
export class SandboxProcess {
  private readonly child: ChildProcess;
  readonly exited: Promise<SandboxExit>;
  private done = false;

  constructor(spec: SandboxSpec) {
    const fd = openSync(spec.logFile, 'a');
    try {
      writeSync(fd, `\n----- ${new Date().toISOString()} starting ${spec.argv.join(' ')} -----\n`);
      this.child = spawn(
        '/usr/bin/unshare',
        ['--mount', '--pid', '--uts', '--ipc', '--fork', '--kill-child', '--mount-proc', '--', '/bin/sh', '-c', initScript(spec)],
        { detached: true, stdio: ['ignore', fd, fd], env: { ...spec.env } },
      );
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.done = true;
        resolveExit({ code, signal });
      });
      this.child.once('error', (err) => {
        this.done = true;
        const log = openSync(spec.logFile, 'a');
        writeSync(log, `[pgfn-node-agent] could not start the sandbox: ${err.message}\n`);
        closeSync(log);
        resolveExit({ code: 127, signal: null });
      });
    });
  }

  /** The process group id (= pid of `unshare`). */
  get pgid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Signals the whole group: `unshare` ignores TERM/INT while it waits, the namespace's first process gets it. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.done) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: already gone.
    }
  }

  /** Host pid of the namespace's first process (the container's program once the init script exec'd it). */
  get initPid(): number | undefined {
    const pid = this.child.pid;
    if (pid === undefined || this.done) return undefined;
    try {
      const init = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      return Number.isInteger(init) && init > 0 ? init : undefined;
    } catch {
      return undefined; // Not started yet or already gone.
    }
  }

  /** Signals only the namespace's first process (the container's program), e.g. SIGHUP to reload. */
  signalInit(signal: NodeJS.Signals): void {
    const init = this.initPid;
    if (init === undefined) return;
    try {
      process.kill(init, signal);
    } catch {
      // Already gone.
    }
  }

  /**
   * SIGTERM to the container's program alone, as runc and containerd stop a container, then SIGKILL to
   * the group after `graceMs` if still running; resolves on exit. Not to the whole group: a program that
   * runs as PID 1 and forwards TERM to its worker (Patroni does) would make the worker get it twice, and
   * Patroni 3.0's handler then deadlocks on its own non-reentrant lock (ADR 0095).
   */
  async stop(graceMs: number): Promise<SandboxExit> {
    if (this.initPid === undefined) this.signal('SIGTERM');
    else this.signalInit('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), Math.max(0, graceMs));
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Single-quotes a word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The root-side script run as the namespace's first process before it becomes the container's program. */
export function initScript(spec: SandboxSpec): string {
  const q = shellQuote;
  const lines = ['set -e'];
  for (const m of spec.mounts) {
    if (m.kind === 'tmpfs') {
      lines.push(`/usr/bin/mkdir -p ${q(m.target)}`);
      lines.push(`/usr/bin/mount -t tmpfs -o mode=${m.mode ?? '0755'} tmpfs ${q(m.target)}`);
      if (m.owner !== undefined) lines.push(`/usr/bin/chown ${q(m.owner)} ${q(m.target)}`);
      continue;
    }
    if (m.file === true) {
      lines.push(`/usr/bin/mkdir -p "$(/usr/bin/dirname ${q(m.target)})"`, `[ -e ${q(m.target)} ] || /usr/bin/touch ${q(m.target)}`);
    } else {
      lines.push(`/usr/bin/mkdir -p ${q(m.target)}`);
    }
    lines.push(`/usr/bin/mount --bind ${q(m.source)} ${q(m.target)}`);
    if (m.readOnly === true) lines.push(`/usr/bin/mount -o remount,bind,ro ${q(m.target)}`);
  }
  lines.push(`/usr/bin/hostname ${q(spec.hostname)}`);
  lines.push(...(spec.setup ?? []));
  if (spec.cwd !== undefined) lines.push(`cd ${q(spec.cwd)}`);
  const argv = spec.argv.map(q).join(' ');
  if (spec.user === undefined) {
    lines.push(`exec ${argv}`);
  } else {
    const [user, group] = spec.user.split(':') as [string, string | undefined];
    lines.push(`exec /usr/bin/setpriv --reuid=${q(user)} --regid=${q(group ?? user)} --init-groups -- ${argv}`);
  }
  return lines.join('\n');
}
