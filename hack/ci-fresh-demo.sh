#!/usr/bin/env bash
# CI stage: `make demo` works for a new user. The commit under test (HEAD of this repository) is cloned into a fresh
# temporary folder with no ../shared beside it, with an empty cache folder (ZTP_CACHE: Python environment and test
# hub binaries; HOME is kept so that pip's and Go's download and build caches stay warm), and `make demo` runs there.
# The stage fails when either run's play recap shows a failed or unreachable host, or when the second run changed
# anything. Then that hub is stopped and the same is done from a second fresh clone (same cache folder): a second
# checkout must work after the first. Hubs are stopped on any exit; the folder is removed when the stage passes
# (kept for a look when it fails, or always with ZTP_CI_KEEP=1).
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMIT=$(git -C "$SRC" rev-parse HEAD)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ztp-fresh-demo.XXXXXX")
export ZTP_CACHE="$WORK/cache"
mkdir -p "$ZTP_CACHE"
# Nothing of the caller's setup may leak in: no other hub, Git remote, working copy, environment or reference folder.
unset ZTP_SHARED_DIR ZTP_VENV ZTP_TESTHUB_BIN ZTP_HUB_RUN_DIR ZTP_GITOPS_REPO ZTP_GITOPS_WORKDIR ZTP_DEMO_REAL_HUB \
  ZTP_DEMO_LOG_DIR K8S_AUTH_KUBECONFIG K8S_AUTH_CONTEXT ZTP_SPOKE_KUBECONFIG ZTP_SIMULATOR_KUBECONFIG \
  ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG VIRTUAL_ENV PYTHONPATH

# One port base for both hubs (so that both serve the same Git URL, as two checkouts' demos do): the demo's
# default 16440 unless another hub on this machine holds it, then the next free range.
if [ -z "${ZTP_HUB_PORT_BASE:-}" ]; then
  ZTP_HUB_PORT_BASE=$(python3 - <<'PYEOF'
import socket
def free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
print(next(base for base in range(16440, 17440, 10) if all(free(base + i) for i in range(6))))
PYEOF
)
fi
export ZTP_HUB_PORT_BASE

CLONES=()
T0=$SECONDS
TIMINGS=()
timing() { TIMINGS+=("$(printf '%-40s %5d s' "$1" "$2")"); }

stop_hubs() {
  local clone
  for clone in "${CLONES[@]}"; do
    if [ -f "$clone/.hub/state.json" ]; then
      make -s -C "$clone" hub-down >/dev/null 2>&1 || echo "could not stop the test hub of $clone" >&2
    fi
  done
}

