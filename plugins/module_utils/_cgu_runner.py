# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update, delete and wait for a ClusterGroupUpgrade on the hub (the work of ztp_cgu).

``CguRunner`` returns its result as data (``failed`` and ``msg`` set when it failed); the module hands it to
``exit_json``, and the action plugin, which runs it in the controller process to print the progress as it comes
(``on_progress``), returns it as the task result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import HubError, ObjectCache, WatchSet, now_iso
from ansible_collections.ztp.sno_expand.plugins.module_utils import _cgu as cgulib
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError


def module_args():
    """The options of ztp_cgu besides kubernetes.core's auth options."""
    return dict(
        name=dict(type="str"),
        namespace=dict(type="str", default="default"),
        clusters=dict(type="list", elements="str", default=[]),
        cluster_label_selectors=dict(type="list", elements="dict", default=[]),
        managed_policies=dict(type="list", elements="str", default=[]),
        max_concurrency=dict(type="int", default=1),
        timeout=dict(type="int", default=240),
        batch_timeout_action=dict(type="str", choices=["Continue", "Abort"]),
        canaries=dict(type="list", elements="str", default=[]),
        blocking_crs=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), namespace=dict(type="str", required=True))),
        enable=dict(type="bool", default=True),
        labels=dict(type="dict", default={}),
        recreate=dict(type="bool", default=False),
        changed_policies=dict(type="list", elements="str", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int"),
        placement_timeout=dict(type="int", default=300),
        parts=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            clusters=dict(type="list", elements="str", required=True),
            managed_policies=dict(type="list", elements="str", required=True))),
    )


SETTLING = ("WaitingForPlacement", "NotAllManagedPoliciesExist")
# seconds between validations of a CGU that judged changed policies on their old content
STALE_RETRY = 20


