"""TALM (cluster-group-upgrades-operator) stand-in: reconciles ``ClusterGroupUpgrade`` (``ran.openshift.io/v1alpha1``).

Follows the upstream controller flow and strings: ``ClustersSelected`` -> ``Validated`` -> ``Progressing`` ->
``Succeeded`` (pre-caching and backup are not simulated); a condition whose status changes moves to the end of
the list, so ``status.conditions[-1]`` is the latest transition. Policies are found through their replicated
child policies in the cluster namespaces (``<root-namespace>.<root-name>``); compliance is read from the root
policy ``status.status``. Remediation runs per batch of ``status.remediationPlan`` (canaries one per batch
first, then batches of ``maxConcurrency``), policy by policy in ``managedPolicies`` order, through a Placement
and a PlacementBinding per policy (``<cgu>-<policy>-placement-xxxxx`` in the policy namespace, ``subFilter: restricted``,
``bindingOverrides.remediationAction: enforce``); the governance part of the simulator then makes the policy
compliant. The batch Placement only selects clusters when the policy namespace has a ManagedClusterSetBinding;
otherwise ``Progressing`` is ``True``/``WaitingForPlacement``. Timeouts run in simulated time. A finished CGU is
never run again. Fault ``cgu-timeout`` (``cgu: <name>``) keeps its policies from ever becoming compliant.

A CGU that cannot start is looked at again only after TALM's requeue interval, or when its spec changes (the
controller's predicate reacts to generation changes only; clustergroupupgrade_controller.go SetupWithManager):
``ClusterNotFound`` after 5 minutes (requeueWithLongInterval), missing policies and missing or unfinished blocking
CGUs after 1 minute (requeueWithMediumInterval).
"""

from __future__ import annotations

import copy
import hashlib
import json

try:
    from kubernetes.dynamic.exceptions import ConflictError
except ImportError:  # pragma: no cover
    ConflictError = Exception

try:
    from . import pgt_common as common
except ImportError:  # pragma: no cover - loaded as a top-level module
    import pgt_common as common

CGU_LABEL = "openshift-cluster-group-upgrades/clusterGroupUpgrade"
CGU_NS_LABEL = "openshift-cluster-group-upgrades/clusterGroupUpgradeNamespace"
FOR_POLICY_LABEL = "openshift-cluster-group-upgrades/forPolicy"
ROOT_LABEL = "policy.open-cluster-management.io/root-policy"
SOAK = "ran.openshift.io/soak-seconds"
IN_PROGRESS_MSG = "Remediating non-compliant policies"
COMPLETED_MSG = "All clusters are compliant with all the managed policies"
TIMEOUT_MSG = "Policy remediation took too long"
MAX_OBJECT_NAME = 253  # controllers/utils/constants.go MaxObjectNameLength


def go_list(items):
    """fmt's %s of a []string."""
    return "[" + " ".join(items) + "]"


# k8s.io/apimachinery/pkg/util/rand: the alphabet of rand.String (no vowels, no confusable characters)
RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def safe_name(name, namespace, seed, max_length=MAX_OBJECT_NAME):
    """TALM's NewSafeResourceName (controllers/utils/common.go:61): ``<name>-<5 random characters>``, ``name`` cut only
    where the whole would pass ``max_length`` (253) with the namespace counted in. The random part here comes from
    ``seed`` (the CGU's uid) so that every tick finds the same name, as TALM finds it in ``status.safeResourceNames``."""
    digest = hashlib.sha256(("%s/%s/%s" % (seed, namespace, name)).encode()).digest()
    suffix = "".join(RAND_ALPHABET[b % len(RAND_ALPHABET)] for b in digest[:5])
    base = name[:max_length - len(suffix) - len(namespace) - 1]
    while base and not (base[-1].isalnum() or base[-1] == "-"):
        base = base[:-1]
    return "%s-%s" % (base, suffix)


