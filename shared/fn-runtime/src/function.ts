// A function's process in a few lines: the kit wires the clients every function uses (logger,
// metrics, Kubernetes, configuration, CloudEvent emitter, Event recorder) and serves the function's
// handler on node:http — the same server the tests start (startFunction with port 0).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient, loadKubeConfig } from '@pgfn/kube';
import { createEmitter, type Emit } from './emitter.js';
import { functionEnv, type FunctionEnv } from './env.js';
import { eventRecorder, type RecordEvent } from './kube-events.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type FunctionMetrics } from './metrics.js';
import { cachedLoader, loadOperatorConfig, type ConfigLoader } from './operator-config.js';
import { randomPassword } from './passwords.js';
import type { EventHandler } from './receive.js';
import { createCloudEventServer } from './server.js';

/** Everything a function's handler is wired with in production. */
export interface Kit {
  /** The function's name, e.g. `reconcile`: the metrics' and logs' `fn`, Events' component `pgfn-<fn>`, CloudEvents' source `pgfn/<fn>`. */
  readonly fn: string;
  readonly env: FunctionEnv;
  readonly log: Logger;
  readonly metrics: FunctionMetrics;
  /** Counts its requests in metrics (pgfn_kube_api_requests_total). */
  readonly kube: KubeClient;
  /** The operator configuration, read afresh or at most `maxAgeMs` old. */
  readonly loadConfig: ConfigLoader;
  readonly emit: Emit;
  readonly recordEvent: RecordEvent;
  readonly now: () => Date;
  readonly newPassword: () => string;
}

export function createKit(fn: string, env: NodeJS.ProcessEnv = process.env): Kit {
  const fnEnv = functionEnv(env);
  const metrics = createMetrics(fn);
  const kube = new KubeClient(loadKubeConfig(env), { observe: (verb, kind) => metrics.apiRequests.inc({ verb, kind }) });
  const now = (): Date => new Date();
  const log = createLogger(fn, fnEnv.logLevel);
  return {
    fn,
    env: fnEnv,
    log,
    metrics,
    kube,
    loadConfig: cachedLoader(() => loadOperatorConfig(kube, fnEnv.configSource)),
    emit: createEmitter(fnEnv.sink, `pgfn/${fn}`, {
      onTimeout: (e) => log.warn(e, 'the event sink has the event but did not answer in time; going on'),
    }),
    recordEvent: eventRecorder({ kube, component: `pgfn-${fn}`, now }),
    now,
    newPassword: () => randomPassword(),
  };
}

export interface StartOptions {
  readonly fn: string;
  readonly handle: EventHandler;
  readonly log: Logger;
  readonly metrics: FunctionMetrics;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host: string;
  readonly ready?: () => Promise<boolean>;
}

/** The function's node:http server, listening; resolves with it and its URL. */
export async function startFunction(opts: StartOptions): Promise<{ server: Server; url: string }> {
  const server = createCloudEventServer(opts);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  opts.metrics.coldStarts.inc();
  opts.metrics.coldStartSeconds.set(process.uptime());
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}/`;
  opts.log.info({ port, host: opts.host }, `${opts.fn} listening`);
  return { server, url };
}

/** A function's main: its handler made from the kit, served on $PORT. A failure to start ends the process. */
export function runFunction(fn: string, makeHandler: (kit: Kit) => EventHandler): void {
  const kit = createKit(fn);
  startFunction({ fn, handle: makeHandler(kit), log: kit.log, metrics: kit.metrics, port: kit.env.port, host: kit.env.host }).catch(
    (err: unknown) => {
      kit.log.fatal({ err }, `${fn} could not start`);
      process.exit(1);
    },
  );
}
