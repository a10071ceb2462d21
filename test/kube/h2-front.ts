// An HTTP/2 front for the real API server that can misbehave on demand: it serves with the API server's
// own certificate (so the kubeconfig's CA trusts it), forwards each stream to the API server over a
// session of its own, and for the next requests can instead never answer, send GOAWAY, or cut the
// connection. It counts the connections clients open. A healthy API server does none of these on
// demand; everything else is the real server's answer.
import { readFileSync } from 'node:fs';
import http2, { type ClientHttp2Session, type Http2SecureServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { testEnv } from '../support/env.js';

export type H2Fault = 'hang' | 'goaway' | 'cut';

export interface H2Front {
  /** The admin kubeconfig, its server the front. */
  readonly kubeConfig: k8s.KubeConfig;
  /** TLS connections clients opened, and whether each negotiated h2. */
  readonly sessions: { readonly alpn: string | false }[];
  /** Requests seen (`METHOD path`). */
  readonly seen: string[];
  /** Faults for the next requests, in order; a request finding none is forwarded. */
  readonly faults: H2Fault[];
  close(): Promise<void>;
}

export async function startH2Front(): Promise<H2Front> {
  const env = testEnv();
  const upstream = http2.connect(env.server, {
    ca: readFileSync(env.pki.caCert),
    cert: readFileSync(env.pki.adminCert),
    key: readFileSync(env.pki.adminKey),
  });
  const live = new Set<ServerHttp2Session>();
  const hung = new Set<ServerHttp2Stream>();
  const sessions: H2Front['sessions'] = [];
  const seen: string[] = [];
  const faults: H2Fault[] = [];
  const server: Http2SecureServer = http2.createSecureServer({
    cert: readFileSync(env.pki.serverCert),
    key: readFileSync(env.pki.serverKey),
  });
  server.on('session', (s: ServerHttp2Session) => {
    live.add(s);
    s.on('close', () => live.delete(s));
    sessions.push({ alpn: s.alpnProtocol ?? false });
  });
  server.on('stream', (stream, headers) => {
    seen.push(`${String(headers[':method'])} ${String(headers[':path'])}`);
    const fault = faults.shift();
    if (fault === 'hang') return void hung.add(stream);
    if (fault === 'cut') return void stream.session?.destroy();
    // As a Go server shutting down: GOAWAY, and the streams it already took are still answered.
    if (fault === 'goaway') stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR);
    forward(upstream, stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromFile(env.kubeconfig);
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the admin kubeconfig names no cluster');
  kubeConfig.clusters = kubeConfig.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${port}` } : c));
  return {
    kubeConfig,
    sessions,
    seen,
    faults,
    close: async () => {
      for (const s of hung) s.close();
      for (const s of live) s.destroy();
      upstream.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function forward(upstream: ClientHttp2Session, stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (k !== ':authority' && k !== ':scheme') out[k] = v;
  const up = upstream.request(out);
  up.on('response', (h) => {
    const back: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === ':status') back[k] = v;
    stream.respond(back);
    up.pipe(stream);
  });
  up.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  stream.pipe(up);
}
