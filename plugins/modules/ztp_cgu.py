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
  - Runs in the controller process (action plugin) and prints every change of the CGU state, and of each cluster's
    state and current policy, as it happens; the changes are also in the returned RV(progress) list. Hub credentials
    resolve as for kubernetes.core modules, from the options (and C(module_defaults)), then the E(K8S_AUTH_*) variables
    of the task's and play's C(environment) keyword and of the controller.
  - C(Progressing) C(IncompleteBlockingCR) (a blocking ClusterGroupUpgrade still running), C(MissingBlockingCR)
    (TALM looks for it again every minute), C(ClustersSelected) C(ClusterNotFound) (TALM selects again every
    5 minutes) and C(WaitingForPlacement) are waits, not failures; the live progress names the blocking
    ClusterGroupUpgrade or the missing cluster, and the wait ends at O(wait_timeout). C(WaitingForPlacement) and
    C(NotAllManagedPoliciesExist) fail after O(placement_timeout). C(NotEnabled) and the other C(Validated)
    failures fail at once, because TALM does not leave them by itself.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  name:
    description:
      - Name of the ClusterGroupUpgrade. Required unless O(parts) is given.
      - TALM names the Placement of each managed policy C(<name>-<policy>-placement-xxxxx), and the placement
        controller writes that name into a label of the PlacementDecision, which Kubernetes limits to 63 characters.
        The length of O(name) plus that of the longest policy name may therefore be at most 46; a longer pair fails
        before anything is created.
    type: str
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
  changed_policies:
    description:
      - Managed policies whose content the run changed or created (for example after a push of their templates).
      - TALM leaves out of the remediation every policy compliant on all clusters when it validates
        (C(status.managedPoliciesCompliantBeforeUpgrade)). For a changed policy that means the hub judged its old
        content (ArgoCD polls Git every 3 minutes and may not have synced the push yet), so nothing was applied.
        With O(wait), the module then deletes the ClusterGroupUpgrade and creates it again every 20 s, so that TALM
        validates the new content, up to O(placement_timeout); after that it fails naming those policies (and
        deletes the ClusterGroupUpgrade) instead of reporting success. A finished ClusterGroupUpgrade found at the
        start that left out a changed policy this way is created again, with or without O(recreate).
    type: list
    elements: str
    default: []
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
  parts:
    description:
      - Instead of one ClusterGroupUpgrade, a chain of them, each with its own name, clusters and managed policies; the
        other options apply to every part. Each part after the first is blocked by the part before it (C(blockingCRs))
        with TALM's partial completion mode (annotation C(ran.openshift.io/blocking-cgu-completion-mode=partial)), so
        TALM runs the parts one after the other, and a part starts when the one before has finished, successfully or not.
      - With O(wait), waits for each part in turn; the result gathers every part (RV(cgus), RV(cgu_of)) and fails when
        any part failed. A part that fails before TALM finishes it stops the wait, and the parts after it are reported as
        not waited for.
      - Use it when many clusters each have policies of their own. TALM reads every managed policy of a CGU for every
        cluster of the CGU, one API request each, so a single CGU for N such clusters costs it about N x 2N reads;
        parts of M clusters each cost N x 2M.
      - O(changed_policies) applies to each part for the policies it names.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of this part's ClusterGroupUpgrade (the limit of O(name) applies).
        type: str
        required: true
      clusters:
        description: This part's clusters.
        type: list
        elements: str
        required: true
      managed_policies:
        description: This part's policies, in remediation order.
        type: list
        elements: str
        required: true
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

- name: Remediate 100 clusters' own policies in two ClusterGroupUpgrades that TALM runs one after the other
  ztp.sno_expand.ztp_cgu:
    parts:
      - name: workers-part-1
        clusters: "{{ groups['sno_clusters'][:50] }}"
        managed_policies: "{{ groups['sno_clusters'][:50] | map('regex_replace', '$', '-workers-config-policy') }}"
      - name: workers-part-2
        clusters: "{{ groups['sno_clusters'][50:100] }}"
        managed_policies: "{{ groups['sno_clusters'][50:100] | map('regex_replace', '$', '-workers-config-policy') }}"
    max_concurrency: 50
    wait: true

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
cgus:
  description: With O(parts), each part's result (the keys above) by the part's name.
  returned: when parts is given
  type: dict
cgu_of:
  description: With O(parts), the part that remediates each cluster.
  returned: when parts is given
  type: dict
  sample: {"example-sno": "workers-part-1"}
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub, HubError, hub_argument_spec, hub_module
from ansible_collections.ztp.sno_expand.plugins.module_utils import _cgu_runner as cgu_runner


def main():
    module = hub_module(hub_argument_spec(cgu_runner.module_args()), supports_check_mode=True)
    try:
        cgu_runner.validate(module.params)
    except (ZtpInputError, ZtpInputErrors) as exc:
        module.fail_json(msg=str(exc))
    try:
        result = cgu_runner.run(module.params, Hub.from_module(module), module.check_mode, module._diff)
    except HubError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
