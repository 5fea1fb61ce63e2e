"""Tests of the policies app, governance and TALM parts of the hub simulator against a real kube-apiserver.

The `hub` fixture (tests/hub/conftest.py) runs without the simulator process; these tests run the two controllers
in-process and tick them, with a Git tree they write themselves.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
import yaml

hubctl = pytest.importorskip("testhub.hubctl")
core = pytest.importorskip("testhub.simulator.core")
from testhub.simulator.policies import PoliciesApp  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator.talm import Talm  # noqa: E402  pylint: disable=wrong-import-position

SPEED = 600
PGT_NS = "ztp-site"


class TreeGit:
    """Stands in for the Git follower: a folder the tests write and a revision they bump."""

    def __init__(self, path):
        self.checkout = path
        self.revision = "r0"
        self._n = 0

    def app_tree(self, _app):
        return self.revision, self.checkout

    def fetch(self, min_interval=0.0):
        del min_interval

    def commit(self):
        self._n += 1
        self.revision = "r%d" % self._n


@pytest.fixture()
def sim(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(core, "CONTROLLERS", [])
    simulator = core.Simulator(hub.hub_kubeconfig, hub.spoke_kubeconfig, hub.git_url, state_dir=str(tmp_path / "state"))
    simulator.git = TreeGit(str(tmp_path / "repo"))
    os.makedirs(os.path.join(simulator.git.checkout, "policygentemplates"))
    simulator.controllers = [PoliciesApp(simulator), Talm(simulator)]
    set_config(simulator, {})
    yield simulator
    for cgu in simulator.list("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade"):
        simulator.delete("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade", cgu["metadata"]["name"], cgu["metadata"]["namespace"])
    write_tree(simulator, {})
    simulator.git.commit()
    simulator.tick()
    for mc in simulator.list("cluster.open-cluster-management.io/v1", "ManagedCluster"):
        simulator.delete("cluster.open-cluster-management.io/v1", "ManagedCluster", mc["metadata"]["name"])
    for cm in simulator.list("v1", "ConfigMap", namespace="ztp-simulator", label_selector="ztp-simulator/state=policy-compliance"):
        simulator.delete("v1", "ConfigMap", cm["metadata"]["name"], "ztp-simulator")


def set_config(simulator, extra):
    settings = {"speed": SPEED, "faults": [], "delays": {"policy_remediation": 60, "argocd_resync": 100000}}
    settings.update(extra)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hub-simulator", "namespace": "ztp-simulator"}}
    simulator.patch(cm, {"data": {"config.yaml": yaml.safe_dump(settings)}})
    simulator.reload_config()


def write_tree(simulator, files, generators=None, resources=None):
    base = os.path.join(simulator.git.checkout, "policygentemplates")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "source-crs"))
    kust = {"generators": generators if generators is not None else sorted(files), "resources": resources or []}
    for name, content in files.items():
        with open(os.path.join(base, name), "w", encoding="utf-8") as handle:
            handle.write(content if isinstance(content, str) else yaml.safe_dump_all(content if isinstance(content, list) else [content]))
    with open(os.path.join(base, "kustomization.yaml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(kust, handle)


def add_cluster(simulator, name, labels):
    simulator.create({"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                      "metadata": {"name": name, "labels": dict(labels, name=name)}, "spec": {"hubAcceptsClient": True}})


def pgt(name, site, files, namespace=PGT_NS, mcp=None):
    spec = {"bindingRules": {"sites": site}, "sourceFiles": files}
    if mcp:
        spec["mcp"] = mcp
    return {"apiVersion": "ran.openshift.io/v1", "kind": "PolicyGenTemplate", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


WORKER_FILES = [
    {"fileName": "MachineConfigGeneric.yaml", "policyName": "config-policy",
     "metadata": {"labels": {"machineconfiguration.openshift.io/role": "worker"}, "name": "enable-workload-partitioning"}},
    {"fileName": "PerformanceProfile.yaml", "policyName": "config-policy",
     "metadata": {"name": "openshift-worker-node-performance-profile"},
     "spec": {"cpu": {"isolated": "4-47", "reserved": "0-3"},
              "hugepages": {"defaultHugepagesSize": "1G", "pages": [{"size": "1G", "count": 32}]}}},
    {"fileName": "TunedPerformancePatch.yaml", "policyName": "config-policy", "metadata": {"name": "performance-patch-worker"},
     "spec": {"profile": [{"name": "performance-patch-worker", "data": "[main]\ninclude=x\n"}], "recommend": [{"profile": "performance-patch-worker"}]}},
]


def get(simulator, kind, name, namespace=None):
    api = {"Policy": "policy.open-cluster-management.io/v1", "PlacementRule": "apps.open-cluster-management.io/v1",
           "PlacementBinding": "policy.open-cluster-management.io/v1", "Placement": "cluster.open-cluster-management.io/v1beta1",
           "ClusterGroupUpgrade": "ran.openshift.io/v1alpha1", "Application": "argoproj.io/v1alpha1",
           "ManagedClusterSetBinding": "cluster.open-cluster-management.io/v1beta2"}[kind]
    return simulator.get(api, kind, name, namespace)


def run_until(simulator, predicate, timeout=30.0, on_tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        simulator.tick()
        if on_tick:
            on_tick()
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not reached in %.0f s" % timeout)


def root_compliance(simulator, name, namespace=PGT_NS):
    pol = get(simulator, "Policy", name, namespace) or {}
    return {e["clustername"]: e["compliant"] for e in (pol.get("status") or {}).get("status") or []}


def make_cgu(simulator, name, clusters, policies, max_conc=1, **extra):
    spec = {"clusters": clusters, "managedPolicies": policies, "remediationStrategy": {"maxConcurrency": max_conc}, "enable": True}
    spec.update(extra)
    simulator.create({"apiVersion": "ran.openshift.io/v1alpha1", "kind": "ClusterGroupUpgrade",
                      "metadata": {"name": name, "namespace": "default"}, "spec": spec})


def conditions(simulator, name):
    cgu = get(simulator, "ClusterGroupUpgrade", name, "default") or {}
    return (cgu.get("status") or {}).get("conditions") or []


def last(conds):
    return (conds[-1]["type"], conds[-1]["status"], conds[-1]["reason"]) if conds else None


def setup_day1_then_worker(simulator, clusters, site="cnfdf15"):
    """Clusters exist with a day-1 policy; then the worker PGT is pushed (new, NonCompliant)."""
    for cname in clusters:
        add_cluster(simulator, cname, {"sites": site})
    day1 = pgt("day1", site, [{"fileName": "PtpOperatorConfig.yaml", "policyName": "ptp"}], mcp="master")
    write_tree(simulator, {"day1.yaml": day1})
    simulator.git.commit()
    run_until(simulator, lambda: set(root_compliance(simulator, "day1-ptp")) == set(clusters))
    write_tree(simulator, {"day1.yaml": day1, "workers.yaml": pgt("cnfdf15-workers", site, WORKER_FILES, mcp="worker")})
    simulator.git.commit()
    run_until(simulator, lambda: set(root_compliance(simulator, "cnfdf15-workers-config-policy")) == set(clusters))


# --------------------------------------------------------------------------- rendering

def test_pgt_rendering(sim):
    add_cluster(sim, "sno-r1", {"sites": "cnfdf15"})
    write_tree(sim, {"workers.yaml": pgt("cnfdf15-workers", "cnfdf15", WORKER_FILES, mcp="worker")})
    sim.git.commit()
    run_until(sim, lambda: get(sim, "Policy", "cnfdf15-workers-config-policy", PGT_NS))
    pol = get(sim, "Policy", "cnfdf15-workers-config-policy", PGT_NS)
    assert pol["apiVersion"] == "policy.open-cluster-management.io/v1"
    assert pol["metadata"]["annotations"]["ran.openshift.io/ztp-deploy-wave"] == "10"
    assert pol["spec"]["remediationAction"] == "inform"
    tmpl = pol["spec"]["policy-templates"][0]["objectDefinition"]
    assert tmpl["kind"] == "ConfigurationPolicy" and tmpl["metadata"]["name"] == "cnfdf15-workers-config-policy-config"
    objs = [o["objectDefinition"] for o in tmpl["spec"]["object-templates"]]
    assert [o["kind"] for o in objs] == ["MachineConfig", "PerformanceProfile", "Tuned"]
    perf = objs[1]
    assert perf["spec"]["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    assert perf["spec"]["cpu"] == {"isolated": "4-47", "reserved": "0-3"}
    assert perf["spec"]["hugepages"]["pages"] == [{"size": "1G", "count": 32}]  # $node dropped, merged by index
    assert "ran.openshift.io/ztp-deploy-wave" not in (perf["metadata"].get("annotations") or {})
    assert objs[2]["spec"]["recommend"][0]["machineConfigLabels"] == {"machineconfiguration.openshift.io/role": "worker"}
    rule = get(sim, "PlacementRule", "cnfdf15-workers-placementrules", PGT_NS)
    assert rule["spec"]["clusterSelector"]["matchExpressions"] == [{"key": "sites", "operator": "In", "values": ["cnfdf15"]}]
    binding = get(sim, "PlacementBinding", "cnfdf15-workers-placementbinding", PGT_NS)
    assert binding["placementRef"] == {"apiGroup": "apps.open-cluster-management.io", "kind": "PlacementRule",
                                       "name": "cnfdf15-workers-placementrules"}
    assert binding["subjects"] == [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": "cnfdf15-workers-config-policy"}]
    child = run_until(sim, lambda: get(sim, "Policy", PGT_NS + ".cnfdf15-workers-config-policy", "sno-r1"))
    labels = child["metadata"]["labels"]
    assert labels["policy.open-cluster-management.io/root-policy"] == PGT_NS + ".cnfdf15-workers-config-policy"
    assert labels["policy.open-cluster-management.io/cluster-name"] == "sno-r1"
    assert labels["policy.open-cluster-management.io/cluster-namespace"] == "sno-r1"
    app = get(sim, "Application", "policies", "openshift-gitops")
    assert app["status"]["sync"]["status"] == "Synced" and app["status"]["sync"]["revision"] == sim.git.revision
    # removed from Git -> pruned
    write_tree(sim, {})
    sim.git.commit()
    run_until(sim, lambda: get(sim, "Policy", "cnfdf15-workers-config-policy", PGT_NS) is None)
    run_until(sim, lambda: get(sim, "Policy", PGT_NS + ".cnfdf15-workers-config-policy", "sno-r1") is None)


def test_pgt_name_too_long_and_missing_source_fail_sync(sim):
    long_name = "a-very-long-policygentemplate-name-for-workers"
    write_tree(sim, {"long.yaml": pgt(long_name, "x", [{"fileName": "MachineConfigGeneric.yaml", "policyName": "config-policy"}])})
    sim.git.commit()

    def failed():
        app = get(sim, "Application", "policies", "openshift-gitops")
        conds = (app.get("status") or {}).get("conditions") or []
        return conds and conds[0]["type"] == "ComparisonError" and conds[0]["message"]
    message = run_until(sim, failed)
    assert "exceeding the 63 chars limit" in message and get(sim, "Policy", long_name + "-config-policy", PGT_NS) is None
    write_tree(sim, {"missing.yaml": pgt("m", "x", [{"fileName": "NoSuchCR.yaml", "policyName": "p"}])})
    sim.git.commit()
    message = run_until(sim, lambda: failed() and "NoSuchCR.yaml" in failed() and failed())
    assert "source-crs/NoSuchCR.yaml" in message


def test_policies_app_creates_no_namespace_git_does_not_declare(sim):
    """ArgoCD's CreateNamespace=true covers only the Application's destination namespace: a policy in a namespace
    that neither Git nor the hub has fails the sync with the API server's message, while the rest is applied."""
    declared = pgt("declared", "x", [{"fileName": "MachineConfigGeneric.yaml", "policyName": "config-policy"}])
    undeclared = pgt("undeclared", "x", [{"fileName": "MachineConfigGeneric.yaml", "policyName": "config-policy"}],
                     namespace="ztp-undeclared")
    write_tree(sim, {"declared.yaml": declared, "undeclared.yaml": undeclared})
    sim.git.commit()

    def sync_error():
        app = get(sim, "Application", "policies", "openshift-gitops")
        conds = (app.get("status") or {}).get("conditions") or []
        return conds and conds[0]["type"] == "SyncError" and app["status"]["sync"]["revision"] == sim.git.revision \
            and conds[0]["message"]
    message = run_until(sim, sync_error)
    assert message == 'one or more objects failed to apply, reason: namespaces "ztp-undeclared" not found', message
    assert sim.get("v1", "Namespace", "ztp-undeclared") is None
    assert get(sim, "Policy", "declared-config-policy", PGT_NS) is not None  # the rest of the sync is applied
    app = get(sim, "Application", "policies", "openshift-gitops")
    assert app["status"]["operationState"]["phase"] == "Failed"
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ztp-undeclared"}}
    write_tree(sim, {"declared.yaml": declared, "undeclared.yaml": undeclared, "ns.yaml": ns},
               generators=["declared.yaml", "undeclared.yaml"], resources=["ns.yaml"])
    sim.git.commit()
    run_until(sim, lambda: get(sim, "Policy", "undeclared-config-policy", "ztp-undeclared"))
    app = get(sim, "Application", "policies", "openshift-gitops")
    assert app["status"]["sync"]["status"] == "Synced" and not app["status"].get("conditions")


