# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_install_wait in the controller process, so that each stage change is printed as it happens.

A module can only report when it ends; a wait for worker installs takes an hour on a real hub, and the user
wants to see the BareMetalHost states and Agent stages (with their percentage) as they change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import _install_watch as iw
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub, HubError
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params = self.hub_params(iw.module_args())
        try:
            nodes = iw.check_params(params)
            with self.hub_environment(params):
                outcome = iw.run_wait(Hub.from_params(params), nodes, params, check_mode=self._task.check_mode,
                                      on_events=lambda events: self.show(iw.progress_line(e) for e in events))
        except (ZtpInputError, ZtpInputErrors, HubError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(outcome)
        return result
