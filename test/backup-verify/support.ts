// Shared pieces of the backup-verify tests: the function served on node:http as its own
// ServiceAccount (knative/'s ClusterRole, a TokenRequest token), and a subscriber that receives the
// CloudEvents it emits.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { CloudEventV1 } from 'cloudevents';
import type { OperatorConfig } from '@pgfn/api';
import { s3ObjectStore } from '@pgfn/backup-store';
import type { S3Server } from '@pgfn/controlplane';
import { createEmitter, createLogger, createMetrics, eventRecorder, mapLimited, startFunction } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { createHandler } from '../../functions/backup-verify/src/handler.js';
import { backupMetrics, type BackupMetrics } from '../../functions/backup-verify/src/metrics.js';
import { policyFromEnv, type BackupPolicy } from '../../functions/backup-verify/src/policy.js';
import { identityForFunction } from '../support/fn-identity.js';

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
}): Promise<RunningVerify> {
  const { kubeconfig } = await identityForFunction('backup-verify');
  const kube = new KubeClient(kubeconfig);
  const fnMetrics = createMetrics('backup-verify', false);
  const metrics = backupMetrics(fnMetrics.registry);
  const log = createLogger('backup-verify', 'warn');
  const client = o.s3.client();
  const handle = createHandler({
    kube,
    now: () => new Date(),
    recordEvent: eventRecorder({ kube, component: 'pgfn-backup-verify' }),
    loadConfig: () => Promise.resolve({ config: o.config, problems: [] }),
    emit: createEmitter(o.sink, 'pgfn/backup-verify'),
    watchedNamespace: undefined,
    stores: (bucket) => s3ObjectStore(client, bucket),
    policy: { ...policyFromEnv({}), ...o.policy },
    metrics,
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

/**
 * A WAL-G archive written from WAL-G's documented format (the one allowed fixture: WAL-G cannot be
 * installed here; test/backups/backup-store.test.ts reads the same layout): one base backup whose
 * start segment is the first of `segments`, finished `ageSeconds` ago, and every segment in `segments`.
 */
export async function writeWalgArchive(o: {
  s3: S3Server;
  bucket: string;
  prefix: string;
  segments: readonly string[];
  ageSeconds: number;
  parallel?: number;
}): Promise<void> {
  const client = o.s3.client();
  const put = (key: string, body: string | Buffer): Promise<unknown> =>
    client.send(new PutObjectCommand({ Bucket: o.bucket, Key: `${o.prefix}/${key}`, Body: body }));
  try {
    const start = o.segments[0] ?? '000000010000000000000002';
    const startLsn = Number.parseInt(start.slice(16), 16) * 0x1000000 + 0x28;
    const finish = new Date(Date.now() - o.ageSeconds * 1000);
    await put(
      `basebackups_005/base_${start}_backup_stop_sentinel.json`,
      JSON.stringify({
        LSN: startLsn,
        Timeline: Number.parseInt(start.slice(0, 8), 16),
        PgVersion: 150005,
        FinishLSN: startLsn + 0x110,
        UncompressedSize: 23183049,
        CompressedSize: 3123456,
        Spec: null,
        Version: 2,
        StartTime: new Date(finish.getTime() - 9000).toISOString(),
        FinishTime: finish.toISOString(),
      }),
    );
    await put(`basebackups_005/base_${start}/tar_partitions/part_1.tar.lz4`, Buffer.alloc(3000));
    await mapLimited(o.segments, o.parallel ?? 8, (s) => put(`wal_005/${s}.lz4`, Buffer.alloc(64)));
  } finally {
    client.destroy();
  }
}

/** `count` consecutive segment names on timeline 1 from log/segment position `from`. */
export function segmentNames(from: number, count: number): string[] {
  const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');
  return Array.from({ length: count }, (_, i) => `00000001${hex8(Math.floor((from + i) / 256))}${hex8((from + i) % 256)}`);
}
