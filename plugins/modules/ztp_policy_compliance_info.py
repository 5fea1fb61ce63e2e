#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_policy_compliance_info
short_description: Read the compliance of root ACM Policies per cluster
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Lists the root C(Policy) objects of the given namespaces on the hub and returns, for each, the compliance the
    policy propagator reports per cluster (C(status.status)), and the same as a table cluster -> policy ->
    compliance.
  - Returns names and compliance only, not the policy templates, so a fleet's policies (hundreds of clusters in
    each C(status)) stay small in the task result; the fields are selected with JMESPath.
  - Replicated Policies (those labelled C(policy.open-cluster-management.io/root-policy), which live in the
    clusters' namespaces) are left out.
  - A cluster the policy is placed on whose state the hub has not heard yet shows C(Pending).
  - Runs in the controller process (action plugin). Hub credentials resolve as for kubernetes.core modules, from
    the options (and C(module_defaults)), then the E(K8S_AUTH_*) variables of the task's and play's C(environment)
    keyword and of the controller.
  - Reads only; check mode reads too.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  namespaces:
    description: Namespaces of the root Policies (in ZTP, the namespaces the policy templates in Git name); every
      namespace when empty.
    type: list
    elements: str
    default: []
  names:
    description: Only these policies; those not found are listed in RV(missing).
    type: list
    elements: str
    default: []
  clusters:
    description: Only these clusters in RV(compliance) and in each policy's RV(policies[].clusters).
    type: list
    elements: str
    default: []
requirements:
  - jmespath
"""

EXAMPLES = r"""
- name: Read the worker policies of two clusters
  ztp.sno_expand.ztp_policy_compliance_info:
    namespaces: [ztp-worker-policies]
    clusters: [sno-a, sno-b]
  register: worker_policies

- name: Stop when a worker policy is not compliant yet
  ansible.builtin.assert:
    that: worker_policies.compliance[item] | dict2items | rejectattr('value', 'eq', 'Compliant') | list | length == 0
    fail_msg: "{{ item }}: {{ worker_policies.compliance[item] }}"
  loop: [sno-a, sno-b]
"""

RETURN = r"""
policies:
  description: The root Policies read, each with its overall compliance and its compliance per cluster.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "sno-workers-config-policy", "namespace": "ztp-worker-policies", "compliant": "NonCompliant",
            "clusters": {"sno-a": "Compliant", "sno-b": "NonCompliant"}}]
  contains:
    name:
      description: Name of the root Policy.
      type: str
    namespace:
      description: Namespace of the root Policy.
      type: str
    compliant:
      description: The Policy's overall compliance, C(Pending) when the hub has none yet.
      type: str
    clusters:
      description: Cluster -> compliance (of O(clusters) only, when given).
      type: dict
compliance:
  description: Cluster -> policy name -> C(Compliant), C(NonCompliant) or C(Pending).
  returned: always
  type: dict
  sample: {"sno-a": {"sno-workers-config-policy": "Compliant"}}
missing:
  description: Names of O(names) not found in O(namespaces).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policy_compliance as pc
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError, error_result
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub, hub_argument_spec, hub_module


def main():
    module = hub_module(hub_argument_spec(pc.module_args()), supports_check_mode=True)
    try:
        pc.check_params(module.params)
        result = pc.read(Hub.from_module(module), module.params)
    except ZtpError as exc:
        module.fail_json(**error_result(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
