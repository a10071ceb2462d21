import express, { type Express, type Request, type Response } from 'express';
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

/**
 * The receiver every function shares: CloudEvents over HTTP in binary and structured mode on POST /,
 * 400 with a reason for anything that is not a valid CloudEvent, /healthz, /readyz, /metrics.
 * A handler's retryable failure becomes 503 (the Broker redelivers); a terminal one 200.
 */
export function createCloudEventApp(opts: CloudEventAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // The largest object the apiserver stores is ~1.5 MiB (etcd's request limit); Resource-mode events
  // carry the whole object, JSON-escaped in structured mode, so leave generous room.
  app.use(express.raw({ type: () => true, limit: '8mb' }));
  app.get('/healthz', (_req, res) => { res.status(200).send('ok'); });
  app.get('/readyz', (_req, res) => {
    void (opts.ready ?? (async () => true))().then(
      (ok) => res.status(ok ? 200 : 503).send(ok ? 'ok' : 'not ready'),
      () => res.status(503).send('not ready'),
    );
  });
  app.get('/metrics', (_req, res) => {
    void opts.metrics.registry.metrics().then((text) => res.type(opts.metrics.registry.contentType).send(text));
  });
  app.post('/', (req, res) => { void receive(opts, req, res); });
  return app;
}

async function receive(opts: CloudEventAppOptions, req: Request, res: Response): Promise<void> {
  const event = parseEvent(req);
  if (typeof event === 'string') {
    opts.metrics.events.inc({ type: 'unknown', outcome: 'malformed' });
    opts.log.warn({ reason: event }, 'rejected a request that is not a valid CloudEvent');
    res.status(400).json({ error: event });
    return;
  }
  const log = opts.log.child({ ceId: event.id, ceType: event.type, subject: event.subject });
  const stop = opts.metrics.duration.startTimer({ type: event.type });
  try {
    const outcome = await opts.handle(event, { log });
    opts.metrics.events.inc({ type: event.type, outcome });
    res.status(outcome === 'ok' ? 200 : 202).json({ outcome });
  } catch (err) {
    const terminal = isTerminal(err);
    opts.metrics.events.inc({ type: event.type, outcome: terminal ? 'terminal' : 'retry' });
    log.error({ err }, terminal ? 'terminal failure; not retried' : 'failed; the broker will redeliver');
    res.status(terminal ? 200 : 503).json({ error: (err as Error).message });
  } finally {
    stop();
  }
}

/** The CloudEvent in the request, or the reason it is not one. */
export function parseEvent(req: Request): CloudEventV1<unknown> | string {
  const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
  const structured = (headers['content-type'] ?? '').startsWith('application/cloudevents');
  const binary = Object.keys(headers).some((h) => h.startsWith('ce-'));
  if (!structured && !binary) return 'not a CloudEvent: expected ce-* headers (binary mode) or content-type application/cloudevents+json (structured mode)';
  try {
    const parsed = HTTP.toEvent<unknown>({ headers, body });
    if (Array.isArray(parsed)) return 'batched CloudEvents are not supported';
    // toEvent does not insist on the required attributes; validate() does.
    (parsed as CloudEventV1<unknown> & { validate(): boolean }).validate();
    return parsed;
  } catch (err) {
    const detail = (err as { errors?: unknown }).errors;
    return `invalid CloudEvent: ${(err as Error).message}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`;
  }
}
