#!/usr/bin/env bash
# Build the ACM governance controllers from their source in the shared reference folder
# (<repo>/../shared/controllers or $ZTP_SHARED_DIR/controllers) for the test hub's real policy mode
# (testhub/policy_controllers.py):
#   governance-policy-propagator      (hub: root policies -> replicated policies, root status)
#   governance-policy-framework-addon (between hub and spoke: replicated policies down, status up)
#   config-policy-controller          (spoke: evaluates and enforces ConfigurationPolicies, the source of compliance)
#
# The source folders are only read: each build runs in a temporary writable copy, unmodified (`go build .`, as their
# Makefiles build the same package); dependencies come from the Go module proxy.
#
# Cache: ${ZTP_CACHE:-~/.cache/ztp-sno-expand}/controllers/<name>-<hash>/<name>, <hash> over the sources, the Go version
# and this script; controllers/<name> links the newest build; controllers/policy-status.json records the outcome (or
# the first build error).
#
# Prints the three binaries' paths. Exit status: 0 built (or found in the cache), 3 the sources do not exist, 1 a build
# failed (its error is printed and kept in policy-status.json).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHARED=${ZTP_SHARED_DIR:-$REPO/../shared}
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
ROOT=$CACHE/controllers
NAMES="governance-policy-propagator governance-policy-framework-addon config-policy-controller"
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$ROOT" || exit 1
STATUS=$ROOT/policy-status.json

status() {  # status OK MESSAGE [BINARIES]
  python3 - "$STATUS" "$1" "$2" "${3:-}" <<'PY'
import json, os, sys, time
path, ok, message, binaries = sys.argv[1:]
doc = {"built": ok == "1", "error": "" if ok == "1" else message, "message": message,
       "binaries": dict(b.split("=", 1) for b in binaries.split()),
       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
tmp = path + ".%d" % os.getpid()
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
os.replace(tmp, path)
PY
}

for name in $NAMES; do
  if [ ! -d "$SHARED/controllers/$name" ]; then
    echo "no $name sources at $SHARED/controllers/$name: the real policy controllers cannot be built;" \
         "the test hub keeps the simulator's compliance" >&2
    status 0 "no $name sources at $SHARED/controllers/$name"
    exit 3
  fi
done
command -v go >/dev/null || { echo "Go is needed to build the policy controllers" >&2; status 0 "Go is not installed"; exit 1; }
GOVERSION=$(go env GOVERSION)

# one build at a time per cache (other checkouts and test runs share it)
exec 9>"$ROOT/.lock-policy"
flock 9

hash_tree() {  # the content of a folder (file names, contents, link targets) and extra words, as one sha256
  local dir=$1; shift
  {
    printf '%s\n' "$@"
    (cd "$dir" && find . -type l -printf 'L %p %l\n' | LC_ALL=C sort)
    (cd "$dir" && find . -type f -not -path './.git/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  } | sha256sum | cut -c1-16
}

BINARIES=""
for name in $NAMES; do
  SRC=$(cd "$SHARED/controllers/$name" && pwd)
  KEY=$( { hash_tree "$SRC" "$GOVERSION"; sha256sum < "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
  OUT=$ROOT/$name-$KEY
  if [ ! -f "$OUT/.done" ]; then
    LOG=$(mktemp)
    WORK=$(mktemp -d)
    t0=$SECONDS
    echo "building $name (key $KEY; cold: a few minutes on 2 cores)" >&2
    build() {
      cp -r "$SRC" "$WORK/src" && chmod -R u+w "$WORK" || return 1
      cd "$WORK/src" || return 1
      mkdir -p "$OUT.tmp" &&
        GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$OUT.tmp/$name" .
    }
    rm -rf "$OUT.tmp"
    if ! (build) > "$LOG" 2>&1; then
      echo "building $name failed:" >&2
      cat "$LOG" >&2
      status 0 "building $name failed: $(tail -n 40 "$LOG")"
      rm -rf "$OUT.tmp" "$LOG" "$WORK"
      exit 1
    fi
    echo "$((SECONDS - t0))" > "$OUT.tmp/.seconds"
    printf '%s\n' "$SRC" > "$OUT.tmp/.source"
    touch "$OUT.tmp/.done"
    rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
    rm -rf "$LOG" "$WORK"
    echo "$name built in $((SECONDS - t0)) s" >&2
  fi
  ln -sfn "$name-$KEY" "$ROOT/$name.new" && mv -T "$ROOT/$name.new" "$ROOT/$name"
  BINARIES="$BINARIES $name=$OUT/$name"
  echo "$OUT/$name"
done
status 1 "policy controllers ready" "$BINARIES"
