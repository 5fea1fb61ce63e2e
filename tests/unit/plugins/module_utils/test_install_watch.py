# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _install_watch as iw
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import ObjectCache

NODE = {"cluster": "sno-a", "host": "w0", "namespace": "sno-a", "bmh": "w0"}


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


def tracker(nodes=None, **limits):
    nodes = nodes or [NODE]
    streams = iw.plan_streams(nodes, mcp=limits.get("wait_for_mcp", False), run_id="r1")
    t = iw.InstallTracker(nodes, streams, 0, limits=limits)
    t.apply([("SYNC", key, []) for key, _k, _n, _s in streams], 0)
    return t


def test_plan_streams_per_namespace_and_exact_selectors():
    nodes = [{"cluster": "c%d" % i, "host": "h%d" % i, "namespace": "c%d" % i, "bmh": "h%d" % i} for i in range(3)]
    streams = iw.plan_streams(nodes, per_namespace_limit=5)
    keys = [s[0] for s in streams]
    assert len(keys) == 12 and "agent/c1" in keys and "mci/c2" in keys
    assert all(ns is not None for _k, _kind, ns, _sel in streams)
    assert [s[3] for s in streams if s[0] == "agent/c1"] == ["agent-install.openshift.io/bmh in (h1)"]
    streams = iw.plan_streams(nodes, per_namespace_limit=2, mcp=True, run_id="r1")
    assert [s[0] for s in streams] == ["ppi/*", "bmh/*", "agent/*", "mcv/*"]
    # no stream without a label selector that names exactly the batch's objects
    selectors = dict((s[1], s[3]) for s in streams)
    assert selectors["agent"] == "agent-install.openshift.io/bmh in (h0,h1,h2)"
    assert selectors["bmh"] == "infraenvs.agent-install.openshift.io in (c0,c1,c2,h0,h1,h2)"
    assert selectors["mcv"] == "ztp-sno-expand/install-view=r1"


def test_validate_nodes():
    assert iw.validate_nodes([{"cluster": "a", "host": "h"}]) == [{"cluster": "a", "host": "h", "namespace": "a", "bmh": "h"}]
    # a ClusterInstance namespace, or a hostRef to a BareMetalHost of its own name and namespace
    assert iw.validate_nodes([{"cluster": "a", "host": "h", "namespace": "ci-ns"}])[0]["namespace"] == "ci-ns"
    assert iw.validate_nodes([{"cluster": "a", "host": "h", "host_ref": {"name": "bmh-7", "namespace": "hosts"}}]) == [
        {"cluster": "a", "host": "h", "namespace": "hosts", "bmh": "bmh-7"}]
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
        t.evaluate(now)
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
    ("agent/sno-a", agent("Failed", 30), "Agent sno-a/uuid-1: installation failed (stage Failed)"),
    ("agent/sno-a", agent("Installing", 30, conditions=[{"type": "Installed", "status": "False",
                                                         "reason": "InstallationFailed", "message": "disk full"}]),
     "Agent sno-a/uuid-1: disk full (stage Installing)"),
    ("agent/sno-a", agent("Installing", 30, debugInfo={"state": "error", "stateInfo": "Host failed to install"}),
     "Agent sno-a/uuid-1: Host failed to install"),
])
def test_agent_failures_are_final_and_name_object_and_text(key, obj, text):
    t = tracker()
    t.apply([("ADDED", key, obj)], 1)
    t.evaluate(1)
    assert t.failed() and text in t.nodes[0].error
    assert t.nodes[0].state == iw.FAILED


@pytest.mark.parametrize("key,obj,text", [
    ("bmh/sno-a", bmh("registering", operationalStatus="error", errorType="registration error", errorCount=1,
                      errorMessage="BMC unreachable"), "BareMetalHost sno-a/w0: registration error: BMC unreachable"),
    ("bmh/sno-a", bmh("provisioning", errorType="provisioning error", errorMessage="boom", errorCount=1),
     "BareMetalHost sno-a/w0: provisioning error: boom"),
    ("ppi/sno-a", ppi("True", "ImageCreationError", ctype="Error"), "PreprovisioningImage sno-a/w0: ImageCreationError"),
])
def test_hub_errors_end_a_node_only_when_they_persist(key, obj, text):
    t = tracker(error_timeout=600)
    t.apply([("ADDED", key, obj)], 1)
    t.evaluate(1)
    assert not t.failed()
    assert t.nodes[0].cause and text in t.nodes[0].cause
    t.evaluate(599)
    assert not t.failed()
    t.evaluate(601)
    assert t.failed() and text in t.nodes[0].error and "(for 600 s)" in t.nodes[0].error
    assert text in t.results()[0]["cause"]


