#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_install_wait
short_description: Wait for the install of worker nodes added to SNO clusters
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Waits until every given worker node is installed and Ready, following on the hub its
    C(PreprovisioningImage) (C(Ready) C(True) reason C(ImageCreated)), its C(BareMetalHost)
    (C(status.provisioning.state) up to C(provisioned)), its C(Agent) (paired by the label
    C(agent-install.openshift.io/bmh), stages up to C(Done)) and the node entry in
    C(ManagedClusterInfo/<cluster>) C(status.nodeList) (condition C(Ready) C(True)).
  - Uses watches, one per kind and namespace (one all-namespace watch per kind when more than
    O(namespace_watch_limit) namespaces are involved), never one poll per object. A watch that loses its
    connection (API server restart) or its resourceVersion (410 Gone) lists again and resumes.
  - Fails early, naming the object and its own error text, when a BareMetalHost reports
    C(operationalStatus) C(error) or an C(errorType), a PreprovisioningImage reports C(Error), an Agent
    reaches stage C(Failed), condition C(Installed) C(False) reason C(InstallationFailed) or debug state
    C(error); when a node makes no progress for O(stall_timeout); and at O(timeout).
  - Runs in the controller process (action plugin) and prints each observed change as it happens (BareMetalHost
    state, PreprovisioningImage reason, Agent stage with its percentage, node readiness); every change is also in
    the returned RV(progress) list. Hub credentials resolve as for kubernetes.core modules, from the options (and
    C(module_defaults)), then the E(K8S_AUTH_*) variables of the task's and play's C(environment) keyword and of the
    controller.
  - In check mode the current state of every node is listed once and reported without waiting (nothing is
    written either way), so that a check run shows where the installs stand.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  nodes:
    description: The worker nodes to wait for.
    type: list
    elements: dict
    required: true
    suboptions:
      cluster:
        description: Name of the managed cluster.
        type: str
        required: true
      host:
        description: The node's BareMetalHost name (the SiteConfig or ClusterInstance C(hostName)).
        type: str
        required: true
      namespace:
        description: Hub namespace of the BareMetalHost; the cluster name when not set.
        type: str
  timeout:
    description: Seconds to wait for all nodes.
    type: int
    default: 7200
  stall_timeout:
    description: Seconds a node may show no change at all before the wait fails for it.
    type: int
    default: 1800
  fail_fast:
    description:
      - Stop at the first failed node. With C(false), failed nodes are given up at once and the others are
        still waited for; the module fails at the end when any node failed (useful for fleet batches).
    type: bool
    default: true
  until:
    description:
      - C(ready) waits for the whole install (BareMetalHost C(provisioned), Agent C(Done), node C(Ready)).
      - C(rendered) only waits until ArgoCD has rendered each node's BareMetalHost from Git, the step between
        publishing a node and its install.
    type: str
    choices: [ready, rendered]
    default: ready
    version_added: 0.1.0
  namespace_watch_limit:
    description: Up to this many namespaces, watch each namespace; beyond, watch all namespaces once per kind.
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Wait for the workers of the batch
  ztp.sno_expand.ztp_install_wait:
    nodes:
      - {cluster: sno-a, host: sno-a-worker-0}
      - {cluster: sno-b, host: sno-b-worker-0}
    timeout: 7200
    stall_timeout: 1800
    fail_fast: false
  register: install

- name: Print the stages
  ansible.builtin.debug:
    msg: "{{ item.time }} {{ item.cluster }}/{{ item.host }} {{ item.object }} {{ item.stage }} {{ item.percentage }}"
  loop: "{{ install.progress }}"
"""

RETURN = r"""
nodes:
  description: Per node, its stages as observed, its state, durations (seconds; null when the stage ended
    before the wait began) and whether it is ready.
  returned: always
  type: list
  elements: dict
  sample:
    - cluster: sno-a
      host: sno-a-worker-0
      namespace: sno-a
      agent: 5d3a0c0e-0000-4000-8000-000000000000
      stages: [{stage: "Agent Writing image to disk", at: "2024-01-01T00:10:00Z", percentage: 40}]
      state: ready
      ready: true
      failed: false
      error: null
      durations: {image: 40.0, provisioning: 300.0, install: 1800.0, ready: 120.0}
summary:
  description: Counts of ready, failed and pending nodes, elapsed seconds and watch reconnects.
  returned: always
  type: dict
  sample: {total: 2, ready: 2, failed: 0, pending: 0, elapsed: 2400.0, reconnects: 0}
progress:
  description: Every observed change in order (C(time), C(cluster), C(host), C(object), C(stage), C(percentage)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import Hub, HubError, hub_argument_spec, hub_module
from ansible_collections.ztp.sno_expand.plugins.module_utils import install_watch as iw


def main():
    module = hub_module(hub_argument_spec(iw.module_args()), supports_check_mode=True)
    try:
        nodes = iw.check_params(module.params)
        result = iw.run_wait(Hub.from_module(module), nodes, module.params, module.check_mode)
    except (ZtpInputError, ZtpInputErrors, HubError) as exc:
        module.fail_json(msg=str(exc))
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
