# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet as the GitOps repository (and optionally the hub) describes it, for the ``sno_fleet`` inventory.

``scan`` reads the repository the way ArgoCD renders it: from the root kustomizations (``paths``, or every
``kustomization.yaml`` that no other kustomization includes) through their ``generators`` and ``resources``, it
collects the clusters of SiteConfig (v1, v2) and ClusterInstance documents and the PolicyGenTemplate and
PolicyGenerator documents. A folder without a kustomization is read whole.

``derive`` binds templates to clusters (PolicyGenTemplate ``bindingRules``/``bindingExcludedRules``, PolicyGenerator
placement ``labelSelector`` and ``clusterSelectors``) against the cluster's labels, and computes the inventory
variables that ``playbooks/expand_sno.yml`` reads: ``ztp_cluster_file``, ``ztp_group_policy_path``,
``ztp_group_policies``, ``ztp_site_policies`` and ``ztp_worker_policy`` (its profile taken from the master's
PerformanceProfile; see docs/inventory.md for the conventions).

Every problem of the repository is an error naming the file, the line, the field, the value and the fix; all of
them are reported together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cpuset as cpuset_utils
from ansible_collections.ztp.sno_expand.plugins.module_utils import _siteconfig as siteconfig
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError
from ansible_collections.ztp.sno_expand.plugins.module_utils import _workers_file as workers_file
from ansible_collections.ztp.sno_expand.plugins.module_utils._workers_file import LineIndex, where, yaml_error_line

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - jmespath is a requirement of the collection
    jmespath = None
    HAS_JMESPATH = False

PGT = "policygentemplate"
PG = "policygenerator"
TEMPLATE_KINDS = {("ran.openshift.io/v1", "PolicyGenTemplate"): PGT,
                  ("policy.open-cluster-management.io/v1", "PolicyGenerator"): PG}
KINDS_BYTES = (b"SiteConfig", b"ClusterInstance", b"PolicyGenTemplate", b"PolicyGenerator")
YAML_SUFFIXES = (".yaml", ".yml")
SKIP_DIRS = (".git", "source-crs", "extra-manifests", "extra-manifest")
PTP_SRIOV_PREFIXES = ("PtpOperatorConfig", "SriovOperatorConfig")
WORKER_POOL = "pools.operator.machineconfiguration.openshift.io/worker"
DEFAULT_HUGEPAGES_SIZE = "1G"


class Cluster(object):
    """One cluster of a SiteConfig or ClusterInstance document."""

    def __init__(self, name, path, doc_index, cluster_path, fmt, data, doc):
        self.name = name
        self.path = path
        self.doc_index = doc_index
        self.cluster_path = cluster_path
        self.format = fmt
        self.data = data
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        if fmt == siteconfig.FORMAT_CLUSTERINSTANCE:
            self.namespace = str(meta.get("namespace") or name)
            extra = data.get("extraLabels") if isinstance(data.get("extraLabels"), dict) else {}
            labels = extra.get("ManagedCluster") or {}
        else:
            self.namespace = name  # the SiteConfig generator renders every object of a cluster in a namespace named after it
            labels = data.get("clusterLabels") or {}
        self.labels = dict((str(k), label_text(v)) for k, v in labels.items()) if isinstance(labels, dict) else {}
        ref = siteconfig.ClusterRef(fmt, doc_index, cluster_path, data, name)
        self.nodes = [n for n in ref.nodes if isinstance(n, dict)]
        self.sno = not siteconfig.sno_errors(ref)
        self.line = None