def test_policygenerator_needs_managedclustersetbinding(sim):
    add_cluster(sim, "sno-g1", {"sites": "pg"})
    pg = {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "PolicyGenerator", "metadata": {"name": "pg-workers"},
          "placementBindingDefaults": {"name": "pg-workers-pb"},
          "policyDefaults": {"namespace": "ztp-pgtest", "placement": {"labelSelector": {"sites": "pg"}}, "remediationAction": "inform"},
          "policies": [{"name": "pg-workers-config-policy", "policyAnnotations": {"ran.openshift.io/ztp-deploy-wave": "10"},
                        "manifests": [{"path": "source-crs/PtpOperatorConfig-SetSelector.yaml",
                                       "patches": [{"spec": {"daemonNodeSelector": {"node-role.kubernetes.io/worker": ""}}}]}]}]}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ztp-pgtest"}}
    write_tree(sim, {"pg.yaml": pg, "ns.yaml": ns}, generators=["pg.yaml"], resources=["ns.yaml"])
    sim.git.commit()
    pol = run_until(sim, lambda: get(sim, "Policy", "pg-workers-config-policy", "ztp-pgtest"))
    assert pol["metadata"]["annotations"]["ran.openshift.io/ztp-deploy-wave"] == "10"
    placement = get(sim, "Placement", "placement-pg-workers-config-policy", "ztp-pgtest")
    assert placement["apiVersion"] == "cluster.open-cluster-management.io/v1beta1"
    assert placement["spec"]["predicates"][0]["requiredClusterSelector"]["labelSelector"]["matchExpressions"] == [
        {"key": "sites", "operator": "In", "values": ["pg"]}]
    assert get(sim, "PlacementBinding", "binding-pg-workers-config-policy", "ztp-pgtest")["placementRef"]["kind"] == "Placement"
    for _attempt in range(5):
        sim.tick()
    assert get(sim, "Policy", "ztp-pgtest.pg-workers-config-policy", "sno-g1") is None
    mcsb = {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSetBinding",
            "metadata": {"name": "global", "namespace": "ztp-pgtest"}, "spec": {"clusterSet": "global"}}
    write_tree(sim, {"pg.yaml": pg, "ns.yaml": [ns, mcsb]}, generators=["pg.yaml"], resources=["ns.yaml"])
    sim.git.commit()
    child = run_until(sim, lambda: get(sim, "Policy", "ztp-pgtest.pg-workers-config-policy", "sno-g1"))
    obj = child["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"][0]["objectDefinition"]
    assert obj["spec"]["daemonNodeSelector"] == {"node-role.kubernetes.io/worker": ""}


