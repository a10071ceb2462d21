// The inventory check (pure): given what the bucket holds, is the newest base backup young enough,
// and is every WAL segment from its start to the newest archived one there? The first problem found
// is named; the figures say how far recovery from that backup would get.
import type { BaseBackup, WalSegment } from '@pgfn/backup-store';
import { compareSegments, formatLsn, segmentOf, WAL_SEGMENT_BYTES, parseLsn } from '@pgfn/backup-store';
import type { BackupPolicy } from './policy.js';

export type InventoryReason =
  | 'Verified'
  | 'AwaitingFirstBackup'
  | 'ArchiveUnreadable'
  | 'NoBaseBackup'
  | 'BackupTooOld'
  | 'MissingWalSegment'
  | 'TimelineGap'
  | 'StaleArchive'
  | 'WalShort';

export interface InventoryResult {
  readonly ok: boolean;
  /** Not a failure yet: a new cluster whose first base backup is still within the policy's time. */
  readonly pending?: boolean;
  readonly reason: InventoryReason;
  /** One sentence naming the problem (or the good news). */
  readonly detail: string;
  readonly backup?: {
    readonly id: string;
    readonly ageSeconds: number;
    readonly storedBytes: number;
    readonly dataBytes: number | undefined;
    readonly finishTime: string;
  };
  /** The end of the last segment recovery from the backup reaches without a hole. */
  readonly reached?: { readonly segment: string; readonly lsn: string; readonly archivedAt: string };
  readonly segmentsChecked: number;
}

const PER_LOG = 0x100000000n / BigInt(WAL_SEGMENT_BYTES);
const hex8 = (n: bigint | number): string => n.toString(16).toUpperCase().padStart(8, '0');
/** Log and segment of a name as one number: the position in the WAL stream, whatever the timeline. */
const positionOf = (name: string): bigint => BigInt(`0x${name.slice(8, 16)}`) * PER_LOG + BigInt(`0x${name.slice(16, 24)}`);
const nameAt = (timeline: number, position: bigint): string => `${hex8(timeline)}${hex8(position / PER_LOG)}${hex8(position % PER_LOG)}`;

/** "1d 2h", "3h 4m", "5m 6s" */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

interface Walk {
  readonly reachedIndex: number | undefined;
  readonly problem?: { readonly reason: 'MissingWalSegment' | 'TimelineGap'; readonly detail: string };
  readonly checked: number;
}

/** Follows the WAL from the backup's start segment, position by position, switching to a later timeline where one begins. */
function walk(backup: BaseBackup, segments: readonly WalSegment[]): Walk {
  const byPosition = new Map<bigint, WalSegment[]>();
  for (const s of segments) {
    const p = positionOf(s.name);
    byPosition.set(p, [...(byPosition.get(p) ?? []), s]);
  }
  const newest = segments[segments.length - 1];
  if (newest === undefined) return { reachedIndex: undefined, checked: 0 };
  const last = positionOf(newest.name);
  let timeline = backup.timeline;
  let reached: WalSegment | undefined;
  let checked = 0;
  for (let p = positionOf(backup.startSegment); p <= last; p++) {
    const here = byPosition.get(p) ?? [];
    const same = here.find((s) => s.timeline === timeline);
    const later = here.filter((s) => s.timeline > timeline).sort((a, b) => a.timeline - b.timeline)[0];
    // Where a later timeline begins, recovery follows it (Postgres' recovery_target_timeline=latest).
    const next = later ?? same;
    if (next === undefined) {
      const older = here.find((s) => s.timeline < timeline);
      const problem =
        older !== undefined
          ? {
              reason: 'TimelineGap' as const,
              detail:
                `timeline gap: ${nameAt(timeline, p)} is missing, ` + `only ${older.name} of the older timeline ${older.timeline} is there`,
            }
          : { reason: 'MissingWalSegment' as const, detail: `WAL segment ${nameAt(timeline, p)} is missing from the archive` };
      return { reachedIndex: reached === undefined ? undefined : segments.indexOf(reached), problem, checked };
    }
    if (next.timeline > timeline + 1) {
      return {
        reachedIndex: reached === undefined ? undefined : segments.indexOf(reached),
        problem: {
          reason: 'TimelineGap',
          detail:
            `timeline gap: ${next.name} on timeline ${next.timeline} follows timeline ${timeline} ` +
            `(timeline ${timeline + 1} is not archived)`,
        },
        checked,
      };
    }
    timeline = next.timeline;
    reached = next;
    checked++;
  }
  return { reachedIndex: reached === undefined ? undefined : segments.indexOf(reached), checked };
}