class Template(object):
    """One PolicyGenTemplate or PolicyGenerator document: its selector, policies, and what it configures."""

    def __init__(self, path, doc_index, fmt, doc):
        self.path = path
        self.doc_index = doc_index
        self.format = fmt
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        self.name = str(meta.get("name") or "")
        self.line = None
        self.selectors = []        # [(field path, [(key, operator, values)])]: one per Placement; the template binds when any matches
        self.policies = []
        self.entries = []          # [(source file name, spec override)]
        self.mcp = None
        if fmt == PGT:
            self.namespace = str(meta.get("namespace") or "")
            self.mcp = spec.get("mcp")
            self.selectors.append((["spec", "bindingRules"], pgt_expressions(spec.get("bindingRules"), spec.get("bindingExcludedRules"))))
            self.binding_rules = dict((str(k), label_text(v)) for k, v in (spec.get("bindingRules") or {}).items()) \
                if isinstance(spec.get("bindingRules"), dict) else {}
            names = []
            for entry in spec.get("sourceFiles") or []:
                if not isinstance(entry, dict):
                    continue
                self.entries.append((str(entry.get("fileName") or ""), entry))
                if entry.get("policyName"):
                    name = "%s-%s" % (self.name, entry["policyName"])
                    if name not in names:
                        names.append(name)
            self.policies = names
        else:
            defaults = doc.get("policyDefaults") if isinstance(doc.get("policyDefaults"), dict) else {}
            self.namespace = str(defaults.get("namespace") or "")
            default_placement = defaults.get("placement")
            self.binding_rules = {}
            if isinstance(default_placement, dict) and isinstance(default_placement.get("labelSelector"), dict):
                selector = default_placement["labelSelector"]
                if "matchLabels" not in selector and "matchExpressions" not in selector:
                    self.binding_rules = dict((str(k), label_text(v)) for k, v in selector.items())
            default_used = False
            for index, policy in enumerate(doc.get("policies") or []):
                if not isinstance(policy, dict):
                    continue
                self.policies.append(str(policy.get("name") or ""))
                for manifest in policy.get("manifests") or []:
                    if isinstance(manifest, dict):
                        self.entries.append((str(manifest.get("path") or ""), manifest))
                if isinstance(policy.get("placement"), dict) and placement_expressions(policy["placement"]) is not None:
                    self.selectors.append((["policies", index, "placement"], placement_expressions(policy["placement"])))
                else:
                    default_used = True
            if default_used or not self.selectors:
                self.selectors.append((["policyDefaults", "placement"], placement_expressions(default_placement)))

    def field_path(self, selector_path):
        return [self.doc_index] + list(selector_path)

    def has_entry(self, prefixes):
        return any(posixpath.basename(name).startswith(prefixes) for name, _entry in self.entries)

    @property
    def is_worker(self):
        """Whether this template configures worker nodes (a worker policy, not a site or group template)."""
        if self.mcp == "worker":
            return True
        for name, entry in self.entries:
            if posixpath.basename(name).startswith("PerformanceProfile") and WORKER_POOL in repr(entry):
                return True
        return False

    def binds(self, labels):
        return any(expressions is not None and matches(expressions, labels) for _path, expressions in self.selectors)


# ------------------------------------------------------------------------------------------------ selectors

