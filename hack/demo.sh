#!/usr/bin/env bash
# The demo: build and start the local test hub (real kube-apiserver + etcd, hub simulator, Git remote), then run
# playbooks/expand_sno.yml against the demo fleet (inventory/demo: the sno_fleet inventory plugin on the hub's GitOps
# repository, plus one workers file) and show what changed on the hub and in Git.
# A real hub is used instead when K8S_AUTH_KUBECONFIG and ZTP_GITOPS_REPO are already set (and ZTP_DEMO_REAL_HUB=1).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BIN=$(bash hack/setup.sh | tail -n 1)
export PATH="$BIN:$PATH"

# Each run's whole output is kept in the log folder (default .hub/demo/), for a look afterwards or a check in CI.
LOGS=${ZTP_DEMO_LOG_DIR:-$REPO/.hub/demo}

if [ "${ZTP_DEMO_REAL_HUB:-0}" != 1 ]; then
  bash testhub/build.sh >/dev/null
  up=(--speed "${ZTP_DEMO_SPEED:-120}")
  # ZTP_HUB_PORT_BASE: another first port for the hub (default 16440, or the one this checkout's hub has used).
  if [ -n "${ZTP_HUB_PORT_BASE:-}" ]; then up+=(--port-base "$ZTP_HUB_PORT_BASE"); fi
  python -m testhub.hubctl up "${up[@]}"
  # The env file names the hub's kubeconfig, its Git remote and the GitOps working copy kept with the hub.
  # shellcheck disable=SC1091
  source .hub/env
fi
mkdir -p "$LOGS"
rm -f "$LOGS/run-1.log" "$LOGS/run-2.log" "$LOGS/rotate.log" "$LOGS/remove.log"
# Output goes through tee: keep Ansible's colours when the demo runs in a terminal.
if [ -t 1 ]; then export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-1}; fi

# The simulated BMCs accept any credentials; a real run takes them from Ansible Vault or an AWX credential.
ZTP_DEMO_BMC_PASSWORD=$(openssl rand -hex 12)
export ZTP_DEMO_BMC_PASSWORD

echo
echo "=== The demo fleet, read from the GitOps repository by the sno_fleet inventory plugin (inventory/demo)"
ansible-inventory -i inventory/demo/demo.sno_fleet.yml --graph sno_clusters
echo
echo "=== Expanding the demo fleet: sno-a, sno-b (SiteConfig) and sno-c (ClusterInstance)"
REPORT="$LOGS/fleet-report.html"
ansible-playbook -i inventory/demo/demo.sno_fleet.yml playbooks/expand_sno.yml -e "ztp_report_path=$REPORT" "$@" 2>&1 | tee "$LOGS/run-1.log"

echo
echo "=== Second run: everything is in place, nothing changes (whole output: ${LOGS#"$REPO"/}/run-2.log)"
if ! ansible-playbook -i inventory/demo/demo.sno_fleet.yml playbooks/expand_sno.yml -e "ztp_report_path=$REPORT" "$@" >"$LOGS/run-2.log" 2>&1; then
  tail -n 40 "$LOGS/run-2.log"
  echo "the second run failed; its whole output is in $LOGS/run-2.log" >&2
  exit 1
fi
tail -n 6 "$LOGS/run-2.log"

# The rest of a worker's life: new BMC passwords for one cluster, then one worker taken out again.
echo
echo "=== Rotating the BMC credentials of sno-a: the Secrets on the hub, checked on the BareMetalHosts"
ZTP_DEMO_BMC_PASSWORD=$(openssl rand -hex 12)
ansible-playbook -i inventory/demo/demo.sno_fleet.yml playbooks/rotate_bmc_credentials.yml --limit sno-a "$@" 2>&1 | tee "$LOGS/rotate.log"

echo
echo "=== Removing the worker of sno-b in the order upstream documents: annotate, delete the BareMetalHost, drop the entry"
ansible-playbook -i inventory/demo/demo.sno_fleet.yml playbooks/remove_workers.yml --limit sno-b \
  -e '{"ztp_remove_workers": ["sno-b-worker-0.ran.example.com"]}' "$@" 2>&1 | tee "$LOGS/remove.log"

cat <<EOF2

The fleet report of the run (one HTML file, opens offline): ${REPORT#"$REPO"/}

What to look at now (the test hub keeps running until 'make hub-down'):
  source .hub/env
  python -m testhub.hubctl status
  kubectl is not needed; the Python client shows the objects, for example:
    python -m testhub.show workers        # BareMetalHosts, Agents and ManagedClusterInfo nodes per cluster
    python -m testhub.show cgus           # ClusterGroupUpgrades and their conditions
  git -C .hub/gitops-work log --stat      # the commits the playbook made (its working copy of \$ZTP_GITOPS_REPO)
EOF2
