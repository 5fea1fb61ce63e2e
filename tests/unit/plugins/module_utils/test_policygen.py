# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SHARED = os.environ.get("ZTP_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
SEED = os.path.join(SHARED, "seed", "000_7d00e9043756f5e8.txt")


def params(**changes):
    base = dict(
        name="example-sno-workers", namespace="ztp-site", binding_rules={"sites": "example-sno"},
        format="policygentemplate", reserved_cpus="0-3", isolated_cpus="4-47", cpu_count=None,
        hugepages={"default_size": "1G", "pages": [{"size": "1G", "count": 32}]}, realtime_kernel=True,
        extra_tuned=None, source_cr_layout="flat", policy_name="config-policy", allow_non_ztp_namespace=False,
    )
    base.update(changes)
    return base


def errors_of(**changes):
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as error:
        policygen.validate_worker(params(**changes))
    found = getattr(error.value, "errors", [error.value])
    return found, str(error.value)


# --- validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field, message", [
    (dict(reserved_cpus="0-3,"), "reserved_cpus", "empty item"),
    (dict(isolated_cpus="47-4"), "isolated_cpus", "reversed"),
    (dict(isolated_cpus="-4"), "isolated_cpus", "negative"),
    (dict(reserved_cpus=""), "reserved_cpus", "non-empty CPU set"),
    (dict(isolated_cpus="3-47"), "isolated_cpus", "disjoint from reserved_cpus '0-3'; CPUs 3 are in both"),
    (dict(cpu_count=64), "isolated_cpus", "CPUs 48-63 are in neither set"),
    (dict(cpu_count=40), "isolated_cpus", "CPUs 40-47 do not exist on a node with 40 CPUs"),
    (dict(cpu_count=1), "cpu_count", "number of logical CPUs"),
    (dict(hugepages={"default_size": "1GB", "pages": [{"size": "1G", "count": 32}]}), "hugepages.default_size", '"2M" or "1G"'),
    (dict(hugepages={"default_size": "1G", "pages": [{"size": "4K", "count": 32}]}), "hugepages.pages[0].size", '"2M" or "1G"'),
    (dict(hugepages={"default_size": "1G", "pages": [{"size": "1G", "count": 0}]}), "hugepages.pages[0].count", "positive"),
    (dict(hugepages={"default_size": "1G", "pages": []}), "hugepages.pages", "non-empty list"),
    (dict(hugepages=None), "hugepages", "placeholders"),
    (dict(namespace="example-sno"), "namespace", "policy-app-project"),
    (dict(namespace="Ztp_Site"), "namespace", "Kubernetes namespace name"),
    (dict(name="Example"), "name", "lowercase Kubernetes name"),
    (dict(binding_rules={}), "binding_rules", "would select every cluster"),
    (dict(binding_rules={"sites": 5}), "binding_rules.sites", "quote it"),
    (dict(binding_rules={"sites": "bad value!"}), "binding_rules.sites", "label value"),
    (dict(extra_tuned={"[sysctl]": ["a=b"]}), "extra_tuned", "without brackets"),
    (dict(extra_tuned={"sysctl": ["a=b\nc=d"]}), "extra_tuned.sysctl", "no newline"),
    (dict(format="yaml"), "format", "policygentemplate"),
    (dict(source_cr_layout="tree"), "source_cr_layout", "node-tuning-operator/x86_64/PerformanceProfile.yaml"),
    (dict(policy_name="Config"), "policy_name", "lowercase"),
])
def test_validation_rules(changes, field, message):
    found, text = errors_of(**changes)
    assert [error.field for error in found] == [field]
    assert message in text


def test_all_errors_reported_together():
    found, text = errors_of(namespace="example-sno", reserved_cpus="3-0", isolated_cpus="4-x",
                            hugepages={"default_size": "4M", "pages": [{"size": "1G", "count": -1}]})
    assert sorted(error.field for error in found) == sorted([
        "namespace", "reserved_cpus", "isolated_cpus", "hugepages.default_size", "hugepages.pages[0].count"])
    assert text.startswith("5 input error(s):")