# --------------------------------------------------------------------------- compliance and TALM

def test_new_policy_noncompliant_existing_compliant(sim):
    setup_day1_then_worker(sim, ["sno-c1"])
    assert root_compliance(sim, "day1-ptp") == {"sno-c1": "Compliant"}
    assert root_compliance(sim, "cnfdf15-workers-config-policy") == {"sno-c1": "NonCompliant"}
    pol = get(sim, "Policy", "cnfdf15-workers-config-policy", PGT_NS)
    assert pol["status"]["compliant"] == "NonCompliant"


def test_cgu_happy_path(sim):
    setup_day1_then_worker(sim, ["sno-h1"])
    make_cgu(sim, "cgu-happy", ["sno-h1"], ["cnfdf15-workers-config-policy"])
    seen = []

    def record():
        conds = conditions(sim, "cgu-happy")
        state = [(c["type"], c["status"], c["reason"]) for c in conds]
        if not seen or seen[-1] != state:
            seen.append(state)
    run_until(sim, lambda: any(c["type"] == "Succeeded" for c in conditions(sim, "cgu-happy")), on_tick=record)
    run_until(sim, lambda: ((get(sim, "ClusterGroupUpgrade", "cgu-happy", "default")["status"].get("status") or {}).get("completedAt")),
              on_tick=record)
    assert seen[0] == [("ClustersSelected", "True", "ClusterSelectionCompleted"), ("Validated", "True", "ValidationCompleted"),
                       ("Progressing", "True", "InProgress")]
    assert seen[-1] == [("ClustersSelected", "True", "ClusterSelectionCompleted"), ("Validated", "True", "ValidationCompleted"),
                        ("Progressing", "False", "Completed"), ("Succeeded", "True", "Completed")]
    cgu = get(sim, "ClusterGroupUpgrade", "cgu-happy", "default")
    status = cgu["status"]
    assert status["conditions"][-1]["message"] == "All clusters are compliant with all the managed policies"
    assert status["remediationPlan"] == [["sno-h1"]]
    assert status["clusters"] == [{"name": "sno-h1", "state": "complete"}]
    assert status["managedPoliciesForUpgrade"] == [{"name": "cnfdf15-workers-config-policy", "namespace": PGT_NS}]
    assert status["managedPoliciesNs"] == {"cnfdf15-workers-config-policy": PGT_NS}
    assert status["status"]["startedAt"] and status["status"]["completedAt"]
    assert root_compliance(sim, "cnfdf15-workers-config-policy") == {"sno-h1": "Compliant"}
    selector = "openshift-cluster-group-upgrades/clusterGroupUpgrade=cgu-happy"
    assert not sim.list("cluster.open-cluster-management.io/v1beta1", "Placement", label_selector=selector)
    assert not sim.list("policy.open-cluster-management.io/v1", "PlacementBinding", label_selector=selector)
    # a finished CGU is never re-run; a new one finds everything compliant
    make_cgu(sim, "cgu-again", ["sno-h1"], ["cnfdf15-workers-config-policy"])
    run_until(sim, lambda: last(conditions(sim, "cgu-again")) == ("Succeeded", "True", "Completed"))
    cgu2 = get(sim, "ClusterGroupUpgrade", "cgu-again", "default")["status"]
    assert cgu2["managedPoliciesCompliantBeforeUpgrade"] == ["cnfdf15-workers-config-policy"]
    assert cgu2["conditions"][-1]["message"] == "All clusters already compliant with the specified managed policies"


