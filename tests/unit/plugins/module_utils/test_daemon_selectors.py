# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _daemon_selectors as ds
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import HubError, in_parallel

MASTER = {"node-role.kubernetes.io/master": ""}


@pytest.mark.parametrize("selector,pinned", [
    (MASTER, True),
    ({"node-role.kubernetes.io/control-plane": ""}, True),
    ({"node-role.kubernetes.io/worker": ""}, False),
    ({"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/worker": ""}, False),
    ({}, False),
    (None, False),
])
def test_pinned_to_master(selector, pinned):
    assert ds.pinned_to_master(selector) is pinned


def test_cluster_result():
    ptp = ds.describe_selector("ptp", {"spec": {"daemonNodeSelector": MASTER}})
    sriov = ds.describe_selector("sriov", None)
    res = ds.cluster_result(ptp, sriov)
    assert res["ptp"] == {"selector": MASTER, "pinned_to_master": True, "found": True}
    assert res["sriov"] == {"selector": None, "pinned_to_master": False, "found": False}
    assert res["needs_override"] == {"ptp": True, "sriov": False}
    sriov = ds.describe_selector("sriov", {"spec": {"configDaemonNodeSelector": MASTER}})
    assert ds.cluster_result(ptp, sriov)["needs_override"] == {"ptp": True, "sriov": True}


def test_build_view_matches_crd_schema():
    view = ds.build_view("sno-a", "sriov", "abc")
    assert view["metadata"]["namespace"] == "sno-a"
    assert view["spec"]["scope"] == {"apiGroup": "sriovnetwork.openshift.io", "version": "v1",
                                     "kind": "SriovOperatorConfig", "name": "default",
                                     "namespace": "openshift-sriov-network-operator"}
    assert view["metadata"]["labels"][ds.RUN_LABEL] == "abc"


def view(status, reason, message="", result=None):
    v = {"status": {"conditions": [{"type": "Processing", "status": status, "reason": reason, "message": message}]}}
    if result is not None:
        v["status"]["result"] = result
    return v


@pytest.mark.parametrize("v,outcome", [
    ({}, "pending"),
    (view("True", "GetResourceProcessing", result={"spec": {}}), "found"),
    (view("True", "GetResourceProcessing"), "pending"),
    (view("False", "GetResourceFailed", 'failed to get resource with err: x "default" not found'), "absent"),
    (view("False", "ResourceGVKInvalid", "no matches for kind"), "absent"),
    (view("False", "GetResourceFailed", "failed to get resource with err: forbidden"), "error"),
    (view("False", "ResourceTypeInvalid", "invalid resource type"), "error"),
])
def test_view_outcome(v, outcome):
    assert ds.view_outcome(v)[0] == outcome


def test_requests_in_parallel_keep_their_order_and_errors():
    calls = []

    def call(item):
        calls.append(item)
        if item % 3 == 0:
            raise HubError("cannot create view %d" % item)

    items = list(range(20))
    outcome = in_parallel(call, items)
    assert [item for item, _error in outcome] == items and sorted(calls) == items
    assert [item for item, error in outcome if error is not None] == [i for i in items if i % 3 == 0]
    assert str(outcome[3][1]) == "cannot create view 3"