export interface InventoryInput {
  /** Completed base backups, oldest first. */
  readonly backups: readonly BaseBackup[];
  /** Archived segments in WAL order. */
  readonly segments: readonly WalSegment[];
  readonly now: Date;
  readonly policy: Pick<BackupPolicy, 'maxBackupAgeSeconds' | 'maxArchiveAgeSeconds'>;
  /** When the cluster was created: a cluster younger than the policy may have no base backup yet. */
  readonly clusterCreated?: Date;
}

export function checkInventory(input: InventoryInput): InventoryResult {
  const { now, policy } = input;
  const newestBackup = input.backups[input.backups.length - 1];
  if (newestBackup === undefined) {
    const clusterAge = input.clusterCreated === undefined ? Infinity : (now.getTime() - input.clusterCreated.getTime()) / 1000;
    if (clusterAge <= policy.maxBackupAgeSeconds) {
      const allowed = formatAge(policy.maxBackupAgeSeconds);
      const detail = `no base backup yet; the cluster is ${formatAge(clusterAge)} old (the policy allows ${allowed})`;
      return { ok: false, pending: true, reason: 'AwaitingFirstBackup', detail, segmentsChecked: 0 };
    }
    return { ok: false, reason: 'NoBaseBackup', detail: 'no completed base backup in the archive', segmentsChecked: 0 };
  }
  const ageSeconds = (now.getTime() - newestBackup.finishTime.getTime()) / 1000;
  const backup = {
    id: newestBackup.id,
    ageSeconds,
    storedBytes: newestBackup.storedBytes,
    dataBytes: newestBackup.dataBytes,
    finishTime: newestBackup.finishTime.toISOString(),
  };
  const fromStart = input.segments.filter((s) => compareSegments(s.name, newestBackup.startSegment) >= 0);
  const w = walk(newestBackup, fromStart);
  const reachedSegment = w.reachedIndex === undefined ? undefined : fromStart[w.reachedIndex];
  const reached =
    reachedSegment === undefined
      ? undefined
      : {
          segment: reachedSegment.name,
          lsn: formatLsn((positionOf(reachedSegment.name) + 1n) * BigInt(WAL_SEGMENT_BYTES)),
          archivedAt: reachedSegment.archivedAt.toISOString(),
        };
  const base = { backup, reached, segmentsChecked: w.checked };
  if (ageSeconds > policy.maxBackupAgeSeconds) {
    return {
      ...base,
      ok: false,
      reason: 'BackupTooOld',
      detail:
        `the newest base backup ${newestBackup.id} is ${formatAge(ageSeconds)} old, ` +
        `older than the policy's ${formatAge(policy.maxBackupAgeSeconds)}`,
    };
  }
  if (w.problem !== undefined) return { ...base, ok: false, reason: w.problem.reason, detail: w.problem.detail };
  const endSegment = segmentOf(newestBackup.timeline, parseLsn(newestBackup.finishLsn));
  if (reachedSegment === undefined || positionOf(reachedSegment.name) < positionOf(endSegment)) {
    return {
      ...base,
      ok: false,
      reason: 'WalShort',
      detail: `the archive ends before ${endSegment}, which base backup ${newestBackup.id} needs to be consistent`,
    };
  }
  const newest = input.segments[input.segments.length - 1];
  const archiveAge = newest === undefined ? Infinity : (now.getTime() - newest.archivedAt.getTime()) / 1000;
  if (archiveAge > policy.maxArchiveAgeSeconds) {
    return {
      ...base,
      ok: false,
      reason: 'StaleArchive',
      detail:
        `stale archive: the newest WAL segment ${newest?.name ?? ''} was archived ${formatAge(archiveAge)} ago ` +
        `(policy ${formatAge(policy.maxArchiveAgeSeconds)})`,
    };
  }
  return { ...base, ok: true, reason: 'Verified', detail: `WAL continuous from ${newestBackup.startSegment} to ${reached?.segment ?? ''}` };
}
