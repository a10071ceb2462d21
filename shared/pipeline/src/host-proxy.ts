// An HTTP forward proxy that routes by host name: Knative addresses every hop by a cluster DNS name
// (broker-ingress.knative-eventing.svc.cluster.local, <channel>-kn-channel.<ns>.svc.cluster.local,
// <ksvc>.<ns>.svc.cluster.local). Every Knative sender honours HTTP_PROXY and Go never proxies loopback,
// so this one proxy carries all hops to local ports without touching the machine's resolver.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where a host name goes: a local base URL, and a callback once the answer is through (leases). */
export interface ProxyTarget {
  readonly url: string;
  release?(responded: boolean): void;
}

export type HostRoute = (host: string) => Promise<ProxyTarget | undefined>;

export class HostProxy {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(route: HostRoute): Promise<HostProxy> {
    const server = createServer((req, res) => {
      void forward(route, req, res);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new HostProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function forward(route: HostRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let to: URL;
  try {
    to = new URL(req.url ?? '');
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('a proxy request needs an absolute URL');
    return;
  }
  let target: ProxyTarget | undefined;
  try {
    target = await route(to.hostname);
  } catch (err) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`${to.hostname}: ${(err as Error).message}`);
    return;
  }
  if (target === undefined) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`no local route for ${to.hostname}`);
    return;
  }
  const base = new URL(target.url);
  let responded = false;
  const upstream = request(
    {
      host: base.hostname,
      port: base.port,
      method: req.method,
      // A target with a path (the dead-letter sink's /dead-letter) takes the request's path below it.
      path: `${base.pathname.replace(/\/$/, '')}${to.pathname === '/' && base.pathname !== '/' ? '' : to.pathname}${to.search}`,
      // The Host header stays the cluster name: the channel dispatcher routes by it.
      headers: { ...req.headers, host: to.host },
    },
    (up) => {
      responded = true;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('end', () => target.release?.(true));
    },
  );
  upstream.on('error', (err) => {
    if (!responded) {
      target.release?.(false);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`${to.hostname}: ${err.message}`);
    } else res.destroy(err);
  });
  req.pipe(upstream);
}
