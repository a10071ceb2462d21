#!/bin/bash
# pgfn node agent stand-in for Spilo's restore_command.sh "%f" "%p": first a WAL file left by a
# streaming base backup in ../wal_fast, then the archive through WAL-G (run under the envdir).
wal_file=$1
wal_path=$2
# Postgres runs restore_command in the data directory.
fast="$(dirname "${PGDATA:-$PWD}")/wal_fast/$wal_file"
if [[ -f $fast ]]; then
  exec mv "$fast" "$wal_path"
fi
if [[ ${USE_WALG_RESTORE:-} == true ]] && command -v wal-g >/dev/null; then
  exec wal-g wal-fetch "$wal_file" "$wal_path"
fi
exit 1
