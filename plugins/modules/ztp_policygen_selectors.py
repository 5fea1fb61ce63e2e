#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_policygen_selectors
short_description: Move the PTP and SR-IOV daemons of a ZTP group policy to the worker selector
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - 'Profiles deployed with ZTP 4.11 or older pin the PTP daemons (C(PtpOperatorConfig) C(spec.daemonNodeSelector))
    and the SR-IOV config daemon (C(SriovOperatorConfig) C(spec.configDaemonNodeSelector)) to
    C(node-role.kubernetes.io/master), so they never run on an added worker. This module makes the group
    PolicyGenTemplate or PolicyGenerator select C(node-role.kubernetes.io/worker: "") instead, with
    C(complianceType: mustonlyhave) so that the old C(master) key is removed from the object. The SNO
    control-plane node also carries the worker role label, so the daemons keep running there.'
  - 'PolicyGenTemplate: every C(sourceFiles) entry whose file name begins with C(PtpOperatorConfig) or
    C(SriovOperatorConfig) (any policy, any folder, for example C(SriovOperatorConfigForSNO.yaml) or
    C(ptp-operator/PtpOperatorConfigForEvent.yaml)) gets C(complianceType: mustonlyhave) and
    C(spec.<selector>: {node-role.kubernetes.io/worker: ""}). When there is none, an entry is added with
    C(policyName) O(policy_name).'
  - 'PolicyGenerator: the matching C(manifests) entries get C(complianceType: mustonlyhave) and a first patch
    that sets the selector; because a PolicyGenerator does not substitute C($mcp), the patch carries
    C($patch: replace) unless the source CR is a C(-SetSelector) variant. When there is none, an entry is added
    to the policy named O(policy_name) (or ending in C(-<policy_name>)).'
  - 'An existing SR-IOV entry keeps its source CR. A new one uses C(SriovOperatorConfigForSNO.yaml), as the
    upstream single-node group templates do, which keeps C(disableDrain: true); switch the entry to
    C(SriovOperatorConfig.yaml) by hand if the operator should drain nodes now that the cluster has several.
    New entries use the flat names, or the telco-reference folders (C(ptp-operator/), C(sriov-operator/))
    when the file already names source CRs in those folders.'
  - Only the values that need to change are replaced in the text; other content, comments and order stay
    byte for byte. Idempotent.
  - Changing a selector restarts the daemons, which briefly loses PTP synchronisation and SR-IOV
    connectivity. After the policy is compliant the C(complianceType) may be set back to C(musthave).
options:
  path:
    description:
      - The group PolicyGenTemplate or PolicyGenerator file. The first document of that kind is changed.
    type: path
    required: true
  ptp:
    description:
      - Move the PTP daemons (C(PtpOperatorConfig) C(spec.daemonNodeSelector)).
    type: bool
    default: true
  sriov:
    description:
      - Move the SR-IOV config daemon (C(SriovOperatorConfig) C(spec.configDaemonNodeSelector)).
    type: bool
    default: true
  policy_name:
    description:
      - Policy of entries that have to be added. For a PolicyGenTemplate the C(policyName) of the new entry;
        for a PolicyGenerator the name of the policy, or its suffix after C(<name>-).
    type: str
    default: config-policy
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the change of the file.
requirements:
  - ruamel.yaml
"""

EXAMPLES = r"""
- name: Let the PTP and SR-IOV daemons run on the new workers
  ztp.sno_expand.ztp_policygen_selectors:
    path: "{{ gitops_checkout }}/policygentemplates/group-du-sno-ranGen.yaml"

- name: Only the SR-IOV config daemon, in an ACM PolicyGenerator
  ztp.sno_expand.ztp_policygen_selectors:
    path: "{{ gitops_checkout }}/acmpolicygenerator/acm-group-du-sno-ranGen.yaml"
    ptp: false
"""

RETURN = r"""
changed_entries:
  description: The entries that were (or would be) added or updated.
  returned: always
  type: list
  elements: dict
  contains:
    selector:
      description: C(ptp) or C(sriov).
      type: str
    source:
      description: The C(fileName) or C(path) of the entry.
      type: str
    action:
      description: C(added) or C(updated).
      type: str
    fields:
      description: The fields that were set.
      type: list
      elements: str
    policy:
      description: The C(policyName) (PolicyGenTemplate) or policy name (PolicyGenerator) of the entry.
      type: str
    root_policy:
      description: The root policy on the hub that the entry is part of (C(<PolicyGenTemplate name>-<policyName>), or
        the PolicyGenerator policy name).
      type: str
  sample:
    - {selector: sriov, source: SriovOperatorConfigForSNO.yaml, action: updated, fields: [complianceType], policy: config-policy,
       root_policy: group-du-sno-config-policy}
policies:
  description: The root policies on the hub that carry the PTP and SR-IOV selector entries of the file, edited now or
    already right, each once. A cluster whose daemons are still pinned to C(master) is non-compliant with them.
  returned: always
  type: list
  elements: str
  sample: [group-du-sno-config-policy]
path:
  description: The file.
  returned: always
  type: str
diff:
  description: Change (before, after) of the file.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            ptp=dict(type="bool", default=True),
            sriov=dict(type="bool", default=True),
            policy_name=dict(type="str", default="config-policy"),
        ),
        supports_check_mode=True,
    )
    if not yaml_load.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=yaml_load.RUAMEL_IMPORT_ERROR)
    params = module.params
    try:
        result = policygen.set_selectors(params["path"], ptp=params["ptp"], sriov=params["sriov"],
                                         policy_name=params["policy_name"], check_mode=module.check_mode)
    except (ZtpInputError, ZtpInputErrors) as error:
        module.fail_json(msg=str(error), changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
