# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for CPU sets in the Linux list format (``0-3,8,10-11``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cpuset as cpuset_utils
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import plain


def _call(function, *args):
    try:
        return function(*[plain(arg) for arg in args])
    except (ZtpInputError, ZtpInputErrors) as error:
        raise AnsibleFilterError(str(error))


def cpuset_parse(value):
    """CPU set to a sorted list of CPU numbers."""
    return _call(lambda cpus: cpuset_utils.parse(cpus, "cpuset_parse input"), value)


def cpuset_format(value):
    """CPU set (string or list of CPU numbers) to its canonical string."""
    return _call(lambda cpus: cpuset_utils.format(cpus, "cpuset_format input"), value)


def cpuset_union(value, other):
    """CPUs in either set."""
    return _call(lambda first, second: cpuset_utils.union(first, second, "cpuset_union input"), value, other)


def cpuset_difference(value, other):
    """CPUs of the first set that are not in the second."""
    return _call(lambda first, second: cpuset_utils.difference(first, second, "cpuset_difference input"), value, other)


def cpuset_overlap(value, other):
    """CPUs in both sets (empty string when disjoint)."""
    return _call(lambda first, second: cpuset_utils.overlap(first, second, "cpuset_overlap input"), value, other)


def cpuset_complement(value, cpu_count):
    """CPUs 0 to cpu_count - 1 that are not in the set."""
    return _call(lambda cpus, count: cpuset_utils.complement(cpus, count, "cpuset_complement input"), value, cpu_count)


class FilterModule(object):
    """CPU set filters."""

    def filters(self):
        return {
            "cpuset_parse": cpuset_parse,
            "cpuset_format": cpuset_format,
            "cpuset_union": cpuset_union,
            "cpuset_difference": cpuset_difference,
            "cpuset_complement": cpuset_complement,
            "cpuset_overlap": cpuset_overlap,
        }
