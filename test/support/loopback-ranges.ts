// Loopback /24s for the node agents tests start, claimed so that no two agents on this machine share
// one (ADR 0141): two agents on one range would give their pods the same addresses, and a client of
// one cluster could reach the other's Postgres. Random picks among 100 clashed for 1 % of pairs (two
// workers of a run, two worktrees' runs). A claim is a file per third octet, made exclusively with its
// owner's pid inside; a dead owner's claim is taken over, so a crashed run leaves nothing stuck.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '@pgfn/controlplane';

/** Ranges 127.0.100.0/24 … 127.0.199.0/24 (the local stack's 127.0.10.0/24 and benches' stay clear). */
const FIRST = 100;
const LAST = 199;

export interface LoopbackClaim {
  /** The third octet of the first range; the others follow it. */
  readonly firstOctet: number;
  /** `127.0.<octet>.0/24` for each claimed octet. */
  readonly ranges: readonly string[];
  /** Gives the ranges back (idempotent). */
  release(): void;
}

export interface ClaimOptions {
  /** How many consecutive /24s (default 1). */
  readonly count?: number;
  /** Where claims live (default <tmpdir>/pgfn-loopback-claims, shared by every run on this machine). */
  readonly dir?: string;
}

/** Takes one octet's claim for this process: true when taken (freshly, or over a dead owner's). */
function claimOctet(dir: string, octet: number): boolean {
  const file = join(dir, String(octet));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(readOwner(file), 10);
    // An owner still writing its pid reads as NaN: leave it be.
    if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) return false;
    rmSync(file, { force: true });
  }
  return false;
}

function readOwner(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Claims `count` consecutive loopback /24s no other agent on this machine holds; fails when none are free. */
export function claimLoopbackRanges(options: ClaimOptions = {}): LoopbackClaim {
  const { count = 1, dir = join(tmpdir(), 'pgfn-loopback-claims') } = options;
  mkdirSync(dir, { recursive: true });
  const starts = LAST - FIRST + 2 - count;
  // Start at a random place, so claimants do not all contend for the first ranges.
  const offset = Math.floor(Math.random() * starts);
  for (let i = 0; i < starts; i++) {
    const first = FIRST + ((offset + i) % starts);
    const taken: number[] = [];
    for (let octet = first; octet < first + count && claimOctet(dir, octet); octet++) taken.push(octet);
    const release = (): void => {
      for (const octet of taken.splice(0))
        if (readOwner(join(dir, String(octet))).trim() === String(process.pid)) rmSync(join(dir, String(octet)), { force: true });
    };
    if (taken.length === count) return { firstOctet: first, ranges: taken.map((o) => `127.0.${o}.0/24`), release };
    release();
  }
  throw new Error(`no ${count} consecutive free loopback /24s in 127.0.${FIRST}–${LAST}.0 (claims in ${dir})`);
}
