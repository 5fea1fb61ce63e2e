# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over hub objects and install results, for plays of the user's own (the roles use the batch layer)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ztp.sno_expand.plugins.module_utils import _compliance
from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import plain
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _batch as batch


def ztp_policy_compliance(policies, cluster=None):
    """Root Policy objects -> {policy name: compliance of ``cluster``} (Compliant, NonCompliant, Pending, or NotBound);
    without ``cluster``, {cluster: {policy name: compliance}} for every cluster the policies report on."""
    if _compliance.FIELDS is None:
        raise AnsibleFilterError("ztp_policy_compliance needs the Python package jmespath (pip install jmespath)")
    selected, table = _compliance.select(plain(policies or []))
    if cluster is None:
        return table
    mine = table.get(str(cluster), {})
    return dict((policy["name"], mine.get(policy["name"], "NotBound")) for policy in selected)


def ztp_node_summary(node):
    """One ztp_install_wait node result -> cluster, host, state, ready, cause and seconds per stage."""
    return batch.node_summary(plain(node))


class FilterModule(object):
    def filters(self):
        return {
            'ztp_policy_compliance': ztp_policy_compliance,
            'ztp_node_summary': ztp_node_summary,
        }
