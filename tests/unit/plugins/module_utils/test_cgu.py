# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cgu as cgu
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors


def c(ctype, status, reason, message=""):
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def obj(conditions, **status):
    status["conditions"] = conditions
    return {"spec": {"managedPolicies": ["p1", "p2"], "clusters": ["sno-a", "sno-b"]}, "status": status}


SEL = c("ClustersSelected", "True", "ClusterSelectionCompleted")
VAL = c("Validated", "True", "ValidationCompleted")


@pytest.mark.parametrize("conditions,state,reason,terminal", [
    ([], cgu.WAITING, None, False),
    ([SEL, VAL, c("Progressing", "True", "InProgress")], cgu.WAITING, "InProgress", False),
    ([SEL, VAL, c("Progressing", "False", "Completed"), c("Succeeded", "True", "Completed")], cgu.SUCCEEDED, "Completed", True),
    ([SEL, VAL, c("Progressing", "False", "TimedOut"), c("Succeeded", "False", "TimedOut")], cgu.FAILED, "TimedOut", True),
    ([SEL, VAL, c("Succeeded", "False", "Failed")], cgu.FAILED, "Failed", True),
    # TALM selects again every 5 minutes and looks for a missing blocking CGU every minute: waits
    ([c("ClustersSelected", "False", "ClusterNotFound", "Unable to select clusters: x")], cgu.WAITING, "ClusterNotFound", False),
    ([SEL, c("Validated", "False", "NotAllManagedPoliciesExist", "Missing managed policies: [p2]")], cgu.FAILED,
     "NotAllManagedPoliciesExist", False),
    ([SEL, c("Validated", "False", "AmbiguousManagedPoliciesNames")], cgu.FAILED, "AmbiguousManagedPoliciesNames", False),
    ([SEL, VAL, c("Progressing", "False", "NotEnabled")], cgu.FAILED, "NotEnabled", False),
    ([SEL, VAL, c("Progressing", "False", "MissingBlockingCR")], cgu.WAITING, "MissingBlockingCR", False),
    ([SEL, VAL, c("Progressing", "False", "IncompleteBlockingCR")], cgu.WAITING, "IncompleteBlockingCR", False),
    ([SEL, VAL, c("Progressing", "True", "WaitingForPlacement")], cgu.WAITING, "WaitingForPlacement", False),
    # the misspelt precaching condition of TALM
    ([SEL, VAL, c("PrecachingSuceeded", "False", "Failed")], cgu.FAILED, "Failed", False),
])
def test_interpret_table(conditions, state, reason, terminal):
    verdict = cgu.interpret(obj(conditions))
    assert (verdict["state"], verdict["reason"], verdict["terminal"]) == (state, reason, terminal)
    assert verdict["succeeded"] == (state == cgu.SUCCEEDED)


def test_hints():
    v = cgu.interpret(obj([SEL, c("Validated", "False", "NotAllManagedPoliciesExist", "Missing managed policies: [x]")]))
    msg = cgu.failure_message("n", "default", v)
    assert "Missing managed policies: [x]" in msg and "<policyName>" in msg
    v = cgu.interpret(obj([SEL, VAL, c("Progressing", "True", "WaitingForPlacement")]))
    assert "ManagedClusterSetBinding" in v["hint"]


def test_timed_out_detail_names_clusters_and_policies():
    o = obj([SEL, VAL, c("Succeeded", "False", "TimedOut")],
            managedPoliciesForUpgrade=[{"name": "p1"}, {"name": "p2"}],
            remediationPlan=[["sno-a"], ["sno-b"]],
            clusters=[{"name": "sno-a", "state": "complete"},
                      {"name": "sno-b", "state": "timedout", "currentPolicy": {"name": "p2", "status": "NonCompliant"}}])
    v = cgu.interpret(o)
    assert v["detail"] == "clusters not completed: sno-b (timedout, policy p2)"


def test_cluster_states_from_batch_progress():
    o = obj([], managedPoliciesForUpgrade=[{"name": "p1"}, {"name": "p2"}], remediationPlan=[["sno-a"], ["sno-b"]],
            status={"currentBatchRemediationProgress": {"sno-a": {"state": "InProgress", "policyIndex": 1}}})
    assert cgu.cluster_states(o) == {"sno-a": {"state": "InProgress", "policy": "p2"},
                                     "sno-b": {"state": "Pending", "policy": None}}


