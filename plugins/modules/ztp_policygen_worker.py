#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_policygen_worker
short_description: Write the worker-node policies of a GitOps ZTP cluster
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Writes the worker-node policy file of a single-node OpenShift cluster that gets worker nodes, as a
    ZTP PolicyGenTemplate (C(ran.openshift.io/v1)) or as an ACM PolicyGenerator
    (C(policy.open-cluster-management.io/v1)), and lists it under C(generators) in the
    C(kustomization.yaml) of the same folder.
  - The file holds one policy C(<name>-<policy_name>) with three source CRs.
    C(MachineConfigGeneric.yaml) (role C(worker), name C(enable-workload-partitioning)) writes the CRI-O
    and kubelet workload-partitioning files for the reserved CPUs as base64 data URLs.
    C(PerformanceProfile.yaml) (name C(openshift-worker-node-performance-profile)) sets the isolated and
    reserved CPUs, the hugepages and the realtime kernel.
    C(TunedPerformancePatch.yaml) carries the reference tuning of the source-CR layout in use, read from
    C(source-crs/) next to the worker file (following links). Every profile of the source Tuned is copied as
    C(<profile>-worker) at the source priority, its C(include) lines point at the worker PerformanceProfile and the
    worker profiles, and the top profile adds C(nohz_full=<isolated>), C(kernel.timer_migration=1) (realtime kernel
    only) and any extra tuning. Without a local copy the flat pre-4.20 shape (one profile) is assumed.
  - 'A PolicyGenTemplate sets C(mcp) to C(worker). A PolicyGenerator has no C($mcp) substitution, so its
    patches replace the C(machineConfigPoolSelector), C(nodeSelector) and Tuned C(recommend) selectors of
    the source CRs with worker ones (C($patch: replace)), and it follows the ZTP conventions (Placement by
    label selector, inform, severity low, evaluation intervals 10m/10s, C(ztp-deploy-wave) 10). The
    source CRs named by a PolicyGenerator must be present under C(source-crs/) next to the
    C(kustomization.yaml).'
  - Every input is checked before anything is written and all problems are reported together.
  - Idempotent. A file that already holds the wanted content is left byte for byte alone. When it
    differs (for example after a hand edit), only the differing values are replaced in the text, so
    comments and layout elsewhere survive; the file is rendered anew only when it holds another kind,
    several documents or top-level keys of its own. Either way the change is shown with C(--diff).
  - Policies must be deployed and compliant before the worker is installed, so that the
    workload-partitioning MachineConfig is in the C(worker) pool when the worker pulls its ignition.
options:
  path:
    description:
      - The policy file to write, in the folder watched by the ArgoCD C(policies) application. The folder must exist.
      - A new file, or the file written before for this worker policy (same kind, I(name) and I(namespace)). Any other
        existing file (a site or group policy, C(ns.yaml), a file of several documents, a file that is not YAML) is
        refused and left unchanged.
    type: path
    required: true
  name:
    description:
      - C(metadata.name) of the PolicyGenTemplate or PolicyGenerator, for example C(example-sno-workers).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the generated policies. Must begin with C(ztp) (the ZTP ArgoCD project
        C(policy-app-project) only allows C(ztp*) destinations) unless O(allow_non_ztp_namespace=true).
      - For a PolicyGenerator the namespace also needs a C(ManagedClusterSetBinding), as the ZTP C(ns.yaml) creates.
      - C(namespace + "." + <each generated name>) must be at most 63 characters.
    type: str
    required: true
  binding_rules:
    description:
      - 'ManagedCluster labels that select the cluster(s), for example C({sites: example-sno}).
        Values must be strings.'
    type: dict
    required: true
  format:
    description:
      - C(policygentemplate) writes a PolicyGenTemplate, C(policygenerator) an ACM PolicyGenerator.
    type: str
    choices: [policygentemplate, policygenerator]
    default: policygentemplate
  reserved_cpus:
    description:
      - Reserved (housekeeping) CPUs of the worker, for example C(0-3). Also the workload-partitioning CPU set.
    type: str
    required: true
  isolated_cpus:
    description:
      - Isolated (workload) CPUs of the worker, for example C(4-47). Must not overlap O(reserved_cpus).
    type: str
    required: true
  cpu_count:
    description:
      - Number of logical CPUs of the worker. When given, O(reserved_cpus) and O(isolated_cpus) together
        must cover every CPU exactly once.
    type: int
  hugepages:
    description:
      - Hugepages of the PerformanceProfile. Required because the source CR holds hugepage placeholders.
    type: dict
    required: true
    suboptions:
      default_size:
        description: Default hugepage size, C(2M) or C(1G).
        type: str
        required: true
      pages:
        description: Hugepages to allocate.
        type: list
        elements: dict
        required: true
        suboptions:
          size:
            description: Page size, C(2M) or C(1G).
            type: str
            required: true
          count:
            description: Number of pages.
            type: int
            required: true
          node:
            description: NUMA node of the pages; all nodes when omitted.
            type: int
  realtime_kernel:
    description:
      - Whether the worker runs the realtime kernel (C(realTimeKernel.enabled)). Without it the tuned
        profile leaves out C(kernel.timer_migration=1), as the upstream source CR advises.
    type: bool
    default: true
  extra_tuned:
    description:
      - Extra lines for the worker tuned profile, as a mapping of section name (without brackets) to a
        list of C(key=value) lines or to a mapping of keys to values. A line whose key already exists in
        the section replaces it; new sections are added at the end.
    type: dict
  source_cr_layout:
    description:
      - C(flat) names the source CRs as C(PerformanceProfile.yaml) (every C(ztp-site-generate) release).
      - C(directory) uses the telco-reference tree, C(generic/MachineConfigGeneric.yaml),
        C(node-tuning-operator/x86_64/PerformanceProfile.yaml) and
        C(node-tuning-operator/TunedPerformancePatch.yaml) (C(ztp-site-generate) 4.20 and newer).
    type: str
    choices: [flat, directory]
    default: flat
  kustomization:
    description:
      - List the file under C(generators) of C(kustomization.yaml) in the same folder (created when missing, comments kept).
    type: bool
    default: true
  policy_name:
    description:
      - Policy name suffix; the generated policy is C(<name>-<policy_name>).
    type: str
    default: config-policy
  allow_non_ztp_namespace:
    description:
      - Allow a O(namespace) that does not begin with C(ztp). Only for ArgoCD projects that allow it.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the changes of the policy file and of C(kustomization.yaml).
