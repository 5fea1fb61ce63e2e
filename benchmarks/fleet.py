"""Fleet data of the benchmarks: a GitOps repository with N single-node clusters and an inventory of N hosts.

The inventory is what a fleet uses: the ztp.sno_expand.sno_fleet plugin on the repository (``ZTP_GITOPS_REPO``), one
workers file with the new worker of each cluster, and the fleet-wide ``group_vars``.

The repository follows ``testhub/gitops-seed/``: the seed's common and group policy templates, source CRs and
PolicyGenerator folder, and for each generated cluster a SiteConfig (``ran.openshift.io/v2``, IPv4, one master, with
comments and quoting in the style of the seed), a site PolicyGenTemplate, and entries in both kustomizations.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(REPO_ROOT, "testhub", "gitops-seed")
AUTHOR = ["-c", "user.name=Fleet Bench", "-c", "user.email=fleet-bench@example.com"]


def cluster_name(index: int) -> str:
    return "fleet-%04d" % index


def _net(index: int) -> tuple[str, str]:
    """(second and third octet of the cluster's /24, two-byte MAC suffix) for cluster ``index``."""
    return "%d.%d" % (index // 250, index % 250), "%02x:%02x" % (index // 256, index % 256)


SITECONFIG = """\
# Site {name}: single-node DU, IPv4 (generated fleet for benchmarks).
---
apiVersion: ran.openshift.io/v2
kind: SiteConfig
metadata:
  name: "{name}"
  namespace: "{name}"
spec:
  baseDomain: "ran.example.com"
  pullSecretRef:
    name: "assisted-deployment-pull-secret"
  clusterImageSetNameRef: "openshift-4.18"
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq9nVq0B7cOQUl2Yk0lT8wq1T2rP4Zp7c3m1f5Lx0ZT ran-ops@example.com"
  clusters:
    - clusterName: "{name}"
      networkType: "OVNKubernetes"
      installConfigOverrides: |
        {{
          "capabilities": {{
            "baselineCapabilitySet": "None",
            "additionalEnabledCapabilities": ["NodeTuning", "OperatorLifecycleManager", "Ingress"]
          }}
        }}
      clusterLabels:
        common: "true"
        group-du-sno: ""
        du-profile: "latest"
        sites: "{name}"
      clusterNetwork:
        - cidr: "10.128.0.0/14"
          hostPrefix: 23
      machineNetwork:
        - cidr: "10.{net}.0/24"
      serviceNetwork:
        - "172.30.0.0/16"
      additionalNTPSources:
        - "10.{net}.1"
      cpuPartitioningMode: AllNodes
      nodes:
        # The SNO itself; workers are added after it.
        - hostName: "{name}-master-0.ran.example.com"
          role: "master"
          bmcAddress: "idrac-virtualmedia+https://10.{net}.200/redfish/v1/Systems/System.Embedded.1"
          bmcCredentialsName:
            name: "{name}-bmc-secret"
          bootMACAddress: "b4:96:91:{mac}:10"
          bootMode: "UEFI"
          rootDeviceHints:
            deviceName: "/dev/disk/by-path/pci-0000:18:00.0-scsi-0:2:0:0"
          nodeNetwork:
{master_network}"""

SITE_PGT = """\
# Site-specific settings of {name} (fronthaul on ens5f1).
---
apiVersion: ran.openshift.io/v1
kind: PolicyGenTemplate
metadata:
  name: "{name}"
  namespace: "ztp-site"
spec:
  bindingRules:
    sites: "{name}"
  mcp: "master"
  sourceFiles:
    - fileName: SriovNetwork.yaml
      policyName: "config-policy"
      metadata:
        name: "sriov-nw-du-fh"
      spec:
        resourceName: du_fh
        vlan: 150
"""


def node_network(net: str, mac_address: str, ip: str) -> dict:
    """nodeNetwork of a node on the cluster's /24 (static IPv4 on eno1, gateway and DNS at .1)."""
    gateway = "10.%s.1" % net
    return {
        "interfaces": [{"name": "eno1", "macAddress": mac_address}],
        "config": {
            "interfaces": [{"name": "eno1", "type": "ethernet", "state": "up",
                            "ipv4": {"enabled": True, "dhcp": False, "address": [{"ip": ip, "prefix-length": 24}]},
                            "ipv6": {"enabled": False}}],
            "dns-resolver": {"config": {"server": [gateway]}},
            "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-interface": "eno1",
                                   "next-hop-address": gateway, "table-id": 254}]},
        },
    }