def test_a_talm_placement_name_over_63_characters_gets_no_decision(sim):
    """TALM names the Placement <cgu>-<policy>-placement-xxxxx; the placement controller labels its PlacementDecision
    with that name, which the API server refuses over 63 characters: no decision, no status, the CGU never remediates."""
    setup_day1_then_worker(sim, ["sno-l1"])
    policy = "cnfdf15-workers-config-policy"
    make_cgu(sim, "ztp-workers-0123456789", ["sno-l1"], [policy])
    selector = "openshift-cluster-group-upgrades/clusterGroupUpgrade=ztp-workers-0123456789"
    placements = run_until(sim, lambda: sim.list("cluster.open-cluster-management.io/v1beta1", "Placement",
                                                 label_selector=selector))
    name = placements[0]["metadata"]["name"]
    assert len(name) == len("ztp-workers-0123456789-%s-placement-xxxxx" % policy) > 63
    for _tick in range(20):
        sim.tick()
    assert not [d for d in sim.list("cluster.open-cluster-management.io/v1beta1", "PlacementDecision", namespace=PGT_NS)
                if d["metadata"]["name"].startswith(name)]
    assert not (get(sim, "Placement", name, PGT_NS).get("status") or {}).get("conditions")
    assert root_compliance(sim, policy) == {"sno-l1": "NonCompliant"}
    assert last(conditions(sim, "ztp-workers-0123456789")) == ("Progressing", "True", "InProgress")


