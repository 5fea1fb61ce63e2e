#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ztp_fleet_report
short_description: Write the fleet report of a run, an HTML page with per-node install timelines and a JSON file
version_added: 0.1.0
description:
  - Writes one self-contained HTML file (inline styles and script only, no external scripts, fonts or styles, so it opens
    offline from an AWX artifact or a mail attachment) and a JSON file with the same data for other tools.
  - The page shows, first, the fleet aggregates (clusters by outcome, nodes by verdict, failures by phase and by the row of
    the user guide's troubleshooting table that explains them, clusters per batch, the distribution of install durations
    and of each stage with p50, p95, maximum and the ten slowest nodes), then a searchable, filterable and sortable table
    with one row per cluster (phase reached, ClusterGroupUpgrade outcome, nodes ready, message). Opening a cluster draws,
    for each of its nodes, the verdict, the error and the hub's own cause text, a link to the troubleshooting row, and a
    timeline of the install (PreprovisioningImage, BareMetalHost states, Agent stages, Node Ready and any other stage the
    watch saw) as bars on a time axis, with failures and stalls marked. Timelines are drawn only for the clusters opened,
    so the page stays fast with thousands of clusters. A link C(#cluster=<name>) opens a cluster.
  - The data comes from what the watches saw (the C(nodes) results of M(ztp.sno_expand.ztp_install_wait) with their stage
    changes and times); nothing is asked of the hub again.
  - Called at the end of each batch, it reads the JSON file written before and merges the new records into it; a cluster
    already in the report is replaced by its new record. Each file is written atomically (temporary file, then rename),
    and only when its content changes, so a run with the same records reports no change.
  - Cluster names and messages are shown as text, never as markup; a Content-Security-Policy in the page lets only its
    own script run.
  - Runs on the controller (action plugin); the module file only documents it. Supports check mode and C(--diff) (one line
    per cluster, before and after).
author:
  - ztp.sno_expand maintainers (@ztp)
options:
  path:
    description:
      - The HTML file. Its folder is created when missing. A relative path is relative to the folder C(ansible-playbook)
        runs in.
    type: path
    required: true
  json_path:
    description:
      - The JSON file, read back and merged into at each call.
      - Default O(path) with the extension C(.json) instead of C(.html) (or with C(.json) added).
    type: path
  clusters:
    description:
      - One record per cluster, as the playbook's batch layer hands them over at the end of a batch. Every key but C(cluster)
        may be missing.
      - C(cluster) (required; C(inventory_host) is used when it is missing), C(inventory_host), C(batch) (O(batch) when
        missing), C(ok) (false for a failed cluster), C(phase) (the last phase reached, C(selector_checks),
        C(policy_creation), C(node_addition), C(install_verification) or C(done)), C(msg) (the failure, empty when ok),
        C(cgu) (per ClusterGroupUpgrade of the run, for example C(selectors) and C(workers), a dict with C(name),
        C(namespace), C(state), C(succeeded), C(msg)), C(nodes) (the node results of M(ztp.sno_expand.ztp_install_wait),
        RV(ztp.sno_expand.ztp_install_wait#module:nodes)).
    type: list
    elements: dict
    default: []
  title:
    description: Title of the page. When not set, the title of the existing report, or C(Fleet report).
    type: str
  batch:
    description: The batch number given to records that have no C(batch).
    type: int
  merge:
    description: Merge the records into the report in O(json_path). With C(false) the report holds only the given records.
    type: bool
    default: true
  docs_url:
    description:
      - Base URL of the collection's documentation; failures link to the rows of the troubleshooting table of
        C(user-guide.md) there.
      - The default is the C(documentation) URL of the collection's C(galaxy.yml).
    type: str
    default: https://example.invalid/ztp/sno_expand/docs
notes:
  - The JSON file starts with C(kind), C(schema), C(title), C(updated) and C(summary) (the aggregates the page shows), then
    C(clusters), one record per line, sorted by cluster name.
  - A file at O(json_path) that is not a fleet report of this collection is never overwritten; the task fails instead.
'''

EXAMPLES = r'''
- name: Add the batch's clusters to the fleet report
  ztp.sno_expand.ztp_fleet_report:
    path: "{{ ztp_report_path }}"
    title: RAN fleet expansion
    batch: "{{ batch_number }}"
    clusters: "{{ batch_records }}"
  run_once: true

- name: A report from one install wait
  ztp.sno_expand.ztp_fleet_report:
    path: reports/fleet.html
    clusters:
      - cluster: sno-a
        ok: "{{ wait.nodes | selectattr('cluster', 'equalto', 'sno-a') | rejectattr('ready') | list | length == 0 }}"
        phase: install_verification
        nodes: "{{ wait.nodes | selectattr('cluster', 'equalto', 'sno-a') | list }}"
  run_once: true
'''

RETURN = r'''
path:
  description: The HTML file (absolute).
  returned: always
  type: str
  sample: /var/lib/awx/projects/ran/reports/fleet.html
json_path:
  description: The JSON file (absolute).
  returned: always
  type: str
  sample: /var/lib/awx/projects/ran/reports/fleet.json
written:
  description: The files whose content changed (written unless in check mode).
  returned: always
  type: list
  elements: str
clusters:
  description: Clusters of the whole report by outcome.
  returned: success
  type: dict
  sample: {total: 3, succeeded: 2, failed: 1, incomplete: 0}
nodes:
  description: Nodes of the whole report by verdict.
  returned: success
  type: dict
  sample: {total: 3, ready: 2, failed: 1, stalled: 0, pending: 0}
batches:
  description: Number of batches in the report.
  returned: success
  type: int
  sample: 2
updated:
  description: When the report's data last changed (UTC).
  returned: success
  type: str
  sample: "2026-11-30T17:40:12Z"
'''
