#!/bin/bash
# pgfn node agent stand-in for `wal-g wal-push "%p"` (Spilo's archive_command, run under the envdir):
# barman-cloud-wal-archive into the same prefix. A failure makes Postgres keep the segment and retry.
source "$(dirname "${BASH_SOURCE[0]}")/barman_cloud.sh"
barman_location || exit 1
exec "$BARMAN_PYTHON" -m barman.clients.cloud_walarchive "${BARMAN_ARGS[@]}" --gzip "$BARMAN_URL" "$BARMAN_SERVER" "$1"
