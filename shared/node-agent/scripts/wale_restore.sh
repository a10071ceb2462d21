#!/bin/bash
# pgfn node agent stand-in for Spilo's wale_restore.sh (replica method wal_e, and
# bootstrap_standby_with_wale for a standby cluster), run under an envdir: the latest base backup
# from the S3 archive with barman-cloud-restore. With a leader to copy from it declines and Patroni
# takes the next method (pg_basebackup): on one machine that is always the faster copy, where Spilo
# would compare the WAL since the backup against its thresholds.
datadir='' connstring=''
for arg in "$@"; do
  case $arg in
    --datadir=*) datadir=${arg#*=} ;;
    --connstring=*) connstring=${arg#*=} ;;
  esac
done
if [[ -n $connstring ]]; then
  echo "wale_restore.sh: a leader is running; copying from it instead (next replica method)" >&2
  exit 1
fi
source "$(dirname "${BASH_SOURCE[0]}")/barman_cloud.sh"
barman_location || exit 1
"$BARMAN_PYTHON" -m barman.clients.cloud_restore "${BARMAN_ARGS[@]}" "$BARMAN_URL" "$BARMAN_SERVER" auto "$datadir" || exit 1
mkdir -p "$datadir/pg_wal"
