#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_cgu
short_description: Create, update or delete a TALM ClusterGroupUpgrade and wait for its outcome
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Creates, updates or deletes a C(ClusterGroupUpgrade) (C(ran.openshift.io/v1alpha1)) on the RHACM hub,
    so that TALM enforces the given inform policies on the given clusters in the given order.
  - Idempotent. Re-running against an existing finished ClusterGroupUpgrade with the same spec changes
    nothing and reports its outcome. TALM never re-runs a finished ClusterGroupUpgrade, so a different spec
    on a finished one is an error unless O(recreate=true).
  - Without O(wait), an existing finished ClusterGroupUpgrade that failed is reported (RV(succeeded=false))
    without failing the task; with O(wait=true) it fails the task.
  - Only the fields set by the options are managed; other spec fields of an existing object (actions,
    pre-caching, ...) are left as they are.
  - With O(wait=true), watches the single ClusterGroupUpgrade (re-listing after an API server restart)
    until TALM reports C(Succeeded), and interprets TALM's conditions. Failures name the reason, the
    clusters and the policies concerned, and give a hint (for example, for C(NotAllManagedPoliciesExist),
    the naming rule of generated policies).
  - Modules cannot stream output. Every change of the CGU state, and of each cluster's state and current
    policy, is recorded in the returned RV(progress) list, which the roles print.
  - C(Progressing) C(IncompleteBlockingCR) (a blocking ClusterGroupUpgrade still running) and
    C(WaitingForPlacement) are waits, not failures; C(WaitingForPlacement) fails after
    O(placement_timeout). C(MissingBlockingCR), C(NotEnabled), C(ClusterNotFound) and the C(Validated)
    failures fail at once, because TALM does not leave them by itself.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  name:
    description: Name of the ClusterGroupUpgrade.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the ClusterGroupUpgrade.
      - Defaults to C(default), where day-2 ClusterGroupUpgrades are usually created. C(ztp-install) is
        not the default on purpose, because GitOps ZTP owns that namespace for its automatic day-1
        ClusterGroupUpgrades and labels clusters C(ztp-done) from them.
    type: str
    default: default
  clusters:
    description: Names of the managed clusters to remediate (remediation order after the canaries).
    type: list
    elements: str
    default: []
  cluster_label_selectors:
    description: Label selectors (C(matchLabels)/C(matchExpressions)) that select more clusters.
    type: list
    elements: dict
    default: []
  managed_policies:
    description:
      - Names of the root policies to enforce, without namespace, in remediation order.
      - Generated policies are named C(<PolicyGenTemplate or PolicyGenerator name>-<policyName>).
    type: list
    elements: str
    default: []
  max_concurrency:
    description: How many clusters are remediated at the same time (C(remediationStrategy.maxConcurrency)).
    type: int
    default: 1
  timeout:
    description: Remediation timeout in minutes (C(remediationStrategy.timeout)).
    type: int
    default: 240
  batch_timeout_action:
    description: What TALM does when a batch times out. Not set means TALM's default (C(Continue)).
    type: str
    choices: [Continue, Abort]
  canaries:
    description: Clusters remediated first, each in its own batch.
    type: list
    elements: str
    default: []
  blocking_crs:
    description: ClusterGroupUpgrades that must complete before this one starts.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the blocking ClusterGroupUpgrade.
        type: str
        required: true
      namespace:
        description: Namespace of the blocking ClusterGroupUpgrade.
        type: str
        required: true
  enable:
    description: Start remediation. With C(false), TALM only validates; O(wait=true) is then rejected.
    type: bool
    default: true
  labels:
    description: Extra labels of the ClusterGroupUpgrade.
    type: dict
    default: {}
  recreate:
    description:
      - When the ClusterGroupUpgrade exists, has finished and its spec differs, delete it and create it
        again (TALM does not re-run a finished ClusterGroupUpgrade).
    type: bool
    default: false
  state:
    description: C(present) creates or updates; C(absent) deletes.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until TALM reports C(Succeeded) (or, with O(state=absent), until the object is gone), and fail
        when TALM reports a failure.
      - Not done in check mode; the current state is reported instead.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait. Defaults to O(timeout) minutes plus 10 minutes, so that TALM's own timeout verdict
        is seen.
    type: int
  placement_timeout:
    description:
      - Seconds that C(WaitingForPlacement), or C(NotAllManagedPoliciesExist) while ArgoCD has not yet rendered
        policies that were just pushed, may last before the wait fails.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Remediate the worker policies of one SNO before its worker is installed
  ztp.sno_expand.ztp_cgu:
    name: example-sno-worker-policies
    clusters: [example-sno]
    managed_policies:
      - group-du-sno-config-policy
      - example-sno-workers-config-policy
      - example-sno-config-policy
    timeout: 240
    wait: true
  register: cgu

