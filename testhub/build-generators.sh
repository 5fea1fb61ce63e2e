#!/usr/bin/env bash
# Build the real upstream ZTP generators (SiteConfig, PolicyGenTemplate, ACM PolicyGenerator) from the pinned
# wrapper modules in testhub/build/ztp-generators/, through the Go module proxy, into a cache outside the
# repository. A wrapper is rebuilt only when its go.mod/go.sum changed (stamp file next to the binaries).
#
# usage: testhub/build-generators.sh [--update]
#   --update  resolve the "// pin:" line of each wrapper go.mod (go get), copy the upstream replace
#             directives and add the packages as tool dependencies (changes go.mod/go.sum: commit them)
#
# Writes $ZTP_GENERATORS_BIN/../status.json, read by testhub/generators.py: per wrapper the module, version,
# binaries, data directories in the module cache, build time, or the exact error when it cannot be built.
# Exit status: 0 all built, 3 at least one upstream module is not available (status.json says which),
# 1 any other failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
BIN=${ZTP_GENERATORS_BIN:-$CACHE/generators/bin}
STATE=$(dirname "$BIN")
mkdir -p "$BIN" "$STATE/status.d"
export GOTOOLCHAIN=local CGO_ENABLED=0
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
command -v go >/dev/null || { echo "Go is needed to build the ZTP generators" >&2; exit 1; }
MODCACHE=$(go env GOMODCACHE)

comment() { sed -n "s#^// $1: *##p" "$2" | head -n 1; }

json_str() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().rstrip("\n")))'; }

