// Prints every test file in the order `npm test` hands them to mocha's two parallel workers: heavy
// files (those starting real processes: a node agent with Patroni, Knative's processes, an S3 server,
// Prometheus, a browser, a private control plane) spread evenly among the light ones, so that while one
// worker runs a heavy file the other works through light files instead of waiting for the heavy-file
// lock (shared/controlplane/src/exclusive.ts, ADR 0090), which the root hooks take for heavy files.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { isHeavyFile } from '../test/support/heavy-files.js';

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

const files = testFiles(join(ROOT, 'test'));
const heavy = files.filter((f) => isHeavyFile(f));
const light = files.filter((f) => !heavy.includes(f));
const order: string[] = [];
const perHeavy = light.length / Math.max(1, heavy.length);
let taken = 0;
heavy.forEach((h, i) => {
  order.push(h);
  const upTo = Math.round((i + 1) * perHeavy);
  order.push(...light.slice(taken, upTo));
  taken = upTo;
});
order.push(...light.slice(taken));
console.log(order.map((f) => relative(ROOT, f)).join('\n'));