- name: Show per-cluster progress
  ansible.builtin.debug:
    msg: "{{ item.time }} {{ item.cluster | default('-', true) }} {{ item.policy | default('-', true) }} {{ item.state }}"
  loop: "{{ cgu.progress }}"

- name: Delete it
  ztp.sno_expand.ztp_cgu:
    name: example-sno-worker-policies
    state: absent
"""

RETURN = r"""
cgu:
  description: The ClusterGroupUpgrade as last seen (the object that would be created in check mode).
  returned: state=present
  type: dict
state:
  description: Reason of the last condition (TALM's printer column C(State)), for example C(Completed).
  returned: always
  type: str
succeeded:
  description: TALM reported C(Succeeded) C(True) with reason C(Completed).
  returned: always
  type: bool
clusters:
  description: Per-cluster state (C(complete), C(timedout), C(InProgress), C(NotStarted), C(Pending)) and policy.
  returned: state=present
  type: dict
  sample: {"example-sno": {"state": "complete", "policy": null}}
progress:
  description: Changes observed while waiting, in order; CGU-level entries have C(cluster=null).
  returned: always
  type: list
  elements: dict
  sample: [{"time": "2024-01-01T00:00:00Z", "cluster": "example-sno", "policy": "example-sno-workers-config-policy", "state": "InProgress"}]
reconnects:
  description: How often the watch had to list again (API server restart, 410 Gone).
  returned: always
  type: int
"""

import time

from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import (
    Hub, HubError, ObjectCache, WatchSet, hub_argument_spec, hub_module, now_iso)
from ansible_collections.ztp.sno_expand.plugins.module_utils import cgu as cgulib


def argument_spec():
    return hub_argument_spec(dict(
        name=dict(type="str", required=True),
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
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int"),
        placement_timeout=dict(type="int", default=300),
    ))


class CguRunner(object):
    def __init__(self, module, hub):
        self.module = module
        self.hub = hub
        self.params = module.params
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
        if diff is not None and self.module._diff:
            res["diff"] = diff
        return res, verdict

    def run_absent(self):
        existing = self.get()
        diff = {"before": {"spec": (existing or {}).get("spec")} if existing else {}, "after": {}}
        if existing is None:
            return self.module.exit_json(**self.result(None, False, diff)[0])
        if not self.module.check_mode:
            self.hub.delete(cgulib.API_VERSION, cgulib.KIND, self.name, self.namespace)
            if self.params["wait"]:
                self.wait_gone(existing)
        res = self.result(None, True, diff)[0]
        res["state"] = "Deleted"
        self.module.exit_json(**res)

    def run_present(self):
        desired = cgulib.build_spec(self.params)
        existing = self.get()
        check = self.module.check_mode
        changed = False
        obj = existing
        before = {"spec": existing.get("spec")} if existing else {}
        if existing is None:
            body = cgulib.build_object(self.name, self.namespace, desired, self.params["labels"])
            # server-side dry run in check mode: the API server validates the object all the same
            obj = self.hub.create(body, dry_run=check)
            changed = True
        else:
            patch = cgulib.spec_patch(existing.get("spec"), desired)
            if patch and cgulib.is_finished(existing):
                if not self.params["recreate"]:
                    raise HubError(
                        "ClusterGroupUpgrade %s/%s has finished (%s) and TALM does not run a finished "
                        "ClusterGroupUpgrade again; its spec differs in %s. Set recreate: true to delete and "
                        "create it again, or use another name." % (
                            self.namespace, self.name, cgulib.last_condition(existing).get("reason"),
                            ", ".join(sorted(patch))))
                body = cgulib.build_object(self.name, self.namespace, desired, self.params["labels"])
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
            outcome, obj = self.wait_done(obj)
            res, verdict = self.result(obj, changed, diff)
            if outcome == cgulib.SUCCEEDED:
                return self.module.exit_json(**res)
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
            return self.module.fail_json(msg=msg, **res)

        res, verdict = self.result(obj, changed, diff)
        if self.params["wait"] and check and verdict.get("state") == cgulib.FAILED:
            self.module.warn(cgulib.failure_message(self.name, self.namespace, verdict))
        self.module.exit_json(**res)


SETTLING = ("WaitingForPlacement", "NotAllManagedPoliciesExist")


def main():
    module = hub_module(argument_spec(), supports_check_mode=True)
    try:
        cgulib.validate_params(module.params)
    except (ZtpInputError, ZtpInputErrors) as exc:
        module.fail_json(msg=str(exc))
    try:
        runner = CguRunner(module, Hub.from_module(module))
        if module.params["state"] == "absent":
            runner.run_absent()
        else:
            runner.run_present()
    except HubError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
