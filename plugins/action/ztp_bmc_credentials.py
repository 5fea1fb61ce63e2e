# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_bmc_credentials in the controller process: the batch's Secrets are written and its hosts waited for in one
task, each verdict printed as it happens; with ``hosts`` the entries come from each inventory host's bmc_rotation
role variables (read as the role's own tasks would see them, through the batch layer's variable reader)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.template import Templar

from ansible_collections.ztp.sno_expand.plugins.module_utils import _bmc_rotation as br
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub, HubError
from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import plain
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._batch import BatchVars
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase

PHASE = "bmc_rotation"
# request field -> (role variable, spec); the role's defaults map them to the ztp_* inventory variables
REQUEST_VARS = {
    "cluster": ("bmc_rotation_cluster", dict(type="str", required=True)),
    "namespace": ("bmc_rotation_namespace", dict(type="str")),
    "nodes": ("bmc_rotation_nodes", dict(type="list", elements="dict", default=[])),
    "username": ("bmc_rotation_username", dict(type="str", default="")),
    "password": ("bmc_rotation_password", dict(type="str", default="", no_log=True)),
    "credentials": ("bmc_rotation_credentials", dict(type="dict", default={}, no_log=True)),
}
SECRET_FIELDS = ("password", "credentials")


def read_requests(action, task_vars, hosts):
    """``(entries, invalid)``: the credential entries of every host of ``hosts``, and per host why it has none."""
    reader = BatchVars(action, task_vars)
    validator = ArgumentSpecValidator(dict((field, spec) for field, (dummy, spec) in REQUEST_VARS.items()))
    entries, invalid = [], {}
    for host in hosts:
        variables = reader.host_vars(host, PHASE)
        templar = Templar(loader=action._loader, variables=variables)
        raw, problems = {}, []
        for field, (var, dummy) in REQUEST_VARS.items():
            if var not in variables:
                continue
            try:
                raw[field] = plain(templar.template(variables[var]))
            except Exception as exc:  # pylint: disable=broad-except
                # a template error quotes the template, which may be the secret itself
                problems.append("%s: cannot be templated (%s)" % (var, exc.__class__.__name__ if field in SECRET_FIELDS else exc))
        checked = validator.validate(dict((k, v) for k, v in raw.items() if v is not None))
        problems.extend(checked.error_messages)
        if problems:
            invalid[host] = "%s: %s" % (raw.get("cluster") or host, "; ".join(problems))
            continue
        request = dict(checked.validated_parameters)
        request["host"] = host
        mine, problems = br.entries_from_request(request)
        if problems:
            invalid[host] = "; ".join(problems)
            continue
        entries.extend(mine)
    return entries, invalid


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params = self.hub_params(br.module_args())
        invalid = {}
        try:
            if params.get("hosts"):
                entries, invalid = read_requests(self, task_vars or {}, params["hosts"])
                params["credentials"] = list(params.get("credentials") or []) + entries
            entries = br.check_params(params)
            if entries:
                with self.hub_environment(params):
                    outcome = br.run_rotation(Hub.from_params(params), entries, params, check_mode=bool(self._task.check_mode),
                                              on_event=self.show)
            else:
                outcome = br.summarise([], False, [], [], 0.0)
        except (ZtpInputError, ZtpInputErrors, HubError) as exc:
            result.update(failed=True, msg=str(exc), invalid=invalid)
            return result
        if not self._task.diff:
            outcome.pop("diff", None)
        outcome["invalid"] = invalid
        outcome["verdicts"] = verdicts(params.get("hosts") or [], outcome, invalid)
        if invalid:
            outcome["msg"] = "; ".join(([outcome["msg"]] if outcome.get("msg") else []) + list(invalid.values()))
        result.update(outcome)
        if params["fail_on_error"] and (outcome.get("msg") or invalid):
            result["failed"] = True
        return result


def verdicts(hosts, outcome, invalid):
    """Per inventory host: ``{ok, msg, cluster, rotated}`` (hosts without entries are judged from ``invalid``);
    ``rotated`` the BareMetalHosts that use the new credentials (or have them stored, detached)."""
    out = {}
    for cluster, record in (outcome.get("clusters") or {}).items():
        host = record.get("inventory_host")
        if host:
            rotated = [h.get("bmh") for h in outcome.get("hosts") or [] if h.get("cluster") == cluster and h.get("ok")]
            out[host] = {"ok": record["ok"], "msg": record["msg"], "cluster": cluster, "rotated": rotated}
    for host in hosts:
        if host in invalid:
            out[host] = {"ok": False, "msg": invalid[host], "cluster": None}
        out.setdefault(host, {"ok": True, "msg": "", "cluster": None})
    return out
