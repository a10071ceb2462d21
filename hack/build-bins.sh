#!/usr/bin/env bash
# Builds the control-plane binaries from their Go modules, once per pinned version, into a cache
# outside the repo. Present binaries are never rebuilt. Usage: hack/build-bins.sh [component ...]
# Components: kubernetes etcd kwok knative knative-crds knative-webhook knative-eventing versitygw kubelet-exec (default: all). Prints the bin directory on the last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${PGFN_CACHE:-$HOME/.cache/pgfn}"
bindir="$cache/bin"
mkdir -p "$bindir"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0

log() { printf '[build-bins %s] %s\n' "$(date +%T)" "$*" >&2; }

have() { # have <file>...: all present and executable
  local f; for f in "$@"; do [[ -x "$f" ]] || return 1; done
}

build_kubernetes() {
  local v="$KUBERNETES_VERSION" out="$bindir/kubernetes-$KUBERNETES_VERSION"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if have "${bins[@]/#/$out/}"; then log "kubernetes $v present"; return; fi
  local mod="$cache/src/kubernetes-$v"
  mkdir -p "$mod" "$out.tmp"
  # k8s.io/kubernetes replaces its staging modules with local paths, so `go install` refuses it.
  # A wrapper module of ours requires it and points each staging module at its published tag.
  {
    echo "module pgfn.local/kubernetes-bins"
    echo
    echo "go 1.24.0"
    echo
    echo "godebug default=$KUBERNETES_GODEBUG"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    local s
    for s in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
      kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
      echo "	k8s.io/$s => k8s.io/$s $KUBERNETES_STAGING_VERSION"
    done
    echo ")"
  } > "$mod/go.mod"
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  log "kubernetes $v: resolving modules"
  (cd "$mod" && go mod tidy)
  local minor="${v#v}"; minor="${minor#*.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  log "kubernetes $v: building ${bins[*]} (cold: tens of minutes)"
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "kubernetes $v built"
}

build_etcd() {
  local v="$ETCD_VERSION" out="$bindir/etcd-$ETCD_VERSION"
  if have "$out/etcd"; then log "etcd $v present"; return; fi
  local mod="$cache/src/etcd-$v"
  mkdir -p "$mod" "$out.tmp"
  # go.etcd.io/etcd/server/v3 replaces its sibling modules with local paths; pin them to the same tag.
  cat > "$mod/go.mod" <<GOMOD
module pgfn.local/etcd-bins

go 1.26.0

require go.etcd.io/etcd/server/v3 $v

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $v
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $v
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $v
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $v
)
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$mod/tools.go"
  log "etcd $v: resolving modules"
  (cd "$mod" && go mod tidy)
  log "etcd $v: building"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "etcd $v built"
}

build_kwok() {
  local v="$KWOK_VERSION" out="$bindir/kwok-$KWOK_VERSION"
  if have "$out/kwok"; then log "kwok $v present"; return; fi
  log "kwok $v: building"
  mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$v"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "kwok $v built"
}

build_knative() {
  local v="$KNATIVE_EVENTING_VERSION" out="$bindir/knative-$KNATIVE_EVENTING_VERSION"
  if have "$out/apiserver_receive_adapter"; then log "knative receive adapter $v present"; return; fi
  # `go install …@v` also asks the proxy for the module's version list (deprecation check), which this
  # proxy refuses; a wrapper module requiring the exact version needs only that version.
  local mod="$cache/src/knative-eventing-$v"
  mkdir -p "$mod" "$out.tmp"
  printf 'module pgfn.local/knative-bins\n\ngo 1.24.0\n\nrequire knative.dev/eventing %s\n' "$v" > "$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "knative.dev/eventing/cmd/apiserver_receive_adapter"\n' > "$mod/tools.go"
  log "knative receive adapter $v: resolving modules"
  (cd "$mod" && go mod tidy)
  log "knative receive adapter $v: building"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/apiserver_receive_adapter" knative.dev/eventing/cmd/apiserver_receive_adapter)
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "knative receive adapter $v built"
}

