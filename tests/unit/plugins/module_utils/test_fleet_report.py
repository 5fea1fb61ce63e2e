# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import random
import re
import time

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _fleet_report as fr
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors

T0 = 1795000000  # 2026-11-18T11:06:40Z
GUIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'docs', 'user-guide.md')
# (lane, state, seconds in this state, percentage)
STAGES = [('PreprovisioningImage', 'WaitingForInfraEnvImageToBeCreated', 20, None), ('PreprovisioningImage', 'ImageCreated', 0, None),
          ('BareMetalHost', 'registering', 20, None), ('BareMetalHost', 'available', 10, None), ('BareMetalHost', 'provisioning', 120, None),
          ('BareMetalHost', 'provisioned', 30, None), ('Agent', 'Starting installation', 60, 14), ('Agent', 'Installing', 60, 29),
          ('Agent', 'Writing image to disk', 300, 43), ('Agent', 'Waiting for control plane', 60, 57), ('Agent', 'Rebooting', 200, 71),
          ('Agent', 'Joined', 60, 86), ('Agent', 'Done', 0, 100), ('Node', 'Ready', 0, None)]


def iso(seconds):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds))


def node(cluster, host='w0', start=T0, scale=1.0, fault=None):
    """A node result as ztp_install_wait returns it: stages in the order seen, each state lasting its seconds x scale."""
    durations = {'image': 20.0, 'provisioning': 150.0 * scale, 'install': 740.0 * scale, 'ready': 1.0}
    out = {'cluster': cluster, 'host': host, 'namespace': cluster, 'state': 'ready', 'ready': True, 'failed': False,
           'error': None, 'agent': 'agent-%s' % host, 'durations': durations}
    stages, t = [], start
    for lane, state, seconds, pct in STAGES:
        if fault == 'agent' and state == 'Waiting for control plane':
            stages.append({'stage': 'Agent Failed', 'at': iso(t), 'percentage': 43})
            out.update(ready=False, failed=True, state='failed', durations={},
                       error='Agent agent-%s: The installation has failed: Host failed to install (stage Failed)' % host)
            break
        if fault == 'stall' and state == 'Joined':
            out.update(ready=False, failed=True, state='failed', durations={},
                       error="%s/%s: no progress for 900 s; last stage 'Agent Rebooting' since %s" % (cluster, host, iso(t - 200 * scale)))
            break
        if fault == 'bmc' and state == 'available':
            out.update(ready=False, failed=True, state='failed', durations={},
                       error='BareMetalHost %s/%s: registration error: Failed to connect to Redfish controller' % (cluster, host))
            break
        if fault == 'pending' and state == 'Rebooting':
            stages.append({'stage': 'Agent Rebooting', 'at': iso(t), 'percentage': 71})
            out.update(ready=False, state='Agent Rebooting', durations={})
            break
        stages.append({'stage': '%s %s' % (lane, state), 'at': iso(t), 'percentage': pct})
        t += seconds * scale
    out['stages'] = stages
    return out


def record(cluster, batch=1, fault=None, scale=1.0, nodes=None, **extra):
    nodes = nodes if nodes is not None else [node(cluster, fault=fault, scale=scale)]
    ok = all(n['ready'] for n in nodes)
    rec = {'cluster': cluster, 'inventory_host': cluster, 'batch': batch, 'ok': ok, 'phase': 'done' if ok else 'install_verification',
           'msg': '' if ok else '; '.join(n['error'] or '%s/%s: timed out' % (cluster, n['host']) for n in nodes if not n['ready']),
           'cgu': {'workers': {'name': cluster + '-workers', 'namespace': 'default', 'state': 'complete', 'succeeded': True, 'msg': ''}},
           'nodes': nodes}
    rec.update(extra)
    return rec