class CguRunner(object):
    def __init__(self, params, hub, check_mode=False, diff=False, on_progress=None):
        self.check_mode = check_mode
        self.diff = diff
        self.warnings = []
        self.on_progress = on_progress
        self.hub = hub
        self.params = params
        self.name = self.params["name"]
        self.namespace = self.params["namespace"]
        self.progress = []
        self.reconnects = 0

    def get(self):
        return self.hub.get(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace)

    def wait_timeout(self):
        if self.params.get("wait_timeout"):
            return self.params["wait_timeout"]
        return (self.params.get("timeout") or 240) * 60 + 600

    def recreate_stale(self, obj, stale):
        """Delete a CGU that finished without remediating ``stale`` and create it again after ``STALE_RETRY`` s."""
        self.progress.append({"time": now_iso(), "cluster": None, "policy": None, "state": "CompliantBeforeUpgrade",
                              "message": "%s compliant before the upgrade, judged on older content; validating again in "
                                         "%d s" % (", ".join(stale), STALE_RETRY)})
        if self.on_progress:
            self.on_progress(self.progress[-1:])
        self.hub.delete(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace)
        self.wait_gone(obj)
        time.sleep(STALE_RETRY)
        return self.hub.create(self.body(cgulib.build_spec(self.params)))

    def body(self, spec):
        return cgulib.build_object(self.name, self.namespace, spec, self.params["labels"], self.params.get("annotations"))

    def watch(self, initial, until):
        """Watch the CGU; call ``until(obj, since)`` on every change; stop when it returns non-None."""
        deadline = time.time() + self.wait_timeout()
        key = "cgu"
        ws = WatchSet(self.hub, watch_timeout=min(55, max(5, self.wait_timeout())))
        ws.add(key, cgulib.API_VERSION, cgulib.KIND, namespace=self.namespace,
               field_selector="metadata.name=%s" % self.name)
        cache = ObjectCache()
        current = initial
        state_since = {}
        with ws:
            while True:
                seen = len(self.progress)
                events = ws.get(min(2.0, max(0.0, deadline - time.time())))
                for event in events:
                    if event[0] == "RETRY":
                        self.reconnects += 1
                        self.progress.append({"time": now_iso(), "cluster": None, "policy": None,
                                              "state": "Reconnecting", "message": event[2]})
                cache.apply(events)
                if any(e[0] != "RETRY" for e in events):
                    obj = cache.get(key, self.namespace, self.name)
                    if obj is not None:
                        self.progress.extend(cgulib.progress_events(current, obj, now_iso()))
                    current = obj
                reason = cgulib.last_condition(current).get("reason") if current else None
                state_since.setdefault(reason, time.time())
                for other in list(state_since):
                    if other != reason:
                        del state_since[other]
                if self.on_progress and len(self.progress) > seen:
                    self.on_progress(self.progress[seen:])
                outcome = until(current, time.time() - state_since[reason])
                if outcome is not None:
                    return outcome, current
                if time.time() >= deadline:
                    return "timeout", current

    def wait_gone(self, obj):
        def until(current, _since):
            return "gone" if current is None else None
        outcome, current = self.watch(obj, until)
        if outcome != "gone":
            raise HubError("ClusterGroupUpgrade %s/%s still exists after %d s (finalizers: %s)" % (
                self.namespace, self.name, self.wait_timeout(),
                ((current or {}).get("metadata") or {}).get("finalizers")))

    def wait_done(self, obj):
        placement_timeout = self.params["placement_timeout"]

        def until(current, since):
            if current is None:
                return "deleted"
            verdict = cgulib.interpret(current)
            # Right after a push the policies may not be rendered yet; TALM validates again until they are.
            if verdict["reason"] in SETTLING:
                return "placement" if since >= placement_timeout else None
            if verdict["state"] != cgulib.WAITING:
                return verdict["state"]
            return None
        return self.watch(obj, until)

    def result(self, obj, changed, diff=None):
        verdict = cgulib.interpret(obj) if obj else {}
        res = dict(changed=changed, cgu=obj, state=(cgulib.last_condition(obj).get("reason") if obj else None),
                   succeeded=bool(verdict.get("succeeded")), clusters=cgulib.cluster_states(obj) if obj else {},
                   progress=self.progress, reconnects=self.reconnects)
        if diff is not None and self.diff:
            res["diff"] = diff
        return res, verdict

    def run(self):
        """Bring the CGU to ``state`` (and wait, with ``wait``); returns the result, with ``failed`` and ``msg``
        when it failed and ``warnings`` when there are any."""
        result = self.run_absent() if self.params["state"] == "absent" else self.run_present()
        if self.warnings:
            result["warnings"] = list(self.warnings)
        return result

    def run_absent(self):
        existing = self.get()
        diff = {"before": {"spec": (existing or {}).get("spec")} if existing else {}, "after": {}}
        if existing is None:
            return self.result(None, False, diff)[0]
        if not self.check_mode:
            self.hub.delete(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace)
            if self.params["wait"]:
                self.wait_gone(existing)
        res = self.result(None, True, diff)[0]
        res["state"] = "Deleted"
        return res

    def run_present(self):
        desired = cgulib.build_spec(self.params)
        existing = self.get()
        check = self.check_mode
        changed = False
        obj = existing
        before = {"spec": existing.get("spec")} if existing else {}
        if existing is None:
            body = self.body(desired)
            # server-side dry run in check mode: the API server validates the object all the same
            obj = self.hub.create(body, dry_run=check)
            changed = True
        else:
            patch = cgulib.spec_patch(existing.get("spec"), desired)
            stale = cgulib.compliant_before(existing, self.params["changed_policies"])
            if stale and cgulib.is_finished(existing):
                # it finished without remediating content that changed since: run it again
                patch = patch or {"managedPolicies": desired.get("managedPolicies")}
                self.warnings.append(
                    "ClusterGroupUpgrade %s/%s finished without remediating %s (compliant before the upgrade, judged "
                    "on older content); it is created again." % (self.namespace, self.name, ", ".join(stale)))
            if patch and cgulib.is_finished(existing):
                if not (self.params["recreate"] or stale):
                    raise HubError(
                        "ClusterGroupUpgrade %s/%s has finished (%s) and TALM does not run a finished "
                        "ClusterGroupUpgrade again; its spec differs in %s. Set recreate: true to delete and "
                        "create it again, or use another name." % (
                            self.namespace, self.name, cgulib.last_condition(existing).get("reason"),
                            ", ".join(sorted(patch))))
                body = self.body(desired)
                if not check:
                    self.hub.delete(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace)
                    self.wait_gone(existing)
                    obj = self.hub.create(body)
                else:
                    obj = body
                changed = True
            elif patch:
                obj = self.hub.patch(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace,
                                     {"spec": patch}, dry_run=check)
                changed = True
        diff = {"before": before, "after": {"spec": (obj or {}).get("spec")}}

        if self.params["wait"] and not check:
            budget = time.time() + self.params["placement_timeout"]
            while True:
                outcome, obj = self.wait_done(obj)
                stale = cgulib.compliant_before(obj, self.params["changed_policies"]) if outcome == cgulib.SUCCEEDED else []
                if not stale or time.time() + STALE_RETRY >= budget:
                    break
                # TALM judged the old content (ArgoCD polls Git every 3 minutes): validate again a little later
                obj = self.recreate_stale(obj, stale)
                changed = True
            res, verdict = self.result(obj, changed, diff)
            if outcome == cgulib.SUCCEEDED and not stale:
                return res
            if outcome == cgulib.SUCCEEDED:
                # a finished CGU that remediated nothing would be found again by a rerun of the same change
                self.hub.delete(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace)
                res.update(failed=True, msg=cgulib.stale_message(self.name, self.namespace, stale, STALE_RETRY,
                                                                 self.params["placement_timeout"]))
                return res
            if outcome == "deleted":
                msg = "ClusterGroupUpgrade %s/%s was deleted while waiting" % (self.namespace, self.name)
            elif outcome == "placement":
                msg = "%s for more than %d s" % (
                    cgulib.failure_message(self.name, self.namespace, verdict), self.params["placement_timeout"])
            elif outcome == "timeout":
                detail = cgulib.timed_out_detail(obj)
                msg = "timed out after %d s waiting for ClusterGroupUpgrade %s/%s; last state %s%s%s" % (
                    self.wait_timeout(), self.namespace, self.name, verdict.get("reason"),
                    ": %s" % verdict["message"] if verdict.get("message") else "",
                    "; %s" % detail if detail else "")
                if verdict.get("hint"):
                    msg += " (%s)" % verdict["hint"]
            else:
                msg = cgulib.failure_message(self.name, self.namespace, verdict)
            res.update(failed=True, msg=msg)
            return res

        res, verdict = self.result(obj, changed, diff)
        if self.params["wait"] and check and verdict.get("state") == cgulib.FAILED:
            self.warnings.append(cgulib.failure_message(self.name, self.namespace, verdict))
        return res


