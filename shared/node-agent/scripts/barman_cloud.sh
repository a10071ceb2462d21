#!/bin/bash
# pgfn node agent: sourced by the archive stand-ins. Maps the WAL-G settings of a Spilo envdir onto
# barman-cloud (ADR 0016): the WAL-G prefix s3://<bucket>/<path>/<last> becomes barman's
# source URL s3://<bucket>/<path> and server name <last>, so WAL lands in <prefix>/wals/ and base
# backups in <prefix>/base/, beside where WAL-G would write wal_005/ and basebackups_005/.
BARMAN_PYTHON=${PGFN_BARMAN_PYTHON:-/usr/local/lib/pgfn-barman/bin/python3}

barman_location() { # [prefix]: sets BARMAN_URL, BARMAN_SERVER, BARMAN_ARGS
  local prefix=${1:-${WALG_S3_PREFIX:-${WALE_S3_PREFIX:-}}}
  prefix=${prefix%/}
  if [[ $prefix != s3://*/* ]]; then
    echo "pgfn: no S3 archive prefix (WALG_S3_PREFIX / WALE_S3_PREFIX) in the environment" >&2
    return 1
  fi
  BARMAN_URL=${prefix%/*}
  BARMAN_SERVER=${prefix##*/}
  BARMAN_ARGS=(--cloud-provider aws-s3)
  if [[ -n ${AWS_ENDPOINT:-} ]]; then BARMAN_ARGS+=(--endpoint-url "$AWS_ENDPOINT"); fi
  if [[ ${AWS_S3_FORCE_PATH_STYLE:-} == true ]]; then BARMAN_ARGS+=(--addressing-style path); fi
  # boto3 reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY itself; it needs a region to sign.
  export AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
}

barman_cloud() { # <module> args...: one barman-cloud command (barman.clients.<module>)
  local module=$1
  shift
  "$BARMAN_PYTHON" -m "barman.clients.$module" "$@"
}
