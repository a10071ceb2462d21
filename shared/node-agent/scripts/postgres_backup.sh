#!/bin/bash
# pgfn node agent stand-in for Spilo's postgres_backup.sh <PGDATA> (cron and first backup, under the
# envdir): on the primary only (on replicas only with WALG_BACKUP_FROM_REPLICA=true), a base backup
# with barman-cloud-backup in place of `wal-g backup-push`, then retention: the newest
# BACKUP_NUM_TO_RETAIN backups are kept (barman's REDUNDANCY policy; see ADR 0016 for the difference).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/barman_cloud.sh"
barman_location || exit 1
export PGHOST=/run/postgresql PGUSER=postgres PGDATABASE=postgres
log() { echo "$(date -u +'%F %T UTC') postgres_backup.sh: $*" >&2; }

in_recovery=$(psql -X -tAc 'SELECT pg_catalog.pg_is_in_recovery()') || { log "Postgres is not reachable"; exit 1; }
if [[ ${WALG_BACKUP_FROM_REPLICA:-} == true ]]; then
  [[ $in_recovery == t ]] || { log "not a replica, WALG_BACKUP_FROM_REPLICA=true: skipping"; exit 0; }
else
  [[ $in_recovery == f ]] || { log "not the primary: skipping"; exit 0; }
fi
log "base backup to $BARMAN_URL/$BARMAN_SERVER"
nice -n 5 "$BARMAN_PYTHON" -m barman.clients.cloud_backup "${BARMAN_ARGS[@]}" --gzip --immediate-checkpoint \
  -h "$PGHOST" -U "$PGUSER" -d "$PGDATABASE" "$BARMAN_URL" "$BARMAN_SERVER" || { log "base backup failed"; exit 1; }
keep=${BACKUP_NUM_TO_RETAIN:-5}
if [[ $keep =~ ^[0-9]+$ ]] && ((keep > 0)); then
  barman_cloud cloud_backup_delete "${BARMAN_ARGS[@]}" --retention-policy "REDUNDANCY $keep" "$BARMAN_URL" "$BARMAN_SERVER" ||
    log "retention (keep $keep) failed"
fi
log "done"
