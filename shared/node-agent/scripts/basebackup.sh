#!/bin/bash
# pgfn node agent stand-in for Spilo's basebackup.sh (Patroni replica method basebackup_fast_xlog).
# Patroni passes --scope --datadir --role --connstring --retries. Spilo streams WAL with pg_receivewal
# next to `pg_basebackup -X none`; a streaming `-X stream` copy gives the replica the same data.
datadir='' connstring='' retries=2
for arg in "$@"; do
  case $arg in
    --datadir=*) datadir=${arg#*=} ;;
    --connstring=*) connstring=${arg#*=} ;;
    --retries=*) retries=${arg#*=} ;;
  esac
done
if [[ -z $connstring ]]; then
  echo "basebackup.sh: no leader to copy from" >&2
  exit 1
fi
attempt=0
while true; do
  if pg_basebackup --pgdata="$datadir" --wal-method=stream --checkpoint=fast --no-password --dbname="$connstring"; then
    exit 0
  fi
  attempt=$((attempt + 1))
  if ((attempt > retries)); then exit 1; fi
  rm -rf "${datadir:?}"/*
  sleep $((attempt * 5))
done
