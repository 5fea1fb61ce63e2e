"""Tests of the filters over hub objects and install results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.filter import batch


def test_policy_compliance_per_cluster_and_table():
    policies = [
        {"metadata": {"name": "p1"}, "status": {"status": [{"clustername": "a", "compliant": "Compliant"},
                                                           {"clustername": "b", "compliant": "NonCompliant"}]}},
        {"metadata": {"name": "p2"}, "status": {"status": [{"clustername": "a"}]}},
        {"metadata": {"name": "p3"}},
    ]
    assert batch.ztp_policy_compliance(policies, "a") == {"p1": "Compliant", "p2": "Pending", "p3": "NotBound"}
    assert batch.ztp_policy_compliance(policies, "b") == {"p1": "NonCompliant", "p2": "NotBound", "p3": "NotBound"}
    assert batch.ztp_policy_compliance(policies) == {"a": {"p1": "Compliant", "p2": "Pending"}, "b": {"p1": "NonCompliant"}}


def test_node_summary_keeps_the_cause():
    node = {"cluster": "a", "host": "w0", "state": "failed", "ready": False, "error": "BareMetalHost w0: registration error",
            "durations": {"image": 3.0}}
    assert batch.ztp_node_summary(node) == {"cluster": "a", "host": "w0", "state": "failed", "ready": False,
                                            "cause": "BareMetalHost w0: registration error", "seconds": {"image": 3.0}}
