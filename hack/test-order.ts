// Prints every test file in the order `npm test` hands them to mocha's two parallel workers: heavy
// files (those starting real processes: a node agent with Patroni, Knative's processes, Prometheus, a
// browser, a private control plane) spread evenly among the light ones, and the files of the `nodes` lane
// (the most and longest) alternating with the other heavy ones, so that while one worker runs a heavy file
// the other works through light files or a heavy file of another lane instead of waiting for a lane's lock
// (shared/controlplane/src/exclusive.ts, ADR 0090, 0144), which the root hooks take for heavy files.
// The `nodes` lane's files go largest first (ADR 0159): the size of a file tracks how long it runs, and a
// run that ends on its longest file leaves the other worker idle for most of it.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

const files = testFiles(join(ROOT, 'test'));
const bytes = (f: string): number => statSync(f).size;
const nodesLane = files.filter((f) => fileLanes(f).some((need) => need.startsWith('nodes'))).sort((a, b) => bytes(b) - bytes(a));
const otherHeavy = files.filter((f) => fileLanes(f).length > 0 && !nodesLane.includes(f));
const heavy = spread(nodesLane, otherHeavy);
const light = files.filter((f) => fileLanes(f).length === 0);
const order = spread(heavy, light);
console.log(order.map((f) => relative(ROOT, f)).join('\n'));
