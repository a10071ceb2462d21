// Heavy test files take turns by lane (ADR 0090, 0144). The test run executes files in two parallel
// workers; a file that starts real processes holds, from its start to its end, the lock of each lane its
// parts need (the root hooks take them, with no time limit, for the lanes test/support/heavy-files.ts
// finds), so two files that could disturb each other never overlap, while a file of another lane, or a
// light one, runs beside. Each heavy part checks its lane is held (assertExclusive), so a file whose
// parts were missed fails at once, saying so.
// Outside a test run (PGFN_EXCLUSIVE_LOCK unset: the local stack, benches) it does nothing.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const EXCLUSIVE_LOCK_ENV = 'PGFN_EXCLUSIVE_LOCK';

/**
 * What a heavy part can disturb, so what must not run twice at once:
 * - `nodes`: node agents (cluster-wide Nodes and loopback addresses, Patroni's failover timing) and
 *   what loads the CPU enough to upset that timing;
 * - `knative`: Knative's processes (fixed ports, cluster-wide controllers, the Trigger webhooks);
 * - `misc`: the other single-instance processes (Prometheus, a browser).
 * A private control plane takes every lane: it loads both cores.
 */
export const LANES = ['knative', 'misc', 'nodes'] as const;
export type Lane = (typeof LANES)[number];

const held = new Set<Lane>();

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const lockDir = (dir: string, lane: Lane): string => join(dir, `held-${lane}`);

/**
 * Waits until this process holds every lane in `lanes` (re-entrant). Lanes are taken in LANES' order,
 * so two files waiting for overlapping sets cannot hold one each and wait for each other.
 */
export async function takeExclusive(what: string, lanes: readonly Lane[] = LANES): Promise<void> {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined) return;
  for (const lane of LANES.filter((l) => lanes.includes(l) && !held.has(l))) {
    const lock = lockDir(dir, lane);
    for (;;) {
      try {
        mkdirSync(lock);
        writeFileSync(join(lock, 'owner'), `${process.pid} ${what}\n`);
        held.add(lane);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A holder that died (a crashed worker) leaves the directory behind: take it over.
      const owner = Number.parseInt(readOwner(lock), 10);
      if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
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
function heldByAncestor(lock: string): boolean {
  const owner = Number.parseInt(readOwner(lock), 10);
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

/** In a test run, fails unless this process (or one it descends from) holds `lanes`: `what` could start beside a file it disturbs. */
export function assertExclusive(what: string, lanes: readonly Lane[]): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined) return;
  const missing = lanes.filter((lane) => !held.has(lane) && !heldByAncestor(lockDir(dir, lane)));
  if (missing.length === 0) return;
  throw new Error(
    `${what} is started by a test file that does not hold the ${missing.join(', ')} lane, so it could run beside a file ` +
      'it disturbs: add what this file uses to HEAVY in test/support/heavy-files.ts (ADR 0090, 0144)',
  );
}

/** Gives every held lane back (the end of a test file); a no-op when this process holds none. */
export function releaseExclusive(): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined) return;
  for (const lane of held) rmSync(lockDir(dir, lane), { recursive: true, force: true });
  held.clear();
}
