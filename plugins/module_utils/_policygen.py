# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Worker PolicyGenTemplate / PolicyGenerator documents and PTP/SR-IOV selector overrides.

Worker policies (``worker_document``): one policy ``<name>-<policy_name>`` holding the
workload-partitioning MachineConfig, the worker PerformanceProfile and the worker Tuned patch, written
either as a ZTP PolicyGenTemplate (``ran.openshift.io/v1``, ``mcp: worker``) or as an ACM
PolicyGenerator (``policy.open-cluster-management.io/v1``; it has no ``$mcp`` substitution, so the
selectors that the source CRs write with ``$mcp`` are replaced by patches with ``$patch: replace``).

Files are changed by text splices (``yaml_edit``): an existing worker file that differs from the wanted
content gets only the differing values replaced, so comments and layout elsewhere survive; it is
rendered anew only when it has top-level keys of its own. Any other existing file (another kind, name or
namespace, several documents, not YAML mappings) is refused (``check_worker_file``): it is not this worker
policy and would be lost. ``kustomization.yaml`` gets the file appended to ``generators:`` once.

Selector overrides (``selector_overrides``): in a group PolicyGenTemplate or PolicyGenerator, the
entries of ``PtpOperatorConfig*`` and ``SriovOperatorConfig*`` source CRs are made
``complianceType: mustonlyhave`` with a selector on ``node-role.kubernetes.io/worker: ""``, so that the
PTP and SR-IOV config daemons also run on the workers. An existing entry is updated in place and keeps
its source CR (for SR-IOV usually ``SriovOperatorConfigForSNO.yaml``, whose ``disableDrain: true`` then
stays); a missing entry is added with ``PtpOperatorConfig.yaml`` or ``SriovOperatorConfigForSNO.yaml``,
the SR-IOV variant of the upstream single-node group templates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cpuset as cpuset_utils
from ansible_collections.ztp.sno_expand.plugins.module_utils import _workload_partitioning as wp
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_edit as yaml_edit
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, raise_if_any


PGT = "policygentemplate"
PG = "policygenerator"
FORMATS = (PGT, PG)
PGT_API = "ran.openshift.io/v1"
PG_API = "policy.open-cluster-management.io/v1"
KINDS = {PGT: ("PolicyGenTemplate", PGT_API), PG: ("PolicyGenerator", PG_API)}

LAYOUTS = ("flat", "directory")
# Source CR paths under source-crs/: flat names (cnf-features-deploy, accepted by every ztp-site-generate
# release) and the telco-reference directory names (ztp-site-generate 4.20 and newer).
SOURCE_CRS = {
    "flat": {
        "machineconfig": "MachineConfigGeneric.yaml",
        "performanceprofile": "PerformanceProfile.yaml",
        "tuned": "TunedPerformancePatch.yaml",
        "ptp": "PtpOperatorConfig.yaml",
        "sriov": "SriovOperatorConfigForSNO.yaml",
    },
    "directory": {
        "machineconfig": "generic/MachineConfigGeneric.yaml",
        "performanceprofile": "node-tuning-operator/x86_64/PerformanceProfile.yaml",
        "tuned": "node-tuning-operator/TunedPerformancePatch.yaml",
        "ptp": "ptp-operator/PtpOperatorConfig.yaml",
        "sriov": "sriov-operator/SriovOperatorConfigForSNO.yaml",
    },
}
# The reference tuning of each layout's TunedPerformancePatch.yaml, used when the repository holds no copy of the
# source CR next to the worker file (``source-crs/``, where the ZTP plugins look first): the flat file of
# cnf-features-deploy ztp/source-crs (ztp-site-generate 4.19 and older), and the Tuned ``ran-du-performance`` of the
# telco-reference tree that ztp-site-generate 4.20 ships (its flat name links to it there). Each: the profiles
# (name, ini text), the recommended profile and its priority. A copy in the repository is read instead
# (``reference_tuning``), so the worker gets exactly the tuning of the source CR the generator will read.
REFERENCE_TUNING = {
    "flat": {
        "profiles": [
            ("performance-patch",
             "[main]\nsummary=Configuration changes profile inherited from performance created tuned\n"
             "include=openshift-node-performance-openshift-node-performance-profile\n"
             "[scheduler]\ngroup.ice-ptp=0:f:10:*:ice-ptp.*\ngroup.ice-gnss=0:f:10:*:ice-gnss.*\n"
             "group.ice-dplls=0:f:10:*:ice-dplls.*\n"
             "[service]\nservice.stalld=start,enable\nservice.chronyd=stop,disable\n"),
        ],
        "recommend": "performance-patch",
        "priority": 19,
    },
    "directory": {
        "profiles": [
            ("ran-du-performance",
             "[main]\nsummary=Top-level ran-du performance tuning overrides\n"
             "include=openshift-node-performance-openshift-node-performance-profile,ran-du-performance-architecture-common\n"),
            ("ran-du-performance-architecture-common",
             "[main]\nsummary=Common cross-architecture performance tuning which also includes architecture-specific profiles\n"
             "include=ran-du-common-${f:lscpu_check:Architecture\\:\\s*x86_64:x86:Architecture\\:\\s*aarch64:aarch64}\n"
             "[service]\nservice.chronyd=stop,disable\nservice.stalld=start,enable\n"),
            ("ran-du-common-aarch64",
             "[main]\nsummary=Configuration specific to aarch64 performance\n"
             "# No aarch64-specific tuning needed at this time\n"),
            ("ran-du-common-x86",
             "[main]\nsummary=Configuration specific to x86_64 performance\n"
             "# Note: If processor family-specific tuning is needed, uncomment this line and add appropriate profiles for "
             "'ran-du-intel' and 'ran-du-amd'\n"
             "#include=ran-du-${f:lscpu_check:Vendor ID\\:\\s*GenuineIntel:intel:Vendor ID\\:\\s*AuthenticAMD:amd}\n"
             "[scheduler]\ngroup.ice-ptp=0:f:10:*:ice-ptp.*\ngroup.ice-gnss=0:f:10:*:ice-gnss.*\n"
             "group.ice-dplls=0:f:10:*:ice-dplls.*\n"
             "[bootloader]\ncmdline_x86_blacklist=module_blacklist=mgag200\n"),
        ],
        "recommend": "ran-du-performance",
        "priority": 18,
    },
}
# Profiles of each layout's TunedPerformancePatch.yaml (the master's profile names).
TUNED_SOURCE_PROFILES = dict((layout, [name for name, _data in ref["profiles"]]) for layout, ref in REFERENCE_TUNING.items())
# Priority of the Tuned recommend entry in each layout's TunedPerformancePatch.yaml.
TUNED_PRIORITY = dict((layout, ref["priority"]) for layout, ref in REFERENCE_TUNING.items())
# Suffix of the worker's copies of the reference profiles (tuned profile names are cluster-wide).
TUNED_WORKER_SUFFIX = "-worker"
# Top-level folders of the telco-reference source-crs tree; a file naming one of them uses that layout.
DIRECTORY_LAYOUT_FOLDERS = (
    "cluster-logging", "cluster-tuning", "data-protection", "disconnected-registry", "generic",
    "image-registry", "lca", "machine-config", "node-tuning-operator", "ptp-operator", "sriov-operator",
    "storage", "storage-lso",
)

