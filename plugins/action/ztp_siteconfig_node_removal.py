# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ztp_siteconfig_node_removal: the GitOps checkout is on the controller, so the edit runs here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.modules.ztp_siteconfig_node_removal import ARGUMENT_SPEC, run


class ActionModule(ActionBase):
    """Run ztp_siteconfig_node_removal on the controller (same options, results and messages as the module)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result.update(run(yaml_load.plain(params), bool(self._task.check_mode), bool(self._task.diff)))
        return result
