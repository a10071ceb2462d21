// node --import tsx shared/pipeline/src/bundle-cli.ts <outDir> [function ...]
// Bundles the named functions (default: every functions/<fn> with a src/main.ts) into <outDir>/<fn>.mjs.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFunction } from './bundle.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

const [outDir, ...named] = process.argv.slice(2);
if (outDir === undefined) {
  console.error('usage: bundle-cli.ts <outDir> [function ...]');
  process.exit(2);
}
const fns =
  named.length > 0
    ? named
    : readdirSync(join(repoRoot, 'functions')).filter((d) => existsSync(join(repoRoot, 'functions', d, 'src/main.ts')));
for (const fn of fns) {
  const r = await bundleFunction(fn, outDir);
  console.log(`${r.fn}: ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB)`);
}
