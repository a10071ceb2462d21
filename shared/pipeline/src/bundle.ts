import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { repoRoot } from '@pgfn/controlplane';

/** Optional native add-ons some dependencies try to load; absent at run time, never bundled. */
const OPTIONAL_NATIVE = ['pg-native', 'bufferutil', 'utf-8-validate', 'cpu-features'];

export interface BundleResult {
  readonly fn: string;
  readonly file: string;
  readonly bytes: number;
}

/**
 * One function as a single ES module for plain `node` (no tsx, no node_modules at run time): what the
 * image runs (Dockerfile) and what the cold-start measurement runs. CommonJS dependencies get a
 * `require` through createRequire.
 */
export async function bundleFunction(fn: string, outDir: string): Promise<BundleResult> {
  const entry = join(repoRoot, 'functions', fn, 'src/main.ts');
  if (!existsSync(entry)) throw new Error(`functions/${fn}/src/main.ts does not exist`);
  const file = join(outDir, `${fn}.mjs`);
  const result = await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: OPTIONAL_NATIVE,
    banner: { js: "import { createRequire as __pgfnCreateRequire } from 'node:module'; const require = __pgfnCreateRequire(import.meta.url);" },
    minifySyntax: true,
    minifyWhitespace: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  return { fn, file, bytes: outputBytes(result.metafile, file) };
}

function outputBytes(meta: Metafile, file: string): number {
  const entry = Object.entries(meta.outputs).find(([path]) => file.endsWith(path) || path.endsWith(file.split('/').slice(-2).join('/')));
  return entry?.[1].bytes ?? 0;
}
