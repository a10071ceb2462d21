// The HTTP transport under KubeClient: client-node's KubeConfig decides how to reach and authenticate
// to the API server (TLS files, tokens, exec/OIDC plugins, proxies); the request itself is Node's
// HTTP/2 on one connection (ADR 0157), or http(s) with one keep-alive pool for a plain-HTTP server or
// a proxy, so a cold function loads none of client-node's generated API classes and serializers (ADR 0011).
import http from 'node:http';
import https from 'node:https';
import type { SecureContext } from 'node:tls';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { H2Sessions } from './h2.js';
import { SecureContexts } from './secure-context.js';

export interface RestRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. `/api/v1/namespaces/default/secrets/x`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | boolean | undefined>>;
  readonly body?: unknown;
  /** Defaults to application/json when there is a body. */
  readonly contentType?: string;
}

/** Sends requests to the current context's API server; non-2xx answers throw client-node's ApiException. */
export class RestClient {
  private readonly server: URL;
  // One pool for all requests: https.Agent keys sockets by the TLS options of each request, so a
  // refreshed token reuses the connection while changed certificates get a new one.
  private readonly agent: http.Agent;
  private readonly contexts = new SecureContexts();
  /** HTTP/2 sessions for an https server reached without a proxy. */
  private readonly h2: H2Sessions | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs: number,
  ) {
    const server = kc.getCurrentCluster()?.server;
    if (server === undefined || server === '') throw new Error('the kubeconfig names no API server (no current cluster)');
    this.server = new URL(server);
    this.agent = this.server.protocol === 'http:' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
    const direct = this.server.protocol === 'https:' && kc.getCurrentCluster()?.proxyUrl === undefined;
    this.h2 = direct && process.env['PGFN_KUBE_HTTP1'] !== '1' ? new H2Sessions(this.server.origin) : undefined;
  }

  /** The current context's namespace, else `default` (what kubectl and client-node assume). */
  defaultNamespace(): string {
    const ctx = this.kc.getContextObject(this.kc.getCurrentContext());
    return ctx?.namespace ?? 'default';
  }

  async request(req: RestRequest): Promise<unknown> {
    const opts: https.RequestOptions = {};
    // Re-applied per request: token files are re-read and exec/OIDC tokens refreshed when due.
    await this.kc.applyToHTTPSOptions(opts);
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: http.OutgoingHttpHeaders = { ...(opts.headers as http.OutgoingHttpHeaders | undefined), Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const url = new URL(this.server.pathname.replace(/\/$/, '') + req.path, this.server);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const {
      status,
      headers: resHeaders,
      text,
    } = await (this.h2 === undefined
      ? this.http1(url, { method: req.method, headers, payload, opts })
      : this.h2.request(
          {
            method: req.method,
            path: url.pathname + url.search,
            headers: withBasicAuth(headers, opts.auth),
            body: payload,
            timeoutMs: this.timeoutMs,
          },
          {
            secureContext: this.contexts.contextFor(tlsOptions(opts)),
            servername: opts.servername,
            rejectUnauthorized: opts.rejectUnauthorized,
          },
        ));
    if (status < 200 || status > 299)
      throw new ApiException(status, 'Unsuccessful HTTP Request', text, resHeaders as Record<string, string>);
    return text === '' ? undefined : JSON.parse(text);
  }

  /** One request over HTTP/1.1: a plain-HTTP server, or a proxy (client-node's agent for it). */
  private http1(
    url: URL,
    o: { method: string; headers: http.OutgoingHttpHeaders; payload: Buffer | undefined; opts: https.RequestOptions },
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    const send = url.protocol === 'http:' ? http.request : https.request;
    const agent = this.kc.getCurrentCluster()?.proxyUrl === undefined ? this.agent : o.opts.agent;
    return new Promise((resolve, reject) => {
      const tls = tlsOptions(o.opts);
      // The material stays in the options too: the agent pools connections by it.
      const secureContext = url.protocol === 'https:' ? this.contexts.contextFor(tls) : undefined;
      const options: https.RequestOptions & { secureContext?: SecureContext } = {
        ...tls,
        secureContext,
        method: o.method,
        headers: o.headers,
        agent,
      };
      const r = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      // Connect to last byte: a hung API server or proxy must not hold the invocation until the Broker gives up.
      const timer = setTimeout(() => {
        r.destroy(Object.assign(new Error(`no answer from the API server within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, this.timeoutMs);
      r.on('close', () => clearTimeout(timer));
      r.on('error', reject);
      r.end(o.payload);
    });
  }
}

/** What KubeConfig put on the options that decides the TLS connection. */
function tlsOptions(o: https.RequestOptions): https.RequestOptions {
  const out: https.RequestOptions = {};
  for (const key of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'auth'] as const) {
    if (o[key] !== undefined) (out as Record<string, unknown>)[key] = o[key];
  }
  return out;
}

/** A kubeconfig's username and password (client-node sets `auth`) as the header HTTP/2 needs. */
function withBasicAuth(headers: http.OutgoingHttpHeaders, auth: string | null | undefined): http.OutgoingHttpHeaders {
  if (auth === undefined || auth === null || auth === '') return headers;
  return { ...headers, Authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
}