def test_namespace_opt_out():
    spec = policygen.validate_worker(params(namespace="example-sno", allow_non_ztp_namespace=True))
    assert spec["namespace"] == "example-sno"


def test_cpu_count_exact_cover_and_non_contiguous_sets():
    spec = policygen.validate_worker(params(reserved_cpus="0-1, 52-53", isolated_cpus="2-51,54-63", cpu_count=64))
    assert (spec["reserved"], spec["isolated"]) == ("0-1,52-53", "2-51,54-63")
    document = policygen.worker_document(spec)
    files = document["spec"]["sourceFiles"]
    assert files[1]["spec"]["cpu"] == {"isolated": "2-51,54-63", "reserved": "0-1,52-53"}
    assert "cmdline_crash=nohz_full=2-51,54-63\n" in files[2]["spec"]["profile"][0]["data"]
    source = files[0]["spec"]["config"]["storage"]["files"][0]["contents"]["source"]
    assert source.endswith("IjAtMSw1Mi01MyIgfQo=")  # cpuset "0-1,52-53"
    # the fix suggested for a gap
    _found, text = errors_of(reserved_cpus="0-1,52-53", isolated_cpus="2-51", cpu_count=64)
    assert "CPUs 54-63 are in neither set" in text and 'isolated_cpus="2-51,54-63"' in text


# --- names and the 63-character rule ----------------------------------------------------------------

def test_policy_names():
    assert policygen.policy_names("example-sno-workers") == ["example-sno-workers-config-policy"]
    assert policygen.policy_names("cnfdf15-workers", "config-policy") == ["cnfdf15-workers-config-policy"]
    assert policygen.generated_names("w", "config-policy", "policygentemplate") == {
        "Policy": "w-config-policy", "ConfigurationPolicy": "w-config-policy-config",
        "PlacementRule": "w-placementrules", "PlacementBinding": "w-placementbinding"}
    assert policygen.generated_names("w", "config-policy", "policygenerator")["Placement"] == "placement-w-config-policy"


def test_63_character_limit():
    namespace = "ztp-site"
    # PGT: the longest name is the ConfigurationPolicy "<name>-config-policy-config" (21 more characters).
    longest_ok = "a" * (63 - len(namespace) - 1 - len("-config-policy-config"))
    policygen.validate_worker(params(name=longest_ok, namespace=namespace))
    found, text = errors_of(name=longest_ok + "b", namespace=namespace)
    assert [error.field for error in found] == ["name"]
    assert "ConfigurationPolicy" in text and "(64 characters)" in text and "at most 63" in text
    # several generated names too long: each reported
    found, text = errors_of(name="n" * 60)
    assert len(found) == 4
    # PolicyGenerator: placement-<policy> is the longest
    pg_ok = "a" * (63 - len(namespace) - 1 - len("placement-") - len("-config-policy"))
    policygen.validate_worker(params(name=pg_ok, format="policygenerator"))
    found, text = errors_of(name=pg_ok + "b", format="policygenerator")
    assert "Placement \"placement-" in text


# --- documents --------------------------------------------------------------------------------------

def test_policygenerator_document():
    spec = policygen.validate_worker(params(format="policygenerator"))
    document = policygen.worker_document(spec)
    assert document["apiVersion"] == "policy.open-cluster-management.io/v1"
    defaults = document["policyDefaults"]
    assert defaults["namespace"] == "ztp-site"
    assert defaults["placement"] == {"labelSelector": {"sites": "example-sno"}}
    assert (defaults["remediationAction"], defaults["severity"]) == ("inform", "low")
    assert defaults["namespaceSelector"] == {"exclude": ["kube-*"], "include": ["*"]}
    assert defaults["evaluationInterval"] == {"compliant": "10m", "noncompliant": "10s"}
    policy = document["policies"][0]
    assert policy["name"] == "example-sno-workers-config-policy"
    assert policy["policyAnnotations"] == {"ran.openshift.io/ztp-deploy-wave": "10"}
    paths = [manifest["path"] for manifest in policy["manifests"]]
    assert paths == ["source-crs/MachineConfigGeneric.yaml", "source-crs/PerformanceProfile.yaml",
                     "source-crs/TunedPerformancePatch.yaml"]
    pp = policy["manifests"][1]["patches"][0]["spec"]
    assert pp["machineConfigPoolSelector"] == {"$patch": "replace", "pools.operator.machineconfiguration.openshift.io/worker": ""}
    assert pp["nodeSelector"] == {"$patch": "replace", "node-role.kubernetes.io/worker": ""}
    tuned = policy["manifests"][2]["patches"][0]["spec"]
    assert tuned["recommend"] == [{"machineConfigLabels": {"machineconfiguration.openshift.io/role": "worker"},
                                   "priority": 19, "profile": "performance-patch-worker"}]
    assert "mcp" not in policygen.render(document)


