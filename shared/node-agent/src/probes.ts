// Readiness and liveness probes as kubelet runs them: httpGet (2xx/3xx = success) and tcpSocket
// against the pod's address. exec and grpc probes cannot reach into the sandbox from here; they are
// reported as unsupported and count as success while the container runs.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeResult = { readonly ok: boolean; readonly message: string };

/** The numeric port of a probe: a number, a numeric string, or the name of a containerPort. */
export function probePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: V1Probe, container: V1Container, podIP: string): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet !== undefined) {
    const port = probePort(probe.httpGet.port, container);
    if (port === undefined) return { ok: false, message: `httpGet port ${String(probe.httpGet.port)} is not a port of the container` };
    const target = { host: probe.httpGet.host || podIP, port, path: probe.httpGet.path ?? '/', scheme: probe.httpGet.scheme ?? 'HTTP' };
    return httpProbe(target, timeoutMs);
  }
  if (probe.tcpSocket !== undefined) {
    const port = probePort(probe.tcpSocket.port, container);
    if (port === undefined) return { ok: false, message: `tcpSocket port ${String(probe.tcpSocket.port)} is not a port of the container` };
    return tcpProbe(probe.tcpSocket.host || podIP, port, timeoutMs);
  }
  return { ok: true, message: 'exec and grpc probes are not run by the pgfn node agent' };
}

interface HttpTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly scheme: string;
}

function httpProbe(target: HttpTarget, timeoutMs: number): Promise<ProbeResult> {
  const { host, port, path, scheme } = target;
  if (scheme.toUpperCase() !== 'HTTP') return Promise.resolve({ ok: true, message: `scheme ${scheme} is not probed` });
  return new Promise((resolveProbe) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs, headers: { 'User-Agent': 'kube-probe/1.34' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolveProbe({ ok: status >= 200 && status < 400, message: `HTTP probe failed with statuscode: ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolveProbe({ ok: false, message: `Get "http://${host}:${port}${path}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe({ ok: true, message: '' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolveProbe({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (err) => resolveProbe({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}
