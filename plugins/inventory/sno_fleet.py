# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: sno_fleet
short_description: Single-node OpenShift clusters of a GitOps ZTP repository as inventory hosts
version_added: 0.1.0
author:
  - ztp.sno_expand maintainers (@ztp)
description:
  - One inventory host per single-node OpenShift (SNO) cluster found in the SiteConfig (V(ran.openshift.io/v1), V(/v2))
    and ClusterInstance documents of a GitOps ZTP repository, read as ArgoCD renders it (from the root kustomizations
    through their C(generators) and C(resources)).
  - The host variables are those that C(playbooks/expand_sno.yml) reads, derived from the repository
    (C(ztp_cluster_file), C(ztp_group_policy_path), C(ztp_group_policies), C(ztp_site_policies), C(ztp_worker_policy)
    with the master's PerformanceProfile as the worker profile), plus C(ztp_workers) from one workers file, and
    information about the cluster (C(ztp_cluster_format), C(ztp_cluster_namespace), C(ztp_cluster_labels),
    C(ztp_cluster_nodes), C(ztp_policy_templates)). See C(docs/inventory.md) of the collection for the conventions.
  - With O(hub=true), the ManagedClusters of the hub add their labels (as groups), availability and OpenShift
    version; clusters that are not available on the hub are left out of O(target_group).
  - Every problem of the repository or of the workers file (broken YAML, a cluster defined twice, a template whose
    selector matches no cluster, an unknown cluster, host names, MACs or IP addresses used twice) fails the inventory
    with the file and line, all problems together.
  - The configuration file must end in C(sno_fleet.yml) or C(sno_fleet.yaml).
requirements:
  - jmespath (for O(hub_vars))
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - ztp.sno_expand.hub_auth
options:
  plugin:
    description: The name of this plugin; it makes the file a configuration of this plugin.
    required: true
    type: str
    choices: [ztp.sno_expand.sno_fleet]
  repo:
    description:
      - The GitOps repository, a local folder (a working copy; relative to the configuration file) or a Git URL
        (https, ssh, git), which is cloned or brought up to date in O(workdir) with the collection's checkout code.
    type: str
    required: true
    env:
      - name: ZTP_GITOPS_REPO
  branch:
    description: Branch of a Git URL O(repo).
    type: str
    default: main
  workdir:
    description:
      - Working copy of a Git URL O(repo). Defaults to C(~/.cache/ztp-sno-expand/inventory/) and a hash of the URL,
        apart from the playbook's own working copy.
      - The default working copy only mirrors the remote, so when the remote repository was re-created or its branch
        rewritten it is cloned anew. A working copy given here is never removed; reading it then fails with the reason.
    type: path
  paths:
    description:
      - Folders or files of the repository to read (kustomization folders, or folders read whole, or single files).
      - Defaults to every folder whose kustomization no other kustomization includes.
    type: list
    elements: str
  workers_file:
    description:
      - The workers file (YAML, or CSV when it ends in C(.csv)) with the new workers of each cluster; relative to
        the configuration file. Without it no host gets C(ztp_workers).
    type: str
    env:
      - name: ZTP_WORKERS_FILE
  target_group:
    description:
      - Group of the clusters a run works on (the playbook's hosts, C(sno_clusters) by default).
      - It holds the single-node clusters with workers in O(workers_file) (every single-node cluster without a
        workers file), except those that are not available on the hub.
    type: str
    default: sno_clusters
  hub:
    description: Read the ManagedClusters of the hub (with the connection options below, or E(K8S_AUTH_*)).
    type: bool
    default: false
  hub_vars:
    description:
      - With O(hub=true), host variables taken from each cluster's ManagedCluster object on the hub, each given as the
        variable name and a JMESPath expression over the object (C(metadata), C(spec), C(status)). A cluster the hub does not know gets
        V(null). Read before O(compose), so O(compose), O(groups) and O(keyed_groups) can use them.
      - 'For example C(ztp_region: "status.clusterClaims[?name==''region.open-cluster-management.io''].value | [0]").'
    type: dict
    default: {}
  label_groups:
    description:
      - Label keys whose values become groups C(label_<key>_<value>) (C(label_<key>) for an empty value). The labels
        are the cluster's labels in Git, with the hub's ManagedCluster labels over them when O(hub=true).
      - The default, C([]), makes none; C(['*']) makes groups of every label.
    type: list
    elements: str
    default: []
  unmatched_templates:
    description: What a PolicyGenTemplate or PolicyGenerator whose selector matches no cluster of the repository is.
    type: str
    choices: [error, warn, ignore]
    default: error
  template_details:
    description:
      - Add C(ztp_policy_templates) to each host, the templates that bind to the cluster (path, kind, name, namespace,
        policies, and the role this inventory gives them, V(group), V(site), V(worker) or V(common)).
      - Off by default, because at thousands of clusters every host variable costs Ansible time to load.
    type: bool
    default: false
  site_label:
    description: The label that site templates bind on; their policies become C(ztp_site_policies).
    type: str
    default: sites
  worker_policy_name:
    description: Name of a new worker policy template; C({cluster}) is replaced by the cluster name.
    type: str
    default: "{cluster}-workers"
  worker_policy_file:
    description: File name of a new worker policy template, written beside the cluster's site template.
    type: str
    default: "{cluster}-workers.yaml"
  worker_policy_namespace:
    description: Namespace of a new worker policy (it must start with C(ztp)).
    type: str
    default: ztp-site
  worker_policy_dir:
    description: Folder of new worker policy templates, instead of the folder of the cluster's site template.
    type: str
  git_token:
    description: Token for an https O(repo) (never printed).
    type: str
    env:
      - name: ZTP_GIT_TOKEN
  git_username:
    description: User name sent with O(git_token).
    type: str
    default: git
  git_ssh_key_file:
    description: Private key for an ssh O(repo).
    type: path
  git_known_hosts_file:
    description: Known-hosts file for an ssh O(repo).
    type: path
  git_accept_new_host_keys:
    description: Accept and record host keys of ssh remotes not seen before.
    type: bool
    default: false
"""

EXAMPLES = r"""
# inventory/fleet/fleet.sno_fleet.yml
plugin: ztp.sno_expand.sno_fleet
repo: git@git.example.com:ran/ztp-sites.git
git_ssh_key_file: ~/.ssh/ztp-gitops
workers_file: workers.yml
hub: true
label_groups: [region, du-profile]
# the cluster claims ACM collects from each cluster (JMESPath over the ManagedCluster)
hub_vars:
  ztp_platform: "status.clusterClaims[?name=='platform.open-cluster-management.io'].value | [0]"
  ztp_kube_version: status.version.kubernetes
keyed_groups:
  - key: ztp_cluster_format
    prefix: format
  - key: ztp_platform
    prefix: platform
compose:
  ansible_connection: "'local'"

---
# A local working copy, only the SiteConfig and PolicyGenTemplate trees, cached between runs
plugin: ztp.sno_expand.sno_fleet
repo: ../../gitops
paths: [siteconfig, policygentemplates]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ztp-sno-expand/inventory-cache
"""

import hashlib
import os
import shutil

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.ztp.sno_expand.plugins.module_utils import _fleet_inventory as fleet
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError

HUB_OPTIONS = ("kubeconfig", "context", "host", "api_key", "username", "password", "client_cert", "client_key", "ca_cert",
               "validate_certs", "proxy", "no_proxy", "proxy_headers", "persist_config", "impersonate_user", "impersonate_groups")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "ztp.sno_expand.sno_fleet"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("sno_fleet.yml", "sno_fleet.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path)
        self._read_config_data(path)
        base = os.path.dirname(os.path.abspath(path))
        cache_key = self._workers_key(base, self.get_cache_key(path))
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        result = None
        if use_cache:
            try:
                result = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if result is None:
            result = self._read_fleet(base)
        if update_cache:
            self._cache[cache_key] = result
        for warning in result.get("warnings") or []:
            self.display.warning(warning)
        self._populate(result)

    def _workers_key(self, base, key):
        """The cache key, with the workers file's contents in it: a changed workers file is never served from the cache."""
        workers = self.get_option("workers_file")
        if not workers:
            return key
        try:
            with open(os.path.join(base, os.path.expanduser(workers)), "rb") as handle:
                return "%s_%s" % (key, hashlib.sha256(handle.read()).hexdigest()[:16])
        except (IOError, OSError):
            return key

    def _option(self, name):
        try:
            return self.get_option(name)
        except KeyError:
            return None

    def _hub_options(self):
        return dict((key, self._option(key)) for key in HUB_OPTIONS if self._option(key) is not None)

    def _read_fleet(self, base):
        try:
            root = self._working_copy(base)
            return fleet.read_fleet(root, base, dict((key, self._option(key)) for key in fleet.READ_OPTIONS),
                                    self._hub_options() if self.get_option("hub") else None)
        except (ZtpInputError, fleet.FleetError) as error:
            raise AnsibleParserError(to_native(error))

    def _working_copy(self, base):
        repo = self.get_option("repo")
        from ansible_collections.ztp.sno_expand.plugins.module_utils import _gitops as gitops
        try:
            kind = gitops.repo_url_kind(repo)
        except ZtpInputError as error:
            raise AnsibleParserError(to_native(error))
        local = os.path.join(base, os.path.expanduser(repo))
        if kind == "local" or os.path.isdir(local):
            return local
        own = not self.get_option("workdir")
        dest = self.get_option("workdir") or os.path.join(
            os.path.expanduser("~"), ".cache", "ztp-sno-expand", "inventory", hashlib.sha1(repo.encode("utf-8")).hexdigest()[:12])
        git = gitops.Git(token=self.get_option("git_token"), username=self.get_option("git_username"),
                         ssh_key_file=self.get_option("git_ssh_key_file"), known_hosts_file=self.get_option("git_known_hosts_file"),
                         accept_new_host_keys=self.get_option("git_accept_new_host_keys"))
        with git:
            try:
                try:
                    gitops.checkout(git, repo, dest, branch=self.get_option("branch"))
                except gitops.GitError as error:
                    # Only the history checks name the remote's head. Nothing is ever committed in the default working
                    # copy, so its "local" commits are those of an earlier remote at this URL (a test hub started
                    # anew, a rewritten branch): read what the remote has now, as ArgoCD does.
                    if not own or "remote_head" not in error.details:
                        raise
                    shutil.rmtree(dest)
                    git.cwd = None
                    gitops.checkout(git, repo, dest, branch=self.get_option("branch"))
            except gitops.GitError as error:
                raise AnsibleParserError("cannot check out %s: %s" % (fleet.mask(repo), git.scrub(to_native(error))))
        return dest

    def _populate(self, result):
        strict = self.get_option("strict")
        for group in result["groups"]:
            self.inventory.add_group(group)
        # ansible-core 2.19 and later wrap the inventory so that every value set is walked and tagged with its origin
        # and, for trusting plugins, as a template. The values here are plain data read from Git and the hub, never
        # templates; at thousands of hosts that walk would be most of the time a cached read takes, so they go to the
        # inventory data directly (untagged strings are not templated).
        data = getattr(self.inventory, "__wrapped__", self.inventory)
        for name, hostvars in result["hosts"].items():
            self.inventory.add_host(name)
            for key, value in hostvars.items():
                data.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
        for group, names in result["groups"].items():
            for name in names:
                self.inventory.add_child(group, name)
