# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ztp_fleet_report action: files written atomically and merged across batches, check mode, diff, idempotence."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from unittest.mock import MagicMock

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.ztp.sno_expand.plugins.action.ztp_fleet_report import ActionModule, default_json_path
from ansible_collections.ztp.sno_expand.plugins.module_utils import _fleet_report as fr


def run(args, check_mode=False, diff=False):
    task = Task()
    task.args = args
    task.action = 'ztp.sno_expand.ztp_fleet_report'
    task.check_mode = check_mode
    task.diff = diff
    loader = DataLoader()
    action = ActionModule(task, MagicMock(), PlayContext(), loader, Templar(loader=loader), MagicMock())
    return action.run(task_vars={})


def node(cluster, ready=True):
    stages = [{'stage': 'BareMetalHost provisioning', 'at': '2026-11-30T10:00:00Z', 'percentage': None},
              {'stage': 'Agent Writing image to disk', 'at': '2026-11-30T10:05:00Z', 'percentage': 43}]
    if ready:
        stages += [{'stage': 'Agent Done', 'at': '2026-11-30T10:20:00Z', 'percentage': 100},
                   {'stage': 'Node Ready', 'at': '2026-11-30T10:21:00Z', 'percentage': None}]
    else:
        stages.append({'stage': 'Agent Failed', 'at': '2026-11-30T10:09:00Z', 'percentage': 43})
    return {'cluster': cluster, 'host': cluster + '-worker-0', 'namespace': cluster, 'stages': stages, 'ready': ready,
            'failed': not ready, 'state': 'ready' if ready else 'failed', 'agent': 'a-1',
            'error': None if ready else 'Agent a-1: The installation has failed (stage Failed)',
            'durations': {'image': None, 'provisioning': None, 'install': 900.0 if ready else None, 'ready': 60.0 if ready else None}}


def rec(cluster, ok=True, **extra):
    out = {'cluster': cluster, 'inventory_host': cluster, 'ok': ok, 'phase': 'done' if ok else 'install_verification',
           'msg': '' if ok else 'Agent a-1: The installation has failed (stage Failed)', 'nodes': [node(cluster, ok)]}
    out.update(extra)
    return out


def listing(folder):
    return sorted(os.listdir(str(folder)))


def test_default_json_path():
    assert default_json_path('/r/fleet.html') == '/r/fleet.json'
    assert default_json_path('/r/fleet.HTM') == '/r/fleet.json'
    assert default_json_path('/r/fleet') == '/r/fleet.json'


def test_writes_both_files_then_changes_nothing(tmp_path):
    path = str(tmp_path / 'out' / 'fleet.html')
    result = run({'path': path, 'clusters': [rec('sno-a'), rec('sno-b', ok=False)], 'batch': 1, 'title': 'RAN fleet'})
    assert not result.get('failed'), result
    assert result['changed'] and result['path'] == path and result['json_path'] == str(tmp_path / 'out' / 'fleet.json')
    assert sorted(result['written']) == sorted([path, result['json_path']])
    assert result['clusters'] == {'total': 2, 'succeeded': 1, 'failed': 1, 'incomplete': 0}
    assert result['nodes'] == {'total': 2, 'ready': 1, 'failed': 1, 'stalled': 0, 'pending': 0}
    assert listing(tmp_path / 'out') == ['fleet.html', 'fleet.json'], 'a temporary file was left behind'
    data = json.loads((tmp_path / 'out' / 'fleet.json').read_text(encoding='utf-8'))
    assert [c['cluster'] for c in data['clusters']] == ['sno-a', 'sno-b'] and data['clusters'][0]['batch'] == 1
    html = (tmp_path / 'out' / 'fleet.html').read_text(encoding='utf-8')
    assert '<title>RAN fleet</title>' in html and 'sno-b' in html
    stat_before = [os.stat(str(tmp_path / 'out' / n)) for n in ('fleet.html', 'fleet.json')]

    again = run({'path': path, 'clusters': [rec('sno-a'), rec('sno-b', ok=False)], 'batch': 1})
    assert not again['changed'] and again['written'] == [] and again['updated'] == result['updated']
    stat_after = [os.stat(str(tmp_path / 'out' / n)) for n in ('fleet.html', 'fleet.json')]
    assert [(s.st_ino, s.st_mtime_ns) for s in stat_before] == [(s.st_ino, s.st_mtime_ns) for s in stat_after]
    assert '<title>RAN fleet</title>' in (tmp_path / 'out' / 'fleet.html').read_text(encoding='utf-8'), 'title kept'