def test_cgu_missing_policy_upstream_typo(sim):
    setup_day1_then_worker(sim, ["sno-t1"])
    make_cgu(sim, "cgu-typo", ["sno-t1"], ["cnfdf15-worker-config-policy"])
    run_until(sim, lambda: conditions(sim, "cgu-typo"))
    cond = [c for c in conditions(sim, "cgu-typo") if c["type"] == "Validated"][0]
    assert (cond["status"], cond["reason"]) == ("False", "NotAllManagedPoliciesExist")
    assert cond["message"] == "Missing managed policies: [cnfdf15-worker-config-policy] "
    assert last(conditions(sim, "cgu-typo")) == ("Validated", "False", "NotAllManagedPoliciesExist")


def test_cgu_batches_of_max_concurrency(sim):
    setup_day1_then_worker(sim, ["sno-b1", "sno-b2", "sno-b3"])
    make_cgu(sim, "cgu-batch", ["sno-b1", "sno-b2", "sno-b3"], ["cnfdf15-workers-config-policy"], max_conc=2)
    batches = set()

    def record():
        st = ((get(sim, "ClusterGroupUpgrade", "cgu-batch", "default") or {}).get("status") or {}).get("status") or {}
        if st.get("currentBatch"):
            batches.add(st["currentBatch"])
    run_until(sim, lambda: last(conditions(sim, "cgu-batch")) == ("Succeeded", "True", "Completed"), on_tick=record)
    status = get(sim, "ClusterGroupUpgrade", "cgu-batch", "default")["status"]
    assert status["remediationPlan"] == [["sno-b1", "sno-b2"], ["sno-b3"]]
    assert status["computedMaxConcurrency"] == 2
    assert batches == {1, 2}
    assert sorted(c["name"] for c in status["clusters"]) == ["sno-b1", "sno-b2", "sno-b3"]


