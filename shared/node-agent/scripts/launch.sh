#!/bin/bash
# pgfn node agent stand-in for the part of Spilo's launch.sh that runs beside Patroni when WAL
# archiving is configured: the first base backup and the BACKUP_SCHEDULE cron (backup_scheduler.py).
# Usage: launch.sh <envdir> <pgdata> <schedule> <patroni api url> -- <patroni argv...>
# The scheduler stays in the pod's PID namespace: when Patroni (PID 1 after the exec) exits, the kernel ends it too.
envdir=$1 pgdata=$2 schedule=$3 api=$4
shift 5
python3 "$(dirname "${BASH_SOURCE[0]}")/backup_scheduler.py" "$envdir" "$pgdata" "$schedule" "$api" &
exec "$@"