def label_text(value):
    """A label value as the generators write it: booleans as ``"true"``/``"false"``, ``None`` as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pgt_expressions(rules, excluded):
    """PlacementRule expressions of PolicyGenTemplate binding rules: ``""`` is Exists/DoesNotExist, else In/NotIn of
    the comma-separated values."""
    out = []
    for key, value in sorted((rules or {}).items()) if isinstance(rules, dict) else []:
        value = label_text(value)
        out.append((str(key), "Exists", []) if value == "" else (str(key), "In", value.split(",")))
    for key, value in sorted((excluded or {}).items()) if isinstance(excluded, dict) else []:
        value = label_text(value)
        out.append((str(key), "DoesNotExist", []) if value == "" else (str(key), "NotIn", value.split(",")))
    return out


def placement_expressions(placement):
    """Expressions of a PolicyGenerator placement (``labelSelector`` map or LabelSelector, ``clusterSelectors``), or
    None when it selects through something this inventory cannot evaluate (a named Placement or PlacementRule)."""
    if not isinstance(placement, dict):
        return None
    for key in ("labelSelector", "clusterSelectors", "clusterSelector"):
        selector = placement.get(key)
        if not isinstance(selector, dict):
            continue
        out = []
        if "matchLabels" in selector or "matchExpressions" in selector:
            for lkey, value in sorted((selector.get("matchLabels") or {}).items()):
                out.append((str(lkey), "In", [label_text(value)]))
            for expr in selector.get("matchExpressions") or []:
                if isinstance(expr, dict):
                    out.append((str(expr.get("key")), str(expr.get("operator")), [label_text(v) for v in expr.get("values") or []]))
        else:
            for lkey, value in sorted(selector.items()):
                value = label_text(value)
                out.append((str(lkey), "Exists", []) if value == "" else (str(lkey), "In", [value]))
        return out
    return None


def matches(expressions, labels):
    for key, operator, values in expressions:
        present = key in labels
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
    return True


# ------------------------------------------------------------------------------------------------ reading

class Repository(object):
    """Clusters and templates of a GitOps working copy, with every problem found as an input error."""

    def __init__(self, root):
        self.root = root
        self.clusters = []
        self.templates = []
        self.errors = []
        self.warnings = []
        self._texts = {}
        self._lines = {}
        self._read = set()
        self.unreadable = []       # files that are not valid YAML: what they define is unknown
        self.group_choices = set()

    # -- files
    def full(self, rel):
        return os.path.join(self.root, *rel.split("/"))

    def text(self, rel):
        return self._texts.get(rel)

    def line(self, rel, path, key_line=False):
        if rel not in self._lines:
            self._lines[rel] = LineIndex(self._texts.get(rel) or "")
        return self._lines[rel].line(path, key_line=key_line)

    def _load(self, rel):
        """The documents of ``rel``; None after recording an error."""
        try:
            with open(self.full(rel), "rb") as handle:
                data = handle.read()
        except (IOError, OSError) as error:
            self.errors.append(ZtpInputError("path", rel, "a readable file (%s)" % error.strerror, rel))
            return None
        try:
            text = yaml_files.decode_text(data, rel)
        except ZtpInputError as error:
            self.errors.append(error)
            return None
        self._texts[rel] = text
        try:
            return yaml_load.fast_load_all(text)
        except Exception as error:  # pylint: disable=broad-except
            self.unreadable.append(rel)
            self.errors.append(ZtpInputError("path", rel, "a valid YAML file: %s; fix the YAML syntax there"
                                             % " ".join(str(error).split()), where(rel, yaml_error_line(error))))
            return None

    def read_file(self, rel):
        """Collect the clusters and templates of one YAML file (once)."""
        if rel in self._read:
            return
        self._read.add(rel)
        try:
            with open(self.full(rel), "rb") as handle:
                head = handle.read()
        except (IOError, OSError):
            head = None
        if head is not None and not any(kind in head for kind in KINDS_BYTES):
            return
        docs = self._load(rel)
        for index, doc in enumerate(docs or []):
            if not isinstance(doc, dict):
                continue
            fmt = siteconfig.document_format(doc)
            if fmt:
                for ref in siteconfig.list_clusters([doc]):
                    path = [index] + ref.cluster_path[1:]
                    if not isinstance(ref.name, str) or not ref.name:
                        self.errors.append(ZtpInputError("clusterName", ref.name, "the name of the cluster, a non-empty string",
                                                         where(rel, self.line(rel, path))))
                        continue
                    self.clusters.append(Cluster(ref.name, rel, index, path, fmt, ref.cluster, doc))
                continue
            tfmt = TEMPLATE_KINDS.get((doc.get("apiVersion"), doc.get("kind")))
            if tfmt:
                self.templates.append(Template(rel, index, tfmt, doc))

    # -- kustomizations
    def read_tree(self, rel_dir, stack=()):
        """Everything one kustomization folder renders (or every YAML file of a folder without one)."""
        kpath = None
        for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            candidate = posixpath.join(rel_dir, name) if rel_dir else name
            if os.path.isfile(self.full(candidate)):
                kpath = candidate
                break
        if kpath is None:
            for rel in walk_yaml(self.root, rel_dir):
                self.read_file(rel)
            return
        if kpath in stack:
            return
        docs = self._load(kpath)
        if not docs or not isinstance(docs[0], dict):
            return
        kust = docs[0]
        for key in ("generators", "resources"):
            items = kust.get(key) or []
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                if not isinstance(item, str) or "://" in item or item.startswith(("github.com/", "git@")):
                    continue
                target = posixpath.normpath(posixpath.join(rel_dir, item)) if rel_dir else posixpath.normpath(item)
                if target.startswith("../") or target == "..":
                    self.errors.append(ZtpInputError("%s[%d]" % (key, index), item, "a file or folder inside the repository",
                                                     where(kpath, self.line(kpath, [0, key, index]))))
                    continue
                full = self.full(target)
                if os.path.isdir(full):
                    self.read_tree(target, stack + (kpath,))
                elif os.path.isfile(full):
                    if target.endswith(YAML_SUFFIXES):
                        self.read_file(target)
                else:
                    self.errors.append(ZtpInputError(
                        "%s[%d]" % (key, index), item, "a file or folder that exists (ArgoCD fails to render this "
                        "kustomization); fix the entry or add the file", where(kpath, self.line(kpath, [0, key, index]))))

    def root_kustomizations(self):
        """Folders with a kustomization that no other kustomization includes."""
        folders = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
            if "kustomization.yaml" in filenames or "kustomization.yml" in filenames:
                rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
                folders["" if rel == "." else rel] = os.path.join(dirpath, "kustomization.yaml" if "kustomization.yaml" in filenames
                                                                  else "kustomization.yml")
        included = set()
        for rel, full in folders.items():
            try:
                with open(full, "rb") as handle:
                    kust = yaml_load.fast_load_all(handle.read().decode("utf-8", "replace"))
            except Exception:  # pylint: disable=broad-except
                continue  # reported when the folder is read
            kust = kust[0] if kust and isinstance(kust[0], dict) else {}
            for key in ("generators", "resources"):
                for item in kust.get(key) or [] if isinstance(kust.get(key) or [], list) else []:
                    if isinstance(item, str):
                        included.add(posixpath.normpath(posixpath.join(rel, item)) if rel else posixpath.normpath(item))
        return sorted(rel for rel in folders if rel not in included and (rel or ".") not in included)


def walk_yaml(root, rel_dir):
    start = os.path.join(root, *rel_dir.split("/")) if rel_dir else root
    out = []
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(YAML_SUFFIXES) and not name.startswith("kustomization."):
                out.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    return out


def scan(root, paths=None):
    """Read the repository at ``root`` from ``paths`` (folders or files relative to it; default: the root kustomizations)."""
    repo = Repository(root)
    if not os.path.isdir(root):
        repo.errors.append(ZtpInputError("repo", root, "a folder with the GitOps repository (a working copy) or a Git URL"))
        return repo
    roots = list(paths) if paths else repo.root_kustomizations()
    if not paths and not roots:
        roots = [""]
    for rel in roots:
        rel = posixpath.normpath(str(rel).strip("/")) if str(rel).strip("/") else ""
        rel = "" if rel == "." else rel
        full = repo.full(rel) if rel else root
        if os.path.isdir(full):
            repo.read_tree(rel)
        elif os.path.isfile(full):
            repo.read_file(rel)
        else:
            repo.errors.append(ZtpInputError("paths", rel, "a folder or file of the GitOps repository; %s has no such path" % root))
    _check_duplicates(repo)
    return repo


def _check_duplicates(repo):
    by_name = {}
    for cluster in repo.clusters:
        by_name.setdefault(cluster.name, []).append(cluster)
    for name, found in sorted(by_name.items()):
        if len(found) < 2:
            continue
        places = ["%s:%s" % (c.path, repo.line(c.path, c.cluster_path + ["clusterName"])) for c in found]
        for cluster, place in zip(found[1:], places[1:]):
            repo.errors.append(ZtpInputError(
                "clusterName", name, "a cluster defined once in the repository; it is defined in %s; remove one of the "
                "definitions (or leave one file out of its kustomization)" % " and ".join(places), place))
    repo.clusters = [found[0] for found in by_name.values()]


# ------------------------------------------------------------------------------------------------ profiles

def _source_cr(repo, template, name):
    """The source CR a template entry names, from the repository (``source-crs/`` beside the template), or None."""
    folder = posixpath.dirname(template.path)
    rel = posixpath.normpath(posixpath.join(folder, name if template.format == PG else posixpath.join("source-crs", name)))
    if rel.startswith("../"):
        return None
    try:
        with open(repo.full(rel), "rb") as handle:
            docs = yaml_load.fast_load_all(handle.read().decode("utf-8"))
    except Exception:  # pylint: disable=broad-except
        return None
    return docs[0] if docs and isinstance(docs[0], dict) else None


def _is_placeholder(value):
    return isinstance(value, str) and (value.startswith("$") or value == "")


def performance_profile(repo, template):
    """``(values, field path)`` of the PerformanceProfile a template configures for the master pool, or ``(None, None)``.

    Values: ``reserved_cpus``, ``isolated_cpus``, ``cpu_count`` (when the two sets cover 0..N-1), ``hugepages``,
    ``realtime_kernel`` (from the template, else its source CR, else the upstream default ``true``)."""
    for index, (name, entry) in enumerate(template.entries):
        if not posixpath.basename(name).startswith("PerformanceProfile"):
            continue
        if template.format == PGT:
            spec = entry.get("spec") if isinstance(entry.get("spec"), dict) else {}
            field = ["spec", "sourceFiles", index]
        else:
            spec = {}
            for patch in entry.get("patches") or []:
                if isinstance(patch, dict) and isinstance(patch.get("spec"), dict):
                    spec = dict(spec, **patch["spec"])
            field = None
        source = _source_cr(repo, template, name) or {}
        source_spec = source.get("spec") if isinstance(source.get("spec"), dict) else {}
        cpu = spec.get("cpu") if isinstance(spec.get("cpu"), dict) else {}
        values = {}
        for key, out in (("reserved", "reserved_cpus"), ("isolated", "isolated_cpus")):
            value = cpu.get(key)
            if value is None and not _is_placeholder((source_spec.get("cpu") or {}).get(key)):
                value = (source_spec.get("cpu") or {}).get(key)
            if value is not None and not _is_placeholder(value):
                values[out] = str(value)
        hugepages = spec.get("hugepages") if isinstance(spec.get("hugepages"), dict) else None
        if hugepages:
            pages = []
            for page in hugepages.get("pages") or []:
                if isinstance(page, dict) and not _is_placeholder(page.get("count")) and page.get("count") is not None:
                    item = {"size": str(page.get("size") or hugepages.get("defaultHugepagesSize") or DEFAULT_HUGEPAGES_SIZE),
                            "count": int(page["count"])}
                    if isinstance(page.get("node"), int):
                        item["node"] = page["node"]
                    pages.append(item)
            values["hugepages"] = {"default_size": str(hugepages.get("defaultHugepagesSize") or DEFAULT_HUGEPAGES_SIZE), "pages": pages}
        rt = spec.get("realTimeKernel") if isinstance(spec.get("realTimeKernel"), dict) else source_spec.get("realTimeKernel")
        values["realtime_kernel"] = bool(rt.get("enabled", True)) if isinstance(rt, dict) else True
        if "reserved_cpus" in values and "isolated_cpus" in values:
            try:
                cpus = set(cpuset_utils.parse(values["reserved_cpus"])) | set(cpuset_utils.parse(values["isolated_cpus"]))
                if cpus and cpus == set(range(max(cpus) + 1)):
                    values["cpu_count"] = max(cpus) + 1
            except ZtpInputError:
                pass
        return values, field
    return None, None


# ------------------------------------------------------------------------------------------------ deriving

DEFAULTS = {
    "site_label": "sites",
    "worker_policy_name": "{cluster}-workers",
    "worker_policy_file": "{cluster}-workers.yaml",
    "worker_policy_namespace": "ztp-site",
    "unmatched_templates": "error",
}


class SelectorIndex(object):
    """Templates by a label their selectors require, so that binding a fleet costs clusters x labels, not clusters x
    templates."""

    def __init__(self, templates):
        self.by_value = {}
        self.by_key = {}
        self.always = set()
        for t_index, template in enumerate(templates):
            for _path, expressions in template.selectors:
                if expressions is None:
                    continue
                required_in = [e for e in expressions if e[1] == "In"]
                exists = [e for e in expressions if e[1] == "Exists"]
                if required_in:
                    for value in required_in[0][2]:
                        self.by_value.setdefault((required_in[0][0], value), set()).add(t_index)
                elif exists:
                    self.by_key.setdefault(exists[0][0], set()).add(t_index)
                else:
                    self.always.add(t_index)

    def candidates(self, labels):
        """Indexes (ascending) of the templates that may bind to a cluster with ``labels``."""
        found = set(self.always)
        for key, value in labels.items():
            found.update(self.by_value.get((key, value), ()))
            found.update(self.by_key.get(key, ()))
        return sorted(found)


def _template_where(repo, template, selector_path):
    return where(template.path, repo.line(template.path, template.field_path(selector_path)))


def derive(repo, options=None, hub_labels=None):
    """Inventory variables per cluster: ``{cluster name: vars}``. Problems go to ``repo.errors`` / ``repo.warnings``.

    ``hub_labels``: ``{cluster: labels}`` from ManagedClusters; they are matched together with the labels in Git.
    """
    opts = dict(DEFAULTS, **dict((k, v) for k, v in (options or {}).items() if v is not None))
    site_label = opts["site_label"]
    hub_labels = hub_labels or {}
    bound = dict((t_index, []) for t_index in range(len(repo.templates)))
    hosts = {}
    profiles = {}
    index = SelectorIndex(repo.templates)
    for cluster in repo.clusters:
        labels = dict(cluster.labels)
        labels.setdefault("name", cluster.name)
        labels.update(hub_labels.get(cluster.name) or {})
        templates = []
        for t_index in index.candidates(labels):
            template = repo.templates[t_index]
            if template.binds(labels):
                bound[t_index].append(cluster.name)
                templates.append(template)
        hosts[cluster.name] = _cluster_vars(repo, cluster, labels, templates, opts, site_label, profiles)
    mode = opts["unmatched_templates"]
    for t_index, template in enumerate(repo.templates):
        # a file that could not be read may hold the clusters the template is meant for: say nothing then
        if bound[t_index] or template.is_worker or mode == "ignore" or repo.unreadable:
            continue
        for selector_path, expressions in template.selectors:
            if expressions is None:
                continue
            problem = ZtpInputError(
                "/".join(str(p) for p in selector_path), _describe(expressions),
                "a selector that matches at least one cluster of the repository (%d clusters read); check the label names and values "
                "against the clusterLabels/extraLabels of the clusters, or remove the template from its kustomization"
                % len(repo.clusters), _template_where(repo, template, selector_path))
            (repo.errors if mode == "error" else repo.warnings).append(problem)
    return hosts


def _describe(expressions):
    parts = []
    for key, operator, values in expressions:
        simple = {"Exists": key, "DoesNotExist": "!" + key}.get(operator)
        parts.append(simple or "%s %s (%s)" % (key, operator.lower(), ",".join(values)))
    return ", ".join(parts)


def _cluster_vars(repo, cluster, labels, templates, opts, site_label, profiles):
    workers = [t for t in templates if t.is_worker]
    others = [t for t in templates if not t.is_worker]
    with_profile = []
    for template in others:
        key = (template.path, template.doc_index)
        if key not in profiles:
            profiles[key] = performance_profile(repo, template)[0]
        if profiles[key]:
            with_profile.append(template)
    ptp = [t for t in others if t.has_entry(PTP_SRIOV_PREFIXES)]
    group = None
    for candidates in ([t for t in ptp if t in with_profile], ptp, with_profile):
        if candidates:
            group = candidates[0]
            key = tuple((t.path, t.doc_index) for t in candidates)
            if len(candidates) > 1 and key not in repo.group_choices:
                repo.group_choices.add(key)  # once per set of candidates, not once per cluster
                repo.warnings.append(ZtpInputError(
                    "group template", ", ".join("%s (%s)" % (t.name, t.path) for t in candidates),
                    "one group template per cluster; %s (and any other cluster these bind to) uses %s (set "
                    "ztp_group_policy_path and ztp_group_policies with compose to choose another)" % (cluster.name, group.path), cluster.path))
            break
    sites = [t for t in others if t is not group and any(site_label == key for key, _op, _values in _all_expressions(t))]

    out = {
        "ztp_cluster_name": cluster.name,
        "ztp_cluster_file": cluster.path,
        "ztp_cluster_format": cluster.format,
        "ztp_cluster_namespace": cluster.namespace,
        "ztp_cluster_labels": dict(sorted(cluster.labels.items())),
        "ztp_cluster_nodes": [{"hostName": n.get("hostName"), "role": n.get("role") or "master"} for n in cluster.nodes],
        "ztp_site_policies": [p for t in sites for p in t.policies],
    }
    if opts.get("template_details"):
        out["ztp_policy_templates"] = [
            {"path": t.path, "kind": "PolicyGenTemplate" if t.format == PGT else "PolicyGenerator", "name": t.name,
             "namespace": t.namespace, "policies": list(t.policies),
             "role": "group" if t is group else "site" if t in sites else "worker" if t.is_worker else "common"}
            for t in templates]
    if group is not None:
        out["ztp_group_policy_path"] = group.path
        out["ztp_group_policies"] = list(group.policies)
    profile = {}
    for template in ([group] if group in with_profile else []) + [t for t in with_profile if t is not group]:
        profile = profiles[(template.path, template.doc_index)]
        break

    if workers:
        existing = workers[0]
        policy = {"path": existing.path, "format": existing.format, "name": existing.name, "namespace": existing.namespace,
                  "binding_rules": dict(existing.binding_rules)}
        policy_name = [p[len(existing.name) + 1:] for p in existing.policies if p.startswith(existing.name + "-")]
        if policy_name and policy_name[0] != "config-policy":
            policy["policy_name"] = policy_name[0]
    else:
        home = (sites or ([group] if group else []) or others or [None])[0]
        folder = posixpath.dirname(home.path) if home is not None else (opts.get("worker_policy_dir") or "policygentemplates")
        if opts.get("worker_policy_dir"):
            folder = opts["worker_policy_dir"]
        fmt = home.format if home is not None else PGT
        if site_label in cluster.labels and cluster.labels[site_label]:
            binding = {site_label: cluster.labels[site_label]}
        else:
            binding = {"name": cluster.name}
        policy = {"path": posixpath.join(folder, opts["worker_policy_file"].format(cluster=cluster.name)) if folder else
                  opts["worker_policy_file"].format(cluster=cluster.name),
                  "format": fmt, "name": opts["worker_policy_name"].format(cluster=cluster.name),
                  "namespace": opts["worker_policy_namespace"], "binding_rules": binding}
    for key in ("reserved_cpus", "isolated_cpus", "cpu_count", "hugepages", "realtime_kernel"):
        if profile and key in profile:
            policy[key] = profile[key]
    out["ztp_worker_policy"] = policy
    return out


def _all_expressions(template):
    return [item for _path, expressions in template.selectors for item in expressions or []]


WORKER_PROFILE_REQUIRED = ("reserved_cpus", "isolated_cpus", "hugepages")


def apply_workers(hosts, entries, workers_path):
    """Put the workers file's workers and worker policy settings into the host variables; errors for clusters whose
    worker profile is still incomplete (no PerformanceProfile found and none given)."""
    errors = []
    for name, entry in entries.items():
        host = hosts.get(name)
        if host is None:
            continue
        host["ztp_workers"] = entry.workers
        policy = dict(host.get("ztp_worker_policy") or {})
        policy.update(entry.worker_policy)
        host["ztp_worker_policy"] = policy
        missing = [k for k in WORKER_PROFILE_REQUIRED if k not in policy]
        if missing:
            errors.append(ZtpInputError(
                "clusters.%s.worker_policy" % name, ", ".join(missing),
                "a complete worker profile: no PerformanceProfile with these values binds to the cluster in the repository; "
                "give %s under clusters.%s.worker_policy" % (", ".join(missing), name), where(workers_path, entry.line)))
    return errors


_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


def group_name(*parts):
    """A valid Ansible group name from label keys and values."""
    return _GROUP_CHARS.sub("_", "_".join(str(p) for p in parts if p != ""))


# ------------------------------------------------------------------------------------------------ hub

MANAGED_CLUSTER = ("cluster.open-cluster-management.io/v1", "ManagedCluster")
VERSION_CLAIM = "version.openshift.io"


def managed_cluster_facts(obj):
    """``{labels, available, version}`` of one ManagedCluster: ``available`` is ``"True"``, ``"False"`` or ``"Unknown"``
    (the ``ManagedClusterConditionAvailable`` condition), ``version`` the OpenShift version (label ``openshiftVersion``,
    else the ``version.openshift.io`` cluster claim), or None."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    labels = dict((str(k), label_text(v)) for k, v in (meta.get("labels") or {}).items())
    available = "Unknown"
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "ManagedClusterConditionAvailable":
            available = str(cond.get("status") or "Unknown")
    version = labels.get("openshiftVersion")
    if not version:
        for claim in status.get("clusterClaims") or []:
            if isinstance(claim, dict) and claim.get("name") == VERSION_CLAIM:
                version = claim.get("value")
    return {"labels": labels, "available": available, "version": version or None}


