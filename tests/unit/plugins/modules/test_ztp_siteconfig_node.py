# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.modules import ztp_siteconfig_node

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
"""

WORKER = {
    'hostName': 'sno-a-worker-0',
    'role': 'worker',
    'bmcAddress': 'redfish-virtualmedia+https://10.0.0.11/redfish/v1/Systems/1',
    'bmcCredentialsName': {'name': 'sno-a-worker-0-bmc'},
    'bootMACAddress': 'AA:BB:CC:00:00:02',
    'bootMode': 'UEFI',
}


class Exit(Exception):
    def __init__(self, result, failed):
        super(Exit, self).__init__(result)
        self.result = result
        self.failed = failed


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def runner(**args):
        with patch_module_args(args):
            with pytest.raises(Exit) as info:
                ztp_siteconfig_node.main()
        return info.value
    return runner


@pytest.fixture
def site(tmp_path):
    path = tmp_path / 'site.yaml'
    path.write_text(SITE)
    return path


def test_add_with_diff_then_idempotent(run, site):
    out = run(path=str(site), cluster='sno-a', node=WORKER, _ansible_diff=True)
    assert not out.failed and out.result['changed'] is True
    assert out.result['format'] == 'siteconfig-v1'
    assert out.result['node'] == WORKER
    assert out.result['diff']['before'] == SITE
    assert out.result['diff']['after'] == site.read_text()
    assert site.read_text().startswith(SITE)
    again = run(path=str(site), cluster='sno-a', node=WORKER)
    assert again.result['changed'] is False and 'diff' not in again.result


def test_check_mode_writes_nothing(run, site):
    out = run(path=str(site), cluster='sno-a', node=WORKER, _ansible_check_mode=True, _ansible_diff=True)
    assert out.result['changed'] is True
    assert 'sno-a-worker-0' in out.result['diff']['after']
    assert site.read_text() == SITE


@pytest.mark.parametrize('node, words', [
    (dict(WORKER, bootMACAddress='not-a-mac'), ['bootMACAddress', 'not-a-mac']),
    (dict(WORKER, role='master'), ['role', "'worker'"]),
    (dict(WORKER, installerArgs=['--append-karg', 'x']), ['installerArgs', 'write it as a JSON string']),
])
def test_bad_input_leaves_file_byte_identical(run, site, node, words):
    before = site.read_bytes()
    out = run(path=str(site), cluster='sno-a', node=node)
    assert out.failed
    for word in words:
        assert word in out.result['msg']
    assert site.read_bytes() == before


def test_unknown_cluster_fails(run, site):
    out = run(path=str(site), cluster='sno-z', node=WORKER)
    assert out.failed and 'sno-a' in out.result['msg']


def test_absent_removes_worker(run, site):
    run(path=str(site), cluster='sno-a', node=WORKER)
    out = run(path=str(site), cluster='sno-a', node={'hostName': 'sno-a-worker-0'}, state='absent')
    assert out.result['changed'] is True and out.result['node'] is None
    assert site.read_text() == SITE
    out = run(path=str(site), cluster='sno-a', node={'hostName': 'sno-a-worker-0'}, state='absent')
    assert out.result['changed'] is False


def test_missing_file_fails(run, tmp_path):
    out = run(path=str(tmp_path / 'missing.yaml'), cluster='sno-a', node=WORKER)
    assert out.failed and 'existing SiteConfig or ClusterInstance file' in out.result['msg']
    assert not (tmp_path / 'missing.yaml').exists()
