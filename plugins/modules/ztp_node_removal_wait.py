#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_node_removal_wait
short_description: Wait for the hub to act on a step of the removal of worker nodes
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - With O(until=annotated), waits until the C(BareMetalHost) of every given worker carries the annotation
    C(bmac.agent-install.openshift.io/remove-agent-and-node-on-delete) C("true") (rendered by ArgoCD from SiteConfig
    C(crAnnotations) or ClusterInstance C(extraAnnotations)). A worker without a BareMetalHost counts as done.
  - With O(until=removed), waits until the BareMetalHost is deleted (deprovisioned by metal3), the C(Agent) labelled
    C(agent-install.openshift.io/bmh=<host>) is gone (deleted by BMAC because of the annotation) and
    C(ManagedClusterInfo/<cluster>) no longer lists the node.
  - A BareMetalHost whose deletion has lasted O(stuck_timeout) seconds, or whose ClusterInstance the siteconfig
    operator has paused (annotation C(clusterinstance.siteconfig.open-cluster-management.io/paused), set when a pruned
    object is not deleted within 30 minutes), is reported as hung, naming the object, its state, finalizers and error,
    and the fix. Nothing is ever removed or forced by this module.
  - Runs in the controller process (action plugin) and prints each change as it happens.
  - In check mode the state of every node is read once and reported without waiting.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  nodes:
    description:
      - The worker nodes, each a mapping with C(cluster) (the managed cluster), C(host) or C(hostName) (the name of the
        worker's BareMetalHost and spoke Node) and optionally C(namespace) (of the BareMetalHost and Agent; defaults to
        the cluster name). Other keys are ignored, so the RV(ztp.sno_expand.ztp_siteconfig_node_removal#module:nodes)
        of M(ztp.sno_expand.ztp_siteconfig_node_removal) can be given as they are.
    type: list
    elements: dict
    required: true
  until:
    description: What to wait for.
    type: str
    required: true
    choices: [annotated, removed]
  timeout:
    description: Seconds to wait in all.
    type: int
    default: 3600
  stuck_timeout:
    description: Seconds a BareMetalHost may stay in deletion before it is reported as hung.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between two reads of the hub.
    type: float
    default: 5.0
attributes:
  check_mode:
    support: full
    description: Reads the state once without waiting.
  diff_mode:
    support: none
    description: Nothing is changed.
"""

EXAMPLES = r"""
- name: Wait until the workers are gone from the hub
  ztp.sno_expand.ztp_node_removal_wait:
    nodes:
      - cluster: sno-b
        host: sno-b-worker-0.example.com
    until: removed
"""

RETURN = r"""
nodes:
  description: Per node its final state (C(done), C(hung), C(timeout), or C(pending) in check mode), a message and the
    BareMetalHost's provisioning state.
  returned: always
  type: list
  elements: dict
  sample: [{"cluster": "sno-b", "host": "w0", "namespace": "sno-b", "state": "done", "message": "...", "bmh_state": null}]
summary:
  description: Counts of nodes per state.
  returned: always
  type: dict
elapsed:
  description: Seconds waited.
  returned: always
  type: float
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import run_wait_module
from ansible_collections.ztp.sno_expand.plugins.module_utils import _node_removal as nr


def main():
    run_wait_module(nr)


if __name__ == "__main__":
    main()