def test_directory_layout_paths_exist_upstream():
    spec = policygen.validate_worker(params(format="policygenerator", source_cr_layout="directory"))
    paths = [m["path"] for m in policygen.worker_document(spec)["policies"][0]["manifests"]]
    assert paths == ["source-crs/generic/MachineConfigGeneric.yaml",
                     "source-crs/node-tuning-operator/x86_64/PerformanceProfile.yaml",
                     "source-crs/node-tuning-operator/TunedPerformancePatch.yaml"]
    tree = os.path.join(SHARED, "ztp-reference", "source-crs", "telco-reference-main")
    if not os.path.isdir(tree):
        pytest.skip("upstream source CRs not available")
    for path in paths + ["source-crs/" + policygen.SOURCE_CRS["directory"][key] for key in ("ptp", "sriov")]:
        assert os.path.isfile(os.path.join(tree, path[len("source-crs/"):])), path


def test_tuned_profile_options():
    data = policygen.tuned_profile_data("4-47", realtime_kernel=False,
                                        extra_sections=[("sysctl", ["kernel.sched_rt_runtime_us=-1"]),
                                                        ("service", ["service.chronyd=start,enable"]),
                                                        ("vm", ["transparent_hugepages=never"])])
    assert "kernel.timer_migration" not in data
    assert "[sysctl]\nkernel.sched_rt_runtime_us=-1\n" in data
    assert "service.chronyd=start,enable" in data and "service.chronyd=stop,disable" not in data
    assert data.endswith("[vm]\ntransparent_hugepages=never\n")
    spec = policygen.validate_worker(params(realtime_kernel=False, extra_tuned={"sysctl": {"kernel.foo": 1}}))
    tuned = policygen.worker_document(spec)["spec"]["sourceFiles"][2]["spec"]["profile"][0]["data"]
    assert "[sysctl]\nkernel.foo=1\n" in tuned
    assert policygen.worker_document(spec)["spec"]["sourceFiles"][1]["spec"]["realTimeKernel"] == {"enabled": False}


def test_update_worker_text_keeps_comments():
    spec = policygen.validate_worker(params())
    document = policygen.worker_document(spec)
    text = policygen.render(document)
    assert policygen.update_worker_text(text, document) == text
    edited = text.replace("spec:\n  bindingRules:", "spec:\n  # site of the workers\n  bindingRules:")
    edited = edited.replace("count: 32", "count: 16  # hand edit")
    assert policygen.update_worker_text(edited, document) == edited.replace("count: 16  # hand edit", "count: 32  # hand edit")
    other = policygen.worker_document(policygen.validate_worker(params(isolated_cpus="4-31")))
    updated = policygen.update_worker_text(edited, other)
    assert "# site of the workers" in updated and "# hand edit" in updated
    assert yaml.safe_load(updated) == yaml.safe_load(policygen.render(other))
    # another kind: not this worker policy, refused (issue 15: the file would be lost)
    pg = policygen.worker_document(policygen.validate_worker(params(format="policygenerator")))
    with pytest.raises(ZtpInputError) as error:
        policygen.update_worker_text(edited, pg)
    assert "PolicyGenTemplate example-sno-workers in namespace ztp-site" in str(error.value)