def compile_hub_vars(hub_vars):
    """``{variable: compiled JMESPath expression}`` of the ``hub_vars`` option; a bad name or expression is an error
    naming the variable, the expression and the fix."""
    if not hub_vars:
        return {}
    if not isinstance(hub_vars, dict):
        raise FleetError([ZtpInputError("hub_vars", hub_vars, "a mapping of variable names to JMESPath expressions")],
                         source="the inventory configuration")
    if not HAS_JMESPATH:
        raise FleetError([ZtpInputError("hub_vars", sorted(hub_vars), "no hub_vars, or the Python package jmespath installed "
                                                                      "(pip install jmespath)")], source="the inventory configuration")
    compiled, errors = {}, []
    for name, expression in sorted(hub_vars.items()):
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            errors.append(ZtpInputError("hub_vars", name, "a variable name (letters, digits and _, not starting with a digit)"))
            continue
        try:
            compiled[name] = jmespath.compile(str(expression))
        except jmespath.exceptions.JMESPathError as error:
            errors.append(ZtpInputError("hub_vars.%s" % name, expression, "a JMESPath expression over a ManagedCluster, for "
                                        "example status.clusterClaims[?name=='region.open-cluster-management.io'].value "
                                        "| [0] (%s)" % str(error).splitlines()[0]))
    if errors:
        raise FleetError(errors, source="the inventory configuration")
    return compiled