def _indented(data, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in yaml.safe_dump(data, sort_keys=False).splitlines())


def host_vars(name: str) -> dict:
    """Inventory variables of one fleet cluster: its files, a worker policy profile and one worker."""
    net, mac = _net(int(name.split("-")[1]))
    return {
        "ztp_cluster_file": "siteconfig/%s.yaml" % name,
        "ztp_site_policies": ["%s-config-policy" % name],
        "ztp_worker_policy": {
            "path": "policygentemplates/%s-workers.yaml" % name, "format": "policygentemplate",
            "name": "%s-workers" % name, "namespace": "ztp-site", "binding_rules": {"sites": name},
            "reserved_cpus": "0-3", "isolated_cpus": "4-47", "cpu_count": 48,
            "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 32}]}, "realtime_kernel": True,
        },
        "ztp_workers": [{
            "hostName": "%s-worker-0.ran.example.com" % name, "role": "worker",
            "bmcAddress": "redfish-virtualmedia+https://10.%s.201/redfish/v1/Systems/1" % net,
            "bmcCredentialsName": {"name": "%s-worker-0-bmc-secret" % name},
            "bootMACAddress": "0c:42:a1:%s:20" % mac, "bootMode": "UEFI",
            "nodeNetwork": node_network(net, "0c:42:a1:%s:20" % mac, "10.%s.20" % net),
        }],
    }


GROUP_VARS = """\
---
ansible_connection: local
ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
ztp_hub_kubeconfig: "{{{{ lookup('ansible.builtin.env', 'K8S_AUTH_KUBECONFIG') }}}}"
ztp_gitops_repo: "{{{{ lookup('ansible.builtin.env', 'ZTP_GITOPS_REPO') }}}}"
ztp_gitops_workdir: "{workdir}"
ztp_gitops_branch: main
ztp_gitops_author_name: Fleet Bench
ztp_gitops_author_email: fleet-bench@example.com
ztp_batch_size: "100%"
ztp_cgu_max_concurrency: 500
ztp_cgu_timeout: 1000000  # minutes of simulated time: the simulator runs thousands of times faster than real time
ztp_install_timeout: 7200
ztp_bmc_username: admin
ztp_bmc_password: bench-only
"""


def write_repo(dest: str, count: int) -> list[str]:
    """Fill the folder ``dest`` (made here) with the fleet repository; return the cluster names."""
    names = [cluster_name(i) for i in range(1, count + 1)]
    shutil.copytree(SEED, dest, ignore=shutil.ignore_patterns("README.md", "sno-a*", "sno-b*"))
    for name in names:
        net, mac = _net(int(name.split("-")[1]))
        with open(os.path.join(dest, "siteconfig", name + ".yaml"), "w", encoding="utf-8") as handle:
            handle.write(SITECONFIG.format(name=name, net=net, mac=mac, master_network=_indented(
                node_network(net, "b4:96:91:%s:10" % mac, "10.%s.10" % net), 12)))
        with open(os.path.join(dest, "policygentemplates", name + "-site.yaml"), "w", encoding="utf-8") as handle:
            handle.write(SITE_PGT.format(name=name))
    with open(os.path.join(dest, "siteconfig", "kustomization.yaml"), "w", encoding="utf-8") as handle:
        handle.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\n"
                     "# One SiteConfig per far-edge site. Keep the list sorted.\ngenerators:\n"
                     + "".join("  - %s.yaml\n" % n for n in names)
                     + "\n# Sites managed through the siteconfig operator (ClusterInstance) live in their own folder.\n"
                     "resources:\n  - ../clusterinstance\n")
    with open(os.path.join(dest, "policygentemplates", "kustomization.yaml"), "w", encoding="utf-8") as handle:
        handle.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\n"
                     "generators:\n"
                     "  # Applies to every RAN cluster (label common: \"true\")\n  - common-ranGen.yaml\n"
                     "  # Single-node DU profile (labels group-du-sno: \"\" and du-profile: latest)\n"
                     "  - group-du-sno-ranGen.yaml\n  # Per-site settings (label sites: <cluster>)\n"
                     + "".join("  - %s-site.yaml\n" % n for n in names)
                     + "\nresources:\n  - ns.yaml\n  # PolicyGenerator based policies of the ClusterInstance sites\n"
                     "  - ../policygenerator\n")
    return names


