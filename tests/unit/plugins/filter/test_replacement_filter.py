# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of ztp_replacement_plan: what replace_workers.yml removes and adds again for one cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ztp.sno_expand.plugins.filter.replacement import ztp_replacement_plan
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load

pytestmark = pytest.mark.skipif(not yaml_load.HAS_RUAMEL, reason='ruamel.yaml is not installed')

SITECONFIG = """\
apiVersion: ran.openshift.io/v2
kind: SiteConfig
metadata:
  name: sno-b
  namespace: sno-b
spec:
  baseDomain: example.com
  clusters:
  - clusterName: sno-b
    nodes:
      - hostName: sno-b-master
        role: master
        bmcAddress: "ipmi://10.0.0.20"
        bmcCredentialsName:
          name: sno-b-master-bmc
        bootMACAddress: "AA:BB:CC:00:00:02"
      - hostName: sno-b-worker
        role: worker
        bmcAddress: "ipmi://10.0.0.21"
        bmcCredentialsName:
          name: sno-b-worker-bmc
        bootMACAddress: "AA:BB:CC:00:00:03"
"""

WITHOUT_WORKER = SITECONFIG[:SITECONFIG.index('      - hostName: sno-b-worker')]


def _worker(mac, host='sno-b-worker'):
    return {'hostName': host, 'role': 'worker', 'bmcAddress': 'ipmi://10.0.0.31', 'bmcCredentialsName': {'name': 'new-bmc'},
            'bootMACAddress': mac}


def _info(ready):
    return [{'metadata': {'name': 'sno-b', 'namespace': 'sno-b'},
             'status': {'nodeList': [{'name': 'sno-b-worker', 'conditions': [{'type': 'Ready', 'status': 'True' if ready else 'False'}]}]}}]


def test_new_mac_removes_then_adds():
    plan = ztp_replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker'], [_worker('aa:bb:cc:00:00:99')], _info(False))
    assert plan == {'remove': ['sno-b-worker'], 'add': ['sno-b-worker'], 'replaced': [], 'errors': []}


def test_worker_missing_from_git_is_only_added():
    """A run that stopped between the removal and the addition: the next run adds the worker."""
    plan = ztp_replacement_plan(WITHOUT_WORKER, 'sno-b', ['sno-b-worker'], [_worker('aa:bb:cc:00:00:99')], [])
    assert plan == {'remove': [], 'add': ['sno-b-worker'], 'replaced': [], 'errors': []}


def test_new_mac_in_git_and_ready_is_already_replaced():
    plan = ztp_replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker'], [_worker('aa:bb:cc:00:00:03')], _info(True))
    assert plan == {'remove': [], 'add': ['sno-b-worker'], 'replaced': ['sno-b-worker'], 'errors': []}


def test_same_mac_and_not_ready_is_not_a_replacement():
    plan = ztp_replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker'], [_worker('AA:BB:CC:00:00:03')], _info(False),
                                path='siteconfig/sno-b.yaml')
    assert plan['remove'] == [] and plan['add'] == [] and len(plan['errors']) == 1
    assert "bootMACAddress: invalid value 'AA:BB:CC:00:00:03'" in plan['errors'][0]
    assert 'siteconfig/sno-b.yaml' in plan['errors'][0] and 'not a replacement' in plan['errors'][0]


def test_name_without_new_entry_and_master_are_refused():
    plan = ztp_replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker-9', 'sno-b-master'],
                                [_worker('aa:bb:cc:00:00:99'), _worker('aa:bb:cc:00:00:98', 'sno-b-master')], [])
    assert plan['remove'] == [] and plan['add'] == []
    assert "ztp_replace_workers: invalid value 'sno-b-worker-9'" in plan['errors'][0]
    assert 'add the entry of the new hardware' in plan['errors'][0]
    assert 'is the master of cluster sno-b' in plan['errors'][1]


def test_bad_new_entry_is_refused_before_the_removal():
    """The new entry is checked against the other nodes of the cluster: the master's MAC is refused."""
    plan = ztp_replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker'], [_worker('aa:bb:cc:00:00:02')], [])
    assert plan['remove'] == [] and 'a MAC address not used by node sno-b-master' in plan['errors'][0]


def test_unknown_cluster_fails():
    with pytest.raises(AnsibleFilterError, match='one of the clusters in the file: sno-b'):
        ztp_replacement_plan(SITECONFIG, 'sno-x', ['sno-b-worker'], [], [])


def test_a_reinstall_of_the_same_hardware_is_recorded_by_its_generation():
    from ansible_collections.ztp.sno_expand.plugins.plugin_utils._replacement import REINSTALL_ANNOTATION, replacement_plan
    same = _worker('AA:BB:CC:00:00:03')
    # without a generation, the same bootMACAddress of a node that is not Ready is refused (not a replacement)
    assert ztp_replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker'], [same], _info(False))['errors']
    first = replacement_plan(SITECONFIG, 'sno-b', ['sno-b-worker'], [same], _info(True), generation='2026-12')
    assert first == {'remove': ['sno-b-worker'], 'add': ['sno-b-worker'], 'replaced': [], 'errors': []}
    recorded = SITECONFIG + ('        crAnnotations:\n          add:\n            BareMetalHost:\n              %s: "2026-12"\n'
                             % REINSTALL_ANNOTATION)
    # the entry written by the reinstall records the generation: done when the node is Ready, resumed when not
    assert replacement_plan(recorded, 'sno-b', ['sno-b-worker'], [same], _info(True), generation='2026-12') == {
        'remove': [], 'add': ['sno-b-worker'], 'replaced': ['sno-b-worker'], 'errors': []}
    assert replacement_plan(recorded, 'sno-b', ['sno-b-worker'], [same], _info(False), generation='2026-12') == {
        'remove': [], 'add': ['sno-b-worker'], 'replaced': [], 'errors': []}
    # a new generation reinstalls again
    assert replacement_plan(recorded, 'sno-b', ['sno-b-worker'], [same], _info(True), generation='2027-01')['remove'] == ['sno-b-worker']
    assert replacement_plan(WITHOUT_WORKER, 'sno-b', ['sno-b-worker'], [same], _info(False), generation='g')['add'] == ['sno-b-worker']
