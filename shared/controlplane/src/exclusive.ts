// One heavy test file at a time. The test run executes files in parallel workers; files that start
// real processes (node agent with Patroni and PostgreSQL, Knative's processes, an S3 server,
// Prometheus, a browser, a private control plane) take this lock when they start the first one and
// keep it until the file ends, so those files run one after another as they always did, while light
// files (API server and pure tests) run beside them. Outside a parallel test run
// (PGFN_EXCLUSIVE_LOCK unset: the local stack, benches, a single file) it does nothing.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const EXCLUSIVE_LOCK_ENV = 'PGFN_EXCLUSIVE_LOCK';

let held = false;

function alive(pid: number): boolean {
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
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(lock, { recursive: true, force: true });
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

/** Gives the lock back (the end of a test file); a no-op when this process does not hold it. */
export function releaseExclusive(): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined || !held) return;
  held = false;
  rmSync(join(dir, 'held'), { recursive: true, force: true });
}
