"""Tests of the filters that fold per-cluster data into batch-wide values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.ztp.sno_expand.plugins.filter import batch


def test_batch_nodes_flattens_requests_in_order():
    requests = [{"cluster": "a", "hosts": ["a-w0", "a-w1"]}, {"cluster": "b", "hosts": ["b-w0"]}, {"cluster": "c", "hosts": []}]
    assert batch.ztp_batch_nodes(requests) == [
        {"cluster": "a", "host": "a-w0"}, {"cluster": "a", "host": "a-w1"}, {"cluster": "b", "host": "b-w0"}]


def test_batch_nodes_rejects_a_request_without_cluster():
    with pytest.raises(AnsibleFilterError, match="needs a 'cluster'"):
        batch.ztp_batch_nodes([{"hosts": ["x"]}])


def test_policy_compliance_per_cluster():
    policies = [
        {"metadata": {"name": "p1"}, "status": {"status": [{"clustername": "a", "compliant": "Compliant"},
                                                           {"clustername": "b", "compliant": "NonCompliant"}]}},
        {"metadata": {"name": "p2"}, "status": {"status": [{"clustername": "a"}]}},
        {"metadata": {"name": "p3"}},
    ]
    assert batch.ztp_policy_compliance(policies, "a") == {"p1": "Compliant", "p2": "Pending", "p3": "NotBound"}
    assert batch.ztp_policy_compliance(policies, "b") == {"p1": "NonCompliant", "p2": "NotBound", "p3": "NotBound"}
    assert batch.ztp_policy_compliance(policies) == {"a": {"p1": "Compliant", "p2": "Pending"}, "b": {"p1": "NonCompliant"}}


def test_node_problems_prefer_the_node_error_over_the_batch_message():
    nodes = [{"cluster": "a", "host": "w0", "error": "BareMetalHost a/w0: registration error", "state": "failed"},
             {"cluster": "b", "host": "w1", "error": None, "state": "Agent Installing"}]
    assert batch.ztp_node_problems(nodes, "timed out after 10 s") == [
        "a/w0: BareMetalHost a/w0: registration error",
        "b/w1: not ready, last state 'Agent Installing' (timed out after 10 s)"]


def test_cluster_summary_reports_unverified_workers():
    summary = batch.ztp_cluster_summary({
        "inventory_hostname": "a",
        "policy_creation_request": {"cluster": "a"},
        "policy_creation_written": {"clusters": {"a": {"policies": ["a-workers-config-policy"], "paths": ["p.yaml"]}}},
        "node_addition_request": {"cluster": "a", "hosts": ["w0"]},
        "node_addition_nodes": {"clusters": {"a": {"paths": [], "changed": False}, "b": {"paths": ["s.yaml"]}}},
    })
    assert summary["worker_policies"] == ["a-workers-config-policy"]
    assert summary["worker_policy_file_changed"] is True and summary["cluster_file_changed"] is False
    assert summary["selector_overrides_written"] is False
    assert summary["workers"] == [{"host": "w0", "state": "not verified"}]


def test_cluster_summary_reads_the_batch_results_of_its_own_cluster():
    summary = batch.ztp_cluster_summary({
        "inventory_hostname": "host-b",
        "selector_checks_request": {"cluster": "b", "group_policy_path": "pgt/group.yaml"},
        "selector_checks_plan": {"clusters": ["b"]},
        "selector_checks_edits": {"results": [{"item": {"path": "pgt/group.yaml"}, "changed": True}]},
        "node_addition_request": {"cluster": "b", "hosts": ["b-w0"]},
        "node_addition_nodes": {"clusters": {"b": {"paths": ["siteconfig/b.yaml"], "changed": True}}},
        "install_verification_result": {"nodes": [{"cluster": "a", "host": "a-w0", "ready": True},
                                                  {"cluster": "b", "host": "b-w0", "state": "Ready", "ready": True}]},
    })
    assert summary["cluster"] == "b"
    assert summary["selector_overrides_written"] is True and summary["cluster_file_changed"] is True
    assert summary["workers"] == [{"cluster": "b", "host": "b-w0", "state": "Ready", "ready": True, "seconds": {}}]


def test_selector_edits_fold_clusters_sharing_a_group_template():
    requests = [
        {"cluster": "a", "group_policy_path": "pgt/group.yaml", "needs": {"ptp": True, "sriov": False}},
        {"cluster": "b", "group_policy_path": "pgt/group.yaml", "needs": {"ptp": False, "sriov": True}},
        {"cluster": "c", "group_policy_path": "pg/group.yaml", "needs": {"ptp": False, "sriov": False}},
        {"cluster": "d", "group_policy_path": "pg/other.yaml", "needs": {"ptp": True, "sriov": False}},
    ]
    assert batch.ztp_selector_edits(requests) == [
        {"path": "pg/other.yaml", "ptp": True, "sriov": False},
        {"path": "pgt/group.yaml", "ptp": True, "sriov": True}]


def test_selector_edits_need_a_group_template():
    with pytest.raises(AnsibleFilterError, match="no group_policy_path"):
        batch.ztp_selector_edits([{"cluster": "a", "needs": {"ptp": True}}])


def test_selector_plan_stops_clusters_without_opt_in_and_plans_the_rest():
    requests = [
        {"cluster": "a", "group_policy_path": "pgt/group.yaml", "policies": ["g1"], "allow_disruption": True},
        {"cluster": "b", "group_policy_path": "pgt/group.yaml", "policies": ["g1", "g2"], "allow_disruption": False},
        {"cluster": "c", "group_policy_path": "pgt/group.yaml", "policies": ["g1"], "allow_disruption": False},
        {"cluster": "d", "group_policy_path": "pg/other.yaml", "policies": ["g2", "g3"], "allow_disruption": True},
    ]
    findings = {
        "a": {"needs_override": {"ptp": True, "sriov": False}},
        "b": {"needs_override": {"ptp": False, "sriov": True}},
        "c": {"needs_override": {"ptp": False, "sriov": False}},
        "d": {"needs_override": {"ptp": True, "sriov": True}},
    }
    plan = batch.ztp_selector_plan(requests, findings)
    assert plan["stops"] == {"b": ["the SR-IOV config daemon (SriovOperatorConfig)"]}
    assert plan["edits"] == [{"path": "pg/other.yaml", "ptp": True, "sriov": True},
                             {"path": "pgt/group.yaml", "ptp": True, "sriov": False}]
    assert plan["clusters"] == ["a", "d"]
    assert plan["policies"] == ["g1", "g2", "g3"]


def test_selector_plan_needs_findings_for_every_cluster():
    with pytest.raises(AnsibleFilterError, match="no selector findings for cluster 'b'"):
        batch.ztp_selector_plan([{"cluster": "a"}, {"cluster": "b"}], {"a": {"needs_override": {}}})


def test_bmc_secrets_prefer_per_host_credentials_and_skip_workers_without_any():
    workers = [{"hostName": "w0", "bmcCredentialsName": {"name": "w0-bmc"}},
               {"hostName": "w1", "bmcCredentialsName": {"name": "w1-bmc"}}]
    secrets = batch.ztp_bmc_secrets(workers, "sno-a", {"w0": {"username": "root", "password": "pässword"}}, "admin", "shared")
    assert [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in secrets] == [("sno-a", "w0-bmc"), ("sno-a", "w1-bmc")]
    assert base64.b64decode(secrets[0]["data"]["password"]).decode("utf-8") == "pässword"
    assert base64.b64decode(secrets[1]["data"]["username"]) == b"admin"
    assert batch.ztp_bmc_secrets(workers, "sno-a", {"w1": {"username": "u", "password": "p"}}) == [secrets[1] | {
        "data": {"username": "dQ==", "password": "cA=="}}]


def test_batch_summary_groups_nodes_by_cluster():
    nodes = [{"cluster": "a", "host": "w0", "state": "Ready", "ready": True, "durations": {"Agent": 3}},
             {"cluster": "b", "host": "w1", "state": "Agent Installing", "ready": False},
             {"cluster": "a", "host": "w2", "state": "Ready", "ready": True}]
    summary = batch.ztp_batch_summary(nodes)
    assert list(summary) == ["a", "b"]
    assert [n["host"] for n in summary["a"]] == ["w0", "w2"] and summary["a"][0]["seconds"] == {"Agent": 3}
    assert summary["b"] == [{"cluster": "b", "host": "w1", "state": "Agent Installing", "ready": False, "seconds": {}}]
