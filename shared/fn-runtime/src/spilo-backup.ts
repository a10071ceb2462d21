// Spilo's base backup, the way its cron runs it (`envdir $WALE_ENV_DIR /scripts/postgres_backup.sh
// $PGDATA` as the postgres user), for functions that exec it in the master pod: backups on request
// (backup-verify, ADR 0070) and the backup before a major upgrade (rolling-update).
export const SPILO_BACKUP_COMMAND: readonly string[] = [
  '/bin/su',
  'postgres',
  '-c',
  'envdir /run/etc/wal-e.d/env /scripts/postgres_backup.sh /home/postgres/pgdata/pgroot/data',
];
