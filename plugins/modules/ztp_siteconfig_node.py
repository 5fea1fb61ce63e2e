#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ztp_siteconfig_node
short_description: Add, update or remove a worker node of an SNO cluster in a SiteConfig or ClusterInstance file
version_added: 0.1.0
description:
  - Adds a worker node entry to the C(nodes) list of a single-node OpenShift (SNO) cluster in a GitOps ZTP
    file, updates that entry, or removes it.
  - Supports SiteConfig C(ran.openshift.io/v1) and C(ran.openshift.io/v2) (nodes under
    C(spec.clusters[clusterName=<cluster>].nodes)) and ClusterInstance
    C(siteconfig.open-cluster-management.io/v1alpha1) (nodes under C(spec.nodes), cluster name in
    C(spec.clusterName)). A file may hold several YAML documents.
  - The file is edited by replacing only the lines of the node entry, so comments, quoting, blank lines and
    other documents stay byte-identical. The result is parsed again and checked before it is written
    (atomically, under a lock, so parallel forks editing the same file are safe).
  - The node entry is validated before anything is written; all problems are reported together, each naming
    the field, the value and the fix.
  - Master (control-plane) entries are never added, changed or removed.
  - The BMC Secret named by C(bmcCredentialsName) is not created; create it on the hub with
    M(kubernetes.core.k8s) and C(no_log).
author:
  - ztp.sno_expand maintainers (@ztp)
requirements:
  - ruamel.yaml
options:
  path:
    description:
      - Path of the SiteConfig or ClusterInstance file in the Git working copy.
    type: path
    required: true
  cluster:
    description:
      - Name of the cluster (C(clusterName)) whose nodes are edited.
    type: str
    required: true
  node:
    description:
      - The node entry, with the field names of the file's format (for example C(hostName), C(role),
        C(bmcAddress), C(bmcCredentialsName), C(bootMACAddress), C(bootMode), C(rootDeviceHints),
        C(nodeNetwork), C(nodeLabels), C(installerArgs)).
      - C(role) must be C(worker). C(installerArgs) and C(ignitionConfigOverride) are JSON strings. C(cpuset) is
        rejected, the workload partitioning of a worker comes from the worker policies.
      - With O(state=present) the entry whose C(hostName) matches is replaced by this one (or it is added);
        with O(state=absent) only C(hostName) is needed.
    type: dict
  state:
    description:
      - V(present) adds or updates the node, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  default_template_refs:
    description:
      - ClusterInstance only. The C(templateRefs) of the node when O(node) has none.
      - When neither is given, the C(templateRefs) of the first existing node that has them is used.
    type: list
    elements: dict
notes:
  - Supports C(check_mode) and C(diff_mode).
  - For a provisioned ClusterInstance the siteconfig webhook accepts only node additions and removals and
    changes of C(extraAnnotations), C(extraLabels), C(suppressedManifests) and C(pruneManifests); the module
    refuses an update of an existing node that changes other fields, any change while the document's status says
    the cluster is being provisioned, and an addition to a ClusterInstance whose C(clusterType) is not C(SNO).
  - Also refused before anything is written, naming the field, the value and the fix, are a worker IP address that
    another node of the cluster has, addresses outside the cluster's C(machineNetwork), an interface MAC of another
    node, C(rootDeviceHints) of the wrong type, a C(bmcAddress) with spaces or control characters, and a C(nodes)
    list written as a YAML alias.
  - The edit holds the lock of the Git working copy from the read to the write, so that M(ztp.sno_expand.ztp_gitops_checkout)
    never moves the file in between.
  - O(state=absent) only removes the entry, and ArgoCD then deletes the BareMetalHost without the annotation that makes
    assisted-service remove the Agent and the spoke Node. To remove an installed worker, use
    M(ztp.sno_expand.ztp_siteconfig_node_removal) in its documented order, or C(playbooks/remove_workers.yml).
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return the changed status without writing the file.
  diff_mode:
    support: full
    description: Returns the file before and after the edit.
