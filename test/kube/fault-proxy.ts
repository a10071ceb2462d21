// A plain-HTTP reverse proxy in front of the real API server that can answer a request itself
// instead of forwarding it: a 429 with Retry-After, a 5xx, or no answer at all (a hung server). The
// API server is real; only the faults are injected, because a healthy API server cannot be made to
// throttle or hang on demand. The proxy authenticates upstream with the admin kubeconfig.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';

export type Fault = { readonly status: number; readonly retryAfter?: string } | { readonly hang: true };

export interface FaultProxy {
  /** A kubeconfig reaching the API server through the proxy (no credentials: the proxy adds them). */
  readonly kubeConfig: k8s.KubeConfig;
  /** `METHOD path?query` of every request the proxy saw, with the time it arrived. */
  readonly seen: { readonly line: string; readonly at: number }[];
  /** Faults for the next requests, in order; a request finding none is forwarded. */
  readonly faults: Fault[];
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: k8s.KubeConfig, namespace: string): Promise<FaultProxy> {
  const server = upstream.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('the upstream kubeconfig names no API server');
  const target = new URL(server);
  const tls: https.RequestOptions = {};
  await upstream.applyToHTTPSOptions(tls);
  const agent = new https.Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key });
  const seen: FaultProxy['seen'] = [];
  const faults: Fault[] = [];
  const hung = new Set<ServerResponse>();

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = { ...req.headers, host: target.host, ...(tls.headers as Record<string, string> | undefined) };
    const up = https.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(err.message);
    });
    req.pipe(up);
  };

  const proxy: Server = http.createServer((req, res) => {
    seen.push({ line: `${req.method ?? ''} ${req.url ?? ''}`, at: Date.now() });
    const fault = faults.shift();
    if (fault === undefined) return forward(req, res);
    req.resume();
    if ('hang' in fault) {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    res.writeHead(fault.status, {
      'content-type': 'application/json',
      ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
    });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: fault.status, reason: 'Injected' }));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'proxy', server: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'proxy' }],
    contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy', namespace }],
    currentContext: 'proxy',
  });
  return {
    kubeConfig,
    seen,
    faults,
    close: async () => {
      for (const res of hung) res.destroy();
      agent.destroy();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    },
  };
}