def part_params(params, index):
    """The options of the ``index``-th of ``params["parts"]``: its name, clusters and policies, the changed policies
    among them, and the part before it as a blocking CGU that may have failed."""
    part = params["parts"][index]
    blocking = list(params.get("blocking_crs") or [])
    if index:
        blocking.append({"name": params["parts"][index - 1]["name"], "namespace": params["namespace"]})
    own = set(part["managed_policies"])
    return dict(params, name=part["name"], clusters=list(part["clusters"]), cluster_label_selectors=[],
                managed_policies=list(part["managed_policies"]), blocking_crs=blocking, parts=[],
                changed_policies=[p for p in params.get("changed_policies") or [] if p in own],
                annotations={cgulib.BLOCKING_COMPLETION_ANNOTATION: cgulib.PARTIAL_COMPLETION} if index else None)


def validate(params):
    """Check ztp_cgu's options (each part's, with ``parts``); raise ``ZtpInputError(s)``."""
    if not params.get("parts"):
        if not params.get("name"):
            raise ZtpInputError("name", params.get("name"), "the ClusterGroupUpgrade's name (or parts)")
        return cgulib.validate_params(params)
    names = [p["name"] for p in params["parts"]]
    if len(set(names)) != len(names):
        raise ZtpInputError("parts", names, "a different name for each part")
    for index in range(len(params["parts"])):
        cgulib.validate_params(part_params(params, index))
    return None


