/**
 * A failure that another delivery may not repeat (API server unavailable, conflict, timeout):
 * answered with HTTP 503 so the Broker redelivers with backoff.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

/**
 * A failure no redelivery can fix (an invalid spec): the handler has already recorded it on the
 * CR's status and as an Event; answered 200 so the Broker does not retry it.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** Anything not explicitly terminal is retried: a lost event is worse than a repeated one. */
export function isTerminal(err: unknown): boolean {
  return err instanceof TerminalError;
}
