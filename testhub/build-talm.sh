#!/usr/bin/env bash
# Build TALM (openshift-kni/cluster-group-upgrades-operator, the ClusterGroupUpgrade controller) from its source in
# the shared reference folder (<repo>/../shared/controllers/talm or $ZTP_SHARED_DIR/controllers/talm) for the test
# hub's real-TALM mode (testhub/controllers.py, `hubctl up --talm real`).
#
# The source folder is only read: the build runs in a temporary writable copy, unmodified (`go build -o manager .`,
# TALM's own Makefile target builds the same package); dependencies come from the Go module proxy.
#
# Cache: ${ZTP_CACHE:-~/.cache/ztp-sno-expand}/controllers/talm-<hash>/manager, <hash> over the TALM sources, the Go
# version and this script. controllers/talm links the newest build; controllers/talm-status.json records the outcome
# (or the build error). After a build, `go list -m` finds open-cluster-management.io/api (ManifestWork CRD) in the
# module cache; its folder is recorded in talm-<hash>/.ocm-api for testhub/controllers.py.
#
# Prints the path of the binary last. Exit status: 0 built (or found in the cache), 3 the TALM sources do not exist,
# 1 the build failed (its error is printed and kept in talm-status.json).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHARED=${ZTP_SHARED_DIR:-$REPO/../shared}
SRC=$SHARED/controllers/talm
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
ROOT=$CACHE/controllers
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$ROOT" || exit 1
STATUS=$ROOT/talm-status.json

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

if [ ! -d "$SRC" ]; then
  echo "no TALM sources at $SRC: the real TALM cannot be built; the test hub keeps the simulator's TALM" >&2
  status 0 "no TALM sources at $SRC"
  exit 3
fi
SRC=$(cd "$SRC" && pwd)
command -v go >/dev/null || { echo "Go is needed to build TALM" >&2; status 0 "Go is not installed"; exit 1; }
GOVERSION=$(go env GOVERSION)

# one build at a time per cache (other checkouts and test runs share it)
exec 9>"$ROOT/.lock-talm"
flock 9

hash_tree() {  # the content of a folder (file names, contents, link targets) and extra words, as one sha256
  local dir=$1; shift
  {
    printf '%s\n' "$@"
    (cd "$dir" && find . -type l -printf 'L %p %l\n' | LC_ALL=C sort)
    (cd "$dir" && find . -type f -not -path './.git/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  } | sha256sum | cut -c1-16
}

KEY=$( { hash_tree "$SRC" "$GOVERSION"; sha256sum < "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
OUT=$ROOT/talm-$KEY

if [ ! -f "$OUT/.done" ]; then
  LOG=$(mktemp)
  WORK=$(mktemp -d)
  trap 'rm -rf "$LOG" "$WORK"' EXIT
  t0=$SECONDS
  echo "building TALM (key $KEY; cold: about 2 minutes on 2 cores, more with a cold module cache)" >&2
  build() {
    cp -r "$SRC" "$WORK/src" && chmod -R u+w "$WORK" || return 1
    cd "$WORK/src" || return 1
    mkdir -p "$OUT.tmp" &&
      GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$OUT.tmp/manager" . || return 1
    # where the ManifestWork CRD comes from (open-cluster-management.io/api, at the version TALM pins)
    GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' open-cluster-management.io/api > "$OUT.tmp/.ocm-api" || return 1
  }
  rm -rf "$OUT.tmp"
  if ! (build) > "$LOG" 2>&1; then
    echo "building TALM failed:" >&2
    cat "$LOG" >&2
    status 0 "building TALM failed: $(tail -n 40 "$LOG")"
    rm -rf "$OUT.tmp"
    exit 1
  fi
  echo "$((SECONDS - t0))" > "$OUT.tmp/.seconds"
  printf '%s\n' "$SRC" > "$OUT.tmp/.source"
  touch "$OUT.tmp/.done"
  rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
  echo "TALM built in $((SECONDS - t0)) s" >&2
fi
ln -sfn "talm-$KEY" "$ROOT/talm.new" && mv -T "$ROOT/talm.new" "$ROOT/talm"
status 1 "TALM ready ($(cat "$OUT/.seconds") s build)" "$OUT/manager"
echo "$OUT/manager"