def fleet(count, seed=7):
    """``count`` records with a few failures, stalls and BMC errors, one or two nodes per cluster, batches of 500."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        name = 'du-site-%04d' % i
        roll = rnd.random()
        fault = 'agent' if roll < 0.02 else 'stall' if roll < 0.03 else 'bmc' if roll < 0.045 else None
        nodes = [node(name, '%s-worker-%d' % (name, k), T0 + rnd.uniform(0, 600), rnd.uniform(0.7, 1.8), fault if k == 0 else None)
                 for k in range(2 if rnd.random() < 0.2 else 1)]
        out.append(record(name, batch=i // 500 + 1, nodes=nodes))
    return out


def embedded_data(html):
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


# ------------------------------------------------------------------------------------------- helpers

def test_parse_time_and_durations():
    assert fr.parse_time('2026-11-18T11:06:40Z') == T0
    assert fr.parse_time('2026-11-18T11:06:40.5Z') == T0 + 0.5
    assert fr.parse_time('2026-11-18T13:06:40+02:00') == T0
    assert fr.parse_time('yesterday') is None and fr.parse_time(None) is None
    assert fr.human_duration(3725) == '1h 02m' and fr.human_duration(245) == '4m 05s' and fr.human_duration(12.4) == '12s'
    assert fr.human_duration(None) == '-'


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert fr.percentile(values, 50) == 50 and fr.percentile(values, 95) == 95 and fr.percentile(values, 100) == 100
    assert fr.percentile([7], 95) == 7 and fr.percentile([], 50) is None
    assert fr.percentile([3, 1, 2], 50) == 2


@pytest.mark.parametrize('text, anchor', [
    ('sno-a: PTP daemon selector ... still select node-role.kubernetes.io/master', 'ts-selectors'),
    ('NotAllManagedPoliciesExist: Missing managed policies: [x]', 'ts-missing-policies'),
    ('ClusterGroupUpgrade default/sno-a-workers: TimedOut: ...; clusters not completed: sno-a', 'ts-cgu-timeout'),
    ('worker policies not compliant yet', 'ts-policies-not-compliant'),
    ("managed_policies[0]: invalid value 'sno-b-workers-config-policy': with the ClusterGroupUpgrade name "
     "'ztp-workers-3db564c5d6', a policy name of at most 24 characters: TALM names ...", 'ts-placement-name'),
    ('timed out after 300 s; 1 node(s) not rendered: sno-a/w0', 'ts-not-rendered'),
    ('ClusterGroupUpgrade default/ztp-1a2b3c remediated nothing for sno-a-workers-config-policy: TALM found it compliant '
     'on every cluster before the upgrade, or skipped it ... Validated again every 30 s for 300 s, then deleted.',
     'ts-remediated-nothing'),
    ('sno-a: the selector override changes the group policy template g.yaml, which also binds 1 cluster(s) outside this '
     'batch: sno-b. ... still select node-role.kubernetes.io/master', 'ts-selector-bound'),
    ('sno-a: ArgoCD Application openshift-gitops/policies failed on commit 4d5e6f700c5f: compared 4d5e6f700c5f and '
     'reports ComparisonError: ...', 'ts-argocd-sync'),
    ('sno-a: ArgoCD did not sync commit 4d5e6f700c5f within 600 s: openshift-gitops/clusters is OutOfSync at ...',
     'ts-argocd-sync'),
    ("BareMetalHost sno-a/w0: registration error: Failed to get power state (operationalStatus error, state 'registering')",
     'ts-bmh-error'),
    ('PreprovisioningImage sno-a/w0: ImageCreationError: no ISO', 'ts-image'),
    ("sno-a/w0: no progress for 1800 s; last stage 'PreprovisioningImage WaitingForInfraEnvImageToBeCreated' since x", 'ts-image'),
    ('Agent 1234: The installation has failed: timeout (stage Failed)', 'ts-agent-failed'),
    ("sno-a/w0: no progress for 1800 s; last stage 'Agent Rebooting' since 2026-11-18T10:13:20Z", 'ts-stalled'),
    ("timed out after 7200 s; 1 node(s) not ready: sno-a/w0 at 'Agent Rebooting'", 'ts-timeout'),
    ('push rejected: conflict in siteconfig/sno-a.yaml', 'ts-push-rejected'),
    ('another run holds the lock /tmp/x.lock (process 1 on host h, holding it since t); waited 600 seconds', 'ts-lock'),
    ('something nobody has seen', None),
])
def test_troubleshooting_rows(text, anchor):
    assert fr.troubleshooting(text)[0] == anchor


def test_every_anchor_is_a_row_of_the_user_guide():
    if not os.path.exists(GUIDE):
        pytest.fail('the user guide is missing at %s' % GUIDE)
    with open(GUIDE, encoding='utf-8') as handle:
        guide = handle.read()
    table = guide[guide.index('## Troubleshooting'):]
    for anchor in fr.ANCHORS:
        assert re.search(r'^\| <a id="%s"></a>' % re.escape(anchor), table, re.M), anchor
    assert fr.guide_url('ts-lock') == fr.DOCS_URL + '/user-guide.md#ts-lock'


# ------------------------------------------------------------------------------------------- records and merge

def test_normalize_tolerates_missing_keys_and_masks_url_credentials():
    rec = fr.normalize_record({'inventory_host': 'sno-x', 'msg': 'push to https://bot:s3cr3t@git.example.com/x.git failed',
                               'nodes': [{'host': 'w0'}, 'junk'], 'cgu': None}, batch=4)
    assert rec['cluster'] == 'sno-x' and rec['batch'] == 4 and rec['cgu'] == {}
    assert rec['nodes'] == [{'host': 'w0', 'stages': []}]
    assert 's3cr3t' not in rec['msg'] and 'bot:********@git.example.com' in rec['msg']
    assert fr.cluster_outcome(rec) == 'incomplete'
    with pytest.raises(ZtpInputError):
        fr.normalize_record({'ok': True})
    with pytest.raises(ZtpInputError):
        fr.normalize_record(['sno-a'])


def test_merge_accumulates_batches_and_replaces_clusters():
    first = fr.merge(None, [record('sno-a'), record('sno-b', fault='agent')], batch=1, title='Fleet', now=T0)
    assert sorted(first['clusters']) == ['sno-a', 'sno-b'] and first['updated'] == iso(T0)
    # the next batch: a new cluster, and sno-b retried successfully
    second = fr.merge(first, [record('sno-c', batch=2), record('sno-b', batch=2)], now=T0 + 60)
    assert sorted(second['clusters']) == ['sno-a', 'sno-b', 'sno-c']
    assert second['clusters']['sno-b']['ok'] is True and second['clusters']['sno-b']['batch'] == 2
    assert second['title'] == 'Fleet' and second['updated'] == iso(T0 + 60)
    assert sorted(first['clusters']) == ['sno-a', 'sno-b'], 'merge changed its input'
    # the same records again: nothing changes, not even the time
    again = fr.merge(second, [record('sno-c', batch=2)], now=T0 + 999)
    assert again == second
    # through the JSON file written before
    loaded = fr.load_report(fr.render_json(second))
    assert loaded['clusters'] == second['clusters'] and loaded['updated'] == second['updated'] and loaded['title'] == 'Fleet'
    fourth = fr.merge(loaded, [record('sno-d', batch=3)], now=T0 + 120)
    assert sorted(fourth['clusters']) == ['sno-a', 'sno-b', 'sno-c', 'sno-d']
    assert [b['batch'] for b in fr.aggregates(fourth)['batches']] == [1, 2, 3]


def test_merge_reports_every_bad_record():
    with pytest.raises(ZtpInputErrors) as info:
        fr.merge(None, [{'ok': True}, record('sno-a'), 'x'])
    assert len(info.value.errors) == 2


def test_load_report_refuses_other_json():
    with pytest.raises(ValueError):
        fr.load_report('{"clusters": []}')
    with pytest.raises(ValueError):
        fr.load_report(json.dumps({'kind': fr.KIND, 'schema': 99}))
    with pytest.raises(ValueError):
        fr.load_report('not json')


# ------------------------------------------------------------------------------------------- timelines

def _bars(line):
    return dict(('%s %s' % (b[0], b[1]), b) for b in line['bars'])


def test_timeline_of_a_ready_node():
    line = fr.node_timeline(node('sno-a'))
    bars = _bars(line)
    assert line['t0'] == T0 and line['total'] == 940
    assert bars['BareMetalHost provisioning'][2:5] == [50, 170, 'b']
    assert bars['Agent Writing image to disk'][2:6] == [320, 620, 'b', 43]
    for milestone in ('PreprovisioningImage ImageCreated', 'BareMetalHost provisioned', 'Agent Done', 'Node Ready'):
        assert bars[milestone][4] == 'm' and bars[milestone][2] == bars[milestone][3], milestone
    lanes = [b[0] for b in line['bars']]
    assert lanes == sorted(lanes, key=fr.LANES.index)


def test_other_milestones_get_their_own_lane_and_durations():
    ready = node('sno-a')
    done = ready['stages'][-1]['at']
    ready['stages'] += [{'stage': 'MachineConfigPool worker Updating', 'at': done, 'percentage': None},
                        {'stage': 'MachineConfigPool worker Updated', 'at': iso(fr.parse_time(done) + 30), 'percentage': None}]
    ready['durations']['mcp'] = 30.0
    ready['durations']['future'] = 2.5
    bars = _bars(fr.node_timeline(ready))
    assert bars['MachineConfigPool worker Updating'][2:5] == [940, 970, 'b']
    assert bars['MachineConfigPool worker Updated'][4] == 'm'
    assert [b[0] for b in fr.node_timeline(ready)['bars']][-2:] == ['MachineConfigPool', 'MachineConfigPool']
    durations = dict((d['metric'], d) for d in fr.aggregates(fr.merge(None, [record('sno-a', nodes=[ready])], now=T0))['durations'])
    assert durations['mcp']['p50'] == 30 and durations['future']['label'] == 'durations.future'
    assert durations['MachineConfigPool worker Updating']['max'] == 30


def test_timeline_of_failed_stalled_and_pending_nodes():
    failed = fr.node_timeline(node('sno-a', fault='agent'))
    assert _bars(failed)['Agent Failed'][4] == 'f' and failed['total'] is None
    assert _bars(failed)['Agent Writing image to disk'][4] == 'f', 'the stage the failure ended'
    assert _bars(failed)['Agent Installing'][4] == 'b'
    bmc = fr.node_timeline(node('sno-a', fault='bmc'))
    assert _bars(bmc)['BareMetalHost registering'][4] == 'f'
    named_later = node('sno-a', fault='bmc')
    named_later['error'] = 'sno-a/w0: BareMetalHost sno-a/w0: registration error: Failed to connect'
    assert _bars(fr.node_timeline(named_later))['BareMetalHost registering'][4] == 'f'
    assert _bars(fr.node_timeline(named_later))['PreprovisioningImage ImageCreated'][4] == 'm'
    # a final state ends its lane even on a node that is not ready yet
    pending_mcp = node('sno-a', fault='pending')
    pending_mcp['stages'].append({'stage': 'MachineConfigPool worker Updated', 'at': iso(T0 + 700), 'percentage': None})
    assert _bars(fr.node_timeline(pending_mcp, until=T0 + 900))['MachineConfigPool worker Updated'][4] == 'm'
    stalled = fr.node_timeline(node('sno-a', fault='stall'))
    stall = [b for b in stalled['bars'] if b[4] == 's']
    assert len(stall) == 1 and stall[0][0] == 'Agent' and stall[0][3] - stall[0][2] == 900
    assert stalled['end'] == stall[0][3]
    in_stage = node('sno-a', fault='agent')
    in_stage['stages'].pop()
    in_stage['error'] = ("sno-a/w0: stalled in stage 'Writing image to disk' for 1800 s (limit 1800 s); last change "
                         "'Agent Writing image to disk'; cause: Host is not responding")
    in_stage['cause'] = 'Host is not responding'
    assert fr.node_verdict(in_stage) == 'stalled' and fr.troubleshooting(in_stage['error'])[0] == 'ts-stalled'
    stall = [b for b in fr.node_timeline(in_stage)['bars'] if b[4] == 's']
    assert stall == [['Agent', 'stalled', 320, 2120, 's', None]]
    pending = fr.node_timeline(node('sno-a', fault='pending'), until=T0 + 5000)
    assert _bars(pending)['Agent Rebooting'][3:5] == [5000, 'o']
    assert fr.node_timeline({'host': 'w0'}) == {'t0': None, 'end': None, 'bars': [], 'total': None}
    assert [fr.node_verdict(n) for n in (node('a'), node('a', fault='agent'), node('a', fault='stall'), node('a', fault='pending'))] == \
        ['ready', 'failed', 'stalled', 'pending']


# ------------------------------------------------------------------------------------------- aggregates

def test_aggregates_counts_and_distributions():
    records = [record('sno-%02d' % i, scale=1.0 + i / 10.0, batch=1 + i // 10) for i in range(20)]
    records += [record('bad-a', fault='agent', batch=3), record('bad-b', fault='stall', batch=3), record('bad-c', fault='bmc', batch=3),
                record('cgu-x', batch=3, ok=False, phase='policy_creation', nodes=[],
                       msg='ClusterGroupUpgrade default/cgu-x-workers: TimedOut: late; clusters not completed: cgu-x'),
                record('half', batch=3, ok=True, phase='node_addition', nodes=[node('half', fault='pending')])]
    summary = fr.aggregates(fr.merge(None, records, now=T0))
    assert summary['clusters'] == {'total': 25, 'succeeded': 20, 'failed': 4, 'incomplete': 1}
    assert summary['nodes'] == {'total': 24, 'ready': 20, 'failed': 2, 'stalled': 1, 'pending': 1}
    assert summary['failed_by_phase'] == [{'phase': 'policy_creation', 'count': 1}, {'phase': 'install_verification', 'count': 3}]
    causes = dict((c['anchor'], c) for c in summary['failed_by_cause'])
    assert sorted(causes) == ['ts-agent-failed', 'ts-bmh-error', 'ts-cgu-timeout', 'ts-stalled']
    assert causes['ts-bmh-error']['clusters'] == ['bad-c']
    assert [(b['batch'], b['clusters'], b['failed']) for b in summary['batches']] == [(1, 10, 0), (2, 10, 0), (3, 5, 4)]
    durations = dict((d['metric'], d) for d in summary['durations'])
    total = durations['total']
    # whole install of sno-i: 940 s x its scale (1.0 .. 2.9)
    expected = sorted(940 * (1.0 + i / 10.0) for i in range(20))
    assert total['count'] == 20
    assert total['p50'] == pytest.approx(expected[9], abs=1) and total['p95'] == pytest.approx(expected[18], abs=1)
    assert total['max'] == pytest.approx(expected[-1], abs=1)
    assert [s['cluster'] for s in total['slowest']] == ['sno-%02d' % i for i in range(19, 9, -1)]
    writing = durations['Agent Writing image to disk']
    assert writing['count'] == 23 and writing['max'] == pytest.approx(300 * 2.9, abs=1)
    assert durations['install']['count'] == 20
    assert sum(b['count'] for b in summary['install_histogram']) == 20
    metrics = [d['metric'] for d in summary['durations']]
    assert metrics[:5] == ['total', 'image', 'provisioning', 'install', 'ready']
    assert metrics.index('PreprovisioningImage WaitingForInfraEnvImageToBeCreated') < metrics.index('BareMetalHost registering') < \
        metrics.index('Agent Starting installation')


# ------------------------------------------------------------------------------------------- HTML

HOSTILE = '<img src=x onerror="window.pwned=1">'
HOSTILE_MSG = '</script><script>window.pwned=2</script> & "quoted" \u2028 <!-- '


def test_html_escapes_untrusted_text():
    bad = node(HOSTILE, host='w0"><svg onload=alert(1)>', fault='agent')
    bad['error'] = HOSTILE_MSG
    bad['cause'] = '<b>hub</b> says </script>'
    report = fr.merge(None, [record(HOSTILE, nodes=[bad], msg=HOSTILE_MSG)], title='<title>x</title>', now=T0)
    html, text = fr.render(report)
    for raw in (HOSTILE, HOSTILE_MSG, '<b>hub</b>', 'w0">', '<title>x</title>', '<svg onload', '<!-- '):
        assert raw not in html, raw
    assert html.count('<script') == 2 and html.count('</script>') == 2
    assert '&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;' in html
    data = embedded_data(html)
    (cluster,) = data['C']
    assert cluster['c'] == HOSTILE and cluster['m'] == HOSTILE_MSG
    assert cluster['n'][0]['e'] == HOSTILE_MSG and cluster['n'][0]['k'] == '<b>hub</b> says </script>'
    assert json.loads(text)['clusters'][0]['cluster'] == HOSTILE
    # the script puts data into the page only as text
    assert 'innerHTML' not in fr.SCRIPT and 'insertAdjacentHTML' not in fr.SCRIPT and 'document.write' not in fr.SCRIPT


def test_html_is_self_contained_and_allows_only_its_own_script():
    html = fr.render_html(fr.merge(None, [record('sno-a'), record('sno-b', fault='bmc')], now=T0))
    assert not re.search(r'<(link|img|iframe|object|embed)\b', html)
    assert not re.search(r'\bsrc=', html) and '@import' not in html and '@font-face' not in html
    assert not re.search(r'url\((?!#)', html)
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith('#cluster=') or href.startswith(fr.DOCS_URL + '/user-guide.md#ts-'), href
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1).replace('&#x27;', "'")
    assert "default-src 'none'" in csp

    def digest(text):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode()
    assert 'script-src %s;' % digest(fr.SCRIPT) in csp and 'style-src %s;' % digest(fr.CSS) in csp
    assert '<script>%s</script>' % fr.SCRIPT in html and '<style>%s</style>' % fr.CSS in html


def test_page_data_puts_nodes_of_a_cluster_on_one_time_axis():
    late = node('sno-a', host='w1', start=T0 + 100)
    report = fr.merge(None, [record('sno-a', nodes=[node('sno-a', host='w0'), late])], now=T0)
    data = embedded_data(fr.render_html(report))
    (cluster,) = data['C']
    first = dict((data['S'][b[0]] + ' ' + data['S'][b[1]], b) for b in cluster['n'][0]['b'])
    second = dict((data['S'][b[0]] + ' ' + data['S'][b[1]], b) for b in cluster['n'][1]['b'])
    assert second['Node Ready'][2] - first['Node Ready'][2] == 100
    assert cluster['t0'] == iso(T0) and cluster['d'] == 940 and cluster['o'] == 'succeeded'
    assert data['docs'] == fr.DOCS_URL + '/user-guide.md'


def test_an_empty_report_renders():
    report = fr.merge(None, [], title='nothing yet', now=T0)
    html, text = fr.render(report)
    assert embedded_data(html)['C'] == [] and 'No failed cluster.' in html and 'No stage durations yet.' in html
    assert json.loads(text)['summary']['clusters'] == {'total': 0, 'succeeded': 0, 'failed': 0, 'incomplete': 0}
    assert fr.load_report(text)['clusters'] == {}


def test_failure_links_to_its_troubleshooting_row():
    report = fr.merge(None, [record('sno-a', fault='bmc')], now=T0)
    html = fr.render_html(report, docs_url='https://docs.example.com/ztp/')
    data = embedded_data(html)
    assert data['C'][0]['a'] == 'ts-bmh-error' and data['C'][0]['n'][0]['a'] == 'ts-bmh-error'
    assert data['docs'] == 'https://docs.example.com/ztp/user-guide.md'
    assert 'href="https://docs.example.com/ztp/user-guide.md#ts-bmh-error"' in html


def test_report_of_3500_clusters(record_property):
    """Size and time of a report at fleet scale (recorded, not asserted: the machine's load varies)."""
    records = fleet(3500)
    started = time.time()
    report = fr.merge(None, records, batch=None, title='3500 clusters', now=T0)
    merged = time.time()
    html, text = fr.render(report)
    rendered = time.time()
    again = fr.merge(fr.load_report(text), records[-500:], now=T0 + 1)
    reloaded = time.time()
    assert again == report
    data = embedded_data(html)
    assert len(data['C']) == 3500 and len(json.loads(text)['clusters']) == 3500
    summary = json.loads(text)['summary']
    assert summary['clusters']['total'] == 3500 and summary['clusters']['failed'] > 0
    assert len(summary['batches']) == 7
    html_kb, json_kb = len(html.encode('utf-8')) // 1024, len(text.encode('utf-8')) // 1024
    # the page embeds compact timelines, not the records: it stays a few megabytes
    assert html_kb < 6 * 1024
    for name, value in (('html_kb', html_kb), ('json_kb', json_kb), ('merge_s', round(merged - started, 2)),
                        ('render_s', round(rendered - merged, 2)), ('reload_merge_s', round(reloaded - rendered, 2))):
        record_property(name, value)
    print('3500 clusters: HTML %d KB, JSON %d KB, merge %.2f s, render %.2f s, read back and merge a batch %.2f s'
          % (html_kb, json_kb, merged - started, rendered - merged, reloaded - rendered))