def test_later_batches_merge_into_the_report(tmp_path):
    path = str(tmp_path / 'fleet.html')
    run({'path': path, 'clusters': [rec('sno-a'), rec('sno-b', ok=False)], 'batch': 1})
    second = run({'path': path, 'clusters': [rec('sno-c'), rec('sno-b')], 'batch': 2})
    assert second['changed'] and second['batches'] == 2
    assert second['clusters'] == {'total': 3, 'succeeded': 3, 'failed': 0, 'incomplete': 0}
    data = json.loads((tmp_path / 'fleet.json').read_text(encoding='utf-8'))
    assert dict((c['cluster'], c['batch']) for c in data['clusters']) == {'sno-a': 1, 'sno-b': 2, 'sno-c': 2}
    assert data['summary']['clusters']['total'] == 3
    only = run({'path': path, 'clusters': [rec('sno-d')], 'batch': 3, 'merge': False})
    assert only['clusters']['total'] == 1


def test_check_mode_and_diff(tmp_path):
    path = str(tmp_path / 'fleet.html')
    run({'path': path, 'clusters': [rec('sno-a')], 'batch': 1})
    before = listing(tmp_path), (tmp_path / 'fleet.json').read_bytes()
    result = run({'path': path, 'clusters': [rec('sno-b', ok=False)], 'batch': 2}, check_mode=True, diff=True)
    assert result['changed'] and result['clusters']['total'] == 2
    assert (listing(tmp_path), (tmp_path / 'fleet.json').read_bytes()) == before, 'check mode wrote something'
    assert result['diff']['before'] == 'sno-a  batch 1  succeeded  phase done  nodes 1/1 ready\n'
    assert result['diff']['after'].splitlines() == [
        'sno-a  batch 1  succeeded  phase done  nodes 1/1 ready',
        'sno-b  batch 2  failed  phase install_verification  nodes 0/1 ready  Agent a-1: The installation has failed (stage Failed)']
    same = run({'path': path, 'clusters': [rec('sno-a')], 'batch': 1}, check_mode=True, diff=True)
    assert not same['changed'] and same['diff']['before'] == same['diff']['after']


def test_a_missing_html_file_is_written_again(tmp_path):
    path = str(tmp_path / 'fleet.html')
    run({'path': path, 'clusters': [rec('sno-a')], 'batch': 1})
    os.unlink(path)
    result = run({'path': path, 'clusters': [rec('sno-a')], 'batch': 1})
    assert result['changed'] and result['written'] == [path] and os.path.exists(path)


def test_refuses_a_json_file_that_is_not_a_report(tmp_path):
    path = str(tmp_path / 'fleet.html')
    (tmp_path / 'fleet.json').write_text('{"something": "else"}\n')
    result = run({'path': path, 'clusters': [rec('sno-a')]})
    assert result['failed'] and 'not a fleet report' in result['msg'] and 'nothing was written' in result['msg']
    assert (tmp_path / 'fleet.json').read_text() == '{"something": "else"}\n' and not os.path.exists(path)


def test_bad_records_and_options_fail_without_writing(tmp_path):
    path = str(tmp_path / 'fleet.html')
    result = run({'path': path, 'clusters': [{'ok': True}, rec('sno-a')]})
    assert result['failed'] and 'clusters[0].cluster' in result['msg'] and listing(tmp_path) == []
    same = run({'path': path, 'json_path': path, 'clusters': [rec('sno-a')]})
    assert same['failed'] and 'json_path must differ' in same['msg']
    bad_url = run({'path': path, 'clusters': [rec('sno-a')], 'docs_url': 'javascript:alert(1)'})
    assert bad_url['failed'] and 'docs_url' in bad_url['msg'] and listing(tmp_path) == []


def test_no_credential_reaches_the_files(tmp_path):
    path = str(tmp_path / 'fleet.html')
    leak = rec('sno-a', ok=False, msg='push to https://bot:tok3n-value@git.example.com/r.git rejected')
    run({'path': path, 'clusters': [leak]})
    for name in ('fleet.html', 'fleet.json'):
        assert 'tok3n-value' not in (tmp_path / name).read_text(encoding='utf-8'), name
    assert fr.load_report((tmp_path / 'fleet.json').read_text(encoding='utf-8'))['clusters']['sno-a']['msg'].startswith(
        'push to https://bot:********@git.example.com')