def hub_facts(hub, hub_vars=None):
    """``{cluster: managed_cluster_facts}`` of every ManagedCluster of the hub (one list call); with ``hub_vars``
    (compiled by ``compile_hub_vars``) each also carries ``vars``, their values on the ManagedCluster."""
    items, _rv = hub.list(*MANAGED_CLUSTER)
    out = {}
    for item in items:
        fact = managed_cluster_facts(item)
        fact["vars"] = dict((name, expression.search(item)) for name, expression in (hub_vars or {}).items())
        out[(item.get("metadata") or {}).get("name")] = fact
    return out


# ------------------------------------------------------------------------------------------------ the inventory

READ_OPTIONS = ("paths", "workers_file", "template_details", "target_group", "label_groups", "unmatched_templates", "site_label", "hub_vars",
                "worker_policy_name", "worker_policy_file", "worker_policy_namespace", "worker_policy_dir")
GROUP_ALL = "ztp_clusters"
GROUP_SNO = "ztp_sno"
GROUP_NOT_SNO = "ztp_not_sno"
GROUP_WITH_WORKERS = "ztp_with_workers"
GROUP_HUB_AVAILABLE = "ztp_hub_available"
GROUP_HUB_UNAVAILABLE = "ztp_hub_unavailable"
GROUP_HUB_MISSING = "ztp_hub_missing"