notes:
  - The files are changed under a lock, so several hosts of a play can write to the same folder at once.
  - The worker Tuned carries exactly the worker copies of the source profiles, with worker selectors and none of the
    master's. A PolicyGenerator patch replaces the profile list as a whole; a PolicyGenTemplate merges lists by
    index, and the worker file gives every index. A repository on a 4.20 container with flat names and no local
    copy of C(source-crs/) gets the one-profile shape; keep a copy of the source CRs there, or use the directory
    layout.
requirements:
  - ruamel.yaml
"""

EXAMPLES = r"""
- name: Worker policies of example-sno
  ztp.sno_expand.ztp_policygen_worker:
    path: "{{ gitops_checkout }}/policygentemplates/example-sno-workers.yaml"
    name: example-sno-workers
    namespace: ztp-site
    binding_rules:
      sites: example-sno
    reserved_cpus: "0-3"
    isolated_cpus: "4-47"
    cpu_count: 48
    hugepages:
      default_size: 1G
      pages:
        - size: 1G
          count: 32
    realtime_kernel: true
  register: worker_policies

- name: Same as an ACM PolicyGenerator with telco-reference source CR paths
  ztp.sno_expand.ztp_policygen_worker:
    path: "{{ gitops_checkout }}/acmpolicygenerator/example-sno-workers.yaml"
    name: example-sno-workers
    namespace: ztp-site
    format: policygenerator
    source_cr_layout: directory
    binding_rules:
      sites: example-sno
    reserved_cpus: "0-1,32-33"
    isolated_cpus: "2-31,34-63"
    hugepages:
      default_size: 1G
      pages:
        - {size: 1G, count: 16, node: 0}
    extra_tuned:
      sysctl:
        - kernel.sched_rt_runtime_us=-1
"""

RETURN = r"""
policies:
  description: Names of the generated policies, as a ClusterGroupUpgrade lists them.
  returned: always
  type: list
  elements: str
  sample: ["example-sno-workers-config-policy"]
path:
  description: The policy file.
  returned: always
  type: str
kustomization_changed:
  description: Whether C(kustomization.yaml) was (or would be) changed.
  returned: always
  type: bool
kustomization_path:
  description: The C(kustomization.yaml) that lists the file, when O(kustomization=true).
  returned: always
  type: str
diff:
  description: Changes (before, after) of the policy file and C(kustomization.yaml), one entry per changed file.
  returned: always
  type: list
  elements: dict
"""

import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors


def main():
    module = AnsibleModule(
        argument_spec=copy.deepcopy(policygen.WORKER_ARGUMENT_SPEC),
        supports_check_mode=True,
    )
    if not yaml_load.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=yaml_load.RUAMEL_IMPORT_ERROR)
    try:
        result = policygen.write_worker(module.params, check_mode=module.check_mode)
    except (ZtpInputError, ZtpInputErrors) as error:
        module.fail_json(msg=str(error), changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
