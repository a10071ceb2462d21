// How old a cluster's newest base backup and newest archived WAL may be, from the function's
// environment (the Knative Service sets them; defaults follow a daily backup schedule with slack).
import { positiveNumber } from '@pgfn/fn-runtime';

export interface BackupPolicy {
  /** A base backup older than this fails the check (PGFN_BACKUP_MAX_AGE_HOURS, default 26). */
  readonly maxBackupAgeSeconds: number;
  /** The newest archived segment older than this is a stale archive (PGFN_WAL_MAX_AGE_HOURS, default 26). */
  readonly maxArchiveAgeSeconds: number;
  /** Clusters verified at once in one invocation (PGFN_VERIFY_CONCURRENCY, default 4). */
  readonly concurrency: number;
  /** Whether a passed inventory is followed by a restore test (PGFN_RESTORE_TEST, default true). */
  readonly restoreTest: boolean;
  /** How long a restore test may take (PGFN_RESTORE_TIMEOUT_SECONDS, default 1800). */
  readonly restoreTimeoutSeconds: number;
  /** Restore tests at once across the fleet, every invocation together (PGFN_RESTORE_TESTS_AT_ONCE, default 2). */
  readonly restoreTestsAtOnce: number;
  /** Whether a fresh logical dump is restored into a scratch database (PGFN_LOGICAL_RESTORE_TEST, default true). */
  readonly logicalRestoreTest: boolean;
}

const HOUR = 3600;

export function policyFromEnv(env: NodeJS.ProcessEnv): BackupPolicy {
  return {
    maxBackupAgeSeconds: (positiveNumber(env, 'PGFN_BACKUP_MAX_AGE_HOURS') ?? 26) * HOUR,
    maxArchiveAgeSeconds: (positiveNumber(env, 'PGFN_WAL_MAX_AGE_HOURS') ?? 26) * HOUR,
    concurrency: Math.floor(positiveNumber(env, 'PGFN_VERIFY_CONCURRENCY') ?? 4),
    restoreTest: env['PGFN_RESTORE_TEST'] !== 'false',
    restoreTimeoutSeconds: positiveNumber(env, 'PGFN_RESTORE_TIMEOUT_SECONDS') ?? 1800,
    restoreTestsAtOnce: Math.floor(positiveNumber(env, 'PGFN_RESTORE_TESTS_AT_ONCE') ?? 2),
    logicalRestoreTest: env['PGFN_LOGICAL_RESTORE_TEST'] !== 'false',
  };
}
