// @pgfn/backup-store against a real S3 server (versitygw). The barman-cloud reader is also checked
// against real backups in archive-clone.test.ts. WAL-G's layout is the one allowed fixture: WAL-G
// cannot be installed on this machine (the Go module proxy refuses it; no other registry has it), so
// the objects below are written from WAL-G's documented format (internal/databases/postgres/
// backup_sentinel_dto.go: the stop sentinel with LSNs as numbers, metadata.json, wal_005/*.lz4).
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { detectLayouts, openArchive, parseArchiveUrl, parseLsn, s3ObjectStore, segmentOf, formatLsn } from '@pgfn/backup-store';
import type { S3Server } from '@pgfn/controlplane';
import { startS3, WAL_BUCKET } from './support.js';

describe('backup-store: one reader interface over barman-cloud and WAL-G archives', function () {
  this.timeout(60_000);
  let s3: S3Server;
  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    await s3?.stop();
  });
  const put = async (key: string, body: string | Buffer): Promise<void> => {
    const client = s3.client();
    try {
      await client.send(new PutObjectCommand({ Bucket: WAL_BUCKET, Key: key, Body: body }));
    } finally {
      client.destroy();
    }
  };

  it('parses archive URLs, LSNs and segment names', () => {
    expect(parseArchiveUrl('s3://b/spilo/acid-x/uid/wal/15/')).to.deep.equal({ bucket: 'b', prefix: 'spilo/acid-x/uid/wal/15' });
    expect(() => parseArchiveUrl('gs://b/x')).to.throw('not an s3://bucket/path URL');
    expect(parseLsn('1/2000028')).to.equal(0x102000028n);
    expect(formatLsn(0x102000028n)).to.equal('1/2000028');
    expect(segmentOf(1, parseLsn('0/2000028'))).to.equal('000000010000000000000002');
    expect(segmentOf(2, parseLsn('1/FF000000'))).to.equal('0000000200000001000000FF');
  });

  it("reads a WAL-G archive (fixture: WAL-G's documented layout; WAL-G cannot be installed here)", async () => {
    const prefix = 'spilo/acid-prod/0f3c/wal/15';
    const base = `${prefix}/basebackups_005`;
    // A version-2 sentinel (times inside) and a version-1 one with metadata.json beside it.
    await put(
      `${base}/base_000000010000000000000004_backup_stop_sentinel.json`,
      JSON.stringify({
        LSN: 0x4000028,
        Timeline: 1,
        PgVersion: 150005,
        FinishLSN: 0x4000138,
        SystemIdentifier: 7715671948670251053n.toString(),
        UncompressedSize: 23183049,
        CompressedSize: 3123456,
        Spec: null,
        Version: 2,
        StartTime: '2026-12-01T01:00:00.5Z',
        FinishTime: '2026-12-01T01:00:09.25Z',
        DateFmt: '%Y-%m-%dT%H:%M:%S.%fZ',
        Hostname: 'acid-prod-0',
        DataDir: '/home/postgres/pgdata/pgroot/data',
        IsPermanent: false,
      }),
    );
    await put(`${base}/base_000000010000000000000004/tar_partitions/part_1.tar.lz4`, Buffer.alloc(3000));
    await put(
      `${base}/base_000000020000000000000009_backup_stop_sentinel.json`,
      JSON.stringify({
        LSN: 0x9000060,
        Timeline: 2,
        PgVersion: 150005,
        FinishLSN: 0x9000100,
        UncompressedSize: 1,
        CompressedSize: 2,
        Spec: null,
      }),
    );
    await put(
      `${base}/base_000000020000000000000009/metadata.json`,
      JSON.stringify({
        start_time: '2026-12-02T01:00:00Z',
        finish_time: '2026-12-02T01:00:05Z',
        hostname: 'acid-prod-1',
        pg_version: 150005,
      }),
    );
    // A backup still running: no sentinel yet, so not a backup.
    await put(`${base}/base_00000002000000000000000B/tar_partitions/part_1.tar.lz4`, Buffer.alloc(10));
    for (const f of [
      '000000010000000000000004.lz4',
      '000000010000000000000005.lz4',
      '00000002.history.lz4',
      '000000020000000000000005.lz4',
      '000000020000000000000009.00000060.backup.lz4',
    ]) {
      await put(`${prefix}/wal_005/${f}`, Buffer.alloc(100));
    }

    const store = s3ObjectStore(s3.client(), WAL_BUCKET);
    expect(await detectLayouts(store, prefix)).to.deep.equal(['wal-g']);
    const archive = await openArchive({ store, prefix });
    expect(archive.layout).to.equal('wal-g');
    const backups = await archive.backups();
    expect(
      backups.map((b) => [b.id, b.startLsn, b.finishLsn, b.timeline, b.pgMajor, b.startSegment, b.finishTime.toISOString()]),
    ).to.deep.equal([
      ['base_000000010000000000000004', '0/4000028', '0/4000138', 1, 15, '000000010000000000000004', '2026-12-01T01:00:09.250Z'],
      ['base_000000020000000000000009', '0/9000060', '0/9000100', 2, 15, '000000020000000000000009', '2026-12-02T01:00:05.000Z'],
    ]);
    expect(backups[0]?.systemIdentifier).to.equal('7715671948670251053');
    expect(backups[0]?.dataBytes).to.equal(23183049);
    expect((await archive.walSegments()).map((s) => s.name)).to.deep.equal([
      '000000010000000000000004',
      '000000010000000000000005',
      '000000020000000000000005',
    ]);
  });

  it('refuses a prefix holding nothing, and asks for a layout when both are there', async () => {
    const store = s3ObjectStore(s3.client(), WAL_BUCKET);
    const failure = (p: Promise<unknown>): Promise<Error | undefined> =>
      p.then(
        () => undefined,
        (e: Error) => e,
      );
    expect((await failure(openArchive({ store, prefix: 'spilo/none' })))?.message).to.contain('no backup archive under "spilo/none"');
    await put('spilo/both/wal/15/wals/0000000100000000/000000010000000000000001.gz', 'x');
    await put('spilo/both/wal/15/wal_005/000000010000000000000001.lz4', 'x');
    expect((await failure(openArchive({ store, prefix: 'spilo/both/wal/15' })))?.message).to.contain('holds both');
    const walg = await openArchive({ store, prefix: 'spilo/both/wal/15', layout: 'wal-g' });
    expect((await walg.walSegments()).map((s) => s.key)).to.deep.equal(['spilo/both/wal/15/wal_005/000000010000000000000001.lz4']);
  });
});
