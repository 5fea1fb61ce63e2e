# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import install_watch as iw
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import ObjectCache

NODE = {"cluster": "sno-a", "host": "w0", "namespace": "sno-a"}


def meta(name, ns="sno-a", labels=None):
    return {"name": name, "namespace": ns, "labels": labels or {}}


def bmh(state, **status):
    status["provisioning"] = {"state": state}
    return {"metadata": meta("w0"), "status": status}


def ppi(status, reason, ctype="Ready"):
    return {"metadata": meta("w0"), "status": {"conditions": [{"type": ctype, "status": status, "reason": reason,
                                                               "message": reason}]}}


def agent(stage, pct=None, **status):
    status["progress"] = {"currentStage": stage, "installationPercentage": pct}
    return {"metadata": meta("uuid-1", labels={iw.BMH_LABEL: "w0"}), "status": status}


def mci(ready):
    return {"metadata": meta("sno-a"), "status": {"nodeList": [
        {"name": "sno-a", "conditions": [{"type": "Ready", "status": "True"}]},
        {"name": "w0.example.com", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}]}}


def tracker(nodes=None):
    nodes = nodes or [NODE]
    streams = iw.plan_streams(nodes)
    t = iw.InstallTracker(nodes, streams, 0)
    t.apply([("SYNC", key, []) for key, _k, _n, _s in streams], 0)
    return t


def test_plan_streams_per_namespace_and_all():
    nodes = [{"cluster": "c%d" % i, "host": "h", "namespace": "c%d" % i} for i in range(3)]
    keys = [s[0] for s in iw.plan_streams(nodes, per_namespace_limit=5)]
    assert len(keys) == 12 and "agent/c1" in keys and "mci/c2" in keys
    streams = iw.plan_streams(nodes, per_namespace_limit=2)
    assert [s[0] for s in streams] == ["ppi/*", "bmh/*", "agent/*", "mci/*"]
    assert [s[3] for s in streams if s[1] == "agent"] == [iw.BMH_LABEL]


def test_validate_nodes():
    assert iw.validate_nodes([{"cluster": "a", "host": "h"}]) == [{"cluster": "a", "host": "h", "namespace": "a"}]
    with pytest.raises((ZtpInputError, ZtpInputErrors)):
        iw.validate_nodes([{"cluster": "a"}])
    with pytest.raises((ZtpInputError, ZtpInputErrors)):
        iw.validate_nodes([{"cluster": "a", "host": "h"}, {"cluster": "a", "host": "h"}])


def test_full_install_event_folding_and_durations():
    t = tracker()
    t.evaluate(0)
    steps = [
        (10, "ADDED", "bmh/sno-a", bmh("registering")),
        (20, "ADDED", "ppi/sno-a", ppi("False", "WaitingForInfraEnvImageToBeCreated")),
        (40, "MODIFIED", "ppi/sno-a", ppi("True", "ImageCreated")),
        (60, "MODIFIED", "bmh/sno-a", bmh("provisioning")),
        (100, "ADDED", "agent/sno-a", agent("Starting installation", 5)),
        (130, "MODIFIED", "agent/sno-a", agent("Writing image to disk", 30)),
        (140, "MODIFIED", "agent/sno-a", agent("Writing image to disk", 55)),
        (200, "MODIFIED", "bmh/sno-a", bmh("provisioned")),
        (300, "MODIFIED", "agent/sno-a", agent("Rebooting", 70)),
        (900, "MODIFIED", "agent/sno-a", agent("Done", 100)),
        (950, "ADDED", "mci/sno-a", mci(True)),
    ]
    for now, etype, key, obj in steps:
        t.apply([(etype, key, obj)], now)
        t.evaluate(now, stall_timeout=3600)
    assert t.done() and not t.failed()
    node = t.results()[0]
    assert node["ready"] and node["state"] == "ready" and node["agent"] == "uuid-1"
    labels = [s["stage"] for s in node["stages"]]
    assert labels == ["BareMetalHost registering", "PreprovisioningImage WaitingForInfraEnvImageToBeCreated",
                      "PreprovisioningImage ImageCreated", "BareMetalHost provisioning", "Agent Starting installation",
                      "Agent Writing image to disk", "BareMetalHost provisioned", "Agent Rebooting", "Agent Done",
                      "Node Ready"]
    # percentage updates of one stage fold into one entry
    assert [s["percentage"] for s in node["stages"] if s["stage"] == "Agent Writing image to disk"] == [55]
    assert node["durations"] == {"image": 40, "provisioning": 140, "install": 800, "ready": 50}
    assert t.summary(950)["ready"] == 1


