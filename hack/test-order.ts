// Prints every test file in the order `npm test` hands them to mocha's two parallel workers: heavy
// files (those starting real processes: a node agent with Patroni, Knative's processes, an S3 server,
// Prometheus, a browser, a private control plane) spread evenly among the light ones, so that while one
// worker runs a heavy file the other works through light files instead of waiting for the heavy-file
// lock (shared/controlplane/src/exclusive.ts, ADR 0090). The lock, not this order, keeps heavy files
// apart: a file this guess calls light that starts a heavy part just waits its turn.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const HEAVY =
  /startNodeAgent|startTestAgent|startStack|startKnativePath|KnativeControllers|S3Server|startS3|Prometheus\.start|launchBrowser|ControlPlane\.start|SpiloCluster|startSpiloCluster/;

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

/** The file's own text and that of the local modules it imports (one level: support files). */
function looksHeavy(file: string): boolean {
  const text = readFileSync(file, 'utf8');
  if (HEAVY.test(text)) return true;
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
    const imported = resolve(dirname(file), `${m[1]}.ts`);
    if (existsSync(imported) && HEAVY.test(readFileSync(imported, 'utf8'))) return true;
  }
  return false;
}

const files = testFiles(join(ROOT, 'test'));
const heavy = files.filter(looksHeavy);
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
