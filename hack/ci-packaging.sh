#!/usr/bin/env bash
# CI stage: the collection tarball as Galaxy and AWX users get it, checked without Galaxy or a container engine.
#   1. The tarball (ansible-galaxy collection build of this checkout) holds no Python file that imports or loads
#      a part of the repository which the tarball leaves out (testhub/, hack/, benchmarks/, ...).
#   2. galaxy-importer, with its default configuration, accepts the tarball: no error, and ansible-doc gave the
#      documentation of every plugin and role README.
#   3. docs/awx/execution-environment.yml renders with `ansible-builder create`, and the galaxy step of the
#      rendered Containerfile, run here as written (in the context folder, Galaxy unreachable), installs
#      ztp.sno_expand and kubernetes.core from the tarballs in the context.
# Tools come from PyPI into <cache>/ci-packaging/venv (reused while the pins are unchanged): galaxy-importer and
# ansible-builder, with ansible-core and ansible-lint at the versions of requirements-dev.txt; kubernetes.core from
# the wheel of the ansible package pinned there (pip download, kept in <cache>/wheels). A missing Python is
# installed from apt when possible. Prints what it does; exits non-zero, with the reason, on any failure.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
HERE=$CACHE/ci-packaging
VENV=$HERE/venv
GALAXY_IMPORTER_PIN=galaxy-importer==0.4.44
ANSIBLE_BUILDER_PIN=ansible-builder==3.2.0
T0=$SECONDS

