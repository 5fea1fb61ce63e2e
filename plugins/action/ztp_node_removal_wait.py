# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_node_removal_wait in the controller process, so that each change is printed as it happens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import _node_removal as nr
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase


def _line(row):
    return "%s/%s %s: %s" % (row["cluster"], row["host"], row["state"], row["message"])


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        del tmp
        return self.run_hub(task_vars, nr.module_args, nr.check_params, self.wait)

    def wait(self, params, nodes):
        return nr.run_wait(Hub.from_params(params), nodes, params, check_mode=self._task.check_mode,
                           on_change=lambda row: self.show([_line(row)]))
