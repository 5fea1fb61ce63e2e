# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_cgu in the controller process, so that TALM's progress per cluster and policy is printed as it happens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ztp.sno_expand.plugins.module_utils import cgu as cgulib
from ansible_collections.ztp.sno_expand.plugins.module_utils.cgu_runner import CguRunner, module_args, progress_line
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import Hub, HubError, hub_argument_spec

try:  # ansible-core < 2.19 applies module_defaults to modules only; later cores fold them into the task args
    from ansible.executor.module_common import get_action_args_with_defaults
except ImportError:
    get_action_args_with_defaults = None

display = Display()


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


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        if get_action_args_with_defaults is not None:
            self._task.args = get_action_args_with_defaults(
                self._task.resolved_action, self._task.args, self._task.module_defaults, self._templar,
                action_groups=self._task._parent._play._action_groups)
        dummy, params = self.validate_argument_spec(argument_spec=hub_argument_spec(module_args()))
        module = _ModuleAdapter(params, self._task.check_mode, self._task.diff)
        try:
            cgulib.validate_params(params)
            runner = CguRunner(module, Hub.from_params(params), on_progress=self._show)
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

    @staticmethod
    def _show(events):
        for event in events:
            display.display(progress_line(event))
