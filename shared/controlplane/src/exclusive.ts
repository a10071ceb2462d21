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
 * What a heavy part can disturb, so what must not run too often at once:
 * - `nodes`: node agents with Patroni. Two slots: each test worker's agents and clusters carry its own
 *   group (ADR 0145), so two such files can share a run; what would upset their failover timing (the
 *   fault-injection runs whose recovery is measured) takes both;
 * - `knative`: Knative's processes (fixed ports, cluster-wide controllers, the Trigger webhooks);
 * - `misc`: the other single-instance processes (Prometheus, a browser, Zalando's operator) and a
 *   private control plane.
 */
export const LANES = ['knative', 'misc', 'nodes'] as const;
export type Lane = (typeof LANES)[number];
const SLOTS: Readonly<Record<Lane, number>> = { knative: 1, misc: 1, nodes: 2 };

/** A lane a part needs: one of its slots, or (`<lane>:all`) every slot, alone in it. */
export type LaneNeed = Lane | `${Lane}:all`;

/** Every slot of every lane: a serial run, or a file whose lanes are not known. */
export const EVERY_LANE: readonly LaneNeed[] = LANES.map((l) => `${l}:all` as const);

/**
 * A private control plane (ADR 0147): the misc lane, so at most one runs at a time and never beside the
 * other CPU-heavy single-instance tools. Node-agent and Knative files run beside it: its processes use
 * free ports and a directory of their own, and only the file's own Nodes and pods live in it.
 */
export const PRIVATE_CONTROL_PLANE: readonly LaneNeed[] = ['misc'];

/**
 * Zalando's operator in a test (ADR 0147): the misc lane, one at a time. It watches only its own
 * namespace and its pods are kwok's; in the differential it used under a second of CPU in two minutes,
 * so node-agent files run beside it.
 */
export const ZALANDO_OPERATOR: readonly LaneNeed[] = ['misc'];

const laneOf = (need: LaneNeed): Lane => need.split(':')[0] as Lane;
const wantsAll = (need: LaneNeed): boolean => need.endsWith(':all');

/** Slot directory names held by this process. */
const held = new Set<string>();

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const slotName = (lane: Lane, slot: number): string => `held-${lane}-${slot}`;
const slotsOf = (lane: Lane): string[] => Array.from({ length: SLOTS[lane] }, (_, i) => slotName(lane, i));

/** Takes the slot directory `name` if free (or left by a dead holder); true when this process now holds it. */
function tryTake(dir: string, name: string, what: string): boolean {
  if (held.has(name)) return true;
  const lock = join(dir, name);
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'owner'), `${process.pid} ${what}\n`);
    held.add(name);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // A holder that died (a crashed worker) leaves the directory behind: free it for the next try.
  const owner = Number.parseInt(readOwner(lock), 10);
  if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) rmSync(lock, { recursive: true, force: true });
  return false;
}

/**
 * Waits until this process holds what `needs` asks (re-entrant). Lanes are taken in LANES' order and a
 * lane's slots in their order, so two files waiting for overlapping sets cannot hold one each and wait
 * for each other.
 */
export async function takeExclusive(what: string, needs: readonly LaneNeed[] = EVERY_LANE): Promise<void> {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined) return;
  for (const lane of LANES) {
    const mine = needs.filter((n) => laneOf(n) === lane);
    if (mine.length === 0) continue;
    const slots = slotsOf(lane);
    if (mine.some(wantsAll)) {
      for (const slot of slots) while (!tryTake(dir, slot, what)) await sleep(250);
    } else {
      while (!slots.some((slot) => held.has(slot)) && !slots.some((slot) => tryTake(dir, slot, what))) await sleep(250);
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

/**
 * In a test run, fails unless this process (or one it descends from) holds what `needs` asks: `what`
 * could otherwise start beside a file it disturbs.
 */
export function assertExclusive(what: string, needs: readonly LaneNeed[]): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined) return;
  const holds = (slot: string): boolean => held.has(slot) || heldByAncestor(join(dir, slot));
  const missing = needs.filter((need) => {
    const slots = slotsOf(laneOf(need));
    return wantsAll(need) ? !slots.every(holds) : !slots.some(holds);
  });
  if (missing.length === 0) return;
  throw new Error(
    `${what} is started by a test file that does not hold the ${missing.join(', ')} lane, so it could run beside a file ` +
      'it disturbs: add what this file uses to HEAVY in test/support/heavy-files.ts (ADR 0090, 0144)',
  );
}

/** Gives every held slot back (the end of a test file); a no-op when this process holds none. */
export function releaseExclusive(): void {
  const dir = process.env[EXCLUSIVE_LOCK_ENV];
  if (dir === undefined) return;
  for (const slot of held) rmSync(join(dir, slot), { recursive: true, force: true });
  held.clear();
}