def test_kustomization_entry():
    assert policygen.update_kustomization_text("", "w.yaml") == "generators:\n- w.yaml\n"
    text = "# policies\nresources:\n- ns.yaml\n"
    assert policygen.update_kustomization_text(text, "w.yaml") == text + "generators:\n- w.yaml\n"
    text = "generators:\n# common\n- common-ranGen.yaml\n\nresources:\n- ns.yaml\n"
    new = policygen.update_kustomization_text(text, "w.yaml")
    assert new == "generators:\n# common\n- common-ranGen.yaml\n- w.yaml\n\nresources:\n- ns.yaml\n"
    assert policygen.update_kustomization_text(new, "w.yaml") == new
    assert policygen.update_kustomization_text("generators:\n- ./w.yaml\n", "w.yaml") == "generators:\n- ./w.yaml\n"
    with pytest.raises(ZtpInputError):
        policygen.update_kustomization_text("generators: x\n", "w.yaml")


# --- regeneration of the seed worker PolicyGenTemplate ----------------------------------------------

def seed_worker_pgt():
    """The worker PGT block of the seed text, with the documented typos and callouts fixed."""
    if not os.path.isfile(SEED):
        pytest.skip("seed text not found (set ZTP_SHARED_DIR)")
    with open(SEED, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.strip() == "apiVersion: ran.openshift.io/v1" and lines[i + 1].strip() == "kind: PolicyGenTemplate"
                 and "example-sno-workers" in lines[i + 3])
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = []
    for line in lines[start:]:
        if re.match(r"^\s*\d+\s*$", line) and len(line) - len(line.lstrip()) <= indent:
            break  # the callout list after the block
        block.append(line[indent:])
    text = "\n".join(block) + "\n"
    assert re.search(r"^\s*cpu: 4$", text, re.M) and "nohz_full=4-47 5" in text, "the documented typos moved"
    text = re.sub(r"^(\s*)cpu: 4$", r"\1cpu:", text, flags=re.M)
    text = text.replace("nohz_full=4-47 5", "nohz_full=4-47")
    # leaked callout numbers after "key: value"
    text = re.sub(r"^(\s*(?:- )?[\w./-]+: \S.*?) [1-9]$", r"\1", text, flags=re.M)
    return yaml.safe_load(text)


SEED_PARAMS = dict(name="example-sno-workers", namespace="example-sno", binding_rules={"sites": "example-sno"},
                   reserved_cpus="0-3", isolated_cpus="4-47",
                   hugepages={"default_size": "1G", "pages": [{"size": "1G", "count": 32}]}, realtime_kernel=True)


def compare(expected, got, path="", mismatches=None):
    mismatches = [] if mismatches is None else mismatches
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            compare(expected.get(key, "<missing>"), got.get(key, "<missing>"), "%s.%s" % (path, key), mismatches)
    elif isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (a, b) in enumerate(zip(expected, got)):
            compare(a, b, "%s[%d]" % (path, index), mismatches)
    elif expected != got or type(expected) is not type(got):
        mismatches.append("%s: seed %r, generated %r" % (path, expected, got))
    return mismatches


def test_seed_namespace_rejected_without_opt_out():
    with pytest.raises(ZtpInputError) as error:
        policygen.validate_worker(params(**SEED_PARAMS))
    assert error.value.field == "namespace" and "policy-app-project" in str(error.value)


def ini_sections(text):
    """{section: [lines]} of a tuned profile."""
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            out.setdefault(current, [])
        elif line:
            out[current].append(line)
    return out


def split_tuned_data(seed, generated):
    """Take the worker tuned profile text out of both documents; check that the generated one holds every line of the
    documented one, in the same sections, plus exactly the lines the flat reference source CR has gained since
    (the ice-gnss and ice-dplls scheduler groups)."""
    path = ("spec", "sourceFiles", 2, "spec", "profile", 0)
    want, got = seed, generated
    for key in path:
        want, got = want[key], got[key]
    want_sections, got_sections = ini_sections(want.pop("data")), ini_sections(got.pop("data"))
    assert sorted(want_sections) == sorted(got_sections)
    extra = {}
    for section, lines in got_sections.items():
        assert [line for line in lines if line in want_sections[section]] == want_sections[section], section
        extra[section] = [line for line in lines if line not in want_sections[section]]
    assert extra == {"main": [], "bootloader": [], "sysctl": [], "service": [],
                     "scheduler": ["group.ice-gnss=0:f:10:*:ice-gnss.*", "group.ice-dplls=0:f:10:*:ice-dplls.*"]}


