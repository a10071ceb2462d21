// Which Postgres failures are worth another try; the retrying itself is @pgfn/kube's one retry policy.
import { withRetry } from '@pgfn/kube';

/** SQLSTATEs that say "try again": lost connection, shutdown, failover, contention. */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
  '55006', // object_in_use: someone else is connected to template1 during CREATE DATABASE
  '25006', // read_only_sql_transaction: we reached a replica during a failover
]);

/** Node socket errors of a connection that went away. */
const RETRYABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** "Already exists" after a retry: the first attempt committed before its connection broke. */
export const ALREADY_EXISTS_SQLSTATES = new Set(['42710', '42P04', '42P06']);

export interface PgErrorLike {
  readonly message: string;
  readonly code?: string;
}

export function sqlState(err: unknown): string | undefined {
  const code = (err as PgErrorLike | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isRetryable(err: unknown): boolean {
  const code = (err as PgErrorLike | undefined)?.code;
  if (typeof code === 'string' && (RETRYABLE_SQLSTATES.has(code) || code.startsWith('08') || RETRYABLE_ERRNO.has(code))) return true;
  return isConnectionLost(err);
}

/** Errors after which the client is unusable and must be reopened. */
export function isConnectionLost(err: unknown): boolean {
  const message = (err as Error | undefined)?.message ?? '';
  const code = (err as PgErrorLike | undefined)?.code ?? '';
  return (
    RETRYABLE_ERRNO.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    /Connection terminated|Client has encountered a connection error|not queryable|timeout expired/i.test(message)
  );
}

export interface RetryOptions {
  /** Attempts in all, at least 1. Default 3. */
  readonly attempts?: number;
  /** The backoff's first ceiling (jittered, doubling): @pgfn/kube's retry policy. Default 500 ms. */
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs `work` under the one retry policy until it succeeds, fails with a non-retryable error, or the attempts are used up. */
export async function withRetries<T>(
  work: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
  onRetry?: (err: unknown, attempt: number) => Promise<void> | void,
): Promise<T> {
  return withRetry(work, {
    policy: { attempts: options.attempts ?? 3, baseDelayMs: options.backoffMs ?? 500 },
    transient: isRetryable,
    ...(onRetry === undefined ? {} : { onRetry }),
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
  });
}
