// One POST over kept-alive connections. The broker delivers thousands of events a minute; node:http
// with an Agent costs a fraction of the CPU of fetch (undici's WHATWG streams) per request.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

// A free socket is dropped after 4 s, before a Node server's 5 s keep-alive closes it under a new request.
const httpAgent = new HttpAgent({ keepAlive: true, timeout: 4000 });
const httpsAgent = new HttpsAgent({ keepAlive: true, timeout: 4000 });

export interface PostResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface PostOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The whole exchange's limit; past it the promise rejects with an Error named TimeoutError. */
  readonly timeoutMs?: number;
}

/** POSTs `body` to `url`; resolves with the whole response, rejects on a network error or the time limit. */
export function post(url: string, opts: PostOptions): Promise<PostResponse> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = target.protocol === 'https:' ? httpsAgent : httpAgent;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: 'POST', agent, headers: { ...opts.headers, 'content-length': String(opts.body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: flatten(res.headers), body: Buffer.concat(chunks) });
      });
      res.on('error', fail);
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const err = new Error(`timed out after ${opts.timeoutMs} ms`);
            err.name = 'TimeoutError';
            req.destroy(err);
          }, opts.timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      reject(err);
    }
    req.on('error', fail);
    req.end(opts.body);
  });
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
