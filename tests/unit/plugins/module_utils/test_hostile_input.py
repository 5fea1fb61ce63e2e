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
from ansible_collections.ztp.sno_expand.plugins.module_utils import errors as E
from ansible_collections.ztp.sno_expand.plugins.module_utils import gitops, policygen, siteconfig, yaml_edit
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import ZtpInputError, ZtpInputErrors
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

pytestmark = pytest.mark.skipif(not yaml_edit.HAS_RUAMEL, reason='ruamel.yaml is not installed')

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
    ref = siteconfig.find_cluster(yaml_edit.load_documents(SITE), 'sno-a', 'site.yaml')
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
    from ansible_collections.ztp.sno_expand.plugins.module_utils import yaml_edit
    if sys.argv[2] == 'silent':  # an older run: holds the lock without naming itself
        lock_file = yaml_edit.lock_path(sys.argv[1])
        os.makedirs(os.path.dirname(lock_file), exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print('locked', flush=True)
        sys.stdin.read()
    else:
        with yaml_edit.file_lock(sys.argv[1]):
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
    assert yaml_edit.lock_path(str(target)) in msg                   # the lock file
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
    assert os.path.getsize(yaml_edit.lock_path(str(tmp_path))) == 0


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
    assert yaml_edit.LOCK_TIMEOUT == 600
    old = os.environ.pop('ZTP_LOCK_TIMEOUT', None)
    try:
        assert yaml_edit.lock_timeout() == 600
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
