# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_gitops_batch: the Git-side edits of a whole batch of clusters in one task on the controller.

Every file is planned in memory first (validation included), so the errors of all clusters come back together
and nothing is written while any cluster has an error; then the files are written, each under its lock.
The entries of one ``kustomization.yaml`` are added in one splice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from contextlib import ExitStack

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError, ZtpInputError, ZtpInputErrors, redact
from ansible_collections.ztp.sno_expand.plugins.module_utils._siteconfig import set_nodes
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _batch as batch
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _validate as validate


CLUSTER_SPEC = dict(
    host=dict(type='str'),
    cluster=dict(type='str', required=True),
    cluster_file=dict(type='str'),
    workers=dict(type='list', elements='dict', default=[]),
    default_template_refs=dict(type='list', elements='dict'),
    bmh_annotations=dict(type='dict'),
    worker_policy=dict(type='dict'),
)

POLICY_KEYS = [key for key in policygen.WORKER_ARGUMENT_SPEC if key != 'kustomization']


def _relative(message, repo_dir):
    """Messages name files relative to the GitOps repository, as the user wrote them."""
    return message.replace(repo_dir.rstrip(os.sep) + os.sep, '')


def _cluster_name(req, label):
    return 'cluster %s' % req['cluster'] + ('' if label == req['cluster'] else ' (host %s)' % label)


def _messages(error):
    if isinstance(error, ZtpInputErrors):
        return [str(e) for e in error.errors]
    return [str(error)]


class _Files(object):
    """Texts of the files of the batch: read once, edited in memory, written at the end."""

    def __init__(self):
        self.before = {}
        self.after = {}
        self.bom = {}

    def text(self, path):
        if path not in self.after:
            yaml_files.write_target(path)  # a link out of the working copy is refused before anything is written
            self.before[path], self.bom[path] = yaml_files.read_text(path)
            self.after[path] = self.before[path]
        return self.after[path]

    def set(self, path, text):
        self.text(path)
        self.after[path] = text

    def changed(self):
        return sorted(p for p in self.after if self.after[p] != self.before[p])

    def write(self, paths):
        """Write ``paths`` as one change (all or nothing, as far as the next run can tell: ``yaml_files.write_files``)."""
        try:
            with ExitStack() as locks:
                for path in sorted(paths):  # the single-file modules lock each file (outside a working copy too)
                    locks.enter_context(yaml_files.file_lock(path))
                for path in paths:
                    if yaml_files.read_text(path) != (self.before[path], self.bom[path]):
                        raise AnsibleActionFail('%s changed while the batch was being planned; nothing was written, '
                                                'run again' % path)
                yaml_files.write_files(dict((path, (self.after[path], self.bom[path])) for path in paths))
        except ZtpError as error:
            raise AnsibleActionFail(str(error))


