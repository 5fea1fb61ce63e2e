"""Compliance from the real ACM governance controllers (``Hub(policy="real")``, testhub/policy_controllers.py), with the
real TALM: root policies replicated by governance-policy-propagator, synced to the spoke by
governance-policy-framework-addon, evaluated and enforced there by config-policy-controller against the spoke's own
API server, which stands for sno-a. sno-c has an API server of its own too (``cluster_spokes``), with its own add-on
and config-policy controller. The simulator only writes PlacementDecisions.

The controllers are built from their source in the shared reference folder (testhub/build-policy-controllers.sh); a
failed build fails these tests. Without that folder this module is skipped (the simulator's policy model is covered
by tests/hub/test_simulator_policies.py).
"""

from __future__ import annotations

import os
import sys
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import controllers, policy_controllers  # noqa: E402  pylint: disable=wrong-import-position
from testhub.hubctl import Hub, free_port_base  # noqa: E402  pylint: disable=wrong-import-position
from testhub.waiting import wait_for  # noqa: E402  pylint: disable=wrong-import-position
from hubapi import CGU, MC, MCSB, NAMESPACE, POLICY, Api, condition, create_bound_policy  # noqa: E402  pylint: disable=wrong-import-position,import-error

ztp_cgu = pytest.importorskip("ansible_collections.ztp.sno_expand.plugins.module_utils._cgu")

if not (policy_controllers.sources_present() and controllers.talm_sources_present()):
    pytest.skip(f"no governance controller or TALM sources under {os.path.dirname(policy_controllers.sources_dir())}: "
                "the test hub runs the simulator's policy model there", allow_module_level=True)

CONFIG_POLICY = ("policy.open-cluster-management.io/v1", "ConfigurationPolicy")
CONFIGMAP = ("v1", "ConfigMap")
PERFORMANCE_PROFILE = ("performance.openshift.io/v2", "PerformanceProfile")
TUNED = ("tuned.openshift.io/v1", "Tuned")
CLUSTER = policy_controllers.SPOKE_CLUSTER
OTHER = "sno-c"  # the seed's ClusterInstance cluster, given a spoke of its own
CGU_NS = "default"


def cluster_status(root, cluster=CLUSTER):
    for item in ((root or {}).get("status") or {}).get("status") or []:
        if item.get("clustername") == cluster:
            return item.get("compliant")
    return None


@pytest.fixture(scope="module")
def real_hub(tmp_path_factory):
    hub = Hub(str(tmp_path_factory.mktemp("hub-policy")), port_base=free_port_base(22040), simulator=True, speed=600,
              talm="real", policy="real", cluster_spokes=[OTHER])
    try:
        hub.start()  # a failed build raises HubError here: the tests fail, they are not skipped
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def hub(real_hub):
    api = Api(real_hub.api("hub"))
    wait_for(lambda: condition(api.get(MC, CLUSTER), "ManagedClusterConditionAvailable").get("status") == "True",
             timeout=240, interval=1, what=f"ManagedCluster {CLUSTER} Available")
    return api


@pytest.fixture(scope="module")
def spoke(real_hub):
    return Api(real_hub.api("spoke"))


@pytest.fixture(scope="module")
def other_spoke(real_hub, hub):
    wait_for(lambda: condition(hub.get(MC, OTHER), "ManagedClusterConditionAvailable").get("status") == "True",
             timeout=240, interval=1, what=f"ManagedCluster {OTHER} Available")
    return Api(real_hub.api(real_hub.cluster_spoke_name(OTHER)))


@pytest.fixture()
def ns(hub):
    name = "pol-real-" + uuid.uuid4().hex[:6]
    hub.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    hub.create(MCSB, {"apiVersion": MCSB[0], "kind": MCSB[1], "metadata": {"name": "global", "namespace": name},
                      "spec": {"clusterSet": "global"}})
    return name


