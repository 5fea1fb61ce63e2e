#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_daemon_selectors_info
short_description: Read the PTP and SR-IOV daemon node selectors of SNO spokes
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Reads C(PtpOperatorConfig default) in C(openshift-ptp) (C(spec.daemonNodeSelector)) and
    C(SriovOperatorConfig default) in C(openshift-sriov-network-operator) (C(spec.configDaemonNodeSelector))
    of one or many clusters, and says whether each selector pins the daemon to master nodes, in which case
    the group policy needs the worker selector override before a worker is added.
  - With O(spoke_kubeconfig), reads one spoke directly. Otherwise reads through the hub alone; it creates
    one C(ManagedClusterView) (C(view.open-cluster-management.io/v1beta1)) per cluster and operator config
    in the cluster namespaces, waits for all of them with one watch, reads C(status.result) and deletes the
    views (unless O(keep_views=true)).
  - The views are temporary read requests; they are created and deleted also in check mode, and the module
    always reports C(changed=false).
  - An operator config that does not exist, or whose kind the spoke does not serve (operator not
    installed), is reported with C(found=false) and needs no override.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  clusters:
    description: Names of the managed clusters (their namespaces on the hub).
    type: list
    elements: str
    required: true
  spoke_kubeconfig:
    description:
      - Path of a kubeconfig of the spoke, to read it directly instead of through the hub. Only with one
        cluster in O(clusters).
      - Used on its own; the C(K8S_AUTH_*) variables and the auth options describe the hub.
    type: path
  spoke_context:
    description: Context of O(spoke_kubeconfig) to use; its current context when not set.
    type: str
  keep_views:
    description: Leave the ManagedClusterViews on the hub (for troubleshooting).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for all views to be answered.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Read the selectors of a batch of clusters through the hub
  ztp.sno_expand.ztp_daemon_selectors_info:
    clusters: [sno-a, sno-b]
  register: selectors

- name: Clusters whose group policy needs the PTP override
  ansible.builtin.debug:
    msg: "{{ selectors.clusters | dict2items | selectattr('value.needs_override.ptp') | map(attribute='key') }}"

- name: Read one spoke directly
  ztp.sno_expand.ztp_daemon_selectors_info:
    clusters: [sno-a]
    spoke_kubeconfig: /path/to/sno-a.kubeconfig
"""

RETURN = r"""
clusters:
  description: Per cluster, the PTP and SR-IOV selectors and whether an override is needed.
  returned: always
  type: dict
  sample:
    sno-a:
      ptp: {selector: {"node-role.kubernetes.io/master": ""}, pinned_to_master: true, found: true}
      sriov: {selector: null, pinned_to_master: false, found: false}
      needs_override: {ptp: true, sriov: false}
errors:
  description: Per cluster whose selectors could not be read, why (the module then fails).
  returned: on failure
  type: dict
source:
  description: C(spoke) or C(managedclusterview).
  returned: always
  type: str
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import (
    Hub, HubError, hub_argument_spec, hub_module)
from ansible_collections.ztp.sno_expand.plugins.module_utils import _daemon_selectors as ds


def argument_spec():
    return hub_argument_spec(dict(
        clusters=dict(type="list", elements="str", required=True),
        spoke_kubeconfig=dict(type="path"),
        spoke_context=dict(type="str"),
        keep_views=dict(type="bool", default=False),
        timeout=dict(type="int", default=120),
    ))


def main():
    module = hub_module(argument_spec(), supports_check_mode=True)
    params = module.params
    clusters = params["clusters"]
    if not clusters:
        module.fail_json(msg="clusters: invalid value []: at least one cluster name")
    if len(set(clusters)) != len(clusters):
        module.fail_json(msg="clusters: invalid value %r: each cluster only once" % (clusters,))
    try:
        if params.get("spoke_kubeconfig"):
            if len(clusters) != 1:
                module.fail_json(msg="spoke_kubeconfig: reads one spoke; clusters must list exactly one "
                                     "cluster, not %d" % len(clusters))
            spoke = Hub.from_kubeconfig(params["spoke_kubeconfig"], params.get("spoke_context"))
            module.exit_json(changed=False, source="spoke", clusters={clusters[0]: ds.read_from_spoke(spoke)})
        hub = Hub.from_module(module)
        results, errors = ds.read_through_views(hub, clusters, params["timeout"], params["keep_views"])
    except HubError as exc:
        module.fail_json(msg=str(exc))
    if errors:
        module.fail_json(msg="cannot read the daemon selectors of %d cluster(s): %s" % (
            len(errors), "; ".join("%s: %s" % item for item in sorted(errors.items()))),
            clusters=results, errors=errors, source="managedclusterview")
    module.exit_json(changed=False, source="managedclusterview", clusters=results)


if __name__ == "__main__":
    main()
