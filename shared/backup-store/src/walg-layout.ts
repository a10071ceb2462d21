// WAL-G's layout under an archive prefix <p> (what Spilo's WAL-G writes in production; read from
// WAL-G's source, internal/databases/postgres/backup_sentinel_dto.go, and its documentation):
//   <p>/basebackups_005/<name>_backup_stop_sentinel.json   written last: the backup is complete
//   <p>/basebackups_005/<name>/metadata.json               start/finish times, hostname, data_dir, …
//   <p>/basebackups_005/<name>/tar_partitions/part_N.tar.<compression>
//   <p>/wal_005/<segment>.<compression>                    lz4 (default), lzma, zst, br
// <name> is `base_<segment of the start LSN>` (`…_D_<base>` for a delta). LSNs are JSON numbers.
import type { BackupArchive, BaseBackup, WalSegment } from './archive.js';
import type { ObjectStore } from './object-store.js';
import { compareSegments, formatLsn, segmentNameOf, segmentOf, timelineOfSegment } from './wal-names.js';

const SENTINEL_SUFFIX = '_backup_stop_sentinel.json';

interface Sentinel {
  LSN?: number | string;
  FinishLSN?: number | string;
  Timeline?: number;
  PgVersion?: number;
  SystemIdentifier?: number | string;
  UncompressedSize?: number;
  CompressedSize?: number;
  StartTime?: string;
  FinishTime?: string;
}

interface Metadata {
  start_time?: string;
  finish_time?: string;
}

/**
 * A backup from its stop sentinel (and metadata.json when present). Sentinels written before WAL-G
 * added times (version 1) have none: the sentinel's upload time stands for the finish time.
 */
export function walgBackup(input: { name: string; sentinel: string; metadata?: string; sentinelModified: Date }): BaseBackup {
  const s = JSON.parse(input.sentinel) as Sentinel;
  const m = input.metadata === undefined ? {} : (JSON.parse(input.metadata) as Metadata);
  if (s.LSN === undefined || s.FinishLSN === undefined) throw new Error(`${input.name}: the sentinel lacks LSN or FinishLSN`);
  const start = BigInt(s.LSN);
  const segment = /^base_([0-9A-F]{24})/.exec(input.name)?.[1];
  const timeline = s.Timeline ?? (segment === undefined ? 1 : timelineOfSegment(segment));
  const startTime = s.StartTime ?? m.start_time;
  const finishTime = s.FinishTime ?? m.finish_time;
  const version = s.PgVersion ?? 0;
  return {
    id: input.name,
    layout: 'wal-g',
    startTime: startTime === undefined ? undefined : new Date(startTime),
    finishTime: finishTime === undefined ? input.sentinelModified : new Date(finishTime),
    startLsn: formatLsn(start),
    finishLsn: formatLsn(BigInt(s.FinishLSN)),
    timeline,
    pgMajor: Math.floor(version / 10000),
    systemIdentifier: s.SystemIdentifier === undefined ? undefined : String(s.SystemIdentifier),
    dataBytes: s.UncompressedSize,
    storedBytes: s.CompressedSize ?? 0,
    startSegment: segment ?? segmentOf(timeline, start),
  };
}

export function walgArchive(store: ObjectStore, prefix: string): BackupArchive {
  const root = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return {
    layout: 'wal-g',
    async backups() {
      const objects = await store.list(`${root}basebackups_005/`);
      const keys = new Set(objects.map((o) => o.key));
      const out: BaseBackup[] = [];
      for (const o of objects) {
        if (!o.key.endsWith(SENTINEL_SUFFIX)) continue;
        const name = o.key.slice(`${root}basebackups_005/`.length, -SENTINEL_SUFFIX.length);
        if (name.includes('/')) continue;
        const metadataKey = `${root}basebackups_005/${name}/metadata.json`;
        const metadata = keys.has(metadataKey) ? (await store.read(metadataKey)).toString('utf8') : undefined;
        out.push(
          walgBackup({
            name,
            sentinel: (await store.read(o.key)).toString('utf8'),
            sentinelModified: o.lastModified,
            ...(metadata === undefined ? {} : { metadata }),
          }),
        );
      }
      return out.sort((a, b) => a.finishTime.getTime() - b.finishTime.getTime());
    },
    async walSegments() {
      const out: WalSegment[] = [];
      for (const o of await store.list(`${root}wal_005/`)) {
        const file = o.key.slice(o.key.lastIndexOf('/') + 1);
        const name = segmentNameOf(file);
        if (name === undefined || file.includes('.partial') || /\.[0-9A-F]{8}\.backup/.test(file)) continue;
        out.push({ name, timeline: timelineOfSegment(name), key: o.key, storedBytes: o.size, archivedAt: o.lastModified });
      }
      return out.sort((a, b) => compareSegments(a.name, b.name));
    },
  };
}
