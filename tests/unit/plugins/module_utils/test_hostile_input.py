# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile inputs (issue 15): each refusal leaves the files byte-identical and its message names the file, the
field, the value (never a secret) and the fix."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from unittest.mock import MagicMock

from ansible.errors import AnsibleActionFail
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.ztp.sno_expand.plugins.action.ztp_gitops_batch import ActionModule as BatchAction
from ansible_collections.ztp.sno_expand.plugins.module_utils import _errors as E
from ansible_collections.ztp.sno_expand.plugins.module_utils import _gitops as gitops
from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen
from ansible_collections.ztp.sno_expand.plugins.module_utils import _siteconfig as siteconfig
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_edit as yaml_edit
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.modules import ztp_policygen_worker, ztp_siteconfig_node

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:
    @contextlib.contextmanager
    def patch_module_args(args):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old

pytestmark = pytest.mark.skipif(not yaml_load.HAS_RUAMEL, reason='ruamel.yaml is not installed')

SECRET = 'S3cr3t-Pa55w0rd'

SITE = """\
apiVersion: ran.openshift.io/v1
kind: SiteConfig
metadata:
  name: sno-a
  namespace: sno-a
spec:
  clusters:
  - clusterName: sno-a   # the SNO
    nodes:
    - hostName: sno-a-master
      role: master
      bmcAddress: ipmi://10.0.0.10
      bmcCredentialsName:
        name: sno-a-master-bmc
      bootMACAddress: "AA:BB:CC:00:00:01"
  - clusterName: sno-b
    nodes:
    - hostName: sno-b-master
      role: master
      bmcAddress: ipmi://10.0.0.20
      bmcCredentialsName:
        name: sno-b-master-bmc
      bootMACAddress: "AA:BB:CC:00:00:03"
"""

WORKER = {
    'hostName': 'sno-a-worker-0',
    'role': 'worker',
    'bmcAddress': 'redfish-virtualmedia+https://10.0.0.11/redfish/v1/Systems/1',
    'bmcCredentialsName': {'name': 'sno-a-worker-0-bmc'},
    'bootMACAddress': 'AA:BB:CC:00:00:02',
}

# Existing files of a policies folder that a worker policy path may point at by mistake.
SITE_PGT = """\
# site policies of example-sno
apiVersion: ran.openshift.io/v1
kind: PolicyGenTemplate
metadata:
  name: "example-sno-site"
  namespace: "ztp-site"
spec:
  bindingRules:
    sites: "example-sno"
  mcp: "master"
  sourceFiles:
    - fileName: SriovNetwork.yaml
      policyName: "config-policy"
"""
NS_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: ztp-site
"""
COMMON_RANGEN = """\
apiVersion: ran.openshift.io/v1
kind: PolicyGenTemplate
metadata:
  name: "common"
  namespace: "ztp-common"
spec:
  bindingRules:
    common: "true"
  sourceFiles:
    - fileName: SriovSubscription.yaml
      policyName: "subscriptions-policy"
