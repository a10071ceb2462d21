// What the differential test compares: every object an operator made for a cluster, with what must
// differ between two runs taken out (UIDs, versions, times, allocated IPs, generated passwords, the
// namespace's own name, pgfn's bookkeeping annotations, status). Pure functions; the test does the I/O.

/** An object as listed from the API server (any kind). */
export interface ListedObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** One field that differs: `object` is `Kind/name`, `path` a dotted path (named list items as `[name=x]`). */
export interface Difference {
  readonly object: string;
  readonly path: string;
  readonly upstream: unknown;
  readonly pgfn: unknown;
}

/** Set by the API server or by controllers, never by an operator's decision. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'namespace'];
/** Annotations other controllers write. */
const FOREIGN_ANNOTATIONS = [/^pgfn\.dev\//, /^deployment\.kubernetes\.io\//, /^endpoints\.kubernetes\.io\//];
const GENERATED = '<generated>';

/** What differs between two runs by construction: the side's namespace and the UIDs of its postgresqls. */
export interface RunIdentity {
  readonly namespace: string;
  /** UID → a stable stand-in (`<uid of acid-x>`), for values built from a cluster's UID. */
  readonly uids: ReadonlyMap<string, string>;
}

/** `obj` with everything that differs between any two runs replaced or removed; the namespace becomes `$NS`. */
export function normalise(obj: ListedObject, run: RunIdentity): Record<string, unknown> {
  const copy = structuredClone(obj) as Record<string, unknown> & { metadata: Record<string, unknown> };
  delete copy['status'];
  for (const key of SERVER_METADATA) delete copy.metadata[key];
  dropForeignAnnotations(copy);
  const owners = copy.metadata['ownerReferences'] as Record<string, unknown>[] | undefined;
  for (const owner of owners ?? []) delete owner['uid'];
  const spec = copy['spec'] as Record<string, unknown> | undefined;
  if (obj.kind === 'Service' && spec !== undefined) {
    delete spec['clusterIP'];
    delete spec['clusterIPs'];
    // Allocated when not asked for; an asked-for port is a manifest value both sides get alike.
    for (const port of (spec['ports'] as Record<string, unknown>[] | undefined) ?? []) {
      if (port['nodePort'] !== undefined) port['nodePort'] = '<node port>';
    }
  }
  if (obj.kind === 'Secret') {
    const data = copy['data'] as Record<string, string> | undefined;
    if (data?.['password'] !== undefined) data['password'] = GENERATED;
  }
  if (obj.kind === 'Endpoints') {
    for (const subset of (copy['subsets'] as { addresses?: Record<string, unknown>[] }[] | undefined) ?? []) {
      for (const address of subset.addresses ?? []) {
        address['ip'] = '<pod ip>';
        delete address['targetRef'];
        delete address['nodeName'];
      }
    }
  }
  const replacements: [string, string][] = [[run.namespace, '$NS'], ...run.uids];
  return replaceStrings(copy, replacements) as Record<string, unknown>;
}

/** pgfn's own and other controllers' annotations, on the object and on every template in it. */
function dropForeignAnnotations(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) dropForeignAnnotations(v);
    return;
  }
  if (!isRecord(value)) return;
  const metadata = value['metadata'];
  if (isRecord(metadata) && isRecord(metadata['annotations'])) {
    const annotations = metadata['annotations'];
    for (const key of Object.keys(annotations)) if (FOREIGN_ANNOTATIONS.some((re) => re.test(key))) delete annotations[key];
    if (Object.keys(annotations).length === 0) delete metadata['annotations'];
  }
  for (const v of Object.values(value)) dropForeignAnnotations(v);
}

function replaceStrings(value: unknown, replacements: readonly [string, string][]): unknown {
  if (typeof value === 'string') return replacements.reduce((s, [from, to]) => s.split(from).join(to), value);
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, replacements));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, replacements)]));
  }
  return value;
}

/** Every field where two normalised objects differ; lists of named items are matched by name. */
export function differences(object: string, upstream: unknown, pgfn: unknown, path = ''): Difference[] {
  if (isRecord(upstream) && isRecord(pgfn)) {
    const keys = [...new Set([...Object.keys(upstream), ...Object.keys(pgfn)])].sort();
    return keys.flatMap((k) => differences(object, upstream[k], pgfn[k], path === '' ? k : `${path}.${k}`));
  }
  if (Array.isArray(upstream) && Array.isArray(pgfn)) {
    if (isNamedList(upstream) && isNamedList(pgfn)) {
      const names = [...new Set([...upstream.map((i) => i.name), ...pgfn.map((i) => i.name)])];
      const byName = (list: { name: string }[], name: string): unknown => list.find((i) => i.name === name);
      return names.flatMap((n) => differences(object, byName(upstream, n), byName(pgfn, n), `${path}[name=${n}]`));
    }
    const n = Math.max(upstream.length, pgfn.length);
    return Array.from({ length: n }, (_, i) => differences(object, upstream[i], pgfn[i], `${path}[${i}]`)).flat();
  }
  const [u, p] = [parsedJson(upstream), parsedJson(pgfn)];
  // A JSON document in a string (SPILO_CONFIGURATION): compared field by field, at `value(json).…`.
  if (u !== undefined && p !== undefined) return differences(object, u, p, `${path}(json)`);
  return JSON.stringify(upstream) === JSON.stringify(pgfn) ? [] : [{ object, path, upstream, pgfn }];
}

function parsedJson(v: unknown): Record<string, unknown> | undefined {
  if (typeof v !== 'string' || !v.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isNamedList(v: unknown[]): v is { name: string }[] {
  return v.length > 0 && v.every((i) => isRecord(i) && typeof i['name'] === 'string');
}

/** A documented difference: globs over `Kind/name` and the field path (`*` any run of characters). */
export interface DocumentedDifference {
  readonly object: string;
  readonly path: string;
  readonly reason: string;
}

/**
 * The table rows of docs/differences-from-upstream.md under "## Differences": `| object | field | reason |`,
 * object and field in backticks.
 */
export function documentedDifferences(markdown: string): DocumentedDifference[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Differences')) ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(' | ').map((c) =>
        c
          .replace(/^\|\s*/, '')
          .replace(/\s*\|$/, '')
          .trim(),
      );
      return { object: unquote(cells[0] ?? ''), path: unquote(cells[1] ?? ''), reason: cells[2] ?? '' };
    });
}

function unquote(cell: string): string {
  return cell.replace(/^`/, '').replace(/`$/, '');
}

export function matches(doc: DocumentedDifference, d: Difference): boolean {
  return glob(doc.object).test(d.object) && glob(doc.path).test(d.path);
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
}

function escape(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
