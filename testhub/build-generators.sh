#!/usr/bin/env bash
# Build the real ZTP generators from their source in the shared reference folder (<repo>/../shared/generators or
# $ZTP_SHARED_DIR/generators), the way the ztp-site-generate container and ArgoCD run them:
#   siteconfig-generator, policygenerator   cnf-features-deploy release-4.20 (vendored packages, offline)
#   PolicyGenerator                         policy-generator-plugin (dependencies from the Go module proxy)
#   kustomize                               sigs.k8s.io/kustomize/kustomize/v5 (Go module proxy)
# The source folder is only read: builds write to the cache, the PolicyGenerator module builds in a temporary copy.
#
# Cache: ${ZTP_CACHE:-~/.cache/ztp-sno-expand}/generators. Each part is built once per content hash of its inputs
# (source files, Go version, kustomize version) into parts/<part>-<hash>/. A set (sets/<hash>/) combines the parts:
#   bin/                  the four binaries
#   xdg/kustomize/plugin/ the kustomize exec plugins laid out as in the container (XDG_CONFIG_HOME=<set>/xdg):
#                         ran.openshift.io/v1|v2/siteconfig/SiteConfig with extra-manifest/ beside it,
#                         ran.openshift.io/v1/policygentemplate/PolicyGenTemplate with source-crs/ beside it,
#                         policy.open-cluster-management.io/v1/policygenerator/PolicyGenerator
#   source-crs/           the 4.20 source-CR tree (telco-reference) with the legacy flat names made by the upstream
#                         script create_legacy_source-crs_symlinks.sh from source-crs_layout_4.19.txt
#   set.json              paths and build times
# generators/bin and generators/current are links to the newest set; generators/status.json records the outcome
# (or the build error) for testhub/generators.py.
#
# Exit status: 0 built (or found in the cache), 3 the shared generators folder does not exist, 1 a build failed
# (its error is printed and kept in status.json).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHARED=${ZTP_SHARED_DIR:-$REPO/../shared}
SRC=$SHARED/generators
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
ROOT=$CACHE/generators
KUSTOMIZE_VERSION=v5.7.1
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$ROOT/parts" "$ROOT/sets" || exit 1
STATUS=$ROOT/status.json

