// The logical-backup check (pure): upstream's dumps land at
// `<bucket>/<logical_backup_s3_bucket_prefix>/<cluster><suffix>/logical_backups/<epoch>.sql.gz`; the
// newest must be newer than the schedule's second-to-last run (the last one may still be running).
import { formatAge, formatBytes } from './inventory.js';
import { previousFires } from './cron.js';

export interface LogicalDump {
  readonly key: string;
  readonly storedBytes: number;
}

export interface LogicalResult {
  readonly ok: boolean;
  readonly reason: 'LogicalBackupFound' | 'LogicalBackupMissing' | 'LogicalBackupTooOld' | 'LogicalRestoreFailed';
  readonly detail: string;
  readonly dump?: { readonly key: string; readonly takenAt: string; readonly ageSeconds: number; readonly storedBytes: number };
}

/** `<epoch>.sql.gz` → its time; undefined for other keys. */
function takenAt(key: string): Date | undefined {
  const match = /\/(\d{9,11})\.sql\.gz$/.exec(key);
  return match === null ? undefined : new Date(Number(match[1]) * 1000);
}

export function checkLogical(input: { dumps: readonly LogicalDump[]; schedule: string; now: Date }): LogicalResult {
  const dated = input.dumps
    .map((d) => ({ ...d, at: takenAt(d.key) }))
    .filter((d): d is LogicalDump & { at: Date } => d.at !== undefined)
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  const newest = dated[dated.length - 1];
  const [, secondLast] = previousFires(input.schedule, input.now, 2);
  if (newest === undefined) return { ok: false, reason: 'LogicalBackupMissing', detail: 'no logical backup in the bucket' };
  const ageSeconds = (input.now.getTime() - newest.at.getTime()) / 1000;
  const dump = { key: newest.key, takenAt: newest.at.toISOString(), ageSeconds, storedBytes: newest.storedBytes };
  const described = `logical backup ${newest.key.split('/').pop() ?? ''}, ${formatAge(ageSeconds)} old, ${formatBytes(newest.storedBytes)}`;
  if (secondLast !== undefined && newest.at < secondLast) {
    return {
      ok: false,
      reason: 'LogicalBackupTooOld',
      dump,
      detail:
        `the newest ${described}: older than the schedule "${input.schedule}" allows ` + `(a run at ${secondLast.toISOString()} left none)`,
    };
  }
  return { ok: true, reason: 'LogicalBackupFound', dump, detail: described };
}