WORKER_ROLE_LABEL = "node-role.kubernetes.io/worker"
MCP_ROLE_LABEL = "machineconfiguration.openshift.io/role"
WORKER_POOL_LABEL = "pools.operator.machineconfiguration.openshift.io/worker"
PERFORMANCE_PROFILE_NAME = "openshift-worker-node-performance-profile"
TUNED_NAME = "performance-patch-worker"
MACHINECONFIG_NAME = "enable-workload-partitioning"
DEPLOY_WAVE = "10"
HUGEPAGE_SIZES = ("2M", "1G")
NAME_LIMIT = 63
ZTP_NAMESPACE_HELP = (
    "a namespace that begins with \"ztp\" (for example \"ztp-site\"): the ZTP ArgoCD AppProject "
    "\"policy-app-project\" only lets the policies application write to namespaces \"ztp*\" (and "
    "\"policies-sub\"), and root policies must never live in a managed cluster's own namespace. "
    "Set allow_non_ztp_namespace=true only if your ArgoCD project allows this namespace")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_TUNED_SECTION = re.compile(r"^[A-Za-z0-9_.:-]+$")


# ---------------------------------------------------------------------------------------------------
# Validation

def _validate_name(errors, field, value, pattern, expected, limit=253):
    if not isinstance(value, str) or not value:
        errors.append(ZtpInputError(field, value, "a non-empty string: " + expected))
        return False
    if len(value) > limit or not pattern.match(value):
        errors.append(ZtpInputError(field, value, expected))
        return False
    return True


def _validate_binding_rules(errors, rules):
    if not isinstance(rules, dict) or not rules:
        errors.append(ZtpInputError(
            "binding_rules", rules,
            "a non-empty mapping of ManagedCluster labels to values, for example {sites: example-sno}; "
            "without it the policy would select every cluster"))
        return
    for key, value in rules.items():
        prefix, _sep, label = key.rpartition("/") if isinstance(key, str) else ("", "", "")
        if not isinstance(key, str) or not label or len(label) > 63 or not _LABEL_NAME.match(label) \
                or (prefix and not _DNS_SUBDOMAIN.match(prefix)):
            errors.append(ZtpInputError("binding_rules", key, "a Kubernetes label key such as \"sites\" or \"example.com/site\""))
            continue
        if not isinstance(value, str):
            errors.append(ZtpInputError(
                "binding_rules.%s" % key, value,
                "a string label value; quote it in YAML (for example \"%s\")" % (value,)))
        elif len(value) > 63 or not _LABEL_VALUE.match(value):
            errors.append(ZtpInputError(
                "binding_rules.%s" % key, value,
                "a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"))


def _validate_hugepages(errors, hugepages):
    sizes = " or ".join('"%s"' % size for size in HUGEPAGE_SIZES)
    if not isinstance(hugepages, dict):
        errors.append(ZtpInputError(
            "hugepages", hugepages,
            "a mapping {default_size: 1G, pages: [{size: 1G, count: 32}]}; it is required because the "
            "PerformanceProfile source CR carries hugepage placeholders that must be filled"))
        return None
    result = {"default_size": hugepages.get("default_size"), "pages": []}
    if result["default_size"] not in HUGEPAGE_SIZES:
        errors.append(ZtpInputError("hugepages.default_size", result["default_size"], "a hugepage size, %s" % sizes))
    pages = hugepages.get("pages")
    if not isinstance(pages, list) or not pages:
        errors.append(ZtpInputError("hugepages.pages", pages, "a non-empty list of {size, count} entries, for example [{size: 1G, count: 32}]"))
        return result
    for index, page in enumerate(pages):
        field = "hugepages.pages[%d]" % index
        if not isinstance(page, dict):
            errors.append(ZtpInputError(field, page, "a mapping {size: 1G, count: 32} (node optional)"))
            continue
        entry = {"size": page.get("size"), "count": page.get("count")}
        if entry["size"] not in HUGEPAGE_SIZES:
            errors.append(ZtpInputError(field + ".size", entry["size"], "a hugepage size, %s" % sizes))
        if isinstance(entry["count"], bool) or not isinstance(entry["count"], int) or entry["count"] < 1:
            errors.append(ZtpInputError(field + ".count", entry["count"], "a positive number of pages"))
        if page.get("node") is not None:
            entry["node"] = page["node"]
            if isinstance(entry["node"], bool) or not isinstance(entry["node"], int) or entry["node"] < 0:
                errors.append(ZtpInputError(field + ".node", entry["node"], "a NUMA node number (0, 1, ...) or nothing"))
        result["pages"].append(entry)
    return result


def _validate_extra_tuned(errors, extra):
    """Return [(section, [line, ...]), ...] from ``{section: [lines] or {key: value}}``."""
    if extra is None:
        return []
    expected_map = ("a mapping of tuned section names to lists of \"key=value\" lines (or to mappings of key: value), "
                    "for example {sysctl: [\"kernel.sched_rt_runtime_us=-1\"]}")
    if not isinstance(extra, dict):
        errors.append(ZtpInputError("extra_tuned", extra, expected_map))
        return []
    sections = []
    for section, lines in extra.items():
        field = "extra_tuned.%s" % (section,)
        if not isinstance(section, str) or not _TUNED_SECTION.match(section):
            errors.append(ZtpInputError("extra_tuned", section, "a tuned section name without brackets, such as \"sysctl\" or \"bootloader\""))
            continue
        if isinstance(lines, dict):
            lines = ["%s=%s" % (key, "" if value is None else str(value).lower() if isinstance(value, bool) else value)
                     for key, value in lines.items()]
        elif isinstance(lines, str):
            lines = [lines]
        if not isinstance(lines, list):
            errors.append(ZtpInputError(field, lines, expected_map))
            continue
        good = []
        for line in lines:
            if not isinstance(line, str) or not line.strip() or "\n" in line or line.strip().startswith("["):
                errors.append(ZtpInputError(field, line, "one tuned line such as \"key=value\" (no newline, no section header)"))
            else:
                good.append(line.strip())
        sections.append((section, good))
    return sections


def generated_names(name, policy_name, fmt):
    """Names of the objects the generator makes from the worker file, ``{kind: name}``.

    PolicyGenTemplate: Policy ``<name>-<policy_name>``, ConfigurationPolicy ``<policy>-config``,
    PlacementRule ``<name>-placementrules``, PlacementBinding ``<name>-placementbinding``.
    PolicyGenerator: Policy ``<name>-<policy_name>``, ConfigurationPolicy named as the policy,
    Placement ``placement-<policy>``, PlacementBinding ``<name>-placementbinding`` (the worker file names it in
    ``placementBindingDefaults``; without that the plugin would call it ``binding-<policy>``).
    """
    policy = "%s-%s" % (name, policy_name)
    if fmt == PG:
        return {"Policy": policy, "ConfigurationPolicy": policy, "Placement": "placement-" + policy,
                "PlacementBinding": name + "-placementbinding"}
    return {"Policy": policy, "ConfigurationPolicy": policy + "-config", "PlacementRule": name + "-placementrules",
            "PlacementBinding": name + "-placementbinding"}


def policy_names(name, policy_name="config-policy"):
    """Names of the policies generated from a worker file, as listed in a ClusterGroupUpgrade."""
    return ["%s-%s" % (name, policy_name)]


