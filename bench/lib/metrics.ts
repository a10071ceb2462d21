/**
 * Requests as the operator-facing apiserver counted them (`apiserver_request_total`). Only the
 * operator under test talks to that apiserver, so a difference of two scrapes is its traffic.
 */

/** One series: verb, resource (`group/resource/subresource`, or the path of a non-resource URL), HTTP code. */
export interface RequestSeries {
  readonly verb: string;
  readonly resource: string;
  readonly code: string;
  readonly count: number;
}

export type RequestCounts = ReadonlyMap<string, RequestSeries>;

/** Verbs that change state; APPLY is a server-side apply PATCH. */
export const WRITE_VERBS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);
/** The bench's own scrapes, never the operator's. */
const OWN_PATHS = new Set(['/metrics', '/readyz', '/healthz', '/livez']);

export function parseRequestTotals(text: string): RequestCounts {
  const out = new Map<string, RequestSeries>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const count = Number(line.slice(close + 1).trim());
    const group = labels['group'] ?? '';
    const resource = labels['resource'] ?? '';
    const sub = labels['subresource'] ?? '';
    // Non-resource requests (discovery, /version) carry their path in `subresource`.
    const name = resource === '' ? sub : `${group === '' ? '' : `${group}/`}${resource}${sub === '' ? '' : `/${sub}`}`;
    if (resource === '' && OWN_PATHS.has(sub)) continue;
    const series: RequestSeries = { verb: labels['verb'] ?? '?', resource: name, code: labels['code'] ?? '?', count };
    const key = `${series.verb} ${series.resource} ${series.code}`;
    out.set(key, { ...series, count: (out.get(key)?.count ?? 0) + count });
  }
  return out;
}

/** after − before, series by series, floored at zero (series that did not grow are left out). */
export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out = new Map<string, RequestSeries>();
  for (const [key, s] of after) {
    const d = s.count - (before.get(key)?.count ?? 0);
    if (d > 0) out.set(key, { ...s, count: d });
  }
  return out;
}

export interface RequestSummary {
  /** Every request but WATCH (a watch is counted when it ends, so its count is noise in a window). */
  readonly requests: number;
  readonly writes: number;
  readonly watches: number;
  /** HTTP 409 answers (conflicts), 429 (throttled) and 5xx. */
  readonly conflicts: number;
  readonly throttled: number;
  readonly errors: number;
  readonly byVerb: Record<string, number>;
  /** `VERB resource` → count, largest first. */
  readonly byVerbResource: Record<string, number>;
}

export function summarise(counts: RequestCounts): RequestSummary {
  let requests = 0;
  let writes = 0;
  let watches = 0;
  let conflicts = 0;
  let throttled = 0;
  let errors = 0;
  const byVerb = new Map<string, number>();
  const byVerbResource = new Map<string, number>();
  for (const s of counts.values()) {
    if (s.verb === 'WATCH') {
      watches += s.count;
      continue;
    }
    requests += s.count;
    if (WRITE_VERBS.has(s.verb)) writes += s.count;
    if (s.code === '409') conflicts += s.count;
    if (s.code === '429') throttled += s.count;
    if (s.code.startsWith('5')) errors += s.count;
    byVerb.set(s.verb, (byVerb.get(s.verb) ?? 0) + s.count);
    const key = `${s.verb} ${s.resource}`;
    byVerbResource.set(key, (byVerbResource.get(key) ?? 0) + s.count);
  }
  const sorted = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]));
  return { requests, writes, watches, conflicts, throttled, errors, byVerb: sorted(byVerb), byVerbResource: sorted(byVerbResource) };
}

/** Total non-watch requests in a scrape: the "is the operator quiet yet" signal. */
export function totalRequests(counts: RequestCounts): number {
  let n = 0;
  for (const s of counts.values()) if (s.verb !== 'WATCH') n += s.count;
  return n;
}
