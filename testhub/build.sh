#!/usr/bin/env bash
# Build kube-apiserver and etcd from the pinned Go modules in testhub/build/, through the Go module proxy,
# into a cache outside the repository. A binary is rebuilt only when its pinned version changes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${ZTP_TESTHUB_BIN:-${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}/testhub/bin}
mkdir -p "$BIN"
export GOTOOLCHAIN=local CGO_ENABLED=0
command -v go >/dev/null || { echo "Go is needed to build the test hub (https://go.dev/dl or the distribution's golang package)" >&2; exit 1; }

version_of() { sed -n "s#^[[:space:]]*\(require[[:space:]]*\)\{0,1\}$1 \(v[^ ]*\).*#\2#p" "$2" | head -n 1; }

KV=$(version_of 'k8s.io/kubernetes' "$HERE/build/kube-apiserver/go.mod")
EV=$(version_of 'go.etcd.io/etcd/server/v3' "$HERE/build/etcd/go.mod")

if ! "$BIN/etcd" --version 2>/dev/null | grep -q "etcd Version: ${EV#v}$"; then
  echo "building etcd $EV (cold: about a minute)" >&2
  t0=$SECONDS
  (cd "$HERE/build/etcd" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.new" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd.new" "$BIN/etcd"
  echo "etcd built in $((SECONDS - t0)) s" >&2
fi

if ! "$BIN/kube-apiserver" --version 2>/dev/null | grep -q "Kubernetes $KV$"; then
  echo "building kube-apiserver $KV (cold: 10-20 minutes on 2 cores)" >&2
  t0=$SECONDS
  minor=$(echo "$KV" | cut -d. -f2)
  X="-X k8s.io/component-base/version.gitVersion=$KV -X k8s.io/component-base/version.gitMajor=1"
  X="$X -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  X="$X -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  X="$X -X k8s.io/client-go/pkg/version.gitVersion=$KV -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (cd "$HERE/build/kube-apiserver" && go build -trimpath -ldflags "-s -w $X" -o "$BIN/kube-apiserver.new" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$BIN/kube-apiserver.new" "$BIN/kube-apiserver"
  echo "kube-apiserver built in $((SECONDS - t0)) s" >&2
fi
echo "$BIN"
