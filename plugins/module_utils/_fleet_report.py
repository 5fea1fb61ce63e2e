# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: per-cluster outcomes, per-node install timelines and fleet aggregates, as one self-contained
HTML file (inline CSS and JavaScript, no external resources) and a JSON file with the same data.

Input: one record per cluster, handed over at the end of each batch::

    {"cluster": "sno-a", "inventory_host": "sno-a", "batch": 1, "ok": False, "phase": "install_verification",
     "msg": "...", "cgu": {"selectors": {...}, "workers": {...}}, "nodes": [<node results of ztp_install_wait>]}

Every key but ``cluster`` (or ``inventory_host``) may be missing. Records of later batches add clusters or replace
those of the same name; the JSON written before is read back and merged (``merge``).

Functions here are pure (no files, no clock unless given): ``merge``, ``aggregates``, ``node_timeline``,
``render_html``, ``render_json``. Cluster names and hub messages are untrusted: the HTML escapes every value, the data
for the scripts is embedded as JSON that cannot end its ``<script>`` element, the scripts put text into the page only
as text, and a Content-Security-Policy lets only the report's own script run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import calendar
import hashlib
import json
import re
import time

from html import escape as _html_escape
from urllib.parse import quote as _url_quote

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, raise_if_any, redact

SCHEMA = 1
KIND = 'ztp.sno_expand fleet report'
# The `documentation` URL of galaxy.yml; the user guide is beside it.
DOCS_URL = 'https://example.invalid/ztp/sno_expand/docs'
GUIDE = 'user-guide.md'
PHASES = ('node_removal', 'selector_checks', 'policy_creation', 'node_addition', 'install_verification', 'bmc_rotation', 'done')
OUTCOMES = ('failed', 'incomplete', 'succeeded')
VERDICTS = ('failed', 'stalled', 'pending', 'ready')
# Lanes of a node timeline, in this order first; any other source of a stage gets a lane after them.
LANES = ('PreprovisioningImage', 'BareMetalHost', 'Agent', 'Node', 'MachineConfigPool')
# States that end a lane (the last word of the state: `MachineConfigPool worker Updated`): drawn as a milestone, not as a bar.
TERMINAL = re.compile(r'(^|\s)(ImageCreated|provisioned|Done|Ready|Updated|rendered)$', re.I)
FAILURE = re.compile(r'^(Failed|error|ImageCreationError|InstallationFailed)$', re.I)
# The two stall verdicts of ztp_install_wait: no change at all for stall_timeout, or too long in one stage.
STALL = re.compile(r"no progress for (\d+) s; last stage '(.*?)' since (\S+)")
STAGE_STALL = re.compile(r"stalled in stage '(.*?)' for (\d+) s")
SLOWEST = 10
# Durations of ztp_install_wait's `durations`, in this order after the whole install.
# Other numeric keys of `durations` are aggregated too, under their own name.
DURATIONS = (('image', 'discovery image (start to ImageCreated)'), ('provisioning', 'BareMetalHost provisioning to provisioned'),
             ('install', 'Agent install (first stage to Done)'), ('ready', 'Agent Done to Node Ready'),
             ('mcp', 'MachineConfigPool update of the worker'))

# Rows of the troubleshooting table of the user guide: (anchor, short title, pattern of the messages it explains).
# The first match wins, so the more specific patterns come first.
TROUBLESHOOTING = (
    ('ts-argocd-sync', 'ArgoCD did not render or sync the pushed commit', r'ArgoCD Application \S+ failed on commit|ArgoCD did not sync commit'),
    ('ts-selector-bound', 'the selector override binds clusters outside the batch', r'which also binds \d+ cluster\(s\) outside'),
    ('ts-selectors', 'PTP/SR-IOV daemons select only masters', r'still select node-role\.kubernetes\.io/master'),
    ('ts-missing-policies', 'TALM cannot find the policies', r'NotAllManagedPoliciesExist'),
    ('ts-placement-name', 'TALM could not name a Placement within 63 characters', r'a policy name of at most \d+ characters'),
    ('ts-placement', 'the Placement selects no cluster', r'WaitingForPlacement'),
    ('ts-remediated-nothing', 'TALM remediated nothing for a changed policy', r'remediated nothing for'),
    ('ts-cgu-timeout', 'TALM gave up remediating', r'ClusterGroupUpgrade \S+: TimedOut|clusters not completed'),
    ('ts-policies-not-compliant', 'worker policies not compliant', r'policies not compliant'),
    ('ts-not-rendered', 'ArgoCD did not render the BareMetalHost', r'not rendered'),
    ('ts-bmh-error', 'BareMetalHost error (BMC, credentials, Secret)', r'BareMetalHost \S+: .*error'),
    ('ts-image', 'discovery image not created', r'PreprovisioningImage|ImageCreationError|WaitingForInfraEnvImageToBeCreated'),
    ('ts-agent-failed', 'the install on the host failed', r'Agent \S+: |InstallationFailed|stage Failed'),
    ('ts-stalled', 'the host stopped reporting', r'no progress for|stalled in stage'),
    ('ts-timeout', 'the install took longer than the timeout', r'timed out'),
    ('ts-push-rejected', 'push rejected by a conflicting change', r'push rejected'),
    ('ts-policy-path', 'the worker policy path names another file', r'would be replaced by the worker policy'),
    ('ts-shared-policy-path', 'two clusters give one worker policy path', r'a file of its own'),
    ('ts-detached-head', 'working copy on a detached HEAD', r'detached HEAD'),
    ('ts-rewritten-remote', 'the remote was re-created or rewritten', r'shares no history|was rewritten or the repository re-created'),
    ('ts-credentials-in-node', 'credentials in the node entry', r'bmcCredentialsName .*remove the key|\*{8}@'),
    ('ts-lock', 'another run holds the lock', r'another run holds the lock'),
    ('ts-removal-hung', 'a worker removal hangs', r'has been deleting for'),
    ('ts-removal-annotation', 'the removal annotation did not reach the BareMetalHost', r'does not carry \S+remove-agent-and-node-on-delete'),
    ('ts-symlink', 'a symbolic link out of the working copy', r'symbolic link to'),
    ('ts-encoding', 'a file that is not UTF-8', r'a UTF-8 file|is not UTF-8'),
)
_TROUBLESHOOTING = [(anchor, title, re.compile(pattern)) for anchor, title, pattern in TROUBLESHOOTING]
ANCHORS = dict((anchor, title) for anchor, title, _pattern in TROUBLESHOOTING)


