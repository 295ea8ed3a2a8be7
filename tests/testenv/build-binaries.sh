#!/usr/bin/env bash
# Builds the test environment's binaries from the Go module proxy, once per version, into a cache
# outside the repository: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd,
# kwok, kwokctl, helm 3, kubelogin, kubelet, promtool (Prometheus' rule checker) and CoreDNS (the real node's
# cluster DNS). (helm-diff: see tests/testenv/helm-diff-plugin/plugin.yaml.) A warm cache makes this a no-op.
#
# Usage: tests/testenv/build-binaries.sh [component ...]   (default: all)
# Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KUBELOGIN_VERSION="${KUBELOGIN_VERSION:-v0.2.22}"
# Prometheus 3.x publishes its Go module as v0.3MM.P for release 3.MM.P (v0.316.0 is Prometheus 3.16.0).
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.12.4}"
CACHE="${NEO4J_AKS_CACHE:-$HOME/.cache/neo4j-azure-aks}"
BIN="$CACHE/bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GONOSUMDB="${GONOSUMDB:-}" GOSUMDB="${GOSUMDB:-sum.golang.org}"

die() { echo "build-binaries: $*" >&2; exit 1; }
command -v go >/dev/null || die "the Go toolchain is missing: install Go >= 1.26 (https://go.dev/dl) and put 'go' on PATH"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "$go_minor" -ge 26 ] || die "Go $(go env GOVERSION) is too old: Kubernetes 1.36 and kwok ${KWOK_VERSION} need go1.26+"

mkdir -p "$BIN"
# One build at a time per cache: a second caller waits, then finds the binaries built.
exec 9>"$CACHE/.build.lock"
flock 9
log() { echo "[build-binaries] $(date +%H:%M:%S) $*" >&2; }

# Link the binaries of one versioned directory into the shared bin dir.
publish() { local dir=$1; shift; for b in "$@"; do ln -sfn "$dir/$b" "$BIN/$b"; done; }

# Runs a go command; when the checksum database is unreachable, retries once with GOSUMDB=off.
gorun() {
  if ! "$@"; then
    log "retrying with GOSUMDB=off (checksum database unreachable?)"
    GOSUMDB=off "$@"
  fi
}