# Knative's own CRDs, for `kubectl apply --dry-run=server` of knative/: only the CustomResourceDefinition
# files from the config/ folders of the serving and eventing modules (nothing else is installed).
build_knative_crds() {
  local out="$cache/knative-crds-serving-$KNATIVE_SERVING_VERSION-eventing-$KNATIVE_EVENTING_VERSION"
  if [[ -f "$out/.complete" ]]; then log "knative CRDs present"; return; fi
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  local m dir f
  for m in "serving@$KNATIVE_SERVING_VERSION" "eventing@$KNATIVE_EVENTING_VERSION"; do
    log "knative CRDs: downloading knative.dev/$m"
    dir="$(go mod download -json "knative.dev/$m" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir/config" ]] || { echo "knative.dev/$m has no config/ folder at '$dir'" >&2; exit 1; }
    mkdir -p "$out.tmp/${m%@*}"
    while IFS= read -r f; do
      cp "$f" "$out.tmp/${m%@*}/$(basename "$f")"
    done < <(grep -rlE '^kind: CustomResourceDefinition' "$dir/config" --include='*.yaml' | sort)
  done
  touch "$out.tmp/.complete"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "knative CRDs copied to $out"
}

# Knative's own defaulting and validation as a CLI (hack/knative-webhook/main.go): a wrapper module
# requiring the pinned eventing and serving, with their config/core/configmaps copied beside the source
# for go:embed. The binary's folder names both versions and a hash of the source, so an edit rebuilds.
knative_webhook_dir() {
  local hash
  hash="$(sha256sum "$here/knative-webhook/main.go" | cut -c1-12)"
  echo "$bindir/knative-webhook-eventing-$KNATIVE_EVENTING_VERSION-serving-$KNATIVE_SERVING_VERSION-$hash"
}