def test_progress_events_fold():
    o1 = obj([c("Progressing", "True", "InProgress")], managedPoliciesForUpgrade=[{"name": "p1"}, {"name": "p2"}],
             status={"currentBatchRemediationProgress": {"sno-a": {"state": "InProgress", "policyIndex": 0}}})
    o2 = obj([c("Progressing", "True", "InProgress")], managedPoliciesForUpgrade=[{"name": "p1"}, {"name": "p2"}],
             status={"currentBatchRemediationProgress": {"sno-a": {"state": "InProgress", "policyIndex": 1}}})
    first = cgu.progress_events(None, o1, "t1")
    assert first[0]["state"] == "InProgress" and first[0]["cluster"] is None
    assert {"time": "t1", "cluster": "sno-a", "policy": "p1", "state": "InProgress"} in first
    second = cgu.progress_events(o1, o2, "t2")
    assert second == [{"time": "t2", "cluster": "sno-a", "policy": "p2", "state": "InProgress"}]
    assert cgu.progress_events(o2, o2, "t3") == []


def params(**kw):
    base = dict(name="x", state="present", clusters=["sno-a"], cluster_label_selectors=[], managed_policies=["p1"],
                max_concurrency=1, timeout=240, enable=True, wait=False, canaries=[], blocking_crs=[],
                batch_timeout_action=None)
    base.update(kw)
    return base


def test_spec_and_patch():
    spec = cgu.build_spec(params(canaries=["sno-a"]))
    assert spec == {"managedPolicies": ["p1"], "enable": True, "clusters": ["sno-a"],
                    "remediationStrategy": {"maxConcurrency": 1, "timeout": 240, "canaries": ["sno-a"]}}
    # the API server's defaults do not count as differences
    existing = dict(spec, backup=False, preCaching=False, actions={"afterCompletion": {"deleteObjects": True}},
                    batchTimeoutAction="Continue")
    assert cgu.spec_patch(existing, spec) == {}
    assert cgu.spec_patch(existing, cgu.build_spec(params(managed_policies=["p1", "p2"]))) == {
        "managedPolicies": ["p1", "p2"], "remediationStrategy": {"canaries": None}}


@pytest.mark.parametrize("kw,field", [
    (dict(clusters=[], cluster_label_selectors=[]), "clusters"),
    (dict(managed_policies=[]), "managed_policies"),
    (dict(managed_policies=["p1", "p1"]), "managed_policies[1]"),
    (dict(managed_policies=["ztp-site.p1"]), "managed_policies[0]"),
    (dict(max_concurrency=0), "max_concurrency"),
    (dict(enable=False, wait=True), "wait"),
    (dict(canaries=["sno-z"]), "canaries[0]"),
])
def test_validate(kw, field):
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as err:
        cgu.validate_params(params(**kw))
    assert field in str(err.value)


def test_policy_names_that_make_talm_placement_names_over_63_characters_are_refused():
    # ztp-workers-3db564c5d6-sno-b-workers-config-policy-placement-ppgv8: 66 characters, a label value the placement
    # controller cannot write, so no cluster would ever be decided
    with pytest.raises(ZtpInputError) as err:
        cgu.validate_params(params(name="ztp-workers-3db564c5d6", managed_policies=["sno-b-workers-config-policy"]))
    message = str(err.value)
    assert "managed_policies[0]" in message and "at most 24 characters" in message
    assert "ztp-workers-3db564c5d6-sno-b-workers-config-policy-placement-xxxxx" in message
    cgu.validate_params(params(name="ztp-workers-3db564", managed_policies=["sno-b-workers-config-policy"]))  # 62


def test_finished_and_started():
    assert not cgu.is_finished(obj([SEL]))
    assert cgu.is_finished(obj([c("Succeeded", "True", "Completed")]))
    assert cgu.is_started(obj([], status={"startedAt": "x"}))


def _finished(for_upgrade, compliant_before, managed, validated="True"):
    return {"spec": {"managedPolicies": managed},
            "status": {"conditions": [{"type": "Validated", "status": validated, "reason": "ValidationCompleted"},
                                      {"type": "Succeeded", "status": "True", "reason": "Completed"}],
                       "managedPoliciesForUpgrade": [{"name": n, "namespace": "ztp-site"} for n in for_upgrade],
                       "managedPoliciesCompliantBeforeUpgrade": compliant_before}}


def test_changed_policies_talm_did_not_remediate():
    # remediated: nothing stale
    assert cgu.compliant_before(_finished(["w"], [], ["w"]), ["w"]) == []
    # judged compliant on the old content
    assert cgu.compliant_before(_finished([], ["w"], ["w"]), ["w"]) == ["w"]
    # skipped by TALM because its replicated policy was still enforce: in neither list (controllers/policy.go)
    assert cgu.compliant_before(_finished(["g"], [], ["g", "w"]), ["w", "g"]) == ["w"]
    # a changed policy this CGU does not manage, or a CGU TALM has not validated, is no evidence
    assert cgu.compliant_before(_finished(["g"], [], ["g"]), ["other"]) == []
    assert cgu.compliant_before(_finished([], [], ["w"], validated="False"), ["w"]) == []
    message = cgu.stale_message("ztp-1", "default", ["w"], 30, 300)
    assert "skipped it because its replicated policy was still enforce" in message
