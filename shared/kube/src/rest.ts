// The HTTP transport under KubeClient: client-node's KubeConfig decides how to reach and authenticate
// to the API server (TLS files, tokens, exec/OIDC plugins, proxies); the request itself is Node's
// http(s) with one keep-alive pool, so a cold function loads none of client-node's generated API
// classes and serializers (ADR 0011).
import http from 'node:http';
import https from 'node:https';
import type { SecureContext } from 'node:tls';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
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

  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs: number,
  ) {
    const server = kc.getCurrentCluster()?.server;
    if (server === undefined || server === '') throw new Error('the kubeconfig names no API server (no current cluster)');
    this.server = new URL(server);
    this.agent = this.server.protocol === 'http:' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
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
    // client-node builds a proxy agent only when the cluster names a proxy; keep that one then.
    const agent = this.kc.getCurrentCluster()?.proxyUrl === undefined ? this.agent : opts.agent;
    const url = new URL(this.server.pathname.replace(/\/$/, '') + req.path, this.server);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const send = url.protocol === 'http:' ? http.request : https.request;
    const {
      status,
      headers: resHeaders,
      text,
    } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const tls = tlsOptions(opts);
      // The material stays in the options too: the agent pools connections by it.
      const secureContext = url.protocol === 'https:' ? this.contexts.contextFor(tls) : undefined;
      const options: https.RequestOptions & { secureContext?: SecureContext } = {
        ...tls,
        secureContext,
        method: req.method,
        headers,
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
      r.end(payload);
    });
    if (status < 200 || status > 299)
      throw new ApiException(status, 'Unsuccessful HTTP Request', text, resHeaders as Record<string, string>);
    return text === '' ? undefined : JSON.parse(text);
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
