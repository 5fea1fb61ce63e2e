# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ztp_policygen_worker: the files are in the GitOps checkout on the controller, so they are
written here, in the worker process, instead of shipping the module to a Python subprocess."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors

ARGUMENT_SPEC = policygen.WORKER_ARGUMENT_SPEC


class ActionModule(ActionBase):
    """Run ztp_policygen_worker on the controller (same options, results and messages as the module)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        params = yaml_load.plain(params)
        if not yaml_load.HAS_RUAMEL:
            result.update(failed=True, msg=missing_required_lib("ruamel.yaml"), exception=yaml_load.RUAMEL_IMPORT_ERROR)
            return result
        try:
            outcome = policygen.write_worker(params, check_mode=bool(self._task.check_mode))
        except (ZtpInputError, ZtpInputErrors) as error:
            result.update(failed=True, msg=str(error), changed=False)
            return result
        result.update(outcome)
        return result