def test_transient_bmc_error_recovers_and_shows_in_the_progress():
    t = tracker()
    t.apply([("ADDED", "bmh/sno-a", bmh("registering"))], 1)
    t.evaluate(1)
    failing = bmh("registering", operationalStatus="error", errorType="registration error", errorCount=1,
                  errorMessage="Failed to get power state for node x. Error: Redfish exception")
    t.apply([("MODIFIED", "bmh/sno-a", failing)], 2)
    t.evaluate(2)
    failing2 = bmh("registering", operationalStatus="error", errorType="registration error", errorCount=2,
                   errorMessage="Failed to get power state for node x. Error: Redfish exception")
    t.apply([("MODIFIED", "bmh/sno-a", failing2)], 200)
    t.evaluate(200)
    assert not t.failed()
    # the baremetal-operator clears the error and keeps the count until the next state
    t.apply([("MODIFIED", "bmh/sno-a", bmh("registering", operationalStatus="OK", errorCount=2))], 400)
    t.evaluate(400)
    t.apply([("MODIFIED", "bmh/sno-a", bmh("inspecting", operationalStatus="OK", errorCount=0))], 410)
    t.evaluate(410)
    assert not t.failed()
    node = t.results()[0]
    assert node["cause"] == ""
    labels = [s["stage"] for s in node["stages"]]
    assert labels == ["BareMetalHost registering", "BareMetalHost registration error",
                      "BareMetalHost registration error cleared", "BareMetalHost inspecting"], labels
    recovered = [p for p in t.progress if p["stage"] == "recovered"]
    assert len(recovered) == 1 and "cleared after 398 s" in recovered[0]["message"]
    assert "recovered" in iw.progress_line(recovered[0])


def test_bmh_error_count_limit_fails_at_once():
    t = tracker(error_count_limit=3)
    t.apply([("ADDED", "bmh/sno-a", bmh("registering", operationalStatus="error", errorType="registration error",
                                        errorCount=2, errorMessage="BMC unreachable"))], 1)
    t.evaluate(1)
    assert not t.failed()
    t.apply([("MODIFIED", "bmh/sno-a", bmh("registering", operationalStatus="error", errorType="registration error",
                                           errorCount=3, errorMessage="BMC unreachable"))], 5)
    t.evaluate(5)
    assert t.failed() and "errorCount 3 reached the limit of 3" in t.nodes[0].error


def test_delayed_is_waiting_not_stalling():
    t = tracker(stage_timeouts={"available": 100})
    t.apply([("ADDED", "bmh/sno-a", bmh("available", operationalStatus="delayed"))], 1)
    for now in range(1, 1000, 50):
        t.evaluate(now)
    assert not t.failed()
    assert t.nodes[0].state == "BareMetalHost available (delayed)"
    t.apply([("MODIFIED", "bmh/sno-a", bmh("available", operationalStatus="OK"))], 1000)
    t.evaluate(1000)
    t.evaluate(1099)
    assert not t.failed()
    t.evaluate(1100)
    assert t.failed() and "stalled in stage 'available' for 100 s (limit 100 s)" in t.nodes[0].error


def test_delayed_is_not_a_stall_with_the_single_timer_either():
    t = tracker()
    t.apply([("ADDED", "bmh/sno-a", bmh("available", operationalStatus="delayed"))], 1)
    for now in range(1, 1000, 50):
        t.evaluate(now, stall_timeout=100)
    assert not t.failed()


