// ESLint for the whole workspace: type-aware typescript-eslint, plus the rules that catch what the
// structural review found (long parameter lists, floating promises, long lines, import boundaries).
// Prettier formats; ESLint does not fight it (no stylistic rules besides max-len for comments/strings).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Packages that run only on a developer's machine or in tests; shipped code must never import them. */
const HARNESS_PACKAGES = ['@pgfn/controlplane', '@pgfn/node-agent', '@pgfn/observe', '@pgfn/pipeline', '@pgfn/testpg'];
const harnessImports = {
  paths: HARNESS_PACKAGES.map((name) => ({ name, message: 'shipped code cannot import the local stack or test harnesses' })),
  patterns: [
    { group: [...HARNESS_PACKAGES.map((p) => `${p}/*`)], message: 'shipped code cannot import the local stack or test harnesses' },
    { group: ['**/test/**', '../../test/*', '../test/*'], message: 'shipped code cannot import tests' },
    { group: ['**/functions/*/src/**', '../../*/src/*'], message: 'a function cannot import another function; move the code to a shared package' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '**/dist/**', 'bench/results/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'max-params': ['error', 4],
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true, ignorePattern: '^import ' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'export names explicitly, not `export *`' }],
    },
  },
  {
    // Shipped: the functions and the packages they bundle.
    files: ['functions/*/src/**/*.ts', 'shared/{api,builder,kube,fn-runtime,fn-kit,patroni,roles,backup-store,ui}/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', harnessImports] },
  },
  {
    // Tests assert with chai's property chains (`expect(x).to.be.true`).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
