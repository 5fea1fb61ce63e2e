# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hub wait of worker removal (ztp_node_removal_wait) against a fake hub."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

from ansible_collections.ztp.sno_expand.plugins.module_utils import _node_removal as nr

NOW = calendar.timegm(time.strptime("2026-01-01T01:00:00Z", "%Y-%m-%dT%H:%M:%SZ"))
NODE = {"cluster": "sno-b", "host": "w0", "namespace": "sno-b"}


class FakeHub(object):
    def __init__(self, objects):
        self.objects = objects   # {(kind, namespace, name): obj}

    def get(self, api_version, kind, name, namespace=None):
        return self.objects.get((kind, namespace, name))

    def list(self, api_version, kind, namespace=None, label_selector=None):
        items = [o for (k, ns, _n), o in self.objects.items() if k == kind and ns == namespace]
        if label_selector:
            key, value = label_selector.split("=")
            items = [o for o in items if (o["metadata"].get("labels") or {}).get(key) == value]
        return items, "1"

    def serves(self, api_version, kind):
        return True


def bmh(**meta):
    return {"metadata": dict({"name": "w0", "namespace": "sno-b"}, **meta),
            "status": {"provisioning": {"state": "deleting"}, "errorMessage": "ironic: connection refused"}}


def test_annotated_and_removed_states():
    hub = FakeHub({("BareMetalHost", "sno-b", "w0"): bmh(annotations={nr.REMOVE_AGENT_ANNOTATION: "true"})})
    assert nr.node_status(hub, NODE, nr.ANNOTATED, 1800, NOW)[0] == nr.DONE
    assert nr.node_status(hub, NODE, nr.REMOVED, 1800, NOW)[0] == nr.PENDING
    hub = FakeHub({("Agent", "sno-b", "a1"): {"metadata": {"name": "a1", "labels": {nr.BMH_LABEL: "w0"}}}})
    state, message, _s = nr.node_status(hub, NODE, nr.REMOVED, 1800, NOW)
    assert state == nr.PENDING and "Agent a1" in message
    hub = FakeHub({("ManagedClusterInfo", "sno-b", "sno-b"): {"metadata": {"name": "sno-b"}, "status": {"nodeList": [{"name": "w0"}]}}})
    assert "still lists" in nr.node_status(hub, NODE, nr.REMOVED, 1800, NOW)[1]
    assert nr.node_status(FakeHub({}), NODE, nr.REMOVED, 1800, NOW)[0] == nr.DONE


def test_hang_is_reported_with_object_and_fix():
    stuck = bmh(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["baremetalhost.metal3.io"])
    state, message, _s = nr.node_status(FakeHub({("BareMetalHost", "sno-b", "w0"): stuck}), NODE, nr.REMOVED, 1800, NOW)
    assert state == nr.HUNG
    assert "BareMetalHost sno-b/w0 has been deleting for 3600 s" in message and "baremetalhost.metal3.io" in message
    assert "connection refused" in message and "oc patch bmh -n sno-b w0" in message and "Nothing was forced" in message
    paused = {"metadata": {"name": "sno-b", "annotations": {nr.CI_PAUSED: ""}}, "spec": {"clusterName": "sno-b"},
              "status": {"paused": {"reason": "deletion timeout exceeded for object (BareMetalHost:sno-b/w0)"}}}
    recent = bmh(deletionTimestamp="2026-01-01T00:59:00Z", finalizers=["baremetalhost.metal3.io"])
    hub = FakeHub({("BareMetalHost", "sno-b", "w0"): recent, ("ClusterInstance", "sno-b", "sno-b"): paused})
    state, message, _s = nr.node_status(hub, NODE, nr.REMOVED, 1800, NOW)
    assert state == nr.HUNG and "ClusterInstance sno-b/sno-b is paused" in message and nr.CI_PAUSED + "-" in message


def test_run_wait_polls_until_done_and_times_out():
    objects = {("BareMetalHost", "sno-b", "w0"): bmh(deletionTimestamp="2026-01-01T00:59:59Z")}
    hub = FakeHub(objects)
    clock = [NOW]
    seen = []

    def sleep(seconds):
        clock[0] += seconds
        objects.clear()

    params = {"until": nr.REMOVED, "timeout": 60, "stuck_timeout": 1800, "poll_interval": 5}
    result = nr.run_wait(hub, [NODE], params, on_change=seen.append, sleep=sleep, clock=lambda: clock[0])
    assert not result.get("failed") and result["nodes"][0]["state"] == nr.DONE and [r["state"] for r in seen] == ["pending", "done"]
    hub = FakeHub({("BareMetalHost", "sno-b", "w0"): bmh()})
    result = nr.run_wait(hub, [NODE], params, sleep=sleep, clock=lambda: clock[0])
    assert result["failed"] and result["nodes"][0]["state"] == "timeout" and "not removed" in result["msg"]
