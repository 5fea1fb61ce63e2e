"""The ArgoCD ``policies`` application and ACM governance of the hub simulator.

Application
    ``policies`` in ``openshift-gitops``; ``spec.source.path`` (default ``policygentemplates``) of the
    Git checkout is rendered like ``kustomize build --enable-alpha-plugins`` with the ztp-site-generate
    plugins (see :mod:`pgt_render`). When the repository also has a ``policygenerator/`` folder with a
    kustomization, it is rendered too, as a second source of the same application. Rendered objects
    carry ``argocd.argoproj.io/tracking-id: policies:<group>/<Kind>:<namespace>/<name>``; policy
    objects with that annotation that are no longer rendered are pruned (namespaces never are). Like ArgoCD, it
    creates no namespace that Git does not declare: ``CreateNamespace=true`` creates only the Application's
    destination namespace (argo-cd ``controller/sync_namespace.go:12`` ``syncNamespace``); an object in any other
    namespace that does not exist fails the sync (``SyncError`` ``one or more objects failed to apply, reason:
    namespaces "<ns>" not found``), and the rest of the sync is still applied.
    A render failure leaves the hub untouched and shows as ``status.sync.status: Unknown`` with a
    ``ComparisonError`` condition, like ArgoCD does for a failing kustomize build. The fault
    ``argocd-not-syncing`` with ``app: policies`` stops syncing.

Placement
    PlacementRule ``status.decisions``; Placement -> PlacementDecision ``<placement>-decision-1`` and
    Placement status. A Placement only selects clusters of cluster sets bound to its namespace by a
    ManagedClusterSetBinding (``global`` = all clusters).

Governance
    Root policies are replicated to ``<cluster>/<root-namespace>.<root-name>`` for the clusters their
    PlacementBindings select; ``subFilter: restricted`` bindings only narrow, and their
    ``bindingOverrides.remediationAction: enforce`` turns the replicated policy to enforce.

Compliance model (``ZTP_POLICY=model``; with ``real`` the ACM governance controllers replace it, see
testhub/policy_controllers.py)
    A cluster is Compliant with a policy when it "has" the policy content: the sha256 of the root
    ``spec.policy-templates``. The content each cluster has is kept in ConfigMap
    ``policy-compliance-<cluster>`` in ``ztp-simulator`` (key ``<root-namespace>.<root-name>``, value the
    hash; labels ``ztp-simulator/state=policy-compliance``, ``ztp-simulator/cluster=<cluster>``).
    When a cluster is seen for the first time, every policy bound to it then is recorded (day-1
    done). New or changed policies are NonCompliant until enforced; an enforced policy is recorded
    ``delays.policy_remediation`` simulated seconds (settings key, default 60) after enforcement began,
    unless the fault ``policy-never-compliant`` (``policy``, optional ``cluster``) matches or the
    enforcing binding belongs to a ClusterGroupUpgrade with the fault ``cgu-timeout``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time

try:
    from kubernetes.dynamic.exceptions import ApiException, ConflictError
except ImportError:  # pragma: no cover
    ApiException = ConflictError = Exception

try:
    from . import pgt_common as common
    from .core import take_refresh_request
    from .pgt_render import RenderError, render_kustomization
except ImportError:  # pragma: no cover - loaded as a top-level module
    import pgt_common as common
    from core import take_refresh_request
    from pgt_render import RenderError, render_kustomization

APP_NAMESPACE = "openshift-gitops"
APP_NAME = "policies"
TRACKING = "argocd.argoproj.io/tracking-id"
ROOT_LABEL = "policy.open-cluster-management.io/root-policy"
CLUSTER_NAME_LABEL = "policy.open-cluster-management.io/cluster-name"
CLUSTER_NS_LABEL = "policy.open-cluster-management.io/cluster-namespace"
STATE_LABEL = "ztp-simulator/state"
STATE_CLUSTER_LABEL = "ztp-simulator/cluster"
STATE_PREFIX = "policy-compliance-"
CGU_LABEL = "openshift-cluster-group-upgrades/clusterGroupUpgrade"
PRUNED_KINDS = ("Policy", "PlacementBinding", "PlacementRule", "Placement")
EXTRA_SOURCES = ("policygenerator",)


def content_hash(policy):
    templates = (policy.get("spec") or {}).get("policy-templates") or []
    return hashlib.sha256(json.dumps(templates, sort_keys=True).encode()).hexdigest()[:32]


def _group(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def tracking_id(obj):
    meta = obj["metadata"]
    return "%s:%s/%s:%s/%s" % (APP_NAME, _group(obj["apiVersion"]), obj["kind"], meta.get("namespace") or "", meta["name"])


class PoliciesApp:
    """ArgoCD ``policies`` app, placement and governance (policy propagator + compliance)."""

    name = "policies"

    def __init__(self, sim):
        self.sim = sim
        self.kube = common.Kube(sim)
        self._synced_key = None
        self._synced_at = 0.0
        self._synced_real = 0.0
        self._enforce_started = {}
        self._state = None
        self._clusters = {}
        self.decisions = {}
        self._refused = {}
        # ZTP_POLICY=real (set by testhub/hubctl.py when it starts the simulator): the real propagator, framework add-on
        # and config-policy controller replicate the policies and the spoke decides compliance; this model then only
        # writes the PlacementDecisions (no placement controller builds here) and runs the ``policies`` Application
        self.real_governance = os.environ.get("ZTP_POLICY", "model").strip().lower() == "real"

    # ------------------------------------------------------------------ entry point
    def reconcile(self):
        self.sync_app()
        self.place()
        if not self.real_governance:
            self.govern()

    # ------------------------------------------------------------------ ArgoCD app
    def _checkout(self, refresh=False):
        """(root of the tree the app renders, revision)."""
        git = getattr(self.sim, "git", None)
        if git is None:
            return None, None
        if hasattr(git, "app_tree"):
            revision, path = git.app_tree(APP_NAME, refresh) if refresh else git.app_tree(APP_NAME)
            return path, revision
        return getattr(git, "checkout", None), getattr(git, "revision", None)

    def sync_app(self):
        app = self.kube.get("Application", APP_NAME, APP_NAMESPACE)
        if app is None:
            return
        if common.sim_fault(self.sim, "argocd-not-syncing", app=APP_NAME):
            return
        checkout, revision = self._checkout(refresh=take_refresh_request(self.sim, app))
        if not checkout or not os.path.isdir(checkout):
            return
        source = (app.get("spec") or {}).get("source") or {}
        path = source.get("path") or "policygentemplates"
        key = (revision, path, app["metadata"].get("generation"))
        resync = common.sim_delay(self.sim, "argocd_resync", 180.0)
        fresh = common.sim_seconds(self.sim) - self._synced_at < resync or time.monotonic() - self._synced_real < 5.0
        if key == self._synced_key and fresh:
            return
        now = common.sim_now(self.sim)
        dirs = [os.path.join(checkout, path)]
        for extra in EXTRA_SOURCES:
            if extra != path.strip("/") and os.path.isfile(os.path.join(checkout, extra, "kustomization.yaml")):
                dirs.append(os.path.join(checkout, extra))
        try:
            objects, seen = [], set()
            for idx, kdir in enumerate(dirs):
                try:
                    objects.extend(render_kustomization(kdir, seen))
                except RenderError as exc:
                    rel = os.path.relpath(kdir, checkout)
                    # argo-cd controller/state.go:421 (source i of n) and :749 (the ComparisonError's prefix)
                    raise RenderError("Failed to load target state: failed to generate manifest for source %d of %d: rpc error: "
                                      "code = Unknown desc = `kustomize build <path to cached source>/%s --enable-alpha-plugins` "
                                      "failed exit status 1: Error: %s" % (idx + 1, len(dirs), rel, exc)) from exc
            applied = self._apply(objects, _created_namespace(app))
        except RenderError as exc:
            common.sim_log(self.sim, "policies app: %s", exc)
            self._write_app_status(app, revision, now, error=str(exc), source=source)
            self._synced_key, self._synced_at, self._synced_real = key, common.sim_seconds(self.sim), time.monotonic()
            return
        except ApiException as exc:
            # gitops-engine pkg/sync/sync_context.go:595
            message = "one or more objects failed to apply, reason: %s" % common.api_message(exc)
            common.sim_log(self.sim, "policies app: %s", message)
            self._write_app_status(app, revision, now, error=message, source=source, sync_error=True)
            return
        self._write_app_status(app, revision, now, resources=applied, source=source)
        self._synced_key, self._synced_at, self._synced_real = key, common.sim_seconds(self.sim), time.monotonic()

    def _apply(self, objects, create_namespace=None):
        desired = {}
        for obj in objects:
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
                raise RenderError("missing apiVersion or kind in a rendered object")
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("annotations", {})[TRACKING] = tracking_id(obj)
            desired[(obj["kind"], meta.get("namespace") or "", meta["name"])] = obj
        if create_namespace:
            self.kube.ensure_namespace(create_namespace)
        failure = None
        for (kind, namespace, _name), obj in sorted(desired.items(), key=lambda i: (i[0][0] != "Namespace", i[0])):
            try:
                try:
                    self.kube.apply(obj)
                except ConflictError:
                    self.kube.apply(obj)
            except ApiException as exc:  # ArgoCD applies the rest, then reports the sync failed
                failure = failure or exc
        if failure is not None:
            raise failure
        for kind in PRUNED_KINDS:
            for item in self.kube.list(kind):
                meta = item["metadata"]
                tid = (meta.get("annotations") or {}).get(TRACKING) or ""
                if tid.startswith(APP_NAME + ":") and (kind, meta.get("namespace") or "", meta["name"]) not in desired:
                    self.kube.delete(kind, meta["name"], meta.get("namespace"))
        return [{"group": _group(o["apiVersion"]), "version": o["apiVersion"].split("/")[-1], "kind": k[0],
                 "namespace": k[1] or None, "name": k[2], "status": "Synced"} for k, o in sorted(desired.items())]

    def _write_app_status(self, app, revision, now, error=None, source=None, resources=None, sync_error=False):
        status = copy.deepcopy(app.get("status") or {})
        destination = (app.get("spec") or {}).get("destination") or {}
        stamp = common.fmt_time(now)
        status["reconciledAt"] = stamp
        if error and not sync_error:
            status["sync"] = {"status": "Unknown", "revision": revision, "comparedTo": {"source": source, "destination": destination}}
            status["conditions"] = [{"type": "ComparisonError", "message": error, "lastTransitionTime": stamp}]
            status.setdefault("health", {"status": "Healthy"})
        elif error:
            status["sync"] = {"status": "OutOfSync", "revision": revision, "comparedTo": {"source": source, "destination": destination}}
            status["conditions"] = [{"type": "SyncError", "message": error, "lastTransitionTime": stamp}]
            status["operationState"] = {"phase": "Failed", "message": error, "startedAt": stamp, "finishedAt": stamp,
                                        "operation": {"sync": {"revision": revision}}, "syncResult": {"revision": revision}}
        else:
            status["sync"] = {"status": "Synced", "revision": revision, "comparedTo": {"source": source, "destination": destination}}
            status["health"] = {"status": "Healthy"}
            status.pop("conditions", None)
            status["resources"] = [{k: v for k, v in r.items() if v is not None} for r in resources or []]
            status["operationState"] = {"phase": "Succeeded", "message": "successfully synced (all tasks run)", "startedAt": stamp,
                                        "finishedAt": stamp, "operation": {"sync": {"revision": revision}},
                                        "syncResult": {"revision": revision, "source": source}}
            status["sourceType"] = "Kustomize"
        body = {"status": common.clean(status)}
        if not error:
            body["status"]["conditions"] = None
        self.kube.merge_patch(app, body)

    # ------------------------------------------------------------------ placement
    def place(self):
        clusters = self.kube.list("ManagedCluster")
        self._clusters = {c["metadata"]["name"]: c for c in clusters}
        decisions = {}
        for rule in self.kube.list("PlacementRule"):
            meta = rule["metadata"]
            spec = rule.get("spec") or {}
            names = {c.get("name") for c in spec.get("clusters") or []}
            selected = []
            for cname, cluster in sorted(self._clusters.items()):
                if names and cname not in names:
                    continue
                if common.match_selector(common.cluster_labels(cluster), spec.get("clusterSelector")):
                    selected.append(cname)
            decisions[("PlacementRule", meta["namespace"], meta["name"])] = selected
            want = [{"clusterName": c, "clusterNamespace": c} for c in selected]
            if (rule.get("status") or {}).get("decisions") != want:
                rule.setdefault("status", {})["decisions"] = want
                self._status_write(rule)
        bindings_by_ns = {}
        for mcsb in self.kube.list("ManagedClusterSetBinding"):
            bindings_by_ns.setdefault(mcsb["metadata"]["namespace"], []).append((mcsb.get("spec") or {}).get("clusterSet"))
        refused = {}
        for placement in self.kube.list("Placement"):
            meta = placement["metadata"]
            key = ("Placement", meta["namespace"], meta["name"])
            selected = self._placement_select(placement, bindings_by_ns.get(meta["namespace"], []))
            try:
                self._write_placement(placement, selected, bool(bindings_by_ns.get(meta["namespace"])))
            except ApiException as exc:
                # ocm pkg/placement/controllers/scheduling/scheduling_controller.go:271: when the PlacementDecision
                # cannot be written (its label carries the Placement's name, :502, so a name over 63 characters is
                # refused), the sync returns the error before the Placement's status and is retried: no cluster is
                # ever decided
                refused[key] = common.api_message(exc)
                if key not in self._refused:
                    common.sim_log(self.sim, "placement %s/%s: %s", meta["namespace"], meta["name"], refused[key])
                selected = []
            decisions[key] = selected
        self._refused = refused
        self.decisions = decisions

    def _placement_select(self, placement, cluster_sets):
        if not cluster_sets:
            return []
        spec = placement.get("spec") or {}
        wanted_sets = spec.get("clusterSets") or []
        selected = []
        for cname, cluster in sorted(self._clusters.items()):
            labels = common.cluster_labels(cluster)
            cset = labels.get("cluster.open-cluster-management.io/clusterset", "default")
            ok_sets = [s for s in cluster_sets if s == "global" or s == cset]
            if wanted_sets:
                ok_sets = [s for s in ok_sets if s in wanted_sets]
            if not ok_sets:
                continue
            predicates = spec.get("predicates") or [{}]
            if any(common.match_selector(labels, (p.get("requiredClusterSelector") or {}).get("labelSelector")) for p in predicates):
                selected.append(cname)
        limit = spec.get("numberOfClusters")
        if isinstance(limit, int) and limit >= 0:
            selected = selected[:limit]
        return selected

    def _write_placement(self, placement, selected, bound):
        meta = placement["metadata"]
        dname = meta["name"] + "-decision-1"
        want = [{"clusterName": c, "reason": ""} for c in selected]
        decision = self.kube.get("PlacementDecision", dname, meta["namespace"])
        if decision is None:
            decision = self.kube.create({
                "apiVersion": common.API["PlacementDecision"], "kind": "PlacementDecision",
                "metadata": {"name": dname, "namespace": meta["namespace"],
                             "labels": {"cluster.open-cluster-management.io/placement": meta["name"],
                                        "cluster.open-cluster-management.io/decision-group-index": "0",
                                        "cluster.open-cluster-management.io/decision-group-name": ""},
                             "ownerReferences": [{"apiVersion": placement["apiVersion"], "kind": "Placement", "name": meta["name"],
                                                  "uid": meta["uid"], "blockOwnerDeletion": True, "controller": True}]},
            })
        if (decision.get("status") or {}).get("decisions") != want:
            decision["status"] = {"decisions": want}
            self._status_write(decision)
        now = common.fmt_time(common.sim_now(self.sim))
        if bound:
            satisfied = {"type": "PlacementSatisfied", "status": "True" if selected else "False",
                         "reason": "AllDecisionsScheduled" if selected else "NoManagedClusterMatched",
                         "message": "All cluster decisions scheduled" if selected else "No ManagedCluster matches any of the cluster predicate"}
        else:
            satisfied = {"type": "PlacementSatisfied", "status": "False", "reason": "NoManagedClusterSetBindings",
                         "message": "No ManagedClusterSetBindings found in placement namespace"}
        status = placement.get("status") or {}
        old = {c.get("type"): c for c in status.get("conditions") or []}.get("PlacementSatisfied") or {}
        if status.get("numberOfSelectedClusters") != len(selected) or old.get("reason") != satisfied["reason"]:
            satisfied["lastTransitionTime"] = now
            status = {"numberOfSelectedClusters": len(selected),
                      "decisionGroups": [{"decisionGroupIndex": 0, "decisionGroupName": "", "decisions": [dname],
                                          "clusterCount": len(selected)}],
                      "conditions": [{"type": "PlacementMisconfigured", "status": "False", "reason": "Succeedconfigured",
                                      "message": "Placement configurations check pass", "lastTransitionTime": now}, satisfied]}
            placement["status"] = status
            self._status_write(placement)

    def _status_write(self, obj):
        try:
            self.kube.replace_status(obj)
        except ConflictError:
            pass

    # ------------------------------------------------------------------ governance
    def _load_state(self):
        if self._state is None:
            self._state = {}
            for cm in self.kube.list("ConfigMap", namespace=common.SIM_NAMESPACE, label_selector="%s=policy-compliance" % STATE_LABEL):
                cluster = (cm["metadata"].get("labels") or {}).get(STATE_CLUSTER_LABEL)
                if cluster:
                    self._state[cluster] = dict(cm.get("data") or {})
        return self._state

    def _save_state(self, cluster):
        self.kube.ensure_namespace(common.SIM_NAMESPACE)
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": STATE_PREFIX + cluster, "namespace": common.SIM_NAMESPACE,
                             "labels": {STATE_LABEL: "policy-compliance", STATE_CLUSTER_LABEL: cluster}},
                "data": dict(self._state[cluster])}
        self.kube.apply(body)

    def _bindings(self):
        """(policy key) -> {'clusters': set, 'enforce': {cluster: cgu-name-or-''}, 'placements': [...]}"""
        result = {}
        for binding in self.kube.list("PlacementBinding"):
            meta = binding["metadata"]
            ref = binding.get("placementRef") or {}
            selected = self.decisions.get((ref.get("kind"), meta["namespace"], ref.get("name")), [])
            restricted = binding.get("subFilter") == "restricted"
            enforce = str((binding.get("bindingOverrides") or {}).get("remediationAction") or "").lower() == "enforce"
            cgu = (meta.get("labels") or {}).get(CGU_LABEL, "")
            for subject in binding.get("subjects") or []:
                if subject.get("kind") != "Policy":
                    continue
                entry = result.setdefault((meta["namespace"], subject.get("name")),
                                          {"clusters": set(), "restricted": [], "placements": []})
                if restricted:
                    entry["restricted"].append((set(selected), enforce, cgu))
                else:
                    entry["clusters"].update(selected)
                    pref = {"placementBinding": meta["name"]}
                    pref["placementRule" if ref.get("kind") == "PlacementRule" else "placement"] = ref.get("name")
                    decisions = [{"clusterName": c, "clusterNamespace": c} for c in selected]
                    if decisions:
                        pref["decisions"] = decisions
                    entry["placements"].append(pref)
        return result

    def govern(self):
        state = self._load_state()
        now = common.sim_now(self.sim)
        delay = common.sim_delay(self.sim, "policy_remediation", 60.0)
        policies = self.kube.list("Policy")
        roots = [p for p in policies if ROOT_LABEL not in (p["metadata"].get("labels") or {})]
        children = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in policies
                    if ROOT_LABEL in (p["metadata"].get("labels") or {})}
        bindings = self._bindings()
        wanted_children = set()
        bound_by_cluster = {}
        plans = []
        for root in roots:
            meta = root["metadata"]
            rkey = "%s.%s" % (meta["namespace"], meta["name"])
            entry = bindings.get((meta["namespace"], meta["name"]), {"clusters": set(), "restricted": [], "placements": []})
            clusters = set(entry["clusters"]) if not (root.get("spec") or {}).get("disabled") else set()
            clusters &= set(self._clusters)
            enforce = {}
            for selected, is_enforce, cgu in entry["restricted"]:
                for cluster in selected & clusters:
                    if is_enforce:
                        enforce[cluster] = cgu
            plans.append((root, rkey, sorted(clusters), enforce, entry["placements"]))
            for cluster in clusters:
                bound_by_cluster.setdefault(cluster, []).append((rkey, content_hash(root)))
        for cluster in sorted(self._clusters):
            if cluster not in state:
                state[cluster] = dict(bound_by_cluster.get(cluster, []))
                self._save_state(cluster)
        for root, rkey, clusters, enforce, placements in plans:
            chash = content_hash(root)
            spec_action = str((root.get("spec") or {}).get("remediationAction") or "inform").lower()
            results = []
            for cluster in clusters:
                action = "enforce" if (cluster in enforce or spec_action == "enforce") else spec_action
                compliant = self._evaluate(root, rkey, chash, cluster, action, enforce.get(cluster, ""), now, delay)
                wanted_children.add((cluster, rkey))
                self._write_child(root, rkey, cluster, action, compliant, children.get((cluster, rkey)), now)
                results.append({"clustername": cluster, "clusternamespace": cluster, "compliant": compliant})
            self._write_root_status(root, results, placements)
        for namespace, name in children:
            if (namespace, name) not in wanted_children:
                self.kube.delete("Policy", name, namespace)

    def _evaluate(self, root, rkey, chash, cluster, action, cgu, now, delay):
        name = root["metadata"]["name"]
        if common.sim_fault(self.sim, "policy-never-compliant", cluster=cluster, policy=name):
            return "NonCompliant"
        state = self._state.setdefault(cluster, {})
        if state.get(rkey) == chash:
            self._enforce_started.pop((cluster, rkey), None)
            return "Compliant"
        if action != "enforce":
            self._enforce_started.pop((cluster, rkey), None)
            return "NonCompliant"
        if cgu and common.sim_fault(self.sim, "cgu-timeout", cgu=cgu):
            return "NonCompliant"
        seconds = common.sim_seconds(self.sim)
        started = self._enforce_started.get((cluster, rkey))
        if started is None or started[1] != chash:
            self._enforce_started[(cluster, rkey)] = (seconds, chash)
            started = (seconds, chash)
        if seconds - started[0] >= delay:
            state[rkey] = chash
            self._save_state(cluster)
            self._enforce_started.pop((cluster, rkey), None)
            self._apply_selectors(root, cluster)
            common.sim_log(self.sim, "policy %s applied on %s", rkey, cluster)
            return "Compliant"
        return "NonCompliant"

    def _apply_selectors(self, root, cluster):
        """An enforced policy's PtpOperatorConfig / SriovOperatorConfig objects set the cluster's daemon selectors, as
        the config-policy controller applies them on the spoke (what ztp_daemon_selectors_info reads afterwards)."""
        fields = {"PtpOperatorConfig": ("ptp", "daemonNodeSelector"),
                  "SriovOperatorConfig": ("sriov", "configDaemonNodeSelector")}
        enforced = getattr(self.sim, "enforced_selectors", None)
        if enforced is None:
            return
        for template in (root.get("spec") or {}).get("policy-templates") or []:
            definition = (template or {}).get("objectDefinition") or {}
            for item in (definition.get("spec") or {}).get("object-templates") or []:
                obj = (item or {}).get("objectDefinition") or {}
                if obj.get("kind") not in fields:
                    continue
                which, field = fields[obj["kind"]]
                value = (obj.get("spec") or {}).get(field)
                if isinstance(value, dict):
                    enforced[(cluster, which)] = dict((str(k), "" if v is None else str(v)) for k, v in value.items()
                                                      if not str(k).startswith("$"))

    def _write_child(self, root, rkey, cluster, action, compliant, current, now):
        rmeta = root["metadata"]
        labels = dict(rmeta.get("labels") or {})
        labels.update({ROOT_LABEL: rkey, CLUSTER_NAME_LABEL: cluster, CLUSTER_NS_LABEL: cluster})
        annotations = {k: v for k, v in (rmeta.get("annotations") or {}).items()
                       if k not in (TRACKING, "kubectl.kubernetes.io/last-applied-configuration")}
        spec = copy.deepcopy(root.get("spec") or {})
        spec["remediationAction"] = action
        body = {"apiVersion": root["apiVersion"], "kind": "Policy",
                "metadata": {"name": rkey, "namespace": cluster, "labels": labels, "annotations": annotations,
                             "ownerReferences": [{"apiVersion": root["apiVersion"], "kind": "Policy", "name": rmeta["name"],
                                                  "uid": rmeta["uid"], "blockOwnerDeletion": True, "controller": True}]},
                "spec": spec}
        if current is None:
            self.kube.ensure_namespace(cluster)
            try:
                current = self.kube.create(body)
            except ConflictError:
                current = self.kube.get("Policy", rkey, cluster)
        elif current.get("spec") != spec or (current["metadata"].get("labels") or {}) != labels:
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                current = self.kube.replace(body)
            except ConflictError:
                return
        status = current.get("status") or {}
        if status.get("compliant") != compliant:
            templates = (spec.get("policy-templates") or [{}])
            tname = ((templates[0].get("objectDefinition") or {}).get("metadata") or {}).get("name", "")
            current["status"] = {"compliant": compliant, "details": [{
                "compliant": compliant, "templateMeta": {"name": tname},
                "history": [{"eventName": "%s.%s" % (rkey, tname), "lastTimestamp": common.fmt_time(now),
                             "message": "%s; notification - simulated evaluation" % compliant}]}]}
            self._status_write(current)

    def _write_root_status(self, root, results, placements):
        status = {}
        if placements:
            status["placement"] = placements
        if results:
            status["status"] = sorted(results, key=lambda r: r["clustername"])
            values = {r["compliant"] for r in results}
            status["compliant"] = "NonCompliant" if "NonCompliant" in values else ("Pending" if "Pending" in values else "Compliant")
        old = root.get("status") or {}
        if (old.get("status") or []) != (status.get("status") or []) or old.get("compliant") != status.get("compliant") \
                or (old.get("placement") or []) != (status.get("placement") or []):
            root["status"] = status
            self._status_write(root)


def _created_namespace(app):
    """The namespace ArgoCD creates for the Application: its destination's, with ``CreateNamespace=true``."""
    spec = app.get("spec") or {}
    if "CreateNamespace=true" not in ((spec.get("syncPolicy") or {}).get("syncOptions") or []):
        return None
    return (spec.get("destination") or {}).get("namespace")
