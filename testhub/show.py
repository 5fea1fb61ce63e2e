"""Print what the hub holds about worker installs, policies and ClusterGroupUpgrades.

Usage: python -m testhub.show workers|cgus|policies   (reads K8S_AUTH_KUBECONFIG, as the collection does)
"""

from __future__ import annotations

import os
import sys

from kubernetes import config, dynamic


def _client():
    kubeconfig = os.environ.get("K8S_AUTH_KUBECONFIG")
    if not kubeconfig:
        sys.exit("K8S_AUTH_KUBECONFIG is not set: run 'source .hub/env' first")
    return dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))


def _items(client, api_version, kind):
    return client.resources.get(api_version=api_version, kind=kind).get().to_dict().get("items", [])


def show_workers(client):
    agents = {}
    for agent in _items(client, "agent-install.openshift.io/v1beta1", "Agent"):
        bmh = (agent["metadata"].get("labels") or {}).get("agent-install.openshift.io/bmh")
        progress = (agent.get("status") or {}).get("progress") or {}
        agents[(agent["metadata"]["namespace"], bmh)] = "%s %s%%" % (progress.get("currentStage", "-"), progress.get("installationPercentage", 0))
    ready = {}
    for info in _items(client, "internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo"):
        for node in (info.get("status") or {}).get("nodeList") or []:
            conditions = {c.get("type"): c.get("status") for c in node.get("conditions") or []}
            ready[(info["metadata"]["namespace"], node["name"])] = conditions.get("Ready", "-")
    print("%-10s %-22s %-14s %-32s %s" % ("CLUSTER", "HOST", "BMH STATE", "AGENT STAGE", "NODE READY"))
    for bmh in sorted(_items(client, "metal3.io/v1alpha1", "BareMetalHost"), key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])):
        key = (bmh["metadata"]["namespace"], bmh["metadata"]["name"])
        state = ((bmh.get("status") or {}).get("provisioning") or {}).get("state") or "-"
        print("%-10s %-22s %-14s %-32s %s" % (key[0], key[1], state, agents.get(key, "-"), ready.get(key, "-")))


def show_cgus(client):
    for cgu in _items(client, "ran.openshift.io/v1alpha1", "ClusterGroupUpgrade"):
        meta = cgu["metadata"]
        print("%s/%s  clusters=%s  policies=%s" % (meta["namespace"], meta["name"], cgu["spec"].get("clusters"), cgu["spec"].get("managedPolicies")))
        for cond in (cgu.get("status") or {}).get("conditions") or []:
            print("    %-18s %-6s %-28s %s" % (cond.get("type"), cond.get("status"), cond.get("reason"), cond.get("message", "")))


def show_policies(client):
    for policy in _items(client, "policy.open-cluster-management.io/v1", "Policy"):
        meta = policy["metadata"]
        if "." in meta["name"]:
            continue
        per_cluster = ", ".join("%s=%s" % (s.get("clustername"), s.get("compliant")) for s in (policy.get("status") or {}).get("status") or [])
        print("%s/%s  %s" % (meta["namespace"], meta["name"], per_cluster or "(no cluster bound)"))


def main(argv):
    views = {"workers": show_workers, "cgus": show_cgus, "policies": show_policies}
    if len(argv) != 1 or argv[0] not in views:
        sys.exit(__doc__)
    views[argv[0]](_client())


if __name__ == "__main__":
    main(sys.argv[1:])
