// One heavy test file at a time (ADR 0090). The test run executes files in parallel workers; a file
// that starts real processes (node agent with Patroni and PostgreSQL, Knative's processes, an S3
// server, Prometheus, a browser, a private control plane) holds this lock from its start to its end
// (the root hooks take it, with no time limit, for files test/support/heavy-files.ts names heavy), so
// those files run one after another as they always did, while light files run beside them. Each heavy
// part checks the lock is held (assertExclusive), so a file misnamed light fails at once, saying so.
// Outside a test run (PGFN_EXCLUSIVE_LOCK unset: the local stack, benches) it does nothing.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const EXCLUSIVE_LOCK_ENV = 'PGFN_EXCLUSIVE_LOCK';

let held = false;

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until this process holds the lock (re-entrant: a file starting several heavy parts takes it once). */
export async function takeExclusive(what: string): Promise<void> {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined || held) return;
  const lock = join(dir, 'held');
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner'), `${process.pid} ${what}\n`);
      held = true;
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // A holder that died (a crashed worker) leaves the directory behind: take it over.
    const owner = Number.parseInt(readOwner(lock), 10);
    if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) rmSync(lock, { recursive: true, force: true });
    await sleep(250);
  }
}

function readOwner(lock: string): string {
  try {
    return readFileSync(join(lock, 'owner'), 'utf8');
  } catch {
    return '';
  }
}

/** True when the lock's owner is this process's parent, grandparent…: a fixture a heavy file spawned. */
function heldByAncestor(dir: string): boolean {
  const owner = Number.parseInt(readOwner(join(dir, 'held')), 10);
  if (!Number.isInteger(owner) || owner <= 0) return false;
  for (let pid = process.ppid; pid > 1;) {
    if (pid === owner) return true;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '0', 10);
    } catch {
      return false;
    }
  }
  return false;
}

/** In a test run, fails unless this process (or one it descends from) holds the lock: `what` would start beside another heavy file. */
export function assertExclusive(what: string): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined || held || heldByAncestor(dir)) return;
  throw new Error(
    `${what} is started by a test file not named heavy, so it could run beside another heavy file: ` +
      'add what this file uses to HEAVY in test/support/heavy-files.ts (ADR 0090)',
  );
}

/** Gives the lock back (the end of a test file); a no-op when this process does not hold it. */
export function releaseExclusive(): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined || !held) return;
  held = false;
  rmSync(join(dir, 'held'), { recursive: true, force: true });
}