"""
KUSTOMIZATION = """\
generators:
- common-ranGen.yaml
- example-sno-site.yaml
resources:
- ns.yaml
"""


class Exit(Exception):
    def __init__(self, result, failed):
        super(Exit, self).__init__(result)
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch):
    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def runner(module, **args):
        with patch_module_args(args):
            with pytest.raises(Exit) as info:
                module.main()
        return info.value
    return runner


def run_batch(args, check_mode=False):
    task = Task()
    task.args = args
    task.action = 'ztp.sno_expand.ztp_gitops_batch'
    task.check_mode = check_mode
    task.diff = False
    loader = DataLoader()
    action = BatchAction(task, MagicMock(), PlayContext(), loader, Templar(loader=loader), MagicMock())
    return action.run(task_vars={})


def snapshot(folder):
    """{relative path: bytes} of every file under ``folder``."""
    found = {}
    for root, _dirs, names in os.walk(str(folder)):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, str(folder))] = handle.read()
    return found


def policy(path, **changes):
    args = dict(
        path=path, name='example-sno-workers', namespace='ztp-site', binding_rules={'sites': 'example-sno'},
        reserved_cpus='0-3', isolated_cpus='4-47', cpu_count=48,
        hugepages={'default_size': '1G', 'pages': [{'size': '1G', 'count': 32}]},
    )
    args.update(changes)
    return args


@pytest.fixture
def policies(tmp_path):
    """A GitOps repository with a policies folder (site PGT, common-ranGen, ns.yaml, kustomization)."""
    folder = tmp_path / 'policies'
    folder.mkdir()
    (folder / 'example-sno-site.yaml').write_text(SITE_PGT)
    (folder / 'common-ranGen.yaml').write_text(COMMON_RANGEN)
    (folder / 'ns.yaml').write_text(NS_YAML)
    (folder / 'kustomization.yaml').write_text(KUSTOMIZATION)
    (folder / 'two-docs.yaml').write_text(NS_YAML + '---\n' + SITE_PGT)
    (folder / 'README.txt').write_text('Policies of the example sites.\nAsk the RAN team before changing them.\n')
    (folder / 'notes.yaml').write_text('# notes only\n# kept by the team\n')
    (tmp_path / 'site.yaml').write_text(SITE)
    return tmp_path


# --------------------------------------------------------------------------------------------------
# 1. the worker policy path never replaces another file
# --------------------------------------------------------------------------------------------------

OTHER_FILES = [
    ('example-sno-site.yaml', 'PolicyGenTemplate example-sno-site in namespace ztp-site'),
    ('common-ranGen.yaml', 'PolicyGenTemplate common in namespace ztp-common'),
    ('ns.yaml', 'Namespace ztp-site'),
    ('kustomization.yaml', '(no kind)'),
    ('two-docs.yaml', '2 YAML documents'),
    ('README.txt', 'no YAML mapping'),
    ('notes.yaml', 'only comments'),
]


def assert_refusal_message(msg, name, found):
    assert name in msg                                   # the file
    assert 'path' in msg                                 # the field
    assert found in msg                                  # what the file holds
    assert 'PolicyGenTemplate example-sno-workers in namespace ztp-site' in msg
    assert 'Point path at a new file' in msg             # the fix
    assert 'nothing was written' in msg


@pytest.mark.parametrize('name, found', OTHER_FILES)
def test_policygen_worker_refuses_to_replace_another_file(run_module, policies, name, found):
    before = snapshot(policies)
    out = run_module(ztp_policygen_worker, **policy(str(policies / 'policies' / name)))
    assert out.failed and out.result['changed'] is False
    assert_refusal_message(out.result['msg'], name, found)
    assert snapshot(policies) == before


@pytest.mark.parametrize('name, found', OTHER_FILES)
def test_batch_refuses_to_replace_another_file(policies, name, found):
    before = snapshot(policies)
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'worker_policy': policy('policies/' + name)}]})
    assert result['failed'] and not result['changed']
    assert len(result['errors']) == 1
    assert result['errors'][0].startswith('sno-a: policies/%s: path: ' % name)
    assert_refusal_message(result['msg'], name, found)
    assert snapshot(policies) == before


@pytest.mark.parametrize('changes, found', [
    (dict(name='other-workers'), 'PolicyGenTemplate other-workers in namespace ztp-site'),
    (dict(namespace='ztp-other'), 'PolicyGenTemplate example-sno-workers in namespace ztp-other'),
    (dict(format='policygenerator'), 'PolicyGenerator example-sno-workers in namespace ztp-site'),
])
def test_worker_file_of_another_worker_policy_is_refused(run_module, policies, changes, found):
    path = str(policies / 'policies' / 'workers.yaml')
    first = run_module(ztp_policygen_worker, **policy(path, **changes))
    assert not first.failed and first.result['changed']
    before = snapshot(policies)
    out = run_module(ztp_policygen_worker, **policy(path))
    assert out.failed
    assert found in out.result['msg'] and 'workers.yaml' in out.result['msg']
    assert snapshot(policies) == before


def test_worker_file_of_the_same_worker_policy_is_updated(run_module, policies):
    path = policies / 'policies' / 'workers.yaml'
    assert run_module(ztp_policygen_worker, **policy(str(path))).result['changed']
    path.write_text(path.read_text().replace('count: 32', 'count: 16  # hand edit'))
    out = run_module(ztp_policygen_worker, **policy(str(path), isolated_cpus='4-31', cpu_count=32))
    assert not out.failed and out.result['changed']
    assert '# hand edit' in path.read_text() and 'isolated: "4-31"' in path.read_text()
    # an empty file is a new file
    empty = policies / 'policies' / 'empty.yaml'
    empty.write_text('\n')
    assert run_module(ztp_policygen_worker, **policy(str(empty))).result['changed']
    assert yaml.safe_load(empty.read_text())['kind'] == 'PolicyGenTemplate'


def test_check_worker_file_is_the_one_check_of_module_and_batch():
    document = policygen.worker_document(policygen.validate_worker(policy('x.yaml', format='policygentemplate',
                                                                          source_cr_layout='flat')))
    with pytest.raises(ZtpInputError) as error:
        policygen.update_worker_text(NS_YAML, document, 'ns.yaml')
    assert error.value.field == 'path' and error.value.where == 'ns.yaml'


# --------------------------------------------------------------------------------------------------
# 3. two clusters of a batch give the same worker policy path
# --------------------------------------------------------------------------------------------------

def test_batch_refuses_one_policy_path_for_two_clusters(policies):
    before = snapshot(policies)
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'worker_policy': policy('policies/workers.yaml', name='sno-a-workers',
                                                     binding_rules={'sites': 'sno-a'})},
        {'cluster': 'sno-b', 'host': 'hub1-sno-b', 'worker_policy': policy(
            'policies/workers.yaml', name='sno-b-workers', binding_rules={'sites': 'sno-b'})},
    ]})
    assert result['failed'] and not result['changed']
    assert len(result['errors']) == 1
    msg = result['errors'][0]
    assert 'cluster sno-a and cluster sno-b (host hub1-sno-b)' in msg
    assert 'worker_policy.path' in msg and "'policies/workers.yaml'" in msg
    assert 'give each cluster its own worker_policy.path' in msg
    assert snapshot(policies) == before


def test_batch_refuses_one_policy_path_spelled_two_ways(policies):
    before = snapshot(policies)
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'worker_policy': policy('policies/workers.yaml', binding_rules={'sites': 'sno-a'})},
        {'cluster': 'sno-b', 'worker_policy': policy('./policies/../policies/workers.yaml',
                                                     binding_rules={'sites': 'sno-b'})},
    ]})
    assert result['failed'] and 'cluster sno-a and cluster sno-b' in result['msg']
    assert snapshot(policies) == before


def test_batch_accepts_one_policy_path_with_the_same_policy(policies):
    shared = policy('policies/workers.yaml', binding_rules={'group-du-sno': ''})
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'worker_policy': shared}, {'cluster': 'sno-b', 'worker_policy': shared}]})
    assert not result.get('failed') and result['changed']
    assert result['clusters']['sno-a']['policies'] == result['clusters']['sno-b']['policies']
    assert yaml.safe_load((policies / 'policies' / 'workers.yaml').read_text())['metadata']['name'] == 'example-sno-workers'


# --------------------------------------------------------------------------------------------------
# 6, 7. BMC credentials in node entries are refused without echoing them
# --------------------------------------------------------------------------------------------------

SECRET_NODES = [
    # 6: credentials in the BMC address
    (dict(WORKER, bmcAddress='redfish-virtualmedia+https://admin:%s@10.0.0.11/redfish/v1/Systems/1' % SECRET),
     ['node.bmcAddress', 'redfish-virtualmedia+https://admin:********@10.0.0.11/redfish/v1/Systems/1',
      'remove "<user>:<password>@"', 'hub Secret', 'never into Git']),
    (dict(WORKER, bmcAddress='ipmi://%s@10.0.0.11' % SECRET),
     ['node.bmcAddress', 'ipmi://********@10.0.0.11', 'hub Secret']),
    # 7: credentials next to the Secret name
    (dict(WORKER, bmcCredentialsName={'name': 'sno-a-worker-0-bmc', 'username': 'root-' + SECRET,
                                      'password': SECRET}),
     ['node.bmcCredentialsName', "'sno-a-worker-0-bmc'", 'remove the key(s) password, username', 'hub Secret',
      'ztp_bmc_credentials', 'ztp_bmc_username and ztp_bmc_password', 'never into Git']),
    # secret keys elsewhere in the entry: an unknown field, and one inside another field
    (dict(WORKER, bmcPassword=SECRET), ['node.bmcPassword', "'********'", 'a known SiteConfig node field']),
    (dict(WORKER, nodeNetwork={'interfaces': [{'name': 'eno1', 'macAddress': 'AA:BB:CC:00:00:09'}],
                               'config': {}, 'apiToken': SECRET}),
     ['nodeNetwork.apiToken', 'only the keys config and interfaces']),
    (dict(WORKER, rootDeviceHints={'clientSecret': SECRET}), ['rootDeviceHints.clientSecret']),
    (dict(WORKER, nodeLabels={'bmc-password': {'value': SECRET}}), ['nodeLabels.bmc-password', 'a scalar label value']),
]


@pytest.mark.parametrize('node, words', SECRET_NODES)
def test_siteconfig_node_secret_never_echoed(run_module, policies, node, words):
    site = policies / 'site.yaml'
    before = snapshot(policies)
    out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-a', node=node)
    assert out.failed
    assert 'site.yaml' in out.result['msg']
    for word in words:
        assert word in out.result['msg']
    assert SECRET not in json.dumps(out.result)
    assert snapshot(policies) == before


@pytest.mark.parametrize('node, words', SECRET_NODES)
def test_batch_secret_never_echoed(policies, node, words):
    before = snapshot(policies)
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'cluster_file': 'site.yaml', 'workers': [node]}]})
    assert result['failed'] and not result['changed']
    for word in words:
        assert word in result['msg']
    assert SECRET not in json.dumps(result)
    assert snapshot(policies) == before


def test_redact_masks_secret_keys_and_url_credentials():
    value = {'name': 'n', 'Password': SECRET, 'nested': [{'x-TOKEN': SECRET}, 'https://u:%s@h/p' % SECRET],
             'bmcSecretRef': {'a': 1}, 'url': 'https://%s@git.example.com/org/repo.git' % SECRET,
             'ssh': 'ssh://git@git.example.com/org/repo.git'}
    shown = E.redact(value)
    assert SECRET not in repr(shown)
    assert shown == {'name': 'n', 'Password': E.MASK, 'nested': [{'x-TOKEN': E.MASK}, 'https://u:%s@h/p' % E.MASK],
                     'bmcSecretRef': E.MASK, 'url': 'https://%s@git.example.com/org/repo.git' % E.MASK,
                     'ssh': 'ssh://git@git.example.com/org/repo.git'}
    error = ZtpInputError('nodes[0].bmcPassword', SECRET, 'no password here', where='site.yaml')
    assert SECRET not in str(error) and error.value == E.MASK
    several = ZtpInputErrors([error, ZtpInputError('bmcAddress', 'redfish://a:%s@h' % SECRET, 'x')])
    assert SECRET not in str(several)


def test_validate_node_message_masks_secrets_directly():
    ref = siteconfig.find_cluster(yaml_load.load_documents(SITE), 'sno-a', 'site.yaml')
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as error:
        siteconfig.validate_node(dict(WORKER, bmcCredentialsName={'name': 'x-bmc', 'password': SECRET}), ref,
                                 where='site.yaml')
    assert SECRET not in str(error.value)
    assert 'remove the key(s) password' in str(error.value)


# --------------------------------------------------------------------------------------------------
# 10. a lock held by another run: a bounded wait, then a message naming the lock file and its holder
# --------------------------------------------------------------------------------------------------

HOLD_LOCK = textwrap.dedent("""\
    import fcntl, os, sys
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
    if sys.argv[2] == 'silent':  # an older run: holds the lock without naming itself
        lock_file = yaml_files.lock_path(sys.argv[1])
        os.makedirs(os.path.dirname(lock_file), exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print('locked', flush=True)
        sys.stdin.read()
    else:
        with yaml_files.file_lock(sys.argv[1]):
            print('locked', flush=True)
            sys.stdin.read()
""")


@contextlib.contextmanager
def lock_held_by_another_process(path, mode='named'):
    """A second Python process holding the lock of ``path`` until the block ends; yields its pid."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, '-c', HOLD_LOCK, str(path), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, universal_newlines=True)
    try:
        assert proc.stdout.readline().strip() == 'locked'
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def assert_lock_message(msg, target, pid):
    assert str(target) in msg                                       # what was locked
    assert yaml_files.lock_path(str(target)) in msg                   # the lock file
    if pid is None:
        assert 'holder unknown' in msg
    else:
        assert 'process %d on host %s' % (pid, socket.gethostname()) in msg   # the holder
        assert 'holding it since 20' in msg                                    # and since when
    assert 'waited 0.5 seconds, nothing was written' in msg
    assert 'ZTP_LOCK_TIMEOUT' in msg                                 # the fix


def test_siteconfig_node_lock_held_by_another_process_times_out(run_module, policies, monkeypatch):
    monkeypatch.setenv('ZTP_LOCK_TIMEOUT', '0.5')
    site = policies / 'site.yaml'
    before = snapshot(policies)
    with lock_held_by_another_process(site) as pid:
        started = time.monotonic()
        out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-a', node=WORKER)
        assert time.monotonic() - started < 10
    assert out.failed
    assert_lock_message(out.result['msg'], site, pid)
    assert snapshot(policies) == before
    # once the other run is gone the same edit goes through
    assert not run_module(ztp_siteconfig_node, path=str(site), cluster='sno-a', node=WORKER).failed


def test_lock_holder_that_does_not_name_itself(run_module, policies, monkeypatch):
    monkeypatch.setenv('ZTP_LOCK_TIMEOUT', '0.5')
    path = policies / 'policies' / 'example-sno-workers.yaml'
    before = snapshot(policies)
    with lock_held_by_another_process(path, 'silent'):
        out = run_module(ztp_policygen_worker, **policy(str(path)))
    assert out.failed and out.result['changed'] is False
    assert_lock_message(out.result['msg'], path, None)
    assert snapshot(policies) == before


def test_batch_lock_held_by_another_process_times_out(policies, monkeypatch):
    monkeypatch.setenv('ZTP_LOCK_TIMEOUT', '0.5')
    site = policies / 'site.yaml'
    before = snapshot(policies)
    with lock_held_by_another_process(site) as pid:
        with pytest.raises(AnsibleActionFail) as error:
            run_batch({'repo_dir': str(policies), 'clusters': [
                {'cluster': 'sno-a', 'cluster_file': 'site.yaml', 'workers': [WORKER]}]})
    assert_lock_message(str(error.value), site, pid)
    assert snapshot(policies) == before


def test_repo_lock_held_by_another_process_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv('ZTP_LOCK_TIMEOUT', '0.5')
    with lock_held_by_another_process(tmp_path) as pid:
        with pytest.raises(ZtpInputError) as error:
            with gitops.repo_lock(str(tmp_path)):
                pass
    assert_lock_message(str(error.value), tmp_path, pid)
    with gitops.repo_lock(str(tmp_path)) as dummy:  # free again; the holder's name is gone with it
        pass
    assert os.path.getsize(yaml_files.lock_path(str(tmp_path))) == 0


@pytest.mark.parametrize('value', ['soon', '-1', 'inf', 'nan'])
def test_lock_timeout_setting_is_checked(run_module, policies, monkeypatch, value):
    monkeypatch.setenv('ZTP_LOCK_TIMEOUT', value)
    site = policies / 'site.yaml'
    before = snapshot(policies)
    out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-a', node=WORKER)
    assert out.failed
    assert 'ZTP_LOCK_TIMEOUT' in out.result['msg'] and repr(value) in out.result['msg']
    assert 'a number of seconds' in out.result['msg'] and 'fix or unset' in out.result['msg']
    assert snapshot(policies) == before


def test_lock_timeout_default():
    assert yaml_files.LOCK_TIMEOUT == 600
    old = os.environ.pop('ZTP_LOCK_TIMEOUT', None)
    try:
        assert yaml_files.lock_timeout() == 600
    finally:
        if old is not None:
            os.environ['ZTP_LOCK_TIMEOUT'] = old


# --------------------------------------------------------------------------------------------------
# 16. a symlinked file: the link stays, its target is edited; a link out of the working copy is refused
# --------------------------------------------------------------------------------------------------

@pytest.fixture
def linked(policies):
    """``site.yaml`` moved to ``sites/real-site.yaml`` and linked back (relative link), in a working copy."""
    (policies / '.git').mkdir()
    (policies / 'sites').mkdir()
    os.rename(str(policies / 'site.yaml'), str(policies / 'sites' / 'real-site.yaml'))
    os.symlink(os.path.join('sites', 'real-site.yaml'), str(policies / 'site.yaml'))
    return policies


def assert_link_edited(repo):
    link = repo / 'site.yaml'
    assert os.path.islink(str(link))
    assert os.readlink(str(link)) == os.path.join('sites', 'real-site.yaml')
    text = (repo / 'sites' / 'real-site.yaml').read_text()
    assert 'sno-a-worker-0' in text and text.startswith(SITE.split('nodes:', maxsplit=1)[0])
    assert sorted(n for n in os.listdir(str(repo / 'sites'))) == ['real-site.yaml']  # no temporary file left


def test_siteconfig_node_edits_the_target_of_a_symlink(run_module, linked):
    out = run_module(ztp_siteconfig_node, path=str(linked / 'site.yaml'), cluster='sno-a', node=WORKER)
    assert not out.failed and out.result['changed']
    assert_link_edited(linked)


def test_batch_edits_the_target_of_a_symlink(linked):
    result = run_batch({'repo_dir': str(linked), 'clusters': [
        {'cluster': 'sno-a', 'cluster_file': 'site.yaml', 'workers': [WORKER]}]})
    assert not result.get('failed') and result['changed']
    assert_link_edited(linked)


def test_symlink_out_of_the_working_copy_is_refused(run_module, linked, tmp_path_factory):
    outside = tmp_path_factory.mktemp('elsewhere') / 'site.yaml'
    outside.write_text(SITE)
    os.unlink(str(linked / 'site.yaml'))
    os.symlink(str(outside), str(linked / 'site.yaml'))
    before = snapshot(linked)
    out = run_module(ztp_siteconfig_node, path=str(linked / 'site.yaml'), cluster='sno-a', node=WORKER)
    assert out.failed
    msg = out.result['msg']
    assert str(linked / 'site.yaml') in msg and 'path' in msg                       # file and field
    assert 'symbolic link to %s' % os.path.realpath(str(outside)) in msg              # the value
    assert 'outside it' in msg and 'replace the link by a copy of the file' in msg    # the fix
    assert 'nothing was written' in msg
    assert snapshot(linked) == before and outside.read_text() == SITE
    assert os.readlink(str(linked / 'site.yaml')) == str(outside)
    result = run_batch({'repo_dir': str(linked), 'clusters': [
        {'cluster': 'sno-a', 'cluster_file': 'site.yaml', 'workers': [WORKER]}]})
    assert result['failed'] and 'symbolic link to %s' % os.path.realpath(str(outside)) in result['msg']
    assert snapshot(linked) == before and outside.read_text() == SITE


# --------------------------------------------------------------------------------------------------
# 19. files that are not UTF-8 are refused naming the file and the fix; a UTF-8 BOM is kept
# --------------------------------------------------------------------------------------------------

SITE_KOELN = SITE.replace('# the SNO', '# the SNO in K\u00f6ln')
NOT_UTF8 = [
    ('latin-1', SITE_KOELN.encode('latin-1'), ['byte 0xf6 on line 8 is not UTF-8', 'Latin-1', 'iconv -f LATIN1']),
    ('utf-16 with BOM', SITE_KOELN.encode('utf-16'), ['this file is UTF-16', 'byte order mark', 'iconv -f UTF-16']),
    ('utf-16-be with BOM', b'\xfe\xff' + SITE_KOELN.encode('utf-16-be'), ['this file is UTF-16', 'iconv -f UTF-16']),
    ('utf-16 without BOM', SITE_KOELN.encode('utf-16-le'), ['is not UTF-8', 'NUL bytes', 'UTF-16']),
]


def assert_not_utf8_message(msg, name, words):
    assert name in msg                                        # the file
    assert 'a UTF-8 file' in msg                              # what is expected
    for word in words:                                        # what it is instead
        assert word in msg
    assert 'convert' in msg and 'to UTF-8' in msg             # the fix
    assert 'nothing was written' in msg
    assert 'codec' not in msg


@pytest.mark.parametrize('kind, data, words', NOT_UTF8, ids=[k for k, d, w in NOT_UTF8])
def test_siteconfig_node_refuses_a_file_that_is_not_utf8(run_module, policies, kind, data, words):
    (policies / 'site.yaml').write_bytes(data)
    before = snapshot(policies)
    out = run_module(ztp_siteconfig_node, path=str(policies / 'site.yaml'), cluster='sno-a', node=WORKER)
    assert out.failed
    assert_not_utf8_message(out.result['msg'], 'site.yaml', words)
    assert snapshot(policies) == before


@pytest.mark.parametrize('kind, data, words', NOT_UTF8, ids=[k for k, d, w in NOT_UTF8])
def test_batch_refuses_a_file_that_is_not_utf8(policies, kind, data, words):
    (policies / 'site.yaml').write_bytes(data)
    latin1 = KUSTOMIZATION.replace('ns.yaml', 'n\u00e4s.yaml').encode('latin-1')
    (policies / 'policies' / 'kustomization.yaml').write_bytes(latin1)
    before = snapshot(policies)
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'cluster_file': 'site.yaml', 'workers': [WORKER],
         'worker_policy': policy('policies/example-sno-workers.yaml')}]})
    assert result['failed'] and not result['changed']
    assert_not_utf8_message(result['msg'], 'site.yaml', words)
    assert_not_utf8_message(result['msg'], 'kustomization.yaml', ['byte 0xe4 on line 5'])
    assert snapshot(policies) == before


