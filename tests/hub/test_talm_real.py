"""The real TALM on the test hub (``Hub(talm="real")``, testhub/controllers.py): ClusterGroupUpgrades reconciled by
openshift-kni/cluster-group-upgrades-operator's own manager, not by the simulator's model (testhub/simulator/talm.py).

TALM is built from its source in the shared reference folder by testhub/build-talm.sh; a failed build fails these
tests (the hub does not start). Without that folder this module is skipped (tests/hub/test_simulator_policies.py
covers the simulator's TALM). Policies, PlacementDecisions and compliance still come from the simulator's policy
model (testhub/simulator/policies.py). TALM's timeouts are real minutes, so the CGUs here keep them small.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import controllers  # noqa: E402  pylint: disable=wrong-import-position
from testhub.hubctl import Hub, free_port_base  # noqa: E402  pylint: disable=wrong-import-position
from testhub.waiting import wait_for  # noqa: E402  pylint: disable=wrong-import-position
from hubapi import CGU, MC, MCSB, NAMESPACE, PLACEMENT, POLICY, Api, condition, create_bound_policy  # noqa: E402  pylint: disable=wrong-import-position,import-error

if not controllers.talm_sources_present():
    pytest.skip(f"no TALM sources at {controllers.talm_sources_dir()}: the test hub runs the simulator's TALM model there "
                "(tests/hub/test_simulator_policies.py covers it)", allow_module_level=True)

DECISION = ("cluster.open-cluster-management.io/v1beta1", "PlacementDecision")
CLUSTER = "sno-a"
CGU_NS = "ztp-install"
TALM_LABEL = "openshift-cluster-group-upgrades/clusterGroupUpgrade"


def compliance(root, cluster):
    for item in ((root or {}).get("status") or {}).get("status") or []:
        if item.get("clustername") == cluster:
            return item.get("compliant")
    return None


@pytest.fixture(scope="module")
def talm_hub(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("hub-talm"))
    hub = Hub(run_dir, port_base=free_port_base(21440), simulator=True, speed=5000, talm="real")
    try:
        hub.start()  # a failed TALM build raises HubError here: the tests fail, they are not skipped
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def api(talm_hub):
    return Api(talm_hub.api("hub"))


@pytest.fixture(scope="module")
def seeded(api):
    """sno-a is an Available ManagedCluster and real TALM's own ztp-install CGU for it (ManagedClusterForCGU: a
    ManagedCluster without the ztp-done label) has finished, so that the policies below are not part of it."""
    def ready():
        cluster = api.get(MC, CLUSTER)
        return cluster if condition(cluster, "ManagedClusterConditionAvailable").get("status") == "True" else None
    wait_for(ready, timeout=240, interval=1, what=f"ManagedCluster {CLUSTER} Available")

    cgu = wait_for(lambda: finished(api, CLUSTER), timeout=240, interval=1, what=f"TALM's ztp-install CGU {CLUSTER} finished")
    assert condition(cgu, "Succeeded")["status"] == "True", cgu["status"]
    # the simulator's policy model has seen sno-a (its day-1 policies recorded as applied): policies bound later are
    # NonCompliant until enforced
    wait_for(lambda: api.get(("v1", "ConfigMap"), f"policy-compliance-{CLUSTER}", "ztp-simulator"), timeout=120, interval=0.5,
             what=f"the simulator's policy record of {CLUSTER}")
    return CLUSTER


@pytest.fixture(scope="module")
def policy_ns(api, seeded):  # pylint: disable=unused-argument
    """A policy namespace bound to the global cluster set, with an inform policy bound to sno-a that is NonCompliant
    there (the simulator's policy model: content the cluster has not had enforced yet)."""
    ns = "talm-real-" + uuid.uuid4().hex[:6]
    api.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.create(MCSB, {"apiVersion": MCSB[0], "kind": MCSB[1], "metadata": {"name": "global", "namespace": ns},
                      "spec": {"clusterSet": "global"}})
    return ns


def make_policy(api, ns, name):
    create_bound_policy(api, ns, name, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
                                         "data": {"id": uuid.uuid4().hex}}], CLUSTER)
    return wait_for(lambda: compliance(api.get(POLICY, name, ns), CLUSTER), timeout=60, interval=0.5,
                    what=f"compliance of {ns}/{name} on {CLUSTER}")


def make_cgu(api, name, clusters, policies, timeout=3):
    return api.create(CGU, {"apiVersion": CGU[0], "kind": CGU[1], "metadata": {"name": name, "namespace": CGU_NS},
                            "spec": {"clusters": clusters, "managedPolicies": policies, "enable": True,
                                     "remediationStrategy": {"maxConcurrency": 1, "timeout": timeout}}})


def finished(api, name):
    cgu = api.get(CGU, name, CGU_NS)
    return cgu if condition(cgu, "Succeeded") else None


def completed(api, name):
    cgu = api.get(CGU, name, CGU_NS)
    return cgu if ((cgu.get("status") or {}).get("status") or {}).get("completedAt") else None


