# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that fold per-cluster requests and hub objects into batch-wide values for the roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _plain(value):
    """Copy Ansible's lazy/tagged containers into plain Python values."""
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def ztp_batch_nodes(requests):
    """[{cluster, hosts: [...]}, ...] -> [{cluster, host}, ...] in batch order."""
    nodes = []
    for request in _plain(requests):
        if not isinstance(request, dict) or 'cluster' not in request:
            raise AnsibleFilterError("ztp_batch_nodes: each request needs a 'cluster' and a 'hosts' list, got %r" % (request,))
        for host in request.get('hosts') or []:
            nodes.append({'cluster': request['cluster'], 'host': host})
    return nodes


def ztp_selector_edits(requests):
    """Per-cluster selector findings -> one edit per group template: ``{path, ptp, sriov}`` (what any cluster needs)."""
    edits = {}
    for request in _plain(requests):
        needs = request.get('needs') or {}
        if not (needs.get('ptp') or needs.get('sriov')):
            continue
        path = request.get('group_policy_path')
        if not path:
            raise AnsibleFilterError("ztp_selector_edits: cluster %r needs a selector override but has no group_policy_path"
                                     % request.get('cluster'))
        edit = edits.setdefault(path, {'path': path, 'ptp': False, 'sriov': False})
        edit['ptp'] = edit['ptp'] or bool(needs.get('ptp'))
        edit['sriov'] = edit['sriov'] or bool(needs.get('sriov'))
    return [edits[path] for path in sorted(edits)]


def ztp_policy_compliance(policies, cluster):
    """Root Policy objects -> {policy name: compliance of ``cluster``} (Compliant, NonCompliant, Pending, or missing)."""
    result = {}
    for policy in _plain(policies):
        name = (policy.get('metadata') or {}).get('name')
        for entry in ((policy.get('status') or {}).get('status') or []):
            if entry.get('clustername') == cluster:
                result[name] = entry.get('compliant') or 'Pending'
        result.setdefault(name, 'NotBound')
    return result


def ztp_node_summary(node):
    """One install_wait node result -> a compact summary: cluster, host, state, ready and seconds per stage."""
    node = _plain(node)
    return {
        'cluster': node.get('cluster'),
        'host': node.get('host'),
        'state': node.get('state'),
        'ready': bool(node.get('ready')),
        'seconds': node.get('durations') or {},
    }


def ztp_cluster_summary(host_vars):
    """hostvars of one cluster -> what the phases did for it and the state of each worker."""
    selectors = _plain(host_vars.get('selector_checks_request') or {})
    policies = _plain(host_vars.get('policy_creation_request') or {})
    nodes = _plain(host_vars.get('node_addition_request') or {})
    installed = _plain(host_vars.get('install_verification_nodes') or [])
    return {
        'cluster': policies.get('cluster') or nodes.get('cluster') or host_vars.get('inventory_hostname'),
        'selector_overrides_written': bool(selectors.get('paths')),
        'worker_policies': policies.get('worker_policies') or [],
        'worker_policy_file_changed': bool(policies.get('paths')),
        'cluster_file_changed': bool(nodes.get('paths')),
        'workers': [ztp_node_summary(node) for node in installed] or [{'host': h, 'state': 'not verified'} for h in nodes.get('hosts') or []],
    }


def ztp_node_problems(nodes, batch_message=''):
    """install_wait nodes that are not ready -> one line each: its own error, or where it stood when the wait ended."""
    lines = []
    for node in _plain(nodes):
        where = '%s/%s' % (node.get('cluster'), node.get('host'))
        if node.get('error'):
            lines.append('%s: %s' % (where, node['error']))
        else:
            lines.append("%s: not ready, last state '%s'%s" % (where, node.get('state'), ' (%s)' % batch_message if batch_message else ''))
    return lines


class FilterModule(object):
    def filters(self):
        return {
            'ztp_batch_nodes': ztp_batch_nodes,
            'ztp_policy_compliance': ztp_policy_compliance,
            'ztp_node_summary': ztp_node_summary,
            'ztp_cluster_summary': ztp_cluster_summary,
            'ztp_node_problems': ztp_node_problems,
            'ztp_selector_edits': ztp_selector_edits,
        }
