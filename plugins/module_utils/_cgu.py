# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TALM ClusterGroupUpgrade: spec building, comparison and condition interpretation.

Pure functions (no API calls); ``ztp_cgu`` drives them. Condition types and reasons are TALM's own
spellings (``controllers/utils/conditions.go``), including its misspelt ``PrecachingSuceeded``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils._cgu_names import (
    LABEL_VALUE_MAX, PLACEMENT_NAME_EXTRA, placement_name_length)
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, raise_if_any
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import conditions_by_type

API_VERSION = "ran.openshift.io/v1alpha1"
KIND = "ClusterGroupUpgrade"

# spec fields this module owns; fields not listed (actions, preCaching, backup, ...) are left alone
MANAGED_FIELDS = ("clusters", "clusterLabelSelectors", "managedPolicies", "enable", "blockingCRs",
                  "batchTimeoutAction")
MANAGED_STRATEGY_FIELDS = ("maxConcurrency", "timeout", "canaries")

# states
SUCCEEDED = "Succeeded"
FAILED = "Failed"
WAITING = "Waiting"

HINTS = {
    "NotAllManagedPoliciesExist": (
        "managedPolicies must name root policies that exist; check the names the policy template "
        "generates: <PolicyGenTemplate or PolicyGenerator name>-<policyName> (for example "
        "example-sno-workers-config-policy), and that the policies reached the hub (ArgoCD policies app)"),
    "AmbiguousManagedPoliciesNames": (
        "a policy of that name exists in several namespaces; rename one of them"),
    "ClusterNotFound": ("check the cluster names and labels: each must be a ManagedCluster on the hub; TALM looks "
                        "again every 5 minutes"),
    "MissingBlockingCR": ("create the blocking ClusterGroupUpgrade or remove it from blocking_crs; TALM looks again "
                          "every minute"),
    "IncompleteBlockingCR": "the blocking ClusterGroupUpgrade has not completed yet",
    "WaitingForPlacement": (
        "TALM's Placement selects no cluster; usually the ManagedClusterSetBinding that binds the "
        "cluster set (for example 'global' or 'default') to the policy namespace is missing"),
    "NotEnabled": "the ClusterGroupUpgrade has enable: false; set enable: true to start remediation",
    "TimedOut": "policy remediation did not finish within remediationStrategy.timeout",
}


def validate_params(params):
    """Check the module options; raise ``ZtpInputError(s)``."""
    errors = []
    if params.get("state", "present") == "present":
        if not params.get("clusters") and not params.get("cluster_label_selectors"):
            errors.append(ZtpInputError("clusters", params.get("clusters"),
                                        "at least one cluster name, or cluster_label_selectors"))
        if not params.get("managed_policies"):
            errors.append(ZtpInputError("managed_policies", params.get("managed_policies"),
                                        "a non-empty, ordered list of root policy names"))
        seen = set()
        for i, name in enumerate(params.get("managed_policies") or []):
            if name in seen:
                errors.append(ZtpInputError("managed_policies[%d]" % i, name, "each policy only once"))
            seen.add(name)
            if params.get("name") and placement_name_length(params["name"], name) > LABEL_VALUE_MAX:
                errors.append(ZtpInputError(
                    "managed_policies[%d]" % i, name,
                    "with the ClusterGroupUpgrade name %r, a policy name of at most %d characters: TALM names the "
                    "policy's Placement %s-%s-placement-xxxxx, and the placement controller writes that name into a "
                    "PlacementDecision label, which Kubernetes limits to %d characters (the CGU would never remediate). "
                    "Shorten the CGU name or the policy name (<PolicyGenTemplate or PolicyGenerator name>-<policyName>)"
                    % (params["name"], LABEL_VALUE_MAX - PLACEMENT_NAME_EXTRA - len(params["name"]), params["name"], name,
                       LABEL_VALUE_MAX)))
            if "." in name and name.split(".", 1)[0].startswith("ztp"):
                errors.append(ZtpInputError(
                    "managed_policies[%d]" % i, name,
                    "the root policy name without its namespace (TALM lists names only)"))
        if (params.get("max_concurrency") or 0) < 1:
            errors.append(ZtpInputError("max_concurrency", params.get("max_concurrency"), "an integer >= 1"))
        if params.get("timeout") is not None and params["timeout"] < 1:
            errors.append(ZtpInputError("timeout", params["timeout"], "minutes, >= 1"))
        if params.get("wait") and params.get("enable") is False:
            errors.append(ZtpInputError("wait", True, "wait: false when enable: false (TALM does not start "
                                        "a disabled ClusterGroupUpgrade, the wait could only time out)"))
        for i, canary in enumerate(params.get("canaries") or []):
            if params.get("clusters") and canary not in params["clusters"]:
                errors.append(ZtpInputError("canaries[%d]" % i, canary, "one of clusters"))
    raise_if_any(errors)


