# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that fold per-cluster requests and hub objects into batch-wide values for the roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.ztp.sno_expand.plugins.module_utils.yaml_edit import plain as _plain


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


def ztp_selector_plan(requests, findings):
    """Per-cluster requests + the selector findings of the batch -> what the selector phase does.

    ``findings`` maps each cluster to the result of ztp_daemon_selectors_info for it (``needs_override``).
    Returns ``stops`` (clusters pinned to master without the disruption opt-in, with what is pinned; they stop
    and are left out of the rest), ``edits`` (see ztp_selector_edits), ``clusters`` to remediate and the group
    ``policies`` to remediate them with."""
    findings = _plain(findings or {})
    requests = _plain(requests)
    stops, needing = {}, []
    for request in requests:
        cluster = request.get('cluster')
        if cluster not in findings:
            raise AnsibleFilterError("ztp_selector_plan: no selector findings for cluster %r; read them with "
                                     "ztp.sno_expand.ztp_daemon_selectors_info first" % (cluster,))
        needs = findings[cluster].get('needs_override') or {}
        pinned = [name for key, name in (('ptp', 'the PTP daemons (PtpOperatorConfig)'),
                                         ('sriov', 'the SR-IOV config daemon (SriovOperatorConfig)')) if needs.get(key)]
        if not pinned:
            continue
        if not request.get('allow_disruption'):
            stops[cluster] = pinned
            continue
        needing.append(dict(request, needs={'ptp': bool(needs.get('ptp')), 'sriov': bool(needs.get('sriov'))}))
    policies = []
    for request in needing:
        policies.extend(p for p in request.get('policies') or [] if p not in policies)
    return {
        'stops': stops,
        'edits': ztp_selector_edits(needing),
        'clusters': [r['cluster'] for r in needing],
        'policies': policies,
    }


def ztp_bmc_secrets(workers, cluster, credentials=None, username='', password=''):
    """Worker entries of one cluster -> the BMC credentials Secrets for them (per-host credentials first, else the
    shared username and password). Workers without credentials are left out: check them with an assert first."""
    credentials = _plain(credentials or {})
    secrets = []
    for worker in _plain(workers or []):
        own = credentials.get(worker.get('hostName')) or ({'username': username, 'password': password} if username and password else None)
        name = (worker.get('bmcCredentialsName') or {}).get('name')
        if not own or not name:
            continue
        secrets.append({
            'apiVersion': 'v1', 'kind': 'Secret', 'type': 'Opaque',
            'metadata': {'name': name, 'namespace': cluster, 'labels': {'app.kubernetes.io/managed-by': 'ztp.sno_expand'}},
            'data': {key: base64.b64encode(to_bytes(own[key], errors='surrogate_or_strict')).decode('ascii') for key in ('username', 'password')},
        })
    return secrets


def ztp_policy_compliance(policies, cluster=None):
    """Root Policy objects -> {policy name: compliance of ``cluster``} (Compliant, NonCompliant, Pending, or NotBound);
    without ``cluster``, {cluster: {policy name: compliance}} for every cluster the policies report on.

    Reads only the names and ``status.status`` of the policies (their templates can be large): the table of a
    whole batch is one pass, so compute it once per batch rather than once per host."""
    names, table = [], {}
    for policy in policies or []:
        name = str((policy.get('metadata') or {}).get('name'))
        names.append(name)
        for entry in ((policy.get('status') or {}).get('status') or []):
            table.setdefault(str(entry.get('clustername')), {})[name] = str(entry.get('compliant') or 'Pending')
    if cluster is None:
        return table
    mine = table.get(str(cluster), {})
    return dict((name, mine.get(name, 'NotBound')) for name in names)


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


def _cluster_part(result, cluster):
    """The entry of ``cluster`` in a registered ztp_gitops_batch result (empty when the phase did not run)."""
    return _plain(((result or {}).get('clusters') or {}).get(cluster) or {})


def ztp_cluster_summary(host_vars):
    """hostvars of one cluster -> what the phases did for it and the state of each worker.

    Reads the per-cluster requests the phase roles set and the batch results they register (run once, shared by
    every host of the batch)."""
    selectors = _plain(host_vars.get('selector_checks_request') or {})
    plan = _plain(host_vars.get('selector_checks_plan') or {})
    nodes = _plain(host_vars.get('node_addition_request') or {})
    cluster = (_plain(host_vars.get('policy_creation_request') or {}).get('cluster') or nodes.get('cluster')
               or selectors.get('cluster') or str(host_vars.get('inventory_hostname')))
    policies = _cluster_part(host_vars.get('policy_creation_written'), cluster)
    added = _cluster_part(host_vars.get('node_addition_nodes'), cluster)
    edited = [r.get('item', {}).get('path') for r in _plain((host_vars.get('selector_checks_edits') or {}).get('results') or [])
              if r.get('changed')]
    installed = [_plain(n) for n in (host_vars.get('install_verification_result') or {}).get('nodes') or []
                 if n.get('cluster') == cluster]
    return {
        'cluster': cluster,
        'selector_overrides_written': cluster in (plan.get('clusters') or []) and selectors.get('group_policy_path') in edited,
        'worker_policies': policies.get('policies') or [],
        'worker_policy_file_changed': bool(policies.get('paths')),
        'cluster_file_changed': bool(added.get('paths')),
        'workers': [ztp_node_summary(node) for node in installed] or [{'host': h, 'state': 'not verified'} for h in nodes.get('hosts') or []],
    }


def ztp_batch_summary(nodes):
    """install_wait nodes of a batch -> {cluster: [node summary, ...]}, the shape handed to AWX with set_stats."""
    summary = {}
    for node in _plain(nodes):
        summary.setdefault(node.get('cluster'), []).append(ztp_node_summary(node))
    return summary


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
            'ztp_selector_plan': ztp_selector_plan,
            'ztp_bmc_secrets': ztp_bmc_secrets,
            'ztp_batch_summary': ztp_batch_summary,
        }