def test_policygen_worker_refuses_a_kustomization_that_is_not_utf8(run_module, policies):
    kpath = policies / 'policies' / 'kustomization.yaml'
    kpath.write_bytes(KUSTOMIZATION.encode('utf-16'))
    before = snapshot(policies)
    out = run_module(ztp_policygen_worker, **policy(str(policies / 'policies' / 'example-sno-workers.yaml')))
    assert out.failed and out.result['changed'] is False
    assert_not_utf8_message(out.result['msg'], 'kustomization.yaml', ['this file is UTF-16'])
    assert snapshot(policies) == before


def test_siteconfig_node_keeps_a_utf8_bom(run_module, policies, tmp_path_factory):
    plain_copy = tmp_path_factory.mktemp('plain') / 'site.yaml'
    plain_copy.write_text(SITE)
    run_module(ztp_siteconfig_node, path=str(plain_copy), cluster='sno-a', node=WORKER)
    (policies / 'site.yaml').write_bytes(b'\xef\xbb\xbf' + SITE.encode('utf-8'))
    out = run_module(ztp_siteconfig_node, path=str(policies / 'site.yaml'), cluster='sno-a', node=WORKER)
    assert not out.failed and out.result['changed']
    assert (policies / 'site.yaml').read_bytes() == b'\xef\xbb\xbf' + plain_copy.read_bytes()
    # the same worker again: nothing to change, the bytes stay
    out = run_module(ztp_siteconfig_node, path=str(policies / 'site.yaml'), cluster='sno-a', node=WORKER)
    assert not out.failed and not out.result['changed']
    assert (policies / 'site.yaml').read_bytes() == b'\xef\xbb\xbf' + plain_copy.read_bytes()


