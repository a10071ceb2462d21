// Which Kubernetes API calls a function's code can make, read from the code with the TypeScript type
// checker (ADR 0083). From the function's main.ts, every declaration of the repository's code that a
// reachable body names is reachable too (calls, callbacks, deps objects, class members). At each
// reachable call of a KubeClient method the kind is the literal type of the argument that carries it;
// a call whose kind the checker sees only as `string` must name them in `// kube-kinds: v1/Secret …`
// comments on the lines right above it, or it is reported as unresolved. Reaching pod-exec's exec is pods/exec.
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One API permission: `verb group/resource[/subresource]` ('' group for core). */
export interface KubeCall {
  readonly verb: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly subresource?: string;
  /** file:line of the call, for messages. */
  readonly at: string;
  /** The KubeClient method (or `exec`). */
  readonly via: string;
}

export interface FunctionCalls {
  readonly calls: readonly KubeCall[];
  /** Calls whose kind could not be read from types or a kube-kinds comment. */
  readonly unresolved: readonly string[];
  readonly files: number;
}

/** The RBAC verbs each KubeClient method needs (server-side apply is a PATCH that may create). */
const METHOD_VERBS: Readonly<Record<string, readonly string[]>> = {
  get: ['get'],
  list: ['list'],
  apply: ['patch', 'create'],
  create: ['create'],
  delete: ['delete'],
  patchStatus: ['patch'],
  replace: ['update'],
  mergePatch: ['patch'],
  patchMetadata: ['patch'],
  patchFinalizers: ['patch'],
  createEvent: ['create'],
};

function isRepoSource(file: ts.SourceFile): boolean {
  const rel = relative(root, file.fileName);
  return !file.isDeclarationFile && !rel.startsWith('..') && !rel.includes('node_modules') && !rel.startsWith('test/');
}

/** The string literals a type stands for; undefined when it is not made of string literals only. */
function literals(type: ts.Type): string[] | undefined {
  const parts = type.isUnion() ? type.types : [type];
  const out: string[] = [];
  for (const p of parts) {
    if (!p.isStringLiteral()) return undefined;
    out.push(p.value);
  }
  return out;
}

export function createProgram(): ts.Program {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  const fileNames = parsed.fileNames.filter((f) => !relative(root, f).startsWith('test/') && !relative(root, f).startsWith('bench/'));
  return ts.createProgram({ rootNames: fileNames, options: parsed.options });
}

