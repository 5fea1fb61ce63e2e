#!/usr/bin/env bash
# Build the siteconfig operator (stolostron/siteconfig) from its source in the shared reference folder
# (<repo>/../shared/controllers or $ZTP_SHARED_DIR/controllers) for the test hub's real siteconfig operator mode.
#
# The source folder is only read: the build runs in a temporary writable copy where
#   * the three modules the Go module proxy refuses (assisted-service api and models, controller-runtime-common) are
#     replaced by their copies in controllers/siteconfig-operator-deps (`go mod edit -replace`), and
#   * the webhook server's fixed port 9443 (cmd/main.go) becomes two flags, --webhook-port (default 9443) and
#     --webhook-host (default: all addresses), so that several test hubs can each run an operator bound to
#     127.0.0.1 on a free port. Nothing else of the operator is changed.
#
# Cache: ${ZTP_CACHE:-~/.cache/ztp-sno-expand}/controllers/siteconfig-operator-<hash>/manager, <hash> over the
# operator and dependency sources, the Go version and this script. controllers/siteconfig-operator links the newest
# build; controllers/status.json records the outcome (or the build error) for testhub/controllers.py.
#
# Prints the path of the binary. Exit status: 0 built (or found in the cache), 3 the shared controllers folder does
# not exist, 1 the build failed (its error is printed and kept in status.json).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHARED=${ZTP_SHARED_DIR:-$REPO/../shared}
SRC=$SHARED/controllers/siteconfig-operator
DEPS=$SHARED/controllers/siteconfig-operator-deps
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
ROOT=$CACHE/controllers
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$ROOT" || exit 1
STATUS=$ROOT/status.json

status() {  # status OK MESSAGE [BINARY]
  python3 - "$STATUS" "$1" "$2" "${3:-}" <<'PY'
import json, os, sys, time
path, ok, message, binary = sys.argv[1:]
doc = {"built": ok == "1", "error": "" if ok == "1" else message, "message": message, "binary": binary,
       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
tmp = path + ".%d" % os.getpid()
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
os.replace(tmp, path)
PY
}

if [ ! -d "$SRC" ] || [ ! -d "$DEPS" ]; then
  echo "no siteconfig operator sources at $SRC (and $DEPS): the real siteconfig operator cannot be built;" \
       "the test hub keeps the simulator's ClusterInstance rendering" >&2
  status 0 "no siteconfig operator sources at $SRC"
  exit 3
fi
SRC=$(cd "$SRC" && pwd)
DEPS=$(cd "$DEPS" && pwd)
command -v go >/dev/null || { echo "Go is needed to build the siteconfig operator" >&2; status 0 "Go is not installed"; exit 1; }
GOVERSION=$(go env GOVERSION)

# one build at a time per cache (other checkouts and test runs share it)
exec 9>"$ROOT/.lock"
flock 9

hash_tree() {  # the content of a folder (file names, contents, link targets) and extra words, as one sha256
  local dir=$1; shift
  {
    printf '%s\n' "$@"
    (cd "$dir" && find . -type l -printf 'L %p %l\n' | LC_ALL=C sort)
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  } | sha256sum | cut -c1-16
}

KEY=$( { hash_tree "$SRC" "$GOVERSION"; hash_tree "$DEPS"; sha256sum < "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
OUT=$ROOT/siteconfig-operator-$KEY

if [ ! -f "$OUT/.done" ]; then
  LOG=$(mktemp)
  WORK=$(mktemp -d)
  trap 'rm -rf "$LOG" "$WORK"' EXIT
  t0=$SECONDS
  echo "building the siteconfig operator (key $KEY; cold: several minutes on 2 cores)" >&2
  build() {
    cp -r "$SRC" "$WORK/src" && cp -r "$DEPS" "$WORK/deps" && chmod -R u+w "$WORK" || return 1
    cd "$WORK/src" || return 1
    go mod edit -replace "github.com/openshift/assisted-service/api=$WORK/deps/assisted-service-api" \
      -replace "github.com/openshift/assisted-service/models=$WORK/deps/assisted-service-models" \
      -replace "github.com/openshift/controller-runtime-common=$WORK/deps/controller-runtime-common" || return 1
    grep -q '^			Port:    9443,$' cmd/main.go || { echo "cmd/main.go: the webhook server's 'Port: 9443' line was not found" >&2; return 1; }
    sed -i 's/^			Port:    9443,$/			Port:    webhookPort, Host: webhookHost,/' cmd/main.go || return 1
    cat > cmd/webhook_flags.go <<'GO'
package main

import "flag"

var (
	webhookPort = 9443
	webhookHost = ""
)

func init() {
	flag.IntVar(&webhookPort, "webhook-port", webhookPort, "The port the ClusterInstance webhook server listens on.")
	flag.StringVar(&webhookHost, "webhook-host", webhookHost, "The address the ClusterInstance webhook server binds to.")
}
GO
    mkdir -p "$OUT.tmp" &&
      GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$OUT.tmp/manager" ./cmd/
  }
  rm -rf "$OUT.tmp"
  if ! (build) > "$LOG" 2>&1; then
    echo "building the siteconfig operator failed:" >&2
    cat "$LOG" >&2
    status 0 "building the siteconfig operator failed: $(tail -n 40 "$LOG")"
    rm -rf "$OUT.tmp"
    exit 1
  fi
  echo "$((SECONDS - t0))" > "$OUT.tmp/.seconds"
  printf '%s\n' "$SRC" > "$OUT.tmp/.source"
  touch "$OUT.tmp/.done"
  rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
  echo "siteconfig operator built in $((SECONDS - t0)) s" >&2
fi
ln -sfn "siteconfig-operator-$KEY" "$ROOT/siteconfig-operator.new" && mv -T "$ROOT/siteconfig-operator.new" "$ROOT/siteconfig-operator"
status 1 "siteconfig operator ready ($(cat "$OUT/.seconds") s build)" "$OUT/manager"
echo "$OUT/manager"
