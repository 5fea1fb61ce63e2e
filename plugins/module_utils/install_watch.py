# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch-based wait for the install of worker nodes added to SNO clusters.

Per node (``cluster``, ``host`` = BareMetalHost name = hostName) it follows, on the hub:

* ``PreprovisioningImage <host>``: condition ``Ready`` ``True`` reason ``ImageCreated``;
* ``BareMetalHost <host>``: ``status.provisioning.state`` up to ``provisioned``;
* the ``Agent`` labelled ``agent-install.openshift.io/bmh: <host>``: ``status.progress.currentStage`` and
  ``installationPercentage`` up to ``Done``;
* ``ManagedClusterInfo <cluster>``: the ``status.nodeList`` entry of the host with condition ``Ready True``.

The objects come from one stream per kind (per namespace for a few namespaces, else one all-namespace
stream); ``InstallTracker`` folds the stream events and judges each node. It has no API calls, so that it
can be tested with synthetic events.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, raise_if_any
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import WatchSet, conditions_by_type, ident, now_iso

BMH = ("metal3.io/v1alpha1", "BareMetalHost")
PPI = ("metal3.io/v1alpha1", "PreprovisioningImage")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
KINDS = {"bmh": BMH, "ppi": PPI, "agent": AGENT, "mci": MCI}
BMH_LABEL = "agent-install.openshift.io/bmh"

# worker stage order (assisted-service internal/host/common.go); day-2 workers may jump Rebooting -> Done
AGENT_STAGES = ["Starting installation", "Installing", "Writing image to disk", "Waiting for control plane",
                "Rebooting", "Waiting for ignition", "Configuring", "Joined", "Done"]
BMH_STATES = ["registering", "match profile", "inspecting", "preparing", "ready", "available", "provisioning",
              "provisioned"]

READY = "ready"
RENDERED = "rendered"
FAILED = "failed"


def validate_nodes(nodes):
    """Check the ``nodes`` option; returns the nodes with ``namespace`` filled (default: the cluster name)."""
    errors, out, seen = [], [], set()
    for i, node in enumerate(nodes or []):
        if not isinstance(node, dict) or not node.get("cluster") or not node.get("host"):
            errors.append(ZtpInputError("nodes[%d]" % i, node, "a dict with cluster and host (the BareMetalHost name)"))
            continue
        key = (node["cluster"], node["host"])
        if key in seen:
            errors.append(ZtpInputError("nodes[%d]" % i, node, "each cluster/host only once"))
        seen.add(key)
        out.append({"cluster": node["cluster"], "host": node["host"],
                    "namespace": node.get("namespace") or node["cluster"]})
    if not nodes:
        errors.append(ZtpInputError("nodes", nodes, "at least one {cluster, host}"))
    raise_if_any(errors)
    return out


def plan_streams(nodes, per_namespace_limit=5):
    """Streams to open: ``[(key, kind_id, namespace or None, label_selector)]``, one per kind and namespace
    for up to ``per_namespace_limit`` namespaces, else one all-namespace stream per kind."""
    namespaces = sorted(set(n["namespace"] for n in nodes))
    clusters = sorted(set(n["cluster"] for n in nodes))
    streams = []
    for kind_id in ("ppi", "bmh", "agent"):
        selector = BMH_LABEL if kind_id == "agent" else None
        if len(namespaces) <= per_namespace_limit:
            streams.extend(("%s/%s" % (kind_id, ns), kind_id, ns, selector) for ns in namespaces)
        else:
            streams.append(("%s/*" % kind_id, kind_id, None, selector))
    if len(clusters) <= per_namespace_limit:
        streams.extend(("mci/%s" % c, "mci", c, None) for c in clusters)
    else:
        streams.append(("mci/*", "mci", None, None))
    return streams


def _status(obj):
    return (obj or {}).get("status") or {}


def image_signal(ppi):
    """``(stage, error)`` of a PreprovisioningImage."""
    if ppi is None:
        return None, None
    conds = conditions_by_type(ppi)
    err = conds.get("Error")
    if err and err.get("status") == "True":
        return "error", "PreprovisioningImage %s: %s: %s" % (ident(ppi), err.get("reason"), err.get("message"))
    ready = conds.get("Ready") or {}
    if ready.get("status") == "True" and ready.get("reason") == "ImageCreated":
        return "ImageCreated", None
    return ready.get("reason") or "pending", None


def bmh_signal(bmh):
    """``(provisioning state, error)`` of a BareMetalHost."""
    if bmh is None:
        return None, None
    status = _status(bmh)
    state = (status.get("provisioning") or {}).get("state") or ""
    if status.get("operationalStatus") == "error" or status.get("errorType"):
        return state, "BareMetalHost %s: %s: %s (operationalStatus %s, state %r, errorCount %s)" % (
            ident(bmh), status.get("errorType") or "error", status.get("errorMessage") or "",
            status.get("operationalStatus"), state, status.get("errorCount"))
    return state, None