def build_spec(params):
    """The CGU spec from the module options (only the fields this module manages)."""
    strategy = {"maxConcurrency": params.get("max_concurrency") or 1,
                "timeout": params.get("timeout") or 240}
    if params.get("canaries"):
        strategy["canaries"] = list(params["canaries"])
    spec = {"managedPolicies": list(params["managed_policies"]),
            "enable": params.get("enable", True) is not False,
            "remediationStrategy": strategy}
    if params.get("clusters"):
        spec["clusters"] = list(params["clusters"])
    if params.get("cluster_label_selectors"):
        spec["clusterLabelSelectors"] = list(params["cluster_label_selectors"])
    if params.get("blocking_crs"):
        spec["blockingCRs"] = [{"name": b["name"], "namespace": b["namespace"]} for b in params["blocking_crs"]]
    if params.get("batch_timeout_action"):
        spec["batchTimeoutAction"] = params["batch_timeout_action"]
    return spec


# A CGU with this annotation starts once each of its blockingCRs has finished, successfully or not, instead of only
# after their success (controllers/clustergroupupgrade_controller.go:1299-1305, controllers/utils/constants.go:178-180).
BLOCKING_COMPLETION_ANNOTATION = "ran.openshift.io/blocking-cgu-completion-mode"
PARTIAL_COMPLETION = "partial"


def build_object(name, namespace, spec, labels=None, annotations=None):
    meta = {"name": name, "namespace": namespace,
            "labels": dict({"app.kubernetes.io/managed-by": "ztp.sno_expand"}, **(labels or {}))}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": meta, "spec": spec}


def _norm(value):
    return None if value in (None, [], {}) else value


def spec_patch(existing_spec, desired_spec):
    """Merge patch that brings the managed fields of ``existing_spec`` to ``desired_spec``; {} when equal.

    ``batchTimeoutAction`` is only compared when the desired spec sets it (TALM defaults it).
    """
    existing_spec = existing_spec or {}
    patch = {}
    for field in MANAGED_FIELDS:
        want = _norm(desired_spec.get(field))
        if field == "batchTimeoutAction" and want is None:
            continue
        have = _norm(existing_spec.get(field))
        if field == "enable":
            have = existing_spec.get(field, True) is not False
        if want != have:
            patch[field] = want
    have_rs = existing_spec.get("remediationStrategy") or {}
    want_rs = desired_spec.get("remediationStrategy") or {}
    rs_patch = {}
    for field in MANAGED_STRATEGY_FIELDS:
        want, have = _norm(want_rs.get(field)), _norm(have_rs.get(field))
        if field == "timeout":
            have = have if have is not None else 240
        if want != have:
            rs_patch[field] = want
    if rs_patch:
        patch["remediationStrategy"] = rs_patch
    return patch


def is_started(cgu):
    """True once TALM started remediating (or finished): such a CGU cannot be re-run by editing it."""
    status = (cgu or {}).get("status") or {}
    conds = conditions_by_type(cgu)
    return bool((status.get("status") or {}).get("startedAt")) or "Succeeded" in conds


