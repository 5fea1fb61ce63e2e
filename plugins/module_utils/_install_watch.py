# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch-based wait for the install of worker nodes added to SNO clusters.

Per node (``cluster``, ``host`` = hostName, BareMetalHost ``bmh`` in ``namespace``) it follows, on the hub:

* ``PreprovisioningImage <bmh>``: condition ``Ready`` ``True``, reason ``ImageCreated`` (assisted-service up to
  2.x) or ``InfraEnvAvailable`` (current assisted-service copies the InfraEnv's reason);
* ``BareMetalHost <bmh>``: ``status.provisioning.state`` up to ``provisioned``; ``operationalStatus: delayed``
  (no free provisioning slot) is waiting, errors are judged by how long they persist (the baremetal-operator
  retries with a backoff and clears the error when the action succeeds);
* the ``Agent`` labelled ``agent-install.openshift.io/bmh: <bmh>``: ``status.progress.currentStage`` and
  ``installationPercentage`` up to ``Done``; its conditions name the causes of a host that does not install
  (``Validated`` messages, ``Connected`` ``False``, ``installing-pending-user-action`` text, CSRs not approved);
* ``ManagedClusterInfo <cluster>``: the ``status.nodeList`` entry of the host with condition ``Ready True``;
* optionally the worker ``MachineConfigPool`` of the spoke through a ``ManagedClusterView`` (``Updated``).

The objects come from one stream per kind and namespace of the batch (or, above ``namespace_watch_limit``
namespaces, one stream per kind whose label selector names exactly the batch's objects); ``InstallTracker``
folds the stream events and judges each node. It has no API calls, so that it can be tested with synthetic
events.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, raise_if_any
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import (
    MANAGED_BY, MANAGED_BY_LABEL, HubError, WatchSet, api_message, api_status, conditions_by_type, ident, in_parallel,
    now_iso)

BMH = ("metal3.io/v1alpha1", "BareMetalHost")
PPI = ("metal3.io/v1alpha1", "PreprovisioningImage")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
MCV = ("view.open-cluster-management.io/v1beta1", "ManagedClusterView")
KINDS = {"bmh": BMH, "ppi": PPI, "agent": AGENT, "mci": MCI, "mcv": MCV}
BMH_LABEL = "agent-install.openshift.io/bmh"
INFRAENV_LABEL = "infraenvs.agent-install.openshift.io"
VIEW_LABEL = "ztp-sno-expand/install-view"
MCP_VIEW_NAME = "ztp-install-worker-mcp"

# worker stage order (assisted-service internal/host/common.go); day-2 workers may jump Rebooting -> Done
AGENT_STAGES = ["Starting installation", "Installing", "Writing image to disk", "Waiting for control plane",
                "Rebooting", "Waiting for ignition", "Configuring", "Joined", "Done"]
BMH_STATES = ["registering", "match profile", "inspecting", "preparing", "ready", "available", "provisioning",
              "provisioned"]
# PreprovisioningImage Ready reasons that mean the image is there: assisted-service before and after it copied
# the InfraEnv's own reason (internal/controller/controllers/preprovisioningimage_controller.go setImage,
# infraenv_controller.go InfraEnvAvailableReason)
IMAGE_READY_REASONS = ("ImageCreated", "InfraEnvAvailable")

# Stall limits per stage, in seconds. Agent stages: assisted-service's own host stage timeouts
# (internal/host/config.go hostStageTimeoutDefaults; 60 min for a stage it does not list). The other phases have
# no upstream timeout; they get that same 60 min default.
DEFAULT_STAGE_TIMEOUT = 3600
STAGE_TIMEOUTS = {
    "Starting installation": 1800,
    "Waiting for control plane": 3600,
    "Installing": 3600,
    "Writing image to disk": 1800,
    "Rebooting": 2400,
    "Waiting for ignition": 86400,
    "Configuring": 3600,
    "Joined": 3600,
}
# day-2 hosts get both CSRs approved by assisted-service (agent_controller.go tryApproveDay2CSRs)
CSR_TYPES = ("client", "serving")

READY = "ready"
RENDERED = "rendered"
FAILED = "failed"
DENIED = (401, 403)


def validate_nodes(nodes):
    """Check the ``nodes`` option; returns the nodes with ``namespace`` and ``bmh`` filled.

    ``namespace`` is the hub namespace of the BareMetalHost (and of its PreprovisioningImage and Agent): the node's
    ``namespace``, else the namespace of its ``host_ref``, else the cluster name. ``bmh`` is the BareMetalHost name:
    the ``host_ref`` name, else ``host``.
    """
    errors, out, seen = [], [], set()
    for i, node in enumerate(nodes or []):
        if not isinstance(node, dict) or not node.get("cluster") or not node.get("host"):
            errors.append(ZtpInputError("nodes[%d]" % i, node, "a dict with cluster and host (the BareMetalHost name)"))
            continue
        ref = node.get("host_ref") or {}
        if not isinstance(ref, dict):
            errors.append(ZtpInputError("nodes[%d].host_ref" % i, ref, "a dict with name and namespace"))
            ref = {}
        key = (node["cluster"], node["host"])
        if key in seen:
            errors.append(ZtpInputError("nodes[%d]" % i, node, "each cluster/host only once"))
        seen.add(key)
        out.append({"cluster": node["cluster"], "host": node["host"],
                    "namespace": node.get("namespace") or ref.get("namespace") or node["cluster"],
                    "bmh": ref.get("name") or node["host"]})
    if not nodes:
        errors.append(ZtpInputError("nodes", nodes, "at least one {cluster, host}"))
    raise_if_any(errors)
    return out


def _in_selector(key, values):
    return "%s in (%s)" % (key, ",".join(sorted(set(values))))


def plan_streams(nodes, per_namespace_limit=5, mcp=False, run_id=None, cluster_wide=True):
    """Streams to open: ``[(key, kind_id, namespace or None, label_selector)]``.

    Up to ``per_namespace_limit`` namespaces: one stream per kind and namespace of the batch. Beyond: one stream per
    kind whose label selector names exactly the batch's objects (Agents by their BareMetalHost label, BareMetalHosts
    and PreprovisioningImages by their InfraEnv label, views by the run's label); ManagedClusterInfo is then not
    watched (assisted-service sets a day-2 Agent ``Done`` only once its Node is Ready). ``cluster_wide=False`` keeps
    one stream per kind and namespace however many there are (credentials limited to the batch's namespaces).
    """
    namespaces = sorted(set(n["namespace"] for n in nodes))
    clusters = sorted(set(n["cluster"] for n in nodes))
    view_selector = "%s=%s" % (VIEW_LABEL, run_id or "mcp")
    streams = []
    if not cluster_wide or (len(namespaces) <= per_namespace_limit and len(clusters) <= per_namespace_limit):
        for ns in namespaces:
            streams.append(("ppi/%s" % ns, "ppi", ns, None))
            streams.append(("bmh/%s" % ns, "bmh", ns, None))
            hosts = sorted(set(n["bmh"] for n in nodes if n["namespace"] == ns))
            streams.append(("agent/%s" % ns, "agent", ns, _in_selector(BMH_LABEL, hosts)))
        streams.extend(("mci/%s" % c, "mci", c, None) for c in clusters)
        if mcp:
            streams.extend(("mcv/%s" % c, "mcv", c, view_selector) for c in clusters)
        return streams
    infraenvs = set(n["cluster"] for n in nodes) | set(n["host"] for n in nodes) | set(n["bmh"] for n in nodes)
    streams.append(("ppi/*", "ppi", None, _in_selector(INFRAENV_LABEL, infraenvs)))
    streams.append(("bmh/*", "bmh", None, _in_selector(INFRAENV_LABEL, infraenvs)))
    streams.append(("agent/*", "agent", None, _in_selector(BMH_LABEL, [n["bmh"] for n in nodes])))
    if mcp:
        streams.append(("mcv/*", "mcv", None, view_selector))
    return streams


def _status(obj):
    return (obj or {}).get("status") or {}


def image_signal(ppi):
    """``(stage, problem)`` of a PreprovisioningImage; the stage is ``ImageCreated`` once the image is there."""
    if ppi is None:
        return None, None
    conds = conditions_by_type(ppi)
    err = conds.get("Error")
    if err and err.get("status") == "True":
        return "error", "PreprovisioningImage %s: %s: %s" % (ident(ppi), err.get("reason"), err.get("message"))
    ready = conds.get("Ready") or {}
    if ready.get("status") == "True" and ready.get("reason") in IMAGE_READY_REASONS:
        return "ImageCreated", None
    return ready.get("reason") or "pending", None


def bmh_signal(bmh):
    """``(provisioning state, operationalStatus, problem)`` of a BareMetalHost."""
    if bmh is None:
        return None, None, None
    status = _status(bmh)
    state = (status.get("provisioning") or {}).get("state") or ""
    operational = status.get("operationalStatus") or ""
    if operational == "error" or status.get("errorType"):
        return state, operational, "BareMetalHost %s: %s: %s (operationalStatus %s, state %r, errorCount %s)" % (
            ident(bmh), status.get("errorType") or "error", status.get("errorMessage") or "",
            operational, state, status.get("errorCount"))
    return state, operational, None


def bmh_error_count(bmh):
    try:
        return int(_status(bmh).get("errorCount") or 0)
    except (TypeError, ValueError):
        return 0


def agent_signal(agent):
    """``(stage, percentage, error)`` of an Agent; ``error`` is a final failure."""
    if agent is None:
        return None, None, None
    status = _status(agent)
    progress = status.get("progress") or {}
    stage = progress.get("currentStage") or None
    pct = progress.get("installationPercentage")
    installed = conditions_by_type(agent).get("Installed") or {}
    debug = status.get("debugInfo") or {}
    error = None
    if stage == "Failed" or (installed.get("status") == "False" and installed.get("reason") == "InstallationFailed") \
            or debug.get("state") == "error":
        text = installed.get("message") or debug.get("stateInfo") or progress.get("progressInfo")
        error = "Agent %s: %s" % (ident(agent), text or "installation failed")
        if stage:
            error += " (stage %s)" % stage
    return stage, pct, error


def agent_problems(agent):
    """``[(key, text)]``: what the Agent itself says keeps it from installing (assisted-service agent_controller.go
    ``validated``, ``connected``; host status ``installing-pending-user-action`` with its status info)."""
    if agent is None:
        return []
    conds = conditions_by_type(agent)
    debug = _status(agent).get("debugInfo") or {}
    out = []
    connected = conds.get("Connected") or {}
    if connected.get("status") == "False":
        out.append(("Agent disconnected", "Agent %s: Connected=False %s: %s" % (
            ident(agent), connected.get("reason"), connected.get("message"))))
    if debug.get("state") == "installing-pending-user-action":
        installed = conds.get("Installed") or {}
        out.append(("Agent installing-pending-user-action", "Agent %s: installing-pending-user-action: %s" % (
            ident(agent), debug.get("stateInfo") or installed.get("message") or "")))
    validated = conds.get("Validated") or {}
    if validated.get("status") == "False" and validated.get("reason") in ("ValidationsFailing", "ValidationsUserPending"):
        out.append(("Agent %s" % (debug.get("state") or "insufficient"), "Agent %s: %s: %s" % (
            ident(agent), validated.get("reason"), validated.get("message"))))
    return out


def csr_cause(agent, host):
    """The cause of a node long at ``Joined`` when assisted-service has not approved both of its CSRs."""
    approved = ((_status(agent).get("csrStatus") or {}).get("approvedCSRs")) or []
    types = set(c.get("type") for c in approved if isinstance(c, dict))
    missing = [t for t in CSR_TYPES if t not in types]
    if not missing:
        return ""
    return "node %s: %s CSR(s) pending, not approved (Agent %s csrStatus lists %s)" % (
        host, " and ".join(missing), ident(agent), ", ".join(sorted(types)) or "none")


def node_signal(mci, host):
    """``True``/``False`` (Ready condition of the node in ManagedClusterInfo), None when not listed."""
    for entry in _status(mci).get("nodeList") or []:
        name = entry.get("name") or ""
        if name == host or name.startswith(host + "."):
            for cond in entry.get("conditions") or []:
                if cond.get("type") == "Ready":
                    return cond.get("status") == "True"
            return False
    return None


def mcp_signal(view):
    """``(state, cause)`` of the worker MachineConfigPool seen through a ManagedClusterView: state ``Updated``,
    ``Updating``, ``Degraded`` or None (no answer yet); ``cause`` is the view's or the pool's own text."""
    if view is None:
        return None, ""
    cond = conditions_by_type(view).get("Processing") or {}
    if not cond:
        return None, "ManagedClusterView %s has no answer (cluster offline or work-manager add-on missing?)" % ident(view)
    if cond.get("status") != "True":
        return None, "ManagedClusterView %s: %s: %s" % (ident(view), cond.get("reason"), cond.get("message"))
    pool = _status(view).get("result") or {}
    pstatus = pool.get("status") or {}
    pconds = dict((c.get("type"), c) for c in pstatus.get("conditions") or [] if isinstance(c, dict))
    degraded = pconds.get("Degraded") or {}
    if degraded.get("status") == "True":
        return "Degraded", "MachineConfigPool worker: Degraded: %s" % (degraded.get("message") or degraded.get("reason"))
    if (pconds.get("Updated") or {}).get("status") == "True" and (pconds.get("Updating") or {}).get("status") != "True" \
            and pstatus.get("updatedMachineCount") == pstatus.get("machineCount"):
        return "Updated", ""
    if (pconds.get("Updating") or {}).get("status") == "True":
        return "Updating", "MachineConfigPool worker: %s of %s machines updated" % (
            pstatus.get("updatedMachineCount"), pstatus.get("machineCount"))
    return None, "MachineConfigPool worker: no Updated condition yet"


def pool_counts_workers(view, mci, batch_workers):
    """True when the worker pool of ``view`` counts every worker the cluster's ManagedClusterInfo lists (nodes with
    the worker role and without the master role, which the master pool keeps), and at least ``batch_workers``; None
    when the node list carries no role labels, so the count cannot be known."""
    listed = [entry for entry in _status(mci).get("nodeList") or [] if isinstance(entry, dict)]
    if not any(entry.get("labels") for entry in listed):
        return None
    workers = [entry for entry in listed if "node-role.kubernetes.io/worker" in (entry.get("labels") or {})
               and "node-role.kubernetes.io/master" not in (entry.get("labels") or {})]
    pstatus = (_status(view).get("result") or {}).get("status") or {}
    return (pstatus.get("machineCount") or 0) >= max(len(workers), batch_workers)


def build_view(cluster, run_id):
    """The ManagedClusterView of a cluster's worker MachineConfigPool."""
    return {
        "apiVersion": MCV[0], "kind": MCV[1],
        "metadata": {"name": "%s-%s" % (MCP_VIEW_NAME, run_id), "namespace": cluster,
                     "labels": {MANAGED_BY_LABEL: MANAGED_BY, VIEW_LABEL: run_id}},
        "spec": {"scope": {"apiGroup": "machineconfiguration.openshift.io", "version": "v1",
                           "kind": "MachineConfigPool", "name": "worker"}},
    }


class NodeState(object):
    def __init__(self, node, now):
        self.cluster = node["cluster"]
        self.host = node["host"]
        self.bmh = node.get("bmh") or node["host"]
        self.namespace = node["namespace"]
        self.stages = []
        self.signals = {}
        self.milestones = {}
        self.started = now
        self.last_progress = now
        self.phase = None
        self.phase_since = now
        self.problems = {}
        self.delayed = False
        self.first_eval = None
        self.state = "waiting for BareMetalHost"
        self.ready = False
        self.failed = False
        self.error = None
        self.cause = ""
        self.agent = None
        self.mcp_updating_seen = False

    def duration(self, start, end):
        t0, t1 = self.milestones.get(start), self.milestones.get(end)
        if t0 is None or t1 is None or t1 <= self.first_eval:
            return None
        return round(t1 - t0, 1)

    def as_dict(self):
        durations = {"image": self.duration("start", "image"),
                     "provisioning": self.duration("provisioning", "provisioned"),
                     "install": self.duration("install", "done"),
                     "ready": self.duration("done", "ready")}
        if "mcp" in self.milestones or self.signals.get("MachineConfigPool"):
            durations["mcp"] = self.duration("ready", "mcp")
        return {
            "cluster": self.cluster, "host": self.host, "namespace": self.namespace,
            "stages": self.stages, "state": self.state, "ready": self.ready, "failed": self.failed,
            "error": self.error, "cause": self.cause or "", "agent": self.agent, "durations": durations,
        }


class InstallTracker(object):
    """Folds stream events into objects and judges every node after each batch.

    ``apply(events, now)`` takes ``WatchSet`` events whose key is a stream key of ``plan_streams``;
    ``evaluate(now, stall_timeout)`` updates the nodes and returns the progress events of this round.
    ``limits`` (``stage_timeouts``, ``error_count_limit``, ``error_timeout``, ``wait_for_mcp``) tunes the verdicts.
    """

    def __init__(self, nodes, streams, now, until=READY, limits=None):
        self.until = until
        limits = limits or {}
        self.stage_timeouts = dict(STAGE_TIMEOUTS)
        self.stage_timeouts.update(limits.get("stage_timeouts") or {})
        self.error_count_limit = limits.get("error_count_limit") or 5
        self.error_timeout = limits.get("error_timeout") or 1800
        self.wait_for_mcp = bool(limits.get("wait_for_mcp")) and until == READY
        self.nodes = [NodeState(n, now) for n in nodes]
        self.stream_kind = dict((key, (kind_id, ns)) for key, kind_id, ns, _sel in streams)
        self.watch_mci = any(kind_id == "mci" for _key, kind_id, _ns, _sel in streams)
        self.objects = dict((k, {}) for k in KINDS)
        self.synced = set()
        self.progress = []
        self.retries = 0
        self.denied = None
        self.updating_at = {}
        self.view_wanted = set()
        self.mcp_settle = limits.get("mcp_settle") or 300

    def all_synced(self):
        return self.synced >= set(self.stream_kind)

    def apply(self, events, now):
        for etype, key, payload in events:
            kind_id, ns = self.stream_kind[key]
            store = self.objects[kind_id]
            if etype == "SYNC":
                self.synced.add(key)
                for okey in [k for k in store if ns is None or k[0] == ns]:
                    del store[okey]
                for obj in payload:
                    store[_key(obj)] = obj
                    self._seen(kind_id, obj, now)
            elif etype in ("ADDED", "MODIFIED"):
                store[_key(payload)] = payload
                self._seen(kind_id, payload, now)
            elif etype == "DELETED":
                store.pop(_key(payload), None)
            elif etype == "RETRY":
                self.retries += 1
                self.progress.append({"time": now_iso(now), "cluster": None, "host": None, "object": key,
                                      "stage": "reconnecting", "percentage": None, "message": payload})

    def _seen(self, kind_id, obj, now):
        """Remember when a pool was last seen ``Updating`` (several changes may fold into one round)."""
        if kind_id == "mcv" and mcp_signal(obj)[0] == "Updating":
            self.updating_at[(obj.get("metadata") or {}).get("namespace")] = now

    def find_agent(self, namespace, bmh):
        for (ns, _name), agent in sorted(self.objects["agent"].items()):
            if ns == namespace and ((agent.get("metadata") or {}).get("labels") or {}).get(BMH_LABEL) == bmh:
                return agent
        return None

    def judged_clusters(self):
        """Clusters whose every node of the wait is ready or failed."""
        open_clusters = set(n.cluster for n in self.nodes if not (n.ready or n.failed))
        return set(n.cluster for n in self.nodes) - open_clusters

    def find_view(self, cluster):
        for (ns, _name), view in sorted(self.objects["mcv"].items()):
            if ns == cluster:
                return view
        return None

    def evaluate(self, now, stall_timeout=None):
        events = []
        for node in self.nodes:
            if node.ready or node.failed:
                continue
            events.extend(self._evaluate_node(node, now, stall_timeout))
        self.progress.extend(events)
        return events

    def _event(self, node, now, obj, stage, pct=None, message=None):
        event = {"time": now_iso(now), "cluster": node.cluster, "host": node.host, "object": obj,
                 "stage": stage, "percentage": pct}
        if message:
            event["message"] = message
        return event

    def _record(self, node, source, stage, pct, now, events, message=None):
        label = "%s %s" % (source, stage)
        if node.signals.get(source) == (stage, pct):
            return
        node.signals[source] = (stage, pct)
        node.last_progress = now
        entry = {"stage": label, "at": now_iso(now), "percentage": pct}
        if not node.stages or node.stages[-1]["stage"] != label:
            node.stages.append(entry)
        else:
            # the same stage with a new percentage: it still began when it was first seen
            node.stages[-1] = dict(entry, at=node.stages[-1]["at"])
        node.state = label
        events.append(self._event(node, now, source, stage, pct, message))

    def _milestone(self, node, name, reached, now):
        if reached and name not in node.milestones:
            node.milestones[name] = now

    def _note(self, node, label, now, events, obj, stage, message):
        """A problem or its recovery: a stage entry of its own (the timelines show it) and a progress event."""
        node.stages.append({"stage": label, "at": now_iso(now), "percentage": None})
        node.state = label
        events.append(self._event(node, now, obj, stage, message=message))

    def _problems(self, node, found, bmh, now, events):
        """Track problems that the hub may still clear; returns the text of those that persisted too long."""
        persisted = []
        for key in [k for k in node.problems if k not in found]:
            since = node.problems.pop(key)
            node.last_progress = now
            self._note(node, "%s cleared" % key, now, events, key.split(" ", 1)[0], "recovered",
                       "%s cleared after %d s" % (key, int(now - since)))
        for key, text in sorted(found.items()):
            if key not in node.problems:
                node.problems[key] = now
                source, what = key.split(" ", 1)
                self._note(node, key, now, events, source, what, text)
            count = bmh_error_count(bmh) if key.startswith("BareMetalHost") else 0
            if count >= self.error_count_limit:
                persisted.append("%s (errorCount %d reached the limit of %d)" % (text, count, self.error_count_limit))
            elif now - node.problems[key] >= self.error_timeout:
                persisted.append("%s (for %d s)" % (text, int(now - node.problems[key])))
        return persisted

    def _fail(self, node, now, events, error, cause, stage=FAILED):
        node.failed = True
        node.state = FAILED
        node.cause = cause or ""
        node.error = error if not cause or cause in error else "%s; cause: %s" % (error, cause)
        events.append(self._event(node, now, None, stage, message=node.error))
        return events

    def _evaluate_node(self, node, now, stall_timeout):
        events = []
        if node.first_eval is None:
            node.first_eval = now
            node.milestones["start"] = now
        ns, host = node.namespace, node.host
        bmh = self.objects["bmh"].get((ns, node.bmh))
        ppi = self.objects["ppi"].get((ns, node.bmh))
        agent = self.find_agent(ns, node.bmh)
        mci = self.objects["mci"].get((node.cluster, node.cluster))
        node.agent = (agent or {}).get("metadata", {}).get("name")
        problems = {}

        image, err = image_signal(ppi)
        if err:
            problems["PreprovisioningImage error"] = err
        elif image:
            self._record(node, "PreprovisioningImage", image, None, now, events)
            self._milestone(node, "image", image == "ImageCreated", now)

        state, operational, err = bmh_signal(bmh)
        if err:
            problems["BareMetalHost %s" % (_status(bmh).get("errorType") or "error")] = err
        if self.until == RENDERED and bmh is not None:
            node.ready = True
            node.state = RENDERED
            events.append(self._event(node, now, "BareMetalHost", RENDERED))
            return events
        delayed = operational == "delayed"
        if bmh is not None and state:
            self._record(node, "BareMetalHost", state + (" (delayed)" if delayed else ""), None, now, events,
                         "waiting for a free provisioning slot (operationalStatus delayed)" if delayed else None)
            self._milestone(node, "provisioning", state in ("provisioning", "provisioned"), now)
            self._milestone(node, "provisioned", state == "provisioned", now)

        stage, pct, final = agent_signal(agent)
        if stage and self.wait_for_mcp:
            # the worker pool's view is made once the install has begun: early enough to see the rollout, and spread
            # over the wait instead of one burst of requests at its start
            self.view_wanted.add(node.cluster)
        if stage:
            self._record(node, "Agent", stage, pct, now, events)
            self._milestone(node, "install", True, now)
            self._milestone(node, "done", stage == "Done", now)
        if not final:
            problems.update(agent_problems(agent))

        node_ready = node_signal(mci, host) if self.watch_mci else (True if stage == "Done" else None)
        if node_ready is not None:
            self._record(node, "Node", "Ready" if node_ready else "NotReady", None, now, events)
            self._milestone(node, "ready", node_ready, now)

        mcp_state = mcp_cause = None
        installed = stage == "Done" and node_ready and state == "provisioned"
        if installed and self.wait_for_mcp:
            mcp_state, mcp_cause = mcp_signal(self.find_view(node.cluster))
            if mcp_state:
                self._record(node, "MachineConfigPool", "worker %s" % mcp_state, None, now, events)
            # the pool rolls the worker policies out to the new node (one more reboot). Updated counts once the pool
            # counts every worker node the cluster lists (a rerun sees that at once); without role labels in the
            # node list, once it was seen Updating after the install began, or when it stayed Updated long after the
            # node became Ready
            view = self.find_view(node.cluster)
            counted = mcp_state == "Updated" and pool_counts_workers(
                view, mci, sum(1 for other in self.nodes if other.cluster == node.cluster))
            if counted or self.updating_at.get(node.cluster, -1) >= node.milestones.get("install", now) or (
                    counted is None and mcp_state == "Updated" and now - node.milestones.get("ready", now) >= self.mcp_settle):
                node.mcp_updating_seen = True
            if mcp_state == "Degraded":
                problems["MachineConfigPool degraded"] = mcp_cause

        persisted = self._problems(node, problems, bmh, now, events)
        if final:
            return self._fail(node, now, events, final, "")
        if persisted:
            return self._fail(node, now, events, "; ".join(persisted), "; ".join(sorted(problems.values())))
        if installed and (not self.wait_for_mcp or (mcp_state == "Updated" and node.mcp_updating_seen)):
            if self.wait_for_mcp:
                self._milestone(node, "mcp", True, now)
            node.ready = True
            node.state = READY
            node.cause = ""
            events.append(self._event(node, now, None, READY))
            return events
        if bmh is None and not node.stages:
            node.state = "waiting for BareMetalHost"

        # the phase the node is in and how long it has been there; a delayed host is waiting for a slot
        if installed and self.wait_for_mcp:
            phase = "MachineConfigPool"
        elif stage:
            phase = stage
        elif agent is not None or state == "provisioned":
            phase = "discovery"
        else:
            phase = state or "BareMetalHost"
        if phase != node.phase or delayed or node.delayed:
            node.phase, node.phase_since = phase, now
        node.delayed = delayed
        if delayed:
            node.last_progress = now
        node.cause = "; ".join(sorted(problems.values())) or self._cause(node, phase, agent, mcp_cause)
        if stall_timeout:
            if now - node.last_progress >= stall_timeout:
                last = node.stages[-1]["stage"] if node.stages else "no BareMetalHost %s/%s" % (ns, node.bmh)
                error = "%s/%s: no progress for %d s; last stage '%s' since %s" % (
                    node.cluster, host, int(now - node.last_progress), last, now_iso(node.last_progress))
                return self._fail(node, now, events, error, node.cause, "stalled")
            return events
        limit = self.stage_timeouts.get(phase, self.stage_timeouts.get("default", DEFAULT_STAGE_TIMEOUT))
        if now - node.phase_since >= limit:
            last = node.stages[-1]["stage"] if node.stages else "no BareMetalHost %s/%s" % (ns, node.bmh)
            error = "%s/%s: stalled in stage '%s' for %d s (limit %d s); last change '%s'" % (
                node.cluster, host, phase, int(now - node.phase_since), limit, last)
            return self._fail(node, now, events, error, node.cause, "stalled")
        return events

    def _cause(self, node, phase, agent, mcp_cause):
        """What the hub says about a node that is not moving, without a problem condition."""
        if phase == "Joined" and agent is not None:
            return csr_cause(agent, node.host)
        if phase == "MachineConfigPool":
            return mcp_cause or ""
        return ""

    def done(self):
        return all(n.ready or n.failed for n in self.nodes)

    def failed(self):
        return [n for n in self.nodes if n.failed]

    def results(self):
        return [n.as_dict() for n in self.nodes]

    def summary(self, elapsed):
        ready = sum(1 for n in self.nodes if n.ready)
        failed = sum(1 for n in self.nodes if n.failed)
        return {"total": len(self.nodes), "ready": ready, "failed": failed,
                "pending": len(self.nodes) - ready - failed, "elapsed": round(elapsed, 1),
                "reconnects": self.retries}


def _key(obj):
    meta = obj.get("metadata") or {}
    return (meta.get("namespace"), meta.get("name"))


def module_args():
    """The options of ztp_install_wait besides kubernetes.core's auth options."""
    return dict(
        nodes=dict(type="list", elements="dict", required=True, options=dict(
            cluster=dict(type="str", required=True), host=dict(type="str", required=True),
            namespace=dict(type="str"),
            host_ref=dict(type="dict", options=dict(name=dict(type="str", required=True),
                                                    namespace=dict(type="str", required=True))))),
        timeout=dict(type="int", default=7200),
        stall_timeout=dict(type="int"),
        stage_timeouts=dict(type="dict", default={}),
        error_count_limit=dict(type="int", default=5),
        error_timeout=dict(type="int", default=1800),
        wait_for_mcp=dict(type="bool", default=True),
        fail_fast=dict(type="bool", default=True),
        namespace_watch_limit=dict(type="int", default=5),
        until=dict(type="str", default=READY, choices=[READY, RENDERED]),
    )


def check_params(params):
    """The validated node list; raises ZtpInputError(s) for bad values."""
    nodes = validate_nodes(params["nodes"])
    for field in ("timeout", "error_count_limit", "error_timeout", "namespace_watch_limit"):
        if params.get(field) is not None and params[field] < 1:
            raise ZtpInputError(field, params[field], "an integer >= 1")
    if params.get("stall_timeout") is not None and params["stall_timeout"] < 1:
        raise ZtpInputError("stall_timeout", params["stall_timeout"], "an integer >= 1")
    for stage, value in (params.get("stage_timeouts") or {}).items():
        try:
            ok = int(value) >= 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ZtpInputError("stage_timeouts.%s" % stage, value, "seconds, an integer >= 1")
    return nodes


def limits_of(params):
    return {"stage_timeouts": dict((k, int(v)) for k, v in (params.get("stage_timeouts") or {}).items()),
            "error_count_limit": params.get("error_count_limit"), "error_timeout": params.get("error_timeout"),
            "wait_for_mcp": params.get("wait_for_mcp", True), "mcp_settle": params.get("mcp_settle")}


class DenialGuard(object):
    """The hub client of the watches: remembers the first 401/403 answer, which no retry can cure."""

    def __init__(self, hub):
        self.hub = hub
        self.denied = None

    def __getattr__(self, name):
        return getattr(self.hub, name)

    def _note(self, exc, verb, api_version, kind, namespace):
        if api_status(exc) in DENIED and self.denied is None:
            self.denied = denial_message(exc, verb, api_version, kind, namespace)

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        try:
            return self.hub.list(api_version, kind, namespace=namespace, label_selector=label_selector,
                                 field_selector=field_selector)
        except Exception as exc:
            self._note(exc, "list", api_version, kind, namespace)
            raise

    def watch(self, api_version, kind, namespace=None, **kwargs):
        try:
            for item in self.hub.watch(api_version, kind, namespace=namespace, **kwargs):  # pylint: disable=use-yield-from
                yield item
        except Exception as exc:
            self._note(exc, "watch", api_version, kind, namespace)
            raise


def denial_message(exc, verb, api_version, kind, namespace):
    group = api_version.split("/")[0] if "/" in api_version else ""
    where = "in namespace %s" % namespace if namespace else "cluster-wide"
    text = "Unauthorized: the hub does not accept the credentials" if api_status(exc) == 401 else \
        "forbidden: the credentials lack permission"
    return ("%s (HTTP %s) to %s %s (API group %s) %s: %s. The install wait needs get, list and watch on "
            "baremetalhosts and preprovisioningimages (metal3.io), agents (agent-install.openshift.io), "
            "managedclusterinfos (internal.open-cluster-management.io) and create, delete, list and watch on "
            "managedclusterviews (view.open-cluster-management.io) in the batch's namespaces."
            % (text, api_status(exc), verb, kind, group or "core", where, api_message(exc)))


def snapshot(hub, streams, tracker):
    """One list per stream and one judgement (check mode: where the installs stand, without waiting)."""
    now = time.time()
    for key, kind_id, ns, selector in streams:
        api_version, kind = KINDS[kind_id]
        try:
            items, _rv = hub.list(api_version, kind, namespace=ns, label_selector=selector)
        except HubError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            if api_status(exc) in DENIED:
                raise HubError(denial_message(exc, "list", api_version, kind, ns))
            raise HubError("cannot list %s: %s" % (kind, api_message(exc)))
        tracker.apply([("SYNC", key, items)], now)
    tracker.evaluate(now)


def cluster_wide_allowed(hub, streams):
    """Whether the credentials may list the cluster-wide streams (exact selectors); 403 means namespaces only."""
    for _key, kind_id, ns, selector in streams:
        if ns is not None:
            continue
        try:
            hub.list(KINDS[kind_id][0], KINDS[kind_id][1], label_selector=selector)
        except Exception as exc:  # pylint: disable=broad-except
            if api_status(exc) == 403:
                return False
            if api_status(exc) == 401:
                raise HubError(denial_message(exc, "list", KINDS[kind_id][0], KINDS[kind_id][1], None))
            raise
    return True


class Views(object):
    """The ManagedClusterViews of the worker pools this wait created (deleted again at the end)."""

    def __init__(self, hub, run_id):
        self.hub = hub
        self.run_id = run_id
        self.created = []
        self.asked = set()
        self.errors = {}

    def ensure(self, clusters):
        """Create the views of ``clusters`` not asked for yet, a few requests at a time (when a whole batch reaches
        its pools at once, hundreds of views are wanted in one round)."""
        res = self.hub.resource(*MCV)
        wanted = sorted(set(clusters) - self.asked)
        self.asked.update(wanted)
        outcome = in_parallel(lambda cluster: res.create(body=build_view(cluster, self.run_id), namespace=cluster),
                              wanted)
        for cluster, exc in outcome:
            if exc is None:
                self.created.append(cluster)
            elif api_status(exc) in DENIED:
                raise HubError(denial_message(exc, "create", MCV[0], MCV[1], cluster) +
                               " (wait_for_mcp=false does without views)")
            elif api_status(exc) != 409:
                self.errors[cluster] = api_message(exc)

    def release(self, clusters):
        """Delete the views of ``clusters`` (each once, a few requests at a time): a view is let go as soon as its
        cluster is judged, which spreads the deletes over the wait instead of one burst at its end. A delete that
        fails is not retried: the view only costs the cluster's add-on a read every 30 s."""
        gone = sorted(set(clusters) & set(self.created))
        for cluster in gone:
            self.created.remove(cluster)
        in_parallel(lambda cluster: self.hub.delete(MCV[0], MCV[1], "%s-%s" % (MCP_VIEW_NAME, self.run_id), cluster),
                    gone)

    def cleanup(self):
        self.release(list(self.created))


def wait(hub, streams, tracker, params, on_events=None, views=None):
    """Follow the streams until every node is ready or failed (or the first failure with ``fail_fast``), or the
    timeout; ``on_events(events)`` gets the progress events of each round as they happen. Returns ``done``,
    ``timeout`` or ``denied``."""
    start = time.time()
    deadline = start + params["timeout"]
    guard = DenialGuard(hub)
    # a watch ends after watch_timeout and is opened again: with many streams, long watches keep the hub load low
    streams_set = WatchSet(guard, watch_timeout=290 if len(streams) <= 20 else 1800)
    for key, kind_id, ns, selector in streams:
        api_version, kind = KINDS[kind_id]
        streams_set.add(key, api_version, kind, namespace=ns, label_selector=selector)
    with streams_set:
        while True:
            events = streams_set.get(min(2.0, max(0.0, deadline - time.time())))
            now = time.time()
            seen = len(tracker.progress)
            if guard.denied:
                tracker.denied = guard.denied
                return "denied"
            tracker.apply(events, now)
            # judge only once every stream has listed, so that a node is never judged on half the objects
            if tracker.all_synced() or now - start > 60:
                tracker.evaluate(now, params.get("stall_timeout"))
            if views is not None:
                if tracker.view_wanted - views.asked:
                    views.ensure(tracker.view_wanted)
                if views.created:
                    views.release(tracker.judged_clusters())
            if on_events and len(tracker.progress) > seen:
                on_events(tracker.progress[seen:])
            if tracker.done() or (params["fail_fast"] and tracker.failed()):
                return "done"
            if now >= deadline:
                return "timeout"


def run_wait(hub, nodes, params, check_mode=False, on_events=None):
    """The whole wait of ztp_install_wait: returns the module result (``failed`` and ``msg`` set on failure)."""
    started = time.time()
    limits = limits_of(params)
    mcp = bool(limits["wait_for_mcp"]) and params["until"] == READY
    run_id = uuid.uuid4().hex[:8]
    streams = plan_streams(nodes, params["namespace_watch_limit"], mcp=mcp, run_id=run_id)
    if any(ns is None for _key, _kind, ns, _sel in streams) and not cluster_wide_allowed(hub, streams):
        streams = plan_streams(nodes, params["namespace_watch_limit"], mcp=mcp, run_id=run_id, cluster_wide=False)
    tracker = InstallTracker(nodes, streams, started, until=params["until"], limits=limits)
    for _key, kind_id, _ns, _sel in streams:
        hub.resource(*KINDS[kind_id])
    views = Views(hub, run_id) if mcp and not check_mode else None
    if check_mode:
        snapshot(hub, streams, tracker)
        outcome = "check"
    else:
        try:
            outcome = wait(hub, streams, tracker, params, on_events, views)
        finally:
            if views is not None:
                views.cleanup()
    result = dict(changed=False, nodes=tracker.results(), summary=tracker.summary(time.time() - started),
                  progress=tracker.progress)
    failed = tracker.failed()
    if outcome == "denied":
        result.update(failed=True, msg=tracker.denied)
    elif failed:
        result.update(failed=True, msg="%d of %d node(s) failed: %s" % (
            len(failed), len(tracker.nodes), "; ".join(n.error for n in failed)))
    elif outcome == "timeout":
        pending = [n for n in tracker.nodes if not n.ready]
        hint = ""
        if params["until"] == RENDERED:
            hint = (" ArgoCD has not rendered their BareMetalHosts: check the sync status and errors of the `clusters`"
                    " Application in openshift-gitops (and any siteConfigError) for the pushed revision.")
        result.update(failed=True, msg="timed out after %d s; %d node(s) not %s: %s.%s" % (
            params["timeout"], len(pending), params["until"],
            "; ".join("%s/%s at '%s'%s" % (n.cluster, n.host, n.state, " (%s)" % n.cause if n.cause else "")
                      for n in pending), hint))
    return result


def progress_line(event):
    """One progress event as a line for people: ``sno-a/worker-0  Agent Writing image to disk 40%``."""
    who = "%s/%s" % (event.get("cluster"), event.get("host")) if event.get("host") else "(watch)"
    what = " ".join(str(p) for p in (event.get("object"), event.get("stage")) if p)
    if event.get("percentage") is not None:
        what += " %s%%" % event["percentage"]
    if event.get("message"):
        what += ": %s" % event["message"]
    return "%s  %-40s %s" % (event.get("time", ""), who, what)