status() {  # status OK MESSAGE [SET]
  python3 - "$STATUS" "$1" "$2" "${3:-}" <<'PY'
import json, os, sys, time
path, ok, message, set_dir = sys.argv[1:]
doc = {"built": ok == "1", "error": "" if ok == "1" else message, "message": message, "set": set_dir,
       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
tmp = path + ".%d" % os.getpid()
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
os.replace(tmp, path)
PY
}

if [ ! -d "$SRC" ]; then
  echo "no generator sources at $SRC: nothing to build" >&2
  status 0 "no generator sources at $SRC"
  exit 3
fi
SRC=$(cd "$SRC" && pwd)
command -v go >/dev/null || { echo "Go is needed to build the ZTP generators" >&2; status 0 "Go is not installed"; exit 1; }
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

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
declare -A SECS

fail() {  # fail WHAT: print and record the build error
  echo "building $1 failed:" >&2
  cat "$LOG" >&2
  status 0 "building $1 failed: $(tail -n 40 "$LOG")"
  exit 1
}

build_part() {  # build_part NAME KEY FUNCTION: run FUNCTION OUT unless parts/NAME-KEY exists
  local name=$1 key=$2 fn=$3 out="$ROOT/parts/$1-$2" t0=$SECONDS
  if [ -f "$out/.done" ]; then
    SECS[$name]="cached"
    PART=$out
    return 0
  fi
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  echo "building $name (key $key)" >&2
  if ! "$fn" "$out.tmp" > "$LOG" 2>&1; then
    rm -rf "$out.tmp"
    fail "$name"
  fi
  SECS[$name]=$((SECONDS - t0))
  echo "$((SECONDS - t0))" > "$out.tmp/.seconds"
  touch "$out.tmp/.done"
  rm -rf "$out" && mv "$out.tmp" "$out"
  echo "$name built in $((SECONDS - t0)) s" >&2
  PART=$out
}

build_cnf() {
  local out=$1
  (cd "$SRC/cnf-features-deploy" && GOFLAGS="-mod=vendor -buildvcs=false" go build -trimpath -ldflags "-s -w" \
     -o "$out/siteconfig-generator" ./ztp/siteconfig-generator) || return 1
  (cd "$SRC/cnf-features-deploy" && GOFLAGS="-mod=vendor -buildvcs=false" go build -trimpath -ldflags "-s -w" \
     -o "$out/policygenerator" ./ztp/policygenerator)
}

build_pgp() {
  local out=$1 tmp rc
  tmp=$(mktemp -d)
  if ! { cp -r "$SRC/policy-generator-plugin/." "$tmp/" && chmod -R u+w "$tmp"; }; then
    rm -rf "$tmp"
    return 1
  fi
  (cd "$tmp" && GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$out/PolicyGenerator" ./cmd/PolicyGenerator)
  rc=$?
  rm -rf "$tmp"
  return $rc
}

build_kustomize() {
  GOBIN="$1" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

TREE=$SRC/telco-reference-source-crs/telco-ran/configuration/source-crs
LAYOUT_LIST=$SRC/cnf-features-deploy/ztp/resource-generator/source-crs_layout_4.19.txt
LEGACY_SCRIPT=$SRC/cnf-features-deploy/ztp/resource-generator/tools/create_legacy_source-crs_symlinks.sh

build_sourcecrs() {  # the container's source-crs: the telco-reference tree plus the legacy links of 4.19 names
  cp -r "$TREE" "$1/source-crs" && chmod -R u+w "$1/source-crs" || return 1
  # Git symbolic links of the upstream tree that the copy holds as one-line files naming their target: links again
  python3 - "$1/source-crs" <<'PY' || return 1
import os, sys
root = sys.argv[1]
for folder, _dirs, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        if os.path.getsize(path) > 300:
            continue
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace").strip()
        if "\n" in text or ":" in text or not text.startswith("../"):
            continue
        target = os.path.normpath(os.path.join(folder, text))
        if os.path.isfile(target) and target.startswith(root + os.sep):
            os.remove(path)
            os.symlink(text, path)
            print("link restored:", os.path.relpath(path, root), "->", text)
PY
  bash "$LEGACY_SCRIPT" "$LAYOUT_LIST" "$1/source-crs"
}

place() {  # exec plugins are copies (hard links when possible): the PGT plugin finds source-crs/ beside its real path
  mkdir -p "$(dirname "$2")" && { cp -l "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
}

layout_set() {
  local set=$1 p=$1/xdg/kustomize/plugin v
  mkdir -p "$set/bin" &&
    ln -s "$CNF/siteconfig-generator" "$set/bin/siteconfig-generator" &&
    ln -s "$CNF/policygenerator" "$set/bin/policygenerator" &&
    ln -s "$PGP/PolicyGenerator" "$set/bin/PolicyGenerator" &&
    ln -s "$KUS/kustomize" "$set/bin/kustomize" &&
    ln -s "$SCR/source-crs" "$set/source-crs" || return 1
  for v in v1 v2; do
    place "$CNF/siteconfig-generator" "$p/ran.openshift.io/$v/siteconfig/SiteConfig" &&
      cp -R -L "$SCR/source-crs/extra-manifest" "$p/ran.openshift.io/$v/siteconfig/" || return 1
  done
  place "$CNF/policygenerator" "$p/ran.openshift.io/v1/policygentemplate/PolicyGenTemplate" &&
    cp -R "$SCR/source-crs" "$p/ran.openshift.io/v1/policygentemplate/source-crs" &&
    place "$PGP/PolicyGenerator" "$p/policy.open-cluster-management.io/v1/policygenerator/PolicyGenerator"
}

t_all=$SECONDS
build_part cnf "$(hash_tree "$SRC/cnf-features-deploy" "$GOVERSION")" build_cnf; CNF=$PART
build_part policygenerator-plugin "$(hash_tree "$SRC/policy-generator-plugin" "$GOVERSION")" build_pgp; PGP=$PART
build_part kustomize "$(printf '%s %s' "$KUSTOMIZE_VERSION" "$GOVERSION" | sha256sum | cut -c1-16)" build_kustomize; KUS=$PART
# the source-crs recipe is part of this script: its key includes the script
build_part source-crs "$(hash_tree "$TREE" "$(sha256sum "$LAYOUT_LIST" "$LEGACY_SCRIPT" "${BASH_SOURCE[0]}")")" build_sourcecrs; SCR=$PART

SETKEY=$(printf '%s\n' "$CNF" "$PGP" "$KUS" "$SCR" | sha256sum | cut -c1-16)
SET=$ROOT/sets/$SETKEY
if [ ! -f "$SET/set.json" ]; then
  rm -rf "$SET.tmp"
  layout_set "$SET.tmp" > "$LOG" 2>&1 || fail "the plugin layout"
  python3 - "$SET.tmp/set.json" "$SET" "$SRC" "$GOVERSION" "$KUSTOMIZE_VERSION" \
    "$(cat "$CNF/.seconds")" "$(cat "$PGP/.seconds")" "$(cat "$KUS/.seconds")" <<'PY' || fail "set.json"
import json, sys
out, set_dir, src, gover, kver, s_cnf, s_pgp, s_kus = sys.argv[1:]
json.dump({"set": set_dir, "sources": src, "go": gover, "kustomize_version": kver,
           "bin": set_dir + "/bin", "xdg_config_home": set_dir + "/xdg", "source_crs": set_dir + "/source-crs",
           "extra_manifest": set_dir + "/source-crs/extra-manifest",
           "build_seconds": {"cnf": int(s_cnf), "policygenerator-plugin": int(s_pgp), "kustomize": int(s_kus)}},
          open(out, "w", encoding="utf-8"), indent=2)
PY
  rm -rf "$SET" && mv "$SET.tmp" "$SET"
fi
ln -sfn "sets/$SETKEY" "$ROOT/current.new" && mv -T "$ROOT/current.new" "$ROOT/current"
# an older script kept real folders here
if [ -d "$ROOT/bin" ] && [ ! -L "$ROOT/bin" ]; then
  rm -rf "${ROOT:?}/bin" "${ROOT:?}/status.d"
fi
ln -sfn "current/bin" "$ROOT/bin.new" && mv -T "$ROOT/bin.new" "$ROOT/bin"
summary="generators ready in $((SECONDS - t_all)) s (cnf ${SECS[cnf]}, policygenerator-plugin ${SECS[policygenerator-plugin]}, kustomize ${SECS[kustomize]}, source-crs ${SECS[source-crs]})"
echo "$summary" >&2
status 1 "$summary" "$SET"
echo "$SET"
