#!/usr/bin/env bash
# The demo: build and start the local test hub (real kube-apiserver + etcd, hub simulator, Git remote), then run
# playbooks/expand_sno.yml against the demo fleet in inventory/demo and show what changed on the hub and in Git.
# A real hub is used instead when K8S_AUTH_KUBECONFIG and ZTP_GITOPS_REPO are already set (and ZTP_DEMO_REAL_HUB=1).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BIN=$(bash hack/setup.sh | tail -n 1)
export PATH="$BIN:$PATH"

if [ "${ZTP_DEMO_REAL_HUB:-0}" != 1 ]; then
  bash testhub/build.sh >/dev/null
  python -m testhub.hubctl up --speed "${ZTP_DEMO_SPEED:-120}"
  # shellcheck disable=SC1091
  source .hub/env
fi

# The simulated BMCs accept any credentials; a real run takes them from Ansible Vault or an AWX credential.
ZTP_DEMO_BMC_PASSWORD=$(openssl rand -hex 12)
export ZTP_DEMO_BMC_PASSWORD

echo
echo "=== Expanding the demo fleet (inventory/demo): sno-a, sno-b (SiteConfig) and sno-c (ClusterInstance)"
ansible-playbook -i inventory/demo/hosts.yml playbooks/expand_sno.yml "$@"

echo
echo "=== Second run: everything is in place, nothing changes"
ansible-playbook -i inventory/demo/hosts.yml playbooks/expand_sno.yml "$@" | tail -n 6

cat <<EOF2

What to look at now (the test hub keeps running until 'make hub-down'):
  source .hub/env
  python -m testhub.hubctl status
  kubectl is not needed; the Python client shows the objects, for example:
    python -m testhub.show workers        # BareMetalHosts, Agents and ManagedClusterInfo nodes per cluster
    python -m testhub.show cgus           # ClusterGroupUpgrades and their conditions
  git -C \$(mktemp -d) clone -q \$ZTP_GITOPS_REPO repo && git -C repo log --stat   # the commits the playbook made
EOF2
