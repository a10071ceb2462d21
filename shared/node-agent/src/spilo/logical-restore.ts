// ADR 0017: a new cluster restored from a logical backup. The pod's PGFN_RESTORE_LOGICAL_BACKUP and
// the S3 settings post_init needs for it, as an envdir (Patroni's own environment is stripped).

export const LOGICAL_RESTORE_ENV_DIR = '/run/etc/pgfn/logical-restore';
const PASSED = [
  'PGFN_RESTORE_LOGICAL_BACKUP',
  'LOGICAL_BACKUP_S3_ENDPOINT',
  'LOGICAL_BACKUP_S3_REGION',
  'AWS_ENDPOINT',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'PGUSER_SUPERUSER',
  'PGUSER_STANDBY',
];

/** The envdir's files, or undefined when the pod asks for no restore. */
export function logicalRestoreEnv(env: Readonly<Record<string, string>>, tmpDir: string): Record<string, string> | undefined {
  if (!env['PGFN_RESTORE_LOGICAL_BACKUP']) return undefined;
  const files: Record<string, string> = { TMPDIR: tmpDir };
  for (const name of PASSED) if (env[name]) files[name] = env[name];
  return files;
}
