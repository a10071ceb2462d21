import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { repoRoot } from '@pgfn/controlplane';
import { writeCodeCache } from './code-cache.js';
import { launcherSource } from './launcher.js';

/** Optional native add-ons some dependencies try to load; absent at run time, never bundled. */
const OPTIONAL_NATIVE = ['pg-native', 'bufferutil', 'utf-8-validate', 'cpu-features'];

/**
 * Modules with no import-time side effects a function relies on, although no package.json says so:
 * esbuild may then drop every one of them nothing uses. For client-node this removes the generated
 * API classes and the model map behind ObjectSerializer, which KubeClient does not use; for
 * fn-runtime, the express app (and express) when main.ts listens with createCloudEventServer; for our
 * pure packages (api, builder, roles: no I/O or registration at import, no bare `import './x.js'`),
 * whatever a function does not call, such as the YAML parser team-role-sync never needs (ADR 0011).
 */
const SIDE_EFFECT_FREE = /[\\/](node_modules[\\/]@kubernetes[\\/]client-node|shared[\\/](fn-runtime|kube|api|builder|roles)[\\/]src)[\\/]/;

/**
 * CommonJS packages a cold start does not need: pg (only when a function talks to a database), yaml
 * (only for YAML an operator configuration embeds: infrastructure roles, a pod service account
 * definition), and what client-node's KubeConfig imports for proxies and its own fetch (KubeClient
 * uses neither unless the kubeconfig names a proxy). Each is replaced by a stand-in module whose exports load the package
 * on first use. Only the default export and exports that are functions or classes can stand in; an
 * import of anything else fails the build rather than misbehave.
 */
const LAZY_PACKAGES = ['pg', 'yaml', 'node-fetch', 'socks-proxy-agent', 'hpagent'];

export interface BundleResult {
  readonly fn: string;
  readonly file: string;
  readonly bytes: number;
}

/**
 * One function for plain `node <outDir>/<fn>.mjs` (no tsx, no node_modules at run time): what the image
 * runs (Dockerfile) and what the cold-start measurement runs. The launcher `<fn>.mjs` runs the CommonJS
 * bundle `<fn>.cjs` with V8's code cache `<fn>.jsc`, made here by a training run (ADR 0117). Beside
 * them, `<fn>.lazy/<package>.cjs` holds each package of LAZY_PACKAGES the function uses, so Node parses
 * that code only when it is first used.
 */
export async function bundleFunction(fn: string, outDir: string): Promise<BundleResult> {
  const entry = join(repoRoot, 'functions', fn, 'src/main.ts');
  if (!existsSync(entry)) throw new Error(`functions/${fn}/src/main.ts does not exist`);
  const file = join(outDir, `${fn}.mjs`);
  const code = join(outDir, `${fn}.cjs`);
  const bytes = await bundleTo({ entry, fn, outDir, outfile: code, format: 'cjs' });
  writeFileSync(file, launcherSource(fn));
  await writeCodeCache(file, join(outDir, `${fn}.jsc`));
  return { fn, file, bytes };
}

/**
 * Any other entry module (the UI, a bench's process) as one ES module `<outDir>/<name>.mjs` (and
 * `<name>.lazy/`), which may await at its top level; started once, it needs no code cache.
 */
export async function bundleEntry(entry: string, fn: string, outDir: string): Promise<BundleResult> {
  const file = join(outDir, `${fn}.mjs`);
  return { fn, file, bytes: await bundleTo({ entry, fn, outDir, outfile: file, format: 'esm' }) };
}

const FORMATS = {
  // CommonJS dependencies get a `require` through createRequire.
  esm: {
    format: 'esm',
    banner: {
      js: "import { createRequire as __pgfnCreateRequire } from 'node:module'; const require = __pgfnCreateRequire(import.meta.url);",
    },
  },
  // import.meta as an ES module would see it (e.g. the builder's CRD path, resolved at import).
  cjs: {
    format: 'cjs',
    define: { 'import.meta': '__pgfnImportMeta' },
    banner: {
      js:
        '"use strict"; ' +
        "const __pgfnImportMeta = { url: require('node:url').pathToFileURL(__filename).href, dirname: __dirname, filename: __filename };",
    },
  },
} as const;