def make_policy(api, ns, name, objects):
    """A policy bound to sno-a; its first compliance, which comes from the spoke."""
    create_bound_policy(api, ns, name, objects, CLUSTER)
    return wait_for(lambda: cluster_status(api.get(POLICY, name, ns)), timeout=180, interval=0.5,
                    what=f"compliance of {ns}/{name} on {CLUSTER} from the spoke")


def make_cgu(api, name, policies, timeout):
    return api.create(CGU, {"apiVersion": CGU[0], "kind": CGU[1], "metadata": {"name": name, "namespace": CGU_NS},
                            "spec": {"clusters": [CLUSTER], "managedPolicies": policies, "enable": True,
                                     "remediationStrategy": {"maxConcurrency": 1, "timeout": timeout}}})


def history_messages(root_ns, name, hub):
    replicated = hub.get(POLICY, f"{root_ns}.{name}", CLUSTER) or {}
    return [h.get("message", "") for d in (replicated.get("status") or {}).get("details") or [] for h in d.get("history") or []]


def test_compliance_is_the_spokes_own_evaluation(hub, spoke, ns):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pol-" + ns, "namespace": "default"},
          "data": {"k": "v"}}
    assert make_policy(hub, ns, "cm", [cm]) == "NonCompliant"
    # the replicated policy was synced into the cluster's namespace on the spoke, and its ConfigurationPolicy made there
    assert spoke.get(POLICY, f"{ns}.cm", CLUSTER) is not None
    assert spoke.get(CONFIG_POLICY, "cm-config", CLUSTER) is not None
    assert any("not found" in m for m in history_messages(ns, "cm", hub)), history_messages(ns, "cm", hub)
    # the object appears on the spoke by another hand: the spoke's controller sees it and the hub's root turns Compliant
    spoke.create(CONFIGMAP, cm)
    wait_for(lambda: cluster_status(hub.get(POLICY, "cm", ns)) == "Compliant", timeout=180, interval=0.5,
             what="root policy Compliant once the spoke has the object")
    assert hub.get(POLICY, "cm", ns)["status"]["compliant"] == "Compliant"


def test_a_cgu_enforces_the_worker_policy_objects_on_the_spoke(hub, spoke, ns):
    profile = {"apiVersion": PERFORMANCE_PROFILE[0], "kind": PERFORMANCE_PROFILE[1], "metadata": {"name": "pp-" + ns},
               "spec": {"cpu": {"isolated": "2-3", "reserved": "0-1"},
                        "nodeSelector": {"node-role.kubernetes.io/worker": ""},
                        "machineConfigPoolSelector": {"pools.operator.machineconfiguration.openshift.io/worker": ""}}}
    tuned = {"apiVersion": TUNED[0], "kind": TUNED[1],
             "metadata": {"name": "tp-" + ns, "namespace": "openshift-cluster-node-tuning-operator"},
             "spec": {"profile": [{"name": "tp-" + ns, "data": "[main]\ninclude=openshift-node-performance-pp\n"}]}}
    assert make_policy(hub, ns, "workers", [profile, tuned]) == "NonCompliant"
    make_cgu(hub, "w-" + ns, ["workers"], timeout=5)

    def verdict():
        out = ztp_cgu.interpret(hub.get(CGU, "w-" + ns, CGU_NS))
        return out if out["terminal"] else None
    out = wait_for(verdict, timeout=300, interval=1, what="the worker CGU finished")
    assert out["succeeded"], out
    assert out["message"] == "All clusters are compliant with all the managed policies", out
    # what the config-policy controller created on the spoke, as the policy says
    made = spoke.get(PERFORMANCE_PROFILE, "pp-" + ns)
    assert made["spec"]["cpu"] == {"isolated": "2-3", "reserved": "0-1"}
    assert spoke.get(TUNED, "tp-" + ns, "openshift-cluster-node-tuning-operator")["spec"]["profile"][0]["name"] == "tp-" + ns
    assert cluster_status(hub.get(POLICY, "workers", ns)) == "Compliant"