def test_batch_keeps_a_utf8_bom(policies, tmp_path_factory):
    kpath = policies / 'policies' / 'kustomization.yaml'
    (policies / 'site.yaml').write_bytes(b'\xef\xbb\xbf' + SITE.encode('utf-8'))
    kpath.write_bytes(b'\xef\xbb\xbf' + KUSTOMIZATION.encode('utf-8'))
    result = run_batch({'repo_dir': str(policies), 'clusters': [
        {'cluster': 'sno-a', 'cluster_file': 'site.yaml', 'workers': [WORKER],
         'worker_policy': policy('policies/example-sno-workers.yaml')}]})
    assert not result.get('failed') and result['changed']
    site = (policies / 'site.yaml').read_bytes()
    assert site.startswith(b'\xef\xbb\xbf' + SITE.split('nodes:', maxsplit=1)[0].encode('utf-8')) and b'sno-a-worker-0' in site
    assert site.count(b'\xef\xbb\xbf') == 1
    kust = kpath.read_bytes()
    assert kust.startswith(b'\xef\xbb\xbf' + KUSTOMIZATION.split('resources:', maxsplit=1)[0].encode('utf-8'))
    assert b'example-sno-workers.yaml' in kust and kust.count(b'\xef\xbb\xbf') == 1


# --------------------------------------------------------------------------------------------------
# 15. node definitions that are accepted today and wrong: refused before anything is written
# --------------------------------------------------------------------------------------------------

SITE_NET = """\
apiVersion: ran.openshift.io/v1
kind: SiteConfig
metadata:
  name: sno-a
  namespace: sno-a
spec:
  clusters:
  - clusterName: sno-a
    machineNetwork:
    - cidr: 10.0.0.0/24
    - cidr: fd00:1::/64
    nodes:
    - hostName: sno-a-master
      role: master
      bmcAddress: ipmi://10.0.0.250
      bmcCredentialsName:
        name: sno-a-master-bmc
      bootMACAddress: "AA:BB:CC:00:00:01"
      nodeNetwork:
        interfaces:
        - name: eno1
          macAddress: "AA:BB:CC:00:00:01"
        - name: eno2
          macAddress: "AA:BB:CC:00:00:0A"
        config:
          interfaces:
          - name: eno1
            type: ethernet
            ipv4: {enabled: true, address: [{ip: 10.0.0.10, prefix-length: 24}]}
            ipv6: {enabled: true, address: [{ip: "fd00:1::10", prefix-length: 64}]}
          - name: eno2
            type: ethernet
"""


def net_worker(ipv4='10.0.0.11', ipv6='fd00:1::11', mac='AA:BB:CC:00:00:02', boot_mac='AA:BB:CC:00:00:02',
               **changes):
    config = {'name': 'eno1', 'type': 'ethernet'}
    if ipv4:
        config['ipv4'] = {'enabled': True, 'address': [{'ip': ipv4, 'prefix-length': 24}]}
    if ipv6:
        config['ipv6'] = {'enabled': True, 'address': [{'ip': ipv6, 'prefix-length': 64}]}
    node = dict(WORKER, bootMACAddress=boot_mac,
                nodeNetwork={'interfaces': [{'name': 'eno1', 'macAddress': mac}], 'config': {'interfaces': [config]}})
    node.update(changes)
    return node