def test_seed_regeneration_field_by_field():
    seed = seed_worker_pgt()
    spec = policygen.validate_worker(params(allow_non_ztp_namespace=True, **SEED_PARAMS))
    generated = yaml.safe_load(policygen.render(policygen.worker_document(spec)))
    split_tuned_data(seed, generated)
    assert compare(seed, generated) == []
    assert policygen.policy_names(spec["name"], spec["policy_name"]) == ["example-sno-workers-config-policy"]


def test_seed_regeneration_with_ztp_namespace_differs_only_in_namespace():
    seed = seed_worker_pgt()
    seed_params = dict(SEED_PARAMS)
    seed_params["namespace"] = "ztp-site"
    spec = policygen.validate_worker(params(**seed_params))
    generated = yaml.safe_load(policygen.render(policygen.worker_document(spec)))
    split_tuned_data(seed, generated)
    assert compare(seed, generated) == [".metadata.namespace: seed 'example-sno', generated 'ztp-site'"]


# --- the worker Tuned carries the reference tuning of the source CR in use -------------------------------

TUNED_420 = """apiVersion: tuned.openshift.io/v1
kind: Tuned
metadata:
  name: ran-du-performance
  namespace: openshift-cluster-node-tuning-operator
spec:
  profile:
    - name: ran-du-performance
      data: |
        [main]
        summary=Top-level ran-du performance tuning overrides
        include=openshift-node-performance-openshift-node-performance-profile,ran-du-performance-architecture-common
    - name: ran-du-performance-architecture-common
      data: |
        [main]
        include=ran-du-common-${f:lscpu_check:Architecture\\:\\s*x86_64:x86:Architecture\\:\\s*aarch64:aarch64}
        [service]
        service.stalld=start,enable
    - name: ran-du-common-aarch64
      data: |
        [main]
        # nothing
    - name: ran-du-common-x86
      data: |
        [main]
        #include=ran-du-${f:lscpu_check:Vendor ID\\:\\s*GenuineIntel:intel}
        [bootloader]
        cmdline_x86_blacklist=module_blacklist=irdma,mgag200
        [sysctl]
        kernel.panic_on_unrecovered_nmi=1
  recommend:
    - machineConfigLabels:
        machineconfiguration.openshift.io/role: $mcp
      priority: 18
      profile: ran-du-performance
"""
MASTER_PROFILES_420 = ["ran-du-performance", "ran-du-performance-architecture-common", "ran-du-common-aarch64", "ran-du-common-x86"]


@pytest.mark.parametrize("text", ["a: [\n", "a: 1\na: 2\n", "a: b: c\n"])
def test_a_file_that_is_not_yaml_is_named_with_its_parse_error(text):
    with pytest.raises(ZtpInputError) as error:
        policygen.load_documents(text, "policygentemplates/common.yaml")
    assert "policygentemplates/common.yaml" in str(error.value) and "a valid YAML file (" in str(error.value)
    assert policygen.load_documents("", "x.yaml") == [] and policygen.load_documents("a: 1\n", "x.yaml") == [{"a": 1}]


def test_reference_tuning_parses_the_source_tuned():
    ref = policygen.reference_tuning(TUNED_420)
    assert [name for name, _data in ref["profiles"]] == MASTER_PROFILES_420
    assert (ref["recommend"], ref["priority"]) == ("ran-du-performance", 18)
    for bad in ("kind: Tuned\nspec: {}\n", "kind: ConfigMap\n", "a: [\n", TUNED_420 + "---\n" + TUNED_420,
                TUNED_420.replace("profile: ran-du-performance\n", "profile: other\n")):
        assert policygen.reference_tuning(bad) is None


