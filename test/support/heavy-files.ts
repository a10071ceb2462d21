// Which test files are heavy (ADR 0090, 0140): those that start real processes — a node agent (Patroni,
// PostgreSQL, PgBouncer), Knative's processes, an S3 server, Prometheus or its exporter, a browser, a
// private control plane. Read from the code of the file and of every local module it imports,
// transitively: names in comments and strings (a test title saying "Prometheus") do not count. A heavy
// part started by a file this misses fails at once (assertExclusive), naming this file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** What starts a heavy part, as code names it: a function or class, `Class.method`, or an options key given an object (`knative: {`). */
export const HEAVY: ReadonlySet<string> = new Set([
  'startNodeAgent',
  'startTestAgent',
  'startLocalNodes',
  'startTestNodes',
  'startStack',
  'S3Server',
  'startS3',
  'Prometheus',
  'startExporter',
  'KnativeControllers',
  'KnativeDataPlane',
  'startKnativePath',
  'TriggerAdmission',
  'launchBrowser',
  'ControlPlane.start',
  'runFault',
  'knative: {',
  // Zalando's operator with kwok pods for minutes: CPU-heavy enough to disturb the Patroni files'
  // failovers beside it, and it timed out beside them in the first parallel whole run (ADR 0140).
  'ZalandoOperator.start',
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

const cache = new Map<string, boolean>();

/** True when the file, or a local module it imports (transitively), starts a heavy part. */
export function isHeavyFile(file: string, seen: Set<string> = new Set()): boolean {
  const known = cache.get(file);
  if (known !== undefined) return known;
  if (seen.has(file) || !existsSync(file)) return false;
  seen.add(file);
  const { names, localImports } = codeNames(file, readFileSync(file, 'utf8'));
  const heavy =
    [...HEAVY].some((name) => names.has(name)) ||
    localImports.some((spec) => isHeavyFile(resolve(dirname(file), `${spec.slice(0, -'.js'.length)}.ts`), seen));
  cache.set(file, heavy);
  return heavy;
}