/** Bundles `entry` into `outfile` and its lazy packages into `<outDir>/<fn>.lazy/`; the bundle's size. */
async function bundleTo(o: { entry: string; fn: string; outDir: string; outfile: string; format: keyof typeof FORMATS }): Promise<number> {
  const lazy = new Set<string>();
  const result = await build({
    ...COMMON,
    ...FORMATS[o.format],
    entryPoints: [o.entry],
    outfile: o.outfile,
    metafile: true,
    plugins: [sideEffectFree(SIDE_EFFECT_FREE), lazyPackages(LAZY_PACKAGES, `./${o.fn}.lazy`, lazy)],
  });
  for (const pkg of lazy) {
    await build({
      ...COMMON,
      stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: repoRoot, loader: 'js' },
      outfile: join(o.outDir, `${o.fn}.lazy`, `${chunkName(pkg)}.cjs`),
      format: 'cjs',
      sourcemap: false,
    });
  }
  return outputBytes(result.metafile, o.outfile);
}

const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: OPTIONAL_NATIVE,
  minifySyntax: true,
  minifyWhitespace: true,
  // Short local names shrink the bundle by about a third; keepNames keeps function and class names
  // (stack traces, error messages) readable, and the linked source map maps back to the source.
  minifyIdentifiers: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
} as const;

function chunkName(pkg: string): string {
  return pkg.replace(/[^\w.-]/g, '_');
}

function sideEffectFree(packagePath: RegExp): Plugin {
  return {
    name: 'pgfn-side-effect-free',
    setup(b) {
      // Imports that can land in those modules: relative ones from inside them, and the packages' names.
      b.onResolve({ filter: /^(\.|@kubernetes\/client-node|@pgfn\/)/ }, async (args) => {
        if (args.pluginData === 'pgfn-side-effect-free' || args.kind === 'entry-point') return undefined;
        if (args.path.startsWith('.')) {
          if (!packagePath.test(args.importer)) return undefined;
          // Most relative imports name their file (ESM; `.js` for a `.ts` source): no round trip to esbuild.
          const direct = resolve(dirname(args.importer), args.path);
          const file = [direct, direct.replace(/\.js$/, '.ts')].find((f) => /\.[cm]?[jt]s$/.test(f) && existsSync(f));
          if (file !== undefined) return { path: file, sideEffects: false };
        }
        const r = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: 'pgfn-side-effect-free',
        });
        if (r.errors.length > 0 || r.external || !packagePath.test(r.path)) return undefined;
        return { path: r.path, sideEffects: false };
      });
    },
  };
}

/** `used` collects the packages the function imports; their stand-ins require `<chunkDir>/<package>.cjs`. */
function lazyPackages(packages: readonly string[], chunkDir: string, used: Set<string>): Plugin {
  const filter = new RegExp(`^(${packages.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
  const requireHere = createRequire(join(repoRoot, 'package.json'));
  return {
    name: 'pgfn-lazy-packages',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'pgfn-lazy' }));
      // The stand-in's require() of the chunk stays a run-time require beside the bundle.
      b.onResolve({ filter: /\.cjs$/, namespace: 'pgfn-lazy' }, (args) => ({ path: args.path, external: true }));
      b.onLoad({ filter: /.*/, namespace: 'pgfn-lazy' }, (args) => {
        used.add(args.path);
        return {
          contents: standIn(`${chunkDir}/${chunkName(args.path)}.cjs`, requireHere(args.path) as unknown),
          resolveDir: repoRoot,
          loader: 'js',
        };
      });
    },
  };
}

/** Names the stand-in's own code uses (an export of that name would shadow them). */
const STAND_IN_OWN_NAMES = new Set(['default', 'loaded', 'load', 'lazy', 'require', 'Proxy', 'Reflect']);

/** ES module source whose exports forward calls, `new` and property reads to the module at `chunk`, loaded on first use. */
function standIn(chunk: string, real: unknown): string {
  const names = Object.keys(real as object).filter(
    (k) => !STAND_IN_OWN_NAMES.has(k) && /^[A-Za-z_$][\w$]*$/.test(k) && typeof (real as Record<string, unknown>)[k] === 'function',
  );
  return [
    `let loaded; const load = () => (loaded ??= require(${JSON.stringify(chunk)}));`,
    'const lazy = (pick) => new Proxy(function () {}, {',
    '  apply: (_t, self, args) => Reflect.apply(pick(), self, args),',
    '  construct: (_t, args, newTarget) => Reflect.construct(pick(), args, newTarget),',
    '  get: (_t, key) => pick()[key],',
    '});',
    // Importing a CommonJS module's default from an ES module gives module.exports, as in Node.
    typeof real === 'function' ? 'export default lazy(load);' : 'export default new Proxy({}, { get: (_t, key) => load()[key] });',
    ...names.map((n) => `export const ${n} = lazy(() => load().${n});`),
  ].join('\n');
}

function outputBytes(meta: Metafile, file: string): number {
  const entry = Object.entries(meta.outputs).find(([path]) => file.endsWith(path) || path.endsWith(file.split('/').slice(-2).join('/')));
  return entry?.[1].bytes ?? 0;
}
