// Knative's delivery spec (duck/v1 DeliverySpec) and its retry behaviour, as implemented by
// knative.dev/eventing v0.49 pkg/kncloudevents/retries.go on top of hashicorp/go-retryablehttp.

export interface DestinationSpec {
  readonly ref?: { readonly apiVersion?: string; readonly kind?: string; readonly name: string; readonly namespace?: string };
  readonly uri?: string;
}

export interface DeliverySpec {
  readonly retry?: number;
  readonly backoffPolicy?: 'exponential' | 'linear';
  readonly backoffDelay?: string;
  readonly timeout?: string;
  readonly retryAfterMax?: string;
  readonly deadLetterSink?: DestinationSpec;
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** Wait before retry `n` (0-based: the first retry is n = 0). */
  readonly backoffMs: (n: number) => number;
  /** Per-attempt request timeout; undefined means none (Knative's default). */
  readonly timeoutMs?: number;
  /** Cap on honouring Retry-After of 429/503 answers; undefined means Retry-After is ignored. */
  readonly retryAfterMaxMs?: number;
}

/**
 * The retry policy a delivery spec describes. Knative waits `delay * 2^n` (exponential) or
 * `delay * n` (linear) before retry n, n counted from 0 — so linear retries the first time at once.
 * Without both a policy and a delay there is no wait at all.
 */
export function retryPolicy(spec: DeliverySpec | undefined): RetryPolicy {
  const retries = Math.max(0, spec?.retry ?? 0);
  const delay = spec?.backoffDelay === undefined ? undefined : parseIsoDuration(spec.backoffDelay, 'delivery.backoffDelay');
  let backoffMs = (_n: number): number => 0;
  if (spec?.backoffPolicy !== undefined && delay !== undefined) {
    backoffMs = spec.backoffPolicy === 'linear' ? (n) => delay * n : (n) => delay * 2 ** n;
  }
  return {
    retries,
    backoffMs,
    timeoutMs: spec?.timeout === undefined ? undefined : parseIsoDuration(spec.timeout, 'delivery.timeout'),
    retryAfterMaxMs: spec?.retryAfterMax === undefined ? undefined : parseIsoDuration(spec.retryAfterMax, 'delivery.retryAfterMax'),
  };
}

/**
 * Whether Knative retries an attempt: no response (connection refused, reset, timeout), 5xx, 404,
 * 408, 409 and 429 are retried; everything else (2xx, 3xx, other 4xx) is final.
 */
export function isRetryable(status: number | undefined): boolean {
  if (status === undefined || status === -1) return true;
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

export function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/** The wait before retry `n`, honouring Retry-After on 429/503 when retryAfterMax allows it. */
export function waitBeforeRetry(
  policy: RetryPolicy,
  n: number,
  { status, retryAfter }: { readonly status?: number | undefined; readonly retryAfter?: string | undefined },
  now = Date.now(),
): number {
  const backoff = policy.backoffMs(n);
  if (policy.retryAfterMaxMs === undefined || (status !== 429 && status !== 503) || retryAfter === undefined) return backoff;
  const seconds = Number(retryAfter);
  const asked = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - now;
  if (!Number.isFinite(asked) || asked <= 0) return backoff;
  return Math.max(backoff, Math.min(asked, policy.retryAfterMaxMs));
}

const UNIT_MS: Readonly<Record<string, number>> = {
  Y: 365.2425 * 86_400_000,
  M: 30.436875 * 86_400_000,
  W: 7 * 86_400_000,
  D: 86_400_000,
  H: 3_600_000,
  TM: 60_000,
  S: 1000,
};

/** An ISO 8601 duration ("PT0.5S", "PT1M30S", "P1D") in milliseconds; the field names the spec path. */
export function parseIsoDuration(text: string, field = 'duration'): number {
  const m =
    /^(-)?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/.exec(
      text.trim(),
    );
  if (m === null || text.trim() === 'P' || text.trim().endsWith('T')) {
    throw new Error(`${field}: "${text}" is not an ISO 8601 duration such as PT0.5S or PT1M`);
  }
  const parts: [string | undefined, number | undefined][] = [
    [m[2], UNIT_MS['Y']],
    [m[3], UNIT_MS['M']],
    [m[4], UNIT_MS['W']],
    [m[5], UNIT_MS['D']],
    [m[6], UNIT_MS['H']],
    [m[7], UNIT_MS['TM']],
    [m[8], UNIT_MS['S']],
  ];
  const ms = parts.reduce((sum, [v, unit]) => sum + (v === undefined ? 0 : Number(v.replace(',', '.')) * (unit ?? 0)), 0);
  return m[1] === '-' ? -ms : ms;
}
