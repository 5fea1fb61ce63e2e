#!/usr/bin/env bash
# CI stage: the supported ansible-core range, tested with the collection tarball as users install it.
# For each ansible-core release of the matrix (default: 2.16, 2.17, 2.18, 2.19 on Python 3.11 and 2.20 on
# Python 3.12; override with ZTP_CORE_MATRIX="2.19:3.11 2.20:3.12"):
#   - a venv per release under <cache>/ci-core-matrix/ (reused while requirements.txt and the release line are
#     unchanged) with that ansible-core and the collection's requirements.txt, from PyPI;
#   - the tarball of this checkout and a kubernetes.core tarball (made from the kubernetes.core in PyPI's ansible
#     package, hack/k8s_core_tarball.py) installed with `ansible-galaxy collection install --offline` into a
#     fresh collections path; both collections' requires_ansible must admit the release;
#   - ansible-doc of every plugin (modules, including the action-backed ones, filters, and any lookup, inventory,
#     test, ... plugins) and of every role, with every entry point of its meta/argument_specs.yml;
#   - ansible-playbook --syntax-check of the installed playbook ztp.sno_expand.expand_sno;
#   - a --check play of the Git-side modules (ztp_gitops_checkout, ztp_siteconfig_node, ztp_policygen_worker)
#     against a local Git remote: every task reports a change and nothing is written.
# A Python missing from the machine is installed from its package sources (apt) when possible; otherwise, as for
# any package that cannot be had, the stage fails with the reason. Prints what it does and the wall time.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
HERE=$CACHE/ci-core-matrix
read -r -a MATRIX <<< "${ZTP_CORE_MATRIX:-2.16:3.11 2.17:3.11 2.18:3.11 2.19:3.11 2.20:3.12}"
JOBS=${ZTP_CI_JOBS:-2}            # venv builds and test runs at once (the CI machine has 2 cores)
T0=$SECONDS