def test_a_kind_the_spoke_does_not_serve_stays_noncompliant_and_the_cgu_times_out(hub, spoke, ns):
    """Issue item 8: enforcement is not a formality. The spoke serves no SriovNetworkNodePolicy (no SR-IOV operator),
    so the policy stays NonCompliant with the controller's own message, TALM times the CGU out (1 real minute, noticed
    at its next look, at most 5 minutes later) and the collection's verdict names the cluster and the policy."""
    node_policy = {"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodePolicy",
                   "metadata": {"name": "np-" + ns, "namespace": "openshift-sriov-network-operator"},
                   "spec": {"resourceName": "du_fh", "numVfs": 8, "nicSelector": {"pfNames": ["ens5f0"]},
                            "nodeSelector": {"node-role.kubernetes.io/worker": ""}}}
    assert make_policy(hub, ns, "sriov", [node_policy]) == "NonCompliant"
    make_cgu(hub, "s-" + ns, ["sriov"], timeout=1)

    def verdict():
        out = ztp_cgu.interpret(hub.get(CGU, "s-" + ns, CGU_NS))
        return out if out["state"] == "Failed" else None
    out = wait_for(verdict, timeout=480, interval=2, what="the CGU timed out")
    assert out["reason"] == "TimedOut", out
    # TALM's final record of the cluster (status.clusters), which it writes only once it could delete the cluster's
    # ManagedClusterViews and ManagedClusterActions (the hub has their CRDs, as an ACM hub does)
    assert out["detail"] == f"clusters not completed: {CLUSTER} (timedout, policy sriov)", out
    message = ztp_cgu.failure_message("s-" + ns, CGU_NS, out)
    assert CLUSTER in message and "sriov" in message and "TimedOut" in message
    # the controller tried (the replicated policy was enforced) and said why it could not
    assert cluster_status(hub.get(POLICY, "sriov", ns)) == "NonCompliant"
    messages = history_messages(ns, "sriov", hub)
    assert any("SriovNetworkNodePolicy" in m for m in messages), messages


def test_each_cluster_is_judged_by_its_own_spoke(hub, spoke, other_spoke, ns):
    """One policy bound to two clusters with an API server each: each cluster's add-on syncs its replicated policy
    to its own spoke, each config-policy controller evaluates its own spoke's objects, and the root policy carries two
    independent states."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two-" + ns, "namespace": "default"},
          "data": {"k": "v"}}
    other_spoke.create(CONFIGMAP, cm)
    create_bound_policy(hub, ns, "two", [cm], [CLUSTER, OTHER])
    wait_for(lambda: cluster_status(hub.get(POLICY, "two", ns), OTHER) == "Compliant"
             and cluster_status(hub.get(POLICY, "two", ns), CLUSTER) == "NonCompliant", timeout=180, interval=0.5,
             what=f"{OTHER} Compliant and {CLUSTER} NonCompliant, each from its own spoke")
    assert hub.get(POLICY, "two", ns)["status"]["compliant"] == "NonCompliant"
    # each spoke holds its own cluster's copy only
    assert other_spoke.get(POLICY, f"{ns}.two", OTHER) is not None
    assert other_spoke.get(POLICY, f"{ns}.two", CLUSTER) is None
    assert spoke.get(POLICY, f"{ns}.two", CLUSTER) is not None
    assert spoke.get(POLICY, f"{ns}.two", OTHER) is None
    # the object appears on sno-a's spoke: only sno-a's state changes, and the root turns Compliant
    spoke.create(CONFIGMAP, cm)
    wait_for(lambda: hub.get(POLICY, "two", ns)["status"].get("compliant") == "Compliant", timeout=180, interval=0.5,
             what="root policy Compliant once both spokes have the object")
    assert cluster_status(hub.get(POLICY, "two", ns), OTHER) == "Compliant"