def test_sync_replaces_and_delete_removes():
    t = tracker()
    t.apply([("SYNC", "bmh/sno-a", [bmh("provisioning")])], 1)
    t.evaluate(1)
    assert t.nodes[0].state == "BareMetalHost provisioning"
    t.apply([("SYNC", "bmh/sno-a", [])], 2)
    assert t.objects["bmh"] == {}
    t.apply([("ADDED", "agent/sno-a", agent("Installing")), ("DELETED", "agent/sno-a", agent("Installing"))], 3)
    assert t.find_agent("sno-a", "w0") is None


def test_already_installed_at_start_has_no_durations():
    t = tracker()
    t.apply([("SYNC", "bmh/sno-a", [bmh("provisioned")]), ("SYNC", "agent/sno-a", [agent("Done", 100)]),
             ("SYNC", "mci/sno-a", [mci(True)]), ("SYNC", "ppi/sno-a", [ppi("True", "ImageCreated")])], 5)
    t.evaluate(5)
    node = t.results()[0]
    assert node["ready"] and node["durations"] == {"image": None, "provisioning": None, "install": None, "ready": None}


@pytest.mark.parametrize("key,obj,text", [
    ("bmh/sno-a", bmh("registering", operationalStatus="error", errorType="registration error",
                      errorMessage="BMC unreachable"), "BareMetalHost sno-a/w0: registration error: BMC unreachable"),
    ("bmh/sno-a", bmh("provisioning", errorType="provisioning error", errorMessage="boom"),
     "BareMetalHost sno-a/w0: provisioning error: boom"),
    ("ppi/sno-a", ppi("True", "ImageCreationError", ctype="Error"), "PreprovisioningImage sno-a/w0: ImageCreationError"),
    ("agent/sno-a", agent("Failed", 30), "Agent sno-a/uuid-1: installation failed (stage Failed)"),
    ("agent/sno-a", agent("Installing", 30, conditions=[{"type": "Installed", "status": "False",
                                                         "reason": "InstallationFailed", "message": "disk full"}]),
     "Agent sno-a/uuid-1: disk full (stage Installing)"),
    ("agent/sno-a", agent("Installing", 30, debugInfo={"state": "error", "stateInfo": "Host failed to install"}),
     "Agent sno-a/uuid-1: Host failed to install"),
])
def test_failures_name_object_and_text(key, obj, text):
    t = tracker()
    t.apply([("ADDED", key, obj)], 1)
    t.evaluate(1)
    assert t.failed() and text in t.nodes[0].error
    assert t.nodes[0].state == iw.FAILED


def test_stall():
    t = tracker()
    t.apply([("ADDED", "agent/sno-a", agent("Installing", 20))], 10)
    t.evaluate(10, stall_timeout=100)
    t.evaluate(100, stall_timeout=100)
    assert not t.failed()
    t.apply([("MODIFIED", "agent/sno-a", agent("Installing", 20))], 105)  # no change is no progress
    t.evaluate(111, stall_timeout=100)
    assert t.failed()
    assert "no progress for 101 s; last stage 'Agent Installing' since" in t.nodes[0].error


def test_node_matching_and_not_ready():
    assert iw.node_signal(mci(True), "w0") is True
    assert iw.node_signal(mci(False), "w0") is False
    assert iw.node_signal(mci(True), "w") is None
    assert iw.node_signal(None, "w0") is None


def test_retry_event_is_recorded():
    t = tracker()
    t.apply([("RETRY", "bmh/sno-a", "connection refused; listing again")], 3)
    assert t.retries == 1 and t.progress[-1]["stage"] == "reconnecting"


def test_object_cache_fold():
    cache = ObjectCache()
    a = {"metadata": {"namespace": "n", "name": "a"}}
    b = {"metadata": {"namespace": "n", "name": "b"}}
    assert cache.apply([("SYNC", "k", [a])]) == {"k"}
    assert cache.apply([("SYNC", "k", [a])]) == set()
    assert cache.apply([("ADDED", "k", b), ("DELETED", "k", a)]) == {"k"}
    assert cache.objects("k") == [b] and cache.get("k", "n", "a") is None


def test_until_rendered_is_done_as_soon_as_the_bare_metal_host_exists():
    nodes = iw.validate_nodes([{"cluster": "sno-a", "host": "w0"}])
    streams = iw.plan_streams(nodes)
    tracker = iw.InstallTracker(nodes, streams, 0.0, until=iw.RENDERED)
    bmh_stream = [key for key, kind_id, _ns, _sel in streams if kind_id == "bmh"][0]
    for key, _kind, _ns, _sel in streams:
        tracker.apply([("SYNC", key, [])], 0.0)
    tracker.evaluate(1.0)
    assert not tracker.done()
    tracker.apply([("ADDED", bmh_stream, {"metadata": {"namespace": "sno-a", "name": "w0"}, "status": {}})], 2.0)
    tracker.evaluate(2.0)
    assert tracker.done() and tracker.results()[0]["state"] == iw.RENDERED