def agent_signal(agent):
    """``(stage, percentage, error)`` of an Agent."""
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


class NodeState(object):
    def __init__(self, node, now):
        self.cluster = node["cluster"]
        self.host = node["host"]
        self.namespace = node["namespace"]
        self.stages = []
        self.signals = {}
        self.milestones = {}
        self.started = now
        self.last_progress = now
        self.first_eval = None
        self.state = "waiting for BareMetalHost"
        self.ready = False
        self.failed = False
        self.error = None
        self.agent = None

    def duration(self, start, end):
        t0, t1 = self.milestones.get(start), self.milestones.get(end)
        if t0 is None or t1 is None or t1 <= self.first_eval:
            return None
        return round(t1 - t0, 1)

    def as_dict(self):
        return {
            "cluster": self.cluster, "host": self.host, "namespace": self.namespace,
            "stages": self.stages, "state": self.state, "ready": self.ready, "failed": self.failed,
            "error": self.error, "agent": self.agent,
            "durations": {"image": self.duration("start", "image"),
                          "provisioning": self.duration("provisioning", "provisioned"),
                          "install": self.duration("install", "done"),
                          "ready": self.duration("done", "ready")},
        }


class InstallTracker(object):
    """Folds stream events into objects and judges every node after each batch.

    ``apply(events, now)`` takes ``WatchSet`` events whose key is a stream key of ``plan_streams``;
    ``evaluate(now, stall_timeout)`` updates the nodes and returns the progress events of this round.
    """

    def __init__(self, nodes, streams, now, until=READY):
        self.until = until
        self.nodes = [NodeState(n, now) for n in nodes]
        self.stream_kind = dict((key, (kind_id, ns)) for key, kind_id, ns, _sel in streams)
        self.objects = dict((k, {}) for k in KINDS)
        self.synced = set()
        self.progress = []
        self.retries = 0

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
            elif etype in ("ADDED", "MODIFIED"):
                store[_key(payload)] = payload
            elif etype == "DELETED":
                store.pop(_key(payload), None)
            elif etype == "RETRY":
                self.retries += 1
                self.progress.append({"time": now_iso(now), "cluster": None, "host": None, "object": key,
                                      "stage": "reconnecting", "percentage": None, "message": payload})

    def find_agent(self, namespace, host):
        for (ns, _name), agent in sorted(self.objects["agent"].items()):
            if ns == namespace and ((agent.get("metadata") or {}).get("labels") or {}).get(BMH_LABEL) == host:
                return agent
        return None

    def evaluate(self, now, stall_timeout=None):
        events = []
        for node in self.nodes:
            if node.ready or node.failed:
                continue
            events.extend(self._evaluate_node(node, now, stall_timeout))
        self.progress.extend(events)
        return events

    def _record(self, node, source, stage, pct, now, events):
        label = "%s %s" % (source, stage)
        if node.signals.get(source) == (stage, pct):
            return
        node.signals[source] = (stage, pct)
        node.last_progress = now
        entry = {"stage": label, "at": now_iso(now), "percentage": pct}
        if not node.stages or node.stages[-1]["stage"] != label:
            node.stages.append(entry)
        else:
            node.stages[-1] = entry
        node.state = label
        events.append({"time": now_iso(now), "cluster": node.cluster, "host": node.host, "object": source,
                       "stage": stage, "percentage": pct})

    def _milestone(self, node, name, reached, now):
        if reached and name not in node.milestones:
            node.milestones[name] = now

    def _evaluate_node(self, node, now, stall_timeout):
        events = []
        if node.first_eval is None:
            node.first_eval = now
            node.milestones["start"] = now
        ns, host = node.namespace, node.host
        bmh = self.objects["bmh"].get((ns, host))
        ppi = self.objects["ppi"].get((ns, host))
        agent = self.find_agent(ns, host)
        mci = self.objects["mci"].get((node.cluster, node.cluster))
        node.agent = (agent or {}).get("metadata", {}).get("name")
        errors = []

        image, err = image_signal(ppi)
        if err:
            errors.append(err)
        elif image:
            self._record(node, "PreprovisioningImage", image, None, now, events)
            self._milestone(node, "image", image == "ImageCreated", now)

        state, err = bmh_signal(bmh)
        if err:
            errors.append(err)
        if self.until == RENDERED and bmh is not None and not errors:
            node.ready = True
            node.state = RENDERED
            events.append({"time": now_iso(now), "cluster": node.cluster, "host": node.host, "object": "BareMetalHost",
                           "stage": RENDERED, "percentage": None})
            return events
        if bmh is not None and state:
            self._record(node, "BareMetalHost", state, None, now, events)
            self._milestone(node, "provisioning", state in ("provisioning", "provisioned"), now)
            self._milestone(node, "provisioned", state == "provisioned", now)

        stage, pct, err = agent_signal(agent)
        if err:
            errors.append(err)
        if stage:
            self._record(node, "Agent", stage, pct, now, events)
            self._milestone(node, "install", True, now)
            self._milestone(node, "done", stage == "Done", now)

        node_ready = node_signal(mci, host)
        if node_ready is not None:
            self._record(node, "Node", "Ready" if node_ready else "NotReady", None, now, events)
            self._milestone(node, "ready", node_ready, now)

        if errors:
            node.failed = True
            node.state = FAILED
            node.error = "; ".join(errors)
            events.append({"time": now_iso(now), "cluster": node.cluster, "host": node.host, "object": None,
                           "stage": FAILED, "percentage": None, "message": node.error})
            return events
        if stage == "Done" and node_ready and state == "provisioned":
            node.ready = True
            node.state = READY
            events.append({"time": now_iso(now), "cluster": node.cluster, "host": node.host, "object": None,
                           "stage": READY, "percentage": None})
            return events
        if bmh is None and not node.stages:
            node.state = "waiting for BareMetalHost"
        if stall_timeout and now - node.last_progress >= stall_timeout:
            node.failed = True
            last = node.stages[-1]["stage"] if node.stages else "no BareMetalHost %s/%s" % (ns, host)
            node.error = "%s/%s: no progress for %d s; last stage '%s' since %s" % (
                node.cluster, host, int(now - node.last_progress), last, now_iso(node.last_progress))
            node.state = FAILED
            events.append({"time": now_iso(now), "cluster": node.cluster, "host": node.host, "object": None,
                           "stage": "stalled", "percentage": None, "message": node.error})
        return events

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
            namespace=dict(type="str"))),
        timeout=dict(type="int", default=7200),
        stall_timeout=dict(type="int", default=1800),
        fail_fast=dict(type="bool", default=True),
        namespace_watch_limit=dict(type="int", default=5),
        until=dict(type="str", default=READY, choices=[READY, RENDERED]),
    )


