import { readFileSync, statSync } from 'node:fs';

/**
 * The operator's requests as the operator-facing apiserver's audit log records them. The policy logs
 * only the bench users (Metadata level), so the apiserver's own loopback traffic (lease heartbeats,
 * IPAddress allocation, admission informers), which `apiserver_request_total` mixes in, stays out.
 */

/** Audit policy: one Metadata line per request of the named users, nothing else. */
export function auditPolicy(users: readonly string[]): string {
  return [
    'apiVersion: audit.k8s.io/v1',
    'kind: Policy',
    // ResponseStarted is kept for watches only: it marks a watch being opened.
    'omitStages: [RequestReceived]',
    'rules:',
    '- level: Metadata',
    `  users: [${users.map((u) => JSON.stringify(u)).join(', ')}]`,
    '- level: None',
    '',
  ].join('\n');
}

export interface RequestSeries {
  readonly verb: string;
  /** `group/resource/subresource`, or the path of a non-resource URL (discovery). */
  readonly resource: string;
  readonly code: number;
  readonly count: number;
}

export type RequestCounts = ReadonlyMap<string, RequestSeries>;

export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  requestURI?: string;
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
}

/** A position in the audit log; requests between two positions are one phase's. */
export function auditOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Requests of `user` logged between byte offsets `from` and `to` (default: the end). */
export function readAudit(file: string, user: string, from: number, to?: number): RequestCounts {
  const text = readFileSync(file).subarray(from, to).toString('utf8');
  const out = new Map<string, RequestSeries>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // a line cut at `to`
    }
    if (e.user?.username !== user) continue;
    const verb = e.verb ?? '?';
    // A watch counts once, when opened; everything else once, when answered.
    if (verb === 'watch' ? e.stage !== 'ResponseStarted' : e.stage !== 'ResponseComplete') continue;
    const ref = e.objectRef;
    const resource =
      ref?.resource === undefined ? ((e.requestURI ?? '?').split('?')[0] ?? '?') : resourcePath({ ...ref, resource: ref.resource });
    const code = e.responseStatus?.code ?? 0;
    const key = `${verb} ${resource} ${code}`;
    out.set(key, { verb, resource, code, count: (out.get(key)?.count ?? 0) + 1 });
  }
  return out;
}

/** a − b series by series, floored at zero (removing a known overhead such as a start-up). */
export function subtract(a: RequestCounts, b: RequestCounts): RequestCounts {
  const out = new Map<string, RequestSeries>();
  for (const [key, s] of a) {
    const d = s.count - (b.get(key)?.count ?? 0);
    if (d > 0) out.set(key, { ...s, count: d });
  }
  return out;
}

export interface RequestSummary {
  /** Every request but watches. */
  readonly requests: number;
  readonly writes: number;
  /** Watches opened. */
  readonly watches: number;
  /** Answers 409 (conflict or already exists), 429 (throttled) and 5xx. */
  readonly conflicts: number;
  readonly throttled: number;
  readonly errors: number;
  readonly byVerb: Record<string, number>;
  /** `verb resource` → count, largest first. */
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
    if (s.verb === 'watch') {
      watches += s.count;
      continue;
    }
    requests += s.count;
    if (WRITE_VERBS.has(s.verb)) writes += s.count;
    if (s.code === 409) conflicts += s.count;
    if (s.code === 429) throttled += s.count;
    if (s.code >= 500) errors += s.count;
    byVerb.set(s.verb, (byVerb.get(s.verb) ?? 0) + s.count);
    const key = `${s.verb} ${s.resource}`;
    byVerbResource.set(key, (byVerbResource.get(key) ?? 0) + s.count);
  }
  const sorted = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]));
  return { requests, writes, watches, conflicts, throttled, errors, byVerb: sorted(byVerb), byVerbResource: sorted(byVerbResource) };
}

/** `group/resource/subresource` of an audit event's object reference (the core group has no prefix). */
function resourcePath(ref: { apiGroup?: string; resource: string; subresource?: string }): string {
  const group = ref.apiGroup === undefined || ref.apiGroup === '' ? '' : `${ref.apiGroup}/`;
  return `${group}${ref.resource}${ref.subresource === undefined ? '' : `/${ref.subresource}`}`;
}

/**
 * The most requests of `user` (watches apart) received in one wall-clock second between two offsets.
 * A client-go token bucket (qps Q, burst 2Q) never delays a client whose peak is at most Q: any window
 * of t seconds spans at most t + 2 one-second buckets, so it holds at most (t + 2)·Q ≤ 2Q + Q·t requests.
 */
export function peakRequestsPerSecond(file: string, user: string, from: number, to?: number): number {
  const text = readFileSync(file).subarray(from, to).toString('utf8');
  const perSecond = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let e: AuditEvent & { requestReceivedTimestamp?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (e.user?.username !== user || e.verb === 'watch' || e.stage !== 'ResponseComplete') continue;
    const second = (e.requestReceivedTimestamp ?? '').slice(0, 19);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  return Math.max(0, ...perSecond.values());
}

/** Watch events and their bytes the operator-facing apiserver sent (its /metrics), summed over kinds. */
export interface WatchTraffic {
  readonly events: number;
  readonly bytes: number;
  readonly byKind: Readonly<Record<string, number>>;
}

/** Reads apiserver_watch_events_total and apiserver_watch_events_sizes_sum from Prometheus text. */
export function watchTraffic(metrics: string): WatchTraffic {
  let events = 0;
  let bytes = 0;
  const byKind: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    const m = /^(apiserver_watch_events_total|apiserver_watch_events_sizes_sum)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const value = Number(m[3]);
    if (m[1] === 'apiserver_watch_events_sizes_sum') {
      bytes += value;
      continue;
    }
    events += value;
    const kind = /(?:^|,)(?:kind|resource)="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? '?';
    byKind[kind] = (byKind[kind] ?? 0) + value;
  }
  return { events, bytes, byKind };
}

/** b − a, per field (the traffic of one phase). */
export function watchTrafficBetween(a: WatchTraffic, b: WatchTraffic): WatchTraffic {
  const byKind: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.byKind)) {
    const d = v - (a.byKind[k] ?? 0);
    if (d > 0) byKind[k] = d;
  }
  return { events: b.events - a.events, bytes: b.bytes - a.bytes, byKind };
}