def test_worker_tuning_renames_every_profile_and_points_includes_at_the_worker():
    tuning = policygen.worker_tuning(policygen.reference_tuning(TUNED_420), "2-7", True, [("sysctl", ["kernel.foo=1"])])
    names = [name for name, _data in tuning["profiles"]]
    assert names == [name + "-worker" for name in MASTER_PROFILES_420]
    assert (tuning["recommend"], tuning["priority"]) == ("ran-du-performance-worker", 18)
    data = dict(tuning["profiles"])
    top = data["ran-du-performance-worker"]
    assert "include=openshift-node-performance-openshift-worker-node-performance-profile,ran-du-performance-architecture-common-worker\n" in top
    assert "[bootloader]\ncmdline_crash=nohz_full=2-7\n" in top and "[sysctl]\nkernel.timer_migration=1\nkernel.foo=1\n" in top
    common = data["ran-du-performance-architecture-common-worker"]
    assert "include=ran-du-common-${f:lscpu_check:Architecture" in common and common.split("\n")[1].endswith("}-worker")
    x86 = data["ran-du-common-x86-worker"]
    # the reference tuning is kept line for line; a commented include is left alone
    assert x86 == ("[main]\n#include=ran-du-${f:lscpu_check:Vendor ID\\:\\s*GenuineIntel:intel}\n"
                   "[bootloader]\ncmdline_x86_blacklist=module_blacklist=irdma,mgag200\n[sysctl]\nkernel.panic_on_unrecovered_nmi=1\n")
    assert "nohz_full" not in x86 and "nohz_full" not in common
    assert not [line for text in data.values() for line in text.splitlines() if "openshift-node-performance-profile" in line]


def test_builtin_reference_tuning_shapes():
    assert policygen.TUNED_SOURCE_PROFILES == {"flat": ["performance-patch"], "directory": MASTER_PROFILES_420}
    assert policygen.TUNED_PRIORITY == {"flat": 19, "directory": 18}
    flat = policygen.worker_tuning(policygen.REFERENCE_TUNING["flat"], "4-47")
    assert [name for name, _data in flat["profiles"]] == ["performance-patch-worker"] == [policygen.TUNED_NAME]
    assert dict(flat["profiles"])["performance-patch-worker"] == policygen.tuned_profile_data("4-47")


@pytest.mark.parametrize("fmt", ["policygentemplate", "policygenerator"])
@pytest.mark.parametrize("layout", ["flat", "directory"])
def test_worker_file_takes_the_tuning_of_the_repository_source_cr(tmp_path, fmt, layout):
    """A copy of the source Tuned next to the worker file decides the worker's profiles, whatever the layout names."""
    source = tmp_path / "source-crs" / policygen.SOURCE_CRS[layout]["tuned"]
    source.parent.mkdir(parents=True)
    source.write_text(TUNED_420)
    spec, text = policygen.plan_worker(params(format=fmt, source_cr_layout=layout, path=str(tmp_path / "w.yaml")), "")
    doc = yaml.safe_load(text)
    if fmt == "policygentemplate":
        tuned = doc["spec"]["sourceFiles"][2]["spec"]
        assert tuned["recommend"] == [{"profile": "ran-du-performance-worker"}]
    else:
        tuned = doc["policies"][0]["manifests"][2]["patches"][0]["spec"]
        assert tuned["recommend"] == [{"machineConfigLabels": {"machineconfiguration.openshift.io/role": "worker"},
                                       "priority": 18, "profile": "ran-du-performance-worker"}]
    assert [p["name"] for p in tuned["profile"]] == [name + "-worker" for name in MASTER_PROFILES_420]
    assert "$patch" not in yaml.safe_dump(tuned), "the PolicyGenerator replaces the list: no $patch directives"
    assert spec["reference_tuning"]["recommend"] == "ran-du-performance"


@pytest.mark.parametrize("content", [None, "not: [yaml\n", "kind: Tuned\n"])
def test_worker_file_without_a_usable_source_cr_takes_the_layout_reference(tmp_path, content):
    if content is not None:
        (tmp_path / "source-crs").mkdir()
        (tmp_path / "source-crs" / "TunedPerformancePatch.yaml").write_text(content)
    for layout in ("flat", "directory"):
        tuning, where = policygen.detect_reference_tuning(str(tmp_path), layout)
        assert tuning == policygen.REFERENCE_TUNING[layout] and where is None
    spec, text = policygen.plan_worker(params(path=str(tmp_path / "w.yaml")), "")
    assert [p["name"] for p in yaml.safe_load(text)["spec"]["sourceFiles"][2]["spec"]["profile"]] == ["performance-patch-worker"]


