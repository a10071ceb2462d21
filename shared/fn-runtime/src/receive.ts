// What a function does with one HTTP request carrying a CloudEvent, apart from the HTTP server that
// received it (server.ts): parse, call the handler, map its outcome to a status.
import type { IncomingHttpHeaders } from 'node:http';
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { isTerminal } from './errors.js';
import type { Logger } from './logger.js';
import type { FunctionMetrics } from './metrics.js';

/** What a handler says it did with an event; errors are thrown (see errors.ts). */
export type Outcome = 'ok' | 'ignored';

export interface HandlerContext {
  readonly log: Logger;
}

export type EventHandler = (event: CloudEventV1<unknown>, ctx: HandlerContext) => Promise<Outcome>;

export interface CloudEventAppOptions {
  readonly fn: string;
  readonly handle: EventHandler;
  readonly log: Logger;
  readonly metrics: FunctionMetrics;
  /** Readiness beyond liveness, e.g. "the API server answered once". Defaults to ready. */
  readonly ready?: () => Promise<boolean>;
}

/** The status and JSON body to answer a POST with. */
export interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

// The largest object the apiserver stores is ~1.5 MiB (etcd's request limit); Resource-mode events
// carry the whole object, JSON-escaped in structured mode, so leave generous room.
export const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * A handler's retryable failure becomes 503 (the Broker redelivers); a terminal one 200; anything
 * that is not a valid CloudEvent 400 with the reason.
 */
export async function answerEvent(opts: CloudEventAppOptions, headers: IncomingHttpHeaders, body: Buffer | undefined): Promise<Answer> {
  const event = parseCloudEvent(headers, body);
  if (typeof event === 'string') {
    opts.metrics.events.inc({ type: 'unknown', outcome: 'malformed' });
    opts.log.warn({ reason: event }, 'rejected a request that is not a valid CloudEvent');
    return { status: 400, json: { error: event } };
  }
  const log = opts.log.child({ ceId: event.id, ceType: event.type, subject: event.subject });
  const stop = opts.metrics.duration.startTimer({ type: event.type });
  try {
    const outcome = await opts.handle(event, { log });
    opts.metrics.events.inc({ type: event.type, outcome });
    log.debug({ outcome }, 'handled');
    return { status: outcome === 'ok' ? 200 : 202, json: { outcome } };
  } catch (err) {
    const terminal = isTerminal(err);
    opts.metrics.events.inc({ type: event.type, outcome: terminal ? 'terminal' : 'retry' });
    log.error({ err }, terminal ? 'terminal failure; not retried' : 'failed; the broker will redeliver');
    return { status: terminal ? 200 : 503, json: { error: (err as Error).message } };
  } finally {
    stop();
  }
}

/** The attributes every CloudEvent has (specversion apart), non-empty strings. */
const REQUIRED_ATTRIBUTES = ['id', 'source', 'type'] as const;

/** The CloudEvent in a request's headers and raw body, or the reason it is not one. */
export function parseCloudEvent(rawHeaders: IncomingHttpHeaders, rawBody: Buffer | undefined): CloudEventV1<unknown> | string {
  const body = rawBody === undefined ? '' : rawBody.toString('utf8');
  const headers = Object.fromEntries(Object.entries(rawHeaders).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
  const structured = (headers['content-type'] ?? '').startsWith('application/cloudevents');
  const binary = Object.keys(headers).some((h) => h.startsWith('ce-'));
  if (!structured && !binary)
    return 'not a CloudEvent: expected ce-* headers (binary mode) or content-type application/cloudevents+json (structured mode)';
  try {
    const parsed = HTTP.toEvent<unknown>({ headers, body });
    if (Array.isArray(parsed)) return 'batched CloudEvents are not supported';
    // toEvent does not insist on the required attributes (nor on a known specversion); this does, as the
    // stand-in broker's ingress does. The SDK's validate() would also check the formats of source and
    // time against its JSON schema, whose regular expressions cost a cold start's first event ~4 ms of
    // CPU (ADR 0155); handlers match source as a string and ignore a time they cannot read.
    if (parsed.specversion !== '1.0' && parsed.specversion !== '0.3')
      return `unsupported CloudEvents specversion ${JSON.stringify(parsed.specversion)}`;
    const missing = REQUIRED_ATTRIBUTES.filter((a) => typeof parsed[a] !== 'string' || parsed[a] === '');
    if (missing.length > 0)
      return `invalid CloudEvent: required attribute${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing or empty`;
    return parsed;
  } catch (err) {
    const detail = (err as { errors?: unknown }).errors;
    return `invalid CloudEvent: ${(err as Error).message}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`;
  }
}

/** /readyz: the readiness probe's answer. */
export async function readiness(opts: CloudEventAppOptions): Promise<boolean> {
  try {
    return opts.ready === undefined ? true : await opts.ready();
  } catch {
    return false;
  }
}
