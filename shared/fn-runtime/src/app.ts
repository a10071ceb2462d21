import express, { type Express, type Request } from 'express';
import type { CloudEventV1 } from 'cloudevents';
import { BODY_LIMIT_BYTES, answerEvent, parseCloudEvent, readiness, type CloudEventAppOptions } from './receive.js';

export type { CloudEventAppOptions, EventHandler, HandlerContext, Outcome } from './receive.js';

/**
 * The receiver every function shares, as an express app: CloudEvents over HTTP in binary and
 * structured mode on POST /, 400 with a reason for anything that is not a valid CloudEvent, /healthz,
 * /readyz, /metrics. createCloudEventServer (server.ts) answers the same on plain node:http; a
 * function's process uses that one, which starts faster (ADR 0011).
 */
export function createCloudEventApp(opts: CloudEventAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.raw({ type: () => true, limit: BODY_LIMIT_BYTES }));
  app.get('/healthz', (_req, res) => {
    res.status(200).send('ok');
  });
  app.get('/readyz', (_req, res) => {
    void readiness(opts).then((ok) => res.status(ok ? 200 : 503).send(ok ? 'ok' : 'not ready'));
  });
  app.get('/metrics', (_req, res) => {
    void opts.metrics.registry.metrics().then((text) => res.type(opts.metrics.registry.contentType).send(text));
  });
  app.post('/', (req, res) => {
    void answerEvent(opts, req.headers, Buffer.isBuffer(req.body) ? req.body : undefined).then((a) => res.status(a.status).json(a.json));
  });
  return app;
}

/** The CloudEvent in the request, or the reason it is not one. */
export function parseEvent(req: Request): CloudEventV1<unknown> | string {
  return parseCloudEvent(req.headers, Buffer.isBuffer(req.body) ? req.body : undefined);
}
