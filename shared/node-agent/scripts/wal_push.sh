#!/bin/bash
# pgfn node agent stand-in for `wal-g wal-push "%p"` (Spilo's archive_command, run under the envdir):
# barman-cloud-wal-archive into the same prefix. A failure makes Postgres keep the segment and retry.
# The agent reports failures as pod Events: the last one is kept in /run/pgfn/archive-failure
# (segment and barman's last error line; never the credentials) until a push succeeds.
source "$(dirname "${BASH_SOURCE[0]}")/barman_cloud.sh"
status_dir=/run/pgfn
segment=$(basename "$1")
fail() {
  printf '%s %s\n' "$segment" "$1" > "$status_dir/archive-failure.tmp" && mv "$status_dir/archive-failure.tmp" "$status_dir/archive-failure"
  exit 1
}
barman_location 2>/dev/null || fail "no S3 archive prefix (WALG_S3_PREFIX / WALE_S3_PREFIX) in the envdir"
errors=$("$BARMAN_PYTHON" -m barman.clients.cloud_walarchive "${BARMAN_ARGS[@]}" --gzip "$BARMAN_URL" "$BARMAN_SERVER" "$1" 2>&1)
code=$?
if [[ -n $errors ]]; then echo "$errors" >&2; fi
if ((code != 0)); then
  fail "$(echo "$errors" | grep -v '^\s*$' | tail -n 1 | cut -c1-400)"
fi
rm -f "$status_dir/archive-failure"