# --- removal of a worker policy template with a cluster's last worker --------------------------------------------

def test_remove_kustomization_entry_keeps_the_rest():
    text = "generators:\n# common\n- common-ranGen.yaml\n- w.yaml  # workers\n\nresources:\n- ns.yaml\n"
    assert policygen.remove_kustomization_entry(text, "w.yaml") == "generators:\n# common\n- common-ranGen.yaml\n\nresources:\n- ns.yaml\n"
    assert policygen.remove_kustomization_entry("generators:\n- ./w.yaml\n- x.yaml\n", "w.yaml") == "generators:\n- x.yaml\n"
    assert policygen.remove_kustomization_entry("resources:\n- ns.yaml\n", "w.yaml") == "resources:\n- ns.yaml\n"


def test_worker_binding_and_selection():
    pgt = policygen.worker_document(policygen.validate_worker(params()))
    assert policygen.worker_binding(pgt) == ({"sites": "example-sno"}, [])
    pg = policygen.worker_document(policygen.validate_worker(params(format="policygenerator")))
    assert policygen.worker_binding(pg) == ({"sites": "example-sno"}, [])
    assert policygen.worker_binding({"kind": "PolicyGenerator", "policyDefaults": {"placement": {"labelSelector": {
        "matchExpressions": [{"key": "group-du-sno", "operator": "Exists"}]}}}}) == ({}, [{"key": "group-du-sno", "operator": "Exists"}])
    excluded = {"kind": "PolicyGenTemplate", "spec": {"bindingRules": {"du": ""}, "bindingExcludedRules": {"sites": "a"}}}
    labels, expressions = policygen.worker_binding(excluded)
    assert policygen.selects({"du": "", "sites": "b"}, labels, expressions)
    assert not policygen.selects({"du": "", "sites": "a"}, labels, expressions)
    assert policygen.selects({"sites": "example-sno", "x": "1"}, {"sites": "example-sno"}, [])
    assert not policygen.selects({"sites": "other"}, {"sites": "example-sno"}, [])
    assert not policygen.selects({"sites": "example-sno"}, {}, [])  # no binding rules bind nothing
    assert policygen.selects({"a": "1"}, {}, [{"key": "a", "operator": "In", "values": ["1", "2"]}])
    assert not policygen.selects({}, {}, [{"key": "a", "operator": "In", "values": ["1"]}])
    assert not policygen.selects({"a": "1"}, {}, [{"key": "a", "operator": "DoesNotExist"}])


def test_remove_worker_files_removes_the_file_and_its_entry(tmp_path):
    folder = tmp_path / "policygentemplates"
    folder.mkdir()
    document = policygen.worker_document(policygen.validate_worker(params()))
    (folder / "example-sno-workers.yaml").write_text(policygen.render(document), encoding="utf-8")
    (folder / "kustomization.yaml").write_text("generators:\n- common.yaml  # keep\n- example-sno-workers.yaml\n", encoding="utf-8")
    policy = {"path": "policygentemplates/example-sno-workers.yaml", "name": "example-sno-workers", "namespace": "ztp-site"}
    shown = policygen.remove_worker_files([policy], str(tmp_path), check_mode=True)
    assert shown["changed"] and (folder / "example-sno-workers.yaml").exists()
    assert sorted(shown["paths"]) == ["policygentemplates/example-sno-workers.yaml", "policygentemplates/kustomization.yaml"]
    done = policygen.remove_worker_files([policy], str(tmp_path))
    assert done["changed"] and done["policies"] == ["example-sno-workers-config-policy"]
    assert not (folder / "example-sno-workers.yaml").exists()
    assert (folder / "kustomization.yaml").read_text(encoding="utf-8") == "generators:\n- common.yaml  # keep\n"
    again = policygen.remove_worker_files([policy], str(tmp_path))
    assert not again["changed"] and again["paths"] == []


