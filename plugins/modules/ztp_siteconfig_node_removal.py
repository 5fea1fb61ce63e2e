#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ztp_siteconfig_node_removal
short_description: One step of the removal of worker nodes from SiteConfig or ClusterInstance files
version_added: 0.1.0
description:
  - Makes one step of the GitOps ZTP removal of worker nodes, in the order of the OpenShift documentation
    (Deleting a managed cluster node with GitOps ZTP, after OCPBUGS-38801), for many workers of many clusters and files at once.
  - V(annotate) adds the annotation C(bmac.agent-install.openshift.io/remove-agent-and-node-on-delete) with the value
    C("true") to the node's BareMetalHost, in SiteConfig C(crAnnotations.add.BareMetalHost) and in ClusterInstance
    C(extraAnnotations.BareMetalHost).
  - V(suppress) stops the rendering of the node's BareMetalHost so that it is deleted on the hub; SiteConfig
    C(crSuppression) gets C(BareMetalHost) (the annotation stays on the node, as the documentation asks), ClusterInstance
    C(pruneManifests) gets C({apiVersion metal3.io/v1alpha1, kind BareMetalHost}). Refused unless the node is annotated.
  - V(remove) removes the node entry; refused unless its BareMetalHost is suppressed. A worker already gone is left alone.
  - V(status) only reads and returns each node's state (C(present), C(annotated), C(suppressed), C(absent)).
  - V(worker_policy) removes, for each cluster of O(clusters) with a C(worker_policy), the worker policy template file
    and its entry in the C(generators) of the C(kustomization.yaml) beside it (the entry first), once the cluster's
    last worker is gone. A file that is not that worker policy alone is refused and nothing is removed. Which other
    clusters the template binds is not checked here; the ztp.sno_expand.node_removal role checks it on the hub first.
  - Each file is edited by replacing only the lines concerned, so comments, quoting and other documents stay as they
    are. Every worker is checked before any file is written; all problems are reported together, each naming the field,
    the value and the fix. A master node, an unknown host (unless O(absent_ok), and except for V(remove) and V(status)) and a ClusterInstance
    being provisioned are refused.
  - The module does not check the hub; publish each step and wait for the hub (the BareMetalHost annotated, then
    deleted) before the next one, as the ztp.sno_expand.node_removal role does.
author:
  - ztp.sno_expand maintainers (@ztp)
requirements:
  - ruamel.yaml
options:
  removal_step:
    description: The step to make for every worker of O(clusters).
    type: str
    required: true
    choices: [status, annotate, suppress, remove, worker_policy]
  clusters:
    description: The workers to remove, per cluster.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The cluster's SiteConfig or ClusterInstance file, relative to O(repo_dir) unless absolute.
        type: str
        required: true
      cluster:
        description: Name of the cluster (C(clusterName)).
        type: str
        required: true
      workers:
        description: The C(hostName) of each worker node entry to remove.
        type: list
        elements: str
        required: true
      namespace:
        description: Namespace of the cluster's BareMetalHosts on the hub; only passed through to RV(nodes).
        type: str
      worker_policy:
        description: With O(removal_step=worker_policy), the cluster's worker policy template to remove.
        type: dict
        suboptions:
          path:
            description: The template file, relative to O(repo_dir) unless absolute.
            type: str
            required: true
          name:
            description: The template's C(metadata.name).
            type: str
            required: true
          namespace:
            description: The namespace of its policies; when given, the file must have it.
            type: str
          format:
            description: C(policygentemplate) or C(policygenerator).
            type: str
            default: policygentemplate
            choices: [policygentemplate, policygenerator]
          kustomization:
            description: Remove the file's entry from the C(kustomization.yaml) beside it.
            type: bool
            default: true
          policy_name:
            description: The C(policyName) of its source files, for RV(policies).
            type: str
            default: config-policy
  absent_ok:
    description:
      - Report a worker that is not in the file as C(absent) (already removed) with a warning, instead of refusing it.
        V(remove) and V(status) always do.
    type: bool
    default: false
  repo_dir:
    description: The Git working copy the relative paths of O(clusters) are in.
    type: path
notes:
  - Supports C(check_mode) and C(diff_mode).
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return the changed status without writing the files.
  diff_mode:
    support: full
    description: Returns each changed file before and after the edit.
