# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replacement of failed workers of one cluster: which workers to remove first, which to add again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils import _siteconfig as siteconfig

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors


# Recorded on the BareMetalHost of a reinstalled worker (in its node entry), as the siteconfig operator records
# spec.reinstall.generation for a cluster: a rerun with the same generation finds the reinstall done.
REINSTALL_ANNOTATION = 'ztp.sno-expand/reinstall-generation'


def recorded_generation(node, fmt):
    """The reinstall generation recorded in a node entry, or None."""
    value = node if isinstance(node, dict) else {}
    for key in (('extraAnnotations', 'BareMetalHost') if fmt == siteconfig.FORMAT_CLUSTERINSTANCE
                else ('crAnnotations', 'add', 'BareMetalHost')):
        value = value.get(key) if isinstance(value, dict) else None
    return str(value[REINSTALL_ANNOTATION]) if isinstance(value, dict) and REINSTALL_ANNOTATION in value else None


class ReplacementError(Exception):
    """The cluster file cannot be read as the cluster's SiteConfig or ClusterInstance."""


def _mac(node):
    mac = node.get('bootMACAddress') if isinstance(node, dict) else None
    return mac.lower() if isinstance(mac, str) else mac


def replacement_plan(cluster_text, cluster, replace, workers, cluster_infos=None, path=None, default_template_refs=None,
                     generation=None):
    """The replacement of the workers ``replace`` (host names) of ``cluster``, from its file in Git (``cluster_text``),
    its new worker entries (``workers``) and the hub's ManagedClusterInfo objects (``cluster_infos``).

    Returns ``{remove, add, replaced, errors}``: ``remove`` the workers whose entry in Git has another bootMACAddress
    than the new entry (the failed hardware), ``add`` every worker to write again (the new entry), ``replaced`` those
    whose entry in Git has the new bootMACAddress and whose node is Ready (done by an earlier run: nothing is removed),
    ``errors`` one message per worker that cannot be replaced (the run writes nothing for the cluster).
    A worker no longer in Git (removed by a run that failed before the addition) is only added.

    With a reinstall ``generation``, the workers are reinstalled on the same hardware (the new entry may have the
    bootMACAddress in Git): a worker is removed and added again unless its entry in Git records this generation
    (``REINSTALL_ANNOTATION``); then it is ``replaced`` when its node is Ready, else only added (its install goes on)."""
    # the hub client's module_utils (kubernetes.core) only when the filter runs: its documentation loads without them
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _install_watch as install_watch  # pylint: disable=import-outside-toplevel
    where = path or 'cluster %s' % cluster
    try:
        docs = yaml_load.load_documents(cluster_text or '')
        ref = siteconfig.find_cluster(docs, cluster, where)
    except (ZtpInputError, ZtpInputErrors, yaml_load.YamlEditError) as error:
        raise ReplacementError(str(error))
    new_of = dict((w.get('hostName'), w) for w in yaml_load.plain(workers or []) if isinstance(w, dict))
    info = [i for i in yaml_load.plain(cluster_infos or []) if ((i or {}).get('metadata') or {}).get('name') == cluster]
    plan = {'remove': [], 'add': [], 'replaced': [], 'errors': []}
    for name in replace or []:
        new = new_of.get(name)
        if new is None:
            plan['errors'].append(str(ZtpInputError(
                'ztp_replace_workers', name, 'the hostName of a worker of cluster %s in the workers file (ztp_workers): '
                'add the entry of the new hardware (hostName %s with its new bootMACAddress, bmcAddress and credentials) '
                'to the workers file, or take %s out of ztp_replace_workers' % (cluster, name, name))))
            continue
        index = [i for i, n in enumerate(ref.nodes) if isinstance(n, dict) and n.get('hostName') == name]
        old = ref.nodes[index[0]] if index else None
        if old is not None and siteconfig.is_master(old):
            plan['errors'].append(str(ZtpInputError(
                'ztp_replace_workers', name, 'the hostName of a worker: %s is the master of cluster %s, which is never '
                'replaced; take it out of ztp_replace_workers' % (name, cluster), where)))
            continue
        try:
            siteconfig.validate_node(new, ref, default_template_refs, 'workers file, cluster %s' % cluster,
                                     index[0] if index else None)
        except ZtpInputErrors as error:
            plan['errors'].extend(e.describe() for e in error.errors)
            continue
        except ZtpInputError as error:
            plan['errors'].append(error.describe())
            continue
        ready = bool(info) and old is not None and install_watch.node_signal(info[0], name)
        if generation:
            if old is not None and recorded_generation(old, ref.format) != str(generation):
                plan['remove'].append(name)
            elif ready:
                plan['replaced'].append(name)
            plan['add'].append(name)
            continue
        if old is None:
            plan['add'].append(name)
        elif _mac(old) != _mac(new):
            plan['remove'].append(name)
            plan['add'].append(name)
        elif ready:
            plan['replaced'].append(name)
            plan['add'].append(name)
        else:
            plan['errors'].append(str(ZtpInputError(
                'bootMACAddress', new.get('bootMACAddress'),
                'the MAC address of the new hardware of %s: the workers file gives the bootMACAddress that %s has in Git '
                '(%s), so this is not a replacement. Give the new hardware\'s bootMACAddress (with its bmcAddress and '
                'credentials) in the workers file; to reinstall the same hardware, remove the worker with '
                'remove_workers.yml and add it with expand_sno.yml. If this run already wrote the new entry and its '
                'install is still going on, run expand_sno.yml to wait for it' % (name, name, where), 'workers file')))
    return plan
