# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_install_wait in the controller process, so that each stage change is printed as it happens.

A module can only report when it ends; a wait for worker installs takes an hour on a real hub, and the user
wants to see the BareMetalHost states and Agent stages (with their percentage) as they change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ztp.sno_expand.plugins.module_utils import install_watch as iw
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import Hub, HubError, hub_argument_spec

try:  # ansible-core < 2.19 applies module_defaults to modules only; later cores fold them into the task args
    from ansible.executor.module_common import get_action_args_with_defaults
except ImportError:
    get_action_args_with_defaults = None

display = Display()


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
        dummy, params = self.validate_argument_spec(argument_spec=hub_argument_spec(iw.module_args()))
        try:
            nodes = iw.check_params(params)
            outcome = iw.run_wait(Hub.from_params(params), nodes, params, check_mode=self._task.check_mode,
                                  on_events=self._show)
        except (ZtpInputError, ZtpInputErrors, HubError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(outcome)
        return result

    @staticmethod
    def _show(events):
        for event in events:
            display.display(iw.progress_line(event))
