// Knative Eventing's binaries as local processes: where the cached build is, the environment Knative's
// Deployments give each process, and the ports they are handed (issue 23, ADR 0060).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { cacheDir, freePorts, readVersions, repoRoot } from '@pgfn/controlplane';
import type { Child } from './child.js';
import { SYSTEM_NAMESPACE } from './adapter.js';

/** The processes of Knative's control plane run here (the data plane joins them in the same folder). */
export const EVENTING_BINARIES = [
  'controller',
  'mtchannel-broker',
  'imc-controller',
  'sinkbinding',
  'channel_dispatcher',
  'ingress',
  'filter',
  'mtping',
];

/** The folder of the cached Knative Eventing binaries (named by version and a hash of our thin mains). */
export function knativeEventingDir(): string {
  const v = readVersions()['KNATIVE_EVENTING_VERSION'] ?? '?';
  // The same key as build-bins.sh: every Go file of hack/knative-eventing/<dir>/, in path order.
  const root = join(repoRoot, 'hack/knative-eventing');
  const mains = readdirSync(root)
    .sort()
    .flatMap((d) =>
      readdirSync(join(root, d))
        .filter((f) => f.endsWith('.go'))
        .sort()
        .map((f) => readFileSync(join(root, d, f))),
    );
  const hash = createHash('sha256').update(Buffer.concat(mains)).digest('hex').slice(0, 12);
  const dir = join(cacheDir(), 'bin', `knative-eventing-${v}-${hash}`);
  const missing = EVENTING_BINARIES.filter((b) => !existsSync(join(dir, b)));
  if (missing.length > 0 || !existsSync(join(dir, 'config/.complete'))) {
    const what = missing.length > 0 ? missing.join(', ') : 'config';
    throw new Error(`Knative Eventing binaries missing in ${dir} (${what}); build them with: bash hack/build-bins.sh knative-eventing`);
  }
  return dir;
}

/** The environment Knative's Deployments give every process, with a free profiling port and the proxy. */
export async function processEnv(container: string, proxy: string | undefined): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    SYSTEM_NAMESPACE,
    POD_NAME: `${container}-local`,
    CONTAINER_NAME: container,
    CONFIG_LOGGING_NAME: 'config-logging',
    CONFIG_OBSERVABILITY_NAME: 'config-observability',
    METRICS_DOMAIN: 'knative.dev/eventing',
    // sharedmain's profiling server defaults to 8008, Patroni's REST port
    PROFILING_PORT: String((await takePorts(1))[0]),
    ...(proxy === undefined ? {} : { HTTP_PROXY: proxy, http_proxy: proxy }),
  };
}

/** Ports handed to Knative processes and maybe not bound yet: never handed out twice. */
const handedOut = new Set<number>();

/** Free ports none of our other Knative processes was given (a process binds its ports a while later). */
export async function takePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const [port] = await freePorts(1);
    if (port === undefined || handedOut.has(port)) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

export async function waitListening(child: Child, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running) throw new Error(`${child.name} exited while starting:\n${child.tail(20)}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${child.name} did not listen on ${port} within ${timeoutMs} ms:\n${child.tail(20)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