IP4 = 'node.nodeNetwork.config.interfaces[0].ipv4.address[0].ip'
IP6 = 'node.nodeNetwork.config.interfaces[0].ipv6.address[0].ip'
MAC0 = 'node.nodeNetwork.interfaces[0].macAddress'
BAD_NODES = [
    ('ipv4 of the master', net_worker(ipv4='10.0.0.10'), IP4, "'10.0.0.10'",
     ['an address of its own', 'master sno-a-master', 'free address in the machine network']),
    ('ipv6 of the master written otherwise', net_worker(ipv6='fd00:1:0:0::10'), IP6, "'fd00:1::10'",
     ['an address of its own', 'master sno-a-master']),
    ('ipv4 outside machineNetwork', net_worker(ipv4='192.168.5.11'), IP4, "'192.168.5.11'",
     ['inside the machineNetwork of cluster sno-a (10.0.0.0/24)', 'Use an address of that network']),
    ('ipv6 outside machineNetwork', net_worker(ipv6='fd00:2::11'), IP6, "'fd00:2::11'",
     ['inside the machineNetwork of cluster sno-a (fd00:1::/64)']),
    ('interface MAC of the master boot MAC', net_worker(mac='AA:BB:CC:00:00:01'), MAC0, "'aa:bb:cc:00:00:01'",
     ["one of this worker's own NICs", 'master sno-a-master', 'bootMACAddress', 'hardware inventory']),
    ('interface MAC of the master, lower case', net_worker(mac='aa:bb:cc:00:00:0a'), MAC0, "'aa:bb:cc:00:00:0a'",
     ['master sno-a-master', 'nodeNetwork.interfaces[1].macAddress']),
    ('boot MAC of a master NIC', net_worker(boot_mac='AA:BB:CC:00:00:0A'), 'node.bootMACAddress',
     "'aa:bb:cc:00:00:0a'", ['a MAC address not used by master sno-a-master']),
    ('minSizeGigabytes lots', dict(WORKER, rootDeviceHints={'minSizeGigabytes': 'lots'}),
     'node.rootDeviceHints.minSizeGigabytes', "'lots'", ['a whole number of gigabytes', 'minSizeGigabytes: 200']),
    ('minSizeGigabytes quoted', dict(WORKER, rootDeviceHints={'minSizeGigabytes': '200'}),
     'node.rootDeviceHints.minSizeGigabytes', "'200'", ['write minSizeGigabytes: 200 without quotes']),
    ('minSizeGigabytes negative', dict(WORKER, rootDeviceHints={'minSizeGigabytes': -1}),
     'node.rootDeviceHints.minSizeGigabytes', '-1', ['0 or more']),
    ('minSizeGigabytes boolean', dict(WORKER, rootDeviceHints={'minSizeGigabytes': True}),
     'node.rootDeviceHints.minSizeGigabytes', 'True', ['a whole number of gigabytes']),
    ('minSizeGigabytes fraction', dict(WORKER, rootDeviceHints={'minSizeGigabytes': 1.5}),
     'node.rootDeviceHints.minSizeGigabytes', '1.5', ['a whole number of gigabytes']),
    ('rotational maybe', dict(WORKER, rootDeviceHints={'rotational': 'maybe'}), 'node.rootDeviceHints.rotational',
     "'maybe'", ['true (a spinning disk) or false']),
    ('rotational quoted', dict(WORKER, rootDeviceHints={'rotational': 'False'}), 'node.rootDeviceHints.rotational',
     "'False'", ['write rotational: false without quotes']),
    ('rotational number', dict(WORKER, rootDeviceHints={'rotational': 1}), 'node.rootDeviceHints.rotational', '1',
     ['true (a spinning disk) or false']),
    ('deviceName number', dict(WORKER, rootDeviceHints={'deviceName': 42}), 'node.rootDeviceHints.deviceName', '42',
     ['a non-empty string (quote it in YAML)']),
    ('deviceName empty', dict(WORKER, rootDeviceHints={'deviceName': ''}), 'node.rootDeviceHints.deviceName', "''",
     ['a non-empty string']),
    ('hctl list', dict(WORKER, rootDeviceHints={'hctl': ['0:0:0:0']}), 'node.rootDeviceHints.hctl', "['0:0:0:0']",
     ['a non-empty string']),
    ('serialNumber mapping', dict(WORKER, rootDeviceHints={'serialNumber': {'a': 1}}),
     'node.rootDeviceHints.serialNumber', "{'a': 1}", ['a non-empty string']),
    ('bmcAddress trailing space', dict(WORKER, bmcAddress=WORKER['bmcAddress'] + ' '), 'node.bmcAddress',
     repr(WORKER['bmcAddress'] + ' '), ['without spaces', 'one at the end', 'write %r' % WORKER['bmcAddress']]),
    ('bmcAddress leading space', dict(WORKER, bmcAddress=' ' + WORKER['bmcAddress']), 'node.bmcAddress',
     repr(' ' + WORKER['bmcAddress']), ['one at the start']),
    ('bmcAddress tab inside', dict(WORKER, bmcAddress='redfish://10.0.0.11\t/redfish/v1/Systems/1'), 'node.bmcAddress',
     repr('redfish://10.0.0.11\t/redfish/v1/Systems/1'), ['one inside it', "write 'redfish://10.0.0.11/redfish"]),
    ('bmcAddress line break', dict(WORKER, bmcAddress=WORKER['bmcAddress'] + '\n'), 'node.bmcAddress',
     repr(WORKER['bmcAddress'] + '\n'), ['line breaks', 'one at the end']),
    ('bmcAddress no-break space', dict(WORKER, bmcAddress=WORKER['bmcAddress'] + '\u00a0'), 'node.bmcAddress',
     repr(WORKER['bmcAddress'] + '\u00a0'), ['one at the end']),
    ('bmcAddress with credentials and a space', dict(WORKER, bmcAddress='redfish://root:%s@10.0.0.11/x ' % SECRET),
     'node.bmcAddress', "'redfish://root:********@10.0.0.11/x '",
     ['one at the end', "write 'redfish://root:********@10.0.0.11/x'"]),
]


@pytest.mark.parametrize('case, node, field, value, words', BAD_NODES, ids=[c[0] for c in BAD_NODES])
def test_wrong_node_definitions_are_refused(run_module, tmp_path, case, node, field, value, words):
    site = tmp_path / 'site.yaml'
    site.write_text(SITE_NET)
    # credentials in the same entry: refused too, together, and never echoed
    node = dict(node, bmcCredentialsName={'name': 'sno-a-worker-0-bmc', 'password': SECRET})
    before = snapshot(tmp_path)
    out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-a', node=node)
    assert out.failed and out.result['changed'] is False if 'changed' in out.result else out.failed
    msg = out.result['msg']
    assert 'site.yaml' in msg                                  # the file
    assert '%s: invalid value %s' % (field, value) in msg      # the field and the value
    for word in words:                                         # the fix
        assert word in msg
    assert 'remove the key(s) password' in msg
    assert SECRET not in json.dumps(out.result)
    assert snapshot(tmp_path) == before


def test_worker_with_one_address_in_the_machine_network_and_one_outside_is_accepted(run_module, tmp_path):
    site = tmp_path / 'site.yaml'
    site.write_text(SITE_NET)
    node = net_worker()
    node['nodeNetwork']['config']['interfaces'].append(
        {'name': 'eno1.300', 'type': 'vlan', 'vlan': {'base-iface': 'eno1', 'id': 300},
         'ipv4': {'enabled': True, 'address': [{'ip': '172.16.3.11', 'prefix-length': 24}]}})
    out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-a', node=node)
    assert not out.failed and out.result['changed'], out.result


# --------------------------------------------------------------------------------------------------
# 15. CPU sets written with the digits (or dashes) of other scripts
# --------------------------------------------------------------------------------------------------

