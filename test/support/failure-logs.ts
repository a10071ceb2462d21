// Log directories a failing test prints the tails of, beside the control plane's (root-hooks.ts): a
// node agent's per-pod container logs (Patroni, PostgreSQL, PgBouncer) and its agent and event logs,
// and the state of its pods' processes (a Patroni that stopped logging: hung, and where).
// CI keeps only the test command's output, so what a failure needs to be understood has to be printed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tailFile } from '@pgfn/controlplane';

const dirs = new Map<number, { label: string; dir: string; processGroups?: () => readonly number[] }>();
let nextId = 0;

/**
 * Prints `dir`'s logs when a test of this worker fails, until the returned function is called; with
 * `processGroups`, also the processes of those groups and the kernel wait of each Python thread.
 */
export function keepLogsOnFailure(label: string, dir: string, processGroups?: () => readonly number[]): () => void {
  const id = nextId++;
  dirs.set(id, { label, dir, ...(processGroups === undefined ? {} : { processGroups }) });
  return () => dirs.delete(id);
}

/** `ps` of the processes in `groups`, and per thread of each Python process (Patroni) its state and kernel wait channel. */
export function processTable(groups: readonly number[]): string {
  if (groups.length === 0) return '(no running process group)';
  const wanted = new Set(groups.map(String));
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat=,wchan:24=,etime=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => wanted.has(line.trim().split(/\s+/)[1] ?? ''));
  const python = rows.filter((r) => /python/.test(r)).map((r) => r.trim().split(/\s+/)[0] ?? '');
  // A process may end between the two listings: ps then finds nothing and exits 1.
  const threadsOf = (pid: string): string => execFileSync('ps', ['-L', '-o', 'tid,stat,wchan:24,comm', '-p', pid], { encoding: 'utf8' });
  const threads = python.map((pid) => `threads of ${pid}:\n${describe(() => threadsOf(pid).trimEnd())}`);
  return ['  PID  PGID STAT WCHAN                    ELAPSED COMMAND', ...rows, ...threads].join('\n');
}

/** The last `lines` lines of every `.log` file in the registered directories (two levels deep), newest file last. */
export function failureLogTails(lines: number, maxFiles = 40): string {
  const parts: string[] = [];
  for (const { label, dir, processGroups } of dirs.values()) {
    if (processGroups !== undefined) parts.push(`----- ${label}: processes -----\n${describe(() => processTable(processGroups()))}`);
    const files = logFiles(dir, 2)
      .map((file) => ({ file, mtime: statSync(file).mtimeMs }))
      .sort((a, b) => a.mtime - b.mtime)
      .slice(-maxFiles);
    for (const { file } of files) parts.push(`----- ${label}: ${relative(dir, file)}, last ${lines} lines -----\n${tailFile(file, lines)}`);
  }
  return parts.join('\n');
}

function logFiles(dir: string, depth: number): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return depth > 1 ? logFiles(path, depth - 1) : [];
    return e.isFile() && e.name.endsWith('.log') ? [path] : [];
  });
}

function describe(what: () => string): string {
  try {
    return what();
  } catch (err) {
    return `(not available: ${(err as Error).message})`;
  }
}
