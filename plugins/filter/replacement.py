# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What playbooks/replace_workers.yml does for one cluster: which workers to remove first, which to add again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ztp.sno_expand.plugins.plugin_utils._replacement import ReplacementError, replacement_plan


def ztp_replacement_plan(cluster_text, cluster, replace, workers, cluster_infos=None, path=None, default_template_refs=None):
    """See ``plugin_utils.replacement.replacement_plan``."""
    try:
        return replacement_plan(cluster_text, cluster, replace, workers, cluster_infos, path, default_template_refs)
    except ReplacementError as error:
        raise AnsibleFilterError('ztp_replacement_plan: %s' % error)


class FilterModule(object):
    def filters(self):
        return {'ztp_replacement_plan': ztp_replacement_plan}
