# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PTP and SR-IOV daemon node selectors of spokes.

ZTP profiles of plugin 4.11 and older pin the PTP daemon (``PtpOperatorConfig default`` in
``openshift-ptp``, ``spec.daemonNodeSelector``) and the SR-IOV config daemon (``SriovOperatorConfig
default`` in ``openshift-sriov-network-operator``, ``spec.configDaemonNodeSelector``) to master nodes, so
they never run on an added worker. This reads them from a spoke directly or from the hub through
``ManagedClusterView`` objects, and says whether the group policy needs the worker selector override.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import (
    MANAGED_BY, MANAGED_BY_LABEL, ObjectCache, WatchSet, conditions_by_type, in_parallel)

VIEW_API_VERSION = "view.open-cluster-management.io/v1beta1"
VIEW_KIND = "ManagedClusterView"
RUN_LABEL = "ztp-sno-expand/view-run"

# what to read on each spoke
TARGETS = {
    "ptp": {"group": "ptp.openshift.io", "version": "v1", "kind": "PtpOperatorConfig",
            "name": "default", "namespace": "openshift-ptp", "field": "daemonNodeSelector"},
    "sriov": {"group": "sriovnetwork.openshift.io", "version": "v1", "kind": "SriovOperatorConfig",
              "name": "default", "namespace": "openshift-sriov-network-operator",
              "field": "configDaemonNodeSelector"},
}
MASTER_LABELS = ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane")
WORKER_LABEL = "node-role.kubernetes.io/worker"

# ManagedClusterView condition reasons (stolostron/multicloud-operators-foundation, view/v1beta1)
VIEW_OK = "GetResourceProcessing"
VIEW_GET_FAILED = "GetResourceFailed"
VIEW_GVK_INVALID = "ResourceGVKInvalid"


def describe_selector(which, obj):
    """``{selector, pinned_to_master, found}`` for one operator config object (None: not installed)."""
    if obj is None:
        return {"selector": None, "pinned_to_master": False, "found": False}
    selector = (obj.get("spec") or {}).get(TARGETS[which]["field"]) or {}
    return {"selector": selector, "pinned_to_master": pinned_to_master(selector), "found": True}


def pinned_to_master(selector):
    """True when the selector only matches control-plane nodes (an added worker would get no daemon)."""
    if not selector:
        return False
    return any(label in selector for label in MASTER_LABELS) and WORKER_LABEL not in selector


def cluster_result(ptp, sriov):
    """Per-cluster result from the two ``describe_selector`` results."""
    return {"ptp": ptp, "sriov": sriov,
            "needs_override": {"ptp": ptp["found"] and ptp["pinned_to_master"],
                               "sriov": sriov["found"] and sriov["pinned_to_master"]}}


def read_from_spoke(spoke):
    """Read both selectors with a spoke client (``hub.Hub`` on the spoke)."""
    out = {}
    for which, target in TARGETS.items():
        api_version = "%s/%s" % (target["group"], target["version"])
        if not spoke.serves(api_version, target["kind"]):
            out[which] = describe_selector(which, None)
            continue
        out[which] = describe_selector(which, spoke.get(api_version, target["kind"], target["name"],
                                                        target["namespace"]))
    return cluster_result(out["ptp"], out["sriov"])


def view_name(which, run_id):
    return "ztp-selectors-%s-%s" % (which, run_id)


def new_run_id():
    return uuid.uuid4().hex[:8]


def build_view(cluster, which, run_id):
    target = TARGETS[which]
    return {
        "apiVersion": VIEW_API_VERSION, "kind": VIEW_KIND,
        "metadata": {"name": view_name(which, run_id), "namespace": cluster,
                     "labels": {MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: run_id}},
        "spec": {"scope": {"apiGroup": target["group"], "version": target["version"], "kind": target["kind"],
                           "name": target["name"], "namespace": target["namespace"]}},
    }