def validate_worker(params):
    """Check the worker profile; return it normalised or raise every problem together.

    ``params`` holds the module options (``name``, ``namespace``, ``binding_rules``, ``format``,
    ``reserved_cpus``, ``isolated_cpus``, ``cpu_count``, ``hugepages``, ``realtime_kernel``,
    ``extra_tuned``, ``source_cr_layout``, ``policy_name``, ``allow_non_ztp_namespace``).
    """
    errors = []
    spec = {
        "name": params.get("name"),
        "namespace": params.get("namespace"),
        "binding_rules": params.get("binding_rules"),
        "format": params.get("format") or PGT,
        "realtime_kernel": True if params.get("realtime_kernel") is None else bool(params.get("realtime_kernel")),
        "source_cr_layout": params.get("source_cr_layout") or "flat",
        "policy_name": params.get("policy_name") or "config-policy",
    }
    names_ok = _validate_name(errors, "name", spec["name"], _DNS_SUBDOMAIN,
                              "a lowercase Kubernetes name (letters, digits, '-', '.'), for example \"example-sno-workers\"")
    namespace_ok = _validate_name(errors, "namespace", spec["namespace"], _DNS_LABEL,
                                  "a Kubernetes namespace name (lowercase letters, digits, '-', at most 63 characters)", 63)
    policy_ok = _validate_name(errors, "policy_name", spec["policy_name"], _DNS_LABEL,
                               "a lowercase name such as \"config-policy\"", 63)
    if namespace_ok and not spec["namespace"].startswith("ztp") and not params.get("allow_non_ztp_namespace"):
        errors.append(ZtpInputError("namespace", spec["namespace"], ZTP_NAMESPACE_HELP))
    if spec["format"] not in FORMATS:
        errors.append(ZtpInputError("format", spec["format"], "one of %s" % ", ".join(FORMATS)))
    if spec["source_cr_layout"] not in LAYOUTS:
        errors.append(ZtpInputError(
            "source_cr_layout", spec["source_cr_layout"],
            "\"flat\" (PerformanceProfile.yaml; any ztp-site-generate) or \"directory\" "
            "(node-tuning-operator/x86_64/PerformanceProfile.yaml; ztp-site-generate 4.20 and newer)"))
    _validate_binding_rules(errors, spec["binding_rules"])

    cpus = {}
    for key in ("reserved_cpus", "isolated_cpus"):
        value = params.get(key)
        try:
            cpus[key] = cpuset_utils.parse(value if value is not None else "", key)
        except ZtpInputError as error:
            errors.append(error)
            continue
        if not cpus[key]:
            errors.append(ZtpInputError(key, value, "a non-empty CPU set such as \"0-3\" (the cpu sets must be set for each hardware platform)"))
            del cpus[key]
    if len(cpus) == 2:
        common = set(cpus["reserved_cpus"]) & set(cpus["isolated_cpus"])
        if common:
            errors.append(ZtpInputError(
                "isolated_cpus", params.get("isolated_cpus"),
                "a CPU set disjoint from reserved_cpus %r; CPUs %s are in both" % (params.get("reserved_cpus"), cpuset_utils.format(common))))
    cpu_count = params.get("cpu_count")
    if cpu_count is not None:
        if isinstance(cpu_count, bool) or not isinstance(cpu_count, int) or cpu_count < 2:
            errors.append(ZtpInputError("cpu_count", cpu_count, "the number of logical CPUs of the worker (an integer of at least 2)"))
        elif len(cpus) == 2:
            every = set(range(cpu_count))
            given = set(cpus["reserved_cpus"]) | set(cpus["isolated_cpus"])
            problems = []
            if every - given:
                problems.append("CPUs %s are in neither set" % cpuset_utils.format(every - given))
            if given - every:
                problems.append("CPUs %s do not exist on a node with %d CPUs" % (cpuset_utils.format(given - every), cpu_count))
            if problems:
                errors.append(ZtpInputError(
                    "isolated_cpus", params.get("isolated_cpus"),
                    "reserved_cpus and isolated_cpus together must cover every CPU 0-%d exactly once: %s; "
                    "for example isolated_cpus=\"%s\"" % (cpu_count - 1, "; ".join(problems),
                                                          cpuset_utils.format(every - set(cpus.get("reserved_cpus", []))))))
    spec["reserved"] = cpuset_utils.format(cpus["reserved_cpus"]) if "reserved_cpus" in cpus else None
    spec["isolated"] = cpuset_utils.format(cpus["isolated_cpus"]) if "isolated_cpus" in cpus else None
    spec["hugepages"] = _validate_hugepages(errors, params.get("hugepages"))
    spec["extra_tuned"] = _validate_extra_tuned(errors, params.get("extra_tuned"))

    if names_ok and namespace_ok and policy_ok and spec["format"] in FORMATS:
        for kind, object_name in sorted(generated_names(spec["name"], spec["policy_name"], spec["format"]).items()):
            full = "%s.%s" % (spec["namespace"], object_name)
            if len(full) > NAME_LIMIT:
                errors.append(ZtpInputError(
                    "name", spec["name"],
                    "a shorter name, policy_name or namespace: the generated %s \"%s\" in namespace \"%s\" gives "
                    "\"%s\" (%d characters); namespace + \".\" + name must be at most %d characters, because ACM "
                    "copies root policies into each cluster namespace as <namespace>.<name>, a label value"
                    % (kind, object_name, spec["namespace"], full, len(full), NAME_LIMIT)))
    raise_if_any(errors)
    return spec


# ---------------------------------------------------------------------------------------------------
# Worker documents

def _q(value):
    return yaml_load.double_quoted(value)


def _ini_sections(text):
    """``[[section, [lines]], ...]`` of a tuned profile (lines before the first header under section None)."""
    sections = [[None, []]]
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]") and "=" not in stripped:
            sections.append([stripped[1:-1], []])
        elif stripped:
            sections[-1][1].append(line)
    return sections


def _ini_set(sections, section, lines):
    """Set ``key=value`` lines in a section: a line replaces the line with the same key, others are appended."""
    target = next((item for item in sections if item[0] == section), None)
    if target is None:
        target = [section, []]
        sections.append(target)
    for line in lines:
        key = line.split("=", 1)[0].strip() if "=" in line else None
        position = next((index for index, old in enumerate(target[1])
                         if key is not None and "=" in old and not old.lstrip().startswith("#") and old.split("=", 1)[0].strip() == key), None)
        if position is None:
            target[1].append(line)
        else:
            target[1][position] = line


def _ini_text(sections):
    text = ""
    for section, lines in sections:
        if section is None:
            text += "".join(line + "\n" for line in lines)
        elif lines:
            text += "[%s]\n%s\n" % (section, "\n".join(lines))
    return text


def _worker_profile_name(name):
    return name + TUNED_WORKER_SUFFIX


def _worker_include(value, names):
    """An ``include=`` value of a reference profile pointed at the worker's PerformanceProfile and profiles."""
    items = []
    for item in value.split(","):
        item = item.strip()
        if item.startswith("openshift-node-performance-"):
            item = "openshift-node-performance-" + PERFORMANCE_PROFILE_NAME
        elif item in names:
            item = _worker_profile_name(item)
        elif "${" in item:
            # a name made by a tuned function (``${f:...}``) that can give one of the reference profiles
            pattern = "^" + ".+".join(re.escape(part) for part in re.split(r"\$\{[^}]*\}", item)) + "$"
            if any(re.match(pattern, name) for name in names):
                item = _worker_profile_name(item)
        items.append(item)
    return ",".join(items)


