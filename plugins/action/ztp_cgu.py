# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_cgu in the controller process, so that TALM's progress per cluster and policy is printed as it happens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import cgu as cgulib
from ansible_collections.ztp.sno_expand.plugins.module_utils.cgu_runner import CguRunner, module_args, progress_line
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import Hub, HubError
from ansible_collections.ztp.sno_expand.plugins.plugin_utils.hub_action import HubActionBase


class _Outcome(Exception):
    def __init__(self, result):
        super(_Outcome, self).__init__(result.get("msg"))
        self.result = result


class _ModuleAdapter(object):
    """What CguRunner uses of an AnsibleModule."""

    def __init__(self, params, check_mode, diff):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **result):
        raise _Outcome(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise _Outcome(result)


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params = self.hub_params(module_args())
        module = _ModuleAdapter(params, self._task.check_mode, self._task.diff)
        try:
            cgulib.validate_params(params)
            with self.hub_environment(params):
                runner = CguRunner(module, Hub.from_params(params),
                                   on_progress=lambda events: self.show(progress_line(e) for e in events))
                if params["state"] == "absent":
                    runner.run_absent()
                else:
                    runner.run_present()
        except _Outcome as outcome:
            result.update(outcome.result)
        except (ZtpInputError, ZtpInputErrors, HubError) as exc:
            result.update(failed=True, msg=str(exc))
        if module.warnings:
            result.setdefault("warnings", []).extend(module.warnings)
        return result
