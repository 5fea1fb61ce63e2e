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
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        del tmp
        return self.run_hub(task_vars, iw.module_args, iw.check_params, self.wait)

    def wait(self, params, nodes):
        return iw.run_wait(Hub.from_params(params), nodes, params, check_mode=self._task.check_mode,
                           on_events=lambda events: self.show(iw.progress_line(e) for e in events))
