// Which test files are heavy (ADR 0090, 0140, 0144), and in which lanes: those that start real
// processes — a node agent (Patroni, PostgreSQL, PgBouncer), Knative's processes, Prometheus or its
// exporter, a browser, Zalando's operator, a private control plane. Read from the code of the file and of
// every local module it imports, transitively: names in comments and strings (a test title saying
// "Prometheus") do not count. A heavy part started by a file this misses fails at once
// (assertExclusive), naming this file. Files of different lanes run side by side.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import { LANES, type Lane } from '@pgfn/controlplane';

/**
 * What starts a heavy part, as code names it (a function or class, `Class.method`, or an options key
 * given an object: `knative: {`), and the lanes it needs (shared/controlplane/src/exclusive.ts).
 */
export const HEAVY: ReadonlyMap<string, readonly Lane[]> = new Map<string, readonly Lane[]>([
  ['startNodeAgent', ['nodes']],
  ['startTestAgent', ['nodes']],
  ['startLocalNodes', ['nodes']],
  ['startTestNodes', ['nodes']],
  ['startStack', ['nodes']],
  ['runFault', ['nodes']],
  // Zalando's operator with kwok pods for minutes: CPU-heavy enough to disturb the Patroni files'
  // failovers beside it, and it timed out beside them in the first parallel whole run (ADR 0140).
  ['ZalandoOperator.start', ['nodes']],
  ['KnativeControllers', ['knative']],
  ['KnativeDataPlane', ['knative']],
  ['startKnativePath', ['knative']],
  ['TriggerAdmission', ['knative']],
  ['knative: {', ['knative']],
  ['Prometheus', ['misc']],
  ['startExporter', ['misc']],
  ['launchBrowser', ['misc']],
  ['ControlPlane.start', LANES],
]);

/** The names a module's code uses, in the forms HEAVY lists, and the local modules it imports. */
export function codeNames(fileName: string, text: string): { names: Set<string>; localImports: string[] } {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const names = new Set<string>();
  const localImports: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression))
      names.add(`${node.expression.text}.${node.name.text}`);
    else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && ts.isObjectLiteralExpression(node.initializer)) {
      names.add(`${node.name.text}: {`);
    } else if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const spec = node.moduleSpecifier.text;
      if (spec.startsWith('.') && spec.endsWith('.js')) localImports.push(spec);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { names, localImports };
}

const cache = new Map<string, readonly Lane[]>();

/** The lanes a file needs: those of the heavy parts it, or a local module it imports (transitively), starts. Empty: a light file. */
export function fileLanes(file: string, seen: Set<string> = new Set()): readonly Lane[] {
  const known = cache.get(file);
  if (known !== undefined) return known;
  if (seen.has(file) || !existsSync(file)) return [];
  seen.add(file);
  const { names, localImports } = codeNames(file, readFileSync(file, 'utf8'));
  const lanes = new Set<Lane>([...HEAVY].filter(([name]) => names.has(name)).flatMap(([, l]) => l));
  for (const spec of localImports)
    for (const l of fileLanes(resolve(dirname(file), `${spec.slice(0, -'.js'.length)}.ts`), seen)) lanes.add(l);
  const sorted = LANES.filter((l) => lanes.has(l));
  cache.set(file, sorted);
  return sorted;
}

/** True when the file starts a heavy part (it needs at least one lane). */
export function isHeavyFile(file: string): boolean {
  return fileLanes(file).length > 0;
}
