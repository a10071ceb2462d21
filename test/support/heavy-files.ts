// Which test files are heavy (ADR 0090, 0140, 0144), and in which lanes: those that start real
// processes — a node agent (Patroni, PostgreSQL, PgBouncer), Knative's processes, Prometheus or its
// exporter, a browser, Zalando's operator, a private control plane. Read from the code of the file and of
// every local module it imports, transitively: names in comments and strings (a test title saying
// "Prometheus") do not count. A heavy part started by a file this misses fails at once
// (assertExclusive), naming this file. Files of different lanes run side by side.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { EVERY_LANE, LANES, PRIVATE_CONTROL_PLANE, repoRoot, ZALANDO_OPERATOR, type LaneNeed } from '@pgfn/controlplane';

/**
 * What starts a heavy part, as code names it (a function or class, `Class.method`, or an options key
 * given an object: `knative: {`), and the lanes it needs (shared/controlplane/src/exclusive.ts).
 */
export const HEAVY: ReadonlyMap<string, readonly LaneNeed[]> = new Map<string, readonly LaneNeed[]>([
  ['startNodeAgent', ['nodes']],
  ['startTestAgent', ['nodes']],
  ['startLocalNodes', ['nodes']],
  ['startTestNodes', ['nodes']],
  ['startStack', ['nodes']],
  // Faults whose recovery is measured (ADR 0096): no other node-agent file beside them.
  ['runFault', ['nodes:all']],
  ['ZalandoOperator.start', ZALANDO_OPERATOR],
  ['KnativeControllers', ['knative']],
  ['KnativeDataPlane', ['knative']],
  ['startKnativePath', ['knative']],
  ['TriggerAdmission', ['knative']],
  ['knative: {', ['knative']],
  ['Prometheus', ['misc']],
  ['startExporter', ['misc']],
  ['launchBrowser', ['misc']],
  ['ControlPlane.start', PRIVATE_CONTROL_PLANE],
]);

/**
 * Files that need more than their parts say, and why (paths from the repository root). The rollout
 * outage file (a private control plane and a node agent on it) passed beside node-agent files, then
 * failed in two clean runs beside others: once its cluster never became whole within 300 s, once
 * (after ADR 0149) its rollout had not finished 600 s after the outage. The cause is not known, so it
 * keeps every lane, as before ADR 0147, until it is.
 */
export const FILE_LANES: ReadonlyMap<string, readonly LaneNeed[]> = new Map([
  ['test/reliability/control-plane-outage-rollout.test.ts', EVERY_LANE],
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

const cache = new Map<string, readonly LaneNeed[]>();

/** Per lane, the strongest need: every slot if any part wants every slot. */
function merged(needs: Iterable<LaneNeed>): LaneNeed[] {
  const all = [...needs];
  return LANES.flatMap((lane): LaneNeed[] => {
    if (all.includes(`${lane}:all`)) return [`${lane}:all`];
    return all.includes(lane) ? [lane] : [];
  });
}

/**
 * What a file needs of the lanes: the needs of the heavy parts it, or a local module it imports
 * (transitively), starts. Empty: a light file.
 */
export function fileLanes(file: string, seen: Set<string> = new Set()): readonly LaneNeed[] {
  const known = cache.get(file);
  if (known !== undefined) return known;
  if (seen.has(file) || !existsSync(file)) return [];
  seen.add(file);
  const { names, localImports } = codeNames(file, readFileSync(file, 'utf8'));
  const needs = [...HEAVY].filter(([name]) => names.has(name)).flatMap(([, n]) => n);
  needs.push(...(FILE_LANES.get(relative(repoRoot, file)) ?? []));
  for (const spec of localImports) needs.push(...fileLanes(resolve(dirname(file), `${spec.slice(0, -'.js'.length)}.ts`), seen));
  const result = merged(needs);
  cache.set(file, result);
  return result;
}

/** True when the file starts a heavy part (it needs at least one lane). */
export function isHeavyFile(file: string): boolean {
  return fileLanes(file).length > 0;
}
