#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ztp_bmc_credentials
short_description: Rotate the BMC credentials of BareMetalHosts on the hub and verify that the operator uses them
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - Writes the BMC credentials Secret of each given BareMetalHost on the hub (never in Git), one write per Secret for the
    whole batch, then waits in one poll loop until the baremetal-operator has registered every host with them, that is
    until the host's C(status.goodCredentials) names the Secret at its current C(resourceVersion) (the operator's
    C(CredentialsStatus.Match)).
  - The Secret named by O(credentials[].secret), else by the host's C(spec.bmc.credentialsName), is patched (its data
    only, so that the operator's label C(environment.metal3.io), owner references and finalizer stay); a missing Secret
    is created.
  - A host that has not even tried the new version (C(status.triedCredentials)) after O(ignore_timeout) seconds is
    taken as ignoring the Secret change, a known baremetal-operator problem (metal3-io/baremetal-operator issue 1346,
    fixed by commit 232b7f07). With O(remedy) the module then annotates the host
    (C(ztp-sno-expand/bmc-credentials-refresh)); an annotation change always reconciles a host, and the reconcile
    claims the Secret again and re-registers the host with it. The host is then waited for again.
  - A host whose BMC refuses the credentials (C(operationalStatus) C(error), C(errorType) C(registration error) on the
    version tried) is reported with the operator's message and what to do.
  - A detached host (annotation C(baremetalhost.metal3.io/detached), which assisted-service sets on installed ZTP
    nodes) is not registered by the operator at all; its Secret is written and its verdict is C(detached), verified
    only once the host is attached again.
  - A second run with the same credentials writes nothing and, when every host's C(goodCredentials) matches already,
    does not wait (C(changed) false).
  - Runs in the controller process (action plugin) and prints each verdict as it happens. Hub credentials resolve as
    for kubernetes.core modules, from the options (and C(module_defaults)), then the E(K8S_AUTH_*) variables of the
    task's and play's C(environment) keyword and of the controller.
  - In check mode nothing is written; each host is reported as C(would-change) or with its current verdict.
extends_documentation_fragment:
  - ztp.sno_expand.hub_auth
options:
  credentials:
    description: The hosts and their new credentials.
    type: list
    elements: dict
    default: []
    suboptions:
      cluster:
        description: Name of the managed cluster.
        type: str
        required: true
      namespace:
        description: Hub namespace of the BareMetalHost and its Secret; the cluster name when not set.
        type: str
      bmh:
        description: Name of the BareMetalHost; O(credentials[].host) when not set.
        type: str
      host:
        description: The node's hostName (the BareMetalHost of a ZTP node is named after it).
        type: str
      secret:
        description: The BMC Secret; the host's C(spec.bmc.credentialsName) when not set (a different name is an error).
        type: str
      username:
        description: The BMC user.
        type: str
        required: true
      password:
        description: The new BMC password (never shown or returned).
        type: str
        required: true
      inventory_host:
        description: The inventory host of the cluster, for RV(verdicts).
        type: str
  hosts:
    description:
      - Inventory hosts (usually C(ansible_play_batch)) whose C(bmc_rotation_*) role variables give more entries, read as
        the tasks of the M(ztp.sno_expand.bmc_rotation) role would see them (one entry per node of
        C(bmc_rotation_nodes)). Needs the action plugin, which always runs this module.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the whole batch.
    type: int
    default: 600
  ignore_timeout:
    description: Seconds after the Secret write (and after the remedy) before a host that has not tried the new version
      counts as ignoring the change.
    type: int
    default: 120
  remedy:
    description: Annotate a host that ignores the Secret change, so that the operator reconciles it, and wait again.
    type: bool
    default: true
  poll_interval:
    description: Seconds between two reads of the batch's BareMetalHosts (one list per namespace) and Secrets.
    type: float
    default: 5.0
  fail_on_error:
    description: Fail the task when a host is not verified; with C(false) the verdicts are returned for the caller to
      judge (the role fails each cluster on its own).
    type: bool
    default: true
attributes:
  check_mode:
    description: Reports what would be written, writes nothing.
    support: full
  diff_mode:
    description: Shows which Secrets and keys change, never a value.
    support: full
"""

EXAMPLES = r"""
- name: Rotate the BMC password of two hosts
  ztp.sno_expand.ztp_bmc_credentials:
    credentials:
      - {cluster: sno-a, host: sno-a.ran.example.com, username: admin, password: "{{ vault_bmc_password }}"}
      - {cluster: sno-a, host: sno-a-worker-0.ran.example.com, username: admin, password: "{{ vault_bmc_password }}"}
    timeout: 900
  no_log: true
  register: rotation

- name: Rotate from the inventory, for the hosts of the batch
  ztp.sno_expand.ztp_bmc_credentials:
    hosts: "{{ ansible_play_batch }}"
    fail_on_error: false
  run_once: true
  register: rotation
"""

RETURN = r"""
hosts:
  description: Per host, C(cluster), C(namespace), C(bmh), C(host), C(secret), C(secret_changed), C(secret_created),
    C(verdict) (C(verified), C(detached), C(rejected), C(ignored), C(pending), C(missing), C(would-change)), C(ok),
    C(remedy_applied), C(message), C(fix), C(credentials_version) (the host's goodCredentials version) and C(seconds).
  returned: always
  type: list
  elements: dict
  sample:
    - cluster: sno-a
      namespace: sno-a
      bmh: sno-a-worker-0.ran.example.com
      host: sno-a-worker-0.ran.example.com
      secret: sno-a-worker-0-bmc-secret
      secret_changed: true
      secret_created: false
      verdict: verified
      ok: true
      remedy_applied: false
      message: BareMetalHost sno-a/sno-a-worker-0.ran.example.com uses Secret sno-a/sno-a-worker-0-bmc-secret version 4711
      fix: ""
      credentials_version: "4711"
      seconds: 21.5
clusters:
  description: Per cluster, C(ok), C(msg) (each failed host with its message and fix), C(hosts) and C(inventory_host).
  returned: always
  type: dict
verdicts:
  description: Per inventory host (from O(credentials[].inventory_host) and O(hosts)), C(ok), C(msg) and C(cluster).
  returned: always
  type: dict
invalid:
  description: Per inventory host of O(hosts), why its variables give no entries.
  returned: always
  type: dict
summary:
  description: C(total), C(failed), the count of each verdict, and the seconds the task took.
  returned: always
  type: dict
  sample: {total: 2, failed: 0, verdicts: {verified: 1, detached: 1}, elapsed: 24.0}
progress:
  description: Every verdict change and remedy, in order, one line each.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.ztp.sno_expand.plugins.module_utils import _bmc_rotation as br
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub, HubError, hub_argument_spec, hub_module


def main():
    module = hub_module(hub_argument_spec(br.module_args()), supports_check_mode=True)
    if module.params.get("hosts"):
        module.fail_json(msg="hosts needs the action plugin ztp.sno_expand.ztp_bmc_credentials (run this module as a task)")
    try:
        entries = br.check_params(module.params)
        if entries:
            result = br.run_rotation(Hub.from_module(module), entries, module.params, module.check_mode)
        else:
            result = br.summarise([], False, [], [], 0.0)
    except (ZtpInputError, ZtpInputErrors, HubError) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    result["invalid"] = {}
    result["verdicts"] = {}
    if module.params["fail_on_error"] and result.get("msg"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