def run(params, hub, check_mode=False, diff=False, on_progress=None):
    """ztp_cgu's work: one ClusterGroupUpgrade, or with ``parts`` a chain of them.

    Parts are created together, each blocked by the one before it, and TALM runs them one after the other; a part
    starts once the one before has finished, successfully or not (TALM's partial completion mode). Each part names
    only its own clusters' policies: TALM reads every managed policy for every cluster of a CGU, so one CGU for many
    clusters with policies of their own costs it a number of reads that grows with the square of the clusters."""
    if not params.get("parts"):
        return CguRunner(params, hub, check_mode, diff, on_progress).run()
    parts = [part_params(params, i) for i in range(len(params["parts"]))]

    def tagged(name):
        if on_progress is None:
            return None
        return lambda events: on_progress([dict(e, cgu=name) for e in events])

    created = [CguRunner(dict(p, wait=False), hub, check_mode, diff).run() for p in parts]
    results = {}
    failed_at = None
    for part, first in zip(parts, created):
        if first.get("failed") or not params["wait"] or check_mode or failed_at is not None:
            results[part["name"]] = first
            continue
        res = CguRunner(part, hub, check_mode, diff, tagged(part["name"])).run()
        res["changed"] = bool(first.get("changed") or res.get("changed"))
        results[part["name"]] = res
        if res.get("failed") and not cgulib.is_finished(res.get("cgu")):
            failed_at = part["name"]  # TALM starts the next part only once this one has finished
    return merge_parts(parts, results, failed_at)


def merge_parts(parts, results, failed_at=None):
    """One ztp_cgu result for a chain of parts: ``cgus`` (each part's result by name), ``cgu_of`` (each cluster's
    part), the clusters' states together, and every failure in ``msg``."""
    merged = {"changed": False, "cgus": {}, "cgu_of": {}, "clusters": {}, "progress": [], "succeeded": True,
              "reconnects": 0, "name": ", ".join(p["name"] for p in parts)}
    messages, warnings, diffs = [], [], []
    blocked = False
    for part in parts:
        res = results[part["name"]]
        if blocked and not res.get("failed"):
            res.update(failed=True, succeeded=False, msg="ClusterGroupUpgrade %s was not waited for: TALM starts it only "
                                                         "after %s, which has not finished" % (part["name"], failed_at))
        blocked = blocked or part["name"] == failed_at
        merged["cgus"][part["name"]] = res
        merged["cgu_of"].update((c, part["name"]) for c in part["clusters"])
        merged["clusters"].update(res.get("clusters") or {})
        merged["progress"].extend(dict(e, cgu=part["name"]) for e in res.get("progress") or [])
        merged["changed"] = merged["changed"] or bool(res.get("changed"))
        merged["succeeded"] = merged["succeeded"] and bool(res.get("succeeded"))
        merged["reconnects"] += res.get("reconnects") or 0
        warnings.extend(res.get("warnings") or [])
        if "diff" in res:
            diffs.append(res["diff"])
        if res.get("failed"):
            messages.append(res.get("msg") or "ClusterGroupUpgrade %s failed" % part["name"])
    merged["state"] = next((r.get("state") for r in results.values() if r.get("failed")),
                           results[parts[-1]["name"]].get("state"))
    if messages:
        merged.update(failed=True, msg="; ".join(messages))
    if warnings:
        merged["warnings"] = warnings
    if diffs:
        merged["diff"] = {"before": [d.get("before") for d in diffs], "after": [d.get("after") for d in diffs]}
    return merged


def progress_line(event):
    """One progress event as a line for people: ``sno-a  sno-a-workers-config-policy  InProgress``."""
    who = event.get("cluster") or ("(%s)" % event["cgu"] if event.get("cgu") else "(cgu)")
    what = " ".join(str(p) for p in (event.get("policy"), event.get("state")) if p)
    if event.get("message"):
        what += ": %s" % event["message"]
    return "%s  %-30s %s" % (event.get("time", ""), who, what)
