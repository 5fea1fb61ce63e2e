# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hub action plugins share: module defaults, argument validation, the task's environment and live
progress lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from contextlib import contextmanager

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError, error_result
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import hub_argument_spec

try:  # ansible-core < 2.19 applies module_defaults to modules only; later cores fold them into the task args
    from ansible.executor.module_common import get_action_args_with_defaults
except ImportError:
    get_action_args_with_defaults = None

display = Display()


class HubActionBase(ActionBase):
    """An action plugin that does a hub module's work in the controller process, so that it can print as it goes.

    A module sees the task's and play's ``environment:`` keyword in its process environment; code in the
    controller process does not. ``hub_environment`` applies that environment while the hub client is made and
    used, so that ``K8S_AUTH_*`` (and ``KUBECONFIG``) resolve exactly as they do for kubernetes.core modules."""

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

    def run_hub(self, task_vars, module_args, check_params, work):
        """The whole run of a hub action: the task's arguments validated against ``module_args()``, then
        ``check_params(params)``, then ``work(params, checked)`` (``checked``: what ``check_params`` returned) with
        the task's environment applied, so that ``Hub.from_params(params)`` there reaches the hub the play names.
        ``work`` returns the result's fields; a ZtpError becomes a failed result."""
        result = super(HubActionBase, self).run(None, task_vars)
        params = self.hub_params(module_args())
        try:
            checked = check_params(params)
            with self.hub_environment(params):
                result.update(work(params, checked))
        except ZtpError as exc:
            result.update(error_result(exc))
        return result

    def task_environment(self):
        """The task's ``environment:`` (play, block and task levels merged, templated), as a module gets it."""
        merged = {}
        environments = self._task.environment
        if environments is None:
            return merged
        if not isinstance(environments, list):
            environments = [environments]
        for environment in environments:
            if not environment:
                continue
            value = self._templar.template(environment)
            if not isinstance(value, dict):
                raise AnsibleActionFail("environment must be a dictionary, received %s (%s)" % (value, type(value)))
            merged.update(value)
        return dict((str(key), str(value)) for key, value in merged.items())

    @contextmanager
    def hub_environment(self, params):
        """Run the block with the task's environment in ``os.environ``; a ``KUBECONFIG`` given there becomes the
        ``kubeconfig`` option when nothing else names one (the kubernetes client reads ``KUBECONFIG`` only
        when it is first imported)."""
        environment = self.task_environment()
        if (environment.get("KUBECONFIG") and params.get("kubeconfig") is None
                and not environment.get("K8S_AUTH_KUBECONFIG", os.environ.get("K8S_AUTH_KUBECONFIG"))):
            params["kubeconfig"] = environment["KUBECONFIG"]
        saved = dict((key, os.environ.get(key)) for key in environment)
        os.environ.update(environment)
        try:
            yield params
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @staticmethod
    def show(lines):
        for line in lines:
            display.display(line)
