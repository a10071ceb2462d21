// Public API of @pgfn/backup-store: read a cluster's backup archive in a bucket (barman-cloud's or
// WAL-G's layout) through one interface.
export type { ArchiveLayout, BackupArchive, BaseBackup, WalSegment } from './archive.js';
export { barmanArchive, barmanBackup, parseBarmanInfo } from './barman-layout.js';
export { s3ObjectStore } from './object-store.js';
export { s3StoresFromEnv } from './store-from-env.js';
export type { ObjectStore, StoredObject } from './object-store.js';
export { detectLayouts, openArchive, parseArchiveUrl } from './open-archive.js';
export type { ArchiveLocation } from './open-archive.js';
export { compareSegments, formatLsn, parseLsn, segmentNameOf, segmentOf, timelineOfSegment, WAL_SEGMENT_BYTES } from './wal-names.js';
export { walgArchive, walgBackup } from './walg-layout.js';