/** The calls reachable from functions/<fn>/src/main.ts. */
export function kubeCallsOf(program: ts.Program, fn: string): FunctionCalls {
  const checker = program.getTypeChecker();
  const main = program.getSourceFile(join(root, 'functions', fn, 'src', 'main.ts'));
  if (main === undefined) throw new Error(`functions/${fn}/src/main.ts is not in the program`);
  const seen = new Set<ts.Node>();
  const files = new Set<string>();
  const calls: KubeCall[] = [];
  const unresolved: string[] = [];
  const queue: ts.Node[] = [main];

  const where = (node: ts.Node): string => {
    const sf = node.getSourceFile();
    return `${relative(root, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const declared = (node: ts.Node): string[] | undefined => {
    const sf = node.getSourceFile();
    const line = sf.getLineAndCharacterOfPosition(node.getStart()).line;
    const lines = sf.text.split('\n');
    // the comment lines right above the call's line (several for a long list)
    const named: string[] = [];
    for (let l = line - 1; l >= 0 && /^\s*\/\//.test(lines[l] ?? ''); l--) {
      const m = /\/\/ kube-kinds: (.+)$/.exec(lines[l] ?? '');
      if (m?.[1] !== undefined) named.push(...m[1].trim().split(/\s+/));
    }
    return named.length === 0 ? undefined : named;
  };
  const isKubeClient = (expr: ts.Expression): boolean => {
    const type = checker.getNonNullableType(checker.getTypeAtLocation(expr));
    return type.getSymbol()?.getName() === 'KubeClient';
  };
  /** The literal values of property `prop` of the object `expr` stands for, following literals, variables and returns. */
  const propLiterals = (expr: ts.Expression, prop: string, depth = 0): string[] | undefined => {
    if (depth > 6) return undefined;
    const e = ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr) ? expr.expression : expr;
    if (ts.isObjectLiteralExpression(e)) {
      // the last property that sets it wins, as in JavaScript
      for (const p of [...e.properties].reverse()) {
        if (ts.isPropertyAssignment(p) && p.name.getText() === prop) return literals(checker.getTypeAtLocation(p.initializer));
        if (ts.isShorthandPropertyAssignment(p) && p.name.text === prop) return literals(checker.getTypeAtLocation(p.name));
        if (ts.isSpreadAssignment(p)) {
          const inner = propLiterals(p.expression, prop, depth + 1);
          if (inner !== undefined) return inner;
        }
      }
    }
    const type = checker.getTypeAtLocation(e);
    const symbol = type.getProperty(prop);
    const fromType = symbol === undefined ? undefined : literals(checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(symbol, e)));
    if (fromType !== undefined) return fromType;
    // a const bound to an object literal, or a call of our code returning one
    const sym = ts.isIdentifier(e)
      ? checker.getSymbolAtLocation(e)
      : ts.isCallExpression(e)
        ? checker.getSymbolAtLocation(e.expression)
        : undefined;
    const target = sym !== undefined && sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const decl = target?.valueDeclaration;
    if (decl === undefined || !isRepoSource(decl.getSourceFile())) return undefined;
    if (ts.isIdentifier(e) && ts.isVariableDeclaration(decl) && decl.initializer !== undefined)
      return propLiterals(decl.initializer, prop, depth + 1);
    if (ts.isCallExpression(e)) {
      const fn = ts.isVariableDeclaration(decl) ? decl.initializer : decl;
      if (fn === undefined || !ts.isFunctionLike(fn)) return undefined;
      const body = (fn as ts.FunctionLikeDeclarationBase).body;
      if (body === undefined) return undefined;
      const returned: ts.Expression[] = [];
      if (!ts.isBlock(body)) returned.push(body);
      else
        body.forEachChild(function walk(n: ts.Node): void {
          if (ts.isReturnStatement(n) && n.expression !== undefined) returned.push(n.expression);
          else if (!ts.isFunctionLike(n)) n.forEachChild(walk);
        });
      const all = returned.map((r) => propLiterals(r, prop, depth + 1));
      return all.length === 0 || all.some((a) => a === undefined) ? undefined : [...new Set(all.flat() as string[])];
    }
    return undefined;
  };

  const onKubeCall = (call: ts.CallExpression, method: string): void => {
    const verbs = METHOD_VERBS[method];
    if (verbs === undefined) return;
    const [first, second] = call.arguments;
    let apiVersions: string[] | undefined;
    let kinds: string[] | undefined;
    if (method === 'createEvent') {
      apiVersions = ['v1'];
      kinds = ['Event'];
    } else if (method === 'list') {
      apiVersions = first === undefined ? undefined : literals(checker.getTypeAtLocation(first));
      kinds = second === undefined ? undefined : literals(checker.getTypeAtLocation(second));
    } else if (first !== undefined) {
      apiVersions = propLiterals(first, 'apiVersion');
      kinds = propLiterals(first, 'kind');
    }
    const named = declared(call);
    const pairs: [string, string][] =
      named !== undefined
        ? named.map((n) => {
            const i = n.lastIndexOf('/');
            return [n.slice(0, i), n.slice(i + 1)];
          })
        : apiVersions !== undefined && kinds !== undefined && apiVersions.length === 1
          ? kinds.map((k) => [apiVersions[0] ?? '', k])
          : [];
    if (pairs.length === 0) {
      unresolved.push(`${where(call)} ${method}`);
      return;
    }
    const subresource = method === 'patchStatus' ? 'status' : undefined;
    for (const [apiVersion, kind] of pairs)
      for (const verb of verbs)
        calls.push({ verb, apiVersion, kind, ...(subresource === undefined ? {} : { subresource }), at: where(call), via: method });
  };

  const enqueueSymbol = (symbol: ts.Symbol | undefined): void => {
    if (symbol === undefined) return;
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    for (const decl of target.declarations ?? []) {
      const sf = decl.getSourceFile();
      if (!isRepoSource(sf) || seen.has(decl)) continue;
      // KubeClient's own body is the transport, not a use
      if (relative(root, sf.fileName) === 'shared/kube/src/client.ts') continue;
      queue.push(decl);
    }
  };

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && isKubeClient(node.expression.expression))
      onKubeCall(node, node.expression.name.text);
    if (ts.isIdentifier(node)) enqueueSymbol(checker.getSymbolAtLocation(node));
    // exec in a pod (shared/kube/src/pod-exec.ts) goes through client-node's Exec, not KubeClient
    if (ts.isNewExpression(node) && node.expression.getText() === 'Exec' && node.getSourceFile().fileName.endsWith('pod-exec.ts'))
      // a WebSocket upgrade is a GET; the API server also asks for create (Kubernetes 1.31+)
      for (const verb of ['create', 'get'])
        calls.push({ verb, apiVersion: 'v1', kind: 'Pod', subresource: 'exec', at: where(node), via: 'exec' });
    ts.forEachChild(node, visit);
  };

  while (queue.length > 0) {
    const node = queue.pop();
    if (node === undefined || seen.has(node)) continue;
    seen.add(node);
    files.add(node.getSourceFile().fileName);
    // a declaration's own name would enqueue itself again; visit its parts
    if (ts.isSourceFile(node)) ts.forEachChild(node, visit);
    else visit(node);
  }
  return { calls, unresolved, files: files.size };
}