class Talm:
    """ClusterGroupUpgrade controller."""

    name = "talm"

    def __init__(self, sim):
        self.sim = sim
        self.kube = common.Kube(sim)
        self.ctx = {}
        self.requeue = {}

    # ------------------------------------------------------------------ context
    def _load(self):
        clusters = {c["metadata"]["name"]: c for c in self.kube.list("ManagedCluster")}
        roots, children = {}, {}
        for pol in self.kube.list("Policy"):
            meta = pol["metadata"]
            if ROOT_LABEL in (meta.get("labels") or {}):
                children.setdefault(meta["namespace"], []).append(pol)
            else:
                roots[(meta["namespace"], meta["name"])] = pol
        mcsb = {b["metadata"]["namespace"] for b in self.kube.list("ManagedClusterSetBinding")}
        self.ctx = {"clusters": clusters, "roots": roots, "children": children, "mcsb": mcsb}

    def reconcile(self):
        cgus = self.kube.list("ClusterGroupUpgrade")
        if not cgus:
            return
        self._load()
        now = common.sim_seconds(self.sim)
        live = set()
        for cgu in cgus:
            meta = cgu["metadata"]
            key = (meta["namespace"], meta["name"])
            live.add(key)
            held = self.requeue.pop(key, None)
            if held and held[0] == (meta.get("uid"), meta.get("generation")) and now < held[1]:
                self.requeue[key] = held
                continue
            try:
                interval = self.reconcile_cgu(cgu)
            except ConflictError:
                continue
            if interval:
                self.requeue[key] = ((meta.get("uid"), meta.get("generation")), now + interval)
        for key in set(self.requeue) - live:
            del self.requeue[key]

    # ------------------------------------------------------------------ helpers
    def compliance(self, cluster, policy_name, namespace):
        """Compliant / NonCompliant / None (cluster not matched with the policy)."""
        root = self.ctx["roots"].get((namespace, policy_name))
        if root is None:
            return "NonCompliant"
        for entry in (root.get("status") or {}).get("status") or []:
            if entry.get("clustername") == cluster:
                return "Compliant" if entry.get("compliant") == "Compliant" else "NonCompliant"
        return None

    def _select_clusters(self, spec):
        known = self.ctx["clusters"]
        selected = []
        for name in spec.get("clusters") or []:
            if name not in known:
                return None, "cluster %s is not a ManagedCluster" % name
            if name not in selected:
                selected.append(name)
        extra = set()
        for selector in spec.get("clusterLabelSelectors") or []:
            extra.update(n for n, c in known.items() if common.match_selector(common.cluster_labels(c), selector))
        for text in spec.get("clusterSelector") or []:
            key, _sep, value = str(text).partition("=")
            for cname, cluster in known.items():
                labels = common.cluster_labels(cluster)
                if key in labels and (not value or labels[key] == value):
                    extra.add(cname)
        selected.extend(sorted(n for n in extra if n not in selected))
        return selected, None

    def _managed_policies(self, spec, status, clusters):
        policy_ns, namespaces, enforce, invalid_hub = {}, {}, set(), set()
        for cluster in clusters:
            for child in self.ctx["children"].get(cluster, []):
                root_ns, _sep, root_name = child["metadata"]["name"].partition(".")
                if not root_name:
                    continue
                if str((child.get("spec") or {}).get("remediationAction") or "").lower() == "enforce":
                    enforce.add(root_name)
                    continue
                if "{{hub" in json.dumps((child.get("spec") or {}).get("policy-templates") or []):
                    invalid_hub.add(root_name)
                policy_ns[root_name] = root_ns
                namespaces.setdefault(root_name, set()).add(root_ns)
        duplicated = {n: sorted(ns) for n, ns in namespaces.items() if len(ns) > 1}
        if duplicated:
            message = "Managed policy name should be unique, but was found in multiple namespaces: %s " % json.dumps(
                duplicated, separators=(",", ":"), sort_keys=True)
            return False, "AmbiguousManagedPoliciesNames", message
        missing, invalid, for_upgrade, compliant_before = [], [], [], []
        status["managedPoliciesNs"] = {}
        for name in spec.get("managedPolicies") or []:
            if name in enforce:
                continue
            if name not in policy_ns:
                missing.append(name)
                continue
            namespace = policy_ns[name]
            if (namespace, name) not in self.ctx["roots"]:
                missing.append(name)
                continue
            if name in invalid_hub:
                invalid.append(name)
                continue
            if not any(self.compliance(c, name, namespace) == "NonCompliant" for c in clusters):
                compliant_before.append(name)
                continue
            for_upgrade.append({"name": name, "namespace": namespace})
            status["managedPoliciesNs"][name] = namespace
        if for_upgrade:
            status["managedPoliciesForUpgrade"] = for_upgrade
        else:
            status.pop("managedPoliciesForUpgrade", None)
        if compliant_before:
            status["managedPoliciesCompliantBeforeUpgrade"] = compliant_before
        else:
            status.pop("managedPoliciesCompliantBeforeUpgrade", None)
        if not status["managedPoliciesNs"]:
            status.pop("managedPoliciesNs")
        if invalid:
            return False, "NotAllManagedPoliciesExist", "Invalid managed policies: %s " % go_list(invalid)
        if missing:
            return False, "NotAllManagedPoliciesExist", "Missing managed policies: %s " % go_list(missing)
        return True, None, None

    def _build_plan(self, spec, status, clusters):
        policies = status.get("managedPoliciesForUpgrade") or []
        todo = [c for c in clusters if any(self.compliance(c, p["name"], p["namespace"]) == "NonCompliant" for p in policies)]
        strategy = spec.get("remediationStrategy") or {}
        plan = []
        canaries = [c for c in strategy.get("canaries") or [] if c in todo]
        for canary in canaries:
            plan.append([canary])
        rest = [c for c in todo if c not in canaries]
        max_conc = int(strategy.get("maxConcurrency") or 0)
        computed = max_conc if 0 < max_conc <= len(clusters) else len(clusters)
        status["computedMaxConcurrency"] = computed
        step = max(1, computed)
        for idx in range(0, len(rest), step):
            plan.append(rest[idx:idx + step])
        if plan:
            status["remediationPlan"] = plan
        else:
            status.pop("remediationPlan", None)
        return plan

    def _cluster_actions(self, clusters, actions):
        if not actions:
            return
        for cname in clusters:
            cluster = self.ctx["clusters"].get(cname)
            if cluster is None:
                continue
            labels = dict(actions.get("addClusterLabels") or {})
            for key in list(actions.get("removeClusterLabels") or []) + list(actions.get("deleteClusterLabels") or []):
                labels[key] = None
            annotations = dict(actions.get("addClusterAnnotations") or {})
            for key in actions.get("removeClusterAnnotations") or []:
                annotations[key] = None
            meta = {}
            if labels:
                meta["labels"] = labels
            if annotations:
                meta["annotations"] = annotations
            if meta:
                self.kube.merge_patch(cluster, {"metadata": meta})

    def _blocking(self, cgu):
        """Blocking CGUs missing and not completed (clustergroupupgrade_controller.go:1273-1308 blockingCRsNotCompleted):
        completed means Succeeded True, or with the partial completion annotation any Succeeded condition
        (:1299-1305; utils/constants.go:178-180)."""
        partial = ((cgu.get("metadata") or {}).get("annotations") or {}).get(
            "ran.openshift.io/blocking-cgu-completion-mode") == "partial"
        missing, incomplete = [], []
        for ref in (cgu.get("spec") or {}).get("blockingCRs") or []:
            other = self.kube.get("ClusterGroupUpgrade", ref.get("name"), ref.get("namespace"))
            if other is None:
                missing.append(ref.get("name"))
                continue
            cond = common.find_condition((other.get("status") or {}).get("conditions"), "Succeeded")
            if not cond or (cond.get("status") != "True" and not partial):
                incomplete.append(ref.get("name"))
        return missing, incomplete

    # ------------------------------------------------------------------ reconcile
    def reconcile_cgu(self, cgu):
        meta = cgu["metadata"]
        spec = cgu.get("spec") or {}
        status = copy.deepcopy(cgu.get("status") or {})
        before = copy.deepcopy(status)
        now = common.sim_now(self.sim)
        stamp = common.fmt_time(now)
        gen = meta.get("generation")
        conds = status.get("conditions") or []

        def setc(ctype, cstatus, reason, message):
            status["conditions"] = common.set_condition(status.get("conditions"), ctype, cstatus, reason, message, now, generation=gen)

        st = status.setdefault("status", {})
        requeue = None
        succeeded = common.find_condition(conds, "Succeeded")
        progressing = common.find_condition(conds, "Progressing")
        if succeeded:
            if st.get("completedAt"):
                return None
            delete = ((spec.get("actions") or {}).get("afterCompletion") or {}).get("deleteObjects")
            if delete is None or delete:
                self._delete_objects(cgu)
            if succeeded.get("status") != "True":
                self._batch_timeout(status)
            st["completedAt"] = stamp
            for key in ("currentBatch", "currentBatchStartedAt", "currentBatchRemediationProgress"):
                st.pop(key, None)
        elif progressing is None or progressing.get("status") == "False":
            requeue = self._start(cgu, status, st, setc, stamp)
        else:
            self._progress(cgu, spec, status, st, setc, stamp)
        if not st:
            status.pop("status", None)
        if status != before:
            cgu["status"] = status
            self.kube.replace_status(cgu)
        return requeue

    def _start(self, cgu, status, st, setc, stamp):
        """Validate and start a CGU; returns the simulated seconds until TALM looks again when it cannot start."""
        spec = cgu.get("spec") or {}
        medium = common.sim_delay(self.sim, "talm_requeue_medium", 60)
        clusters, err = self._select_clusters(spec)
        if err:
            setc("ClustersSelected", "False", "ClusterNotFound", "Unable to select clusters: %s" % err)
            return common.sim_delay(self.sim, "talm_requeue_long", 300)
        setc("ClustersSelected", "True", "ClusterSelectionCompleted", "All selected clusters are valid")
        ok, reason, message = self._managed_policies(spec, status, clusters)
        if not ok:
            setc("Validated", "False", reason, message)
            return medium
        setc("Validated", "True", "ValidationCompleted", "Completed validation")
        self._build_plan(spec, status, clusters)
        if spec.get("enable") is False:
            setc("Progressing", "False", "NotEnabled", "Not enabled")
            return None
        st.setdefault("startedAt", stamp)
        missing, incomplete = self._blocking(cgu)
        if missing:
            setc("Progressing", "False", "MissingBlockingCR", "Missing blocking CRs: %s" % go_list(missing))
            return medium
        if incomplete:
            setc("Progressing", "False", "IncompleteBlockingCR", "Blocking CRs that are not completed: %s" % go_list(incomplete))
            return medium
        plan = self._build_plan(spec, status, clusters)
        # clustergroupupgrade_controller.go:505-508, :1024: the clusters already compliant with every policy are done
        # at once, recorded complete with the afterCompletion actions (actions.go:53-59), before beforeEnable
        planned = set(c for batch in plan for c in batch)
        for cname in clusters:
            if cname not in planned:
                self._cluster_done(spec, status, cname, {})
        self._cluster_actions(clusters, (spec.get("actions") or {}).get("beforeEnable"))
        if not plan:
            setc("Progressing", "False", "Completed", COMPLETED_MSG)
            setc("Succeeded", "True", "Completed", "All clusters already compliant with the specified managed policies")
        else:
            setc("Progressing", "True", "InProgress", IN_PROGRESS_MSG)
        return None

    def _progress(self, cgu, spec, status, st, setc, stamp):
        plan = status.get("remediationPlan") or []
        strategy = spec.get("remediationStrategy") or {}
        timeout = float(strategy.get("timeout") or 240) * 60.0
        if not st.get("currentBatch"):
            st["currentBatch"] = 1
        if not st.get("currentBatchStartedAt"):
            batch = plan[st["currentBatch"] - 1] if st["currentBatch"] <= len(plan) else []
            st["currentBatchRemediationProgress"] = {c: {"state": "NotStarted"} for c in batch}
            st["currentBatchStartedAt"] = stamp
        fault = common.sim_fault(self.sim, "cgu-timeout", cgu=cgu["metadata"]["name"])
        if common.sim_elapsed(self.sim, st.get("startedAt") or stamp) > timeout:
            setc("Progressing", "False", "TimedOut", TIMEOUT_MSG)
            setc("Succeeded", "False", "TimedOut", TIMEOUT_MSG)
            return
        if st["currentBatch"] < len(plan):
            if self._advance_batch(spec, status, st, fault):
                self._delete_objects(cgu)
                st.pop("currentBatchStartedAt", None)
                st["currentBatch"] += 1
                return
            self._remediate(cgu, status, st, setc)
            self._check_batch_timeout(cgu, spec, status, st, setc, timeout)
        else:
            done = self._advance_batch(spec, status, st, fault)
            if done and self._all_batches_compliant(status):
                setc("Progressing", "False", "Completed", COMPLETED_MSG)
                setc("Succeeded", "True", "Completed", COMPLETED_MSG)
            else:
                self._remediate(cgu, status, st, setc)

    def _check_batch_timeout(self, cgu, spec, status, st, setc, timeout):
        plan = status.get("remediationPlan") or []
        started = common.sim_elapsed(self.sim, st.get("startedAt"))
        batch_started = common.sim_elapsed(self.sim, st.get("currentBatchStartedAt"))
        spent_before = started - batch_started
        remaining_batches = len(plan) - st["currentBatch"] + 1
        batch_timeout = (timeout - spent_before) / max(1, remaining_batches)
        if batch_started <= batch_timeout:
            return
        canaries = (spec.get("remediationStrategy") or {}).get("canaries") or []
        if canaries and st["currentBatch"] <= len(canaries):
            setc("Progressing", "False", "TimedOut", TIMEOUT_MSG + " on canary clusters")
            setc("Succeeded", "False", "TimedOut", TIMEOUT_MSG + " on canary clusters")
            return
        self._batch_timeout(status)
        if spec.get("batchTimeoutAction") == "Abort":
            setc("Progressing", "False", "TimedOut", TIMEOUT_MSG + " on some clusters")
            setc("Succeeded", "False", "TimedOut", TIMEOUT_MSG + " on some clusters")
            return
        self._delete_objects(cgu)
        st.pop("currentBatchStartedAt", None)
        if st["currentBatch"] < len(plan):
            st["currentBatch"] += 1

    def _next_noncompliant(self, cluster, policies, start):
        for idx in range(start, len(policies)):
            if self.compliance(cluster, policies[idx]["name"], policies[idx]["namespace"]) == "NonCompliant":
                return idx
        return -1

    def _advance_batch(self, spec, status, st, fault):
        plan = status.get("remediationPlan") or []
        policies = status.get("managedPoliciesForUpgrade") or []
        index = st["currentBatch"] - 1
        batch = plan[index] if index < len(plan) else []
        progress = st.setdefault("currentBatchRemediationProgress", {})
        complete = True
        for cluster in batch:
            prog = progress.setdefault(cluster, {"state": "NotStarted"})
            if prog.get("state") == "NotStarted":
                nxt = self._next_noncompliant(cluster, policies, 0)
                if nxt < 0:
                    self._cluster_done(spec, status, cluster, prog)
                else:
                    prog.update({"state": "InProgress", "policyIndex": nxt})
            elif prog.get("state") == "InProgress":
                idx = int(prog.get("policyIndex") or 0)
                policy = policies[idx] if idx < len(policies) else None
                if fault is None and policy and self.compliance(cluster, policy["name"], policy["namespace"]) != "NonCompliant":
                    if not self._soaked(policy, prog):
                        complete = False
                        continue
                    prog.pop("firstCompliantAt", None)
                    nxt = self._next_noncompliant(cluster, policies, idx + 1)
                    if nxt < 0:
                        self._cluster_done(spec, status, cluster, prog)
                    else:
                        prog["policyIndex"] = nxt
            if prog.get("state") != "Completed":
                complete = False
        return complete

    def _soaked(self, policy, prog):
        root = self.ctx["roots"].get((policy["namespace"], policy["name"])) or {}
        soak = ((root.get("metadata") or {}).get("annotations") or {}).get(SOAK)
        if not soak:
            return True
        if not prog.get("firstCompliantAt"):
            prog["firstCompliantAt"] = common.fmt_time(common.sim_now(self.sim))
        try:
            return common.sim_elapsed(self.sim, prog["firstCompliantAt"]) >= float(soak)
        except ValueError:
            return True

    def _cluster_done(self, spec, status, cluster, prog):
        prog["state"] = "Completed"
        prog.pop("policyIndex", None)
        prog.pop("firstCompliantAt", None)
        entries = status.setdefault("clusters", [])
        if not any(e.get("name") == cluster for e in entries):
            entries.append({"name": cluster, "state": "complete"})
        self._cluster_actions([cluster], (spec.get("actions") or {}).get("afterCompletion"))

    def _all_batches_compliant(self, status):
        policies = status.get("managedPoliciesForUpgrade") or []
        for batch in status.get("remediationPlan") or []:
            for cluster in batch:
                if self._next_noncompliant(cluster, policies, 0) >= 0:
                    return False
        return True

    @staticmethod
    def _batch_timeout(status):
        st = status.get("status") or {}
        plan = status.get("remediationPlan") or []
        progress = st.get("currentBatchRemediationProgress") or {}
        index = (st.get("currentBatch") or 0) - 1
        if not progress or index < 0 or index >= len(plan):
            return
        policies = status.get("managedPoliciesForUpgrade") or []
        entries = status.setdefault("clusters", [])
        for cluster in plan[index]:
            prog = progress.get(cluster)
            if any(e.get("name") == cluster for e in entries):
                continue
            if prog is None or prog.get("state") == "NotStarted":
                entries.append({"name": cluster, "state": "timedout"})
            elif prog.get("state") == "InProgress":
                entry = {"name": cluster, "state": "timedout"}
                idx = prog.get("policyIndex")
                if idx is not None and idx < len(policies):
                    entry["currentPolicy"] = {"name": policies[idx]["name"], "status": "NonCompliant"}
                entries.append(entry)

    # ------------------------------------------------------------------ placements
    def _remediate(self, cgu, status, st, setc):
        meta = cgu["metadata"]
        plan = status.get("remediationPlan") or []
        policies = status.get("managedPoliciesForUpgrade") or []
        index = st["currentBatch"] - 1
        batch = plan[index] if index < len(plan) else []
        progress = st.get("currentBatchRemediationProgress") or {}
        placements, bindings, safe = [], [], dict(status.get("safeResourceNames") or {})
        waiting = []
        for idx, policy in enumerate(policies):
            clusters = [c for c in batch if (progress.get(c) or {}).get("state") == "InProgress"
                        and int((progress.get(c) or {}).get("policyIndex") or 0) == idx]
            desired = "%s-%s-placement" % (meta["name"], policy["name"])  # controllers/policy.go:291
            name = safe.get("%s/%s" % (policy["namespace"], desired)) or safe_name(desired, policy["namespace"], meta.get("uid"))
            if not clusters:
                if self.kube.get("Placement", name, policy["namespace"]) is not None:
                    self._delete_pair(name, policy["namespace"])
                continue
            safe["%s/%s" % (policy["namespace"], desired)] = name
            labels = {"app": "openshift-cluster-group-upgrades", CGU_LABEL: meta["name"], CGU_NS_LABEL: meta["namespace"],
                      FOR_POLICY_LABEL: policy["name"], "velero.io/exclude-from-backup": "true"}
            # controllers/policy.go:333 (utils.DesiredResourceName, constants.go:39 and :54)
            annotations = {"cluster-group-upgrades-operator/rname": "%s/%s" % (policy["namespace"], desired)}
            self.kube.apply({
                "apiVersion": common.API["Placement"], "kind": "Placement",
                "metadata": {"name": name, "namespace": policy["namespace"], "labels": labels, "annotations": annotations},
                "spec": {"predicates": [{"requiredClusterSelector": {"labelSelector": {"matchExpressions": [
                    {"key": "name", "operator": "In", "values": list(clusters)}]}}}],
                    "tolerations": [{"key": "cluster.open-cluster-management.io/unavailable", "operator": "Exists"},
                                    {"key": "cluster.open-cluster-management.io/unreachable", "operator": "Exists"}]},
            })
            self.kube.apply({
                "apiVersion": common.API["PlacementBinding"], "kind": "PlacementBinding",
                "metadata": {"name": name, "namespace": policy["namespace"], "labels": labels, "annotations": annotations},
                "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": name},
                "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": policy["name"]}],
                "subFilter": "restricted",
                "bindingOverrides": {"remediationAction": "enforce"},
            })
            placements.append(name)
            bindings.append(name)
            if policy["namespace"] not in self.ctx["mcsb"]:
                waiting.append(policy["name"])
        if placements:
            status["placements"] = placements
            status["placementBindings"] = bindings
        if safe:
            status["safeResourceNames"] = safe
        if waiting:
            setc("Progressing", "True", "WaitingForPlacement",
                 "Waiting for the placement of policies to select clusters (no ManagedClusterSetBinding in the policy namespace): %s"
                 % go_list(waiting))
        else:
            setc("Progressing", "True", "InProgress", IN_PROGRESS_MSG)

    def _delete_pair(self, name, namespace):
        self.kube.delete("PlacementBinding", name, namespace)
        self.kube.delete("Placement", name, namespace)
        self.kube.delete("PlacementDecision", name + "-decision-1", namespace)

    def _delete_objects(self, cgu):
        meta = cgu["metadata"]
        selector = "%s=%s,%s=%s" % (CGU_LABEL, meta["name"], CGU_NS_LABEL, meta["namespace"])
        for kind in ("PlacementBinding", "Placement"):
            for obj in self.kube.list(kind, label_selector=selector):
                ometa = obj["metadata"]
                if kind == "Placement":
                    self._delete_pair(ometa["name"], ometa["namespace"])
                else:
                    self.kube.delete(kind, ometa["name"], ometa["namespace"])