build_knative_webhook() {
  local out; out="$(knative_webhook_dir)"
  if have "$out/knative-webhook"; then log "knative-webhook present"; return; fi
  local mod="$cache/src/knative-webhook-eventing-$KNATIVE_EVENTING_VERSION-serving-$KNATIVE_SERVING_VERSION"
  rm -rf "$mod/configmaps" && mkdir -p "$mod/configmaps" "$out.tmp"
  printf 'module pgfn.local/knative-webhook\n\ngo 1.25.0\n\nrequire (\n\tknative.dev/eventing %s\n\tknative.dev/serving %s\n)\n' \
    "$KNATIVE_EVENTING_VERSION" "$KNATIVE_SERVING_VERSION" > "$mod/go.mod.new"
  # Keep the resolved go.mod/go.sum of an earlier build when the requirements are unchanged.
  if ! cmp -s "$mod/go.mod.new" "$mod/go.mod.base" 2>/dev/null; then
    cp "$mod/go.mod.new" "$mod/go.mod" && cp "$mod/go.mod.new" "$mod/go.mod.base" && rm -f "$mod/go.sum"
  fi
  rm -f "$mod/go.mod.new"
  cp "$here/knative-webhook/main.go" "$mod/main.go"
  local m dir
  for m in "eventing@$KNATIVE_EVENTING_VERSION" "serving@$KNATIVE_SERVING_VERSION"; do
    dir="$(go mod download -json "knative.dev/$m" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir/config/core/configmaps" ]] || { echo "knative.dev/$m has no config/core/configmaps at '$dir'" >&2; exit 1; }
    mkdir -p "$mod/configmaps/${m%@*}"
    cp "$dir"/config/core/configmaps/*.yaml "$mod/configmaps/${m%@*}/"
  done
  chmod -R u+w "$mod/configmaps"
  log "knative-webhook: resolving modules"
  (cd "$mod" && go mod tidy)
  log "knative-webhook: building"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/knative-webhook" .)
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "knative-webhook built"
}

# Knative Eventing's own controllers and data plane as local processes: the controller, mt-broker and
# in-memory-channel controllers and the webhook binary's SinkBinding reconciler as thin mains of ours
# (hack/knative-eventing: upstream's constructor lists with the :8080 health probes disabled), the dispatcher, broker ingress/filter and ping adapter
# as upstream builds them. The folder names the version and a hash of the thin mains.
build_knative_eventing() {
  local v="$KNATIVE_EVENTING_VERSION" hash
  hash="$(cat "$here"/knative-eventing/*/*.go | sha256sum | cut -c1-12)"
  local out="$bindir/knative-eventing-$v-$hash"
  local bins=(controller mtchannel-broker imc-controller sinkbinding channel_dispatcher ingress filter mtping)
  if have "${bins[@]/#/$out/}" && [[ -f "$out/config/.complete" ]]; then log "knative eventing $v present"; return; fi
  local mod="$cache/src/knative-eventing-local-$v"
  mkdir -p "$mod" "$out.tmp"
  [[ -f "$mod/go.mod" ]] || printf 'module pgfn.local/knative-eventing\n\ngo 1.25.0\n\nrequire knative.dev/eventing %s\n' "$v" > "$mod/go.mod"
  local d
  for d in "$here"/knative-eventing/*/; do
    [[ -f "$d/main.go" ]] && mkdir -p "$mod/$(basename "$d")" && cp "$d/main.go" "$mod/$(basename "$d")/"
  done
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "knative.dev/eventing/cmd/broker/filter"\n\t_ "knative.dev/eventing/cmd/broker/ingress"\n\t_ "knative.dev/eventing/cmd/in_memory/channel_dispatcher"\n\t_ "knative.dev/eventing/cmd/mtping"\n)\n' > "$mod/tools.go"
  log "knative eventing $v: resolving modules"
  (cd "$mod" && go mod tidy)
  log "knative eventing $v: building ${bins[*]}"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/" ./controller ./mtchannel-broker ./imc-controller ./sinkbinding \
    knative.dev/eventing/cmd/broker/ingress knative.dev/eventing/cmd/broker/filter knative.dev/eventing/cmd/mtping)
  # The dispatcher binds :8080 and :8443 by constant, which other local processes (every receive
  # adapter's health probe) also take. Go refuses overlays inside the module cache, so the dispatcher
  # is built in a second wrapper module whose knative.dev/eventing is a copy of the module with two
  # lines changed and one file added (hack/knative-eventing/overlay): IMC_DISPATCHER_PORT(_HTTPS) choose
  # the ports, upstream's constants otherwise.
  local edir dmod="$cache/src/knative-eventing-dispatcher-$v"
  edir="$(go mod download -json "knative.dev/eventing@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$dmod" && mkdir -p "$dmod" && cp -r "$edir" "$dmod/eventing" && chmod -R u+w "$dmod/eventing"
  local pkg="$dmod/eventing/pkg/reconciler/inmemorychannel/dispatcher"
  sed -i -e 's/Port:         httpPort,/Port:         pgfnPort("IMC_DISPATCHER_PORT", httpPort),/' \
    -e 's/Port:         httpsPort,/Port:         pgfnPort("IMC_DISPATCHER_PORT_HTTPS", httpsPort),/' "$pkg/controller.go"
  [[ $(grep -c 'pgfnPort(' "$pkg/controller.go") -eq 2 ]] || { echo "the dispatcher port change no longer applies to $pkg/controller.go" >&2; exit 1; }
  cp "$here/knative-eventing/overlay/zz_pgfn_port.go" "$pkg/"
  sed -e 's#^module .*#module pgfn.local/knative-dispatcher#' "$mod/go.mod" > "$dmod/go.mod"
  printf '\nreplace knative.dev/eventing => ./eventing\n' >> "$dmod/go.mod"
  cp "$mod/go.sum" "$dmod/go.sum"
  printf '//go:build tools\n\npackage tools\n\nimport _ "knative.dev/eventing/cmd/in_memory/channel_dispatcher"\n' > "$dmod/tools.go"
  (cd "$dmod" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$out.tmp/" knative.dev/eventing/cmd/in_memory/channel_dispatcher)
  # The ConfigMaps a Knative install has in knative-eventing (core, and the in-memory channel's).
  local dir
  dir="$(go mod download -json "knative.dev/eventing@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "$out.tmp/config"
  cp "$dir"/config/core/configmaps/*.yaml "$dir"/config/channels/in-memory-channel/configmaps/*.yaml "$out.tmp/config/"
  chmod -R u+w "$out.tmp/config" && touch "$out.tmp/config/.complete"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "knative eventing $v built"
}

# A real S3 server for backups (Apache-2.0; MinIO is AGPL): versitygw's posix backend serves a
# directory as buckets. A wrapper module requiring the exact version, as for Knative.
build_versitygw() {
  local v="$VERSITYGW_VERSION" out="$bindir/versitygw-$VERSITYGW_VERSION"
  if have "$out/versitygw"; then log "versitygw $v present"; return; fi
  local mod="$cache/src/versitygw-$v"
  mkdir -p "$mod" "$out.tmp"
  printf 'module pgfn.local/versitygw-bins\n\ngo 1.24.0\n\nrequire github.com/versity/versitygw %s\n' "$v" > "$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/versity/versitygw/cmd/versitygw"\n' > "$mod/tools.go"
  log "versitygw $v: resolving modules"
  (cd "$mod" && go mod tidy)
  log "versitygw $v: building"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/versitygw" github.com/versity/versitygw/cmd/versitygw)
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "versitygw $v built"
}

# The node agent's kubelet exec endpoint (shared/node-agent/kubelet-exec): kubelet's own streaming code
# (k8s.io/kubelet) in a small main of ours. Keyed by a hash of its source and the Kubernetes version.
build_kubelet_exec() {
  local src="$here/../shared/node-agent/kubelet-exec/main.go"
  local key; key="$(cat "$src" <(echo "$KUBERNETES_STAGING_VERSION") | sha256sum | cut -c1-12)"
  local out="$bindir/pgfn-kubelet-exec-$key"
  if have "$out/pgfn-kubelet-exec"; then log "pgfn-kubelet-exec $key present"; return; fi
  local mod="$cache/src/pgfn-kubelet-exec-$key"
  mkdir -p "$mod" "$out.tmp"
  printf 'module pgfn.local/kubelet-exec\n\ngo 1.24.0\n\nrequire (\n\tk8s.io/kubelet %s\n\tk8s.io/client-go %s\n\tk8s.io/apimachinery %s\n\tgithub.com/creack/pty v1.1.24\n)\n' \
    "$KUBERNETES_STAGING_VERSION" "$KUBERNETES_STAGING_VERSION" "$KUBERNETES_STAGING_VERSION" > "$mod/go.mod"
  cp "$src" "$mod/main.go"
  log "pgfn-kubelet-exec $key: resolving modules"
  (cd "$mod" && go mod tidy)
  log "pgfn-kubelet-exec $key: building"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/pgfn-kubelet-exec" .)
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "pgfn-kubelet-exec $key built"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kwok kubernetes knative knative-crds knative-webhook knative-eventing versitygw kubelet-exec)
for c in "${components[@]}"; do
  case "$c" in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    knative) build_knative ;;
    knative-crds) build_knative_crds ;;
    knative-webhook) build_knative_webhook ;;
    knative-eventing) build_knative_eventing ;;
    versitygw) build_versitygw ;;
    kubelet-exec) build_kubelet_exec ;;
    *) echo "unknown component: $c" >&2; exit 2 ;;
  esac
done
echo "$bindir"
