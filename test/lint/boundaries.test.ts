// What ships apart from what runs it locally (ADR 0012), as checked rules: ESLint's
// no-restricted-imports (eslint.config.js) refuses a shipped package importing a harness package or
// tests, and a function importing another function — shown here on deliberate violations written to
// disk for the run — and every @pgfn/* import of a package is declared in its package.json.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Lints `source` as a file at `path` (relative to the repository) with the repository's config, only the import rule. */
async function importErrors(path: string, source: string): Promise<string[]> {
  const file = join(root, path);
  writeFileSync(file, source);
  try {
    const eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' });
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
  } finally {
    rmSync(file, { force: true });
  }
}

const probe = (): string => `zz-boundary-probe-${randomBytes(3).toString('hex')}.ts`;

describe('import boundaries', function () {
  this.timeout(120_000);

  it('refuses a shipped package importing a harness package', async () => {
    const errors = await importErrors(
      `shared/kube/src/${probe()}`,
      "import { repoRoot } from '@pgfn/controlplane';\nexport const where = repoRoot;\n",
    );
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(
      /^no-restricted-imports: '@pgfn\/controlplane' import is restricted .* shipped code cannot import the local stack/,
    );
  });

  it('refuses a function importing another function', async () => {
    const errors = await importErrors(
      `functions/reconcile/src/${probe()}`,
      "import { targetOf } from '../../team-role-sync/src/events.js';\nexport const t = targetOf;\n",
    );
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/a function cannot import another function/);
  });

  it('refuses shipped code importing tests', async () => {
    const errors = await importErrors(
      `shared/fn-runtime/src/${probe()}`,
      "import { adminConfig } from '../../../test/support/kube.js';\nexport const a = adminConfig;\n",
    );
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/shipped code cannot import tests/);
  });

  it('allows the same imports in tests and harness packages', async () => {
    expect(
      await importErrors(`test/lint/${probe()}`, "import { repoRoot } from '@pgfn/controlplane';\nexport const r = repoRoot;\n"),
    ).to.deep.equal([]);
  });

  it('finds every @pgfn/* import of a package declared in its package.json, and nothing declared that is not used', () => {
    const problems: string[] = [];
    const packages = ['shared', 'functions'].flatMap((top) => readdirSync(join(root, top)).map((d) => join(root, top, d)));
    for (const dir of packages.filter((d) => statSync(join(d, 'package.json'), { throwIfNoEntry: false })?.isFile())) {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
      const declared = new Set(Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@pgfn/')));
      const imported = new Set<string>();
      for (const file of sources(join(dir, 'src')))
        for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(@pgfn\/[a-z-]+)/g))
          if (m[1] !== pkg.name) imported.add(m[1] as string);
      for (const name of imported) if (!declared.has(name)) problems.push(`${relative(root, dir)} imports ${name} without declaring it`);
      for (const name of declared) if (!imported.has(name)) problems.push(`${relative(root, dir)} declares ${name} but never imports it`);
    }
    expect(problems).to.deep.equal([]);
  });
});

function sources(dir: string): string[] {
  if (statSync(dir, { throwIfNoEntry: false }) === undefined) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}
