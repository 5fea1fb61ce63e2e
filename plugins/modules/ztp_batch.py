#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ztp_batch
short_description: Plan a phase of the SNO expansion for a batch of clusters, judge each cluster, summarise the play
version_added: 0.1.0
description:
  - The batch layer of the phase roles, run once per batch on the controller (C(run_once)).
  - O(step=start) notes the hosts of the batch and its number, for the summary, and reads every request of the
    phases of O(operation) once for the batch.
  - O(step=plan) reads, for every host of O(hosts), the variables the O(phase) role's own tasks would see for it
    (inventory variables, the role's defaults, the role's C(vars) and parameters, extra variables) and returns one
    request per cluster, so that every task of the phase and the batch-wide validation plan from the same values.
    Hosts whose variables are wrong are returned in C(invalid) with the variable, the value and the fix.
  - With O(phase=node_removal), the plan also gives C(removals), the entry of each host for
    M(ztp.sno_expand.ztp_siteconfig_node_removal). For a replacement (C(node_removal_replace)), the workers to remove
    are those whose entry in Git (O(repo_dir)) has another C(bootMACAddress) than the new entry, and the hosts of a
    replacement that cannot be made are C(invalid); see the P(ztp.sno_expand.ztp_replacement_plan#filter) filter.
  - O(step=secrets) returns the BMC credentials Secrets of the O(phase=node_addition) requests; use it with
    C(no_log).
  - O(step=verdict) judges every cluster of the batch from the results of the phase's steps given in O(results),
    and returns the hosts to fail with the reason; the roles fail them with one generic task.
  - O(step=summary) builds one record per cluster of O(hosts) (failed clusters included, with the phase and the
    reason) from the verdicts registered by the phase roles, with each cluster's ClusterGroupUpgrade outcomes and
    each worker's install outcome.
  - Runs on the controller (action plugin); the module file only documents it.
author:
  - ztp.sno_expand maintainers (@ztp)
options:
  step:
    description: What to do.
    type: str
    choices: [start, plan, secrets, verdict, summary]
    required: true
  phase:
    description: The phase (role) to plan or judge; required except with O(step=summary).
    type: str
    choices: [selector_checks, policy_creation, node_addition, install_verification, node_removal]
  operation:
    description:
      - The playbook's operation, for O(step=start) and O(step=summary) - C(expand) (the phases of C(expand_sno.yml)),
        C(remove) (C(node_removal)), C(replace) (C(node_removal), then the phases of C(expand_sno.yml)), C(rotate)
        (C(bmc_rotation), the verdicts M(ztp.sno_expand.ztp_bmc_credentials) registers as C(bmc_rotation_verdict)). A
        cluster is C(done) when the last phase of its operation passed.
    type: str
    choices: [expand, remove, replace, rotate]
    default: expand
  repo_dir:
    description: The working copy of the GitOps repository, where O(step=plan) of a replacement reads the cluster files.
    type: path
  hosts:
    description: Inventory hosts of the batch, usually C(ansible_play_batch); for O(step=summary) every host to report.
    type: list
    elements: str
    default: []
  results:
    description:
      - With O(step=verdict), the registered results of the phase's steps by name, C(plan) (the registered result of
        O(step=plan)) always. C(decide), C(edits), C(publish), C(cgu) (selector_checks); C(written), C(publish), C(cgu)
        (policy_creation); C(policies) (the worker Policy objects, for the check before writing), C(precheck) (the
        verdict of that check), C(written), C(publish), C(rendered) (node_addition); C(wait) (install_verification);
        C(stage) (C(seen) or C(removed), the wait just done, to judge it alone), C(seen), C(removed) (the waits),
        C(status), C(annotated), C(suppressed), C(entries) (the edits), C(publish), C(precheck) (node_removal).
        Every phase that publishes also takes C(synced), the M(ztp.sno_expand.ztp_argocd_sync) wait after the push.
      - With O(step=summary), C(active) (the hosts that have not failed, C(ansible_play_hosts)) and C(validation)
        (the registered result of the batch-wide M(ztp.sno_expand.ztp_gitops_batch) check).
      - With O(step=plan) and O(phase=node_removal), C(cluster_info) (the hub's ManagedClusterInfo objects) for a
        replacement.
      - With O(step=plan) and O(phase=selector_checks), C(findings) (cluster to the result of
        M(ztp.sno_expand.ztp_daemon_selectors_info)) makes the plan also decide the selector edits.
    type: dict
    default: {}
  batch:
    description: Number of the batch, for the summary records.
    type: int
attributes:
  check_mode:
    description: Plans and judges in check mode as in a real run (it changes nothing either way).
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
'''

EXAMPLES = r'''
- name: Plan the worker policies of the batch
  ztp.sno_expand.ztp_batch:
    step: plan
    phase: policy_creation
    hosts: "{{ ansible_play_batch }}"
  run_once: true
  register: policy_creation_plan

- name: Summary of the play so far
  ztp.sno_expand.ztp_batch:
    step: summary
    hosts: "{{ ansible_play_hosts_all }}"
  run_once: true
  register: ztp_summary
'''

RETURN = r'''
requests:
  description: O(step=plan) - per host, the cluster's request for the phase (never a credential).
  returned: step is plan
  type: dict
invalid:
  description: O(step=plan) - per host, why its variables cannot be used.
  returned: step is plan
  type: dict
hosts:
  description: O(step=plan) - the hosts of the batch with a valid request, in batch order; O(step=start) - the hosts of the batch.
  returned: step is plan or step is start
  type: list
  elements: str
removals:
  description: O(step=plan) of node_removal - per host with workers to remove, its entry for M(ztp.sno_expand.ztp_siteconfig_node_removal).
  returned: step is plan and phase is node_removal
  type: dict
replacements:
  description: O(step=plan) of node_removal - per host of a replacement, C(remove), C(add), C(replaced) (host names).
  returned: step is plan and phase is node_removal
  type: dict
decision:
  description: O(step=plan) of selector_checks with C(findings) - C(stops), C(edits), C(clusters), C(policies).
  returned: step is plan and phase is selector_checks and results.findings is given
  type: dict
cgu_parts:
  description:
    - O(step=plan) of policy_creation - the ClusterGroupUpgrades that remediate the batch, each with C(name), C(clusters)
      and C(managed_policies), one per C(cgu_max_concurrency) clusters, each naming only its own clusters' policies, for
      M(ztp.sno_expand.ztp_cgu) (its O(ztp.sno_expand.ztp_cgu#module:parts) when there are several).
  returned: step is plan and phase is policy_creation
  type: list
  elements: dict
cgu_max_concurrency:
  description:
    - O(step=plan) of policy_creation - the CGU concurrency of the batch, the smallest C(policy_creation_cgu_max_concurrency)
      of its clusters (a warning names the clusters that give another value).
  returned: step is plan and phase is policy_creation
  type: int
policy_namespaces:
  description: O(step=plan) of policy_creation and node_addition - the worker policy namespaces of the batch.
  returned: step is plan and phase is policy_creation or phase is node_addition
  type: list
  elements: str
policy_clusters:
  description: O(step=plan) of node_addition - the clusters whose worker policies must be compliant before a worker is added.
  returned: step is plan and phase is node_addition
  type: list
  elements: str
last_worker:
  description: O(step=plan) of node_removal - the hosts whose cluster loses its last worker.
  returned: step is plan and phase is node_removal
  type: list
  elements: str
last_worker_clusters:
  description: O(step=plan) of node_removal - the clusters of C(last_worker), whose policies are read before and after the removal.
  returned: step is plan and phase is node_removal
  type: list
  elements: str
secrets:
  description: O(step=secrets) - the BMC Secrets to create.
  returned: step is secrets
  type: list
  elements: dict
verdicts:
  description: O(step=verdict) - per host, C(ok), C(msg), C(phase), C(cluster), and where they apply C(cgu), C(nodes), C(paths), C(policies).
  returned: step is verdict
  type: dict
clusters:
  description:
    - O(step=summary) - one record per cluster, C(cluster), C(inventory_host), C(batch), C(ok), C(phase) (the last
      phase reached, C(done) when every phase of O(operation) passed), C(operation), C(msg), C(cgu) (C(selectors),
      C(workers)), C(nodes) (the install results of its workers), C(removed) (the workers removed), C(paths),
      C(policies).
  returned: step is summary
  type: list
  elements: dict
lines:
  description:
    - O(step=summary) - one line per cluster for people.
    - O(step=plan) of node_removal - one line per cluster of a replacement, what is removed and added again.
  returned: step is summary or step is plan and phase is node_removal
  type: list
  elements: str
passed:
  description: O(step=verdict) - the hosts of the plan whose cluster the phase judged ok, in batch order.
  returned: step is verdict
  type: list
  elements: str
line_of:
  description: O(step=summary) - per host, the line of C(lines) for its cluster.
  returned: step is summary
  type: dict
failed_hosts:
  description:
    - O(step=verdict) - per host whose cluster the phase judged failed, the reason.
    - O(step=summary) - per host of a cluster that failed, the reason (with the phase in C(clusters)).
  returned: step is verdict or step is summary
  type: dict
batch:
  description: O(step=start) - the number of the batch (1 for the first).
  returned: step is start
  type: int
totals:
  description: O(step=summary) - C(clusters), C(ok), C(failed).
  returned: step is summary
  type: dict
stats:
  description: O(step=summary) - per cluster, the compact summary handed to AWX with set_stats.
  returned: step is summary
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    # The action plugin validates its arguments against DOCUMENTATION; this copy is what ansible-test checks it with.
    module = AnsibleModule(argument_spec=dict(
        step=dict(type='str', choices=['start', 'plan', 'secrets', 'verdict', 'summary'], required=True),
        phase=dict(type='str', choices=['selector_checks', 'policy_creation', 'node_addition', 'install_verification',
                                        'node_removal']),
        operation=dict(type='str', choices=['expand', 'remove', 'replace', 'rotate'], default='expand'),
        repo_dir=dict(type='path'),
        hosts=dict(type='list', elements='str', default=[]),
        results=dict(type='dict', default={}),
        batch=dict(type='int'),
    ), supports_check_mode=True)
    module.fail_json(msg="ztp_batch reads the play's variables and runs on the controller as an action plugin; "
                         "it cannot run as a module")


if __name__ == '__main__':
    main()
