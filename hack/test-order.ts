// Prints every test file in the order `npm test` hands them to mocha's two parallel workers, each worker
// taking the next file when it is free. Heavy files (those starting real processes: a node agent with
// Patroni, Knative's processes, Prometheus, a browser, a private control plane) hold their lanes' locks
// (shared/controlplane/src/exclusive.ts, ADR 0090, 0144), which the root hooks take; a worker whose next
// file's lane is held waits. So (ADR 0156):
// - a file that holds every lane goes first, followed by enough light files, longest first, to keep the
//   other worker busy while it runs;
// - the other heavy files, longest first by their recorded times (test/support/file-seconds.json), the
//   `nodes` lane's files (the most and longest; two may run at once) alternating with the rest, with the
//   remaining light files spread evenly among them, so that no long file is left for the end.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { EVERY_LANE } from '@pgfn/controlplane';
import { fileLanes } from '../test/support/heavy-files.js';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

/** `many` with `few` spread evenly among them (after every k-th of `many`). */
function spread(many: string[], few: string[]): string[] {
  const out: string[] = [];
  const every = many.length / Math.max(1, few.length);
  let taken = 0;
  many.forEach((m, i) => {
    out.push(m);
    const upTo = Math.min(few.length, Math.round((i + 1) / every));
    out.push(...few.slice(taken, upTo));
    taken = upTo;
  });
  return [...out, ...few.slice(taken)];
}

/** Recorded wall times (hack/file-seconds.ts); a file absent from them (a new one) counts as `DEFAULT_SECONDS`. */
const RECORDED = (JSON.parse(readFileSync(join(ROOT, 'test/support/file-seconds.json'), 'utf8')) as { seconds: Record<string, number> })
  .seconds;
/** About a light file's mean time in a full run (359 s over 143 files). */
const DEFAULT_SECONDS = 2.5;
const secondsOf = (f: string): number => RECORDED[relative(ROOT, f)] ?? DEFAULT_SECONDS;
const longestFirst = (fs: string[]): string[] => [...fs].sort((a, b) => secondsOf(b) - secondsOf(a));

const files = testFiles(join(ROOT, 'test'));
const holdsEveryLane = (f: string): boolean => EVERY_LANE.every((need) => fileLanes(f).includes(need));
const alone = files.filter(holdsEveryLane);
const nodesLane = longestFirst(files.filter((f) => !alone.includes(f) && fileLanes(f).some((need) => need.startsWith('nodes'))));
const otherHeavy = longestFirst(files.filter((f) => fileLanes(f).length > 0 && !alone.includes(f) && !nodesLane.includes(f)));
const light = longestFirst(files.filter((f) => fileLanes(f).length === 0));
// Light files enough to fill the time of the files that hold every lane, so the other worker never waits on them.
const beside: string[] = [];
const aloneSeconds = alone.reduce((sum, f) => sum + secondsOf(f), 0);
for (let filled = 0; filled < aloneSeconds && beside.length < light.length; filled += secondsOf(light[beside.length] as string))
  beside.push(light[beside.length] as string);
const rest = light.filter((f) => !beside.includes(f));
const order = [...alone, ...beside, ...spread(spread(nodesLane, otherHeavy), rest)];
console.log(order.map((f) => relative(ROOT, f)).join('\n'));
