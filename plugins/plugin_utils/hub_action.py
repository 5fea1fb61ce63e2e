# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hub action plugins share: module defaults, argument validation and live progress lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ztp.sno_expand.plugins.module_utils.hub import hub_argument_spec

try:  # ansible-core < 2.19 applies module_defaults to modules only; later cores fold them into the task args
    from ansible.executor.module_common import get_action_args_with_defaults
except ImportError:
    get_action_args_with_defaults = None

display = Display()


class HubActionBase(ActionBase):
    """An action plugin that does a hub module's work in the controller process, so that it can print as it goes."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def hub_params(self, module_args):
        """The task's arguments (with module_defaults, e.g. ``group/ztp.sno_expand.hub``) validated against
        kubernetes.core's auth options plus ``module_args``."""
        if get_action_args_with_defaults is not None:
            self._task.args = get_action_args_with_defaults(
                self._task.resolved_action, self._task.args, self._task.module_defaults, self._templar,
                action_groups=self._task._parent._play._action_groups)
        dummy, params = self.validate_argument_spec(argument_spec=hub_argument_spec(module_args))
        return params

    @staticmethod
    def show(lines):
        for line in lines:
            display.display(line)
