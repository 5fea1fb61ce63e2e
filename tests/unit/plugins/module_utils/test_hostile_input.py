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

import pytest
import yaml

from unittest.mock import MagicMock

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.ztp.sno_expand.plugins.action.ztp_gitops_batch import ActionModule as BatchAction
from ansible_collections.ztp.sno_expand.plugins.module_utils import errors as E
from ansible_collections.ztp.sno_expand.plugins.module_utils import policygen, siteconfig, yaml_edit
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
