"""Tests of the filters that fold per-cluster data into batch-wide values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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


def test_node_problems_prefer_the_node_error_over_the_batch_message():
    nodes = [{"cluster": "a", "host": "w0", "error": "BareMetalHost a/w0: registration error", "state": "failed"},
             {"cluster": "b", "host": "w1", "error": None, "state": "Agent Installing"}]
    assert batch.ztp_node_problems(nodes, "timed out after 10 s") == [
        "a/w0: BareMetalHost a/w0: registration error",
        "b/w1: not ready, last state 'Agent Installing' (timed out after 10 s)"]


def test_cluster_summary_reports_unverified_workers():
    summary = batch.ztp_cluster_summary({
        "inventory_hostname": "a",
        "policy_creation_request": {"cluster": "a", "worker_policies": ["a-workers-config-policy"], "paths": ["p.yaml"]},
        "node_addition_request": {"cluster": "a", "hosts": ["w0"], "paths": []},
    })
    assert summary["worker_policy_file_changed"] is True and summary["cluster_file_changed"] is False
    assert summary["workers"] == [{"host": "w0", "state": "not verified"}]


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