class FleetError(ValueError):
    """Every problem of the repository and the workers file, reported together."""

    def __init__(self, errors, source="the GitOps repository or the workers file"):
        self.errors = list(errors)
        super(FleetError, self).__init__(
            "%d problem(s) in %s, nothing was read:\n- %s"
            % (len(self.errors), source, "\n- ".join(e.describe() if isinstance(e, ZtpInputError) else str(e) for e in self.errors)))


def mask(text):
    from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import mask_url_credentials
    return mask_url_credentials(str(text))


def _hub_client(hub_options):
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _hub as hub_utils
    return hub_utils.Hub.from_params(hub_options)


def _line_of(repo, cluster):
    return lambda: repo.line(cluster.path, cluster.cluster_path + ["clusterName"])


def read_fleet(root, base, options, hub_options=None, hub_client=None):
    """``{hosts: {name: vars}, groups: {group: [names]}, warnings: [text]}`` of the repository at ``root``.

    ``base``: the folder relative paths of the options (``workers_file``) start from. ``hub_options``: kubernetes.core
    auth options to read ManagedClusters with (None: no hub); ``hub_client`` a ready ``hub.Hub`` instead."""
    options = dict((k, yaml_load.plain(v)) for k, v in (options or {}).items() if v is not None)
    repo = scan(root, options.get("paths"))
    facts = None
    if hub_options is not None or hub_client is not None:
        hub_vars = compile_hub_vars(options.get("hub_vars"))
        try:
            facts = hub_facts(hub_client or _hub_client(hub_options), hub_vars)
        except Exception as error:  # pylint: disable=broad-except
            raise FleetError(["cannot list the ManagedClusters of the hub: %s; check the hub connection options (kubeconfig, "
                              "host, api_key, ...) or the K8S_AUTH_* environment variables" % mask(error)], source="the hub connection")
    hub_labels = dict((name, f["labels"]) for name, f in (facts or {}).items())
    hosts = derive(repo, options, hub_labels)
    entries = {}
    wf = options.get("workers_file")
    if wf:
        wpath = os.path.join(base, os.path.expanduser(wf))
        try:
            entries, errors = workers_file.read(wpath)
        except ZtpInputError as error:
            entries, errors = {}, [error]
        repo.errors.extend(errors)
        known = dict((c.name, (c.path, _line_of(repo, c), c.nodes, c.sno)) for c in repo.clusters)
        repo.errors.extend(workers_file.check_fleet(wpath, entries, known))
        repo.errors.extend(apply_workers(hosts, entries, wpath))
    if repo.errors:
        raise FleetError(repo.errors)
    warnings = [w.describe() if isinstance(w, ZtpInputError) else str(w) for w in repo.warnings]
    groups = dict((g, []) for g in (GROUP_ALL, GROUP_SNO, GROUP_NOT_SNO, GROUP_WITH_WORKERS))
    target = options.get("target_group") or "sno_clusters"
    groups[target] = []
    label_keys = options.get("label_groups") or []
    if facts is not None:
        for g in (GROUP_HUB_AVAILABLE, GROUP_HUB_UNAVAILABLE, GROUP_HUB_MISSING):
            groups[g] = []
    for cluster in sorted(repo.clusters, key=lambda c: c.name):
        name = cluster.name
        hostvars = hosts[name]
        groups[GROUP_ALL].append(name)
        labels = dict(cluster.labels)
        selected = True
        if facts is not None:
            fact = facts.get(name)
            if fact is None:
                hostvars.update(ztp_hub_available=None, ztp_hub_version=None, ztp_hub_labels={})
                hostvars.update((var, None) for var in options.get("hub_vars") or {})
                groups[GROUP_HUB_MISSING].append(name)
                selected = False
            else:
                labels.update(fact["labels"])
                hostvars.update(ztp_hub_available=fact["available"] == "True", ztp_hub_version=fact["version"],
                                ztp_hub_labels=dict(sorted(fact["labels"].items())))
                hostvars.update(fact["vars"])
                groups[GROUP_HUB_AVAILABLE if fact["available"] == "True" else GROUP_HUB_UNAVAILABLE].append(name)
                selected = fact["available"] == "True"
        if cluster.sno:
            groups[GROUP_SNO].append(name)
        else:
            groups[GROUP_NOT_SNO].append(name)
            selected = False
            warnings.append("%s:%s: cluster %s has %d control-plane node(s), it is not a single-node cluster: it is in group %s, "
                            "not in %s" % (cluster.path, repo.line(cluster.path, cluster.cluster_path + ["clusterName"]), name,
                                           len([n for n in cluster.nodes if siteconfig.is_master(n)]), GROUP_NOT_SNO, target))
        if name in entries:
            groups[GROUP_WITH_WORKERS].append(name)
        elif wf:
            selected = False
        if selected:
            groups[target].append(name)
        for key in sorted(labels):
            if "*" in label_keys or key in label_keys:
                groups.setdefault(group_name("label", key, labels[key]), []).append(name)
    return {"hosts": hosts, "groups": groups, "warnings": warnings}