FOREIGN_CPUS = [
    ('arabic-indic', '\u0660-\u0663', 'U+0660 ARABIC-INDIC DIGIT ZERO'),
    ('extended arabic-indic', '0-\u06f3', 'U+06F3 EXTENDED ARABIC-INDIC DIGIT THREE'),
    ('devanagari', '\u0966-\u0969', 'U+0966 DEVANAGARI DIGIT ZERO'),
    ('bengali', '0-\u09e9', 'U+09E9 BENGALI DIGIT THREE'),
    ('thai', '0-\u0e53', 'U+0E53 THAI DIGIT THREE'),
    ('fullwidth', '\uff10-\uff13', 'U+FF10 FULLWIDTH DIGIT ZERO'),
    ('mathematical bold', '0-\U0001d7d1', 'U+1D7D1 MATHEMATICAL BOLD DIGIT THREE'),
    ('superscript', '0-\u00b3', 'U+00B3 SUPERSCRIPT THREE'),
    ('en dash', '0\u20133', 'U+2013 EN DASH'),
    ('minus sign', '0\u22123', 'U+2212 MINUS SIGN'),
    ('no-break space', '0,\u00a01-3', 'U+00A0 NO-BREAK SPACE'),
    ('one foreign digit in a list', '0-1,\u0662,3', 'U+0662 ARABIC-INDIC DIGIT TWO'),
]


@pytest.mark.parametrize('kind, cpus, name', FOREIGN_CPUS, ids=[c[0] for c in FOREIGN_CPUS])
def test_cpu_set_with_foreign_characters_is_refused(run_module, policies, kind, cpus, name):
    before = snapshot(policies)
    out = run_module(ztp_policygen_worker, **policy(str(policies / 'policies' / 'example-sno-workers.yaml'),
                                                    reserved_cpus=cpus, isolated_cpus='4-47'))
    assert out.failed
    msg = out.result['msg']
    assert 'reserved_cpus' in msg and repr(cpus) in msg               # the field and the value
    assert name in msg                                                # which character
    assert 'write CPU numbers with the ASCII digits 0-9' in msg       # the fix
    assert snapshot(policies) == before


@pytest.mark.parametrize('kind, cpus, name', FOREIGN_CPUS, ids=[c[0] for c in FOREIGN_CPUS])
def test_cpuset_parse_refuses_foreign_characters(kind, cpus, name):
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _cpuset as cpuset
    with pytest.raises(ZtpInputError) as error:
        cpuset.parse(cpus, 'isolated_cpus')
    assert error.value.field == 'isolated_cpus' and error.value.value == cpus and name in str(error.value)


# --------------------------------------------------------------------------------------------------
# 5, 17, 19. YAML shapes: flow style with comments, CRLF, anchors, a neighbour's comment, an alias for nodes
# --------------------------------------------------------------------------------------------------

SITE_HEAD = """\
apiVersion: ran.openshift.io/v1
kind: SiteConfig
metadata:
  name: sno-a
  namespace: sno-a
spec:
  clusters:
  - clusterName: sno-a
"""
FLOW_NODES = SITE_HEAD + """\
    nodes: [
      # the master: do not touch
      {hostName: sno-a-master, role: master,   # installed 2024
       bmcAddress: "ipmi://10.0.0.10", bmcCredentialsName: {name: sno-a-master-bmc},
       bootMACAddress: "AA:BB:CC:00:00:01"},  # rack 3
    ]
    # after the nodes
"""
WORKER_1 = dict(WORKER, hostName='sno-a-worker-1', bootMACAddress='AA:BB:CC:00:00:12',
                bmcCredentialsName={'name': 'sno-a-worker-1-bmc'})


def edit_module(run_module, path, node, state='present'):
    out = run_module(ztp_siteconfig_node, path=str(path), cluster='sno-a', node=node, state=state)
    assert not out.failed, out.result
    return out.result


def test_flow_nodes_with_comments_keep_the_comments_and_the_master(run_module, tmp_path):
    site = tmp_path / 'site.yaml'
    site.write_text(FLOW_NODES)
    assert edit_module(run_module, site, WORKER)['changed']
    text = site.read_text()
    master = FLOW_NODES[FLOW_NODES.index('    nodes: ['):FLOW_NODES.index('    ]')]
    assert text.startswith(SITE_HEAD + master)                    # comments and the master as they were
    assert '# after the nodes' in text
    assert yaml.safe_load(text)['spec']['clusters'][0]['nodes'][1] == WORKER
    assert edit_module(run_module, site, WORKER_1)['changed']
    assert edit_module(run_module, site, {'hostName': 'sno-a-worker-0'}, 'absent')['changed']
    text = site.read_text()
    assert text.startswith(SITE_HEAD + master) and 'sno-a-worker-0' not in text
    assert [n['hostName'] for n in yaml.safe_load(text)['spec']['clusters'][0]['nodes']] == [
        'sno-a-master', 'sno-a-worker-1']
    assert edit_module(run_module, site, {'hostName': 'sno-a-worker-1'}, 'absent')['changed']
    assert site.read_text() == FLOW_NODES


def test_flow_nodes_on_one_line_with_a_comment(run_module, tmp_path):
    site = tmp_path / 'site.yaml'
    text = SITE_HEAD + ('    nodes: [{hostName: sno-a-master, role: master, bmcAddress: "ipmi://10.0.0.10", '
                        'bmcCredentialsName: {name: m-bmc}, bootMACAddress: "AA:BB:CC:00:00:01"}]  # the SNO\n')
    site.write_text(text)
    assert edit_module(run_module, site, WORKER)['changed']
    after = site.read_text()
    assert after.startswith(text.split('}]', maxsplit=1)[0] + '}, {hostName: sno-a-worker-0')
    assert after.endswith('}]  # the SNO\n')


CRLF_SITE = SITE.replace('\n', '\r\n')


@pytest.mark.parametrize('steps', [['add'], ['add', 'update'], ['add', 'remove']])
def test_crlf_file_stays_crlf(run_module, tmp_path, steps):
    site = tmp_path / 'site.yaml'
    site.write_bytes(CRLF_SITE.encode())
    for step in steps:
        if step == 'add':
            edit_module(run_module, site, WORKER)
        elif step == 'update':
            edit_module(run_module, site, dict(WORKER, bootMode='UEFISecureBoot'))
        else:
            edit_module(run_module, site, {'hostName': 'sno-a-worker-0'}, 'absent')
    data = site.read_bytes()
    assert data.count(b'\n') == data.count(b'\r\n') and data.count(b'\r') == data.count(b'\n')
    if steps[-1] == 'remove':
        assert data == CRLF_SITE.encode()
    else:
        assert b'sno-a-worker-0' in data and data.startswith(CRLF_SITE.split('  - clusterName: sno-b', maxsplit=1)[0].encode())


ANCHORED = [
    ('anchor on the credentials', SITE.replace('      bmcCredentialsName:\n        name: sno-a-master-bmc',
                                               '      bmcCredentialsName: &master-credentials\n'
                                               '        name: sno-a-master-bmc')),
    ('anchor on the master entry', SITE.replace('    - hostName: sno-a-master', '    - &sno-a-master-node\n'
                                                '      hostName: sno-a-master')),
    ('anchor before the first key', SITE.replace('    - hostName: sno-a-master', '    - &m hostName: sno-a-master')),
    ('tag on the credentials', SITE.replace('      bmcCredentialsName:\n        name: sno-a-master-bmc',
                                            '      bmcCredentialsName: !!map\n        name: sno-a-master-bmc')),
]


@pytest.mark.parametrize('case, text', ANCHORED, ids=[c[0] for c in ANCHORED])
def test_anchor_on_a_neighbour_does_not_push_new_keys_deep(run_module, tmp_path, case, text):
    site = tmp_path / 'site.yaml'
    site.write_text(text)
    edit_module(run_module, site, dict(WORKER, rootDeviceHints={'deviceName': '/dev/sda'}))
    after = site.read_text()
    added = after[after.index('    - hostName: sno-a-worker-0'):after.index('  - clusterName: sno-b')]
    assert added == ('    - hostName: sno-a-worker-0\n      role: worker\n'
                     '      bmcAddress: redfish-virtualmedia+https://10.0.0.11/redfish/v1/Systems/1\n'
                     '      bmcCredentialsName:\n        name: sno-a-worker-0-bmc\n'
                     '      bootMACAddress: AA:BB:CC:00:00:02\n      rootDeviceHints:\n        deviceName: /dev/sda\n')
    assert after.replace(added, '') == text


