# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_argocd_sync in the controller process, so that each Application's state is printed as it changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import _argocd as argocd
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import Hub
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._hub_action import HubActionBase


class ActionModule(HubActionBase):

    def run(self, tmp=None, task_vars=None):
        del tmp
        return self.run_hub(task_vars, argocd.module_args, argocd.check_params, self.wait)

    def wait(self, params, dummy):
        outcome = argocd.run(argocd.LazyHub(lambda: Hub.from_params(params)), params,
                             argocd.revision_checker(params["revision"], params["repo_dir"]),
                             check_mode=self._task.check_mode,
                             on_progress=lambda events: self.show(argocd.progress_line(e) for e in events))
        return dict(outcome, changed=False)
