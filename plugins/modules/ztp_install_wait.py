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
    C(PreprovisioningImage) (C(Ready) C(True), reason C(ImageCreated) or, on current assisted-service,
    C(InfraEnvAvailable)), its C(BareMetalHost) (C(status.provisioning.state) up to C(provisioned)), its C(Agent)
    (paired by the label C(agent-install.openshift.io/bmh), stages up to C(Done)), the node entry in
    C(ManagedClusterInfo/<cluster>) C(status.nodeList) (condition C(Ready) C(True)) and, with O(wait_for_mcp), the
    spoke's worker C(MachineConfigPool) C(Updated) (read through a C(ManagedClusterView)).
  - Watches are scoped to the batch. Up to O(namespace_watch_limit) namespaces, one watch per kind and namespace;
    beyond, one watch per kind whose label selector names exactly the batch's objects (Agents by
    C(agent-install.openshift.io/bmh), BareMetalHosts and PreprovisioningImages by
    C(infraenvs.agent-install.openshift.io)), or one watch per kind and namespace when the credentials may not list
    cluster-wide. A watch that loses its connection (API server restart) or its resourceVersion (410 Gone) lists
    again and resumes; a 401 or 403 answer ends the wait at once with a message naming the permission missing.
  - A BareMetalHost error (C(errorType), C(operationalStatus) C(error)), a PreprovisioningImage C(Error), an Agent
    that is C(insufficient) (failing validations), C(installing-pending-user-action) or C(Connected) C(False), and a
    worker pool that is C(Degraded) end a node only when they persist (O(error_count_limit) BareMetalHost errors,
    or O(error_timeout) seconds); a problem that clears is shown as recovered. An Agent that fails (stage
    C(Failed), condition C(Installed) C(False) reason C(InstallationFailed), debug state C(error)) ends the node at
    once.
  - A node fails as stalled when it stays in one stage longer than its limit (O(stage_timeouts), with defaults from
    assisted-service's own host stage timeouts), or, when O(stall_timeout) is set, when nothing changes for that
    long. A BareMetalHost with C(operationalStatus) C(delayed) (no free provisioning slot) is waiting, never stalled.
  - Failures and stalls name the cause the hub gives (C(cause) of each node in RV(nodes)) - the BareMetalHost error, validation
    messages, the pending-user-action text, C(Connected) C(False), CSRs not approved for a node long at
    C(Joined) (the Agent's C(csrStatus)), the pool's or the view's condition.
  - Runs in the controller process (action plugin) and prints each observed change as it happens (BareMetalHost
    state, PreprovisioningImage reason, Agent stage with its percentage, node readiness, worker pool, problems and
    their recovery); every change is also in the returned RV(progress) list. Hub credentials resolve as for
    kubernetes.core modules, from the options (and C(module_defaults)), then the E(K8S_AUTH_*) variables of the
    task's and play's C(environment) keyword and of the controller.
  - With O(wait_for_mcp) the wait creates one C(ManagedClusterView) per cluster of the batch (label
    C(ztp-sno-expand/install-view)) and deletes it at the end; nothing else is written.
  - In check mode the current state of every node is listed once and reported without waiting (nothing is
    written, no view is created), so that a check run shows where the installs stand.
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
        description: Name of the managed cluster (its ManagedCluster, and the namespace of its ManagedClusterInfo).
        type: str
        required: true
      host:
        description: The node's hostName (the SiteConfig or ClusterInstance C(hostName)); also its BareMetalHost name
          unless O(nodes[].host_ref) names another.
        type: str
        required: true
      namespace:
        description: Hub namespace of the BareMetalHost, its PreprovisioningImage and its Agent (the ClusterInstance's
          namespace); the namespace of O(nodes[].host_ref), else the cluster name, when not set.
        type: str
      host_ref:
        description: The node's C(hostRef), when it points at a BareMetalHost of another name or namespace.
        type: dict
        suboptions:
          name:
            description: BareMetalHost name.
            type: str
            required: true
          namespace:
            description: BareMetalHost namespace.
            type: str
            required: true
  timeout:
    description: Seconds to wait for all nodes.
    type: int
    default: 7200
  stall_timeout:
    description:
      - When set, one limit for every stage instead of O(stage_timeouts) - seconds a node may show no change at all
        before it fails as stalled (the behaviour of earlier releases).
    type: int
  stage_timeouts:
    description:
      - Seconds a node may stay in one stage, by stage name, merged over the defaults.
      - Agent stages, defaults from assisted-service C(internal/host/config.go) C(Starting installation) 1800,
        C(Installing) 3600, C(Writing image to disk) 1800, C(Waiting for control plane) 3600, C(Rebooting) 2400,
        C(Configuring) 3600, C(Joined) 3600, C(Waiting for ignition) 86400.
      - Other phases, default 3600 each C(registering), C(inspecting), C(preparing), C(available),
        C(provisioning) (BareMetalHost states; time while C(delayed) does not count), C(discovery) (from
        C(provisioned) until the Agent starts installing), C(MachineConfigPool) (the worker pool rollout),
        C(BareMetalHost) (no BareMetalHost yet), and C(default) for any stage not listed.
    type: dict
    default: {}
  error_count_limit:
    description: A BareMetalHost error ends the node once the host's C(errorCount) reaches this (the
      baremetal-operator retries with an exponential backoff of about 1, 2, 4, 8 minutes).
    type: int
    default: 5
  error_timeout:
    description: Seconds a hub-reported problem (BareMetalHost or PreprovisioningImage error, failing Agent
      validations, C(installing-pending-user-action), C(Connected) C(False), a C(Degraded) worker pool) may persist
      before it ends the node.
    type: int
    default: 1800
  wait_for_mcp:
    description: After the node is Ready, also wait for the spoke's worker C(MachineConfigPool) to roll out (seen
      C(Updating), then C(Updated)) and report it as the last milestone.
    type: bool
    default: true
  fail_fast:
    description:
      - Stop at the first failed node. With C(false), failed nodes are given up at once and the others are
        still waited for; the module fails at the end when any node failed (useful for fleet batches).
    type: bool
    default: true
  until:
    description:
      - C(ready) waits for the whole install (BareMetalHost C(provisioned), Agent C(Done), node C(Ready), and the
        worker pool with O(wait_for_mcp)).
      - C(rendered) only waits until ArgoCD has rendered each node's BareMetalHost from Git, the step between
        publishing a node and its install.
    type: str
    choices: [ready, rendered]
    default: ready
    version_added: 0.1.0
  namespace_watch_limit:
    description: Up to this many namespaces (and clusters), watch each namespace; beyond, one watch per kind with an
      exact label selector.
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Wait for the workers of the batch
  ztp.sno_expand.ztp_install_wait:
    nodes:
      - {cluster: sno-a, host: sno-a-worker-0}
      - {cluster: sno-c, host: sno-c-worker-0, namespace: sno-c}
    timeout: 7200
    stage_timeouts:
      Rebooting: 3600
    fail_fast: false
  register: install

