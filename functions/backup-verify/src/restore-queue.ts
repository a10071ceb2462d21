// The fleet's restore-test queue (pure, ADR 0071): at most `limit` restore tests run at once across
// every invocation; the others wait, the cluster whose last restore test is oldest (never tested
// first) ahead. The state is one JSON map kept in the API (restore-slots.ts); entries nobody renews
// expire, so a function that died frees its slot and a cold start finds the queue where it was.

export interface QueueEntry {
  readonly state: 'running' | 'waiting' | 'idle';
  /** Who runs it (running) or last asked (waiting). */
  readonly holder?: string;
  /** Since when it waits or runs (RFC 3339). */
  readonly since?: string;
  /** Last renewal: running entries are renewed while the test runs, waiting ones on each attempt. */
  readonly renewedAt?: string;
  /** When its last restore test ended. */
  readonly lastTested?: string;
}

/** Per cluster, keyed `<namespace>/<name>`. */
export type QueueState = Readonly<Record<string, QueueEntry>>;

export interface QueueRules {
  /** Restore tests at once across the fleet (PGFN_RESTORE_TESTS_AT_ONCE). */
  readonly limit: number;
  /** A running entry not renewed for this long is a dead holder's: its slot is free. */
  readonly runningTtlSeconds: number;
  /** A waiting entry not renewed for this long left the queue (the hourly check asks again). */
  readonly waitingTtlSeconds: number;
}

export const DEFAULT_QUEUE_RULES: QueueRules = { limit: 2, runningTtlSeconds: 90, waitingTtlSeconds: 7200 };

function alive(e: QueueEntry, now: Date, rules: QueueRules): boolean {
  if (e.state === 'idle' || e.renewedAt === undefined) return false;
  const ttl = e.state === 'running' ? rules.runningTtlSeconds : rules.waitingTtlSeconds;
  return Date.parse(e.renewedAt) + ttl * 1000 > now.getTime();
}

/** Expired running/waiting entries become idle (their last test time kept). */
function pruned(state: QueueState, now: Date, rules: QueueRules): Record<string, QueueEntry> {
  const out: Record<string, QueueEntry> = {};
  for (const [key, e] of Object.entries(state)) {
    out[key] = e.state === 'idle' || alive(e, now, rules) ? e : idle(e.lastTested);
  }
  return out;
}

function idle(lastTested: string | undefined): QueueEntry {
  return lastTested === undefined ? { state: 'idle' } : { state: 'idle', lastTested };
}

/** Waiting order: oldest last test first (never tested before all), then longest waiting, then name. */
function fairOrder(a: [string, QueueEntry], b: [string, QueueEntry]): number {
  const last = (e: QueueEntry): number => (e.lastTested === undefined ? -Infinity : Date.parse(e.lastTested));
  const since = (e: QueueEntry): number => (e.since === undefined ? 0 : Date.parse(e.since));
  return last(a[1]) - last(b[1]) || since(a[1]) - since(b[1]) || a[0].localeCompare(b[0]);
}

export interface Admission {
  readonly next: QueueState;
  readonly admitted: boolean;
  /** When waiting: 1 for the next to run. */
  readonly position: number;
  /** Entries waiting after this decision (this one included when it waits). */
  readonly waiting: number;
}

/** `key` asks to run its restore test now: admitted when a slot is free and nobody ahead of it waits. */
export function admit(o: { state: QueueState; key: string; holder: string; now: Date; rules: QueueRules }): Admission {
  const { key, holder, now, rules } = o;
  const state = pruned(o.state, now, rules);
  const stamp = now.toISOString();
  const mine = state[key];
  if (mine?.state === 'running' && mine.holder === holder) {
    const next = { ...state, [key]: { ...mine, renewedAt: stamp } };
    return { next, admitted: true, position: 0, waiting: countWaiting(next) };
  }
  // Another holder running this cluster's test: it waits (the per-cluster Lease makes this rare).
  const runningOthers = Object.entries(state).filter(([k, e]) => e.state === 'running' && k !== key).length;
  const busyHere = mine?.state === 'running';
  const me: QueueEntry = {
    state: 'waiting',
    holder,
    since: mine?.state === 'waiting' && mine.since !== undefined ? mine.since : stamp,
    renewedAt: stamp,
    ...(mine?.lastTested === undefined ? {} : { lastTested: mine.lastTested }),
  };
  const waiting = Object.entries({ ...state, [key]: me })
    .filter(([, e]) => e.state === 'waiting')
    .sort(fairOrder);
  const index = waiting.findIndex(([k]) => k === key);
  const free = rules.limit - runningOthers - (busyHere ? 1 : 0);
  if (!busyHere && index < free) {
    const running: QueueEntry = { ...me, state: 'running', since: stamp };
    const next = { ...state, [key]: running };
    return { next, admitted: true, position: 0, waiting: countWaiting(next) };
  }
  const next = busyHere ? state : { ...state, [key]: me };
  return { next, admitted: false, position: index + 1 - Math.max(free, 0), waiting: countWaiting(next) };
}

function countWaiting(state: QueueState): number {
  return Object.values(state).filter((e) => e.state === 'waiting').length;
}

/** The running entry renewed; `held: false` when it is no longer this holder's (expired and taken). */
export function renew(o: { state: QueueState; key: string; holder: string; now: Date }): { next: QueueState; held: boolean } {
  const mine = o.state[o.key];
  if (mine?.state !== 'running' || mine.holder !== o.holder) return { next: o.state, held: false };
  return { next: { ...o.state, [o.key]: { ...mine, renewedAt: o.now.toISOString() } }, held: true };
}

/**
 * The test ended (whatever its outcome): the entry goes idle with its last test time, and the clusters
 * now at the head of the queue, as many as slots are free, are returned to be asked to go again.
 */
export function finish(o: { state: QueueState; key: string; holder: string; now: Date; rules: QueueRules }): {
  next: QueueState;
  heads: string[];
} {
  const state = pruned(o.state, o.now, o.rules);
  const mine = state[o.key];
  const next = mine?.state === 'running' && mine.holder === o.holder ? { ...state, [o.key]: idle(o.now.toISOString()) } : { ...state };
  const running = Object.values(next).filter((e) => e.state === 'running').length;
  const heads = Object.entries(next)
    .filter(([, e]) => e.state === 'waiting')
    .sort(fairOrder)
    .slice(0, Math.max(o.rules.limit - running, 0))
    .map(([k]) => k);
  return { next, heads };
}