def compliant_before(cgu, changed):
    """The policies of ``changed`` that TALM did not remediate although it finished the CGU: found compliant on every
    cluster when it validated the CGU (``status.managedPoliciesCompliantBeforeUpgrade``), or left out altogether because
    a replicated policy was still ``enforce`` (TALM skips such a policy, "Ignoring policy with remediationAction
    enforce", controllers/policy.go: right after another CGU remediated it, until the propagator drops that CGU's
    override), so it is in neither list."""
    status = (cgu or {}).get("status") or {}
    listed = set(status.get("managedPoliciesCompliantBeforeUpgrade") or [])
    taken = {p.get("name") for p in status.get("managedPoliciesForUpgrade") or [] if isinstance(p, dict)}
    managed = set(((cgu or {}).get("spec") or {}).get("managedPolicies") or [])
    validated = conditions_by_type(cgu).get("Validated", {}).get("status") == "True"
    return [name for name in changed or []
            if name in listed or (validated and name in managed and name not in taken)]


def stale_message(name, namespace, stale, stale_retry, waited):
    them = "them" if len(stale) > 1 else "it"
    return ("ClusterGroupUpgrade %s/%s remediated nothing for %s: TALM found %s compliant on every cluster before the "
            "upgrade, or skipped %s because its replicated policy was still enforce from another ClusterGroupUpgrade, "
            "although the run changed %s. The hub judged the old content: ArgoCD had not synced the pushed commit into "
            "the root policies, or the clusters had not evaluated the new content. Validated again every %d s for %d s, "
            "then deleted. Check the sync revision and errors of the policies Application, the policies' status and "
            "other ClusterGroupUpgrades naming them, then run again." % (
                namespace, name, ", ".join(stale), them, them, them, stale_retry, waited))


def is_finished(cgu):
    return "Succeeded" in conditions_by_type(cgu)


def last_condition(cgu):
    conds = ((cgu or {}).get("status") or {}).get("conditions") or []
    return conds[-1] if conds else {}


def policy_names(cgu):
    """Ordered policy names TALM remediates: ``status.managedPoliciesForUpgrade`` else ``spec.managedPolicies``."""
    status = (cgu or {}).get("status") or {}
    names = [p.get("name") for p in status.get("managedPoliciesForUpgrade") or [] if isinstance(p, dict)]
    return names or list(((cgu or {}).get("spec") or {}).get("managedPolicies") or [])


def cluster_states(cgu):
    """Per-cluster state: ``{cluster: {state, policy}}``.

    ``state`` is TALM's final state (``complete``/``timedout``) from ``status.clusters``, else the current
    batch state (``NotStarted``/``InProgress``/``Completed``) from ``currentBatchRemediationProgress``,
    else ``Pending`` for clusters of the remediation plan not reached yet. ``policy`` is the policy being
    remediated (or that timed out) when known.
    """
    cgu = cgu or {}
    status = cgu.get("status") or {}
    spec = cgu.get("spec") or {}
    policies = policy_names(cgu)
    out = {}
    plan = [c for batch in status.get("remediationPlan") or [] for c in (batch or [])]
    for name in plan or spec.get("clusters") or []:
        out[name] = {"state": "Pending", "policy": None}
    progress = (status.get("status") or {}).get("currentBatchRemediationProgress") or {}
    for name, prog in progress.items():
        prog = prog or {}
        policy = None
        idx = prog.get("policyIndex")
        if isinstance(idx, int) and 0 <= idx < len(policies) and prog.get("state") != "Completed":
            policy = policies[idx]
        out[name] = {"state": prog.get("state") or "InProgress", "policy": policy}
    for entry in status.get("clusters") or []:
        current = entry.get("currentPolicy") or {}
        out[entry.get("name")] = {"state": entry.get("state"),
                                  "policy": current.get("name") if entry.get("state") != "complete" else None}
    return out