on_exit() {
  local rc=$?
  stop_hubs
  if [ ${#TIMINGS[@]} -gt 0 ]; then
    echo "--- timings"
    printf '%s\n' "${TIMINGS[@]}"
    printf '%-40s %5d s\n' "total" $((SECONDS - T0))
  fi
  if [ "$rc" -eq 0 ] && [ "${ZTP_CI_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK"
  else
    echo "kept for a look: $WORK (remove it when done)"
  fi
  if [ "$rc" -eq 0 ]; then echo "fresh-clone demo: PASSED"; else echo "fresh-clone demo: FAILED" >&2; fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAILED: $*" >&2; exit 1; }

# check_recap LOG RUN_NAME MAX_CHANGED: the play recap of LOG lists sno-a, sno-b and sno-c, none failed or unreachable,
# and (MAX_CHANGED=0) none changed anything.
check_recap() {
  local log=$1 name=$2 max_changed=$3 recap
  [ -f "$log" ] || fail "$name: no output at $log"
  recap=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/^PLAY RECAP/ {found=1; next} found && /^[^ ]+ +: ok=/ {print}')
  [ -n "$recap" ] || fail "$name: no play recap in $log"
  echo "$name recap:"
  echo "  ${recap//$'\n'/$'\n'  }"
  local host
  for host in sno-a sno-b sno-c; do
    grep -q "^$host " <<<"$recap" || fail "$name: host $host missing from the play recap"
  done
  local bad
  bad=$(awk -v max="$max_changed" '{
      for (i = 3; i <= NF; i++) { split($i, kv, "="); n[kv[1]] = kv[2] + 0 }
      if (n["failed"] > 0 || n["unreachable"] > 0 || (max >= 0 && n["changed"] > max)) print $1
    }' <<<"$recap")
  local what="failed or unreachable hosts"
  if [ "$max_changed" -ge 0 ]; then what="failed, unreachable or changed hosts (changed > $max_changed)"; fi
  [ -z "$bad" ] || fail "$name: the play recap shows $what: $(echo "$bad" | tr '\n' ' ')"
}

# check_one LOG RUN_NAME HOST: the play recap of LOG shows HOST, not failed or unreachable.
check_one() {
  local log=$1 name=$2 host=$3 line
  [ -f "$log" ] || fail "$name: no output at $log"
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk -v h="$host" '/^PLAY RECAP/ {found=1; next} found && $1 == h {print}')
  [ -n "$line" ] || fail "$name: $host missing from the play recap of $log"
  echo "$name recap: $line"
  grep -Eq 'failed=0 +unreachable=0|unreachable=0 +failed=0' <<<"$line" || fail "$name: $host failed: $line"
}

# demo_in LABEL: clone the commit under test into $WORK/LABEL/ztp-sno-expand, run `make demo` there, check it.
demo_in() {
  local label=$1 parent="$WORK/$1" clone="$WORK/$1/ztp-sno-expand" t
  mkdir -p "$parent"
  t=$SECONDS
  git clone -q --no-local --no-checkout "$SRC" "$clone"
  git -C "$clone" checkout -q --detach "$COMMIT"
  CLONES+=("$clone")
  timing "clone $label" $((SECONDS - t))
  [ ! -e "$parent/shared" ] || fail "$parent/shared exists"
  [ -z "$(ls -A "$clone/.hub" 2>/dev/null)" ] || fail "$clone/.hub is not empty in a fresh clone"

  echo "=== make demo in a fresh clone of $COMMIT ($clone)"
  t=$SECONDS
  local rc=0
  (cd "$clone" && make demo) 2>&1 | tee "$parent/make-demo.log" || rc=$?
  timing "make demo ($label)" $((SECONDS - t))
  [ "$rc" -eq 0 ] || fail "make demo in $clone exited with status $rc (output: $parent/make-demo.log)"

  check_recap "$clone/.hub/demo/run-1.log" "$label, first run" -1
  check_recap "$clone/.hub/demo/run-2.log" "$label, second run" 0
  check_one "$clone/.hub/demo/rotate.log" "$label, BMC rotation" sno-a
  grep -q "sno-a: done, BMC credentials of" "$clone/.hub/demo/rotate.log" \
    || fail "$label: the summary of the BMC rotation does not say that sno-a's credentials were rotated"
  check_one "$clone/.hub/demo/remove.log" "$label, worker removal" sno-b
  grep -q "sno-b-worker-0" "$clone/.hub/gitops-work/siteconfig/sno-b.yaml" && fail "$label: the removed worker is still in siteconfig/sno-b.yaml"
  grep -q "sno-b: done, 1 worker(s) removed, single-node" "$clone/.hub/demo/remove.log" \
    || fail "$label: the summary of the removal does not say that sno-b's worker was removed and its policies still pass"
  # The product must not need the reference folder: the hub served the builtin CRD set ...
  grep -q '"crds": "builtin"' "$clone/.hub/state.json" || fail "$label: the test hub did not use the builtin CRD set"
  # ... and the playbook's GitOps working copy is the hub's own, not one in a cache shared with other hubs.
  local remote_head work_head
  remote_head=$(git ls-remote "$(sed -n 's/^export ZTP_GITOPS_REPO=//p' "$clone/.hub/env" | tr -d "'")" refs/heads/main | cut -f1)
  work_head=$(git -C "$clone/.hub/gitops-work" rev-parse HEAD 2>/dev/null) || fail "$label: no working copy in $clone/.hub/gitops-work"
  [ "$remote_head" = "$work_head" ] || fail "$label: the working copy $clone/.hub/gitops-work is not at the remote's head"

  t=$SECONDS
  make -s -C "$clone" hub-down
  timing "hub-down ($label)" $((SECONDS - t))
}

echo "fresh-clone demo of $COMMIT in $WORK (cache $ZTP_CACHE, hub port base $ZTP_HUB_PORT_BASE)"
demo_in a
demo_in b
