# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of ztp_siteconfig_node: the GitOps checkout is on the controller, so the edit runs here,
in the worker process, instead of shipping the module to a Python subprocess (0.3-0.5 s per call)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._siteconfig import apply_node
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _validate as validate


class ActionModule(ActionBase):
    """Run ztp_siteconfig_node on the controller (same options, results and messages as the module)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, params = self.validate_argument_spec(
            argument_spec=validate.module_spec('ztp_siteconfig_node'), required_if=[('state', 'present', ['node']), ('state', 'absent', ['node'])])
        params = yaml_load.plain(params)
        if not yaml_load.HAS_RUAMEL:
            result.update(failed=True, msg=missing_required_lib('ruamel.yaml'), exception=yaml_load.RUAMEL_IMPORT_ERROR)
            return result
        try:
            outcome = apply_node(params['path'], params['cluster'], params['node'], params['state'],
                                 params['default_template_refs'], bool(self._task.check_mode))
        except ZtpInputErrors as exc:
            result.update(failed=True, msg=str(exc), errors=[e.describe() for e in exc.errors])
            return result
        except ZtpInputError as exc:
            result.update(failed=True, msg=str(exc), errors=[exc.describe()])
            return result
        except (yaml_load.YamlEditError, IOError, OSError) as exc:
            result.update(failed=True, msg='%s: %s' % (params['path'], exc))
            return result
        if outcome['warnings']:
            result['warnings'] = list(outcome['warnings'])
        result.update(changed=outcome['changed'], node=outcome['node'], format=outcome['format'])
        if self._task.diff:
            result['diff'] = outcome['diff']
        return result
