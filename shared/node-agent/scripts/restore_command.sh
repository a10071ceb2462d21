#!/bin/bash
# pgfn node agent stand-in for Spilo's restore_command.sh "%f" "%p": first a WAL file left by a
# streaming base backup in ../wal_fast, then the archive through barman-cloud-wal-restore (run under
# the envdir, in place of `wal-g wal-fetch`).
wal_file=$1
wal_path=$2
# Postgres runs restore_command in the data directory.
fast="$(dirname "${PGDATA:-$PWD}")/wal_fast/$wal_file"
if [[ -f $fast ]]; then
  exec mv "$fast" "$wal_path"
fi
source "$(dirname "${BASH_SOURCE[0]}")/barman_cloud.sh"
barman_location 2>/dev/null || exit 1
exec "$BARMAN_PYTHON" -m barman.clients.cloud_walrestore "${BARMAN_ARGS[@]}" "$BARMAN_URL" "$BARMAN_SERVER" "$wal_file" "$wal_path"