log() { printf '[core-matrix %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf '[core-matrix] FAILED: %s\n' "$*" >&2; exit 1; }

unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_HOME
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ci-core-matrix.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$HERE"

# --- interpreters ------------------------------------------------------------------------------------------
# shellcheck source=hack/apt.sh
. "$REPO/hack/apt.sh"

find_python() {  # find_python 3.X: path of a working python3.X (pyenv shims that exit 127 do not count)
  local v=$1 root="" cand path
  root=$(pyenv root 2>/dev/null) || root=""
  for cand in "python$v" "/usr/bin/python$v" "/usr/local/bin/python$v" ${root:+"$root"/versions/"$v".*/bin/python"$v"}; do
    path=$(command -v "$cand" 2>/dev/null) || continue
    if "$path" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$v' else 1)" 2>/dev/null; then
      echo "$path"; return 0
    fi
  done
  return 1
}

if ! command -v git >/dev/null 2>&1; then
  log "git not found; installing it from the machine's package sources"
  why=$(apt_install git) || die "git is needed (the Git-side modules and their test remote) and cannot be had: $why"
fi

declare -A PYTHON=()
for entry in "${MATRIX[@]}"; do
  pyv=${entry#*:}
  [ -n "${PYTHON[$pyv]:-}" ] && continue
  if ! py=$(find_python "$pyv"); then
    log "python$pyv not found; installing it from the machine's package sources"
    why=$(apt_install "python$pyv" "python$pyv-venv") || die "Python $pyv is needed for ${entry%%:*} and cannot be had: $why"
    py=$(find_python "$pyv") || die "python$pyv was installed but does not run"
  fi
  if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    why=$(apt_install "python$pyv-venv") || die "$py cannot create venvs (no ensurepip) and python$pyv-venv cannot be had: $why"
  fi
  PYTHON[$pyv]=$py
  log "Python $pyv: $py ($("$py" -c 'import platform; print(platform.python_version())'))"
done

# --- one venv per ansible-core release (built $JOBS at a time) ---------------------------------------------
req_hash=$(sha256sum < "$REPO/requirements.txt" | cut -c1-16)
venv_of() { echo "$HERE/venv-core$1-py$2"; }
make_venv() {  # make_venv CORE PYVER: create or reuse; prints one line
  local core=$1 pyv=$2 venv want
  venv=$(venv_of "$core" "$pyv")
  want="$("${PYTHON[$pyv]}" -c 'import platform; print(platform.python_version())') ansible-core==$core.* $req_hash"
  if [ -x "$venv/bin/ansible" ] && [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$want" ]; then
    echo "reused $venv"; return 0
  fi
  local t=$SECONDS
  rm -rf "$venv"
  "${PYTHON[$pyv]}" -m venv "$venv" || return 1
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip || return 1
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$REPO/requirements.txt" "ansible-core==$core.*" || return 1
  echo "$want" > "$venv/.stamp"
  echo "created $venv in $((SECONDS - t)) s"
}
log "venvs (${#MATRIX[@]}, $JOBS at a time): ansible-core per release + requirements.txt from PyPI"
for entry in "${MATRIX[@]}"; do
  core=${entry%%:*} pyv=${entry#*:}
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  ( set +e; make_venv "$core" "$pyv" > "$WORK/venv-$core.log" 2>&1; echo $? > "$WORK/venv-$core.rc" ) &
done
wait
for entry in "${MATRIX[@]}"; do
  core=${entry%%:*} pyv=${entry#*:}
  if [ "$(cat "$WORK/venv-$core.rc")" != 0 ]; then
    sed 's/^/  | /' "$WORK/venv-$core.log"
    die "cannot install ansible-core $core.* and requirements.txt on Python $pyv from the package index (see above)"
  fi
  log "  $core/py$pyv: $(tail -n 1 "$WORK/venv-$core.log"); ansible-core $("$(venv_of "$core" "$pyv")/bin/python" -c 'from ansible.release import __version__; print(__version__)')"
done

# --- the tarballs ------------------------------------------------------------------------------------------
# Built once, with the newest release of the matrix on Python 3.11 or later, as a release would be.
last=${MATRIX[${#MATRIX[@]}-1]}
BUILD_VENV=$(venv_of "${last%%:*}" "${last#*:}")
mkdir -p "$WORK/dist" "$WORK/home"
(cd "$WORK" && ANSIBLE_HOME="$WORK/home" "$BUILD_VENV/bin/ansible-galaxy" collection build --output-path "$WORK/dist" "$REPO") \
  > /dev/null || die "ansible-galaxy collection build failed"
TARBALL=$(ls "$WORK"/dist/ztp-*.tar.gz)
ANSIBLE_PIN=$(grep -E '^ansible==' "$REPO/requirements-dev.txt" | head -n 1) || true
[ -n "$ANSIBLE_PIN" ] || die "requirements-dev.txt has no 'ansible==<version>' pin (it selects the kubernetes.core)"
K8S_TARBALL=$("$BUILD_VENV/bin/python" "$REPO/hack/k8s_core_tarball.py" --ansible "${ANSIBLE_PIN#ansible==}" \
  --dest "$WORK/dist" --wheel-dir "$CACHE/wheels" | tail -n 1) || die "cannot make the kubernetes.core tarball (see above)"
log "tarballs: $(basename "$TARBALL"), $(basename "$K8S_TARBALL") (kubernetes.core of PyPI's $ANSIBLE_PIN)"

# --- the Git-side check-mode play and its inputs -------------------------------------------------------------
cat > "$WORK/seed.sh" <<'SEEDEOF'
#!/usr/bin/env bash
# seed.sh DIR: DIR/remote.git (bare, branch main) with a SiteConfig and a PolicyGenTemplate folder, DIR/wc a clone
# of it that is one commit behind.
set -euo pipefail
W=$1
g() { git -c user.name=ci -c user.email=ci@localhost -c init.defaultBranch=main "$@"; }
g init -q --bare "$W/remote.git"
mkdir -p "$W/seed/siteconfig" "$W/seed/policygentemplates"
cat > "$W/seed/siteconfig/sno-x.yaml" <<'EOF'
# A small SiteConfig: one SNO cluster with its master.
apiVersion: ran.openshift.io/v2
kind: SiteConfig
metadata:
  name: "sno-x"
  namespace: "sno-x"
spec:
  baseDomain: "example.com"
  pullSecretRef:
    name: "assisted-deployment-pull-secret"
  clusterImageSetNameRef: "openshift-4.18"
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq9nVq0B7cOQUl2Yk0lT8wq1T2rP4Zp7c3m1f5Lx0ZT ci@example.com"
  clusters:
    - clusterName: "sno-x"
      networkType: "OVNKubernetes"
      clusterLabels:
        sites: "sno-x"
      cpuPartitioningMode: AllNodes
      nodes:
        - hostName: "sno-x-master-0.example.com"
          role: "master"
          bmcAddress: "redfish-virtualmedia+https://[2001:db8::100]/redfish/v1/Systems/1"
          bmcCredentialsName:
            name: "sno-x-bmc-secret"
          bootMACAddress: "0c:42:a1:8a:00:10"
          bootMode: "UEFI"
EOF
cat > "$W/seed/siteconfig/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
generators:
  - sno-x.yaml
EOF
cat > "$W/seed/policygentemplates/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
generators:
  # Per-site settings (label sites: <cluster>)
  - sno-x-site.yaml
EOF
cat > "$W/seed/policygentemplates/sno-x-site.yaml" <<'EOF'
apiVersion: ran.openshift.io/v1
kind: PolicyGenTemplate
metadata:
  name: "sno-x-site"
  namespace: "ztp-site"
spec:
  bindingRules:
    sites: "sno-x"
  mcp: "master"
  sourceFiles: []
EOF
(cd "$W/seed" && g init -q && g add -A && g commit -qm seed && g push -q "$W/remote.git" main)
g clone -q --branch main "$W/remote.git" "$W/wc"
(cd "$W/seed" && echo "# site notes" > README.md && g add README.md && g commit -qm notes && g push -q "$W/remote.git" main)
SEEDEOF

cat > "$WORK/check_mode.yml" <<'EOF'
---
- name: Git-side modules of ztp.sno_expand in check mode
  hosts: localhost
  gather_facts: false
  vars:
    work: "{{ lookup('ansible.builtin.env', 'CHECK_WORK') }}"
  tasks:
    - name: Update a working copy that is one commit behind its remote
      ztp.sno_expand.ztp_gitops_checkout:
        repo: "{{ work }}/remote.git"
        dest: "{{ work }}/wc"
      register: behind

    - name: Clone into a folder that does not exist yet
      ztp.sno_expand.ztp_gitops_checkout:
        repo: "{{ work }}/remote.git"
        dest: "{{ work }}/fresh"
      register: fresh

    - name: Add a worker to the SiteConfig
      ztp.sno_expand.ztp_siteconfig_node:
        path: "{{ work }}/wc/siteconfig/sno-x.yaml"
        cluster: sno-x
        node:
          hostName: sno-x-worker-0.example.com
          role: worker
          bmcAddress: redfish-virtualmedia+https://[2001:db8::101]/redfish/v1/Systems/1
          bmcCredentialsName:
            name: sno-x-worker-0-bmc-secret
          bootMACAddress: "0c:42:a1:8a:00:20"
          bootMode: UEFI
      register: node

    - name: Write the worker policies
      ztp.sno_expand.ztp_policygen_worker:
        path: "{{ work }}/wc/policygentemplates/sno-x-workers.yaml"
        name: sno-x-workers
        namespace: ztp-site
        binding_rules:
          sites: sno-x
        reserved_cpus: "0-3"
        isolated_cpus: "4-15"
        cpu_count: 16
        hugepages:
          default_size: 1G
          pages:
            - size: 1G
              count: 4
      register: policies

    - name: The results say what would change
      ansible.builtin.assert:
        that:
          - ansible_check_mode
          - behind is changed
          - not behind.cloned
          - behind.before != behind.after
          - fresh is changed
          - fresh.cloned
          - node is changed
          - node.format == 'siteconfig-v2'
          - node.node.hostName == 'sno-x-worker-0.example.com'
          - policies is changed
          - policies.kustomization_changed
          - policies.policies == ['sno-x-workers-config-policy']
        quiet: true
EOF
printf 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n' > "$WORK/inventory"

# --- the tests of one release --------------------------------------------------------------------------------
test_release() {  # test_release CORE PYVER: everything after the venv; output to stdout
  local core=$1 pyv=$2 venv dir cols col
  venv=$(venv_of "$core" "$pyv")
  dir=$WORK/run-$core
  cols=$dir/collections
  col=$cols/ansible_collections/ztp/sno_expand
  mkdir -p "$dir/home"
  : > "$dir/ansible.cfg"
  export PATH="$venv/bin:$PATH" ANSIBLE_HOME="$dir/home" ANSIBLE_CONFIG="$dir/ansible.cfg" \
    ANSIBLE_COLLECTIONS_PATH="$cols" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_NOCOLOR=1 \
    ANSIBLE_DEPRECATION_WARNINGS=true GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
  cd "$dir"
  local step=""
  fail() { echo "FAILED at: $step"; return 1; }

  step="ansible-galaxy collection install --offline"
  echo "== $step (both tarballs, into a fresh $cols)"
  ansible-galaxy collection install --offline -p "$cols" "$K8S_TARBALL" "$TARBALL" > install.log 2>&1 \
    || { cat install.log; fail; return 1; }
  grep -E 'installed successfully' install.log | sed 's/^/   /'
  python - "$cols" <<'PYEOF' || { fail; return 1; }
import glob, os, sys
import yaml
from ansible.release import __version__ as core
from packaging.specifiers import SpecifierSet
from packaging.version import Version
bad = 0
for runtime in sorted(glob.glob(os.path.join(sys.argv[1], "ansible_collections", "*", "*", "meta", "runtime.yml"))):
    fqcn = ".".join(runtime.split(os.sep)[-4:-2])
    spec = (yaml.safe_load(open(runtime)) or {}).get("requires_ansible", "")
    ok = Version(core) in SpecifierSet(spec) if spec else True
    print("   %s requires_ansible %r: %s for ansible-core %s" % (fqcn, spec, "met" if ok else "NOT MET", core))
    bad += not ok
sys.exit(1 if bad else 0)
PYEOF

  step="ansible-doc of every plugin"
  echo "== $step"
  local kind names n fqcns=()
  for kind in module filter test lookup inventory callback connection become cache vars strategy; do
    names=$(python - "$col" "$kind" <<'PYEOF'
import glob, json, os, subprocess, sys
col, kind = sys.argv[1], sys.argv[2]
folder = {"module": "modules"}.get(kind, kind)
path = os.path.join(col, "plugins", folder)
if not os.path.isdir(path):
    sys.exit(0)
names = set()
for f in os.listdir(path):
    base, ext = os.path.splitext(f)
    if base == "__init__" or f.startswith("."):
        continue
    if kind in ("filter", "test"):
        if ext in (".yml", ".yaml"):
            names.add(base)          # documented filters and tests have a documentation file
    elif ext == ".py":
        names.add(base)
if kind == "module":             # every action plugin must be the controller side of a documented module
    action = os.path.join(col, "plugins", "action")
    for f in (os.listdir(action) if os.path.isdir(action) else []):
        base, ext = os.path.splitext(f)
        if ext == ".py" and base != "__init__" and base not in names:
            print("action plugin %s has no module documentation (plugins/modules/%s.py)" % (base, base), file=sys.stderr)
            sys.exit(1)
listed = subprocess.run(["ansible-doc", "-t", kind, "-l", "--json", "ztp.sno_expand"], capture_output=True, text=True)
if listed.returncode == 0 and listed.stdout.strip():
    names.update(n.split(".")[-1] for n in json.loads(listed.stdout))
print(" ".join("ztp.sno_expand." + n for n in sorted(names)))
PYEOF
    ) || { fail; return 1; }
    [ -n "$names" ] || continue
    read -r -a fqcns <<< "$names"
    ansible-doc -t "$kind" --json "${fqcns[@]}" > "doc-$kind.json" 2> "doc-$kind.err" || { cat "doc-$kind.err"; fail; return 1; }
    n=$(python - "doc-$kind.json" "${fqcns[@]}" <<'PYEOF'
import json, sys
docs = json.load(open(sys.argv[1]))
missing = [n for n in sys.argv[2:] if not (docs.get(n) or {}).get("doc")]
if missing:
    print("no documentation for: " + ", ".join(missing), file=sys.stderr)
    sys.exit(1)
print(len(sys.argv) - 2)
PYEOF
    ) || { cat "doc-$kind.err"; fail; return 1; }
    if grep -q 'WARNING' "doc-$kind.err"; then sed 's/^/   /' "doc-$kind.err"; fi
    echo "   $n ${kind} plugin(s) documented"
  done

  step="ansible-doc -t role of every role"
  echo "== $step"
  local roles=() r
  for r in "$col"/roles/*/; do roles+=("ztp.sno_expand.$(basename "$r")"); done
  ansible-doc -t role --json "${roles[@]}" > doc-role.json 2> doc-role.err || { cat doc-role.err; fail; return 1; }
  python - doc-role.json "$col" <<'PYEOF' || { cat doc-role.err; fail; return 1; }
import json, os, sys
import yaml
docs, col = json.load(open(sys.argv[1])), sys.argv[2]
bad = 0
for role in sorted(os.listdir(os.path.join(col, "roles"))):
    spec = yaml.safe_load(open(os.path.join(col, "roles", role, "meta", "argument_specs.yml")))["argument_specs"]
    got = (docs.get("ztp.sno_expand." + role) or {}).get("entry_points", {})
    missing = sorted(set(spec) - set(got))
    print("   %s: entry points %s%s" % (role, ", ".join(sorted(got)), ("; MISSING " + ", ".join(missing)) if missing else ""))
    bad += bool(missing) or not got
sys.exit(1 if bad else 0)
PYEOF

  step="ansible-playbook --syntax-check ztp.sno_expand.expand_sno"
  echo "== $step"
  ansible-playbook -i "$WORK/inventory" --syntax-check ztp.sno_expand.expand_sno > syntax.log 2>&1 \
    || { cat syntax.log; fail; return 1; }
  if grep -qE 'WARNING|ERROR' syntax.log; then sed 's/^/   /' syntax.log; fi
  echo "   $(tail -n 1 syntax.log)"

  step="check-mode play of the Git-side modules"
  echo "== $step"
  mkdir -p "$dir/git"
  bash "$WORK/seed.sh" "$dir/git" > seed.log 2>&1 || { cat seed.log; fail; return 1; }
  snapshot() {
    (cd "$dir/git" && find wc -path wc/.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
     git -C wc rev-parse HEAD; git -C wc status --porcelain --untracked-files=all; git -C remote.git rev-parse main
     ls -a)
  }
  snapshot > before.txt
  CHECK_WORK="$dir/git" ansible-playbook -i "$WORK/inventory" --check "$WORK/check_mode.yml" > play.log 2>&1 \
    || { cat play.log; fail; return 1; }
  snapshot > after.txt
  grep -E '^(changed|ok|fatal|failed):|^localhost' play.log | sed 's/^/   /'
  diff before.txt after.txt > /dev/null || { diff before.txt after.txt; echo "check mode wrote to the Git folders"; fail; return 1; }
  [ ! -e "$dir/git/fresh" ] || { echo "check mode created $dir/git/fresh"; fail; return 1; }
  echo "   every task changed in check mode; working copy, remote and clone target untouched"
}

log "testing ${#MATRIX[@]} releases, $JOBS at a time"
for entry in "${MATRIX[@]}"; do
  core=${entry%%:*} pyv=${entry#*:}
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  ( set +e; t=$SECONDS; (test_release "$core" "$pyv") > "$WORK/test-$core.log" 2>&1; rc=$?
    echo "$rc $((SECONDS - t))" > "$WORK/test-$core.rc" ) &
done
wait
failed=()
for entry in "${MATRIX[@]}"; do
  core=${entry%%:*} pyv=${entry#*:}
  read -r rc secs < "$WORK/test-$core.rc"
  echo "::: ansible-core $core on Python $pyv ($secs s)"
  sed 's/^/  /' "$WORK/test-$core.log"
  [ "$rc" = 0 ] || failed+=("$core/py$pyv")
done
if [ ${#failed[@]} -gt 0 ]; then
  die "ansible-core ${failed[*]} (see above); wall time $((SECONDS - T0)) s"
fi
log "passed: ${MATRIX[*]} (core:python); wall time $((SECONDS - T0)) s"
