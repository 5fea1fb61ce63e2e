# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_policy_compliance_info in the controller process: the hub's answer is cut to names and compliance before it
becomes a task result, so a fleet's Policies never travel through a module's output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policy_compliance as pc
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        del tmp
        return self.run_hub(task_vars, pc.module_args, pc.check_params,
                            lambda params, dummy: dict(pc.read(Hub.from_params(params), params), changed=False))