def worker_tuning(reference, isolated, realtime_kernel=True, extra_sections=None):
    """The worker's copy of a reference tuning (``REFERENCE_TUNING`` shape): every reference profile renamed
    ``<name>-worker``, its ``include`` lines pointed at the worker PerformanceProfile and the worker profiles, and the
    recommended profile extended with ``nohz_full`` for the isolated CPUs, ``kernel.timer_migration=1`` with the
    realtime kernel and the ``extra_tuned`` lines. Returns ``{"profiles": [(name, data)], "recommend", "priority"}``."""
    names = [name for name, _data in reference["profiles"]]
    profiles = []
    for name, data in reference["profiles"]:
        sections = _ini_sections(data)
        for _section, lines in sections:
            for index, line in enumerate(lines):
                if line.startswith("include="):
                    lines[index] = "include=" + _worker_include(line[len("include="):], names)
        if name == reference["recommend"]:
            _ini_set(sections, "bootloader", ["cmdline_crash=nohz_full=" + isolated])
            # kernel.timer_migration=1 belongs to the realtime kernel (see the older TunedPerformancePatch.yaml).
            _ini_set(sections, "sysctl", ["kernel.timer_migration=1"] if realtime_kernel else [])
            for section, lines in extra_sections or []:
                _ini_set(sections, section, lines)
        profiles.append((_worker_profile_name(name), _ini_text(sections)))
    return {"profiles": profiles, "recommend": _worker_profile_name(reference["recommend"]), "priority": reference["priority"]}


_REFERENCE_TUNINGS = {}  # source CR text -> its reference tuning: a fleet's worker files read the same few texts


def reference_tuning(text):
    """The reference tuning (``REFERENCE_TUNING`` shape) of a TunedPerformancePatch source CR text, or None when the
    text is not one Tuned with named profiles and one recommended profile."""
    if text not in _REFERENCE_TUNINGS:
        if len(_REFERENCE_TUNINGS) >= 32:
            _REFERENCE_TUNINGS.clear()
        _REFERENCE_TUNINGS[text] = _read_reference_tuning(text)
    return copy.deepcopy(_REFERENCE_TUNINGS[text])


def _read_reference_tuning(text):
    yaml_load.require_ruamel()
    try:
        documents = [doc for doc in yaml_load.fast_load_all(text) if doc is not None]
    except yaml_load.PARSE_ERRORS + (ValueError, yaml_load.YamlEditError):
        return None
    if len(documents) != 1 or not isinstance(documents[0], dict) or documents[0].get("kind") != "Tuned":
        return None
    spec = documents[0].get("spec") or {}
    profiles = spec.get("profile") if isinstance(spec, dict) else None
    recommend = spec.get("recommend") if isinstance(spec, dict) else None
    if not isinstance(profiles, list) or not profiles or not isinstance(recommend, list) or len(recommend) != 1:
        return None
    if not all(isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("data"), str) for p in profiles):
        return None
    rec = recommend[0] if isinstance(recommend[0], dict) else {}
    if rec.get("profile") not in [p["name"] for p in profiles]:
        return None
    priority = rec.get("priority")
    return {"profiles": [(p["name"], p["data"]) for p in profiles], "recommend": rec["profile"],
            "priority": priority if isinstance(priority, int) and not isinstance(priority, bool) else 20}


def detect_reference_tuning(folder, layout):
    """The reference tuning for a worker file in ``folder``: the repository's copy of the layout's Tuned source CR
    (``<folder>/source-crs/...``, links followed, as the plugins read it) when there is one, else the built-in
    reference of the layout. Returns ``(tuning, where)``, ``where`` the path read or None."""
    path = os.path.join(folder, "source-crs", SOURCE_CRS[layout]["tuned"])
    if os.path.isfile(path):
        try:
            with open(path, "rb") as handle:
                tuning = reference_tuning(handle.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError):
            tuning = None
        if tuning is not None:
            return tuning, path
    return REFERENCE_TUNING[layout], None


def tuned_profile_data(isolated, realtime_kernel=True, extra_sections=None):
    """The ini text of the worker tuned profile (``include`` of the worker PerformanceProfile) for the built-in flat
    reference tuning."""
    tuning = worker_tuning(REFERENCE_TUNING["flat"], isolated, realtime_kernel, extra_sections)
    return dict(tuning["profiles"])[tuning["recommend"]]


def _machineconfig_override(reserved):
    files = []
    for path, content in ((wp.CRIO_PATH, wp.crio_conf(reserved)), (wp.KUBELET_PATH, wp.kubelet_pinning(reserved))):
        files.append({"contents": {"source": wp.data_url(content)}, "mode": 420, "overwrite": True,
                      "path": path, "user": {"name": "root"}})
    return {
        "metadata": {"labels": {MCP_ROLE_LABEL: "worker"}, "name": MACHINECONFIG_NAME},
        "spec": {"config": {"storage": {"files": files}}},
    }


def _performance_override(spec, selectors):
    hugepages = spec["hugepages"]
    pages = []
    for page in hugepages["pages"]:
        item = {"size": page["size"], "count": page["count"]}
        if "node" in page:
            item["node"] = page["node"]
        pages.append(item)
    body = {
        "cpu": {"isolated": _q(spec["isolated"]), "reserved": _q(spec["reserved"])},
        "hugepages": {"defaultHugepagesSize": hugepages["default_size"], "pages": pages},
    }
    if selectors:
        body["machineConfigPoolSelector"] = {"$patch": "replace", WORKER_POOL_LABEL: _q("")}
        body["nodeSelector"] = {"$patch": "replace", WORKER_ROLE_LABEL: _q("")}
    body["realTimeKernel"] = {"enabled": spec["realtime_kernel"]}
    return {"metadata": {"name": PERFORMANCE_PROFILE_NAME}, "spec": body}


def _tuned_override(spec, full_recommend):
    """The worker Tuned: the worker copies of the reference profiles (all of them, in the source's order: the
    PolicyGenTemplate merges the profile list by index and the PolicyGenerator's kustomize patch replaces it, so
    either way the rendered Tuned holds exactly these), recommended for the worker pool."""
    reference = spec.get("reference_tuning") or REFERENCE_TUNING[spec["source_cr_layout"]]
    tuning = worker_tuning(reference, spec["isolated"], spec["realtime_kernel"], spec["extra_tuned"])
    profiles = [{"name": name, "data": yaml_load.literal_block(data)} for name, data in tuning["profiles"]]
    recommend = {"machineConfigLabels": {MCP_ROLE_LABEL: _q("worker")}, "priority": tuning["priority"], "profile": tuning["recommend"]}
    if not full_recommend:
        recommend = {"profile": tuning["recommend"]}
    return {
        "metadata": {"name": TUNED_NAME},
        "spec": {"profile": profiles, "recommend": [recommend]},
    }


