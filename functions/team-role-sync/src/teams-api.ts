// The Teams API client: GET {teams_api_url}/teams/{team} with a Bearer token. Upstream
// pkg/util/teams/teams.go reads the `member` list of the team object; docs/user.md describes a
// minimal API answering with a bare list of names, so both shapes are accepted. A 404 is a team the
// API does not know (upstream: a warning, no members); anything else that is not a well-formed
// answer is an error, so that a broken API never looks like an empty team.
// Retries follow @pgfn/kube's one retry policy (jittered backoff, Retry-After honoured).
import { parseRetryAfter, withRetry } from '@pgfn/kube';

export interface TeamsApiOptions {
  /** teams_api_url; a trailing slash is ignored. */
  readonly url: string;
  readonly token: string;
  /** Per request, connect to last byte. Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts for timeouts, connection errors, 429 and 5xx. Default 2. */
  readonly attempts?: number;
  /** The backoff's first ceiling (jittered, doubling). Default 200 ms. */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
}

export type TeamLookup =
  | { readonly found: true; readonly members: readonly string[] }
  | { readonly found: false; readonly members: readonly string[]; readonly warning: string };

/** The Teams API did not give a usable answer; no role may change on its account. */
export class TeamsApiError extends Error {
  override readonly name = 'TeamsApiError';
  /** Worth another request within this invocation (timeouts, connection errors, 429, 5xx). */
  readonly transient: boolean;
  /** The pause the API asked for with Retry-After. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions & { transient?: boolean; retryAfterMs?: number },
  ) {
    super(message, options);
    this.transient = options?.transient ?? (status === undefined || status === 429 || status >= 500);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export const DEFAULT_TEAMS_API_TIMEOUT_MS = 10_000;

export async function fetchTeam(options: TeamsApiOptions, team: string): Promise<TeamLookup> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TEAMS_API_TIMEOUT_MS;
  return withRetry(() => fetchOnce(options, team), {
    policy: { attempts: options.attempts ?? 2, baseDelayMs: options.backoffMs ?? 200, timeoutMs },
    transient: (err) => err instanceof TeamsApiError && err.transient,
    retryAfterMs: (err) => (err instanceof TeamsApiError ? err.retryAfterMs : undefined),
  });
}

/** The URL of one team; the team name is one path segment whatever it contains. */
export function teamUrl(base: string, team: string): string {
  return `${base.replace(/\/+$/, '')}/teams/${encodeURIComponent(team)}`;
}

/** A malformed answer is not repeated within the invocation; the Broker's redelivery asks again later. */
function garbage(team: string, why: string, status: number): TeamsApiError {
  return new TeamsApiError(`the Teams API answered for team ${JSON.stringify(team)} with ${why}`, status, { transient: false });
}

async function fetchOnce(options: TeamsApiOptions, team: string): Promise<TeamLookup> {
  const url = teamUrl(options.url, team);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TEAMS_API_TIMEOUT_MS;
  let body: string;
  let status: number;
  let retryAfter: string | null;
  try {
    const res = await (options.fetch ?? fetch)(url, {
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    status = res.status;
    retryAfter = res.headers.get('retry-after');
    body = await res.text();
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = timedOut ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new TeamsApiError(`cannot reach the Teams API for team ${JSON.stringify(team)} at ${url}: ${detail}`, undefined, { cause: err });
  }
  if (status === 404) {
    return {
      found: false,
      members: [],
      warning: `the Teams API does not know team ${JSON.stringify(team)} (404); it has no members from there`,
    };
  }
  if (status !== 200) {
    const retryAfterMs = parseRetryAfter(retryAfter ?? undefined);
    throw new TeamsApiError(`the Teams API answered ${status} for team ${JSON.stringify(team)}${errorText(body)}`, status, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  return { found: true, members: parseMembers(team, body, status) };
}

/** `{"member": ["a", …], …}` (upstream's Team object) or `["a", …]` (the minimal API of docs/user.md). */
export function parseMembers(team: string, body: string, status = 200): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw garbage(team, `a body that is not JSON (${JSON.stringify(body.slice(0, 80))})`, status);
  }
  const list: unknown = Array.isArray(doc) ? doc : typeof doc === 'object' && doc !== null ? (doc as { member?: unknown }).member : doc;
  if (!Array.isArray(list)) {
    throw garbage(team, 'JSON that is neither a list of names nor an object with a "member" list', status);
  }
  const bad: unknown = (list as unknown[]).find((m) => typeof m !== 'string');
  if (bad !== undefined) throw garbage(team, `a member that is not a string (${JSON.stringify(bad)?.slice(0, 40)})`, status);
  return [...new Set(list as string[])];
}

/** Upstream reports the `error` field of a failed answer when there is one. */
function errorText(body: string): string {
  try {
    const doc = JSON.parse(body) as { error?: unknown };
    if (doc !== null && typeof doc === 'object' && doc.error !== undefined) return `: ${JSON.stringify(doc.error).slice(0, 200)}`;
  } catch {
    // not JSON: the status says enough
  }
  return '';
}