def test_cgu_timeout(sim):
    setup_day1_then_worker(sim, ["sno-o1"])
    set_config(sim, {"faults": [{"kind": "cgu-timeout", "cgu": "cgu-slow"}]})
    make_cgu(sim, "cgu-slow", ["sno-o1"], ["cnfdf15-workers-config-policy"], remediationStrategy={"maxConcurrency": 1, "timeout": 30})
    run_until(sim, lambda: last(conditions(sim, "cgu-slow")) == ("Succeeded", "False", "TimedOut"))
    run_until(sim, lambda: get(sim, "ClusterGroupUpgrade", "cgu-slow", "default")["status"]["status"].get("completedAt"))
    status = get(sim, "ClusterGroupUpgrade", "cgu-slow", "default")["status"]
    prog = [c for c in status["conditions"] if c["type"] == "Progressing"][0]
    assert (prog["status"], prog["reason"], prog["message"]) == ("False", "TimedOut", "Policy remediation took too long")
    assert status["clusters"] == [{"name": "sno-o1", "state": "timedout",
                                   "currentPolicy": {"name": "cnfdf15-workers-config-policy", "status": "NonCompliant"}}]
    assert root_compliance(sim, "cnfdf15-workers-config-policy") == {"sno-o1": "NonCompliant"}


