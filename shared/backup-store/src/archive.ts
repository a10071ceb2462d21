// One view of a cluster's physical backup archive, whatever tool wrote it: its base backups and the
// WAL segments it holds. The backup-verify function reads archives through this interface.

/** Which tool's layout an archive prefix holds. */
export type ArchiveLayout = 'barman-cloud' | 'wal-g';

export interface BaseBackup {
  /** The tool's name for it (barman: `20261205T043000`; WAL-G: `base_000000010000000000000002`). */
  readonly id: string;
  readonly layout: ArchiveLayout;
  readonly startTime: Date | undefined;
  readonly finishTime: Date;
  /** `X/Y` as Postgres prints LSNs. */
  readonly startLsn: string;
  readonly finishLsn: string;
  readonly timeline: number;
  /** Major version, e.g. 15. */
  readonly pgMajor: number;
  readonly systemIdentifier: string | undefined;
  /** Size of the database files the backup holds, when the tool records it. */
  readonly dataBytes: number | undefined;
  /** Bytes the backup occupies in the bucket. */
  readonly storedBytes: number;
  /** The WAL segment holding startLsn (recovery from this backup needs it and every later one). */
  readonly startSegment: string;
}

export interface WalSegment {
  /** The 24-hex-digit file name Postgres gives the segment. */
  readonly name: string;
  readonly timeline: number;
  readonly key: string;
  readonly storedBytes: number;
  readonly archivedAt: Date;
}

export interface BackupArchive {
  readonly layout: ArchiveLayout;
  /** Base backups that completed, oldest first. */
  backups(): Promise<BaseBackup[]>;
  /** Archived WAL segments (not history or backup-label files), in WAL order. */
  walSegments(): Promise<WalSegment[]>;
}
