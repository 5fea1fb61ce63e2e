#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ztp_gitops_batch
short_description: Write the worker policies and worker nodes of a whole batch of SNO clusters in one task
version_added: 0.1.0
description:
  - The Git-side edits of M(ztp.sno_expand.ztp_policygen_worker) and M(ztp.sno_expand.ztp_siteconfig_node) for many
    clusters at once, run once on the controller for the hosts of a batch.
  - Every file is planned in memory first, so the input errors of all clusters are reported together and nothing is
    written while any cluster has an error. Then each changed file is written atomically under its lock.
  - The entries of one C(kustomization.yaml) are added in one edit. Edits keep comments, order and quoting, as the
    single-cluster modules do.
  - Runs on the controller (action plugin); the module file only documents it.
  - Supports check mode and C(--diff).
author:
  - ztp.sno_expand maintainers (@ztp)
options:
  repo_dir:
    description: Working copy of the GitOps repository; the paths of O(clusters) are relative to it.
    type: path
    required: true
  clusters:
    description:
      - One entry per cluster of the batch.
      - C(cluster) (required), C(host) (inventory host, for messages), C(cluster_file) (SiteConfig or ClusterInstance
        file, required with C(workers)), C(workers) (node entries as in M(ztp.sno_expand.ztp_siteconfig_node) option C(node)),
        C(default_template_refs), C(bmh_annotations) (annotations every worker's BareMetalHost gets, in SiteConfig
        C(crAnnotations.add.BareMetalHost) or ClusterInstance C(extraAnnotations.BareMetalHost)), C(worker_policy) (the
        options of M(ztp.sno_expand.ztp_policygen_worker), with C(path) relative to O(repo_dir)).
      - Exactly one of O(clusters) and O(hosts) is required.
    type: list
    elements: dict
  hosts:
    description:
      - Inventory hosts whose variables make the requests, without a task per host (for a batch of hundreds of
        hosts a task per host costs more than the edits).
      - C(cluster) from C(ztp_cluster_name) (default the host name),
        C(cluster_file) from C(ztp_cluster_file), C(workers) from C(ztp_workers), C(worker_policy) from
        C(ztp_worker_policy), C(default_template_refs) from C(ztp_default_template_refs).
      - Usually C(ansible_play_batch).
    type: list
    elements: str
  policies:
    description: Write the worker policy files (and their C(kustomization.yaml) entries) of the clusters that give C(worker_policy).
    type: bool
    default: true
  nodes:
    description: Add or update the workers of the clusters that give C(workers).
    type: bool
    default: true
  existing_namespaces:
    description:
      - Worker policy namespaces that exist on the hub already (the policy_creation role reads them).
      - ArgoCD creates no namespace that Git does not declare (C(CreateNamespace=true) covers only the Application's
        destination). A worker policy namespace that no C(resources:) file of a C(kustomization.yaml) declares and that
        is not listed here gets, with the templates, its C(Namespace) and a C(ManagedClusterSetBinding) to the
        C(global) cluster set (the form of the ZTP examples' C(ns.yaml)), in the file that declares the other policy
        namespaces (a C(List) gets new items, other files new documents), or in a new C(ns.yaml) added to the worker
        folder's C(resources:).
    type: list
    elements: str
requirements:
  - ruamel.yaml
  - PyYAML (with libyaml for speed)
'''

EXAMPLES = r'''
- name: Write the worker policies and add the workers of the batch
  ztp.sno_expand.ztp_gitops_batch:
    repo_dir: "{{ gitops_dir }}"
    clusters: "{{ ansible_play_batch | map('extract', hostvars, 'my_request') | list }}"
  run_once: true
  register: batch

- name: The same from the inventory variables of the batch's hosts, with no task per host
  ztp.sno_expand.ztp_gitops_batch:
    repo_dir: "{{ gitops_dir }}"
    hosts: "{{ ansible_play_batch }}"
  run_once: true
'''

RETURN = r'''
clusters:
  description: Per cluster name, what was planned and written.
  returned: success
  type: dict
  sample:
    sno-a:
      cluster: sno-a
      host: sno-a
      policies: [sno-a-workers-config-policy]
      nodes: [{hostName: sno-a-worker-0.ran.example.com, role: worker}]
      format: SiteConfig v2
      paths: [policygentemplates/sno-a-workers.yaml, policygentemplates/kustomization.yaml, siteconfig/sno-a.yaml]
      changed: true
      warnings: []
paths:
  description: Changed files, relative to O(repo_dir).
  returned: success
  type: list
  elements: str
errors:
  description: Every input error of the batch (on failure).
  returned: failure
  type: list
  elements: str
'''