def view_outcome(view):
    """``("found", object)``, ``("absent", message)``, ``("error", message)`` or ``("pending", None)``.

    The view controller sets one condition ``Processing``: ``True``/``GetResourceProcessing`` with the object
    in ``status.result``; ``False``/``GetResourceFailed`` when the get failed (a "not found" message means the
    object does not exist); ``False``/``ResourceGVKInvalid`` when the spoke does not serve the kind (operator
    not installed).
    """
    cond = conditions_by_type(view).get("Processing")
    if not cond:
        return "pending", None
    reason, message = cond.get("reason"), cond.get("message") or ""
    if cond.get("status") == "True":
        result = (view.get("status") or {}).get("result")
        if result:
            return "found", result
        return "pending", None
    if reason == VIEW_GVK_INVALID:
        return "absent", message
    if reason == VIEW_GET_FAILED and ("not found" in message.lower() or "could not find" in message.lower()):
        return "absent", message
    return "error", "%s: %s" % (reason, message)


def read_through_views(hub, clusters, timeout, keep_views=False, poll=1.0):
    """Create one view per cluster and operator config, wait for all with one watch, read, delete.

    Returns ``(results, errors)``: ``{cluster: cluster_result}`` and ``{cluster: message}``.
    """
    run_id = new_run_id()
    wanted = [(cluster, which) for cluster in clusters for which in TARGETS]
    created = []
    results, errors = {}, {}
    try:
        if wanted:
            # the first one alone: it resolves the API resource the threads then share
            hub.create(build_view(wanted[0][0], wanted[0][1], run_id))
            created.append(wanted[0])
        outcome = in_parallel(lambda e: hub.create(build_view(e[0], e[1], run_id)), wanted[1:])
        created.extend(e for e, error in outcome if error is None)
        failed = [error for e, error in outcome if error is not None]
        if failed:
            raise failed[0]
        outcomes = wait_for_views(hub, run_id, created, timeout, poll)
    finally:
        if not keep_views:
            in_parallel(lambda e: hub.delete(VIEW_API_VERSION, VIEW_KIND, view_name(e[1], run_id), e[0]), created)
    for cluster in clusters:
        parts, problems = {}, []
        for which in TARGETS:
            kind = TARGETS[which]["kind"]
            state, payload = outcomes.get((cluster, which), ("pending", None))
            if state == "found":
                parts[which] = describe_selector(which, payload)
            elif state == "absent":
                parts[which] = describe_selector(which, None)
            elif state == "error":
                problems.append("%s: ManagedClusterView %s/%s: %s" % (
                    kind, cluster, view_name(which, run_id), payload))
            else:
                problems.append("%s: ManagedClusterView %s/%s got no answer within %d s (is the cluster's "
                                "work-manager add-on available?)" % (kind, cluster, view_name(which, run_id),
                                                                     timeout))
        if problems:
            errors[cluster] = "; ".join(problems)
        else:
            results[cluster] = cluster_result(parts["ptp"], parts["sriov"])
    return results, errors


def wait_for_views(hub, run_id, expected, timeout, poll=1.0):
    """Watch all views of one run (one all-namespace stream, selected by the run label) until each answered."""
    deadline = time.time() + timeout
    ws = WatchSet(hub, watch_timeout=max(5, min(55, int(timeout))))
    ws.add("views", VIEW_API_VERSION, VIEW_KIND, label_selector="%s=%s" % (RUN_LABEL, run_id))
    cache = ObjectCache()
    names = dict(((cluster, view_name(which, run_id)), which) for cluster, which in expected)
    outcomes = {}
    with ws:
        while True:
            cache.apply(ws.get(min(poll, max(0.0, deadline - time.time()))))
            for view in cache.objects("views"):
                meta = view.get("metadata") or {}
                which = names.get((meta.get("namespace"), meta.get("name")))
                if which is None:
                    continue
                outcomes[(meta["namespace"], which)] = view_outcome(view)
            if all(outcomes.get(e, ("pending",))[0] != "pending" for e in expected):
                return outcomes
            if time.time() >= deadline:
                return outcomes