'''

EXAMPLES = r'''
- name: Remove the worker policy template of a cluster whose last worker is gone
  ztp.sno_expand.ztp_siteconfig_node_removal:
    repo_dir: "{{ gitops_dir }}"
    removal_step: worker_policy
    clusters:
      - path: siteconfig/example-sno.yaml
        cluster: example-sno
        workers: []
        worker_policy:
          path: policygentemplates/example-sno-worker.yaml
          name: example-sno-worker
          namespace: ztp-example-sno

- name: Annotate the BareMetalHost of the worker for removal
  ztp.sno_expand.ztp_siteconfig_node_removal:
    repo_dir: "{{ gitops_dir }}"
    removal_step: annotate
    clusters:
      - path: siteconfig/example-sno.yaml
        cluster: example-sno
        workers:
          - example-node2.example.com
'''

RETURN = r'''
nodes:
  description: Every worker with its state before and after the step (and a message for an absent one).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "siteconfig/example-sno.yaml", "cluster": "example-sno", "hostName": "example-node2.example.com",
            "namespace": "example-sno", "format": "siteconfig-v2", "state_before": "present", "state": "annotated", "message": ""}]
policies:
  description: With O(removal_step=worker_policy), the root policies that the removed templates generated.
  returned: when removal_step is worker_policy
  type: list
  elements: str
paths:
  description: The files changed (as given in O(clusters)), or removed.
  returned: always
  type: list
  elements: str
diff:
  description: Each changed file before and after the edit.
  returned: when diff mode is enabled and a file changed
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._siteconfig import removal_batch

ARGUMENT_SPEC = dict(
    removal_step=dict(type='str', required=True, choices=['status', 'annotate', 'suppress', 'remove', 'worker_policy']),
    clusters=dict(type='list', elements='dict', required=True, options=dict(
        path=dict(type='str', required=True),
        cluster=dict(type='str', required=True),
        workers=dict(type='list', elements='str', required=True),
        namespace=dict(type='str'),
        worker_policy=dict(type='dict', options=dict(
            path=dict(type='str', required=True),
            name=dict(type='str', required=True),
            namespace=dict(type='str'),
            format=dict(type='str', default='policygentemplate', choices=['policygentemplate', 'policygenerator']),
            kustomization=dict(type='bool', default=True),
            policy_name=dict(type='str', default='config-policy'),
        )),
    )),
    repo_dir=dict(type='path'),
    absent_ok=dict(type='bool', default=False),
)


def _outcome(params, check_mode):
    """``(outcome, None)`` of the step, or ``(None, failed result)``."""
    try:
        if params['removal_step'] == 'worker_policy':
            policies = [c['worker_policy'] for c in params['clusters'] if c.get('worker_policy')]
            outcome = policygen.remove_worker_files(policies, params.get('repo_dir'), check_mode)
            return dict(outcome, nodes=[], diffs=outcome['diff']), None
        return removal_batch(params['clusters'], params['removal_step'], params.get('repo_dir'), check_mode,
                             params.get('absent_ok')), None
    except ZtpInputErrors as exc:
        return None, dict(failed=True, msg=str(exc), errors=[e.describe() for e in exc.errors])
    except ZtpInputError as exc:
        return None, dict(failed=True, msg=str(exc), errors=[exc.describe()])
    except (yaml_load.YamlEditError, IOError, OSError) as exc:
        return None, dict(failed=True, msg=str(exc))


def run(params, check_mode, diff):
    """The result of the module for ``params`` (also used by the action plugin on the controller)."""
    if not yaml_load.HAS_RUAMEL:
        return dict(failed=True, msg=missing_required_lib('ruamel.yaml'), exception=yaml_load.RUAMEL_IMPORT_ERROR)
    outcome, failure = _outcome(params, check_mode)
    if failure:
        return failure
    result = dict(changed=outcome['changed'], nodes=outcome['nodes'], paths=outcome['paths'])
    if 'policies' in outcome:
        result['policies'] = outcome['policies']
    warnings = [n['message'] for n in outcome['nodes'] if n.get('message')]
    if warnings:
        result['warnings'] = warnings
    if diff and outcome['diffs']:
        result['diff'] = outcome['diffs']
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = run(module.params, module.check_mode, module._diff)
    for warning in result.pop('warnings', []):
        module.warn(warning)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