build_kubernetes() {
  local out="$CACHE/kubernetes-$K8S_VERSION" mod="$CACHE/src/kubernetes-$K8S_VERSION"
  if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/kube-scheduler" ] && [ -x "$out/kubectl" ]; then
    publish "$out" kube-apiserver kube-controller-manager kube-scheduler kubectl; return
  fi
  log "building Kubernetes $K8S_VERSION (cold: 20-40 min on 2 cores)"
  rm -rf "$mod"; mkdir -p "$mod" "$out"; cd "$mod"
  local staging_minor="v0.${K8S_VERSION#v1.}"
  go mod init local/k8s-build >/dev/null 2>&1
  go mod edit -go=1.26.0 -require="k8s.io/kubernetes@$K8S_VERSION"
  local gomod
  gomod=$(gorun go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
  # Every `k8s.io/X => ./staging/...` replace of the tag names a staging module published as v0.N.
  local staged
  staged=$(sed -n 's#^\s*\(k8s.io/[^ ]*\) => ./staging/.*#\1#p' "$gomod")
  [ -n "$staged" ] || die "no staging replaces found in $gomod"
  for m in $staged; do go mod edit -replace="$m=$m@$staging_minor"; done
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    go mod edit -tool="k8s.io/kubernetes/cmd/$c"
  done
  gorun go mod tidy
  local F="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    F="$F -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X $p.gitTreeState=clean"
  done
  go build -p 2 -trimpath -ldflags "-s -w $F" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  publish "$out" kube-apiserver kube-controller-manager kube-scheduler kubectl
}

build_etcd() {
  local out="$CACHE/etcd-$ETCD_VERSION" mod="$CACHE/src/etcd-$ETCD_VERSION"
  if [ -x "$out/etcd" ]; then publish "$out" etcd; return; fi
  log "building etcd $ETCD_VERSION"
  rm -rf "$mod"; mkdir -p "$mod" "$out"; cd "$mod"
  go mod init local/etcd >/dev/null 2>&1
  go mod edit -go=1.26.0 -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" -tool=go.etcd.io/etcd/server/v3
  gorun go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  publish "$out" etcd
}

build_kwok() {
  local out="$CACHE/kwok-$KWOK_VERSION"
  if [ -x "$out/kwok" ] && [ -x "$out/kwokctl" ]; then publish "$out" kwok kwokctl; return; fi
  log "building kwok $KWOK_VERSION"
  mkdir -p "$out"
  gorun env GOBIN="$out" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  publish "$out" kwok kwokctl
}

build_helm() {
  local out="$CACHE/helm-$HELM_VERSION"
  if [ -x "$out/helm" ]; then publish "$out" helm; return; fi
  log "building helm $HELM_VERSION"
  mkdir -p "$out"
  local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  gorun env GOBIN="$out" go install -trimpath -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  publish "$out" helm
}

build_kubelogin() {
  local out="$CACHE/kubelogin-$KUBELOGIN_VERSION" mod="$CACHE/src/kubelogin-$KUBELOGIN_VERSION"
  if [ -x "$out/kubelogin" ]; then publish "$out" kubelogin; return; fi
  log "building kubelogin $KUBELOGIN_VERSION"
  # go mod download fetches the zip, then reports the go-version mismatch below as an error: read the
  # zip's path from its JSON whatever its exit status.
  local zip
  zip=$( (go mod download -json "github.com/Azure/kubelogin@$KUBELOGIN_VERSION" || true) | sed -n 's/.*"Zip": "\(.*\)".*/\1/p')
  [ -f "$zip" ] || die "could not download github.com/Azure/kubelogin@$KUBELOGIN_VERSION from the Go module proxy"
  rm -rf "$mod" "$out"; mkdir -p "$mod" "$out"
  python3 -m zipfile -e "$zip" "$mod"
  cd "$mod/github.com/Azure/kubelogin@$KUBELOGIN_VERSION"
  # v0.2.22's go.mod asks for a newer Go patch release than the machine may have (go 1.26.10); the
  # code builds with any go1.26, so the module is built from its own source with the go line relaxed
  # to the local toolchain instead of downloading another toolchain.
  chmod -R u+w .
  go mod edit -go="$(go env GOVERSION | sed 's/^go//')"
  gorun go build -trimpath -ldflags "-s -w -X main.gitTag=$KUBELOGIN_VERSION" -o "$out/kubelogin" .
  publish "$out" kubelogin
}

# kubelet of the same Kubernetes release, for the test environment's one real node (tests/testenv/components/node.py).
# Its own module (the control-plane build stays as it is); same staging replaces and version stamps.
build_kubelet() {
  local out="$CACHE/kubelet-$K8S_VERSION" mod="$CACHE/src/kubelet-$K8S_VERSION"
  if [ -x "$out/kubelet" ]; then publish "$out" kubelet; return; fi
  log "building kubelet $K8S_VERSION (cold: about 5-10 min on 2 cores)"
  rm -rf "$mod"; mkdir -p "$mod" "$out"; cd "$mod"
  go mod init local/kubelet-build >/dev/null 2>&1
  go mod edit -go=1.26.0 -require="k8s.io/kubernetes@$K8S_VERSION"
  local gomod m
  gomod=$(gorun go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
  sed -n 's#^\s*\(k8s.io/[^ ]*\) => ./staging/.*#\1#p' "$gomod" | while read -r m; do
    go mod edit -replace="$m=$m@v0.${K8S_VERSION#v1.}"
  done
  go mod edit -tool=k8s.io/kubernetes/cmd/kubelet
  gorun go mod tidy
  local F="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    F="$F -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X $p.gitTreeState=clean"
  done
  go build -p 2 -trimpath -ldflags "-s -w $F" -o "$out/kubelet" k8s.io/kubernetes/cmd/kubelet
  publish "$out" kubelet
}

build_promtool() {
  local out="$CACHE/promtool-$PROMETHEUS_MODULE_VERSION"
  if [ -x "$out/promtool" ]; then publish "$out" promtool; return; fi
  local minor="${PROMETHEUS_MODULE_VERSION#v0.}"
  local release="3.$((10#${minor%%.*} - 300)).${minor#*.}"
  log "building promtool $release (module github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION)"
  mkdir -p "$out"
  gorun env GOBIN="$out" go install -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
  publish "$out" promtool
}

# CoreDNS with the plugins of an AKS cluster's Corefile that the real node uses (kubernetes, forward, cache, errors,
# log, bind): a main of our own importing them, as CoreDNS documents for custom builds; the full plugin set would pull
# every cloud SDK. 2 min cold on 2 cores.
build_coredns() {
  local out="$CACHE/coredns-$COREDNS_VERSION" mod="$CACHE/src/coredns-$COREDNS_VERSION"
  if [ -x "$out/coredns" ]; then publish "$out" coredns; return; fi
  log "building CoreDNS $COREDNS_VERSION"
  rm -rf "$mod"; mkdir -p "$mod" "$out"; cd "$mod"
  cat > main.go <<'GO'
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
)

// The order plugins run in, as in CoreDNS's plugin.cfg.
func init() { dnsserver.Directives = []string{"bind", "errors", "log", "cache", "kubernetes", "forward"} }

func main() { coremain.Run() }
GO
  go mod init local/coredns-build >/dev/null 2>&1
  go mod edit -go="$(go env GOVERSION | sed 's/^go//')" -require="github.com/coredns/coredns@$COREDNS_VERSION"
  gorun go mod tidy
  gorun go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    -o "$out/coredns" .
  publish "$out" coredns
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kwok helm etcd kubernetes kubelogin kubelet promtool coredns)
for current in "${components[@]}"; do
  trap 'die "building $current failed (see the go output above); check that the Go module proxy is reachable (go env GOPROXY) and run make binaries again"' ERR
  "build_$current"
  cd "$CACHE"
done
echo "$BIN"