def test_stage_limits_default_to_assisted_service_and_ignore_percentage():
    assert iw.STAGE_TIMEOUTS["Writing image to disk"] == 1800
    assert iw.STAGE_TIMEOUTS["Rebooting"] == 2400
    assert iw.STAGE_TIMEOUTS["Joined"] == 3600
    t = tracker()
    t.apply([("ADDED", "agent/sno-a", agent("Rebooting", 70))], 0)
    t.evaluate(0)
    # a slow firmware start and the realtime-kernel reboot: 35 min at Rebooting is healthy
    t.evaluate(2100)
    assert not t.failed()
    t.evaluate(2400)
    assert t.failed() and "stalled in stage 'Rebooting' for 2400 s (limit 2400 s)" in t.nodes[0].error
    t = tracker()
    t.apply([("ADDED", "agent/sno-a", agent("Writing image to disk", 10))], 0)
    t.evaluate(0)
    for now in range(60, 1800, 60):
        t.apply([("MODIFIED", "agent/sno-a", agent("Writing image to disk", 10 + now // 60))], now)
        t.evaluate(now)
    assert not t.failed()
    t.evaluate(1800)
    assert t.failed() and "'Writing image to disk'" in t.nodes[0].error


@pytest.mark.parametrize("ready_reason", ["ImageCreated", "InfraEnvAvailable"])
def test_both_preprovisioning_image_reasons(ready_reason):
    t = tracker()
    t.apply([("ADDED", "ppi/sno-a", ppi("True", ready_reason))], 3)
    t.evaluate(3)
    assert t.nodes[0].milestones.get("image") == 3
    assert t.results()[0]["stages"][-1]["stage"] == "PreprovisioningImage ImageCreated"


def condition(ctype, status, reason, message):
    return {"type": ctype, "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize("status,cause", [
    ({"debugInfo": {"state": "insufficient"}, "conditions": [condition(
        "Validated", "False", "ValidationsFailing",
        "The agent's validations are failing: This host has failed to download the ignition file from the cluster, "
        "please ensure the host can reach the cluster")]}, "failed to download the ignition file"),
    ({"debugInfo": {"state": "installing-pending-user-action", "stateInfo": "Expected the host to boot from disk, but "
                    "it booted the installation image - please reboot and fix boot order to boot from disk"}},
     "installing-pending-user-action: Expected the host to boot from disk"),
    ({"debugInfo": {"state": "disconnected"}, "conditions": [condition(
        "Connected", "False", "AgentIsDisconnected",
        "The agent has not contacted the installation service in some time, user action should be taken")]},
     "Connected=False AgentIsDisconnected"),
])
def test_agent_problems_are_named(status, cause):
    t = tracker(error_timeout=900)
    obj = {"metadata": meta("uuid-1", labels={iw.BMH_LABEL: "w0"}), "status": status}
    t.apply([("ADDED", "bmh/sno-a", bmh("provisioned")), ("ADDED", "agent/sno-a", obj)], 0)
    t.evaluate(0)
    assert cause in t.results()[0]["cause"]
    t.evaluate(900)
    assert t.failed() and cause in t.nodes[0].error


def test_long_at_joined_names_pending_csrs():
    t = tracker()
    joined = agent("Joined", 90, csrStatus={"approvedCSRs": [{"name": "csr-a", "type": "client"}]})
    t.apply([("ADDED", "bmh/sno-a", bmh("provisioned")), ("ADDED", "agent/sno-a", joined)], 0)
    t.evaluate(0)
    assert "serving CSR(s) pending" in t.results()[0]["cause"]
    t.evaluate(3600)
    assert t.failed()
    assert "stalled in stage 'Joined'" in t.nodes[0].error and "serving CSR(s) pending" in t.nodes[0].error


def pool_view(updated, updating, machines=2, done=2, degraded=None, reason="GetResourceProcessing"):
    conds = [condition("Updated", "True" if updated else "False", "", ""),
             condition("Updating", "True" if updating else "False", "", "")]
    if degraded:
        conds.append(condition("Degraded", "True", "", degraded))
    return {"metadata": meta("ztp-install-worker-mcp-r1"), "status": {
        "conditions": [condition("Processing", "True" if reason == "GetResourceProcessing" else "False", reason, "x")],
        "result": {"kind": "MachineConfigPool", "status": {
            "machineCount": machines, "updatedMachineCount": done, "conditions": conds}}}}


def installed_events():
    return [("ADDED", "bmh/sno-a", bmh("provisioned")), ("ADDED", "agent/sno-a", agent("Done", 100)),
            ("ADDED", "ppi/sno-a", ppi("True", "InfraEnvAvailable")), ("ADDED", "mci/sno-a", mci(True))]


def test_worker_pool_updated_is_the_last_milestone():
    t = tracker(wait_for_mcp=True)
    t.apply([("ADDED", "agent/sno-a", agent("Rebooting", 70))], 0)
    t.evaluate(0)
    t.apply(installed_events(), 10)
    t.evaluate(10)
    assert not t.done() and t.nodes[0].state == "Node Ready"
    # Updating and Updated fold into one round: the rollout was still seen
    t.apply([("ADDED", "mcv/sno-a", pool_view(False, True, done=1)), ("MODIFIED", "mcv/sno-a", pool_view(True, False))], 20)
    t.evaluate(20)
    assert t.done() and not t.failed()
    node = t.results()[0]
    assert node["stages"][-1]["stage"] == "MachineConfigPool worker Updated"
    assert node["durations"]["mcp"] == 10


def test_worker_pool_not_updated_stalls_with_the_views_cause():
    t = tracker(wait_for_mcp=True, stage_timeouts={"MachineConfigPool": 600})
    t.apply(installed_events(), 0)
    t.apply([("ADDED", "mcv/sno-a", pool_view(False, False, reason="ResourceGVKInvalid"))], 0)
    t.evaluate(0)
    assert "ResourceGVKInvalid" in t.results()[0]["cause"]
    t.evaluate(600)
    assert t.failed() and "ResourceGVKInvalid" in t.nodes[0].error


def test_worker_pool_without_wait_is_ready_at_node_ready():
    t = tracker(wait_for_mcp=False)
    t.apply(installed_events(), 0)
    t.evaluate(0)
    assert t.done() and "mcp" not in t.results()[0]["durations"]


def test_above_the_namespace_limit_agent_done_means_node_ready():
    nodes = [{"cluster": "c%d" % i, "host": "h%d" % i, "namespace": "c%d" % i, "bmh": "h%d" % i} for i in range(7)]
    t = iw.InstallTracker(nodes, iw.plan_streams(nodes), 0)
    done = {"metadata": meta("u3", ns="c3", labels={iw.BMH_LABEL: "h3"}), "status": {
        "progress": {"currentStage": "Done", "installationPercentage": 100}}}
    host = {"metadata": meta("h3", ns="c3"), "status": {"provisioning": {"state": "provisioned"}}}
    t.apply([("SYNC", "agent/*", [done]), ("SYNC", "bmh/*", [host]), ("SYNC", "ppi/*", [])], 0)
    t.evaluate(0)
    assert [n.ready for n in t.nodes] == [False, False, False, True, False, False, False]


def test_denial_message_names_the_permission():
    class Exc(Exception):
        status = 403
        body = ('{"message": "baremetalhosts.metal3.io is forbidden: User \\"system:serviceaccount:x:y\\" cannot '
                'list resource \\"baremetalhosts\\" in API group \\"metal3.io\\" in the namespace \\"sno-a\\""}')
    text = iw.denial_message(Exc(), "list", "metal3.io/v1alpha1", "BareMetalHost", "sno-a")
    assert text.startswith("forbidden: the credentials lack permission (HTTP 403) to list BareMetalHost (API group metal3.io)")
    assert "cannot list resource" in text and "in namespace sno-a" in text


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


def test_the_pool_view_is_wanted_once_the_install_began():
    t = tracker(wait_for_mcp=True)
    t.apply([("ADDED", "bmh/sno-a", bmh("provisioning"))], 0)
    t.evaluate(0)
    assert t.view_wanted == set()
    t.apply([("ADDED", "agent/sno-a", agent("Starting installation", 5))], 1)
    t.evaluate(1)
    assert t.view_wanted == {"sno-a"}
    assert iw.build_view("sno-a", "r1")["metadata"] == {
        "name": "ztp-install-worker-mcp-r1", "namespace": "sno-a",
        "labels": {"app.kubernetes.io/managed-by": "ztp.sno_expand", "ztp-sno-expand/install-view": "r1"}}


def test_a_pool_updated_long_after_ready_counts_without_a_seen_rollout():
    t = tracker(wait_for_mcp=True, mcp_settle=300)
    t.apply(installed_events(), 0)
    t.apply([("ADDED", "mcv/sno-a", pool_view(True, False))], 0)
    t.evaluate(0)
    t.evaluate(299)
    assert not t.done()
    t.evaluate(300)
    assert t.done() and not t.failed()


def labelled_mci():
    return {"metadata": meta("sno-a"), "status": {"nodeList": [
        {"name": "sno-a", "labels": {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/worker": ""},
         "conditions": [{"type": "Ready", "status": "True"}]},
        {"name": "w0.example.com", "labels": {"node-role.kubernetes.io/worker": ""},
         "conditions": [{"type": "Ready", "status": "True"}]}]}}


def test_a_rerun_is_done_at_once_when_the_updated_pool_counts_every_listed_worker():
    t = tracker(wait_for_mcp=True, mcp_settle=300)
    t.apply(installed_events() + [("MODIFIED", "mci/sno-a", labelled_mci()),
                                  ("ADDED", "mcv/sno-a", pool_view(True, False, machines=1, done=1))], 0)
    t.evaluate(0)
    assert t.done() and not t.failed()
    assert t.results()[0]["stages"][-1]["stage"] == "MachineConfigPool worker Updated"


def test_an_updated_pool_that_does_not_count_the_new_worker_yet_is_waited_for():
    t = tracker(wait_for_mcp=True, mcp_settle=300)
    # the single-node master is in the master pool; the worker pool still has no machine
    t.apply(installed_events() + [("MODIFIED", "mci/sno-a", labelled_mci()),
                                  ("ADDED", "mcv/sno-a", pool_view(True, False, machines=0, done=0))], 0)
    t.evaluate(0)
    t.evaluate(400)
    assert not t.done()
    t.apply([("MODIFIED", "mcv/sno-a", pool_view(True, False, machines=1, done=1))], 401)
    t.evaluate(401)
    assert t.done() and not t.failed()


def test_a_stage_keeps_its_start_when_only_the_percentage_moves():
    t = tracker()
    t.apply([("ADDED", "agent/sno-a", agent("Writing image to disk", 10))], 5)
    t.evaluate(5)
    t.apply([("MODIFIED", "agent/sno-a", agent("Writing image to disk", 60))], 50)
    t.evaluate(50)
    entry = [s for s in t.results()[0]["stages"] if s["stage"] == "Agent Writing image to disk"]
    assert len(entry) == 1 and entry[0]["percentage"] == 60 and entry[0]["at"] == iw.now_iso(5)


class StatusError(Exception):
    def __init__(self, status, message):
        super(StatusError, self).__init__(message)
        self.status = status


class RecordingHub(object):
    """Records the view requests of ``Views`` (a unit test of the bookkeeping; the e2e tests use a real API server)."""

    def __init__(self, refuse=None):
        self.calls = []
        self.refuse = refuse or {}

    def resource(self, api_version, kind):
        hub = self

        class Res(object):
            def create(self, body, namespace):
                hub.calls.append(("create", namespace, body["metadata"]["name"]))
                if namespace in hub.refuse:
                    raise StatusError(*hub.refuse[namespace])
        return Res()

    def delete(self, api_version, kind, name, namespace):
        self.calls.append(("delete", namespace, name))


def test_a_view_is_deleted_once_its_cluster_is_judged_and_only_once():
    nodes = iw.validate_nodes([{"cluster": "sno-a", "host": "w0"}, {"cluster": "sno-a", "host": "w1"},
                               {"cluster": "sno-b", "host": "w0"}])
    t = iw.InstallTracker(nodes, iw.plan_streams(nodes, mcp=True, run_id="r1"), 0, limits={"wait_for_mcp": True})
    views = iw.Views(RecordingHub(), "r1")
    views.ensure({"sno-a", "sno-b"})
    t.nodes[0].ready = True
    assert t.judged_clusters() == set()
    t.nodes[1].failed = True
    t.nodes[2].ready = True
    assert t.judged_clusters() == {"sno-a", "sno-b"}
    views.release({"sno-a"})
    views.release({"sno-a"})
    views.cleanup()
    assert [c for c in views.hub.calls if c[0] == "delete"] == [
        ("delete", "sno-a", "ztp-install-worker-mcp-r1"), ("delete", "sno-b", "ztp-install-worker-mcp-r1")]


def test_views_of_a_whole_batch_are_created_and_deleted_together():
    clusters = ["sno-%03d" % i for i in range(40)]
    hub = RecordingHub(refuse={"sno-007": (409, "already exists"), "sno-011": (500, "etcdserver: request timed out")})
    views = iw.Views(hub, "r1")
    views.ensure(set(clusters))
    views.ensure(set(clusters))  # asked once
    assert sorted(c[1] for c in hub.calls if c[0] == "create") == clusters
    assert views.errors == {"sno-011": "etcdserver: request timed out"}
    assert sorted(views.created) == [c for c in clusters if c not in ("sno-007", "sno-011")]
    views.release(set(clusters[:20]))
    views.cleanup()
    deleted = [c[1] for c in hub.calls if c[0] == "delete"]
    assert sorted(deleted) == sorted(views.asked - {"sno-007", "sno-011"}) and views.created == []


def test_a_refused_view_names_the_permission_and_the_way_without_views():
    views = iw.Views(RecordingHub(refuse={"sno-b": (403, "forbidden")}), "r1")
    with pytest.raises(iw.HubError) as err:
        views.ensure({"sno-a", "sno-b", "sno-c"})
    assert "wait_for_mcp=false does without views" in str(err.value) and "sno-b" in str(err.value)
