// Log directories a failing test prints the tails of, beside the control plane's (root-hooks.ts): a
// node agent's per-pod container logs (Patroni, PostgreSQL, PgBouncer) and its agent and event logs.
// CI keeps only the test command's output, so what a failure needs to be understood has to be printed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const dirs = new Map<number, { label: string; dir: string }>();
let nextId = 0;

/** Prints `dir`'s logs when a test of this worker fails, until the returned function is called. */
export function keepLogsOnFailure(label: string, dir: string): () => void {
  const id = nextId++;
  dirs.set(id, { label, dir });
  return () => dirs.delete(id);
}

/** The last `lines` lines of every `.log` file in the registered directories (two levels deep), newest file last. */
export function failureLogTails(lines: number, maxFiles = 40): string {
  const parts: string[] = [];
  for (const { label, dir } of dirs.values()) {
    const files = logFiles(dir, 2)
      .map((file) => ({ file, mtime: statSync(file).mtimeMs }))
      .sort((a, b) => a.mtime - b.mtime)
      .slice(-maxFiles);
    for (const { file } of files) parts.push(`----- ${label}: ${relative(dir, file)}, last ${lines} lines -----\n${tail(file, lines)}`);
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

function tail(file: string, lines: number): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
