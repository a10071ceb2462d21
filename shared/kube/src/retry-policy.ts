// The one retry policy of every client a function uses (the Kubernetes API, Postgres statements, the
// Teams API): a bounded number of attempts within one invocation, exponential backoff with full
// jitter so that many functions retrying at once do not hit a recovering server in step, and a
// server's Retry-After honoured (within maxDelayMs). Beyond the attempts the invocation fails and the
// Broker redelivers later.

export interface RetryPolicy {
  /** Attempts in all, at least 1. */
  readonly attempts: number;
  /** The backoff's first ceiling; it doubles per attempt. */
  readonly baseDelayMs: number;
  /** No pause is longer, whatever a Retry-After asks. */
  readonly maxDelayMs: number;
  /** One request, connect to last byte; past it the request is aborted and counts as transient. */
  readonly timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 5_000, timeoutMs: 30_000 };

export interface RetryOptions<E = unknown> {
  readonly policy?: Partial<RetryPolicy>;
  /** Whether this failure is worth another attempt. */
  readonly transient: (err: E) => boolean;
  /** The pause the server asked for (Retry-After), if any. */
  readonly retryAfterMs?: (err: E) => number | undefined;
  /** Told before each pause (logging, re-opening a connection). */
  readonly onRetry?: (err: E, attempt: number) => Promise<void> | void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** [0, 1); Math.random by default (tests pin it). */
  readonly random?: () => number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The full policy: the defaults with `partial` over them. */
export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY, ...partial };
}

/**
 * The pause before attempt `attempt + 1`: the server's Retry-After when it gave one, else a random
 * point in [0, min(max, base·2^(attempt-1))] (full jitter).
 */
export function retryDelayMs(policy: RetryPolicy, opts: { attempt: number; retryAfterMs?: number; random?: () => number }): number {
  if (opts.retryAfterMs !== undefined && opts.retryAfterMs >= 0) return Math.min(policy.maxDelayMs, opts.retryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (opts.attempt - 1));
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

/** Runs `call` until it succeeds, fails for good, or the policy's attempts are used up. */
export async function withRetry<T, E = unknown>(call: (attempt: number) => Promise<T>, opts: RetryOptions<E>): Promise<T> {
  const policy = retryPolicy(opts.policy);
  const attempts = Math.max(1, policy.attempts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (attempt >= attempts || !opts.transient(err as E)) throw err;
      await opts.onRetry?.(err as E, attempt);
      const retryAfterMs = opts.retryAfterMs?.(err as E);
      await (opts.sleep ?? sleep)(
        retryDelayMs(policy, {
          attempt,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(opts.random ? { random: opts.random } : {}),
        }),
      );
    }
  }
}

/** A Retry-After header's value in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: () => number = Date.now): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}