def troubleshooting(text):
    """``(anchor, title)`` of the troubleshooting row that explains ``text``, or ``(None, None)``."""
    if not text:
        return None, None
    for anchor, title, pattern in _TROUBLESHOOTING:
        if pattern.search(text):
            return anchor, title
    return None, None


def guide_url(anchor, docs_url=DOCS_URL):
    """The URL of a troubleshooting row (or of the guide with ``anchor`` None)."""
    url = '%s/%s' % (docs_url.rstrip('/'), GUIDE)
    return url + '#' + anchor if anchor else url


# ---------------------------------------------------------------------------------------------- time helpers

def parse_time(text):
    """Seconds since the epoch of an ISO 8601 UTC time (``2026-01-02T03:04:05Z``, fractions and offsets allowed)."""
    if not isinstance(text, str):
        return None
    match = re.match(r'^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$', text.strip())
    if not match:
        return None
    parts = [int(p) for p in match.groups()[:6]]
    try:
        seconds = calendar.timegm((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if match.group(7):
        seconds += float(match.group(7))
    zone = match.group(8)
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '+' else 1
        digits = zone[1:].replace(':', '')
        seconds += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


def iso(seconds):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds))


def human_duration(seconds):
    """``1h 02m``, ``4m 05s``, ``12s``; ``-`` for None."""
    if seconds is None:
        return '-'
    seconds = int(round(seconds))
    if seconds >= 3600:
        return '%dh %02dm' % (seconds // 3600, (seconds % 3600) // 60)
    if seconds >= 60:
        return '%dm %02ds' % (seconds // 60, seconds % 60)
    return '%ds' % seconds


def percentile(values, pct):
    """Nearest-rank percentile of ``values`` (None for an empty list)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, int(-(-pct * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


# ---------------------------------------------------------------------------------------------- records

def _text(value):
    if value is None:
        return ''
    return value if isinstance(value, str) else str(value)


def _plain(value):
    """JSON-safe plain data (Ansible's wrapped strings and containers included), credentials in URLs masked."""
    if isinstance(value, dict):
        return dict((_text(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(redact(_text(value)))


def normalize_record(record, batch=None, index=0, plain=True):
    """A record checked and made plain: ``cluster`` (from ``inventory_host`` when missing) and every other key
    tolerant of absence or a wrong type. Raises ``ZtpInputError`` for a record that names no cluster.
    ``plain=False`` for records read back from the report's own JSON (plain and masked already)."""
    if not isinstance(record, dict):
        raise ZtpInputError('clusters[%d]' % index, record, 'a dict with cluster (or inventory_host)')
    rec = _plain(record) if plain else record
    name = rec.get('cluster') or rec.get('inventory_host')
    if not name or not isinstance(name, str):
        raise ZtpInputError('clusters[%d].cluster' % index, rec.get('cluster'), 'the cluster name (a non-empty string)')
    rec['cluster'] = name
    if rec.get('batch') is None and batch is not None:
        rec['batch'] = batch
    if not isinstance(rec.get('nodes'), list):
        rec['nodes'] = []
    rec['nodes'] = [n for n in rec['nodes'] if isinstance(n, dict)]
    for node in rec['nodes']:
        if not isinstance(node.get('stages'), list):
            node['stages'] = []
        node['stages'] = [s for s in node['stages'] if isinstance(s, dict)]
    if not isinstance(rec.get('cgu'), dict):
        rec['cgu'] = {}
    return rec


def new_report(title='Fleet report'):
    return {'kind': KIND, 'schema': SCHEMA, 'title': title, 'updated': None, 'clusters': {}}


def load_report(text):
    """The report data of a JSON text written by ``render_json``; raises ``ValueError`` for anything else."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get('kind') != KIND:
        raise ValueError('not a fleet report of ztp.sno_expand (no "kind": "%s")' % KIND)
    if data.get('schema') != SCHEMA:
        raise ValueError('fleet report schema %r, this collection reads schema %d' % (data.get('schema'), SCHEMA))
    report = new_report(data.get('title') or 'Fleet report')
    report['updated'] = data.get('updated')
    clusters = data.get('clusters') or []
    for index, record in enumerate(clusters.values() if isinstance(clusters, dict) else clusters):
        rec = normalize_record(record, index=index, plain=False)
        report['clusters'][rec['cluster']] = rec
    return report


def merge(report, records, batch=None, title=None, now=None):
    """A new report: ``report`` (or an empty one) with ``records`` added (a cluster already there is replaced).

    ``updated`` becomes ``now`` (seconds; default the clock) only when the clusters or the title changed, so that
    merging the same records again gives the same report. Raises ``ZtpInputErrors`` for records without a cluster."""
    old = report or new_report(title or 'Fleet report')
    # records are replaced whole, never changed in place: copies of the two dicts leave ``report`` as it was
    out = dict(old)
    out['clusters'] = dict(old['clusters'])
    if title:
        out['title'] = title
    errors = []
    for index, record in enumerate(records or []):
        try:
            rec = normalize_record(record, batch, index)
        except ZtpInputError as error:
            errors.append(error)
            continue
        out['clusters'][rec['cluster']] = rec
    raise_if_any(errors)
    if out['clusters'] != old['clusters'] or out['title'] != old['title'] or not out.get('updated'):
        out['updated'] = iso(time.time() if now is None else now)
    return out


# ---------------------------------------------------------------------------------------------- judgements

def cluster_outcome(rec):
    """``failed`` (ok is false), ``succeeded`` (ok and the last phase reached), ``incomplete`` otherwise."""
    if rec.get('ok') is False:
        return 'failed'
    if rec.get('ok') is True and rec.get('phase') in (None, '', 'done'):
        return 'succeeded'
    return 'incomplete'


def node_verdict(node):
    if node.get('ready'):
        return 'ready'
    if node.get('failed'):
        error = _text(node.get('error'))
        return 'stalled' if STALL.search(error) or STAGE_STALL.search(error) else 'failed'
    return 'pending'


def _lane_of(label):
    lane, _sep, state = _text(label).partition(' ')
    return lane or '?', state


def node_timeline(node, until=None):
    """The timeline of one node: ``{t0, end, bars, total}``, times in seconds since ``t0`` (the first stage).

    ``bars``: ``[lane, state, start, end, kind, percentage]`` with kind ``b`` (a stage until the next one of its lane),
    ``m`` (a state that ends its lane, drawn as a milestone), ``o`` (still in this state when the report was written),
    ``f`` (the failure: the failing stage, or a point at the end), ``s`` (stalled: no progress from the last change to
    the stall verdict). ``until`` (seconds) ends the open stages of a node that is still pending.
    ``total``: first stage to Node Ready, for a ready node."""
    stages = []
    for order, stage in enumerate(node.get('stages') or []):
        at = parse_time(stage.get('at'))
        if at is None:
            continue
        lane, state = _lane_of(stage.get('stage'))
        stages.append((at, order, lane, state, stage.get('percentage')))
    stages.sort()
    verdict = node_verdict(node)
    error = _text(node.get('error'))
    if not stages:
        return {'t0': None, 'end': None, 'bars': [], 'total': None}
    t0 = stages[0][0]
    end = stages[-1][0]
    stall_span, stall_lane = _stall(error, stages) if verdict == 'stalled' else (None, None)
    if stall_span:
        end = max(end, stall_span[1])
    if verdict == 'pending' and until is not None:
        end = max(end, until)
    failing_lane = None
    if verdict == 'failed':
        # the lane the error names first (``Agent <name>: ...``, ``sno-a/w0: BareMetalHost ...``), else the last one
        named = sorted((error.find(lane + ' '), lane) for lane in set(s[2] for s in stages) if error.find(lane + ' ') >= 0)
        failing_lane = named[0][1] if named else stages[-1][2]
    by_lane = {}
    for entry in stages:
        by_lane.setdefault(entry[2], []).append(entry)
    bars = []
    for lane, entries in by_lane.items():
        for i, (at, _order, _lane, state, pct) in enumerate(entries):
            start = at - t0
            if i + 1 < len(entries):
                # the stage a failure ended is marked as failed too
                failed_next = lane == failing_lane and i + 2 == len(entries) and FAILURE.match(entries[i + 1][3])
                kind = 'f' if FAILURE.match(state) or failed_next else 'b'
                bars.append([lane, state, start, entries[i + 1][0] - t0, kind, pct])
            elif FAILURE.match(state) or (lane == failing_lane and verdict == 'failed'):
                bars.append([lane, state, start, end - t0, 'f', pct])
            elif TERMINAL.search(state) or verdict == 'ready':
                bars.append([lane, state, start, start, 'm', pct])
            else:
                bars.append([lane, state, start, end - t0, 'o' if verdict == 'pending' else 'b', pct])
    if stall_span:
        bars.append([stall_lane if stall_lane in by_lane else stages[-1][2], 'stalled', stall_span[0] - t0, stall_span[1] - t0, 's', None])
    total = None
    if verdict == 'ready':
        ready = [at for at, _o, lane, state, _p in stages if lane == 'Node' and state == 'Ready']
        total = (ready[-1] if ready else end) - t0
    rank = dict((lane, i) for i, lane in enumerate(LANES))
    bars.sort(key=lambda b: (rank.get(b[0], len(LANES)), b[2], b[3]))
    return {'t0': t0, 'end': end - t0, 'bars': [[b[0], b[1], round(b[2], 1), round(b[3], 1), b[4], b[5]] for b in bars],
            'total': None if total is None else round(total, 1)}


def _stall(error, stages):
    """``((start, end), lane)`` of a stall verdict: from the last change (or the start of the stage) for the seconds the
    verdict names; ``(None, None)`` when the text does not say."""
    match = STALL.search(error)
    if match:
        since = parse_time(match.group(3))
        if since is not None:
            return (since, since + int(match.group(1))), _lane_of(match.group(2))[0]
    match = STAGE_STALL.search(error)
    if match:
        phase = match.group(1)
        for at, _order, lane, state, _pct in reversed(stages):
            if state == phase or lane == phase or '%s %s' % (lane, state) == phase:
                return (at, at + int(match.group(2))), lane
        return (stages[-1][0], stages[-1][0] + int(match.group(2))), stages[-1][2]
    return None, None


def _until(rec):
    """Where the open stages of a cluster's pending nodes end: its latest known time."""
    times = [parse_time(s.get('at')) for n in rec.get('nodes') or [] for s in n.get('stages') or []]
    times = [t for t in times if t is not None]
    return max(times) if times else None


# ---------------------------------------------------------------------------------------------- aggregates

def _sorted_clusters(report):
    return [report['clusters'][name] for name in sorted(report['clusters'])]


def aggregates(report, timelines=None):
    """Fleet aggregates: counts by outcome, failures by phase and by troubleshooting row, batches, and the
    distribution (count, p50, p95, max, slowest ten) of the whole install, of ztp_install_wait's durations and of
    every stage."""
    counts = dict((o, 0) for o in OUTCOMES)
    nodes = dict((v, 0) for v in VERDICTS)
    by_phase = {}
    by_cause = {}
    batches = {}
    samples = {}
    stage_order = []
    known = set(key for key, _label in DURATIONS) | set(['total'])
    extra_durations = []
    for rec in _sorted_clusters(report):
        name = rec['cluster']
        outcome = cluster_outcome(rec)
        counts[outcome] += 1
        key = rec.get('batch')
        entry = batches.setdefault(key, {'batch': key, 'clusters': 0, 'failed': 0, 'incomplete': 0, 'succeeded': 0})
        entry['clusters'] += 1
        entry[outcome] += 1
        if outcome == 'failed':
            phase = rec.get('phase') or 'unknown'
            by_phase[phase] = by_phase.get(phase, 0) + 1
            texts = [_text(rec.get('msg'))] + [_text(n.get('error')) for n in rec['nodes'] if n.get('failed')]
            anchor = next((a for a in (troubleshooting(t)[0] for t in texts) if a), None) or 'other'
            cause = by_cause.setdefault(anchor, {'anchor': anchor if anchor != 'other' else None,
                                                 'title': ANCHORS.get(anchor, 'other failures'), 'count': 0, 'clusters': []})
            cause['count'] += 1
            if len(cause['clusters']) < SLOWEST:
                cause['clusters'].append(name)
        for node in rec['nodes']:
            verdict = node_verdict(node)
            nodes[verdict] += 1
            who = {'cluster': name, 'host': _text(node.get('host'))}
            line = (timelines or {}).get((name, who['host'])) or node_timeline(node)
            if line['total'] is not None:
                samples.setdefault('total', []).append((line['total'], who))
            durations = node.get('durations') if isinstance(node.get('durations'), dict) else {}
            for key_ in sorted(durations):
                value = durations[key_]
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    if key_ not in known and key_ not in samples:
                        extra_durations.append(key_)
                    samples.setdefault(key_, []).append((float(value), who))
            for lane, state, start, end, kind, _pct in line['bars']:
                if kind == 'b' or (kind == 'f' and end > start):
                    label = '%s %s' % (lane, state)
                    if label not in samples:
                        stage_order.append(label)
                    samples.setdefault(label, []).append((end - start, who))
    rank = dict((lane, i) for i, lane in enumerate(LANES))
    seen = dict((label, i) for i, label in enumerate(stage_order))
    stage_order.sort(key=lambda label: (rank.get(_lane_of(label)[0], len(LANES)), seen[label]))
    metrics = [('total', 'whole install (first stage to Node Ready)')] + list(DURATIONS) + \
        [(k, 'durations.%s' % k) for k in sorted(extra_durations)] + [(s, s) for s in stage_order]
    durations = []
    for key_, label in metrics:
        values = samples.get(key_)
        if not values:
            continue
        numbers = [v for v, _who in values]
        slowest = sorted(values, key=lambda item: (-item[0], item[1]['cluster'], item[1]['host']))[:SLOWEST]
        durations.append({'metric': key_, 'label': label, 'count': len(numbers), 'p50': percentile(numbers, 50),
                          'p95': percentile(numbers, 95), 'max': max(numbers),
                          'slowest': [dict(who, seconds=round(v, 1)) for v, who in slowest]})
    return {
        'clusters': dict(counts, total=len(report['clusters'])),
        'nodes': dict(nodes, total=sum(nodes.values())),
        'failed_by_phase': [{'phase': p, 'count': by_phase[p]} for p in list(PHASES) + sorted(set(by_phase) - set(PHASES))
                            if p in by_phase],
        'failed_by_cause': sorted(by_cause.values(), key=lambda c: (-c['count'], c['title'])),
        'batches': [batches[k] for k in sorted(batches, key=lambda b: (b is None, b if isinstance(b, int) else 0, _text(b)))],
        'durations': durations,
        'install_histogram': histogram([v for v, _who in samples.get('total', [])]),
    }


def histogram(values, bins=20):
    """``[{from, to, count}]`` of ``values`` in ``bins`` equal bins (fewer when the values are few)."""
    if not values:
        return []
    low, high = min(values), max(values)
    bins = max(1, min(bins, len(values)))
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    return [{'from': round(low + i * width, 1), 'to': round(low + (i + 1) * width, 1), 'count': c} for i, c in enumerate(counts)]


# ---------------------------------------------------------------------------------------------- JSON

def render_json(report, summary=None):
    """The JSON file: the aggregates, then the records sorted by cluster, one per line."""
    head = {'kind': KIND, 'schema': SCHEMA, 'title': report['title'], 'updated': report.get('updated'),
            'summary': summary if summary is not None else aggregates(report)}
    lines = ['{']
    for key in sorted(head):
        lines.append('%s: %s,' % (json.dumps(key), json.dumps(head[key], sort_keys=True, ensure_ascii=False, separators=(',', ':'))))
    records = [json.dumps(rec, sort_keys=True, ensure_ascii=False, separators=(',', ':')) for rec in _sorted_clusters(report)]
    lines.append('"clusters": [%s]' % (('\n' + ',\n'.join(records) + '\n') if records else ''))
    return '\n'.join(lines) + '\n}\n'


def summary_lines(report):
    """One line per cluster (for ``--diff``)."""
    lines = []
    for rec in _sorted_clusters(report):
        ready = sum(1 for n in rec['nodes'] if n.get('ready'))
        removed = rec.get('removed') if isinstance(rec.get('removed'), list) else []
        lines.append('%s  batch %s  %s  phase %s  nodes %d/%d ready%s%s\n' % (
            rec['cluster'], rec.get('batch'), cluster_outcome(rec), rec.get('phase') or '-', ready, len(rec['nodes']),
            '  removed %s' % ', '.join(_text(r) for r in removed) if removed else '',
            ('  ' + _text(rec.get('msg')).replace('\n', ' ')) if rec.get('msg') else ''))
    return ''.join(lines)


# ---------------------------------------------------------------------------------------------- HTML

def _e(value):
    return _html_escape(_text(value), quote=True)


def script_json(data):
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(data, separators=(',', ':'), ensure_ascii=False, sort_keys=True)
    return (text.replace('&', '\\u0026').replace('<', '\\u003c').replace('>', '\\u003e')
            .replace('\u2028', '\\u2028').replace('\u2029', '\\u2029'))


def _cluster_link(name, text=None):
    return '<a href="#cluster=%s">%s</a>' % (_e(_url_quote(name, safe='')), _e(text if text is not None else name))


def page_data(report, timelines, docs_url):
    """The data the page's script draws from: strings interned in ``S`` (lanes, states, phases), one compact entry
    per cluster."""
    strings, index = [], {}

    def s(value):
        value = _text(value)
        if value not in index:
            index[value] = len(strings)
            strings.append(value)
        return index[value]

    clusters = []
    for rec in _sorted_clusters(report):
        name = rec['cluster']
        nodes = []
        starts = []
        for node in rec['nodes']:
            line = timelines[(name, _text(node.get('host')))]
            if line['t0'] is not None:
                starts.append(line['t0'])
            nodes.append((node, line))
        c0 = min(starts) if starts else None
        out_nodes = []
        for node, line in nodes:
            shift = (line['t0'] - c0) if c0 is not None and line['t0'] is not None else 0
            error = _text(node.get('error'))
            cause = _text(node.get('cause'))
            out_nodes.append({
                'h': _text(node.get('host')), 'v': node_verdict(node), 'st': _text(node.get('state')),
                'e': error, 'k': cause if cause != error else '', 'a': troubleshooting(cause + ' ' + error)[0] if (error or cause) else None,
                'ag': _text(node.get('agent')), 'd': line['total'],
                'b': [[s(b[0]), s(b[1]), round(b[2] + shift, 1), round(b[3] + shift, 1), b[4], b[5]] for b in line['bars']],
            })
        cgu = []
        for key in sorted(rec['cgu']):
            value = rec['cgu'][key]
            if isinstance(value, dict):
                cgu.append({'k': key, 'n': _text(value.get('name')), 'ns': _text(value.get('namespace')),
                            's': _text(value.get('state')), 'ok': value.get('succeeded'), 'm': _text(value.get('msg'))})
        totals = [n['d'] for n in out_nodes if n['d'] is not None]
        clusters.append({
            'c': name, 'ih': _text(rec.get('inventory_host')), 'bt': rec.get('batch'), 'o': cluster_outcome(rec),
            'p': _text(rec.get('phase')), 'm': _text(rec.get('msg')), 'a': troubleshooting(rec.get('msg'))[0],
            't0': iso(c0) if c0 is not None else None, 'd': max(totals) if totals else None,
            'g': cgu, 'n': out_nodes,
        })
    return {'S': strings, 'C': clusters, 'docs': guide_url(None, docs_url), 'anchors': ANCHORS, 'phases': list(PHASES)}


def _histogram_svg(bins):
    if not bins:
        return '<p class="muted">No node has finished its install yet.</p>'
    width, height, pad = 600, 140, 24
    top = max(b['count'] for b in bins)
    step = float(width) / len(bins)
    parts = ['<svg class="hist" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="install durations">'
             % (width, height + pad, width, height + pad)]
    for i, b in enumerate(bins):
        h = 0 if not top else round(float(b['count']) / top * (height - 12), 1)
        parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="hbar"><title>%s to %s: %d node(s)</title></rect>'
                     % (i * step + 1, height - h, max(step - 2, 1), h, _e(human_duration(b['from'])), _e(human_duration(b['to'])), b['count']))
        if b['count']:
            parts.append('<text x="%.1f" y="%.1f" class="hcount">%d</text>' % (i * step + step / 2, height - h - 2, b['count']))
    parts.append('<text x="0" y="%d" class="haxis">%s</text>' % (height + 16, _e(human_duration(bins[0]['from']))))
    parts.append('<text x="%d" y="%d" class="haxis" text-anchor="end">%s</text>' % (width, height + 16, _e(human_duration(bins[-1]['to']))))
    parts.append('</svg>')
    return ''.join(parts)


def _durations_table(table_id, rows):
    html = ['<table class="small" id="%s"><tr><th>stage</th><th>nodes</th><th>p50</th><th>p95</th><th>max</th>'
            '<th>slowest ten</th></tr>' % table_id]
    for d in rows:
        slow = ', '.join(_cluster_link(x['cluster'], '%s/%s %s' % (x['cluster'], x['host'], human_duration(x['seconds'])))
                         for x in d['slowest'])
        html.append('<tr><td>%s</td><td class="r">%d</td><td class="r">%s</td><td class="r">%s</td><td class="r">%s</td>'
                    '<td><details><summary>%d</summary>%s</details></td></tr>'
                    % (_e(d['label']), d['count'], human_duration(d['p50']), human_duration(d['p95']), human_duration(d['max']),
                       len(d['slowest']), slow))
    html.append('</table>')
    return ''.join(html)


def _summary_html(summary, docs_url):
    c, n = summary['clusters'], summary['nodes']
    cards = [('clusters', c['total'], 'total'), ('succeeded', c['succeeded'], 'ok'), ('failed', c['failed'], 'bad'),
             ('incomplete', c['incomplete'], 'warn'), ('nodes ready', n['ready'], 'ok'), ('nodes failed', n['failed'], 'bad'),
             ('nodes stalled', n['stalled'], 'warn'), ('nodes pending', n['pending'], 'muted')]
    html = ['<section id="summary"><div class="cards">']
    for label, value, cls in cards:
        html.append('<div class="card %s" id="count-%s"><div class="num">%d</div><div>%s</div></div>'
                    % (cls, _e(label.replace(' ', '-')), value, _e(label)))
    html.append('</div>')
    html.append('<div class="cols"><div><h2>Failures by cause</h2>')
    if summary['failed_by_cause']:
        html.append('<table class="small" id="causes"><tr><th>cause</th><th>clusters</th><th>for example</th></tr>')
        for cause in summary['failed_by_cause']:
            title = _e(cause['title'])
            if cause['anchor']:
                title = '<a class="doc" href="%s">%s</a>' % (_e(guide_url(cause['anchor'], docs_url)), title)
            html.append('<tr><td>%s</td><td class="r">%d</td><td>%s</td></tr>'
                        % (title, cause['count'], ', '.join(_cluster_link(x) for x in cause['clusters'])))
        html.append('</table>')
    else:
        html.append('<p class="muted">No failed cluster.</p>')
    html.append('<h2>Failures by phase</h2>')
    if summary['failed_by_phase']:
        html.append('<table class="small"><tr><th>phase reached</th><th>clusters</th></tr>')
        html.extend('<tr><td>%s</td><td class="r">%d</td></tr>' % (_e(p['phase']), p['count']) for p in summary['failed_by_phase'])
        html.append('</table>')
    else:
        html.append('<p class="muted">None.</p>')
    html.append('</div><div><h2>Batches</h2><table class="small" id="batches"><tr><th>batch</th><th>clusters</th>'
                '<th>succeeded</th><th>failed</th><th>incomplete</th></tr>')
    for b in summary['batches']:
        html.append('<tr><td>%s</td><td class="r">%d</td><td class="r">%d</td><td class="r">%d</td><td class="r">%d</td></tr>'
                    % (_e('-' if b['batch'] is None else b['batch']), b['clusters'], b['succeeded'], b['failed'], b['incomplete']))
    html.append('</table><h2>Whole install per node</h2>%s</div></div>' % _histogram_svg(summary['install_histogram']))
    html.append('<h2>Durations</h2>')
    if summary['durations']:
        main = [d for d in summary['durations'] if ' ' not in d['metric']]
        stages = [d for d in summary['durations'] if ' ' in d['metric']]
        html.append(_durations_table('durations', main))
        if stages:
            html.append('<details id="stage-durations"><summary>every stage (%d)</summary>%s</details>'
                        % (len(stages), _durations_table('stages', stages)))
    else:
        html.append('<p class="muted">No stage durations yet.</p>')
    html.append('</section>')
    return ''.join(html)


def _csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode('ascii')


def render_html(report, summary=None, docs_url=DOCS_URL, timelines=None):
    """The whole page: one string, no external resources."""
    timelines = timelines if timelines is not None else report_timelines(report)
    summary = summary if summary is not None else aggregates(report, timelines)
    data = script_json(page_data(report, timelines, docs_url))
    csp = "default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (
        _csp_hash(CSS), _csp_hash(SCRIPT))
    return ''.join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % _e(csp),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="ztp.sno_expand fleet report">',
        '<title>%s</title><style>%s</style></head><body>' % (_e(report['title']), CSS),
        '<header><h1>%s</h1><p class="muted">updated %s &middot; %d cluster(s) in %d batch(es) &middot; data also in the JSON file '
        'beside this page</p></header>' % (_e(report['title']), _e(report.get('updated') or '-'), summary['clusters']['total'],
                                           len(summary['batches'])),
        _summary_html(summary, docs_url),
        '<section id="table"><h2>Clusters</h2>',
        '<noscript><p class="warn">The cluster table and the timelines need JavaScript; the summary above and the JSON file '
        'have the same data.</p></noscript>',
        '<div class="filters"><input id="search" type="search" placeholder="search cluster, host or message" aria-label="search">'
        '<select id="outcome" aria-label="outcome"><option value="">every outcome</option><option>failed</option>'
        '<option>incomplete</option><option>succeeded</option></select>'
        '<select id="phase" aria-label="phase"><option value="">every phase</option></select>'
        '<select id="batch" aria-label="batch"><option value="">every batch</option></select>'
        '<span id="shown" class="muted"></span></div>',
        '<table id="clusters"><thead><tr><th data-sort="c">cluster</th><th data-sort="bt">batch</th><th data-sort="o">outcome</th>'
        '<th data-sort="p">phase reached</th><th>CGU</th><th data-sort="nr">nodes ready</th><th data-sort="d">install</th>'
        '<th>message</th></tr></thead><tbody id="rows"></tbody></table>',
        '<button id="more" type="button" hidden>show more</button></section>',
        '<script type="application/json" id="data">%s</script>' % data,
        '<script>%s</script></body></html>\n' % SCRIPT,
    ])


def report_timelines(report):
    """``{(cluster, host): node_timeline}`` of every node of the report."""
    out = {}
    for rec in _sorted_clusters(report):
        until = _until(rec)
        for node in rec['nodes']:
            out[(rec['cluster'], _text(node.get('host')))] = node_timeline(node, until)
    return out


def render(report, docs_url=DOCS_URL):
    """``(html, json)`` texts of a report, sharing one computation of the timelines and aggregates."""
    timelines = report_timelines(report)
    summary = aggregates(report, timelines)
    return render_html(report, summary, docs_url, timelines), render_json(report, summary)


CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 24px 40px;color:#1d2329;background:#fff}
h1{font-size:22px;margin:18px 0 2px}h2{font-size:16px;margin:18px 0 6px}
.muted{color:#68717a}.warn{color:#a15c00}.bad{color:#b42318}.ok{color:#19753a}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{border:1px solid #d5dae0;border-radius:6px;padding:6px 14px;min-width:90px}
.card .num{font-size:24px;font-weight:600}
.cols{display:flex;flex-wrap:wrap;gap:32px}.cols>div{flex:1 1 420px}
table{border-collapse:collapse}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e6e9ed;vertical-align:top}
th{background:#f4f6f8;font-weight:600}th[data-sort]{cursor:pointer}th.sorted:after{content:" \\25BE"}
td.r{text-align:right;font-variant-numeric:tabular-nums}
table.small td,table.small th{font-size:13px}
#clusters{width:100%}#clusters td{font-size:13px}
tr.cluster-row{cursor:pointer}tr.cluster-row:hover{background:#f0f5ff}tr.cluster-row.open{background:#e8f0fe}
.badge{display:inline-block;border-radius:9px;padding:0 8px;font-size:12px;border:1px solid}
.badge.failed,.badge.stalled{color:#b42318;border-color:#f3b4ae;background:#fef3f2}
.badge.succeeded,.badge.ready{color:#19753a;border-color:#a6dcb8;background:#ecfdf3}
.badge.incomplete,.badge.pending{color:#a15c00;border-color:#f5cf8e;background:#fffaeb}
.msg{max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.filters{display:flex;gap:8px;align-items:center;margin:6px 0 10px}
.filters input{width:320px;padding:4px 6px}.filters select{padding:3px}
td.detail{background:#fbfcfd;padding:10px 16px}
.node{margin:8px 0 16px}.node h3{font-size:14px;margin:0 0 4px}
.node-error{color:#b42318;white-space:pre-wrap;margin:2px 0}.node-cause{color:#5b2b00;white-space:pre-wrap;margin:2px 0}
a.doc{font-size:12px;display:inline-block;margin:2px 0}
svg.timeline{display:block;margin:4px 0 0}svg.timeline text{font-size:11px;fill:#3b434b}svg.timeline .grid{stroke:#e3e7eb}
svg.hist .hbar{fill:#5b8def}svg.hist text{font-size:11px;fill:#3b434b}svg.hist .hcount{text-anchor:middle}
button{margin:8px 0;padding:4px 14px}
"""

SCRIPT = r"""
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var S = D.S, ALL = D.C, PAGE = 200, SVGNS = 'http://www.w3.org/2000/svg';
  var LANE_COLORS = {PreprovisioningImage: '#8e6bbf', BareMetalHost: '#3b7dd8', Agent: '#2a9d8f', Node: '#4c9a2a',
                     MachineConfigPool: '#d98b1e'};
  var state = {q: '', o: '', p: '', bt: '', sort: 'default', dir: 1, limit: PAGE, open: {}};
  var rowsEl = document.getElementById('rows'), shownEl = document.getElementById('shown'), moreEl = document.getElementById('more');
  var RANK = {failed: 0, incomplete: 1, succeeded: 2};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function dur(s) {
    if (s === null || s === undefined) { return '-'; }
    s = Math.round(s);
    if (s >= 3600) { return Math.floor(s / 3600) + 'h ' + ('0' + Math.floor((s % 3600) / 60)).slice(-2) + 'm'; }
    if (s >= 60) { return Math.floor(s / 60) + 'm ' + ('0' + (s % 60)).slice(-2) + 's'; }
    return s + 's';
  }
  function docLink(anchor) {
    if (!anchor || !Object.prototype.hasOwnProperty.call(D.anchors, anchor)) { return null; }
    var a = el('a', {'class': 'doc', href: D.docs + '#' + anchor, target: '_blank', rel: 'noopener noreferrer'},
               'troubleshooting: ' + D.anchors[anchor]);
    return a;
  }

  ALL.forEach(function (c) {
    c.nr = c.n.filter(function (n) { return n.v === 'ready'; }).length;
    c.text = [c.c, c.ih, c.m].concat(c.n.map(function (n) { return n.h + ' ' + n.e + ' ' + n.k; })).join(' ').toLowerCase();
  });
  function fillSelect(id, values) {
    var sel = document.getElementById(id);
    values.forEach(function (v) { sel.appendChild(el('option', {value: String(v)}, v)); });
  }
  var phases = {}, batches = {};
  ALL.forEach(function (c) { if (c.p) { phases[c.p] = 1; } if (c.bt !== null && c.bt !== undefined) { batches[c.bt] = 1; } });
  fillSelect('phase', D.phases.filter(function (p) { return phases[p]; }).concat(Object.keys(phases).filter(function (p) {
    return D.phases.indexOf(p) < 0; }).sort()));
  fillSelect('batch', Object.keys(batches).sort(function (a, b) { return Number(a) - Number(b); }));

  function matches(c) {
    if (state.o && c.o !== state.o) { return false; }
    if (state.p && c.p !== state.p) { return false; }
    if (state.bt && String(c.bt) !== state.bt) { return false; }
    return !state.q || c.text.indexOf(state.q) >= 0;
  }
  function compare(a, b) {
    var k = state.sort, x, y;
    if (k === 'default') {
      x = RANK[a.o]; y = RANK[b.o];
      return x !== y ? x - y : (a.c < b.c ? -1 : a.c > b.c ? 1 : 0);
    }
    x = a[k]; y = b[k];
    if (x === null || x === undefined) { x = -Infinity; }
    if (y === null || y === undefined) { y = -Infinity; }
    return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
  }

  function cguText(c) {
    return c.g.map(function (g) { return g.k + ': ' + (g.s || (g.ok ? 'complete' : '?')); }).join(', ');
  }
  function row(c) {
    var tr = el('tr', {'class': 'cluster-row', 'data-cluster': c.c, 'data-outcome': c.o, tabindex: '0'});
    tr.appendChild(el('td', {'class': 'name'}, c.c));
    tr.appendChild(el('td', {'class': 'r'}, c.bt === null || c.bt === undefined ? '-' : c.bt));
    var td = el('td'); td.appendChild(el('span', {'class': 'badge ' + c.o}, c.o)); tr.appendChild(td);
    tr.appendChild(el('td', null, c.p || '-'));
    tr.appendChild(el('td', null, cguText(c)));
    tr.appendChild(el('td', {'class': 'r'}, c.nr + '/' + c.n.length));
    tr.appendChild(el('td', {'class': 'r'}, dur(c.d)));
    tr.appendChild(el('td', {'class': 'msg', title: c.m}, c.m));
    tr.addEventListener('click', function () { toggle(c, tr); });
    tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { toggle(c, tr); } });
    return tr;
  }

  function render() {
    var list = ALL.filter(matches).sort(compare);
    while (rowsEl.firstChild) { rowsEl.removeChild(rowsEl.firstChild); }
    var n = Math.min(list.length, state.limit);
    for (var i = 0; i < n; i++) {
      var tr = row(list[i]);
      rowsEl.appendChild(tr);
      if (state.open[list[i].c]) { openRow(list[i], tr); }
    }
    shownEl.textContent = 'showing ' + n + ' of ' + list.length + ' matching (' + ALL.length + ' clusters)';
    moreEl.hidden = n >= list.length;
  }
  function toggle(c, tr) {
    var next = tr.nextSibling;
    if (next && next.className === 'detail-row') {
      rowsEl.removeChild(next); tr.classList.remove('open'); delete state.open[c.c];
    } else { state.open[c.c] = true; openRow(c, tr); }
  }
  function openRow(c, tr) {
    tr.classList.add('open');
    var dr = el('tr', {'class': 'detail-row', 'data-cluster': c.c});
    var td = el('td', {'class': 'detail', colspan: '8'});
    dr.appendChild(td);
    td.appendChild(el('div', null, 'cluster ' + c.c + (c.ih && c.ih !== c.c ? ' (inventory host ' + c.ih + ')' : '') +
                      ', batch ' + (c.bt === null || c.bt === undefined ? '-' : c.bt) + ', phase reached: ' + (c.p || '-') +
                      (c.t0 ? ', first stage seen ' + c.t0 : '')));
    if (c.m) {
      var m = el('div', {'class': c.o === 'failed' ? 'node-error cluster-msg' : 'cluster-msg'}, c.m);
      td.appendChild(m);
      var l = docLink(c.a); if (l) { td.appendChild(l); }
    }
    c.g.forEach(function (g) {
      td.appendChild(el('div', {'class': 'cgu'}, 'ClusterGroupUpgrade (' + g.k + ') ' + g.ns + '/' + g.n + ': ' +
                        (g.s || '-') + (g.ok === true ? ', succeeded' : g.ok === false ? ', not succeeded' : '') +
                        (g.m ? ' - ' + g.m : '')));
    });
    if (!c.n.length) { td.appendChild(el('p', {'class': 'muted'}, 'No node was watched for this cluster.')); }
    var end = 0;
    c.n.forEach(function (n) { n.b.forEach(function (b) { end = Math.max(end, b[3]); }); });
    c.n.forEach(function (n) { td.appendChild(nodeBlock(c, n, end)); });
    tr.parentNode.insertBefore(dr, tr.nextSibling);
  }
  function nodeBlock(c, n, end) {
    var div = el('div', {'class': 'node', 'data-host': n.h, 'data-verdict': n.v});
    var h = el('h3', null, n.h + ' ');
    h.appendChild(el('span', {'class': 'badge ' + n.v}, n.v));
    if (n.d !== null && n.d !== undefined) { h.appendChild(document.createTextNode(' installed in ' + dur(n.d))); }
    if (n.ag) { h.appendChild(el('span', {'class': 'muted'}, '  Agent ' + n.ag)); }
    div.appendChild(h);
    if (n.e) { div.appendChild(el('div', {'class': 'node-error'}, n.e)); }
    if (n.k) { div.appendChild(el('div', {'class': 'node-cause'}, 'cause reported by the hub: ' + n.k)); }
    var l = docLink(n.a); if (l) { div.appendChild(l); }
    if (n.b.length) { div.appendChild(timeline(n, end)); } else {
      div.appendChild(el('p', {'class': 'muted'}, 'No stage was seen for this node (' + (n.st || 'no state') + ').'));
    }
    return div;
  }
  function tick(s) {
    if (s % 3600 === 0) { return (s / 3600) + 'h'; }
    if (s % 60 === 0) { return s >= 3600 ? Math.floor(s / 3600) + 'h ' + ((s % 3600) / 60) + 'm' : (s / 60) + 'm'; }
    return dur(s);
  }
  function fit(text, px) {
    var n = Math.floor((px - 8) / 6.5);
    if (n >= text.length) { return text; }
    return n >= 4 ? text.slice(0, n - 1) + '\u2026' : '';
  }
  function niceStep(span) {
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (var i = 0; i < steps.length; i++) { if (span / steps[i] <= 8) { return steps[i]; } }
    return steps[steps.length - 1];
  }
  function timeline(n, end) {
    var lanes = [];
    n.b.forEach(function (b) { if (lanes.indexOf(b[0]) < 0) { lanes.push(b[0]); } });
    var left = 165, width = 760, right = 130, laneH = 22, top = 18, span = Math.max(end, 1);
    var height = top + lanes.length * laneH + 8;
    var svg = sv('svg', {'class': 'timeline', width: String(left + width + right), height: String(height),
                         viewBox: '0 0 ' + (left + width + right) + ' ' + height, role: 'img', 'data-host': n.h});
    svg.appendChild(sv('title', null, 'install timeline of ' + n.h));
    var defs = sv('defs'), pat = sv('pattern', {id: 'stall-' + Math.random().toString(36).slice(2), width: '6', height: '6',
                                                patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)'});
    pat.appendChild(sv('rect', {width: '6', height: '6', fill: '#fde68a'}));
    pat.appendChild(sv('line', {x1: '0', y1: '0', x2: '0', y2: '6', stroke: '#d97706', 'stroke-width': '3'}));
    defs.appendChild(pat); svg.appendChild(defs);
    function x(t) { return left + width * t / span; }
    var step = niceStep(span);
    for (var t = 0; t <= span + 0.001; t += step) {
      svg.appendChild(sv('line', {x1: x(t), y1: String(top - 4), x2: x(t), y2: String(height - 6), 'class': 'grid'}));
      svg.appendChild(sv('text', {x: x(t), y: '11', 'text-anchor': 'middle'}, t === 0 ? '0' : '+' + tick(t)));
    }
    lanes.forEach(function (lane, i) {
      svg.appendChild(sv('text', {x: String(left - 8), y: String(top + i * laneH + 15), 'text-anchor': 'end'}, S[lane]));
    });
    n.b.forEach(function (b) {
      var lane = lanes.indexOf(b[0]), y = top + lane * laneH + 3, name = S[b[0]], stateName = S[b[1]], kind = b[4];
      var color = LANE_COLORS[name] || '#7a838c';
      var tip = name + ' ' + stateName + (b[5] !== null && b[5] !== undefined ? ' ' + b[5] + '%' : '') + ': +' + dur(b[2]) +
                (b[3] > b[2] ? ' to +' + dur(b[3]) + ' (' + dur(b[3] - b[2]) + ')' : '') +
                (kind === 'o' ? ', still in this state when the report was written' : '') +
                (kind === 'f' ? ', failed' : '') + (kind === 's' ? ', no progress' : '');
      var g = sv('g', {'class': 'bar kind-' + kind, 'data-stage': name + ' ' + stateName});
      g.appendChild(sv('title', null, tip));
      if (kind === 'm' || (kind === 'f' && b[3] <= b[2])) {
        var cx = x(b[2]), cy = y + 8;
        if (kind === 'f') {
          g.appendChild(sv('path', {d: 'M' + (cx - 6) + ' ' + (cy - 6) + 'L' + (cx + 6) + ' ' + (cy + 6) + 'M' + (cx + 6) + ' ' +
                                   (cy - 6) + 'L' + (cx - 6) + ' ' + (cy + 6), stroke: '#b42318', 'stroke-width': '3', 'class': 'failure-mark'}));
        } else {
          g.appendChild(sv('path', {d: 'M' + cx + ' ' + (cy - 7) + 'L' + (cx + 7) + ' ' + cy + 'L' + cx + ' ' + (cy + 7) + 'L' + (cx - 7) +
                                   ' ' + cy + 'Z', fill: color}));
        }
        g.appendChild(sv('text', {x: String(cx + 9), y: String(cy + 4)}, stateName));
      } else {
        var w = Math.max(x(b[3]) - x(b[2]), 2);
        var fill = kind === 'f' ? '#d92d20' : kind === 's' ? 'url(#' + pat.getAttribute('id') + ')' : color;
        g.appendChild(sv('rect', {x: String(x(b[2])), y: String(y), width: String(w), height: '16', rx: '2', fill: fill,
                                  'fill-opacity': kind === 'o' ? '0.45' : '0.9'}));
        if (kind === 'f' || kind === 's') {
          var ex = x(b[3]);
          g.appendChild(sv('path', {d: 'M' + (ex - 5) + ' ' + (y + 3) + 'L' + (ex + 5) + ' ' + (y + 13) + 'M' + (ex + 5) + ' ' + (y + 3) +
                                   'L' + (ex - 5) + ' ' + (y + 13), stroke: kind === 'f' ? '#7a0f08' : '#92400e', 'stroke-width': '2.5',
                                   'class': kind === 'f' ? 'failure-mark' : 'stall-mark'}));
        }
        var label = fit(stateName + (b[5] !== null && b[5] !== undefined ? ' ' + b[5] + '%' : ''), w);
        if (label) {
          g.appendChild(sv('text', {x: String(x(b[2]) + 4), y: String(y + 12), fill: kind === 's' ? '#5b2b00' : '#fff',
                                    'class': 'bar-label'}, label));
        }
      }
      svg.appendChild(g);
    });
    return svg;
  }

  function openCluster(name) {
    var c = null;
    for (var i = 0; i < ALL.length; i++) { if (ALL[i].c === name) { c = ALL[i]; break; } }
    if (!c) { return; }
    state.open[c.c] = true;
    if (!matches(c)) { state.q = ''; state.o = ''; state.p = ''; state.bt = '';
      document.getElementById('search').value = ''; ['outcome', 'phase', 'batch'].forEach(function (id) {
        document.getElementById(id).value = ''; }); }
    var list = ALL.filter(matches).sort(compare), pos = list.indexOf(c);
    if (pos >= state.limit) { state.limit = pos + 1; }
    render();
    var rows = rowsEl.querySelectorAll('tr.cluster-row');
    for (var j = 0; j < rows.length; j++) {
      if (rows[j].getAttribute('data-cluster') === name) { rows[j].scrollIntoView({block: 'start'}); break; }
    }
  }
  function fromHash() {
    var m = /^#cluster=(.*)$/.exec(location.hash);
    if (m) { try { openCluster(decodeURIComponent(m[1])); } catch (err) { /* a malformed link opens nothing */ } }
  }

  var pending = null;
  document.getElementById('search').addEventListener('input', function (ev) {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; state.q = ev.target.value.trim().toLowerCase(); state.limit = PAGE; render(); }, 120);
  });
  [['outcome', 'o'], ['phase', 'p'], ['batch', 'bt']].forEach(function (pair) {
    document.getElementById(pair[0]).addEventListener('change', function (ev) { state[pair[1]] = ev.target.value; state.limit = PAGE; render(); });
  });
  moreEl.addEventListener('click', function () { state.limit += PAGE; render(); });
  var heads = document.querySelectorAll('#clusters th[data-sort]');
  for (var h = 0; h < heads.length; h++) {
    heads[h].addEventListener('click', function (ev) {
      var k = ev.target.getAttribute('data-sort');
      state.dir = state.sort === k ? -state.dir : (k === 'd' || k === 'nr' ? -1 : 1); state.sort = k; render();
      for (var i = 0; i < heads.length; i++) { heads[i].classList.toggle('sorted', heads[i] === ev.target); }
    });
  }
  window.addEventListener('hashchange', fromHash);
  render();
  fromHash();
  document.body.setAttribute('data-ready', 'true');
})();
"""