def test_cgu_remediates_a_noncompliant_policy(api, policy_ns):
    assert make_policy(api, policy_ns, "talm-fix") == "NonCompliant"
    make_cgu(api, "talm-fix", [CLUSTER], ["talm-fix"])

    # TALM's own batch Placement (label, name <cgu>-<policy>-placement) gets its decision from the simulator
    def talm_placement():
        items = api.list(PLACEMENT, policy_ns, label_selector=f"{TALM_LABEL}=talm-fix")
        return items[0] if items else None
    placement = wait_for(talm_placement, timeout=120, interval=0.5, what="TALM's batch Placement")
    assert placement["metadata"]["name"].startswith("talm-fix-talm-fix-placement-")  # TALM's safe name: random suffix

    cgu = wait_for(lambda: finished(api, "talm-fix"), timeout=240, interval=1, what="CGU talm-fix Succeeded")
    # TALM writes Succeeded in one reconcile and completedAt in the next, after its post actions
    # (clustergroupupgrade_controller.go: the `suceededCondition != nil` branch of Reconcile)
    cgu = wait_for(lambda: completed(api, "talm-fix"), timeout=60, interval=0.5, what="CGU talm-fix completedAt")
    succeeded = condition(cgu, "Succeeded")
    assert (succeeded["status"], succeeded["reason"], succeeded["message"]) == \
        ("True", "Completed", "All clusters are compliant with all the managed policies"), cgu["status"]
    assert condition(cgu, "ClustersSelected")["reason"] == "ClusterSelectionCompleted"
    assert condition(cgu, "Validated")["reason"] == "ValidationCompleted"
    progressing = condition(cgu, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "Completed"), cgu["status"]
    assert cgu["status"]["status"]["completedAt"]
    assert compliance(api.get(POLICY, "talm-fix", policy_ns), CLUSTER) == "Compliant"
    # the simulator decided TALM's Placement (no placement controller here; no garbage collector either, so the
    # PlacementDecision outlives the Placement TALM deletes)
    decision = api.get(DECISION, placement["metadata"]["name"] + "-decision-1", policy_ns)
    assert [d["clusterName"] for d in decision["status"]["decisions"]] == [CLUSTER], decision
    # TALM cleans up its Placement and PlacementBinding once the CGU completed
    wait_for(lambda: not api.list(PLACEMENT, policy_ns, label_selector=f"{TALM_LABEL}=talm-fix"), timeout=60, interval=1,
             what="TALM's Placement deleted")


def test_a_placement_name_over_63_characters_is_never_decided(api, policy_ns):
    """TALM's Placement name is <cgu>-<policy>-placement-xxxxx, cut only at 253 characters; the placement controller
    labels the PlacementDecision with it, which the API server refuses over 63 characters, so the CGU never gets a
    cluster (ztp_cgu refuses such a pair before creating the CGU: plugins/module_utils/_cgu.py)."""
    policy = "talm-long-policy-name-of-thirty-chars"
    make_policy(api, policy_ns, policy)
    cgu_name = "ztp-workers-0123456789"
    make_cgu(api, cgu_name, [CLUSTER], [policy], timeout=5)

    def talm_placement():
        items = api.list(PLACEMENT, policy_ns, label_selector=f"{TALM_LABEL}={cgu_name}")
        return items[0] if items else None
    name = wait_for(talm_placement, timeout=120, interval=0.5, what="TALM's batch Placement")["metadata"]["name"]
    prefix = f"{cgu_name}-{policy}-placement-"
    assert name.startswith(prefix) and len(name) == len(prefix) + 5 > 63, name
    time.sleep(5)
    assert api.get(DECISION, name + "-decision-1", policy_ns) is None
    cgu = api.get(CGU, cgu_name, CGU_NS)
    assert condition(cgu, "Progressing").get("reason") == "InProgress" and not condition(cgu, "Succeeded"), cgu["status"]
    assert compliance(api.get(POLICY, policy, policy_ns), CLUSTER) == "NonCompliant"
    api.res(CGU).delete(name=cgu_name, namespace=CGU_NS)


def test_cgu_for_a_missing_cluster_reports_cluster_not_found(api, policy_ns):
    make_policy(api, policy_ns, "talm-missing")
    make_cgu(api, "talm-missing", ["no-such-cluster"], ["talm-missing"])

    def not_found():
        cond = condition(api.get(CGU, "talm-missing", CGU_NS), "ClustersSelected")
        return cond if cond.get("reason") == "ClusterNotFound" else None
    cond = wait_for(not_found, timeout=120, interval=0.5, what="ClusterNotFound")
    assert cond["status"] == "False"
    assert cond["message"] == "Unable to select clusters: cluster no-such-cluster is not a ManagedCluster"