def check_params(params):
    """The validated node list; raises ZtpInputError(s) for bad values."""
    nodes = validate_nodes(params["nodes"])
    for field in ("timeout", "stall_timeout", "namespace_watch_limit"):
        if params[field] < 1:
            raise ZtpInputError(field, params[field], "an integer >= 1")
    return nodes


def snapshot(hub, streams, tracker):
    """One list per stream and one judgement (check mode: where the installs stand, without waiting)."""
    now = time.time()
    for key, kind_id, ns, selector in streams:
        api_version, kind = KINDS[kind_id]
        items, _rv = hub.list(api_version, kind, namespace=ns, label_selector=selector)
        tracker.apply([("SYNC", key, items)], now)
    tracker.evaluate(now)


def wait(hub, streams, tracker, params, on_events=None):
    """Follow the streams until every node is ready or failed (or the first failure with ``fail_fast``), or the
    timeout; ``on_events(events)`` gets the progress events of each round as they happen. Returns ``done`` or ``timeout``."""
    start = time.time()
    deadline = start + params["timeout"]
    streams_set = WatchSet(hub, watch_timeout=55)
    for key, kind_id, ns, selector in streams:
        api_version, kind = KINDS[kind_id]
        streams_set.add(key, api_version, kind, namespace=ns, label_selector=selector)
    with streams_set:
        while True:
            events = streams_set.get(min(2.0, max(0.0, deadline - time.time())))
            now = time.time()
            seen = len(tracker.progress)
            tracker.apply(events, now)
            # judge only once every stream has listed, so that a node is never judged on half the objects
            if tracker.all_synced() or now - start > 60:
                tracker.evaluate(now, params["stall_timeout"])
            if on_events and len(tracker.progress) > seen:
                on_events(tracker.progress[seen:])
            if tracker.done() or (params["fail_fast"] and tracker.failed()):
                return "done"
            if now >= deadline:
                return "timeout"


def run_wait(hub, nodes, params, check_mode=False, on_events=None):
    """The whole wait of ztp_install_wait: returns the module result (``failed`` and ``msg`` set on failure)."""
    started = time.time()
    streams = plan_streams(nodes, params["namespace_watch_limit"])
    tracker = InstallTracker(nodes, streams, started, until=params["until"])
    for kind_id in KINDS:
        hub.resource(*KINDS[kind_id])
    if check_mode:
        snapshot(hub, streams, tracker)
        outcome = "check"
    else:
        outcome = wait(hub, streams, tracker, params, on_events)
    result = dict(changed=False, nodes=tracker.results(), summary=tracker.summary(time.time() - started),
                  progress=tracker.progress)
    failed = tracker.failed()
    if failed:
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
            "; ".join("%s/%s at '%s'" % (n.cluster, n.host, n.state) for n in pending), hint))
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