- name: Print the stages
  ansible.builtin.debug:
    msg: "{{ item.time }} {{ item.cluster }}/{{ item.host }} {{ item.object }} {{ item.stage }} {{ item.percentage }}"
  loop: "{{ install.progress }}"
"""

RETURN = r"""
nodes:
  description: Per node, its stages as observed (problems and their recovery included), its state, the hub's cause
    when it is not fine, durations (seconds; null when the stage ended before the wait began) and whether it is ready.
  returned: always
  type: list
  elements: dict
  sample:
    - cluster: sno-a
      host: sno-a-worker-0
      namespace: sno-a
      agent: 5d3a0c0e-0000-4000-8000-000000000000
      stages:
        - {stage: "Agent Writing image to disk", at: "2024-01-01T00:10:00Z", percentage: 40}
        - {stage: "MachineConfigPool worker Updated", at: "2024-01-01T00:40:00Z", percentage: null}
      state: ready
      ready: true
      failed: false
      error: null
      cause: ""
      durations: {image: 40.0, provisioning: 300.0, install: 1800.0, ready: 120.0, mcp: 900.0}
summary:
  description: Counts of ready, failed and pending nodes, elapsed seconds and watch reconnects.
  returned: always
  type: dict
  sample: {total: 2, ready: 2, failed: 0, pending: 0, elapsed: 2400.0, reconnects: 0}
progress:
  description: Every observed change in order (C(time), C(cluster), C(host), C(object), C(stage), C(percentage), and
    C(message) for problems, recoveries and failures).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import run_wait_module
from ansible_collections.ztp.sno_expand.plugins.module_utils import _install_watch as iw


def main():
    run_wait_module(iw)


if __name__ == "__main__":
    main()
