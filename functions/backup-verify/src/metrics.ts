// backup-verify's own metrics, on the kit's registry (served on /metrics with the others).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface BackupMetrics {
  /** Age of each cluster's newest base backup at its last verification. */
  readonly age: Gauge<'namespace' | 'cluster'>;
  readonly duration: Histogram<'outcome'>;
  readonly outcomes: Counter<'outcome' | 'reason'>;
  /** Base backups taken on request (dev.pgfn.backup.requested), by outcome and reason. */
  readonly requests: Counter<'outcome' | 'reason'>;
  readonly requestDuration: Histogram<'outcome'>;
  /** The newest logical dump restored into a scratch database (ADR 0072). */
  readonly logicalRestoreDuration: Histogram<'outcome'>;
}

export function backupMetrics(registry: Registry): BackupMetrics {
  return {
    age: new Gauge({
      name: 'pgfn_backup_age_seconds',
      help: "Age of the cluster's newest base backup when last verified",
      labelNames: ['namespace', 'cluster'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'pgfn_backup_verify_duration_seconds',
      help: "Time to verify one cluster's backups",
      labelNames: ['outcome'],
      registers: [registry],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    }),
    outcomes: new Counter({
      name: 'pgfn_backup_verifications_total',
      help: 'Backup verifications, by outcome (verified, failed) and reason',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'pgfn_backup_requests_total',
      help: 'Base backup requests handled, by outcome (completed, failed) and reason',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'pgfn_backup_request_duration_seconds',
      help: "Time to take one requested base backup (exec of Spilo's backup script until the archive lists it)",
      labelNames: ['outcome'],
      registers: [registry],
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    }),
    logicalRestoreDuration: new Histogram({
      name: 'pgfn_backup_logical_restore_duration_seconds',
      help: 'Time to restore the newest logical dump into a scratch database and compare its row counts, by outcome (restored, failed)',
      labelNames: ['outcome'],
      registers: [registry],
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    }),
  };
}