'''

EXAMPLES = r'''
- name: Add a worker to the SNO cluster example-sno
  ztp.sno_expand.ztp_siteconfig_node:
    path: "{{ gitops_checkout }}/siteconfig/example-sno.yaml"
    cluster: example-sno
    node:
      hostName: example-node2.example.com
      role: worker
      bmcAddress: idrac-virtualmedia+https://[1111:2222:3333:4444::bbbb:2]/redfish/v1/Systems/System.Embedded.1
      bmcCredentialsName:
        name: example-node2-bmh-secret
      bootMACAddress: "AA:BB:CC:DD:EE:22"
      bootMode: UEFI
      rootDeviceHints:
        deviceName: /dev/disk/by-path/pci-0000:01:00.0-scsi-0:2:0:0
      nodeNetwork:
        interfaces:
          - name: eno1
            macAddress: "AA:BB:CC:DD:EE:22"
        config:
          interfaces:
            - name: eno1
              type: ethernet
              state: up
              ipv6:
                enabled: true
                address:
                  - ip: 1111:2222:3333:4444::aaaa:2
                    prefix-length: 64
          routes:
            config:
              - destination: ::/0
                next-hop-interface: eno1
                next-hop-address: 1111:2222:3333:4444::1

- name: Add a worker to a ClusterInstance, with explicit node templates
  ztp.sno_expand.ztp_siteconfig_node:
    path: "{{ gitops_checkout }}/clusterinstance/example-sno.yaml"
    cluster: example-ai-sno
    default_template_refs:
      - name: ai-node-templates-v1
        namespace: open-cluster-management
    node: "{{ worker_node }}"

- name: Remove the worker again
  ztp.sno_expand.ztp_siteconfig_node:
    path: "{{ gitops_checkout }}/siteconfig/example-sno.yaml"
    cluster: example-sno
    node:
      hostName: example-node2.example.com
    state: absent
'''

RETURN = r'''
node:
  description:
    - The node entry as written to the file (ClusterInstance C(templateRefs) filled in).
    - V(null) with O(state=absent).
  returned: always
  type: dict
  sample: {"hostName": "example-node2.example.com", "role": "worker"}
format:
  description: Format of the document holding the cluster.
  returned: always
  type: str
  sample: siteconfig-v1
  choices: [siteconfig-v1, siteconfig-v2, clusterinstance]
diff:
  description: The file before and after the edit.
  returned: when diff mode is enabled
  type: dict
  contains:
    before:
      description: File content before.
      type: str
      returned: success
    after:
      description: File content after.
      type: str
      returned: success
    before_header:
      description: Path of the file.
      type: str
      returned: success
    after_header:
      description: Path of the file.
      type: str
      returned: success
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._siteconfig import apply_node


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            cluster=dict(type='str', required=True),
            node=dict(type='dict'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            default_template_refs=dict(type='list', elements='dict'),
        ),
        required_if=[('state', 'present', ['node']), ('state', 'absent', ['node'])],
        supports_check_mode=True,
    )
    if not yaml_load.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib('ruamel.yaml'), exception=yaml_load.RUAMEL_IMPORT_ERROR)
    params = module.params
    try:
        outcome = apply_node(params['path'], params['cluster'], params['node'], params['state'],
                             params['default_template_refs'], module.check_mode)
    except ZtpInputErrors as exc:
        module.fail_json(msg=str(exc), errors=[e.describe() for e in exc.errors])
    except ZtpInputError as exc:
        module.fail_json(msg=str(exc), errors=[exc.describe()])
    except (yaml_load.YamlEditError, IOError, OSError) as exc:
        module.fail_json(msg='%s: %s' % (params['path'], exc))
    for warning in outcome['warnings']:
        module.warn(warning)
    result = dict(changed=outcome['changed'], node=outcome['node'], format=outcome['format'])
    if module._diff:
        result['diff'] = outcome['diff']
    module.exit_json(**result)


if __name__ == '__main__':
    main()