def test_policy_never_compliant(sim):
    setup_day1_then_worker(sim, ["sno-n1"])
    set_config(sim, {"faults": [{"kind": "policy-never-compliant", "policy": "cnfdf15-workers-config-policy"}]})
    make_cgu(sim, "cgu-never", ["sno-n1"], ["cnfdf15-workers-config-policy"], remediationStrategy={"maxConcurrency": 1, "timeout": 30})
    child = PGT_NS + ".cnfdf15-workers-config-policy"
    seen = {"enforce": False, "compliant": False}

    def record():
        pol = get(sim, "Policy", child, "sno-n1") or {}
        seen["enforce"] |= (pol.get("spec") or {}).get("remediationAction") == "enforce"
        seen["compliant"] |= root_compliance(sim, "cnfdf15-workers-config-policy").get("sno-n1") == "Compliant"
    run_until(sim, lambda: last(conditions(sim, "cgu-never")) == ("Succeeded", "False", "TimedOut"), on_tick=record)
    assert seen == {"enforce": True, "compliant": False}
    assert root_compliance(sim, "cnfdf15-workers-config-policy") == {"sno-n1": "NonCompliant"}


def test_cgu_not_enabled_then_enabled(sim):
    setup_day1_then_worker(sim, ["sno-e1"])
    make_cgu(sim, "cgu-off", ["sno-e1"], ["cnfdf15-workers-config-policy"], enable=False)
    run_until(sim, lambda: last(conditions(sim, "cgu-off")) == ("Progressing", "False", "NotEnabled"))
    cond = conditions(sim, "cgu-off")[-1]
    assert cond["message"] == "Not enabled"
    for _attempt in range(5):
        sim.tick()
    assert root_compliance(sim, "cnfdf15-workers-config-policy") == {"sno-e1": "NonCompliant"}
    cgu = get(sim, "ClusterGroupUpgrade", "cgu-off", "default")
    sim.patch(cgu, {"spec": {"enable": True}})
    run_until(sim, lambda: last(conditions(sim, "cgu-off")) == ("Succeeded", "True", "Completed"))


def test_cgu_missing_blocking_cr(sim):
    setup_day1_then_worker(sim, ["sno-k1"])
    make_cgu(sim, "cgu-blocked", ["sno-k1"], ["cnfdf15-workers-config-policy"], blockingCRs=[{"name": "cgu-first", "namespace": "default"}])
    run_until(sim, lambda: last(conditions(sim, "cgu-blocked")) == ("Progressing", "False", "MissingBlockingCR"))
    assert conditions(sim, "cgu-blocked")[-1]["message"] == "Missing blocking CRs: [cgu-first]"
    make_cgu(sim, "cgu-first", ["sno-k1"], ["cnfdf15-workers-config-policy"], enable=False)
    run_until(sim, lambda: last(conditions(sim, "cgu-blocked")) == ("Progressing", "False", "IncompleteBlockingCR"))
    assert conditions(sim, "cgu-blocked")[-1]["message"] == "Blocking CRs that are not completed: [cgu-first]"


