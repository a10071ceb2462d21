#!/bin/bash
# pgfn node agent stand-in for Spilo's on_role_change.sh. Arguments: <human role> <callback...>
# followed by what Patroni appends: <action> <role> <scope>. Runs the callback, and after a promotion
# (Patroni 3.0.2 passes "master") waits for the end of recovery and runs post_init.sh again.
human_role=$1
shift
"$@"
action=${*: -3:1}
role=${*: -2:1}
if [[ $action == on_role_change && ($role == master || $role == primary) ]]; then
  for _ in $(seq 30); do
    if [[ $(psql -X -d postgres -tAc 'SELECT pg_catalog.pg_is_in_recovery()') == f ]]; then
      exec "$(dirname "${BASH_SOURCE[0]}")/post_init.sh" "$human_role" postgres
    fi
    sleep 1
  done
fi