def test_cgu_for_compliant_policies_is_already_compliant(api, policy_ns):
    # the policy of the first test is Compliant on sno-a now (or is made so here by a first CGU)
    if compliance(api.get(POLICY, "talm-fix", policy_ns), CLUSTER) is None:
        make_policy(api, policy_ns, "talm-fix")
    if compliance(api.get(POLICY, "talm-fix", policy_ns), CLUSTER) != "Compliant":
        make_cgu(api, "talm-fix-first", [CLUSTER], ["talm-fix"])
        wait_for(lambda: finished(api, "talm-fix-first"), timeout=240, interval=1, what="CGU talm-fix-first Succeeded")
    make_cgu(api, "talm-again", [CLUSTER], ["talm-fix"])
    cgu = wait_for(lambda: finished(api, "talm-again"), timeout=120, interval=0.5, what="CGU talm-again Succeeded")
    succeeded = condition(cgu, "Succeeded")
    assert (succeeded["status"], succeeded["reason"], succeeded["message"]) == \
        ("True", "Completed", "All clusters already compliant with the specified managed policies"), cgu["status"]
    assert not api.list(PLACEMENT, policy_ns, label_selector=f"{TALM_LABEL}=talm-again")


# ---------------------------------------------------------------------------------------------------- the model

def _outcome(cgu):
    """What the collection reads from a CGU: each condition's status, reason and message, the clusters' states, the
    policies TALM took on and the ones it found compliant before."""
    status = (cgu or {}).get("status") or {}
    return {"conditions": {c["type"]: (c["status"], c["reason"], c.get("message")) for c in status.get("conditions") or []},
            "clusters": sorted((c["name"], c["state"]) for c in status.get("clusters") or []),
            "for_upgrade": [p["name"] for p in status.get("managedPoliciesForUpgrade") or []],
            "compliant_before": status.get("managedPoliciesCompliantBeforeUpgrade") or [],
            "plan": status.get("remediationPlan")}


def _scenarios(api, ns):
    """The demo's CGU paths: a policy remediated, the same policy already compliant, a cluster that is not a
    ManagedCluster, a policy that does not exist. The timeout is TALM's default: the model counts it in simulated
    minutes, real TALM in real ones."""
    def with_condition(name, ctype):
        return lambda: api.get(CGU, name, CGU_NS) if condition(api.get(CGU, name, CGU_NS), ctype) else None

    out = {}
    assert make_policy(api, ns, "par-fix") == "NonCompliant"
    make_cgu(api, "par-fix", [CLUSTER], ["par-fix"], timeout=240)
    out["remediated"] = _outcome(wait_for(lambda: finished(api, "par-fix"), timeout=240, interval=0.5, what="par-fix"))
    # until the replicated policy loses TALM's enforce override, a new CGU skips the policy altogether
    # (controllers/policy.go:185, "Ignoring policy with remediationAction enforce")
    wait_for(lambda: str((api.get(POLICY, f"{ns}.par-fix", CLUSTER) or {}).get("spec", {}).get("remediationAction")).lower()
             == "inform", timeout=120, interval=0.5, what="the replicated par-fix back to inform")
    make_cgu(api, "par-again", [CLUSTER], ["par-fix"], timeout=240)
    out["already compliant"] = _outcome(wait_for(lambda: finished(api, "par-again"), timeout=120, interval=0.5,
                                                 what="par-again"))
    make_cgu(api, "par-no-cluster", ["no-such-cluster"], ["par-fix"], timeout=240)
    out["cluster not found"] = _outcome(wait_for(with_condition("par-no-cluster", "ClustersSelected"), timeout=120,
                                                 interval=0.5, what="par-no-cluster"))
    make_cgu(api, "par-no-policy", [CLUSTER], ["par-nope"], timeout=240)
    out["missing policy"] = _outcome(wait_for(with_condition("par-no-policy", "Validated"), timeout=120, interval=0.5,
                                              what="par-no-policy"))
    return out


@pytest.fixture(scope="module")
def model_api(tmp_path_factory):
    """A second hub whose ClusterGroupUpgrades the simulator's TALM model runs: the stand-in of a fresh clone's demo."""
    hub = Hub(str(tmp_path_factory.mktemp("hub-talm-model")), port_base=free_port_base(21640), simulator=True, speed=600,
              talm="model")
    try:
        hub.start()
        api = Api(hub.api("hub"))
        wait_for(lambda: condition(api.get(MC, CLUSTER), "ManagedClusterConditionAvailable").get("status") == "True",
                 timeout=240, interval=1, what=f"ManagedCluster {CLUSTER} Available")
        wait_for(lambda: api.get(("v1", "ConfigMap"), f"policy-compliance-{CLUSTER}", "ztp-simulator"), timeout=120,
                 interval=0.5, what=f"the simulator's policy record of {CLUSTER}")
        yield api
    finally:
        hub.stop()


def _fresh_namespace(api):
    ns = "talm-par-" + uuid.uuid4().hex[:6]
    api.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.create(MCSB, {"apiVersion": MCSB[0], "kind": MCSB[1], "metadata": {"name": "global", "namespace": ns},
                      "spec": {"clusterSet": "global"}})
    return ns


def test_the_model_reaches_the_conditions_reasons_and_cluster_states_of_real_talm(api, seeded, model_api):  # pylint: disable=unused-argument
    real = _scenarios(api, _fresh_namespace(api))
    model = _scenarios(model_api, _fresh_namespace(model_api))
    for scenario in real:
        assert model[scenario] == real[scenario], "%s:\n model: %s\n real:  %s" % (scenario, model[scenario], real[scenario])