def worker_document(spec):
    """The worker PolicyGenTemplate or PolicyGenerator (a dict) for a profile from ``validate_worker``."""
    crs = SOURCE_CRS[spec["source_cr_layout"]]
    policy_name = spec["policy_name"]
    if spec["format"] == PGT:
        source_files = []
        for key, override in (("machineconfig", _machineconfig_override(spec["reserved"])),
                              ("performanceprofile", _performance_override(spec, False)),
                              ("tuned", _tuned_override(spec, False))):
            entry = {"fileName": crs[key], "policyName": _q(policy_name)}
            entry.update(override)
            source_files.append(entry)
        return {
            "apiVersion": PGT_API,
            "kind": "PolicyGenTemplate",
            "metadata": {"name": _q(spec["name"]), "namespace": _q(spec["namespace"])},
            "spec": {
                "bindingRules": dict((key, _q(value)) for key, value in spec["binding_rules"].items()),
                "mcp": _q("worker"),
                "sourceFiles": source_files,
            },
        }
    manifests = []
    for key, override in (("machineconfig", _machineconfig_override(spec["reserved"])),
                          ("performanceprofile", _performance_override(spec, True)),
                          ("tuned", _tuned_override(spec, True))):
        manifests.append({"path": "source-crs/" + crs[key], "patches": [override]})
    names = generated_names(spec["name"], policy_name, PG)
    return {
        "apiVersion": PG_API,
        "kind": "PolicyGenerator",
        "metadata": {"name": spec["name"]},
        "placementBindingDefaults": {"name": names["PlacementBinding"]},
        "policyDefaults": {
            "namespace": spec["namespace"],
            "placement": {"labelSelector": dict((key, _q(value)) for key, value in spec["binding_rules"].items())},
            "remediationAction": "inform",
            "severity": "low",
            "namespaceSelector": {"exclude": ["kube-*"], "include": ["*"]},
            "evaluationInterval": {"compliant": "10m", "noncompliant": "10s"},
        },
        "policies": [{
            "name": names["Policy"],
            "policyAnnotations": {"ran.openshift.io/ztp-deploy-wave": _q(DEPLOY_WAVE)},
            "manifests": manifests,
        }],
    }


# ---------------------------------------------------------------------------------------------------
# YAML text

