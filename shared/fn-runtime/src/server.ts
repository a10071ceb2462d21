import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { BODY_LIMIT_BYTES, answerEvent, readiness, type CloudEventAppOptions } from './receive.js';

/**
 * The receiver every function shares, on Node's own HTTP server (express's start-up cost is gone, so
 * a scaled-to-zero function answers its first event sooner, ADR 0011): CloudEvents in binary and
 * structured mode on POST /, 400 with a reason for anything else, /healthz, /readyz, /metrics.
 * Routing and body handling as express would do them (case-insensitive paths, gzip/deflate/br).
 */
export function createCloudEventServer(opts: CloudEventAppOptions): Server {
  return createServer((req, res) => {
    void route(opts, req, res).catch((err: unknown) => {
      opts.log.error({ err }, 'request failed');
      if (!res.headersSent) send(res, 500, 'application/json; charset=utf-8', JSON.stringify({ error: (err as Error).message }));
    });
  });
}

async function route(opts: CloudEventAppOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = routePath(req.url ?? '/');
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (method === 'POST' && path === '/') {
    const body = await readBody(req);
    if (typeof body === 'number') {
      send(res, body, 'application/json; charset=utf-8', JSON.stringify({ error: BODY_ERRORS[body] ?? 'unreadable body' }));
      return;
    }
    const answer = await answerEvent(opts, req.headers, body);
    res.once('finish', () => setImmediate(opts.metrics.startProcessMetrics));
    // Knative's broker filter takes a non-empty answer that is not a CloudEvent as a failed delivery (502,
    // redelivered, then dead-lettered): a handled event is answered with no body, its outcome in a header.
    if (answer.status < 300) return sendEmpty(res, answer.status, outcomeOf(answer.json));
    send(res, answer.status, 'application/json; charset=utf-8', JSON.stringify(answer.json));
    return;
  }
  if (method === 'GET' && path === '/healthz') return send(res, 200, TEXT, 'ok');
  if (method === 'GET' && path === '/readyz') {
    const ok = await readiness(opts);
    return send(res, ok ? 200 : 503, TEXT, ok ? 'ok' : 'not ready');
  }
  if (method === 'GET' && path === '/metrics') {
    opts.metrics.startProcessMetrics();
    const text = await opts.metrics.registry.metrics();
    return send(res, 200, opts.metrics.registry.contentType, text);
  }
  req.resume();
  send(res, 404, TEXT, `Cannot ${req.method ?? ''} ${path}`);
}

const TEXT = 'text/html; charset=utf-8';
const BODY_ERRORS: Record<number, string> = {
  400: 'the body does not decompress',
  413: 'request entity too large',
  415: 'unsupported content encoding',
};

/** Routing as express does by default: case-insensitive, a trailing slash ignored, no query. */
function routePath(url: string): string {
  const path = (url.split('?')[0] ?? '/').toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The header naming a handled event's outcome (`ok`, `ignored`, …, or `terminal` for a failure not retried). */
export const OUTCOME_HEADER = 'Pgfn-Outcome';

function outcomeOf(json: Record<string, unknown>): string {
  return typeof json['outcome'] === 'string' ? json['outcome'] : 'terminal';
}

function sendEmpty(res: ServerResponse, status: number, outcome: string): void {
  res.writeHead(status, { [OUTCOME_HEADER]: outcome, 'Content-Length': 0 });
  res.end();
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  res.end(bytes);
}

const DECODERS = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** A decompressor for a DECODERS encoding; zlib is loaded on first use, as few events come compressed (ADR 0126). */
async function decoder(encoding: string): Promise<Readable & NodeJS.WritableStream> {
  const zlib = await import('node:zlib');
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return encoding === 'deflate' ? zlib.createInflate() : zlib.createGunzip();
}

/**
 * The request body, decompressed as express.raw would (gzip, deflate, br), or the status to answer
 * instead: 413 beyond BODY_LIMIT_BYTES, 415 for an encoding we cannot read.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | number> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && !DECODERS.has(encoding)) {
    req.resume();
    return 415;
  }
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT_BYTES) {
    req.resume();
    return 413;
  }
  const stream: Readable = encoding === 'identity' ? req : req.pipe(await decoder(encoding));
  // Past the limit, the rest is read and dropped (not destroyed) so the 413 reaches the client.
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT_BYTES) chunks.push(chunk);
    });
    stream.on('end', () => resolve(size > BODY_LIMIT_BYTES ? 413 : Buffer.concat(chunks)));
    stream.on('error', () => {
      req.resume();
      resolve(400);
    });
  });
}