def interpret(cgu):
    """TALM's verdict on a CGU: ``{state, reason, message, hint, terminal, succeeded, detail}``.

    ``state`` is ``Succeeded``, ``Failed`` (terminal, or a condition TALM never leaves by itself) or
    ``Waiting``. ``reason`` is the reason of the condition that decided (or the last condition's).
    """
    conds = conditions_by_type(cgu)
    last = last_condition(cgu)
    out = {"state": WAITING, "reason": last.get("reason"), "message": last.get("message"),
           "hint": None, "terminal": False, "succeeded": False, "detail": None}

    def verdict(state, cond, terminal):
        out.update(state=state, reason=cond.get("reason"), message=cond.get("message"), terminal=terminal,
                   succeeded=state == SUCCEEDED, hint=HINTS.get(cond.get("reason")))
        return out

    succeeded = conds.get("Succeeded")
    if succeeded:
        if succeeded.get("status") == "True" and succeeded.get("reason") == "Completed":
            return verdict(SUCCEEDED, succeeded, True)
        verdict(FAILED, succeeded, True)
        if succeeded.get("reason") == "TimedOut":
            out["detail"] = timed_out_detail(cgu)
        return out
    selected = conds.get("ClustersSelected")
    if selected and selected.get("status") == "False":
        if selected.get("reason") == "ClusterNotFound":
            # TALM selects again every 5 minutes (requeueWithLongInterval): the ManagedCluster may still come
            out.update(reason=selected.get("reason"), message=selected.get("message"), hint=HINTS["ClusterNotFound"])
            return out
        return verdict(FAILED, selected, False)
    validated = conds.get("Validated")
    if validated and validated.get("status") == "False":
        return verdict(FAILED, validated, False)
    for name in ("PrecacheSpecValid", "PrecachingSuceeded", "BackupSuceeded"):
        cond = conds.get(name)
        if cond and cond.get("status") == "False" and cond.get("reason") in ("PrecacheSpecIncomplete", "Failed"):
            return verdict(FAILED, cond, False)
    progressing = conds.get("Progressing")
    if progressing:
        reason = progressing.get("reason")
        if reason == "NotEnabled":
            return verdict(FAILED, progressing, False)
        if progressing.get("status") == "False" and reason == "TimedOut":
            verdict(FAILED, progressing, False)
            out["detail"] = timed_out_detail(cgu)
            return out
        out.update(reason=reason, message=progressing.get("message"), hint=HINTS.get(reason))
    return out


def timed_out_detail(cgu):
    """Clusters that timed out or never completed, with the policy each was on."""
    parts = []
    for name, st in sorted(cluster_states(cgu).items()):
        if st["state"] in ("complete", "Completed"):
            continue
        parts.append("%s (%s%s)" % (name, st["state"], ", policy %s" % st["policy"] if st["policy"] else ""))
    return "clusters not completed: %s" % ", ".join(parts) if parts else None


def failure_message(name, namespace, verdict):
    msg = "ClusterGroupUpgrade %s/%s: %s" % (namespace, name, verdict.get("reason") or "no status")
    if verdict.get("message"):
        msg += ": %s" % verdict["message"]
    if verdict.get("detail"):
        msg += "; %s" % verdict["detail"]
    if verdict.get("hint"):
        msg += " (%s)" % verdict["hint"]
    return msg


def progress_events(previous, current, when):
    """Events for what changed between two observations of a CGU: CGU-level reason, then per cluster.

    Each event is ``{time, cluster, policy, state}``; CGU-level events have ``cluster: None``.
    """
    events = []
    prev_reason = last_condition(previous).get("reason") if previous else None
    reason = last_condition(current).get("reason")
    if reason and reason != prev_reason:
        events.append({"time": when, "cluster": None, "policy": None, "state": reason,
                       "message": last_condition(current).get("message")})
    before = cluster_states(previous) if previous else {}
    for name, st in sorted(cluster_states(current).items()):
        if before.get(name) != st:
            events.append({"time": when, "cluster": name, "policy": st["policy"], "state": st["state"]})
    return events