def test_remove_worker_files_refuses_a_file_that_is_not_that_worker_policy(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("apiVersion: ran.openshift.io/v1\nkind: PolicyGenTemplate\nmetadata:\n  name: site-a\n  namespace: ztp-site\n",
                    encoding="utf-8")
    kustomization = tmp_path / "kustomization.yaml"
    kustomization.write_text("generators:\n- site.yaml\n", encoding="utf-8")
    policy = {"path": "site.yaml", "name": "example-sno-workers", "namespace": "ztp-site"}
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as error:
        policygen.remove_worker_files([policy], str(tmp_path))
    assert "PolicyGenTemplate site-a in namespace ztp-site" in str(error.value) and "it is not removed" in str(error.value)
    assert site.exists() and kustomization.read_text(encoding="utf-8") == "generators:\n- site.yaml\n"


# ---- namespaces of new worker policies ------------------------------------------------------------------------------

SEED_NS_LIST = """# Namespaces of the root policies.
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: ztp-common
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: ztp-site
"""


def _repo(tmp_path, ns_text=SEED_NS_LIST):
    pgt = tmp_path / "policygentemplates"
    pgt.mkdir()
    (pgt / "kustomization.yaml").write_text("generators:\n  - site.yaml\nresources:\n  - ns.yaml\n  - ../policygenerator\n")
    (pgt / "ns.yaml").write_text(ns_text)
    pg = tmp_path / "policygenerator"
    pg.mkdir()
    (pg / "kustomization.yaml").write_text("generators:\n  - group.yaml\n")
    return str(tmp_path)


def test_declared_namespaces_read_the_resources_of_every_kustomization(tmp_path):
    repo = _repo(tmp_path)
    assert policygen.declared_namespaces(repo) == {"ztp-common": "policygentemplates/ns.yaml",
                                                   "ztp-site": "policygentemplates/ns.yaml"}


def test_a_new_namespace_goes_into_the_list_that_declares_the_others(tmp_path):
    repo = _repo(tmp_path)
    declared = policygen.declared_namespaces(repo)
    # the PolicyGenerator folder declares none: the repository's namespace file is used, not a second one
    path, created = policygen.namespace_file(repo, os.path.join(repo, "policygenerator", "w.yaml"), declared)
    assert (path, created) == (os.path.join(repo, "policygentemplates", "ns.yaml"), False)
    text = policygen.add_namespace_text(SEED_NS_LIST, "ztp-workers", where=path)
    assert text.startswith(SEED_NS_LIST)  # comments and the other items kept
    doc = yaml.safe_load(text)
    kinds = ["Namespace", "Namespace", "Namespace", "ManagedClusterSetBinding"]
    assert doc["kind"] == "List" and [i["kind"] for i in doc["items"]] == kinds
    assert doc["items"][2] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ztp-workers"}}
    assert doc["items"][3] == {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSetBinding",
                               "metadata": {"name": "global", "namespace": "ztp-workers"}, "spec": {"clusterSet": "global"}}
    assert policygen.add_namespace_text(text, "ztp-workers") == text  # already declared: unchanged


def test_a_new_namespace_is_appended_as_documents_to_a_multi_document_file():
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ztp-site\n"
    out = policygen.add_namespace_text(text, "ztp-workers")
    docs = list(yaml.safe_load_all(out))
    assert out.startswith(text + "---\n")
    assert [(d["kind"], d["metadata"].get("namespace", d["metadata"]["name"])) for d in docs] == [
        ("Namespace", "ztp-site"), ("Namespace", "ztp-workers"), ("ManagedClusterSetBinding", "ztp-workers")]


def test_without_any_namespace_file_a_new_ns_yaml_is_listed_under_resources(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    path, created = policygen.namespace_file(str(tmp_path), str(folder / "w.yaml"), {})
    assert (path, created) == (str(folder / "ns.yaml"), True)
    assert [d["kind"] for d in yaml.safe_load_all(policygen.add_namespace_text("", "ztp-workers"))] == [
        "Namespace", "ManagedClusterSetBinding"]
    text = "# policies\ngenerators:\n  - w.yaml\n"
    out = policygen.add_kustomization_resource(text, "ns.yaml")
    assert out.startswith(text) and yaml.safe_load(out)["resources"] == ["ns.yaml"]
    assert policygen.add_kustomization_resource(out, "ns.yaml") == out