class ActionModule(ActionBase):
    """Validate and write the worker policies and worker nodes of many clusters at once."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=validate.module_spec('ztp_gitops_batch'),
                                                  required_one_of=[('clusters', 'hosts')],
                                                  mutually_exclusive=[('clusters', 'hosts')])
        if args.get('hosts') is not None:
            args['clusters'], invalid = self._from_inventory(args['hosts'], task_vars or {}, args)
            if invalid:
                errors = list(invalid.values())
                result.update(failed=True, changed=False, errors=errors,
                              msg='%d problem(s) in the batch, nothing was written:\n%s' % (len(errors), '\n'.join(errors)))
                return result
        args = yaml_load.plain(args)
        if not yaml_load.HAS_RUAMEL:
            result.update(failed=True, msg=missing_required_lib('ruamel.yaml'), exception=yaml_load.RUAMEL_IMPORT_ERROR)
            return result
        # One holder of the working copy from the first read to the last write: a checkout or another writer never
        # moves a file between the read and the write of its edit.
        with yaml_files.checkout_lock(args['repo_dir']):
            return self._plan_and_write(args, result)

    def _plan_and_write(self, args, result):
        repo_dir = args['repo_dir']
        files = _Files()
        errors = []
        node_edits = {}
        clusters = {}
        kustomizations = {}
        paths_of = {}
        policy_owners = {}
        namespaces = {}  # worker policy namespace -> [(worker file, cluster)]
        validator = ArgumentSpecValidator(CLUSTER_SPEC)
        worker_validator = ArgumentSpecValidator(policygen.WORKER_ARGUMENT_SPEC)
        for raw in args['clusters']:
            if not isinstance(raw, dict):
                errors.append('clusters: each entry must be a dict, got %r' % (redact(raw),))
                continue
            # the requests of the roles carry more than this task needs
            raw = dict((k, v) for k, v in raw.items() if k in CLUSTER_SPEC)
            checked = validator.validate(raw)
            label = raw.get('host') or raw.get('cluster') or '(unnamed)'
            if checked.error_messages:
                errors.extend('%s: %s' % (label, m) for m in checked.error_messages)
                continue
            req = checked.validated_parameters
            name = req['cluster']
            out = clusters.setdefault(name, {'cluster': name, 'host': req['host'], 'policies': [], 'nodes': [],
                                             'paths': [], 'changed': False, 'warnings': []})
            touched = paths_of.setdefault(name, set())
            if args['policies'] and req.get('worker_policy') is not None:
                errors.extend(self._plan_policy(req, repo_dir, files, out, touched, kustomizations, worker_validator, label,
                                                policy_owners, namespaces))
            if args['nodes'] and req['workers']:
                errors.extend(self._collect_nodes(req, repo_dir, files, out, touched, label, node_edits))
        for path, edits in sorted(node_edits.items()):
            errors.extend(self._plan_nodes(path, edits, files, repo_dir))
        for kpath, entries in sorted(kustomizations.items()):
            try:
                files.set(kpath, policygen.update_kustomization_entries(files.text(kpath), [e for e, dummy in entries], kpath))
            except yaml_load.YamlEditError as error:
                errors.append(str(ZtpInputError('path', kpath, 'a file that can be edited without changing anything else (%s)'
                                                % error, where=kpath)))
            except (ZtpInputError, ZtpInputErrors) as error:
                errors.extend(_messages(error))
        if namespaces and not errors:
            errors.extend(self._plan_namespaces(namespaces, args.get('existing_namespaces') or [], repo_dir, files,
                                                clusters, paths_of))
        if errors:
            result.update(failed=True, changed=False, errors=errors,
                          msg='%d problem(s) in the batch, nothing was written:\n%s' % (len(errors), '\n'.join(errors)))
            return result
        changed = files.changed()
        changed_set = set(changed)
        for kpath, entries in kustomizations.items():
            for dummy, name in entries:
                paths_of[name].add(kpath)
        for name, out in clusters.items():
            out['paths'] = sorted(os.path.relpath(p, repo_dir) for p in paths_of[name] if p in changed_set)
            out['changed'] = bool(out['paths'])
        if not self._task.check_mode:
            files.write(changed)
        result.update(changed=bool(changed), clusters=clusters,
                      paths=[os.path.relpath(p, repo_dir) for p in changed])
        warnings = list(dict.fromkeys(w for out in clusters.values() for w in out['warnings']))
        if warnings:
            result['warnings'] = warnings
        if self._task.diff:
            result['diff'] = [{'before': files.before[p], 'after': files.after[p], 'before_header': p, 'after_header': p}
                              for p in changed]
        return result

    def _from_inventory(self, hosts, task_vars, args):
        """Requests of ``hosts`` from the variables the policy_creation and node_addition roles read for them
        (``plugin_utils.batch``), so that this check and the phases that write later plan from the same values."""
        requests = dict((host, {'host': host}) for host in hosts)
        invalid = {}
        node_keys = ('cluster', 'cluster_file', 'workers', 'default_template_refs', 'bmh_annotations')
        for phase, enabled, keys in (('policy_creation', args['policies'], ('cluster', 'worker_policy')),
                                     ('node_addition', args['nodes'], node_keys)):
            if not enabled:
                continue
            planned, problems = batch.read_requests(self, task_vars, phase, hosts)
            invalid.update(problems)
            for host, request in planned.items():
                requests[host].update(dict((k, v) for k, v in request.items() if k in keys))
        return [requests[h] for h in hosts if h not in invalid], invalid

    @staticmethod
    def _plan_policy(req, repo_dir, files, out, touched, kustomizations, worker_validator, label, policy_owners, namespaces):
        policy = dict(req['worker_policy'])
        params = dict((k, policy[k]) for k in POLICY_KEYS if policy.get(k) is not None)
        if params.get('path') is not None:
            params['path'] = os.path.normpath(os.path.join(repo_dir, str(params['path'])))
        checked = worker_validator.validate(params)
        if checked.error_messages:
            return ['%s: worker policy: %s' % (label, m) for m in checked.error_messages]
        params = checked.validated_parameters
        path = params['path']
        owner = policy_owners.get(os.path.realpath(path))
        try:
            spec, new_text = policygen.plan_worker(params, files.text(path))
        except (ZtpInputError, ZtpInputErrors) as error:
            if owner is None:
                return ['%s: %s' % (label, _relative(m, repo_dir)) for m in _messages(error)]
            new_text = None
        if owner is not None and new_text != files.text(path):
            # the file would hold only the later cluster's policy while both report it written
            return ['%s: %s' % (label, ZtpInputError(
                'worker_policy.path', policy.get('path'),
                'a file of its own: %s and %s both give this path with different worker '
                'policies, and the file can hold only one; give each cluster its own worker_policy.path (for example '
                '<cluster>-workers.yaml) or the same worker_policy options; nothing was written'
                % (owner, _cluster_name(req, label)), where=policy.get('path')))]
        policy_owners.setdefault(os.path.realpath(path), _cluster_name(req, label))
        files.set(path, new_text)
        touched.add(path)
        out['policies'] = policygen.policy_names(spec['name'], spec['policy_name'])
        if policy.get('kustomization', True):
            kpath = os.path.join(os.path.dirname(path), 'kustomization.yaml')
            kustomizations.setdefault(kpath, []).append((policygen.kustomization_entry(path), req['cluster']))
            namespaces.setdefault(spec['namespace'], []).append((path, req['cluster']))
        return []

    @staticmethod
    def _plan_namespaces(namespaces, existing, repo_dir, files, clusters, paths_of):
        """Declare in Git each worker policy namespace that neither Git nor the hub has (see ``existing_namespaces``)."""
        declared = None
        errors = []
        for namespace, users in sorted(namespaces.items()):
            if namespace in existing:
                continue
            if declared is None:
                declared = policygen.declared_namespaces(repo_dir)
            if namespace in declared:
                continue
            path, created = policygen.namespace_file(repo_dir, users[0][0], declared)
            try:
                files.set(path, policygen.add_namespace_text(files.text(path), namespace, where=path))
                changed = [path]
                if created:
                    kpath = os.path.join(os.path.dirname(path), 'kustomization.yaml')
                    files.set(kpath, policygen.add_kustomization_resource(files.text(kpath), os.path.basename(path), kpath))
                    changed.append(kpath)
            except yaml_load.YamlEditError as error:
                errors.append(str(ZtpInputError('path', path, 'a file that can be edited without changing anything else '
                                                '(%s)' % error, where=path)))
                continue
            except (ZtpInputError, ZtpInputErrors) as error:
                errors.extend(_messages(error))
                continue
            for dummy, cluster in users:
                paths_of[cluster].update(changed)
                clusters[cluster]['warnings'].append(
                    'the worker policy namespace %s is declared neither in Git nor on the hub: its Namespace and a '
                    'ManagedClusterSetBinding to the %s cluster set are added to %s'
                    % (namespace, policygen.CLUSTER_SET, os.path.relpath(path, repo_dir)))
            declared[namespace] = os.path.relpath(path, repo_dir)
        return errors

    @staticmethod
    def _collect_nodes(req, repo_dir, files, out, touched, label, node_edits):
        """Queue the workers of ``req`` for one edit of their cluster file (all clusters of a file in one pass)."""
        if not req.get('cluster_file'):
            return ['%s: cluster_file is required with workers' % label]
        path = os.path.join(repo_dir, req['cluster_file'])
        try:
            text = files.text(path)
        except (ZtpInputError, ZtpInputErrors) as error:
            return ['%s: %s' % (label, _relative(m, repo_dir)) for m in _messages(error)]
        if not text:
            return ['%s: %s' % (label, ZtpInputError('cluster_file', req['cluster_file'], 'an existing SiteConfig or ClusterInstance file'
                                                     ' (relative to the GitOps repository)'))]
        edits = node_edits.setdefault(path, [])
        edits.extend((req, label, out, node) for node in req['workers'])
        touched.add(path)
        return []

    @staticmethod
    def _plan_nodes(path, edits, files, repo_dir):
        """All the worker edits of one cluster file: one parse, one pass, one verification."""
        where = os.path.relpath(path, repo_dir)
        try:
            text, outcomes = set_nodes(files.text(path), [(req['cluster'], node, req['default_template_refs'],
                                                           req.get('bmh_annotations'))
                                                          for req, dummy, dummy, node in edits], where=where)
        except yaml_load.YamlEditError as error:
            return ['%s: %s: %s' % (label, where, error) for dummy, label, dummy, dummy in edits[:1]]
        except (ZtpInputError, ZtpInputErrors) as error:
            return ['%s: %s' % (edits[0][1], m) for m in _messages(error)]
        errors = []
        for (dummy, label, out, dummy), outcome in zip(edits, outcomes):
            if outcome['error'] is not None:
                errors.extend('%s: %s' % (label, m) for m in _messages(outcome['error']))
                continue
            out['nodes'].append(outcome['entry'])
            out['format'] = outcome['format']
            out['warnings'].extend(outcome['warnings'])
        files.set(path, text)
        return errors