def test_a_failed_blocking_cgu_holds_back_only_cgus_without_partial_completion(sim):
    """clustergroupupgrade_controller.go:1299-1305: with ran.openshift.io/blocking-cgu-completion-mode=partial a
    blocking CGU that finished unsuccessfully releases the CGU it blocks; without it, it holds it back."""
    setup_day1_then_worker(sim, ["sno-q1"])
    set_config(sim, {"faults": [{"kind": "cgu-timeout", "cgu": "cgu-fails"}]})
    make_cgu(sim, "cgu-fails", ["sno-q1"], ["cnfdf15-workers-config-policy"], remediationStrategy={"maxConcurrency": 1, "timeout": 30})
    after = [{"name": "cgu-fails", "namespace": "default"}]
    make_cgu(sim, "cgu-strict", ["sno-q1"], ["cnfdf15-workers-config-policy"], blockingCRs=after)
    sim.create({"apiVersion": "ran.openshift.io/v1alpha1", "kind": "ClusterGroupUpgrade",
                "metadata": {"name": "cgu-partial", "namespace": "default",
                             "annotations": {"ran.openshift.io/blocking-cgu-completion-mode": "partial"}},
                "spec": {"clusters": ["sno-q1"], "managedPolicies": ["cnfdf15-workers-config-policy"],
                         "remediationStrategy": {"maxConcurrency": 1}, "enable": True, "blockingCRs": after}})
    run_until(sim, lambda: last(conditions(sim, "cgu-fails")) == ("Succeeded", "False", "TimedOut"))
    run_until(sim, lambda: last(conditions(sim, "cgu-partial")) == ("Succeeded", "True", "Completed"))
    assert last(conditions(sim, "cgu-strict")) == ("Progressing", "False", "IncompleteBlockingCR")


def test_cgu_that_cannot_start_is_looked_at_again_after_talms_requeue_or_a_spec_change(sim):
    setup_day1_then_worker(sim, ["sno-k2"])
    set_config(sim, {"delays": {"policy_remediation": 60, "argocd_resync": 100000, "talm_requeue_medium": 100000}})
    make_cgu(sim, "cgu-held", ["sno-k2"], ["cnfdf15-workers-config-policy"], blockingCRs=[{"name": "cgu-before", "namespace": "default"}])
    run_until(sim, lambda: last(conditions(sim, "cgu-held")) == ("Progressing", "False", "MissingBlockingCR"))
    make_cgu(sim, "cgu-before", ["sno-k2"], ["cnfdf15-workers-config-policy"], enable=False)
    for _attempt in range(5):
        sim.tick()
    # the blocking CGU exists now, but TALM only looks again after requeueWithMediumInterval ...
    assert last(conditions(sim, "cgu-held")) == ("Progressing", "False", "MissingBlockingCR")
    # ... or when the CGU's spec changes (its generation)
    sim.patch(get(sim, "ClusterGroupUpgrade", "cgu-held", "default"), {"spec": {"remediationStrategy": {"maxConcurrency": 2}}})
    run_until(sim, lambda: last(conditions(sim, "cgu-held")) == ("Progressing", "False", "IncompleteBlockingCR"))


def test_cgu_unknown_cluster(sim):
    setup_day1_then_worker(sim, ["sno-u1"])
    make_cgu(sim, "cgu-nocluster", ["sno-u1", "sno-absent"], ["cnfdf15-workers-config-policy"])
    run_until(sim, lambda: last(conditions(sim, "cgu-nocluster")) == ("ClustersSelected", "False", "ClusterNotFound"))
    assert conditions(sim, "cgu-nocluster")[-1]["message"] == "Unable to select clusters: cluster sno-absent is not a ManagedCluster"