NEIGHBOUR_COMMENTS = [
    ('comment at the keys of the next worker', '      # worker 1: rack 7, ask the site team\n'),
    ('comment at the dash of the next worker', '    # worker 1: rack 7, ask the site team\n'),
    ('two comment lines', '      # worker 1: rack 7\n      # ask the site team\n'),
]


@pytest.mark.parametrize('case, comment', NEIGHBOUR_COMMENTS, ids=[c[0] for c in NEIGHBOUR_COMMENTS])
def test_removing_a_worker_keeps_the_next_workers_comment(run_module, tmp_path, case, comment):
    site = tmp_path / 'site.yaml'
    site.write_text(SITE)
    edit_module(run_module, site, WORKER)
    edit_module(run_module, site, WORKER_1)
    with_one = site.read_text()
    text = with_one.replace('    - hostName: sno-a-worker-1', comment + '    - hostName: sno-a-worker-1')
    site.write_text(text)
    edit_module(run_module, site, {'hostName': 'sno-a-worker-0'}, 'absent')
    after = site.read_text()
    assert comment + '    - hostName: sno-a-worker-1' in after
    assert 'sno-a-worker-0' not in after


ALIASED = SITE.replace('  - clusterName: sno-b\n    nodes:\n', '  - clusterName: sno-b\n    nodes: &shared\n') \
    + '''    - hostName: sno-c-worker-9
      role: worker
      bmcAddress: ipmi://10.0.0.29
      bmcCredentialsName:
        name: sno-c-worker-9-bmc
      bootMACAddress: "AA:BB:CC:00:00:29"
  - clusterName: sno-c
    nodes: *shared
'''


@pytest.mark.parametrize('state, node', [('present', dict(WORKER, hostName='sno-c-worker-0')),
                                         ('present', {'hostName': 'sno-b-master'}),
                                         ('absent', {'hostName': 'sno-c-worker-9'})],
                         ids=['add', 'update', 'remove'])
def test_alias_to_a_nodes_list_is_refused_clearly(run_module, tmp_path, state, node):
    site = tmp_path / 'site.yaml'
    site.write_text(ALIASED)
    before = snapshot(tmp_path)
    out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-c', node=node, state=state)
    assert out.failed
    msg = out.result['msg']
    if node.get('hostName') == 'sno-b-master':
        assert 'the master of cluster sno-c' in msg
    else:
        assert 'site.yaml' in msg and "cluster sno-c: nodes: invalid value '*shared'" in msg
        assert 'Replace the alias by a copy of the list' in msg and 'nothing was written' in msg
    assert 'produced invalid YAML' not in msg
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------------------------------
# issue 14 item 8: ClusterInstance changes that the siteconfig webhook would refuse are refused before writing
# --------------------------------------------------------------------------------------------------

CI = """\
apiVersion: siteconfig.open-cluster-management.io/v1alpha1
kind: ClusterInstance
metadata:
  name: ci-sno
  namespace: ci-sno
spec:
  clusterName: ci-sno
  clusterType: SNO
  templateRefs:
  - {name: ai-cluster-templates-v1, namespace: open-cluster-management}
  nodes:
  - hostName: ci-sno-master
    role: master
    bmcAddress: ipmi://10.0.0.10
    bmcCredentialsName: {name: ci-sno-master-bmc}
    bootMACAddress: "AA:BB:CC:00:00:01"
    templateRefs:
    - {name: ai-node-templates-v1, namespace: open-cluster-management}
  - hostName: ci-sno-worker-0
    role: worker
    bmcAddress: redfish-virtualmedia+https://10.0.0.11/redfish/v1/Systems/1
    bmcCredentialsName: {name: ci-sno-worker-0-bmc}
    bootMACAddress: "AA:BB:CC:00:00:02"
    templateRefs:
    - {name: ai-node-templates-v1, namespace: open-cluster-management}
"""
CI_WORKER = {'hostName': 'ci-sno-worker-0', 'role': 'worker',
             'bmcAddress': 'redfish-virtualmedia+https://10.0.0.11/redfish/v1/Systems/1',
             'bmcCredentialsName': {'name': 'ci-sno-worker-0-bmc'}, 'bootMACAddress': 'AA:BB:CC:00:00:02',
             'templateRefs': [{'name': 'ai-node-templates-v1', 'namespace': 'open-cluster-management'}]}
IN_PROGRESS = CI + "status:\n  conditions:\n  - type: Provisioned\n    status: 'False'\n    reason: InProgress\n"
WEBHOOK_CASES = [
    ('bootMode changed', CI, 'present', dict(CI_WORKER, bootMode='UEFISecureBoot'), 'node.bootMode',
     "'UEFISecureBoot'", ['accepts changes of an existing node only in extraAnnotations',
                          'remove the worker (state: absent) and publish, then add it again']),
    ('bmcAddress changed', CI, 'present', dict(CI_WORKER, bmcAddress='redfish://10.0.0.99/redfish/v1/Systems/1'),
     'node.bmcAddress', "'redfish://10.0.0.99/redfish/v1/Systems/1'", ["(%r)" % CI_WORKER['bmcAddress']]),
    ('nodeLabels added', CI, 'present', dict(CI_WORKER, nodeLabels={'rack': '7'}), 'node.nodeLabels',
     "{'rack': '7'}", ['(None)']),
    ('add while provisioning', IN_PROGRESS, 'present',
     dict(CI_WORKER, hostName='ci-sno-worker-1', bootMACAddress='AA:BB:CC:00:00:03'),
     'cluster ci-sno: status.conditions[Provisioned]', "'InProgress'",
     ['refuses every spec change', 'was not written', 'Wait until the Provisioned condition is Completed']),
    ('remove while provisioning', IN_PROGRESS, 'absent', {'hostName': 'ci-sno-worker-0'},
     'cluster ci-sno: status.conditions[Provisioned]', "'InProgress'", ['was not removed']),
    ('add without clusterType', CI.replace('  clusterType: SNO\n', ''), 'present',
     dict(CI_WORKER, hostName='ci-sno-worker-1', bootMACAddress='AA:BB:CC:00:00:03'),
     'cluster ci-sno: clusterType', 'None', ['spec.clusterType: SNO', 'refuses adding it to a provisioned cluster']),
]


@pytest.mark.parametrize('case, text, state, node, field, value, words', WEBHOOK_CASES,
                         ids=[c[0] for c in WEBHOOK_CASES])
def test_clusterinstance_changes_the_webhook_refuses(run_module, tmp_path, case, text, state, node, field, value,
                                                     words):
    path = tmp_path / 'ci.yaml'
    path.write_text(text)
    before = snapshot(tmp_path)
    out = run_module(ztp_siteconfig_node, path=str(path), cluster='ci-sno', node=node, state=state)
    assert out.failed
    msg = out.result['msg']
    assert 'ci.yaml' in msg and '%s: invalid value %s' % (field, value) in msg
    for word in words:
        assert word in msg
    assert 'siteconfig webhook' in msg
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize('change', [{'extraLabels': {'BareMetalHost': {'rack': '7'}}},
                                    {'extraAnnotations': {'BareMetalHost': {'note': 'x'}}},
                                    {'suppressedManifests': ['BareMetalHost']},
                                    {'pruneManifests': [{'apiVersion': 'v1', 'kind': 'ConfigMap'}]}],
                         ids=['extraLabels', 'extraAnnotations', 'suppressedManifests', 'pruneManifests'])
def test_clusterinstance_changes_the_webhook_accepts(run_module, tmp_path, change):
    path = tmp_path / 'ci.yaml'
    path.write_text(CI)
    out = run_module(ztp_siteconfig_node, path=str(path), cluster='ci-sno', node=dict(CI_WORKER, **change))
    assert not out.failed and out.result['changed'] and not out.result.get('warnings'), out.result