# write_status NAME OK MODULE VERSION SECONDS BINARIES DATA ERRORFILE
write_status() {
  local err='""'
  [ -n "$8" ] && [ -f "$8" ] && err=$(json_str < "$8")
  python3 - "$STATE/status.d/$1.json" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$err" "$BIN" "$MODCACHE" <<'PY'
import json, os, sys
out, name, ok, module, version, secs, bins, data, err, bindir, modcache = sys.argv[1:]
moddir = os.path.join(modcache, module + "@" + version) if version else ""
doc = {
    "name": name, "built": ok == "1", "module": module, "version": version,
    "build_seconds": int(secs) if secs else None,
    "binaries": {b.split("=")[0]: os.path.join(bindir, b.split("=")[0]) for b in bins.split()},
    "data": {d: os.path.join(moddir, d) for d in data.split()} if moddir else {},
    "module_dir": moddir, "error": json.loads(err),
}
with open(out, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
PY
}

# update_wrapper DIR MODULE REV PKGS: resolve the pin, mirror upstream replaces, add tool deps
update_wrapper() {
  local dir=$1 mod=$2 rev=$3 pkgs=$4 info gomod p
  if ! info=$(cd "$dir" && go mod download -json "$mod@$rev"); then
    printf '%s\n' "$info" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Error",""))' >&2 || printf '%s\n' "$info" >&2
    return 1
  fi
  gomod=$(printf '%s' "$info" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("GoMod",""))')
  # upstream replace directives (single-line and block form); local-path replaces cannot apply outside
  python3 - "$gomod" <<'PY' > "$dir/.replaces" || return 1
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
lines, block = [], False
for raw in text.splitlines():
    line = raw.split("//")[0].strip()
    if line.startswith("replace ("):
        block = True
        continue
    if block and line == ")":
        block = False
        continue
    if line.startswith("replace "):
        line = line[len("replace "):]
    elif not block:
        continue
    m = re.match(r"^(\S+)(?: (\S+))? => (\S+)(?: (\S+))?$", line)
    if m and not m.group(3).startswith("."):
        old = m.group(1) + ("@" + m.group(2) if m.group(2) else "")
        print(old + "=" + m.group(3) + ("@" + m.group(4) if m.group(4) else ""))
PY
  while read -r r; do (cd "$dir" && go mod edit -replace "$r") || return 1; done < "$dir/.replaces"
  rm -f "$dir/.replaces"
  for p in $pkgs; do (cd "$dir" && go get -tool "$mod/${p#*=}@$rev") || return 1; done
  (cd "$dir" && go mod tidy) || return 1
}

rc=0
for dir in "$HERE"/build/ztp-generators/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  pin=$(comment pin "$dir/go.mod"); pkgs=$(comment build "$dir/go.mod"); data=$(comment data "$dir/go.mod")
  mod=${pin%@*}; rev=${pin#*@}
  errf="$STATE/status.d/$name.err"
  : > "$errf"
  if [ "$UPDATE" = 1 ] || ! grep -q "^[[:space:]]*$mod " "$dir/go.mod"; then
    if [ "$UPDATE" = 0 ]; then
      # not pinned yet: check that the proxy serves the module at all, without changing go.mod
      if ! (cd "$(mktemp -d)" && go list -m -json "$mod@$rev") > /dev/null 2> "$errf"; then
        echo "$name: $mod@$rev is not available from the Go module proxy:" >&2; cat "$errf" >&2
        write_status "$name" 0 "$mod" "" "" "$pkgs" "$data" "$errf"; rc=3; continue
      fi
      echo "$name: $mod@$rev is served but not pinned yet: run $0 --update and commit go.mod/go.sum" > "$errf"
      cat "$errf" >&2; write_status "$name" 0 "$mod" "" "" "$pkgs" "$data" "$errf"; rc=1; continue
    fi
    if ! update_wrapper "$dir" "$mod" "$rev" "$pkgs" 2> "$errf"; then
      cat "$errf" >&2; write_status "$name" 0 "$mod" "" "" "$pkgs" "$data" "$errf"
      grep -q "403\|404\|410\|not available\|unknown revision" "$errf" && rc=3 || rc=1; continue
    fi
  fi
  version=$(cd "$dir" && go list -m -f '{{.Version}}' "$mod")
  stamp="$BIN/.stamp-$name"
  want=$(cat "$dir/go.mod" "$dir/go.sum" 2>/dev/null | sha256sum | cut -d' ' -f1)
  have_all=1
  for p in $pkgs; do [ -x "$BIN/${p%%=*}" ] || have_all=0; done
  if [ "$have_all" = 1 ] && [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$want" ]; then
    write_status "$name" 1 "$mod" "$version" "$(sed -n 2p "$stamp")" "$pkgs" "$data" ""; continue
  fi
  echo "building $name ($mod $version)" >&2
  t0=$SECONDS; ok=1
  (cd "$dir" && go mod download "$mod") 2> "$errf" || ok=0
  for p in $pkgs; do
    [ "$ok" = 1 ] || break
    out="$BIN/${p%%=*}"
    if ! (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$out.new" "$mod/${p#*=}") 2>> "$errf"; then
      # the upstream module vendors its dependencies: try the vendor/ tree of the module zip, in a copy
      moddir="$MODCACHE/$mod@$version"
      if [ -f "$moddir/vendor/modules.txt" ]; then
        tmp=$(mktemp -d); cp -r "$moddir/." "$tmp/"; chmod -R u+w "$tmp"
        echo "retrying with -mod=vendor in a copy of $moddir" >> "$errf"
        (cd "$tmp" && go build -mod=vendor -trimpath -ldflags "-s -w" -o "$out.new" "./${p#*=}") 2>> "$errf" || ok=0
        rm -rf "$tmp"
      else
        echo "the module zip has no vendor/modules.txt: no -mod=vendor retry" >> "$errf"; ok=0
      fi
    fi
    [ "$ok" = 1 ] && mv "$out.new" "$out"
  done
  secs=$((SECONDS - t0))
  if [ "$ok" = 1 ]; then
    printf '%s\n%s\n' "$want" "$secs" > "$stamp"; : > "$errf"
    echo "$name built in $secs s" >&2
    write_status "$name" 1 "$mod" "$version" "$secs" "$pkgs" "$data" ""
  else
    cat "$errf" >&2; rc=1
    write_status "$name" 0 "$mod" "$version" "$secs" "$pkgs" "$data" "$errf"
  fi
done
python3 - "$STATE" <<'PY'
import glob, json, os, sys
state = sys.argv[1]
docs = {}
for path in sorted(glob.glob(os.path.join(state, "status.d", "*.json"))):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    docs[doc["name"]] = doc
with open(os.path.join(state, "status.json"), "w", encoding="utf-8") as f:
    json.dump(docs, f, indent=2)
PY
echo "$BIN"
exit $rc
