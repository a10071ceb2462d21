// A small seeded PRNG (mulberry32): the same seed gives the same sequence of choices, so a failing
// chaos run is reproduced by its seed (the timing of concurrent deliveries is the only thing it cannot fix).

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(items.length)] as T;
    },
  };
}

/** A seed from PGFN_CHAOS_SEED, or a fresh one (printed by the caller so a failure can be replayed). */
export function seedFromEnv(fallback: () => number = () => Math.floor(Math.random() * 2 ** 31)): number {
  const raw = process.env['PGFN_CHAOS_SEED'];
  if (raw === undefined || raw === '') return fallback();
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`PGFN_CHAOS_SEED must be an integer, got ${raw}`);
  return seed;
}
