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
from ansible_collections.ztp.sno_expand.plugins.modules import ztp_siteconfig_node_removal

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
    - hostName: sno-a-worker-0   # rack 7
      role: worker
      bootMACAddress: "AA:BB:CC:00:00:02"
"""
CI = """\
apiVersion: siteconfig.open-cluster-management.io/v1alpha1
kind: ClusterInstance
metadata:
  name: ci-b
  namespace: ci-b
spec:
  clusterName: ci-b
  clusterType: SNO
  nodes:
    - hostName: ci-b-master
      role: master
    - hostName: ci-b-worker-0
      role: worker
"""


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
                ztp_siteconfig_node_removal.main()
        return info.value
    return runner


@pytest.fixture
def repo(tmp_path):
    (tmp_path / 'site.yaml').write_text(SITE)
    (tmp_path / 'ci.yaml').write_text(CI)
    return tmp_path


NODES = [{'path': 'site.yaml', 'cluster': 'sno-a', 'workers': ['sno-a-worker-0']},
         {'path': 'ci.yaml', 'cluster': 'ci-b', 'workers': ['ci-b-worker-0'], 'namespace': 'ci-ns'}]


def test_all_steps_for_both_formats_in_one_call_each(run, repo):
    for step, state in (('annotate', 'annotated'), ('suppress', 'suppressed'), ('remove', 'absent')):
        out = run(repo_dir=str(repo), removal_step=step, clusters=NODES, _ansible_diff=True)
        assert not out.failed, out.result
        assert out.result['changed'] and sorted(out.result['paths']) == ['ci.yaml', 'site.yaml']
        assert [n['state'] for n in out.result['nodes']] == [state, state] and len(out.result['diff']) == 2
        again = run(repo_dir=str(repo), removal_step=step, clusters=NODES)
        assert again.result['changed'] is False and again.result['paths'] == []
    assert 'sno-a-worker-0' not in (repo / 'site.yaml').read_text()
    assert '# the SNO' in (repo / 'site.yaml').read_text()
    assert 'ci-b-worker-0' not in (repo / 'ci.yaml').read_text()
    out = run(repo_dir=str(repo), removal_step='status', clusters=NODES)
    assert [n['state'] for n in out.result['nodes']] == ['absent', 'absent'] and not out.result['changed']
    assert [n['namespace'] for n in out.result['nodes']] == ['sno-a', 'ci-ns']
    out = run(repo_dir=str(repo), removal_step='annotate', clusters=NODES)
    assert out.failed and 'its nodes: sno-a-master' in out.result['msg']
    out = run(repo_dir=str(repo), removal_step='annotate', clusters=NODES, absent_ok=True)
    assert not out.failed and not out.result['changed'] and [n['state'] for n in out.result['nodes']] == ['absent', 'absent']


def test_check_mode_and_errors_write_nothing(run, repo):
    out = run(repo_dir=str(repo), removal_step='annotate', clusters=NODES, _ansible_check_mode=True)
    assert out.result['changed'] and (repo / 'site.yaml').read_text() == SITE
    bad = NODES + [{'path': 'ci.yaml', 'cluster': 'ci-b', 'workers': ['ci-b-master']}]
    out = run(repo_dir=str(repo), removal_step='annotate', clusters=bad)
    assert out.failed and 'ci-b-master' in out.result['msg'] and 'master' in out.result['errors'][0]
    assert (repo / 'site.yaml').read_text() == SITE and (repo / 'ci.yaml').read_text() == CI
    out = run(repo_dir=str(repo), removal_step='suppress', clusters=NODES)
    assert out.failed and len(out.result['errors']) == 2 and 'OCPBUGS-38801' in out.result['msg']


def test_worker_policy_step_removes_the_template_and_its_entry(run, repo):
    (repo / 'sno-a-workers.yaml').write_text(
        'apiVersion: ran.openshift.io/v1\nkind: PolicyGenTemplate\nmetadata:\n  name: sno-a-workers\n  namespace: ztp-site\n'
        'spec:\n  bindingRules:\n    sites: sno-a\n')
    (repo / 'kustomization.yaml').write_text('generators:\n- site.yaml\n- sno-a-workers.yaml\n')
    clusters = [dict(NODES[0], worker_policy={'path': 'sno-a-workers.yaml', 'name': 'sno-a-workers', 'namespace': 'ztp-site'})]
    shown = run(repo_dir=str(repo), removal_step='worker_policy', clusters=clusters, _ansible_check_mode=True, _ansible_diff=True)
    assert shown.result['changed'] and (repo / 'sno-a-workers.yaml').exists() and len(shown.result['diff']) == 2
    out = run(repo_dir=str(repo), removal_step='worker_policy', clusters=clusters)
    assert not out.failed and out.result['policies'] == ['sno-a-workers-config-policy']
    assert sorted(out.result['paths']) == ['kustomization.yaml', 'sno-a-workers.yaml']
    assert not (repo / 'sno-a-workers.yaml').exists() and (repo / 'kustomization.yaml').read_text() == 'generators:\n- site.yaml\n'
    again = run(repo_dir=str(repo), removal_step='worker_policy', clusters=clusters)
    assert not again.result['changed'] and again.result['paths'] == []
    # the cluster file is never taken for a worker policy
    wrong = [dict(NODES[0], worker_policy={'path': 'site.yaml', 'name': 'sno-a-workers'})]
    refused = run(repo_dir=str(repo), removal_step='worker_policy', clusters=wrong)
    assert refused.failed and 'it is not removed' in refused.result['msg'] and (repo / 'site.yaml').read_text() == SITE
