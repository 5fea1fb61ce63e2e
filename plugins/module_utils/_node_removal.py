# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hub side of worker removal: wait until each worker's BareMetalHost carries the removal annotation, then until
it, its Agent and its ManagedClusterInfo node entry are gone; report a deletion that hangs with the object and the fix.

What the hub does (docs/testhub.md, "Worker removal"): ArgoCD prunes the suppressed BareMetalHost (SiteConfig), or the
siteconfig operator deletes the pruned one (ClusterInstance); metal3 deprovisions it (``deprovisioning``, ``powering off
before delete``, ``deleting``) and removes its finalizer; BMAC, seeing ``remove-agent-and-node-on-delete``, deletes the
Agent, whose finalizer deletes the spoke Node; the klusterlet then drops the node from ManagedClusterInfo. Nothing is
ever forced here: a deletion that does not end is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, raise_if_any

BMH_API = "metal3.io/v1alpha1"
AGENT_API = "agent-install.openshift.io/v1beta1"
MCI_API = "internal.open-cluster-management.io/v1beta1"
CI_API = "siteconfig.open-cluster-management.io/v1alpha1"
REMOVE_AGENT_ANNOTATION = "bmac.agent-install.openshift.io/remove-agent-and-node-on-delete"
CI_PAUSED = "clusterinstance.siteconfig.open-cluster-management.io/paused"
BMH_LABEL = "agent-install.openshift.io/bmh"
ANNOTATED = "annotated"
REMOVED = "removed"

DONE, PENDING, HUNG = "done", "pending", "hung"


def module_args():
    """The options of ztp_node_removal_wait besides kubernetes.core's auth options."""
    return dict(
        nodes=dict(type="list", elements="dict", required=True),
        until=dict(type="str", required=True, choices=[ANNOTATED, REMOVED]),
        timeout=dict(type="int", default=3600),
        stuck_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5.0),
    )


def check_params(params):
    errors = []
    for field in ("timeout", "stuck_timeout"):
        if params.get(field) is not None and params[field] < 1:
            errors.append(ZtpInputError(field, params[field], "an integer >= 1 (seconds)"))
    if params.get("poll_interval") is not None and params["poll_interval"] <= 0:
        errors.append(ZtpInputError("poll_interval", params["poll_interval"], "a number of seconds > 0"))
    nodes = []
    for index, node in enumerate(params["nodes"] or []):
        host = node.get("host") or node.get("hostName")
        if not isinstance(node.get("cluster"), str) or not node["cluster"] or not isinstance(host, str) or not host:
            errors.append(ZtpInputError("nodes[%d]" % index, node, "a mapping with cluster and host (or hostName), and "
                                        "optionally namespace"))
            continue
        nodes.append(dict(cluster=node["cluster"], host=host, namespace=node.get("namespace") or node["cluster"]))
    raise_if_any(errors)
    return nodes


