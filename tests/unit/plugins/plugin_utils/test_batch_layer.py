"""Tests of the batch layer's verdicts and summary (the mapping from the inventory runs in
tests/integration_py/test_batch_layer.py, through ansible-playbook)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policy_compliance as pc
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _batch as batch


def _cgu(succeeded, states, msg=""):
    return {"cgu": {"metadata": {"name": "ztp-workers-1", "namespace": "default"}}, "state": "Completed" if succeeded else "TimedOut",
            "succeeded": succeeded, "clusters": dict((c, {"state": s}) for c, s in states.items()), "msg": msg}


def test_cgu_verdict_per_cluster_when_the_cgu_timed_out():
    result = _cgu(False, {"a": "complete", "b": "timedout"}, "ClusterGroupUpgrade default/ztp-workers-1 timed out")
    good = batch.cgu_cluster_verdict("policy_creation", "a", result)
    bad = batch.cgu_cluster_verdict("policy_creation", "b", result)
    assert good["ok"] and good["cgu"]["cluster_state"] == "complete"
    assert not bad["ok"] and "timed out" in bad["msg"] and "timedout" in bad["msg"] and bad["msg"].startswith("b: ")
    assert bad["cgu"]["name"] == "ztp-workers-1" and bad["cgu"]["succeeded"] is False


def test_cgu_verdict_in_check_mode_and_when_skipped():
    assert batch.cgu_cluster_verdict("policy_creation", "a", _cgu(False, {"a": "Pending"}), check_mode=True)["ok"]
    assert not batch.cgu_cluster_verdict("policy_creation", "a", _cgu(False, {"a": "Pending"}))["ok"]
    assert batch.cgu_cluster_verdict("policy_creation", "a", {"skipped": True}) == {"ok": True, "phase": "policy_creation", "msg": ""}


def test_cgu_verdict_with_parts_judges_each_cluster_by_its_own_part():
    result = {"failed": True, "msg": "part 1 timed out", "succeeded": False, "cgu_of": {"a": "p1", "b": "p2"},
              "cgus": {"p1": dict(_cgu(False, {"a": "timedout"}, "ClusterGroupUpgrade default/p1 timed out"),
                                  cgu={"metadata": {"name": "p1", "namespace": "default"}}),
                       "p2": dict(_cgu(True, {"b": "complete"}), cgu={"metadata": {"name": "p2", "namespace": "default"}})}}
    bad = batch.cgu_cluster_verdict("policy_creation", "a", result)
    good = batch.cgu_cluster_verdict("policy_creation", "b", result)
    assert not bad["ok"] and "default/p1 timed out" in bad["msg"] and bad["cgu"]["name"] == "p1"
    assert good["ok"] and good["cgu"]["name"] == "p2" and good["cgu"]["succeeded"] is True


def _policy_request(cluster, before=("group-du-sno-config-policy",), after=None):
    return {"cluster": cluster, "worker_policy": {"name": "%s-workers" % cluster, "policy_name": "config-policy"},
            "policies_before": list(before), "policies_after": [after or "%s-config-policy" % cluster]}


def test_cgu_parts_name_only_their_own_clusters_policies():
    requests = [_policy_request("sno-%02d" % i) for i in range(5)]
    whole = batch.cgu_parts("ztp-workers", requests, 50)
    assert len(whole) == 1 and whole[0]["clusters"] == ["sno-%02d" % i for i in range(5)]
    # one part: the name the batch's single CGU always had (reruns of earlier changes find their CGU)
    policies = sorted(set(p for r in requests for p in r["policies_before"] + batch.worker_policy_names(r) + r["policies_after"]))
    assert whole[0]["name"] == batch.change_name("ztp-workers", sorted(
        [r["cluster"], r["worker_policy"], r["policies_before"], r["policies_after"]] for r in requests), policies)
    parts = batch.cgu_parts("ztp-workers", requests, 2)
    assert [p["clusters"] for p in parts] == [["sno-00", "sno-01"], ["sno-02", "sno-03"], ["sno-04"]]
    assert parts[2]["managed_policies"] == ["group-du-sno-config-policy", "sno-04-workers-config-policy", "sno-04-config-policy"]
    assert parts[0]["managed_policies"] == ["group-du-sno-config-policy", "sno-00-workers-config-policy",
                                            "sno-01-workers-config-policy", "sno-00-config-policy", "sno-01-config-policy"]
    assert len(set(p["name"] for p in parts)) == 3 and whole[0]["name"] not in [p["name"] for p in parts]
    assert batch.cgu_parts("ztp-workers", requests, 2) == parts  # a rerun of the same change finds the same CGUs
    changed = [dict(r) for r in requests]
    changed[4]["policies_after"] = ["sno-04-new-config-policy"]
    again = batch.cgu_parts("ztp-workers", changed, 2)
    assert [p["name"] for p in again[:2]] == [p["name"] for p in parts[:2]] and again[2]["name"] != parts[2]["name"]
    assert batch.cgu_parts("ztp-workers", [], 2) == []


def test_a_batch_wide_setting_takes_one_value_and_names_the_clusters_that_differ():
    same = [dict(_policy_request("sno-%02d" % i), cgu_max_concurrency=10) for i in range(3)]
    assert batch.batch_wide(same, "cgu_max_concurrency", "policy_creation_cgu_max_concurrency", min, 50) == (10, None)
    assert batch.batch_wide([], "cgu_max_concurrency", "policy_creation_cgu_max_concurrency", min, 50) == (50, None)
    mixed = same + [dict(_policy_request("sno-09"), cgu_max_concurrency=40)]
    value, warning = batch.batch_wide(mixed, "cgu_max_concurrency", "policy_creation_cgu_max_concurrency", min, 50)
    assert value == 10
    assert "policy_creation_cgu_max_concurrency" in warning and "sno-09 (40)" in warning and "sno-00" not in warning


def test_decide_selectors_stops_edits_and_policies():
    requests = [
        {"cluster": "a", "group_policy_path": "g/du.yaml", "policies": ["du-ptp"], "allow_disruption": True},
        {"cluster": "b", "group_policy_path": "g/du.yaml", "policies": ["du-ptp", "du-sriov"], "allow_disruption": True},
        {"cluster": "c", "group_policy_path": "g/du.yaml", "policies": ["du-ptp"], "allow_disruption": False},
        {"cluster": "d", "group_policy_path": None, "policies": [], "allow_disruption": True},
        {"cluster": "e", "group_policy_path": "g/x.yaml", "policies": ["x"], "allow_disruption": True},
        {"cluster": "f", "group_policy_path": "g/x.yaml", "policies": ["x"], "allow_disruption": True},
    ]
    findings = {"a": {"needs_override": {"ptp": True}}, "b": {"needs_override": {"sriov": True}},
                "c": {"needs_override": {"ptp": True, "sriov": True}}, "d": {"needs_override": {"ptp": True}},
                "e": {"needs_override": {}}}
    decision = batch.decide_selectors(requests, findings)
    assert decision["stops"] == {"c": ["the PTP daemons (PtpOperatorConfig)", "the SR-IOV config daemon (SriovOperatorConfig)"]}
    assert decision["edits"] == [{"path": "g/du.yaml", "ptp": True, "sriov": True}]
    assert decision["clusters"] == ["a", "b"]
    assert decision["policies"] == ["du-ptp", "du-sriov"]
    assert "ztp_group_policy_path" in decision["problems"]["d"]
    assert decision["missing"] == ["f"]


def _mc(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def test_group_template_bindings_select_the_bound_managed_clusters():
    rules = {"bindingRules": {"group-du-sno": "", "du-profile": "latest"}, "bindingExcludedRules": {"lab": "true"}}
    pgt = {"kind": "PolicyGenTemplate", "spec": rules}
    pg = {"kind": "PolicyGenerator", "policyDefaults": {"placement": {"labelSelector": {"group-du-sno-pg": ""}}}}
    bindings = batch.template_bindings([pgt, {"kind": "ConfigMap"}])
    assert batch.label_selectors(bindings) == ["du-profile=latest", "group-du-sno="]
    clusters = [_mc("a", **{"group-du-sno": "", "du-profile": "latest"}), _mc("b", **{"group-du-sno": "", "du-profile": "4.14"}),
                _mc("c", **{"group-du-sno": "", "du-profile": "latest", "lab": "true"}),
                _mc("d", **{"group-du-sno-pg": "", "du-profile": "latest"})]
    assert batch.bound_clusters(bindings, clusters) == ["a"]  # b: other profile; c: excluded
    both = batch.template_bindings([pgt, pg])
    assert batch.label_selectors(both) == []  # two templates: every ManagedCluster is read and matched here
    assert batch.bound_clusters(both, clusters) == ["a", "d"]


def test_a_group_template_bound_beyond_the_batch_stops_unless_the_others_are_named_or_the_scope_is_the_batch():
    base = {"group_policy_path": "g/du.yaml", "policies": ["du-config"], "allow_disruption": True}
    requests = [dict(base, cluster="a"), dict(base, cluster="b")]
    findings = {"a": {"needs_override": {"ptp": True}}, "b": {"needs_override": {}}}
    bound = {"g/du.yaml": ["a", "b", "x", "y"]}
    stopped = batch.decide_selectors(requests, findings, bound)
    assert stopped["edits"] == [] and stopped["clusters"] == []  # nothing written
    msg = stopped["problems"]["a"]
    assert "g/du.yaml, which also binds 2 cluster(s) outside this batch: x, y" in msg
    assert "ztp_ptp_sriov_disruption_clusters" in msg and "ztp_selector_override_scope=batch" in msg
    verdict = batch.judge_selector_checks(requests[0], {"decide": stopped})
    assert not verdict["ok"] and verdict["msg"] == msg
    assert batch.judge_selector_checks(requests[1], {"decide": stopped})["ok"]  # b needs nothing itself

    partly = [dict(base, cluster="a", disruption_clusters=["x"]), dict(base, cluster="b")]
    assert "1 cluster(s) outside this batch: y." in batch.decide_selectors(partly, findings, bound)["problems"]["a"]

    named = [dict(base, cluster="a", disruption_clusters=["x", "y"]), dict(base, cluster="b")]
    wide = batch.decide_selectors(named, findings, bound)
    assert wide["problems"] == {} and wide["edits"] == [{"path": "g/du.yaml", "ptp": True, "sriov": False}]
    assert wide["clusters"] == ["a", "x", "y"] and wide["others"] == ["x", "y"]
    assert wide["cgu_name"] != batch.decide_selectors(named, findings)["cgu_name"]  # another change, another CGU

    scoped = [dict(base, cluster="a", override_scope="batch"), dict(base, cluster="b", override_scope="batch")]
    narrow = batch.decide_selectors(scoped, findings, bound)
    assert narrow["problems"] == {} and narrow["clusters"] == ["a"] and narrow["left_behind"] == {"g/du.yaml": ["x", "y"]}
    # bound only to the batch, or not read (check of a spoke-only batch): the batch alone, as before
    assert batch.decide_selectors(requests, findings, {"g/du.yaml": ["a", "b"]})["clusters"] == ["a"]
    assert batch.decide_selectors(requests, findings)["clusters"] == ["a"]


def test_selector_verdicts_name_the_opt_in_and_unreadable_selectors():
    decision = batch.decide_selectors(
        [{"cluster": "c", "group_policy_path": "g.yaml", "policies": [], "allow_disruption": False},
         {"cluster": "f", "group_policy_path": "g.yaml", "policies": [], "allow_disruption": False}],
        {"c": {"needs_override": {"ptp": True}}})
    stopped = batch.judge_selector_checks({"cluster": "c"}, {"decide": decision})
    assert not stopped["ok"] and "ztp_allow_ptp_sriov_disruption=true" in stopped["msg"]
    assert "could not be read" in batch.judge_selector_checks({"cluster": "f"}, {"decide": decision})["msg"]


def test_selector_verdict_reads_the_selectors_again_after_the_cgu():
    requests = [{"cluster": c, "group_policy_path": "g.yaml", "policies": ["g-config-policy"], "allow_disruption": True}
                for c in ("a", "b")]
    decision = batch.decide_selectors(requests, {"a": {"needs_override": {"ptp": True}}, "b": {"needs_override": {"sriov": True}}})
    results = {"decide": decision, "cgu": _cgu(True, {"a": "complete", "b": "complete"}),
               "after": {"a": {"needs_override": {"ptp": False, "sriov": False}}, "b": {"needs_override": {"sriov": True}}}}
    assert batch.judge_selector_checks({"cluster": "a", "group_policy_path": "g.yaml"}, results)["ok"]
    still = batch.judge_selector_checks({"cluster": "b", "group_policy_path": "g.yaml"}, results)
    assert not still["ok"], still
    assert "b: the SR-IOV config daemon (SriovOperatorConfig) still select node-role.kubernetes.io/master after" in still["msg"]
    # nothing read again (check mode, or the CGU failed): TALM's verdict stands
    assert batch.judge_selector_checks({"cluster": "b", "group_policy_path": "g.yaml"}, dict(results, after={}))["ok"]


def test_policy_verdict_carries_paths_and_policies_and_git_failures():
    written = {"clusters": {"a": {"paths": ["policies/a-workers.yaml"], "policies": ["a-workers-config-policy"]}}}
    verdict = batch.judge_policy_creation({"cluster": "a"}, {"written": written, "cgu": _cgu(True, {"a": "complete"})})
    assert verdict["ok"] and verdict["paths"] == ["policies/a-workers.yaml"] and verdict["policies"] == ["a-workers-config-policy"]
    pushed = batch.judge_policy_creation({"cluster": "a"}, {"written": written, "publish": {"failed": True, "msg": "push refused"}})
    assert not pushed["ok"] and pushed["msg"] == "a: push refused"
    unsynced = {"failed": True, "msg": "ArgoCD Application openshift-gitops/policies failed on commit 4d5e6f700c5f: ..."}
    synced = batch.judge_policy_creation({"cluster": "a"}, {"written": written, "publish": {"pushed": True}, "synced": unsynced})
    assert not synced["ok"] and synced["msg"] == "a: " + unsynced["msg"]
    skipped = batch.judge_policy_creation({"cluster": "a"}, {"written": written, "synced": {"skipped": True},
                                                             "cgu": _cgu(True, {"a": "complete"})})
    assert skipped["ok"]


def test_node_addition_precheck_names_the_policies_behind():
    request = {"cluster": "a", "worker_policies": ["a-workers-config-policy"], "skip_policy_check": False}
    policies = [_root("a-workers-config-policy", {"a": "NonCompliant"})]
    dummy, compliance = pc.select(policies)
    verdict = batch.judge_node_addition(request, {"compliance": compliance})
    assert not verdict["ok"] and "a-workers-config-policy (NonCompliant)" in verdict["msg"]
    assert batch.judge_node_addition(dict(request, skip_policy_check=True), {"compliance": compliance})["ok"]
    assert batch.judge_node_addition(request, {"compliance": compliance, "check_mode": True})["ok"]
    missing = batch.judge_node_addition(request, {"compliance": {}})
    assert "a-workers-config-policy (not bound)" in missing["msg"]
    fixed = pc.select([_root("a-workers-config-policy", {"a": "Compliant"})])[1]
    assert batch.judge_node_addition(request, {"compliance": fixed})["ok"]
    # placed on the cluster, state not reported yet
    pending = pc.select([_root("a-workers-config-policy", {"a": None})])[1]
    assert "a-workers-config-policy (Pending)" in batch.judge_node_addition(request, {"compliance": pending})["msg"]


def test_install_verdict_per_cluster():
    nodes = [{"cluster": "a", "host": "a-w0", "ready": True, "state": "ready"},
             {"cluster": "b", "host": "b-w0", "ready": False, "state": "Agent Rebooting"},
             {"cluster": "c", "host": "c-w0", "ready": False, "failed": True, "error": "BareMetalHost c-w0: power off failed"}]
    wait = {"nodes": nodes, "failed": True, "msg": "timed out after 60 s"}
    assert batch.judge_install_verification({"cluster": "a"}, {"wait": wait})["ok"]
    b = batch.judge_install_verification({"cluster": "b"}, {"wait": wait})
    assert not b["ok"] and "b/b-w0: not ready, last state 'Agent Rebooting' (timed out after 60 s)" == b["msg"]
    c = batch.judge_install_verification({"cluster": "c"}, {"wait": wait})
    assert c["msg"] == "c/c-w0: BareMetalHost c-w0: power off failed" and c["nodes"] == [nodes[2]]
    broken = batch.judge_install_verification({"cluster": "a"}, {"wait": {"failed": True, "msg": "401 Unauthorized"}})
    assert not broken["ok"] and "401" in broken["msg"]


def test_cluster_record_stops_at_the_failed_phase():
    verdicts = {
        "selector_checks": batch.ok("selector_checks", cluster="a"),
        "policy_creation": batch.failed("policy_creation", "a: timed out", cluster="a", cgu={"name": "x"}, paths=["p.yaml"]),
        "node_addition": batch.ok("node_addition", cluster="a"),  # cannot happen, and must not hide the failure
    }
    record = batch.cluster_record("host-a", verdicts, batch=2)
    assert record["ok"] is False and record["phase"] == "policy_creation" and record["msg"] == "a: timed out"
    assert record["cgu"] == {"workers": {"name": "x"}} and record["paths"] == ["p.yaml"] and record["batch"] == 2
    done = batch.cluster_record("host-b", dict((p, batch.ok(p, cluster="b")) for p in batch.PHASES))
    assert done["ok"] and done["phase"] == "done" and done["cluster"] == "b"


def test_unjudged_failure_uses_the_validation_lines_of_the_host():
    record = batch.cluster_record("h1", {})
    validation = {"failed": True, "errors": ["h1: node_addition_workers: ...", "h2: bad"], "msg": "2 problem(s)"}
    out = batch.unjudged_failure("h1", record, validation)
    assert out == {"ok": False, "phase": "validation", "msg": "h1: node_addition_workers: ..."}
    after = batch.unjudged_failure("h1", batch.cluster_record("h1", {"selector_checks": batch.ok("selector_checks")}), {})
    assert after["phase"] == "policy_creation" and not after["ok"]


def test_bmc_secrets_and_missing_credentials():
    request = {"cluster": "a", "manage_bmc_secrets": True, "bmc_username": "", "bmc_password": "",
               "bmc_credentials": {"w0": {"username": "root", "password": "pässword"}},
               "workers": [{"hostName": "w0", "bmcCredentialsName": {"name": "w0-bmc"}},
                           {"hostName": "w1", "bmcCredentialsName": {"name": "w1-bmc"}}]}
    assert batch.missing_bmc_credentials(request) == ["w1"]
    secrets = batch.bmc_secrets(request)
    assert [s["metadata"]["name"] for s in secrets] == ["w0-bmc"]
    assert base64.b64decode(secrets[0]["data"]["password"]).decode("utf-8") == "pässword"
    shared = dict(request, bmc_username="admin", bmc_password="s3cret")
    assert batch.missing_bmc_credentials(shared) == [] and len(batch.bmc_secrets(shared, namespace="ns")) == 2
    assert batch.bmc_secrets(shared, namespace="ns")[1]["metadata"]["namespace"] == "ns"
    assert "bmc_password" not in batch.public(shared) and "bmc_credentials" not in batch.public(shared)


@pytest.mark.parametrize("serial,first,expected", [
    ([2], "h0", 1), ([2], "h2", 2), ([2], "h4", 3), (["40%"], "h4", 3), ([1, 3], "h1", 2), ([1, 3], "h4", 3)])
def test_batch_number_follows_serial(serial, first, expected):
    class Play(object):
        def __init__(self):
            self.serial = serial

    class Task(object):
        _play = Play()

    hosts = ["h%d" % i for i in range(5)]
    assert batch.batch_number(Task(), [first], hosts) == expected


def test_summary_lines():
    nodes = [{"ready": True}, {"ready": True}]
    ok = batch.cluster_record("a", {"install_verification": batch.ok("install_verification", cluster="a", nodes=nodes)})
    assert batch.summary_line(ok) == "a: done, 2 worker(s) ready"
    bad = batch.cluster_record("b", {"policy_creation": batch.failed("policy_creation", "b: timed out", cluster="b")})
    assert batch.summary_line(bad) == "b: FAILED in policy_creation: b: timed out"


def test_step_failure_names_the_first_failed_step_and_its_item():
    assert batch.step_failure({"plan": {"failed": True}, "cgu": {"failed": False}}) == ""
    loop = {"failed": True, "msg": "One or more items failed",
            "results": [{"failed": False}, {"failed": True, "msg": "https://u:secret@h/x unreachable"}]}
    assert batch.step_failure({"read_spokes": loop, "cgu": {}}) == "read_spokes: https://u:********@h/x unreachable"
    assert batch.step_failure({"read": {"failed": True, "msg": "401 Unauthorized"}}) == "read: 401 Unauthorized"


@pytest.mark.parametrize("phase", sorted(batch.REQUEST_VARS))
def test_request_types_are_the_role_argument_specs(phase):
    """The playbook validates each cluster's variables once, in the batch layer: its types must be the roles' own."""
    import os
    import yaml
    path = os.path.join(batch.DEFAULTS_DIR, phase, "meta", "argument_specs.yml")
    with open(path) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(batch.DEFAULTS_DIR, phase, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    for field, (var, spec) in batch.REQUEST_VARS[phase].items():
        assert var in options, "%s is not in the argument spec of %s" % (var, phase)
        assert var in defaults, "%s has no default in %s" % (var, phase)
        documented = options[var]
        assert documented.get("type", "str") == spec["type"], var
        assert documented.get("elements") == spec.get("elements"), var
        assert bool(documented.get("no_log")) == bool(spec.get("no_log")), var


def _removal_wait(rows):
    return {"nodes": [dict(cluster=c, host=h, state=s, message=m) for c, h, s, m in rows]}


def test_node_removal_is_judged_after_each_wait_per_cluster():
    request = {"cluster": "b", "workers": ["w0"], "remove": ["w0"]}
    hung = _removal_wait([("b", "w0", "hung", "BareMetalHost b/w0 has been deleting for 1900 s. Nothing was forced."),
                          ("c", "w1", "done", "gone")])
    verdict = batch.judge_node_removal(request, {"stage": "removed", "removed": hung})
    assert not verdict["ok"] and verdict["msg"] == "b/w0: BareMetalHost b/w0 has been deleting for 1900 s. Nothing was forced."
    other = batch.judge_node_removal({"cluster": "c", "workers": ["w1"]}, {"stage": "removed", "removed": hung})
    assert other["ok"]
    # in check mode the annotation was only shown: a pending BareMetalHost is what is expected
    pending = _removal_wait([("b", "w0", "pending", "does not carry it yet")])
    assert batch.judge_node_removal(request, {"stage": "seen", "seen": pending, "check_mode": True})["ok"]
    assert not batch.judge_node_removal(request, {"stage": "seen", "seen": pending})["ok"]
    broken = batch.judge_node_removal(request, {"stage": "seen", "seen": {"failed": True, "msg": "401 Unauthorized"}})
    assert not broken["ok"] and "401" in broken["msg"]
    assert batch.judge_node_removal(request, {"stage": "seen", "seen": {"skipped": True}})["ok"]


def test_node_removal_final_verdict_names_the_removed_workers_and_git_failures():
    request = {"cluster": "b", "workers": ["w0", "w1"], "remove": ["w0", "w1"]}
    status = {"nodes": [{"cluster": "b", "hostName": "w0", "path": "site/b.yaml", "state": "present"}]}
    entries = {"nodes": [{"cluster": "b", "hostName": "w0", "state_before": "suppressed", "state": "absent"},
                         {"cluster": "b", "hostName": "w1", "state_before": "absent", "state": "absent"}]}
    done = batch.judge_node_removal(request, {"status": status, "entries": entries})
    assert done["ok"] and done["removed"] == ["w0"] and done["paths"] == ["site/b.yaml"]
    kept = {"nodes": [{"cluster": "b", "hostName": "w0", "state_before": "suppressed", "state": "absent"}]}
    left = batch.judge_node_removal(request, {"status": status, "entries": kept})
    assert not left["ok"] and "w1 still in site/b.yaml" in left["msg"]
    rejected = batch.judge_node_removal(request, {"status": status, "publish": {"failed": True, "msg": "push rejected"}})
    assert not rejected["ok"] and rejected["msg"] == "b: push rejected"
    unsynced = batch.judge_node_removal(request, {"status": status, "synced": {"failed": True, "msg": "ArgoCD did not sync"}})
    assert not unsynced["ok"] and unsynced["msg"] == "b: ArgoCD did not sync"
    check = batch.judge_node_removal(request, {"status": status, "check_mode": True})
    assert check["ok"] and check["planned"] == ["w0", "w1"] and check["removed"] == []
    nothing = batch.judge_node_removal({"cluster": "c", "workers": [], "remove": []}, {})
    assert nothing["ok"] and nothing["removed"] == []


def test_records_of_removal_and_replacement():
    removed = batch.cluster_record("b", {"node_removal": batch.ok("node_removal", cluster="b", removed=["w0"])},
                                   operation="remove")
    assert removed["ok"] and removed["phase"] == "done" and removed["removed"] == ["w0"]
    assert batch.summary_line(removed) == "b: done, 1 worker(s) removed"
    shown = batch.cluster_record("b", {"node_removal": batch.ok("node_removal", cluster="b", check_mode=True)},
                                 operation="remove")
    assert shown["phase"] == "node_removal"
    # a replacement is done only once the new hardware is installed
    halfway = batch.cluster_record("b", {"node_removal": batch.ok("node_removal", cluster="b", removed=["w0"])},
                                   operation="replace")
    assert halfway["phase"] == "node_removal"
    unjudged = batch.unjudged_failure("b", halfway, {}, "replace")
    assert unjudged["phase"] == "selector_checks"
    nodes = [{"ready": True}]
    replaced = batch.cluster_record("b", {
        "node_removal": batch.ok("node_removal", cluster="b", removed=["w0"]),
        "install_verification": batch.ok("install_verification", cluster="b", nodes=nodes)}, operation="replace")
    assert replaced["phase"] == "done" and batch.summary_line(replaced) == "b: done, 1 worker(s) removed, 1 worker(s) ready"
    stopped = batch.cluster_record("b", {
        "node_removal": batch.failed("node_removal", "b/w0: hung", cluster="b"),
        "node_addition": batch.ok("node_addition", cluster="b")}, operation="replace")
    assert not stopped["ok"] and stopped["phase"] == "node_removal"


def test_expansion_phases_leave_out_clusters_whose_removal_failed():
    task_vars = {"node_removal_verdict": {"verdicts": {"b": {"ok": False}, "c": {"ok": True}}}}
    assert batch.failed_earlier(task_vars, "selector_checks") == {"b": "node_removal"}
    assert batch.failed_earlier(task_vars, "node_removal") == {}


def _root(name, states, namespace="ztp-site"):
    return {"metadata": {"name": name, "namespace": namespace},
            "status": {"status": [{"clustername": c, "compliant": s} for c, s in states.items()]}}


def _table(*policies):
    """The compliance table ztp_policy_compliance_info returns for these root Policies."""
    return pc.select(list(policies))[1]


def test_a_cluster_that_lost_its_last_worker_must_still_pass_its_policies():
    request = {"cluster": "b", "host": "hb", "workers": ["w0"], "remove": ["w0"]}
    entries = {"nodes": [{"cluster": "b", "hostName": "w0", "state_before": "suppressed", "state": "absent"}]}
    before = _table(_root("common", {"b": "Compliant", "c": "Compliant"}), _root("site", {"b": "NonCompliant"}))
    plan = {"last_worker": ["hb"]}
    after_ok = _table(_root("common", {"b": "Compliant"}), _root("site", {"b": "NonCompliant"}))
    verdict = batch.judge_node_removal(request, {"plan": plan, "entries": entries, "policies_before": before,
                                                 "policies_after": after_ok})
    # a policy that did not pass before the removal is not the removal's doing
    assert verdict["ok"] and verdict["policies_compliant"] == ["common"] and verdict["removed"] == ["w0"]
    record = batch.cluster_record("hb", {"node_removal": dict(verdict, cluster="b")}, operation="remove")
    assert batch.summary_line(record) == "b: done, 1 worker(s) removed, single-node, 1 policies still compliant"
    after_bad = _table(_root("common", {"b": "NonCompliant"}))
    broken = batch.judge_node_removal(request, {"plan": plan, "entries": entries, "policies_before": before,
                                                "policies_after": after_bad})
    assert not broken["ok"] and "policies common are NonCompliant now" in broken["msg"] and broken["removed"] == ["w0"]
    # not the last worker, or not read (check mode): no policy verdict
    assert "policies_compliant" not in batch.judge_node_removal(request, {"plan": {"last_worker": []}, "entries": entries,
                                                                          "policies_after": after_bad})
    assert batch.judge_node_removal(request, {"plan": plan, "entries": entries, "policies_after": None})["ok"]


def test_a_worker_policy_template_is_removed_only_if_it_binds_no_other_cluster():
    plan = {"bindings": {
        "hb": {"cluster": "b", "path": "pgt/b-workers.yaml", "match_labels": {"sites": "b"}, "match_expressions": []},
        "hg": {"cluster": "g", "path": "pgt/group-workers.yaml", "match_labels": {"du": "x"}, "match_expressions": []},
        "hh": {"cluster": "h", "path": "pgt/group-workers.yaml", "match_labels": {"du": "x"}, "match_expressions": []}}}
    clusters = [{"metadata": {"name": n, "labels": labels}} for n, labels in (
        ("b", {"sites": "b"}), ("g", {"du": "x"}), ("h", {"du": "x"}), ("k", {"du": "x"}))]
    results = {"plan": plan, "stage": "bindings", "managed_clusters": clusters}
    assert batch.judge_node_removal({"cluster": "b", "host": "hb"}, results)["ok"]
    shared = batch.judge_node_removal({"cluster": "g", "host": "hg"}, results)
    # h loses its worker policies in the same batch; k would lose them without asking
    assert not shared["ok"] and "also binds k (du=x)" in shared["msg"] and "ztp_removal_worker_policies=keep" in shared["msg"]
    assert batch.judge_node_removal({"cluster": "z", "host": "hz"}, results)["ok"]


def test_the_summary_says_the_worker_policies_were_removed():
    request = {"cluster": "b", "host": "hb", "workers": ["w0"], "remove": ["w0"],
               "worker_policy": {"name": "b-workers", "policy_name": "config-policy"}}
    entries = {"nodes": [{"cluster": "b", "hostName": "w0", "state_before": "suppressed", "state": "absent"}]}
    before = _table(_root("b-workers-config-policy", {"b": "Compliant"}), _root("common", {"b": "Compliant"}))
    after = _table(_root("b-workers-config-policy", {"b": "NonCompliant"}), _root("common", {"b": "Compliant"}))
    plan = {"last_worker": ["hb"], "policy_removals": {"hb": {}}}
    verdict = batch.judge_node_removal(request, {"plan": plan, "entries": entries, "policies_before": before,
                                                 "policies_after": after, "worker_policies": {"changed": True}})
    # the removed worker policy is being pruned: its state no longer counts
    assert verdict["ok"] and verdict["worker_policies_removed"] == ["b-workers-config-policy"]
    assert verdict["policies_compliant"] == ["common"]
    record = batch.cluster_record("hb", {"node_removal": dict(verdict, cluster="b")}, operation="remove")
    assert batch.summary_line(record) == ("b: done, 1 worker(s) removed, worker policies removed, single-node, "
                                          "1 policies still compliant")


def test_records_of_a_rotation():
    verdict = {"ok": True, "msg": "", "cluster": "a", "rotated": ["a-master", "a-worker-0"]}
    record = batch.cluster_record("ha", {"bmc_rotation": verdict}, operation="rotate")
    assert record["phase"] == "done" and batch.summary_line(record) == "a: done, BMC credentials of 2 host(s) rotated"
    bad = batch.cluster_record("hb", {"bmc_rotation": {"ok": False, "msg": "b/w: registration error", "cluster": "b"}},
                               operation="rotate")
    assert batch.summary_line(bad) == "b: FAILED in bmc_rotation: b/w: registration error"


def test_removal_plan_of_a_cluster_reads_its_file_once_and_refuses_masters(tmp_path):
    from ansible_collections.ztp.sno_expand.plugins.action.ztp_batch import ActionModule
    site = tmp_path / "site.yaml"
    site.write_text("apiVersion: ran.openshift.io/v1\nkind: SiteConfig\nmetadata:\n  name: s\n  namespace: s\nspec:\n"
                    "  baseDomain: example.com\n  clusters:\n"
                    "  - clusterName: a\n    nodes:\n    - hostName: a-m\n      role: master\n    - hostName: a-w0\n      role: worker\n"
                    "    - hostName: a-w1\n      role: worker\n"
                    "  - clusterName: b\n    nodes:\n    - hostName: b-m\n    - hostName: b-w0\n      role: worker\n", encoding="utf-8")
    files = {}
    request = {"cluster": "a", "cluster_file": "site.yaml", "workers": ["a-w0"]}
    assert ActionModule._removal_of(request, str(site), {}, files) == {"remove": ["a-w0"], "last": False, "errors": []}
    site.write_text("", encoding="utf-8")  # read once: the second cluster of the file plans from the same text
    last = ActionModule._removal_of(dict(request, cluster="b", workers=["b-w0"]), str(site), {}, files)
    assert last["last"] and not last["errors"]
    both = ActionModule._removal_of(dict(request, workers=["a-w0", "a-w1"]), str(site), {}, files)
    assert both["last"]
    master = ActionModule._removal_of(dict(request, workers=["a-m"]), str(site), {}, files)
    assert "a-m is the master of cluster a" in master["errors"][0]


def test_change_names_keep_talm_placement_names_within_a_label_value():
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _cgu_names as cgu  # pylint: disable=import-outside-toplevel

    short = batch.change_name("ztp-workers", ["sno-b"], ["common-config-policy"])
    assert len(short) == len("ztp-workers-") + 10
    for policy in ("sno-b-workers-config-policy", "group-du-sno-config-policy", "x" * 38):
        name = batch.change_name("ztp-workers", ["sno-b"], [policy, "common-config-policy"])
        assert cgu.fits_talm_placements(name, [policy]), (name, policy)
        assert name == batch.change_name("ztp-workers", ["sno-b"], [policy, "common-config-policy"])  # a rerun finds it
    assert batch.change_name("ztp-workers", ["sno-b"], ["x" * 38]) != batch.change_name("ztp-workers", ["sno-c"], ["x" * 38])
    # no name fits a 39-character policy: the shortest comes back and ztp_cgu refuses it, naming the policy
    assert not cgu.fits_talm_placements(batch.change_name("ztp-workers", ["sno-b"], ["x" * 39]), ["x" * 39])


class _CountingTemplar(object):
    """A real Templar over the given variables that counts the templates it is asked for."""

    def __init__(self, variables):
        from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
        from ansible.template import Templar  # pylint: disable=import-outside-toplevel
        self.templar = Templar(loader=DataLoader(), variables=variables)
        self.calls = 0

    def template(self, value):
        self.calls += 1
        return self.templar.template(value)


def _trusted(text):
    try:
        from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core before 2.19 templates every string
        return text
    return trust_as_template(text)


def test_role_default_templates_are_shared_between_hosts_with_the_same_input():
    shared = batch.SharedTemplates()
    default = _trusted("{{ ztp_cgu_max_concurrency | default(50) }}")
    hosts = [{"inventory_hostname": "sno-%d" % i, "ztp_cgu_max_concurrency": 10, "ztp_workers": [{"hostName": "w%d" % i}]}
             for i in range(3)]
    templars = [_CountingTemplar(v) for v in hosts]
    assert [shared.template(t, default, v) for t, v in zip(templars, hosts)] == [10, 10, 10]
    assert sum(t.calls for t in templars) == 1  # compiled for the first host only
    # another input, another result
    other = dict(hosts[0], ztp_cgu_max_concurrency=20)
    assert shared.template(_CountingTemplar(other), default, other) == 20
    # per-host values stay per host, and each host gets its own copy
    workers = _trusted("{{ ztp_workers }}")
    first = shared.template(templars[0], workers, hosts[0])
    assert first == [{"hostName": "w0"}] and shared.template(templars[1], workers, hosts[1]) == [{"hostName": "w1"}]
    first[0]["hostName"] = "changed"
    assert shared.template(templars[0], workers, hosts[0]) == [{"hostName": "w0"}]


def test_the_same_text_that_ansible_does_not_template_is_not_given_a_templated_result():
    shared = batch.SharedTemplates()
    variables = {"x": 1}
    try:
        from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel,unused-import
        untrusted = "{{ x }}"  # ansible-core 2.19 and later: a plain string is not trusted as a template
    except ImportError:
        from ansible.utils.unsafe_proxy import wrap_var  # pylint: disable=import-outside-toplevel
        untrusted = wrap_var("{{ x }}")
    assert shared.template(_CountingTemplar(variables), _trusted("{{ x }}"), variables) == 1
    assert shared.template(_CountingTemplar(variables), untrusted, variables) == "{{ x }}"


@pytest.mark.parametrize("text, variables", [
    ("{{ inventory_hostname ~ (99999999 | random | string) }}", {"inventory_hostname": "a"}),
    ("{{ vars['inventory_hostname'] }}", {"inventory_hostname": "a"}),
    ("{{ lookup('ansible.builtin.env', 'HOME') }}", {}),
    ("{{ ztp_cluster_name }}", {"ztp_cluster_name": "{{ inventory_hostname }}", "inventory_hostname": "a"}),
])
def test_templates_that_may_answer_differently_are_not_shared(text, variables):
    class Counter(object):  # what is asked of the templar is under test here, not what it answers
        calls = 0

        def template(self, value):
            self.calls += 1
            return value

    shared = batch.SharedTemplates()
    templars = [Counter(), Counter()]
    for templar in templars:
        shared.template(templar, _trusted(text), variables)
    assert [t.calls for t in templars] == [1, 1]
    again = Counter()
    shared.template(again, _trusted("{{ x | default(1) }}"), {})
    shared.template(again, _trusted("{{ x | default(1) }}"), {})
    assert again.calls == 1  # the same kind of call without those names is shared
