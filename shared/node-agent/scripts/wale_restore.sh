#!/bin/bash
# pgfn node agent stand-in for Spilo's wale_restore.sh (replica from the archive's latest base
# backup). Without WAL-G on this machine it declines, and Patroni falls through to basebackup.
datadir=''
for arg in "$@"; do
  case $arg in --datadir=*) datadir=${arg#*=} ;; esac
done
if [[ ${USE_WALG_RESTORE:-} != true ]] || ! command -v wal-g >/dev/null; then
  echo "wale_restore.sh: WAL-G restore is not available here; trying the next replica method" >&2
  exit 1
fi
exec wal-g backup-fetch "$datadir" LATEST
