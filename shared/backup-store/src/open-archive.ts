// Opens the archive at an `s3://bucket/path` prefix (Spilo's WALE_S3_PREFIX / WALG_S3_PREFIX): the
// layout is the one whose folders exist there (both may, after a move from WAL-G to barman-cloud or
// back; then `layout` chooses).
import type { ArchiveLayout, BackupArchive } from './archive.js';
import { barmanArchive } from './barman-layout.js';
import type { ObjectStore } from './object-store.js';
import { walgArchive } from './walg-layout.js';

export interface ArchiveLocation {
  readonly bucket: string;
  /** Key prefix without a trailing slash. */
  readonly prefix: string;
}

/** "s3://bucket/spilo/c/uid/wal/15/" → { bucket, prefix: "spilo/c/uid/wal/15" } */
export function parseArchiveUrl(url: string): ArchiveLocation {
  const match = /^s3:\/\/([^/]+)\/?(.*?)\/*$/.exec(url.trim());
  if (match === null) throw new Error(`"${url}" is not an s3://bucket/path URL`);
  return { bucket: match[1] as string, prefix: match[2] as string };
}

/** Which layouts have content under `prefix` (barman-cloud's base/ and wals/, WAL-G's basebackups_005/ and wal_005/). */
export async function detectLayouts(store: ObjectStore, prefix: string): Promise<ArchiveLayout[]> {
  const root = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const found: ArchiveLayout[] = [];
  const any = async (...folders: string[]): Promise<boolean> => {
    for (const f of folders) if ((await store.list(`${root}${f}/`)).length > 0) return true;
    return false;
  };
  if (await any('base', 'wals')) found.push('barman-cloud');
  if (await any('basebackups_005', 'wal_005')) found.push('wal-g');
  return found;
}

/** The archive under `prefix`, in `layout` when given, else in the one layout found there. */
export async function openArchive(options: { store: ObjectStore; prefix: string; layout?: ArchiveLayout }): Promise<BackupArchive> {
  const { store, prefix } = options;
  let layout = options.layout;
  if (layout === undefined) {
    const found = await detectLayouts(store, prefix);
    if (found.length === 0)
      throw new Error(`no backup archive under "${prefix}" (neither barman-cloud's base/, wals/ nor WAL-G's basebackups_005/, wal_005/)`);
    if (found.length > 1) throw new Error(`"${prefix}" holds both a barman-cloud and a WAL-G archive: name the layout`);
    layout = found[0];
  }
  return layout === 'wal-g' ? walgArchive(store, prefix) : barmanArchive(store, prefix);
}
