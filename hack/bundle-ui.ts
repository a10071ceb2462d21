// node --import tsx hack/bundle-ui.ts <outDir>: the UI (shared/ui/src/main.ts) as <outDir>/ui.mjs, bundled
// as one ES module, without the functions' launcher and code cache (the Dockerfile runs it after bundle-cli;
// knative/ui runs /app/dist/ui.mjs).
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import { bundleEntry } from '@pgfn/pipeline';

const [outDir] = process.argv.slice(2);
if (outDir === undefined) {
  console.error('usage: bundle-ui.ts <outDir>');
  process.exit(2);
}
const r = await bundleEntry(join(repoRoot, 'shared/ui/src/main.ts'), 'ui', outDir);
console.log(`${r.fn}: ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB)`);
