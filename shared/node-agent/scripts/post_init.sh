#!/bin/bash
# pgfn node agent stand-in for Spilo's post_init.sh: run once by Patroni on a new primary (and by
# on_role_change.sh after a promotion). Arguments: <human role> <connection URL>.
# Creates the roles the operator relies on (team members are created IN ROLE admin). Spilo also
# installs pg_auth_mon, pg_cron, file_fdw log tables and helper functions; Debian's PostgreSQL lacks
# most of those extensions, so only pg_stat_statements is added, when it is available.
set -u
human_role=$1
dsn=$2
export PGOPTIONS="-c synchronous_commit=local -c search_path=pg_catalog"

ensure_role() { # name attributes-for-existing
  printf "DO \$\$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_authid WHERE rolname = '%s') THEN
    ALTER ROLE \"%s\" WITH %s;
  ELSE
    CREATE ROLE \"%s\" %s;
  END IF;
END \$\$;\n" "$1" "$1" "$2" "$1" "$3"
}

{
  ensure_role admin 'CREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT' 'CREATEDB'
  ensure_role cron_admin 'NOCREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT' ''
  echo 'GRANT cron_admin TO admin;'
  ensure_role "$human_role" 'NOCREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT' ''
  ensure_role robot_zmon 'NOCREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT' ''
  echo "DO \$\$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_stat_statements') THEN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public;
  END IF;
END \$\$;"
} | psql -X -v ON_ERROR_STOP=1 -d "$dsn"
status=$?
# ADR 0017: a new cluster restored from a logical backup (PGFN_RESTORE_LOGICAL_BACKUP, via an envdir
# the agent writes because Patroni's environment is stripped).
restore_env=/run/etc/pgfn/logical-restore
if [[ $status -eq 0 && -d $restore_env ]]; then
  envdir "$restore_env" /usr/local/lib/pgfn-barman/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/logical_restore.py" "$dsn" || exit 1
fi
exit $status
