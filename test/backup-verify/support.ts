// Shared pieces of the backup-verify tests: the function served on node:http as its own
// ServiceAccount (knative/'s ClusterRole, a TokenRequest token; its exec too), and a subscriber that receives the
// CloudEvents it emits.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEventV1 } from 'cloudevents';
import type { OperatorConfig } from '@pgfn/api';
import { s3ObjectStore } from '@pgfn/backup-store';
import type { S3Server } from '@pgfn/controlplane';
import { createEmitter, createLogger, createMetrics, eventRecorder, startFunction } from '@pgfn/fn-runtime';
import { KubeClient, podExec } from '@pgfn/kube';
import { createHandler } from '../../functions/backup-verify/src/handler.js';
import { backupMetrics, type BackupMetrics } from '../../functions/backup-verify/src/metrics.js';
import { policyFromEnv, type BackupPolicy } from '../../functions/backup-verify/src/policy.js';
import { DEFAULT_QUEUE_RULES } from '../../functions/backup-verify/src/restore-queue.js';
import { restoreSlots } from '../../functions/backup-verify/src/restore-slots.js';
import { identityForFunction } from '../support/fn-identity.js';

export { segmentNames, writeWalgArchive } from './walg-fixture.js';

export interface Received {
  readonly type: string;
  readonly subject: string | undefined;
  readonly data: Record<string, unknown>;
}

/** A CloudEvent subscriber (binary mode, as the Broker delivers): what it received, in order. */
export async function startSubscriber(): Promise<{ url: string; received: Received[]; stop: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const header = (name: string): string | undefined => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      received.push({
        type: header('ce-type') ?? '',
        subject: header('ce-subject'),
        data: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, received, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

export interface RunningVerify {
  readonly url: string;
  readonly metrics: BackupMetrics;
  readonly registryText: () => Promise<string>;
  post(event: Partial<CloudEventV1<unknown>>): Promise<number>;
  stop(): Promise<void>;
}

/** backup-verify's handler on node:http, acting as pgfn-backup-verify (its token), reading `s3`. */
export async function startVerify(o: {
  s3: S3Server;
  config: OperatorConfig;
  sink: string;
  policy?: Partial<BackupPolicy>;
  /** The fleet's restore-test queue (ADR 0071): its Lease's namespace and the slots. */
  queue?: { namespace: string; limit: number };
  /** Told of every API request before it is sent; throwing stops the invocation there (a crash). */
  observe?: (verb: string, kind: string) => void;
  /** The function's clock (default: the real one). */
  now?: () => Date;
}): Promise<RunningVerify> {
  const { kubeconfig } = await identityForFunction('backup-verify');
  const kube = new KubeClient(kubeconfig, o.observe ?? {});
  const fnMetrics = createMetrics('backup-verify', false);
  const metrics = backupMetrics(fnMetrics.registry);
  const log = createLogger('backup-verify', 'warn');
  const client = o.s3.client();
  const handle = createHandler({
    kube,
    now: o.now ?? (() => new Date()),
    recordEvent: eventRecorder({ kube, component: 'pgfn-backup-verify' }),
    loadConfig: () => Promise.resolve({ config: o.config, problems: [] }),
    emit: createEmitter(o.sink, 'pgfn/backup-verify'),
    watchedNamespace: undefined,
    stores: (bucket) => s3ObjectStore(client, bucket),
    policy: { ...policyFromEnv({}), ...o.policy },
    metrics,
    // exec as the function's own account too: pods/exec must be in its ClusterRole
    exec: podExec(kubeconfig),
    ...(o.queue === undefined
      ? {}
      : { slots: restoreSlots({ kube, namespace: o.queue.namespace, rules: { ...DEFAULT_QUEUE_RULES, limit: o.queue.limit } }) }),
  });
  const { server, url } = await startFunction({ fn: 'backup-verify', handle, log, metrics: fnMetrics, port: 0, host: '127.0.0.1' });
  return {
    url,
    metrics,
    registryText: () => fnMetrics.registry.metrics(),
    async post(event) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': event.id ?? `test-${Date.now()}-${Math.random()}`,
          'ce-type': event.type ?? '',
          'ce-source': event.source ?? 'test',
          ...(event.subject === undefined ? {} : { 'ce-subject': event.subject }),
          ...(event.time === undefined ? {} : { 'ce-time': event.time }),
        },
        body: JSON.stringify(event.data ?? {}),
      });
      return response.status;
    },
    async stop() {
      await new Promise<void>((r) => server.close(() => r()));
      client.destroy();
    },
  };
}