PLUGIN_CONFIG = """\
---
plugin: ztp.sno_expand.sno_fleet
# repo: ZTP_GITOPS_REPO, the hub's Git remote
workdir: "{workdir}"
workers_file: workers.yml
"""


def workers_entry(name: str) -> dict:
    """The cluster's entry in the workers file: its worker, and the worker profile where it differs from the master's."""
    expected = host_vars(name)
    worker = {key: value for key, value in expected["ztp_workers"][0].items() if key != "bmcCredentialsName"}
    worker["credentials"] = expected["ztp_workers"][0]["bmcCredentialsName"]["name"]
    policy = expected["ztp_worker_policy"]
    return {"worker_policy": {key: policy[key] for key in ("reserved_cpus", "isolated_cpus", "cpu_count")}, "workers": [worker]}


def write_inventory(dest: str, names: list[str], workdir: str) -> str:
    """Inventory folder: plugin configuration, workers file (one worker per cluster of ``names``) and group_vars;
    returns the path of the plugin configuration, the inventory source to give ``-i``."""
    os.makedirs(os.path.join(dest, "group_vars"))
    with open(os.path.join(dest, "group_vars", "all.yml"), "w", encoding="utf-8") as handle:
        handle.write(GROUP_VARS.format(workdir=workdir))
    with open(os.path.join(dest, "workers.yml"), "w", encoding="utf-8") as handle:
        handle.write("---\n" + yaml.safe_dump({"clusters": {name: workers_entry(name) for name in names}}, sort_keys=False))
    config = os.path.join(dest, "fleet.sno_fleet.yml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(PLUGIN_CONFIG.format(workdir=os.path.join(dest, "repo")))
    return config


def git(*args: str, cwd: str) -> str:
    return subprocess.run(["git", *AUTHOR, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def push_fleet(git_url: str, workdir: str, count: int) -> list[str]:
    """Replace the contents of the remote's ``main`` with the fleet repository (one commit on top); return the names."""
    clone = workdir + ".seed"
    git("clone", "-q", git_url, clone, cwd=os.path.dirname(clone))
    for entry in os.listdir(clone):
        if entry != ".git":
            path = os.path.join(clone, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
    tree = clone + ".tree"
    names = write_repo(tree, count)
    for entry in os.listdir(tree):
        shutil.move(os.path.join(tree, entry), os.path.join(clone, entry))
    os.rmdir(tree)
    git("add", "-A", ".", cwd=clone)
    git("commit", "-q", "-m", "Fleet of %d single-node clusters" % count, cwd=clone)
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    shutil.rmtree(clone)
    return names


def simulator_spokes(names: list[str]) -> dict:
    """Simulator ``spokes`` settings: every fleet cluster already runs its PTP/SR-IOV daemons on workers."""
    return {name: {"ptp": "worker", "sriov": "worker"} for name in names}
