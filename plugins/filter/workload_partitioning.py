# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for the workload-partitioning file contents and their data URLs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ztp.sno_expand.plugins.module_utils import _workload_partitioning as wp
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import plain


def _call(function, *args):
    try:
        return function(*[plain(arg) for arg in args])
    except (ZtpInputError, ZtpInputErrors) as error:
        raise AnsibleFilterError(str(error))


def ztp_crio_workload_conf(value):
    """CRI-O workload-partitioning drop-in for the reserved CPU set."""
    return _call(lambda cpus: wp.crio_conf(cpus, "ztp_crio_workload_conf input"), value)


def ztp_workload_pinning(value):
    """Kubelet openshift-workload-pinning JSON for the reserved CPU set."""
    return _call(lambda cpus: wp.kubelet_pinning(cpus, "ztp_workload_pinning input"), value)


def ztp_data_url(value):
    """base64 data URL of a text."""
    return _call(wp.data_url, value)


class FilterModule(object):
    """Workload-partitioning filters."""

    def filters(self):
        return {
            "ztp_crio_workload_conf": ztp_crio_workload_conf,
            "ztp_workload_pinning": ztp_workload_pinning,
            "ztp_data_url": ztp_data_url,
        }
