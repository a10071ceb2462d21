// HTTP/2 to the API server (ADR 0157): every request of a process on one TLS connection, as client-go
// does, instead of a connection (socket, handshake, TLS state) per concurrent request. A cold
// function's first round of nine reads opened nine connections; now it opens one.
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { SecureContext } from 'node:tls';

export interface H2Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface H2Request {
  readonly method: string;
  /** Path and query below the origin. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Buffer;
  readonly timeoutMs: number;
}

/** What decides the TLS connection: a new context or server name means a new session. */
export interface H2Tls {
  readonly secureContext: SecureContext;
  readonly servername?: string;
  readonly rejectUnauthorized?: boolean;
}

/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2); Node refuses a request carrying them. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/**
 * One session per TLS identity, opened on first use and replaced when the server sends GOAWAY, the
 * connection fails, or a request times out with nothing heard on the session meanwhile. The session
 * keeps the process alive only while a request is open, as a keep-alive Agent's free sockets do.
 */
export class H2Sessions {
  private current: { session: ClientHttp2Session; tls: H2Tls; open: number; heardAt: number } | undefined;

  constructor(private readonly origin: string) {}

  request(req: H2Request, tls: H2Tls): Promise<H2Response> {
    const entry = this.sessionFor(tls);
    const headers: OutgoingHttpHeaders = { ':method': req.method, ':path': req.path };
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
    const started = performance.now();
    return new Promise<H2Response>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = entry.session.request(headers, { endStream: req.body === undefined });
      } catch (err) {
        this.drop(entry.session);
        return reject(connectionError(err));
      }
      if (entry.open++ === 0) entry.session.ref();
      let status = 0;
      let resHeaders: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let settled = false;
      /** Once per request, whichever of answer, error and time limit comes first. */
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        if (--entry.open === 0) entry.session.unref();
        return true;
      };
      stream.on('response', (h) => {
        entry.heardAt = performance.now();
        status = Number(h[':status'] ?? 0);
        resHeaders = h;
      });
      stream.on('data', (c: Buffer) => {
        entry.heardAt = performance.now();
        chunks.push(c);
      });
      stream.on('end', () => {
        if (!done()) return;
        if (status === 0) reject(connectionError(new Error('the stream ended without a response')));
        else resolve({ status, headers: resHeaders, text: Buffer.concat(chunks).toString('utf8') });
      });
      stream.on('error', (err) => {
        if (done()) reject(connectionError(err));
      });
      // A stream the server refused (RST_STREAM, or beyond a GOAWAY's last stream) may close without an error.
      stream.on('close', () => {
        if (done()) reject(connectionError(new Error(`the stream closed unanswered (code ${stream.rstCode ?? '?'})`)));
      });
      // Connect to last byte: a hung API server must not hold the invocation until the Broker gives up.
      const timer = setTimeout(() => {
        if (!done()) return;
        // Nothing heard on the whole session since this request began: the connection, not the request, is stuck.
        if (entry.heardAt <= started) this.drop(entry.session);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(Object.assign(new Error(`no answer from the API server within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, req.timeoutMs);
      if (req.body !== undefined) stream.end(req.body);
    });
  }

  private sessionFor(tls: H2Tls): NonNullable<H2Sessions['current']> {
    const c = this.current;
    if (c !== undefined && !c.session.closed && !c.session.destroyed && sameTls(c.tls, tls)) return c;
    if (c !== undefined) c.session.close();
    const session = http2.connect(this.origin, {
      secureContext: tls.secureContext,
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
    });
    session.unref();
    const entry = { session, tls, open: 0, heardAt: performance.now() };
    // Errors reach the streams too; here they only retire the session.
    session.on('error', () => this.drop(session));
    session.on('goaway', () => this.drop(session));
    session.on('close', () => this.drop(session));
    this.current = entry;
    return entry;
  }

  private drop(session: ClientHttp2Session): void {
    if (this.current?.session !== session) return;
    this.current = undefined;
    if (!session.destroyed) session.close();
  }
}

function sameTls(a: H2Tls, b: H2Tls): boolean {
  return a.secureContext === b.secureContext && a.servername === b.servername && a.rejectUnauthorized === b.rejectUnauthorized;
}

/**
 * A failed stream or session as the retry policy knows connection failures (ECONNRESET): the request
 * may not have reached the server, or its answer was lost with the connection.
 */
function connectionError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|CERT|SELF_SIGNED|UNABLE_TO/.test(code)) return e;
  return Object.assign(new Error(`HTTP/2 connection to the API server failed: ${e.message} (ECONNRESET)`), {
    code: 'ECONNRESET',
    cause: e,
  });
}