def render(document):
    """YAML text of one document, in the layout of the upstream ZTP examples."""
    yaml_load.require_ruamel()
    from io import StringIO
    yaml = yaml_load.ruamel_yaml("rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    stream = StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def load_documents(text, where):
    """Plain data of every YAML document of ``text``; a parse error names ``where``."""
    yaml_load.require_ruamel()
    if text is None or not text.strip():
        return []
    try:
        return yaml_load.fast_load_all(text)
    except yaml_load.PARSE_ERRORS + (ValueError,) as error:
        raise ZtpInputError("path", where, "a valid YAML file (%s)" % str(error).replace("\n", " "), where=where)


def _plain(value):
    if isinstance(value, dict):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _identity(document):
    """``(kind, name, namespace)`` of a worker document (PolicyGenerator: the namespace of its policies)."""
    if not isinstance(document, dict):
        return None, None, None
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    if document.get("kind") == "PolicyGenerator":
        defaults = document.get("policyDefaults") if isinstance(document.get("policyDefaults"), dict) else {}
        namespace = defaults.get("namespace")
    else:
        namespace = metadata.get("namespace")
    return document.get("kind"), metadata.get("name"), namespace


def _describe(identity):
    kind, name, namespace = identity
    return "%s %s%s" % (kind or "(no kind)", name or "(no name)", " in namespace %s" % namespace if namespace else "")


def check_worker_file(existing, document, where):
    """Refuse to replace a file that is not the worker policy ``document`` itself.

    ``existing`` are the documents of the file (``load_documents``). Only a file with exactly one document of the
    same kind, name and namespace as ``document`` (a file written for this worker policy) may be replaced; a site
    or group policy, a kustomization, a namespace, a file of several documents or a file that is not YAML
    mappings would be lost, so ``ZtpInputError`` names what the file holds and nothing is written."""
    wanted = _identity(document)
    fix = ("Point path at a new file (for example %s.yaml next to the site policies) or at the file written "
           "before for this worker policy; if this file is no longer needed, remove it from Git first" % wanted[1])
    if not existing:
        found = "only comments or empty documents"
    elif len(existing) != 1:
        found = "%d YAML documents (%s)" % (len(existing), "; ".join(
            _describe(_identity(d)) if isinstance(d, dict) else "not a mapping" for d in existing))
    elif not isinstance(existing[0], dict):
        found = "no YAML mapping (it is not a PolicyGenTemplate or PolicyGenerator file)"
    elif _identity(existing[0]) != wanted:
        found = _describe(_identity(existing[0]))
    else:
        return
    raise ZtpInputError(
        "path", where,
        "a new file or the worker policy file of %s; this file holds %s, which would be replaced by the worker "
        "policy, so nothing was written. %s" % (_describe(wanted), found, fix), where=where)


def update_worker_text(text, document, where="worker file"):
    """New text of the worker file: ``text`` unchanged if it already holds ``document``, else spliced
    (or rendered anew, see the module docstring)."""
    # rendered only when needed: the emitter costs about 10 ms a file, and a rerun finds most files unchanged
    if text is None or not text.strip():
        return render(document)
    existing = load_documents(text, where)
    check_worker_file(existing, document, where)
    if len(existing) == 1 and yaml_load.same_data(existing[0], _plain(document)):
        return text
    old = existing[0]
    if old.get("apiVersion") != document["apiVersion"]:
        return render(document)
    try:
        new_text = yaml_edit.update_value(text, [0], document)
    except yaml_edit.YamlEditError:
        return render(document)
    if not yaml_load.same_data(load_documents(new_text, where), [_plain(document)]):
        return render(document)
    return new_text


def kustomization_entry(path):
    """The ``generators:`` entry of the worker file: its path relative to its folder."""
    return os.path.basename(path)


def _same_entry(item, entry):
    return isinstance(item, str) and os.path.normpath(item.strip()) == os.path.normpath(entry)


def update_kustomization_text(text, entry, where="kustomization.yaml"):
    """``kustomization.yaml`` text that lists ``entry`` once under ``generators:``."""
    documents = load_documents(text, where)
    if not documents or documents[0] is None:
        if text and text.strip() and any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
            raise ZtpInputError("kustomization", where, "a kustomization.yaml with a mapping at the top", where=where)
        prefix = text if text and text.strip() else ""
        if prefix and not prefix.endswith("\n"):
            prefix += "\n"
        return prefix + "generators:\n- %s\n" % entry
    root = documents[0]
    if not isinstance(root, dict):
        raise ZtpInputError("kustomization", where, "a kustomization.yaml with a mapping at the top", where=where)
    generators = root.get("generators")
    if generators is None:
        return yaml_edit.set_mapping_value(text, [0], "generators", [entry])
    if not isinstance(generators, list):
        raise ZtpInputError("generators", generators, "a list of generator files", where=where)
    if any(_same_entry(item, entry) for item in generators):
        return text
    return yaml_edit.append_sequence_item(text, [0, "generators"], entry)


def remove_kustomization_entry(text, entry, where="kustomization.yaml"):
    """``kustomization.yaml`` text without ``entry`` under ``generators:`` (unchanged when it is not listed)."""
    documents = load_documents(text, where)
    root = documents[0] if documents else None
    generators = root.get("generators") if isinstance(root, dict) else None
    if not isinstance(generators, list):
        return text
    for index, item in enumerate(generators):
        if _same_entry(item, entry):
            return yaml_edit.remove_sequence_item(text, [0, "generators"], index)
    return text


NAMESPACE_FILE = "ns.yaml"
CLUSTER_SET = "global"


def _namespace_docs(document):
    """The Namespace documents of one YAML document (itself, or the items of a ``List``)."""
    if not isinstance(document, dict):
        return []
    if document.get("kind") == "List" and isinstance(document.get("items"), list):
        return [d for d in document["items"] if isinstance(d, dict) and d.get("kind") == "Namespace"]
    return [document] if document.get("kind") == "Namespace" else []


def declared_namespaces(repo_dir):
    """``{namespace: path}`` of every Namespace that a ``resources:`` file of a ``kustomization.yaml`` of the
    repository declares (relative paths): what ArgoCD creates from Git."""
    found = {}
    for folder, dirs, files in os.walk(repo_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "kustomization.yaml" not in files:
            continue
        kpath = os.path.join(folder, "kustomization.yaml")
        try:
            documents = load_documents(yaml_files.read_text(kpath)[0], kpath)
        except (ZtpInputError, IOError, OSError):
            continue
        root = documents[0] if documents and isinstance(documents[0], dict) else {}
        for entry in root.get("resources") or []:
            path = os.path.normpath(os.path.join(folder, str(entry)))
            if not os.path.isfile(path):
                continue
            try:
                resources = load_documents(yaml_files.read_text(path)[0], path)
            except (ZtpInputError, IOError, OSError):
                continue
            for document in resources:
                for namespace in _namespace_docs(document):
                    name = (namespace.get("metadata") or {}).get("name")
                    if name:
                        found.setdefault(str(name), os.path.relpath(path, repo_dir))
    return found


def namespace_file(repo_dir, worker_path, declared):
    """``(path, created)`` of the file that gets a new policy namespace: the file that declares the namespaces of the
    worker file's folder (its ``resources:``), else the one that declares most of the repository's, else a new
    ``ns.yaml`` beside the worker file (``created``; it must then be added to ``resources:``)."""
    folder = os.path.dirname(worker_path)
    counts = {}
    for path in declared.values():
        counts[path] = counts.get(path, 0) + 1
    local = sorted(p for p in counts if os.path.dirname(os.path.join(repo_dir, p)) == folder)
    if local:
        return os.path.join(repo_dir, local[0]), False
    if counts:
        return os.path.join(repo_dir, sorted(counts, key=lambda p: (-counts[p], p))[0]), False
    return os.path.join(folder, NAMESPACE_FILE), True


def namespace_objects(namespace, binding=True):
    """The Namespace of a policy namespace and, with ``binding``, its ManagedClusterSetBinding to the ``global``
    cluster set, as the ZTP examples declare them (``acmpolicygenerator/ns.yaml``): without a binding, the Placements
    of the namespace (the PolicyGenerator's, TALM's) select no cluster."""
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    if binding:
        objects.append({"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSetBinding",
                        "metadata": {"name": CLUSTER_SET, "namespace": namespace}, "spec": {"clusterSet": CLUSTER_SET}})
    return objects


def add_namespace_text(text, namespace, binding=True, where=NAMESPACE_FILE):
    """``text`` of a namespace file with the Namespace ``namespace`` (and its binding) added in the file's own form:
    items appended to a ``List``, or documents appended after the others. The rest of the file is kept."""
    documents = load_documents(text, where) if text and text.strip() else []
    for document in documents:
        if any((d.get("metadata") or {}).get("name") == namespace for d in _namespace_docs(document)):
            return text
    objects = namespace_objects(namespace, binding)
    if len(documents) == 1 and isinstance(documents[0], dict) and documents[0].get("kind") == "List":
        try:
            return yaml_edit.append_sequence_items(text, [0, "items"], objects)
        except yaml_edit.YamlEditError as error:
            raise ZtpInputError("path", where, "a namespace file this edit can extend (%s); add the Namespace %s (and a "
                                "ManagedClusterSetBinding to the global cluster set) by hand" % (error, namespace),
                                where=where)
    prefix = text or ""
    if prefix.strip():
        prefix = prefix if prefix.endswith("\n") else prefix + "\n"
        prefix += "---\n"
    return prefix + "---\n".join(render(o) for o in objects)


def add_kustomization_resource(text, entry, where="kustomization.yaml"):
    """``kustomization.yaml`` text that lists ``entry`` once under ``resources:``."""
    documents = load_documents(text, where)
    root = documents[0] if documents and isinstance(documents[0], dict) else None
    if root is None:
        raise ZtpInputError("kustomization", where, "a kustomization.yaml with a mapping at the top", where=where)
    resources = root.get("resources")
    if resources is None:
        return yaml_edit.set_mapping_value(text, [0], "resources", [entry])
    if any(_same_entry(item, entry) for item in resources):
        return text
    return yaml_edit.append_sequence_item(text, [0, "resources"], entry)


def worker_binding(document):
    """``(matchLabels, matchExpressions)`` of the clusters a worker PolicyGenTemplate or PolicyGenerator binds."""
    if not isinstance(document, dict):
        return {}, []
    if document.get("kind") == "PolicyGenerator":
        defaults = document.get("policyDefaults") if isinstance(document.get("policyDefaults"), dict) else {}
        placement = defaults.get("placement") if isinstance(defaults.get("placement"), dict) else {}
        selector = placement.get("labelSelector") if isinstance(placement.get("labelSelector"), dict) else {}
        if "matchLabels" in selector or "matchExpressions" in selector:
            return dict(selector.get("matchLabels") or {}), list(selector.get("matchExpressions") or [])
        return dict(selector), []
    spec = document.get("spec") if isinstance(document.get("spec"), dict) else {}
    return dict(spec.get("bindingRules") or {}), [
        {"key": key, "operator": "NotIn", "values": [value]} for key, value in (spec.get("bindingExcludedRules") or {}).items()]


def selects(labels, match_labels, match_expressions):
    """Whether a cluster with ``labels`` is selected (Kubernetes label selector semantics; an empty selector selects
    nothing here, as a worker policy without binding rules binds no cluster)."""
    if not match_labels and not match_expressions:
        return False
    labels = labels or {}
    if any(str(labels.get(key)) != str(value) for key, value in match_labels.items()):
        return False
    for expression in match_expressions:
        key, operator = expression.get("key"), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if (operator == "Exists" and not present) or (operator == "DoesNotExist" and present):
            return False
    return True


def _expected_identity(policy):
    fmt = policy.get("format") or PGT
    if fmt == PG:
        return ("PolicyGenerator", policy.get("name"), policy.get("namespace"))
    return ("PolicyGenTemplate", policy.get("name"), policy.get("namespace"))


def read_worker_file(policy, repo_dir=None):
    """``(full path, text, document)`` of the worker policy file ``policy`` (``path``, ``name``, ``namespace``,
    ``format``): ``(path, None, None)`` when the file is gone. A file that is not that worker policy alone (a site or
    group template, several documents) is an input error: it is never removed."""
    path = policy["path"] if os.path.isabs(policy["path"]) or not repo_dir else os.path.join(repo_dir, policy["path"])
    if not os.path.exists(path):
        return path, None, None
    text = yaml_files.read_text(path)[0]
    documents = load_documents(text, path)
    wanted = _expected_identity(policy)
    if len(documents) != 1 or _identity(documents[0])[:2] != wanted[:2] or (
            wanted[2] and _identity(documents[0])[2] != wanted[2]):
        found = "; ".join(_describe(_identity(d)) for d in documents) or "only comments or empty documents"
        raise ZtpInputError("worker_policy.path", policy["path"], "the file of the worker policy %s alone; it holds %s, "
                            "so it is not removed. Fix the worker policy's path, or keep the worker policies "
                            "(ztp_removal_worker_policies=keep)" % (_describe(wanted), found), where=path)
    return path, text, documents[0]


def remove_worker_files(policies, repo_dir=None, check_mode=False):
    """Remove each worker policy file of ``policies`` and its ``generators:`` entry in the ``kustomization.yaml`` beside
    it (the entry first, so that no commit lists a missing file). Every file is checked before any is changed.

    Returns ``{changed, paths, diff, policies}`` (``paths`` relative to ``repo_dir`` when given; ``policies`` the root
    policy names the removed files generated)."""
    yaml_load.require_ruamel()
    found, errors = [], []
    for policy in policies:
        try:
            found.append((policy,) + read_worker_file(policy, repo_dir))
        except ZtpInputError as error:
            errors.append(error)
    raise_if_any(errors)
    changed, paths, diffs, names = False, [], [], []
    for policy, path, text, dummy in found:
        if text is None:
            continue
        if policy.get("kustomization", True):
            kpath = os.path.join(os.path.dirname(path), "kustomization.yaml")
            if os.path.exists(kpath):
                k_result = edit_text_file(kpath, lambda t, k=kpath, p=path: remove_kustomization_entry(
                    t, kustomization_entry(p), k), check_mode)
                if k_result["changed"]:
                    diffs.append(k_result["diff"])
                    paths.append(kpath)
        if not check_mode:
            with yaml_files.checkout_lock(path):
                os.unlink(path)
        changed = True
        paths.append(path)
        diffs.append({"before": text, "after": "", "before_header": path, "after_header": "/dev/null"})
        names.extend(policy_names(policy["name"], policy.get("policy_name") or "config-policy"))
    if repo_dir:
        paths = [os.path.relpath(p, repo_dir) for p in paths]
    return {"changed": changed, "paths": paths, "diff": diffs, "policies": names}


# Options of ztp_policygen_worker (its action plugin and ztp_gitops_batch validate with them).
WORKER_ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    binding_rules=dict(type="dict", required=True),
    format=dict(type="str", default="policygentemplate", choices=list(FORMATS)),
    reserved_cpus=dict(type="str", required=True),
    isolated_cpus=dict(type="str", required=True),
    cpu_count=dict(type="int"),
    hugepages=dict(type="dict", required=True, options=dict(
        default_size=dict(type="str", required=True),
        pages=dict(type="list", elements="dict", required=True, options=dict(
            size=dict(type="str", required=True),
            count=dict(type="int", required=True),
            node=dict(type="int"),
        )),
    )),
    realtime_kernel=dict(type="bool", default=True),
    extra_tuned=dict(type="dict"),
    source_cr_layout=dict(type="str", default="flat", choices=list(LAYOUTS)),
    kustomization=dict(type="bool", default=True),
    policy_name=dict(type="str", default="config-policy"),
    allow_non_ztp_namespace=dict(type="bool", default=False),
)


def update_kustomization_entries(text, entries, where="kustomization.yaml"):
    """``kustomization.yaml`` text that lists each of ``entries`` once under ``generators:``.

    The same result as ``update_kustomization_text`` for each entry in turn, with the missing entries of a
    block list appended in one splice (one parse and one verification for a whole batch)."""
    entries = [entry for i, entry in enumerate(entries) if not any(_same_entry(e, entry) for e in entries[:i])]
    documents = load_documents(text, where)
    root = documents[0] if documents else None
    generators = root.get("generators") if isinstance(root, dict) else None
    if not isinstance(generators, list) or len(entries) < 2:
        for entry in entries:
            text = update_kustomization_text(text, entry, where)
        return text
    present = set(os.path.normpath(item.strip()) for item in generators if isinstance(item, str))
    missing = [entry for entry in entries if os.path.normpath(entry) not in present]
    if not missing:
        return text
    return yaml_edit.append_sequence_items(text, [0, "generators"], missing)


def _checked_worker(params):
    """``(path, spec, document)`` of a worker file: the options validated, its folder checked, the document built."""
    yaml_load.require_ruamel()
    path = params.get("path")
    spec = validate_worker(params)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ZtpInputError("path", path, "a file in an existing folder of the GitOps checkout (folder %s does not exist)" % folder)
    spec["reference_tuning"] = detect_reference_tuning(folder, spec["source_cr_layout"])[0]
    return path, spec, worker_document(spec)


def plan_worker(params, text):
    """Validate ``params`` (the options of ``ztp_policygen_worker``) and return ``(spec, new_text)`` of the
    worker file whose current text is ``text`` (empty when missing); nothing is written.

    The same checks, errors and text as ``write_worker``, for callers that edit many files in one go."""
    path, spec, document = _checked_worker(params)
    try:
        return spec, update_worker_text(text, document, path)
    except yaml_edit.YamlEditError as error:
        raise ZtpInputError("path", path, "a file that can be edited without changing anything else (%s)" % error, where=path)


def write_worker(params, check_mode=False):
    """Validate, write the worker file and list it in ``kustomization.yaml``; return the module result."""
    path, spec, document = _checked_worker(params)
    kustomization_path = None
    if params.get("kustomization", True):
        kustomization_path = os.path.join(os.path.dirname(path), "kustomization.yaml")
        entry = kustomization_entry(path)

        def k_transform(text):
            return update_kustomization_text(text, entry, kustomization_path)
        # tried first without writing: a kustomization.yaml that cannot be read or edited (not UTF-8, a link out of
        # the working copy, ...) leaves the worker file as it was too
        edit_text_file(kustomization_path, k_transform, True)
    result = edit_text_file(path, lambda text: update_worker_text(text, document, path), check_mode)
    diffs = [result["diff"]] if result["changed"] else []
    kustomization_changed = False
    if kustomization_path is not None:
        k_result = edit_text_file(kustomization_path, k_transform, check_mode)
        kustomization_changed = k_result["changed"]
        if kustomization_changed:
            diffs.append(k_result["diff"])
    return {
        "changed": result["changed"] or kustomization_changed,
        "diff": diffs,
        "path": path,
        "kustomization_changed": kustomization_changed,
        "kustomization_path": kustomization_path,
        "policies": policy_names(spec["name"], spec["policy_name"]),
    }


def edit_text_file(path, transform, check_mode):
    """``yaml_files.edit_file`` (a missing file is an empty text); an unsafe edit is an input error."""
    try:
        return yaml_files.edit_file(path, transform, check_mode)
    except yaml_edit.YamlEditError as error:
        raise ZtpInputError("path", path, "a file that can be edited without changing anything else (%s)" % error, where=path)


# ---------------------------------------------------------------------------------------------------
# PTP / SR-IOV selector overrides

def _set_value(text, path, key, value):
    return yaml_edit.set_mapping_value(text, list(path), key, value)


def _append_item(text, path, item):
    return yaml_edit.append_sequence_item(text, list(path), item)


SELECTORS = {
    "ptp": {"prefix": "PtpOperatorConfig", "field": "daemonNodeSelector"},
    "sriov": {"prefix": "SriovOperatorConfig", "field": "configDaemonNodeSelector"},
}


def _source_name(entry, fmt):
    value = entry.get("fileName") if fmt == PGT else entry.get("path")
    return value if isinstance(value, str) else ""


def _layout_of(names):
    for name in names:
        relative = name[len("source-crs/"):] if name.startswith("source-crs/") else name
        if relative.split("/", 1)[0] in DIRECTORY_LAYOUT_FOLDERS and "/" in relative:
            return "directory"
    return "flat"


def _find_document(documents, where):
    for index, document in enumerate(documents):
        if isinstance(document, dict):
            if document.get("kind") == "PolicyGenTemplate":
                return index, PGT, document
            if document.get("kind") == "PolicyGenerator":
                return index, PG, document
    raise ZtpInputError("path", where, "a file with a PolicyGenTemplate (%s) or PolicyGenerator (%s) document" % (PGT_API, PG_API), where=where)


def _worker_selector(set_selector):
    if set_selector:
        return {WORKER_ROLE_LABEL: _q("")}
    return {"$patch": "replace", WORKER_ROLE_LABEL: _q("")}


def _selector_ok(value, fmt, source):
    if not isinstance(value, dict):
        return False
    labels = dict((key, item) for key, item in value.items() if key != "$patch")
    if labels != {WORKER_ROLE_LABEL: ""}:
        return False
    if fmt == PGT:
        return "$patch" not in value
    # ACM PolicyGenerator has no $mcp substitution: unless the source CR leaves the selector empty
    # (*-SetSelector.yaml), the patch must replace the "$mcp" selector map of the source CR.
    return "-SetSelector" in source or value.get("$patch") == "replace"


def selector_overrides(text, ptp=True, sriov=True, policy_name="config-policy", where="group policy file"):
    """Return ``(new_text, changed_entries)`` with the PTP/SR-IOV daemons moved to the worker selector."""
    yaml_load.require_ruamel()
    documents = load_documents(text, where)
    doc_index, fmt, document = _find_document(documents, where)
    changes = []
    wanted = [kind for kind, flag in (("ptp", ptp), ("sriov", sriov)) if flag]
    if not wanted:
        return text, changes, []

    # (path of the entry list, entries, policy label) of each list of source CRs in the file.
    lists = []
    if fmt == PGT:
        source_files = (document.get("spec") or {}).get("sourceFiles")
        if not isinstance(source_files, list):
            raise ZtpInputError("spec.sourceFiles", source_files, "a list of source files", where=where)
        lists.append(((doc_index, "spec", "sourceFiles"), source_files, None))
    else:
        policies = document.get("policies")
        if not isinstance(policies, list):
            raise ZtpInputError("policies", policies, "a list of policies", where=where)
        for index, policy in enumerate(policies):
            if isinstance(policy, dict) and isinstance(policy.get("manifests"), list):
                lists.append(((doc_index, "policies", index, "manifests"), policy["manifests"], policy.get("name")))
    layout = _layout_of([_source_name(entry, fmt) for _path, entries, _name in lists for entry in entries if isinstance(entry, dict)])

    carriers = []
    for kind in wanted:
        prefix, field = SELECTORS[kind]["prefix"], SELECTORS[kind]["field"]
        found = False
        for list_path, entries, _policy in lists:
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                source = _source_name(entry, fmt)
                if not os.path.basename(source).startswith(prefix):
                    continue
                found = True
                carriers.append(_policy if fmt == PG else entry.get("policyName"))
                entry_path = list_path + (index,)
                edits = []
                if entry.get("complianceType") != "mustonlyhave":
                    text = _set_value(text, entry_path, "complianceType", "mustonlyhave")
                    edits.append("complianceType")
                selector = _worker_selector("-SetSelector" in source and fmt == PG) if fmt == PG else {WORKER_ROLE_LABEL: _q("")}
                if fmt == PGT:
                    body, body_path = entry.get("spec"), entry_path
                    body_key = "spec"
                else:
                    patches = entry.get("patches")
                    if not isinstance(patches, list) or not patches or not isinstance(patches[0], dict):
                        body, body_path, body_key = None, entry_path, "patches"
                    else:
                        body, body_path, body_key = patches[0].get("spec"), entry_path + ("patches", 0), "spec"
                if body_key == "patches":
                    text = _set_value(text, body_path, "patches", [{"spec": {field: selector}}])
                    edits.append("patches")
                elif not isinstance(body, dict):
                    text = _set_value(text, body_path, "spec", {field: selector})
                    edits.append("spec." + field)
                elif not _selector_ok(body.get(field), fmt, source):
                    text = _set_value(text, body_path + ("spec",), field, selector)
                    edits.append("spec." + field)
                if edits:
                    changes.append({"selector": kind, "source": source, "action": "updated", "fields": edits,
                                    "policy": _policy if fmt == PG else entry.get("policyName")})
        if found:
            continue
        source = SOURCE_CRS[layout][kind]
        if fmt == PGT:
            item = {"fileName": source, "policyName": _q(policy_name), "complianceType": "mustonlyhave",
                    "spec": {field: {WORKER_ROLE_LABEL: _q("")}}}
            text = _append_item(text, lists[0][0], item)
            target = policy_name
        else:
            target_path = None
            names = []
            for list_path, _entries, name in lists:
                names.append(name)
                if name == policy_name or (isinstance(name, str) and name.endswith("-" + policy_name)):
                    target_path, target = list_path, name
                    break
            if target_path is None:
                raise ZtpInputError("policy_name", policy_name,
                                    "the name (or name suffix) of a policy of the file that lists manifests; found %s" % names,
                                    where=where)
            item = {"path": "source-crs/" + source, "complianceType": "mustonlyhave",
                    "patches": [{"spec": {field: _worker_selector(False)}}]}
            text = _append_item(text, target_path, item)
        changes.append({"selector": kind, "source": item.get("fileName") or item.get("path"), "action": "added",
                        "fields": ["complianceType", "spec." + field], "policy": target})
        carriers.append(target)
    # the root policy of an entry: <PolicyGenTemplate name>-<policyName>, or the PolicyGenerator policy name
    template = str(((document.get("metadata") or {}).get("name")) or "")

    def root(policy):
        return ("%s-%s" % (template, policy) if fmt == PGT else policy) if policy else None
    for change in changes:
        change["root_policy"] = root(change.get("policy"))
    roots = []
    for policy in carriers:
        if root(policy) and root(policy) not in roots:
            roots.append(root(policy))
    return text, changes, roots


def set_selectors(path, ptp=True, sriov=True, policy_name="config-policy", check_mode=False):
    """Apply ``selector_overrides`` to the file at ``path``; return the module result."""
    if not os.path.isfile(path):
        raise ZtpInputError("path", path, "an existing group PolicyGenTemplate or PolicyGenerator file")
    found = {}

    def transform(text):
        new_text, found["changes"], found["policies"] = selector_overrides(text, ptp, sriov, policy_name, path)
        return new_text

    result = edit_text_file(path, transform, check_mode)
    return {"changed": result["changed"], "diff": result["diff"] if result["changed"] else {},
            "changed_entries": found.get("changes", []), "policies": found.get("policies", []), "path": path}
