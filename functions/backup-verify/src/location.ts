// Where a cluster's archive is (pure): the prefix Spilo derives from the environment the builder
// writes — s3://<wal_s3_bucket>/spilo/<cluster>/<uid>/wal/<major> — read by both bucket layouts.
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import type { ArchiveLocation } from '@pgfn/backup-store';
import { bucketScopeSuffix } from '@pgfn/builder';

export type Located = { readonly location: ArchiveLocation } | { readonly unconfigured: string };

export function archiveLocation(cluster: Postgresql, config: Pick<OperatorConfig, 'walS3Bucket'>): Located {
  if (!config.walS3Bucket) return { unconfigured: 'the operator configuration names no wal_s3_bucket' };
  const name = cluster.metadata?.name ?? '';
  const major = cluster.spec?.postgresql?.version ?? '';
  if (major === '') return { unconfigured: 'spec.postgresql.version is not set' };
  return { location: { bucket: config.walS3Bucket, prefix: `spilo/${name}${bucketScopeSuffix(cluster.metadata?.uid)}/wal/${major}` } };
}

/** Where upstream's logical-backup Job uploads this cluster's dumps, and on which schedule; undefined when it has none. */
export function logicalLocation(
  cluster: Postgresql,
  config: Pick<OperatorConfig, 'logicalBackupS3Bucket' | 'logicalBackupS3BucketPrefix' | 'logicalBackupSchedule'>,
): { readonly location: ArchiveLocation; readonly schedule: string } | undefined {
  if (cluster.spec?.enableLogicalBackup !== true || !config.logicalBackupS3Bucket) return undefined;
  const scope = `${cluster.metadata?.name ?? ''}${bucketScopeSuffix(cluster.metadata?.uid)}`;
  const prefix = `${config.logicalBackupS3BucketPrefix ? `${config.logicalBackupS3BucketPrefix}/` : ''}${scope}/logical_backups`;
  return {
    location: { bucket: config.logicalBackupS3Bucket, prefix },
    schedule: cluster.spec.logicalBackupSchedule || config.logicalBackupSchedule,
  };
}