def test_clusterinstance_unchanged_worker_is_fine_while_provisioning(run_module, tmp_path):
    path = tmp_path / 'ci.yaml'
    path.write_text(IN_PROGRESS)
    out = run_module(ztp_siteconfig_node, path=str(path), cluster='ci-sno', node=CI_WORKER)
    assert not out.failed and not out.result['changed'], out.result


# --------------------------------------------------------------------------------------------------
# 12. many edits of one big file: one parse and one write
# --------------------------------------------------------------------------------------------------

def fleet_text(count):
    text = SITE_HEAD.split('  - clusterName: sno-a\n', maxsplit=1)[0]
    for i in range(count):
        text += ('  # site %(i)d\n  - clusterName: sno-%(i)04d\n    nodes:\n    - hostName: sno-%(i)04d-master\n'
                 '      role: master\n      bmcAddress: ipmi://10.1.%(i)d.10\n      bmcCredentialsName:\n'
                 '        name: sno-%(i)04d-master-bmc\n      bootMACAddress: "AA:BB:CC:01:%(x)02X:01"\n'
                 % {'i': i, 'x': i % 256})
    return text


def fleet_worker(i):
    return {'hostName': 'sno-%04d-worker-0' % i, 'role': 'worker', 'bmcAddress': 'ipmi://10.1.%d.11' % i,
            'bmcCredentialsName': {'name': 'sno-%04d-worker-0-bmc' % i},
            'bootMACAddress': 'AA:BB:CC:02:%02X:02' % (i % 256)}


def test_set_nodes_equals_one_set_node_after_the_other():
    text = fleet_text(40)
    edits = [('sno-%04d' % i, fleet_worker(i)) for i in range(0, 40, 3)]
    one_by_one = text
    for cluster, node in edits:
        one_by_one = siteconfig.set_node(one_by_one, cluster, node)[0]
    together, outcomes = siteconfig.set_nodes(text, edits)
    assert together == one_by_one
    assert [o['entry'] for o in outcomes] == [n for c, n in edits] and not any(o['error'] for o in outcomes)


def test_set_nodes_parses_the_big_file_about_once(monkeypatch):
    text = fleet_text(300)
    calls = {'parse': 0, 'load': 0}
    parse, load = yaml_edit._parse_nodes, yaml_load.fast_load_all

    def counted_parse(value):
        calls['parse'] += 1
        return parse(value)

    def counted_load(value):
        calls['load'] += 1
        return load(value)
    monkeypatch.setattr(yaml_edit, '_parse_nodes', counted_parse)
    monkeypatch.setattr(yaml_edit, 'fast_load_all', counted_load)
    monkeypatch.setattr(yaml_load, 'fast_load_all', counted_load)
    new_text, outcomes = siteconfig.set_nodes(text, [('sno-%04d' % i, fleet_worker(i)) for i in range(0, 300, 3)])
    assert calls['parse'] <= 1 and calls['load'] <= 3, calls
    assert new_text.count('-worker-0\n') == 100 and not any(o['error'] for o in outcomes)
    assert yaml.safe_load(new_text)['spec']['clusters'][297]['nodes'][1] == fleet_worker(297)


def test_set_nodes_reports_each_refusal_and_makes_the_other_edits():
    text = fleet_text(5)
    edits = [('sno-0000', fleet_worker(0)), ('sno-0001', dict(fleet_worker(1), bootMACAddress='AA:BB:CC:01:01:01')),
             ('sno-0002', fleet_worker(2)), ('sno-0009', fleet_worker(9)),
             ('sno-0003', dict(fleet_worker(3), bmcAddress='ipmi://admin:%s@10.1.3.11' % SECRET))]
    new_text, outcomes = siteconfig.set_nodes(text, edits, where='fleet.yaml')
    errors = [str(o['error']) if o['error'] else None for o in outcomes]
    assert errors[0] is None and errors[2] is None
    assert 'node.bootMACAddress' in errors[1] and 'sno-0001-master' in errors[1]
    assert "cluster: invalid value 'sno-0009'" in errors[3]
    assert 'admin:********@10.1.3.11' in errors[4] and SECRET not in ''.join(errors[4])
    clusters = yaml.safe_load(new_text)['spec']['clusters']
    assert [len(c['nodes']) for c in clusters] == [2, 1, 2, 1, 1]


def test_set_nodes_catches_duplicates_inside_the_batch():
    text = fleet_text(3)
    edits = [('sno-0000', fleet_worker(0)), ('sno-0000', dict(fleet_worker(0), hostName='other', bmcAddress='ipmi://x'))]
    new_text, outcomes = siteconfig.set_nodes(text, edits)
    assert outcomes[0]['error'] is None
    assert 'a MAC address not used by node sno-0000-worker-0' in str(outcomes[1]['error'])
    # the same worker twice: the later entry wins, added once
    edits = [('sno-0001', fleet_worker(1)), ('sno-0001', dict(fleet_worker(1), bootMode='UEFI'))]
    new_text, outcomes = siteconfig.set_nodes(text, edits)
    nodes = yaml.safe_load(new_text)['spec']['clusters'][1]['nodes']
    assert len(nodes) == 2 and nodes[1]['bootMode'] == 'UEFI'


def test_apply_nodes_writes_nothing_when_one_edit_is_refused(tmp_path):
    path = tmp_path / 'fleet.yaml'
    path.write_text(fleet_text(4))
    before = snapshot(tmp_path)
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as error:
        siteconfig.apply_nodes(str(path), [('sno-0000', fleet_worker(0)),
                                           ('sno-0001', dict(fleet_worker(1), role='master'))])
    assert 'node.role' in str(error.value) and 'fleet.yaml' in str(error.value)
    assert snapshot(tmp_path) == before
    result = siteconfig.apply_nodes(str(path), [('sno-0000', fleet_worker(0)), ('sno-0001', fleet_worker(1))])
    assert result['changed'] and [o['entry']['hostName'] for o in result['outcomes']] == [
        'sno-0000-worker-0', 'sno-0001-worker-0']


# --------------------------------------------------------------------------------------------------
# 19. short tokens and temporary files
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('token, text, shown', [
    ('a', 'fatal: a remote error: access denied', 'fatal: ******** remote error: access denied'),
    ('e', 'remote: Permission denied (token e)', 'remote: Permission denied (token ********)'),
    ('abc', 'https://user:abc@host/x abcdef', 'https://user:********@host/x abcdef'),
    (TOKEN_LONG := 'glpat-0123456789abcdef', 'prefix%ssuffix' % 'glpat-0123456789abcdef', 'prefix********suffix'),
])
def test_scrub_masks_short_tokens_only_where_they_stand_alone(token, text, shown):
    assert gitops.scrub(text, [token]) == shown


@pytest.mark.parametrize('name, temporary', [
    ('.site.yaml.ztp-tmp-123-abcdefgh', True), ('clusters/.kustomization.yaml.ztp-tmp-9-x1', True),
    ('site.yaml', False), ('.site.yaml.tmp', False), ('ztp-tmp-1-a', False), ('.a.ztp-tmp-x-1', False)])
def test_temporary_names(name, temporary):
    assert yaml_files.is_temporary_name(name) is temporary


def test_alias_on_the_line_after_nodes_is_refused_clearly(run_module, tmp_path):
    site = tmp_path / 'site.yaml'
    site.write_text(ALIASED.replace('    nodes: *shared\n', '    nodes:\n      *shared\n'))
    before = snapshot(tmp_path)
    out = run_module(ztp_siteconfig_node, path=str(site), cluster='sno-c', node=dict(WORKER, hostName='sno-c-w'))
    assert out.failed and "cluster sno-c: nodes: invalid value '*shared'" in out.result['msg']
    assert snapshot(tmp_path) == before
