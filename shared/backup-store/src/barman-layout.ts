// barman-cloud's layout under an archive prefix <p> (what the local stack writes, ADR 0016):
//   <p>/base/<backup id>/backup.info     key=value lines (begin_time, end_xlog, timeline, status, …)
//   <p>/base/<backup id>/data.tar[.gz]   the data directory (tablespaces: <oid>.tar)
//   <p>/wals/<timeline+log, 16 hex>/<segment>[.gz|.bz2|…]
import type { BackupArchive, BaseBackup, WalSegment } from './archive.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import { compareSegments, parseLsn, segmentNameOf, segmentOf, timelineOfSegment } from './wal-names.js';

/** backup.info as a map (barman writes `key=value`, one per line; `None` for absent values). */
export function parseBarmanInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const value = line.slice(at + 1).trim();
    if (value !== 'None') out.set(line.slice(0, at).trim(), value);
  }
  return out;
}

/**
 * A completed backup from its backup.info (the id is its folder name), or undefined for one that is
 * not DONE (running, failed).
 */
export function barmanBackup(input: { id: string; info: Map<string, string>; storedBytes: number }): BaseBackup | undefined {
  const { id, info, storedBytes } = input;
  if (info.get('status') !== 'DONE') return undefined;
  const need = (key: string): string => {
    const value = info.get(key);
    if (value === undefined) throw new Error(`backup.info of ${id} lacks ${key}`);
    return value;
  };
  const timeline = Number(need('timeline'));
  const startLsn = need('begin_xlog');
  const version = Number(need('version'));
  const size = info.get('size');
  return {
    id,
    layout: 'barman-cloud',
    startTime: info.has('begin_time') ? new Date(need('begin_time')) : undefined,
    finishTime: new Date(need('end_time')),
    startLsn,
    finishLsn: need('end_xlog'),
    timeline,
    // server_version_num: 150005 → 15 (10 and later); 90624 → 9.
    pgMajor: Math.floor(version / 10000),
    systemIdentifier: info.get('systemid'),
    dataBytes: size === undefined ? undefined : Number(size),
    storedBytes,
    startSegment: info.get('begin_wal') ?? segmentOf(timeline, parseLsn(startLsn)),
  };
}

export function barmanArchive(store: ObjectStore, prefix: string): BackupArchive {
  const root = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return {
    layout: 'barman-cloud',
    async backups() {
      const objects = await store.list(`${root}base/`);
      const byBackup = new Map<string, StoredObject[]>();
      for (const o of objects) {
        const id = o.key.slice(`${root}base/`.length).split('/')[0] ?? '';
        byBackup.set(id, [...(byBackup.get(id) ?? []), o]);
      }
      const out: BaseBackup[] = [];
      for (const [id, files] of byBackup) {
        const infoKey = `${root}base/${id}/backup.info`;
        if (!files.some((f) => f.key === infoKey)) continue;
        const info = parseBarmanInfo((await store.read(infoKey)).toString('utf8'));
        const backup = barmanBackup({ id, info, storedBytes: files.reduce((n, f) => n + f.size, 0) });
        if (backup !== undefined) out.push(backup);
      }
      return out.sort((a, b) => a.finishTime.getTime() - b.finishTime.getTime());
    },
    async walSegments() {
      const out: WalSegment[] = [];
      for (const o of await store.list(`${root}wals/`)) {
        const name = segmentNameOf(o.key.slice(o.key.lastIndexOf('/') + 1));
        // Skips history files and barman's backup-label copies (<segment>.<offset>.backup).
        if (name === undefined || /\.[0-9A-F]{8}\.backup/.test(o.key)) continue;
        out.push({ name, timeline: timelineOfSegment(name), key: o.key, storedBytes: o.size, archivedAt: o.lastModified });
      }
      return out.sort((a, b) => compareSegments(a.name, b.name));
    },
  };
}
