// A WAL-G archive in a real S3 server, written from WAL-G's documented format — the one allowed
// fixture: WAL-G cannot be installed here (test/backups/backup-store.test.ts reads the same layout).
// Used by the backup-verify tests and bench:backup-verify.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Server } from '@pgfn/controlplane';
import { mapLimited } from '@pgfn/fn-runtime';

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
