# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_cgu in the controller process, so that TALM's progress per cluster and policy is printed as it happens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cgu_runner as cgu_runner
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        del tmp
        return self.run_hub(task_vars, cgu_runner.module_args, cgu_runner.validate, self.remediate)

    def remediate(self, params, dummy):
        return cgu_runner.run(params, Hub.from_params(params), self._task.check_mode, self._task.diff,
                              on_progress=lambda events: self.show(cgu_runner.progress_line(e) for e in events))