log() { printf '[ci-packaging %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf '[ci-packaging] FAILED: %s\n' "$*" >&2; exit 1; }
pin() {  # pin NAME: the NAME==VERSION line of requirements-dev.txt
  local line
  line=$(grep -E "^$1==" "$REPO/requirements-dev.txt" | head -n 1) || true
  [ -n "$line" ] || die "requirements-dev.txt has no '$1==<version>' pin"
  echo "$line"
}

# Nothing from the caller's Ansible setup may leak in (hack/test.sh exports some of these).
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_HOME GALAXY_IMPORTER_CONFIG
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(GALAXY_IMPORTER_[A-Z_]*\)=.*/\1/p')

# --- tools -------------------------------------------------------------------------------------------------
# shellcheck source=hack/apt.sh
. "$REPO/hack/apt.sh"
find_python() {  # a Python >= 3.11 that runs (pyenv shims of versions not activated exit 127)
  local cand
  for cand in ${PYTHON:-} python3.11 python3.12 python3.13 python3; do
    if [ -n "$cand" ] && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  return 1
}
if ! PY=$(find_python); then
  log "no Python 3.11 or newer found; installing python3.11 from the machine's package sources"
  why=$(apt_install python3.11 python3.11-venv) || die "Python 3.11 or newer is needed and cannot be had: $why"
  PY=$(find_python) || die "python3.11 was installed but does not run"
fi
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  pyv=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  why=$(apt_install "python$pyv-venv") || die "$PY cannot create venvs (no ensurepip) and python$pyv-venv cannot be had: $why"
fi

CORE_PIN=$(pin ansible-core)
LINT_PIN=$(pin ansible-lint)
ANSIBLE_PIN=$(pin ansible)
TOOLS=("$GALAXY_IMPORTER_PIN" "$ANSIBLE_BUILDER_PIN" "$CORE_PIN" "$LINT_PIN")
want="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ${TOOLS[*]}"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
  log "creating $VENV with $PY: ${TOOLS[*]}"
  rm -rf "$VENV"
  mkdir -p "$HERE"
  "$PY" -m venv "$VENV" || die "$PY -m venv failed"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip \
    || die "cannot upgrade pip from the package index"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${TOOLS[@]}" \
    || die "cannot install ${TOOLS[*]} from the package index (see pip's message above)"
  echo "$want" > "$VENV/.stamp"
else
  log "reusing $VENV (${TOOLS[*]})"
fi
export PATH="$VENV/bin:$PATH"
if "$VENV/bin/python" -c 'import ansible_collections.kubernetes.core' 2>/dev/null; then
  die "$VENV has kubernetes.core on sys.path; the importer would see it and hide a missing dependency"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ci-packaging.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export ANSIBLE_HOME="$WORK/ansible-home"       # no ~/.ansible content (collections, config) takes part
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
: > "$WORK/ansible.cfg"
export ANSIBLE_CONFIG="$WORK/ansible.cfg"

# --- the tarball -------------------------------------------------------------------------------------------
log "building the collection tarball from $REPO"
(cd "$WORK" && ansible-galaxy collection build --output-path "$WORK/dist" "$REPO") >/dev/null \
  || die "ansible-galaxy collection build failed"
TARBALL=$(ls "$WORK"/dist/*.tar.gz)
log "built $(basename "$TARBALL") ($(tar -tzf "$TARBALL" | wc -l) entries)"

log "checking that no Python file of the tarball imports or loads what the tarball leaves out"
python - "$REPO" "$TARBALL" <<'PYEOF' || die "the tarball ships code that needs files it does not contain (see above)"
"""Every .py file of the tarball: its imports of modules of the repository (top-level packages such as testhub,
benchmarks, hack, and ansible_collections.<ns>.<name>.*) and its relative imports must resolve inside the
tarball; file paths built from the name of a top-level entry of the repository that the tarball leaves out
(for example os.path.join(REPO, "hack", ...)) are reported too."""
import ast
import json
import os
import subprocess
import sys
import tarfile

repo, tarball = sys.argv[1], sys.argv[2]
with tarfile.open(tarball) as tar:
    members = {m.name[2:] if m.name.startswith("./") else m.name: m for m in tar.getmembers()}
    sources = {n: tar.extractfile(m).read() for n, m in members.items() if m.isfile() and n.endswith(".py")}
    manifest = json.loads(tar.extractfile(members["MANIFEST.json"]).read())
ns, name = manifest["collection_info"]["namespace"], manifest["collection_info"]["name"]
names = set(members)
for n in list(names):
    parts = n.split("/")
    names.update("/".join(parts[:i]) for i in range(1, len(parts)))

try:
    tracked = subprocess.run(["git", "-C", repo, "ls-files"], check=True, capture_output=True, text=True).stdout.split()
except (OSError, subprocess.CalledProcessError):
    tracked = []
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        tracked += [os.path.relpath(os.path.join(root, f), repo) for f in files]
top = {t.split("/")[0] for t in tracked}
left_out = sorted(t for t in top if t not in names)
packages = {t[:-3] if t.endswith(".py") else t for t in top
            if t.endswith(".py") or any(p.startswith(t + "/") and p.endswith(".py") for p in tracked)}


def present(module_path):
    """module_path: a/b/c (slashes) relative to the tarball root."""
    return module_path + ".py" in names or module_path in names


problems = []
for path, data in sorted(sources.items()):
    try:
        tree = ast.parse(data, path)
    except SyntaxError as exc:
        problems.append("%s: does not parse: %s" % (path, exc))
        continue
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = os.path.dirname(path).split("/") if os.path.dirname(path) else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                mod = base + (node.module.split(".") if node.module else [])
                if not (present("/".join(mod)) or all(present("/".join(mod + [a.name])) for a in node.names)):
                    problems.append("%s:%d: relative import %s%s not in the tarball"
                                    % (path, node.lineno, "." * node.level, node.module or ""))
                continue
            targets = [node.module] if node.module.split(".")[0] in packages else \
                [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            targets = [node.args[0].value]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in left_out:
            problems.append("%s:%d: refers to %r, which the tarball leaves out" % (path, node.lineno, node.value))
        for target in targets:
            parts = target.split(".")
            if parts[0] in packages:
                if not present(parts[0]):
                    problems.append("%s:%d: imports %s, which the tarball leaves out" % (path, node.lineno, target))
            elif parts[:3] == ["ansible_collections", ns, name] and len(parts) > 3:
                # "from ...plugins.module_utils import x": x may be a module or a name inside the package
                if not (present("/".join(parts[3:])) or present("/".join(parts[3:-1]))):
                    problems.append("%s:%d: imports %s, which is not in the tarball" % (path, node.lineno, target))
print("  %d Python files checked; left out of the tarball: %s" % (len(sources), ", ".join(left_out) or "nothing"))
for problem in problems:
    print("  " + problem)
sys.exit(1 if problems else 0)
PYEOF

# --- galaxy-importer ---------------------------------------------------------------------------------------
log "running galaxy-importer ($GALAXY_IMPORTER_PIN) with its default configuration"
: > "$WORK/galaxy-importer.cfg"   # no [galaxy-importer] section: defaults, whatever /etc/galaxy-importer holds
mkdir -p "$WORK/importer"
set +e
(cd "$WORK/importer" && GALAXY_IMPORTER_CONFIG="$WORK/galaxy-importer.cfg" python -m galaxy_importer.main "$TARBALL") \
  > "$WORK/importer.log" 2>&1
rc=$?
set -e
grep -v '^Loading ' "$WORK/importer.log" | sed 's/^/  | /'
errors=$(grep -cE '^(ERROR|CRITICAL)|Traceback|The import failed' "$WORK/importer.log" || true)
warnings=$(grep -c '^WARNING' "$WORK/importer.log" || true)
[ "$rc" -eq 0 ] || die "galaxy-importer exited with $rc"
[ "$errors" -eq 0 ] || die "galaxy-importer reported $errors error(s)"
grep -q '^Importer processing completed successfully' "$WORK/importer.log" \
  || die "galaxy-importer did not report 'Importer processing completed successfully'"
python - "$WORK/importer/importer_result.json" "$TARBALL" <<'PYEOF' || die "galaxy-importer's result lacks documentation (see above)"
"""Every module (plugins/modules/*.py), every filter or test with a documentation file (plugins/filter/*.yml) and
every other documented plugin must have doc strings in the importer's result, every role its README."""
import json
import os
import sys
import tarfile

result = json.load(open(sys.argv[1]))
with tarfile.open(sys.argv[2]) as tar:
    names = [m.name for m in tar.getmembers() if m.isfile()]
expected = set()
for name in names:
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "plugins":
        kind, (base, ext) = parts[1], os.path.splitext(parts[2])
        if kind in ("filter", "test") and ext in (".yml", ".yaml"):
            expected.add((kind, base))
        elif kind in ("modules", "lookup", "inventory", "callback", "connection", "become", "cache", "vars") \
                and ext == ".py" and base != "__init__":
            expected.add(("module" if kind == "modules" else kind, base))
roles = {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2}
blob = result["docs_blob"]
documented = {(c["content_type"], c["content_name"]) for c in blob["contents"] if c.get("doc_strings")}
with_readme = {c["content_name"] for c in blob["contents"] if c["content_type"] == "role" and c.get("readme_html")}
readme = bool((blob.get("collection_readme") or {}).get("html"))
print("  importer result: %d of %d documented plugins with doc strings (%s); %d of %d roles with a README; "
      "collection README %s" % (len(expected & documented), len(expected),
                                ", ".join("%d %s" % (sum(1 for k, _ in expected if k == t), t)
                                          for t in sorted({k for k, _ in expected})),
                                len(roles & with_readme), len(roles), "rendered" if readme else "MISSING"))
for kind, name in sorted(expected - documented):
    print("  no documentation from ansible-doc: %s %s" % (kind, name))
for name in sorted(roles - with_readme):
    print("  no README for role " + name)
sys.exit(1 if (expected - documented) or (roles - with_readme) or not readme else 0)
PYEOF
log "galaxy-importer accepted the tarball: 0 errors, $warnings warning(s)"

# --- execution environment ---------------------------------------------------------------------------------
# The EE file names its tarballs relative to itself (../../<tarball>, the repository root): give it the same
# layout in a scratch copy, with the tarball built above and a kubernetes.core tarball made from the
# kubernetes.core in PyPI's ansible package (hack/k8s_core_tarball.py, the way the EE file's comments say).
EE=$WORK/ee
mkdir -p "$EE/repo/docs/awx"
cp "$REPO/docs/awx/execution-environment.yml" "$EE/repo/docs/awx/"
cp "$TARBALL" "$EE/repo/"
log "making the kubernetes.core tarball from PyPI's ${ANSIBLE_PIN}"
K8S_TARBALL=$(python "$REPO/hack/k8s_core_tarball.py" --ansible "${ANSIBLE_PIN#ansible==}" --dest "$EE/repo" \
  --wheel-dir "$CACHE/wheels" | tail -n 1) || die "cannot make the kubernetes.core tarball (see above)"
log "made $(basename "$K8S_TARBALL")"

python - "$EE/repo/docs/awx/execution-environment.yml" <<'PYEOF' || die "docs/awx/execution-environment.yml names files this build does not make (see above)"
import glob
import os
import sys

import yaml

ee_file = sys.argv[1]
ee = yaml.safe_load(open(ee_file))
here = os.path.dirname(ee_file)
bad = False
for entry in ee.get("additional_build_files", []):
    if not glob.glob(os.path.join(here, entry["src"])):
        have = sorted(os.path.basename(p) for p in glob.glob(os.path.join(here, "../..", "*.tar.gz")))
        print("  additional_build_files src %s: no such file; this build made %s" % (entry["src"], ", ".join(have)))
        bad = True
sys.exit(1 if bad else 0)
PYEOF

log "ansible-builder create ($ANSIBLE_BUILDER_PIN)"
(cd "$EE/repo/docs/awx" && ansible-builder create -f execution-environment.yml --context "$EE/context" -v 2) \
  > "$EE/create.log" 2>&1 || { cat "$EE/create.log"; die "ansible-builder create failed"; }
sed 's/^/  | /' "$EE/create.log" | tail -n 3
if grep -qiE 'warning|no matches' "$EE/create.log"; then
  grep -iE 'warning|no matches' "$EE/create.log"
  die "ansible-builder create warned (a missing additional_build_files src is only a warning there)"
fi
CONTAINERFILE=$EE/context/Containerfile
[ -f "$CONTAINERFILE" ] || CONTAINERFILE=$EE/context/Dockerfile
[ -f "$CONTAINERFILE" ] || die "ansible-builder create wrote no Containerfile or Dockerfile into $EE/context"

# The galaxy stage, as a shell script: its RUN lines in order, in the context's _build folder (COPY _build /build,
# WORKDIR /build), with the ARG defaults of the file, /usr/share/ansible mapped to a scratch folder and
# /output/scripts to the context's scripts. Any other instruction in that stage fails the check.
python - "$CONTAINERFILE" "$EE" > "$EE/galaxy-stage.sh" <<'PYEOF' || die "cannot turn the galaxy stage of $CONTAINERFILE into a script (see above)"
import re
import shlex
import sys

containerfile, ee = sys.argv[1], sys.argv[2]
lines = open(containerfile).read().replace("\\\n", " ").splitlines()
args, stage, out, found = {}, None, [], False
for line in lines:
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    word, _, rest = line.partition(" ")
    word = word.upper()
    if word == "FROM":
        stage = rest.split()[-1] if " AS " in rest.upper() else None
        continue
    if stage is None and word == "ARG" and "=" in rest:
        key, _, value = rest.partition("=")
        args[key.strip()] = shlex.split(value)[0] if value.strip() else ""
        continue
    if stage != "galaxy":
        continue
    found = True
    if word == "ARG":
        continue
    if word == "COPY" and rest.split() == ["_build", "/build"]:
        out.append("rm -rf %s/build && cp -a %s/context/_build %s/build" % ((shlex.quote(ee),) * 3))
    elif word == "WORKDIR" and rest.strip() == "/build":
        out.append("cd %s/build" % shlex.quote(ee))
    elif word == "RUN":
        cmd = rest.replace("/usr/share/ansible", ee + "/usr-share-ansible").replace("/output/scripts/", ee + "/context/_build/scripts/")
        out.append(cmd)
    elif word == "ENV":
        out.append("export " + rest)
    else:
        sys.exit("unexpected instruction in the galaxy stage: " + line)
if not found or not any("ansible-galaxy collection install" in c for c in out):
    sys.exit("no galaxy stage with 'ansible-galaxy collection install' in " + containerfile)
print("#!/usr/bin/env bash")
print("set -euxo pipefail")
for key, value in sorted(args.items()):
    print("export %s=%s" % (key, shlex.quote(value)))
print("\n".join(out))
PYEOF
log "running the rendered galaxy stage offline (Galaxy server set to an unreachable address):"
grep -vE '^(#!|set |export )' "$EE/galaxy-stage.sh" | sed 's/^/  $ /'
(
  export ANSIBLE_GALAXY_SERVER=http://127.0.0.1:9/api/   # any attempt to reach a Galaxy server fails
  export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
  unset no_proxy NO_PROXY
  bash "$EE/galaxy-stage.sh"
) > "$EE/galaxy-stage.log" 2>&1 || { sed 's/^/  | /' "$EE/galaxy-stage.log"; die "the rendered galaxy stage failed offline"; }
grep -E 'installed successfully|Installing|Skipping' "$EE/galaxy-stage.log" | sed 's/^/  | /'

python - "$EE/usr-share-ansible/collections/ansible_collections" "$REPO/galaxy.yml" "$K8S_TARBALL" <<'PYEOF' || die "the galaxy stage did not install what it should (see above)"
import glob
import json
import os
import sys
import tarfile

import yaml

root, galaxy_yml, k8s_tarball = sys.argv[1:]
galaxy = yaml.safe_load(open(galaxy_yml))
with tarfile.open(k8s_tarball) as tar:
    k8s = json.loads(tar.extractfile("MANIFEST.json").read())["collection_info"]
want = {"%s.%s" % (galaxy["namespace"], galaxy["name"]): galaxy["version"], "kubernetes.core": k8s["version"]}
have = {}
for manifest in glob.glob(os.path.join(root, "*", "*", "MANIFEST.json")):
    info = json.load(open(manifest))["collection_info"]
    have["%s.%s" % (info["namespace"], info["name"])] = info["version"]
print("  installed in the EE's collections folder: %s" % ", ".join("%s %s" % kv for kv in sorted(have.items())))
sys.exit(0 if have == want else "expected exactly %s" % ", ".join("%s %s" % kv for kv in sorted(want.items())))
PYEOF

log "ansible-builder introspect of the installed collections (what the builder stage adds from them)"
ansible-builder introspect --sanitize "$EE/usr-share-ansible/collections" \
  --user-pip "$EE/context/_build/requirements.txt" --user-bindep "$EE/context/_build/bindep.txt" \
  > "$EE/introspect.log" 2>&1 || { cat "$EE/introspect.log"; die "ansible-builder introspect failed"; }
sed 's/^/  | /' "$EE/introspect.log"
grep -q 'ztp.sno_expand' "$EE/introspect.log" \
  || die "ansible-builder introspect did not pick up ztp.sno_expand's meta/execution-environment.yml"

log "passed: tarball self-contained, galaxy-importer clean (0 errors, $warnings warnings), EE galaxy step installs offline"