def _epoch(stamp):
    try:
        return calendar.timegm(time.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


def _paused_instance(hub, namespace, cluster):
    """``(name, reason)`` of a paused ClusterInstance of ``cluster`` in ``namespace``, or None."""
    if not hub.serves(CI_API, "ClusterInstance"):
        return None
    items, _rv = hub.list(CI_API, "ClusterInstance", namespace)
    for item in items:
        if (item.get("spec") or {}).get("clusterName") != cluster:
            continue
        if CI_PAUSED in ((item.get("metadata") or {}).get("annotations") or {}):
            return item["metadata"]["name"], ((item.get("status") or {}).get("paused") or {}).get("reason") or ""
    return None


def hang_message(node, bmh, age, paused):
    """What hangs and how to fix it; nothing has been forced."""
    ns, host = node["namespace"], node["host"]
    meta, status = bmh.get("metadata") or {}, bmh.get("status") or {}
    state = (status.get("provisioning") or {}).get("state") or "-"
    text = ("BareMetalHost %s/%s has been deleting for %d s (state %s, finalizers %s%s)"
            % (ns, host, age, state, ", ".join(meta.get("finalizers") or []) or "none",
               ", error: %s" % status.get("errorMessage") if status.get("errorMessage") else ""))
    if paused:
        text += ("; ClusterInstance %s/%s is paused (annotation %s): %s. The siteconfig operator no longer reconciles "
                 "it until the annotation is removed" % (ns, paused[0], CI_PAUSED, paused[1]))
    text += (". Fix the cause (BMC reachable, ironic up) and the deletion goes on by itself. To give the host up instead "
             "(its disks are then not cleaned, and its Agent and spoke Node may stay): oc patch bmh -n %s %s --type merge "
             "-p '{\"metadata\":{\"finalizers\":null}}'" % (ns, host))
    if paused:
        text += "; then oc annotate clusterinstance -n %s %s %s-" % (ns, paused[0], CI_PAUSED)
    return text + ". Nothing was forced."


def node_status(hub, node, until, stuck_timeout, now=None):
    """``(state, message, bmh state)`` of one node: ``done``, ``pending`` or ``hung``."""
    now = time.time() if now is None else now
    ns, host, cluster = node["namespace"], node["host"], node["cluster"]
    bmh = hub.get(BMH_API, "BareMetalHost", host, ns)
    bmh_state = (((bmh or {}).get("status") or {}).get("provisioning") or {}).get("state")
    if until == ANNOTATED:
        if bmh is None:
            return DONE, "no BareMetalHost %s/%s (already deleted)" % (ns, host), None
        value = ((bmh.get("metadata") or {}).get("annotations") or {}).get(REMOVE_AGENT_ANNOTATION)
        if str(value).lower() == "true":
            return DONE, "BareMetalHost %s/%s has %s: \"true\"" % (ns, host, REMOVE_AGENT_ANNOTATION), bmh_state
        return PENDING, "BareMetalHost %s/%s does not carry %s yet (ArgoCD sync)" % (ns, host, REMOVE_AGENT_ANNOTATION), bmh_state
    if bmh is not None:
        deleting = (bmh.get("metadata") or {}).get("deletionTimestamp")
        if not deleting:
            return PENDING, "BareMetalHost %s/%s not deleted yet (ArgoCD prune or the siteconfig operator)" % (ns, host), bmh_state
        started = _epoch(deleting)
        age = max(0, now - started) if started is not None else 0
        paused = _paused_instance(hub, ns, cluster)
        if paused or age >= stuck_timeout:
            return HUNG, hang_message(node, bmh, age, paused), bmh_state
        return PENDING, "BareMetalHost %s/%s %s" % (ns, host, bmh_state or "deleting"), bmh_state
    agents, _rv = hub.list(AGENT_API, "Agent", ns, label_selector="%s=%s" % (BMH_LABEL, host))
    if agents:
        return PENDING, ("BareMetalHost %s/%s is gone but Agent %s is still there (BMAC deletes it only when the BareMetalHost "
                         "carried %s)" % (ns, host, agents[0]["metadata"]["name"], REMOVE_AGENT_ANNOTATION)), None
    info = hub.get(MCI_API, "ManagedClusterInfo", cluster, cluster)
    names = [n.get("name") for n in ((info or {}).get("status") or {}).get("nodeList") or []]
    if host in names:
        return PENDING, "ManagedClusterInfo %s still lists node %s" % (cluster, host), None
    return DONE, "BareMetalHost, Agent and node %s of %s are gone" % (host, cluster), None


def run_wait(hub, nodes, params, check_mode=False, on_change=None, sleep=time.sleep, clock=time.time):
    """Poll until every node is done (or hung, or the timeout). Returns the module result."""
    until, start = params["until"], clock()
    last = {}
    while True:
        rows = []
        for node in nodes:
            state, message, bmh_state = node_status(hub, node, until, params["stuck_timeout"], clock())
            row = dict(cluster=node["cluster"], host=node["host"], namespace=node["namespace"], state=state,
                       message=message, bmh_state=bmh_state)
            rows.append(row)
            key = (node["cluster"], node["host"])
            if on_change is not None and last.get(key) != (state, message):
                on_change(row)
            last[key] = (state, message)
        waiting = [r for r in rows if r["state"] == PENDING]
        elapsed = clock() - start
        if check_mode or not waiting or elapsed >= params["timeout"]:
            break
        sleep(params["poll_interval"])
    for row in rows:
        if row["state"] == PENDING and not check_mode:
            row["state"] = "timeout"
            row["message"] += " (still after %d s: timeout)" % params["timeout"]
    bad = [r for r in rows if r["state"] in (HUNG, "timeout")]
    result = dict(changed=False, nodes=rows, elapsed=round(clock() - start, 1),
                  summary=dict(total=len(rows), done=len([r for r in rows if r["state"] == DONE]),
                               hung=len([r for r in rows if r["state"] == HUNG]), pending=len(waiting), timeout=len(bad) - len(
                                   [r for r in rows if r["state"] == HUNG])))
    if bad:
        result["failed"] = True
        result["msg"] = "%d of %d worker(s) not %s:\n- %s" % (len(bad), len(rows), until, "\n- ".join(
            "%s/%s: %s" % (r["cluster"], r["host"], r["message"]) for r in bad))
    return result
