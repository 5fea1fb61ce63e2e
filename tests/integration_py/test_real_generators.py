"""The collection's own GitOps output checked by the real upstream ZTP generators (or the documented fallback).

Inputs are what the collection writes: ``siteconfig.set_node`` applied to copies of the upstream SiteConfig and
ClusterInstance examples, the worker PolicyGenTemplate/PolicyGenerator text of ``policygen`` for several hardware
profiles, and ``policygen.selector_overrides`` applied to the upstream group templates. The upstream files are read
at test time from ``<shared>/ztp-reference`` (see docs/generators.md), never copied into the repository.

Each generator test runs the real binary built by ``testhub/build-generators.sh`` when it exists. When a
generator could not be built, the test runs the fallback of docs/generators.md instead and says so in the
test output ("FALLBACK ..." lines and a GeneratorFallbackWarning); without generator and fallback data the
test fails. Rendered objects are then sent to a real kube-apiserver with the real CRDs (server-side dry run),
and the hub simulator's pure rendering functions are compared with the generator (or its model).

Run: PYTHONPATH=.collections python -m pytest -q tests/integration_py/test_real_generators.py
"""

from __future__ import annotations

import copy
import importlib
import os
import shutil
import sys
import tempfile
import warnings

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import generators as gen  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator import argocd_clusters  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator import pgt_render  # noqa: E402  pylint: disable=wrong-import-position

MU = "ansible_collections.ztp.sno_expand.plugins.module_utils"
cpuset = importlib.import_module(MU + ".cpuset")
siteconfig = importlib.import_module(MU + ".siteconfig")
policygen = importlib.import_module(MU + ".policygen")

HUB_PORT_BASE = 21440
V1, V2 = "ran.openshift.io/v1", "ran.openshift.io/v2"

# upstream example files (relative to <shared>/ztp-reference/examples)
SITECONFIG_EXAMPLE = "siteconfig/example-sno.yaml"
SITECONFIG_CLUSTER = "example-sno"
CLUSTERINSTANCE_EXAMPLE = "clusterinstance/example-sno.yaml"
CLUSTERINSTANCE_CLUSTER = "example-ai-sno"
GROUP_TEMPLATES = {
    "pgt-flat": "policygentemplates/group-du-sno-ranGen.yaml",
    "pgt-directory": "policygentemplates/telco-reference-release-4.20/group-du-sno-ranGen.yaml",
    "pg-flat": "acmpolicygenerator/acm-group-du-sno-ranGen.yaml",
}

# worker node entries given to siteconfig.set_node: one with every commonly used field, one minimal without nodeNetwork
WORKERS = [
    {"hostName": "example-node2.example.com", "role": "worker",
     "bmcAddress": "idrac-virtualmedia+https://[1111:2222:3333:4444::bbbb:2]/redfish/v1/Systems/System.Embedded.1",
     "bmcCredentialsName": {"name": "example-node2-bmh-secret"}, "bootMACAddress": "AA:BB:CC:DD:EE:22",
     "bootMode": "UEFISecureBoot", "automatedCleaningMode": "metadata",
     "rootDeviceHints": {"deviceName": "/dev/disk/by-path/pci-0000:01:00.0-scsi-0:2:0:0"},
     "nodeLabels": {"node-role.kubernetes.io/worker-du": ""},
     "nodeNetwork": {
         "interfaces": [{"name": "eno1", "macAddress": "AA:BB:CC:DD:EE:22"}],
         "config": {"interfaces": [{"name": "eno1", "type": "ethernet", "state": "up", "ipv4": {"enabled": False},
                                    "ipv6": {"enabled": True, "address": [{"ip": "1111:2222:3333:4444::aaaa:2", "prefix-length": 64}]}}],
                    "dns-resolver": {"config": {"search": ["example.com"], "server": ["1111:2222:3333:4444::2"]}},
                    "routes": {"config": [{"destination": "::/0", "next-hop-interface": "eno1",
                                           "next-hop-address": "1111:2222:3333:4444::1", "table-id": 254}]}}}},
    {"hostName": "example-node3.example.com", "role": "worker",
     "bmcAddress": "redfish-virtualmedia+https://192.0.2.13/redfish/v1/Systems/1",
     "bmcCredentialsName": {"name": "example-node3-bmh-secret"}, "bootMACAddress": "AA:BB:CC:DD:EE:33",
     "ironicInspect": "disabled", "installerArgs": '["--append-karg", "nameserver=8.8.8.8"]',
     "rootDeviceHints": {"hctl": "1:0:0:0", "minSizeGigabytes": 200}},
]

# ztp_policygen_worker options per hardware profile; non-contiguous CPU sets included on purpose
WORKER_BASE = {"name": "example-sno-workers", "namespace": "ztp-example-sno", "binding_rules": {"sites": "example-sno"}}
PROFILES = {
    "contiguous-48": {"reserved_cpus": "0-3", "isolated_cpus": "4-47", "cpu_count": 48,
                      "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 32}]}},
    "split-64": {"reserved_cpus": "0-1,32-33", "isolated_cpus": "2-31,34-63", "cpu_count": 64, "policy_name": "worker-policy",
                 "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 16, "node": 0}]}},
    "split-ht-16": {"reserved_cpus": "0,8", "isolated_cpus": "1-7,9-15", "cpu_count": 16, "realtime_kernel": False,
                    "extra_tuned": {"sysctl": ["kernel.sched_rt_runtime_us=-1"]},
                    "hugepages": {"default_size": "2M", "pages": [{"size": "2M", "count": 1024}]}},
    "split-64-directory": {"reserved_cpus": "0-1,32-33", "isolated_cpus": "2-31,34-63", "source_cr_layout": "directory",
                           "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 32}]}},
}
FORMATS = (policygen.PGT, policygen.PG)


class GeneratorFallbackWarning(UserWarning):
    """A real generator is unavailable and the documented fallback ran in its place."""


# ------------------------------------------------------------------------------------------ backends

def _announce(request, text: str) -> None:
    line = "FALLBACK (docs/generators.md): " + text
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(line, yellow=True, bold=True)
    warnings.warn(line, GeneratorFallbackWarning, stacklevel=2)


def _source_dirs() -> list[str]:
    """The source CRs the ztp-site-generate container ships: cnf-features-deploy names, then the telco-reference tree."""
    ref = os.path.join(gen.reference_dir(), "source-crs")
    if not os.path.isdir(ref):
        pytest.fail(f"neither the real generators nor the fallback reference data are available ({ref} missing)")
    return [ref, os.path.join(ref, "telco-reference-main")]


@pytest.fixture(name="siteconfig_backend")
def fixture_siteconfig_backend(request):
    """('real'|'fallback', render(path) -> list[dict])."""
    reason = gen.unavailable_reason("siteconfig-generator")
    if reason is None:
        return "real", lambda path: gen.run_siteconfig([path])
    try:
        gen.golden_siteconfig_outputs()
    except FileNotFoundError as err:
        pytest.fail(f"SiteConfig generator unavailable ({reason}) and no fallback data: {err}")
    _announce(request, "SiteConfig generator not built: " + reason.splitlines()[0]
              + " -- rendering with the reference model checked against the upstream golden outputs")

    def render(path):
        with open(path, encoding="utf-8") as handle:
            return [obj for doc in yaml.safe_load_all(handle) if doc for obj in gen.model_siteconfig_nodes(doc)]
    return "fallback", render


@pytest.fixture(name="pgt_backend")
def fixture_pgt_backend(request):
    """('real'|'fallback', render(path, kustomize_dir) -> list[dict])."""
    reason = gen.unavailable_reason("policygenerator")
    if reason is None:
        return "real", lambda path, kdir: gen.run_policygentemplate([path], _merged_source_dir(kdir))
    dirs = _source_dirs()
    _announce(request, "PolicyGenTemplate generator not built: " + reason.splitlines()[0]
              + " -- rendering with the reference model of the documented PGT rules")

    def render(path, kdir):
        return gen.model_policygentemplate(_load(path), [os.path.join(kdir, "source-crs")] + dirs)
    return "fallback", render


@pytest.fixture(name="pg_backend")
def fixture_pg_backend(request):
    """('real'|'fallback', render(path, kustomize_dir) -> list[dict])."""
    reason = gen.unavailable_reason("PolicyGenerator")
    if reason is None:
        return "real", gen.run_policygenerator
    _source_dirs()
    _announce(request, "ACM PolicyGenerator plugin not built: " + reason.splitlines()[0]
              + " -- rendering with the reference model of the documented PolicyGenerator rules")

    def render(path, kdir):
        return gen.model_policygenerator(_load(path), kdir)
    return "fallback", render


def _merged_source_dir(kdir: str) -> str:
    """The real PGT CLI takes one -sourcePath: upstream source-crs overlaid with the repo's own source-crs/."""
    out = tempfile.mkdtemp(prefix="ztp-srccrs-")
    shutil.copytree(gen.data_dir("ztp/source-crs"), out, dirs_exist_ok=True)
    own = os.path.join(kdir, "source-crs")
    if os.path.isdir(own):
        shutil.copytree(own, out, dirs_exist_ok=True)
    return out


# ------------------------------------------------------------------------------------------ inputs

def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d]
    assert len(docs) == 1, f"{path}: expected one YAML document, found {len(docs)}"
    return docs[0]


def _example_text(rel: str) -> str:
    """Text of an upstream example file (``<shared>/ztp-reference/examples/<rel>``); missing data fails the test."""
    path = os.path.join(gen.reference_dir(), "examples", rel)
    if not os.path.isfile(path):
        pytest.fail(f"upstream reference file missing: {path} (docs/generators.md, fallback data)")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _siteconfig_example(api_version: str) -> str:
    """The upstream SNO SiteConfig example; for v2 the same file with its apiVersion line changed (no v2 SNO example exists)."""
    text = _example_text(SITECONFIG_EXAMPLE)
    assert text.count(f"apiVersion: {V1}\n") == 1
    return text.replace(f"apiVersion: {V1}\n", f"apiVersion: {api_version}\n")


def _with_workers(text: str, cluster: str, expected_format: str) -> tuple[str, list[dict]]:
    """``siteconfig.set_node`` for every worker of WORKERS; the new text and the entries the collection wrote."""
    entries = []
    for node in WORKERS:
        text, entry, fmt, warns = siteconfig.set_node(text, cluster, copy.deepcopy(node))
        assert fmt == expected_format and not warns
        entries.append(entry)
    again, _entry, _fmt, _warns = siteconfig.set_node(text, cluster, copy.deepcopy(WORKERS[-1]))
    assert again == text, "set_node is not idempotent"
    return text, entries


def _worker_text(profile: str, fmt: str) -> tuple[dict, str]:
    """(validated spec, file text) of the worker policy file ztp_policygen_worker writes for one profile."""
    params = dict(WORKER_BASE, format=fmt, **copy.deepcopy(PROFILES[profile]))
    spec = policygen.validate_worker(params)
    return spec, policygen.render(policygen.worker_document(spec))


def _kustomize_dir(files: dict[str, str], with_source_crs: bool) -> str:
    """A temporary kustomization folder with the given file texts (and the upstream source CRs, both layouts, when asked)."""
    files = dict(files)
    files["kustomization.yaml"] = yaml.safe_dump({"generators": sorted(files)})
    root = gen.write_temp_tree(files)
    if with_source_crs:
        dest = os.path.join(root, "source-crs")
        for src in reversed(_source_dirs()):
            shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("telco-reference-*"))
    return root


def _by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def _templates_by_kind(policies: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for pol in policies:
        for tmpl in gen.object_templates(pol):
            out.setdefault(tmpl["objectDefinition"]["kind"], []).append(tmpl)
    return out


def _no_placeholders(obj, where="") -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert "$" not in str(key), f"placeholder key {key!r} left at {where}"
            _no_placeholders(value, f"{where}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _no_placeholders(value, f"{where}[{i}]")
    elif isinstance(obj, str):
        assert not obj.startswith("$"), f"placeholder value {obj!r} left at {where}"


def _differences(got, want, path="") -> list[str]:
    """Dotted paths at which two rendered values differ."""
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for key in sorted(set(got) | set(want), key=str):
            if key not in got or key not in want:
                out.append(f"{path}.{key}: {'missing' if key not in got else 'unexpected'}")
            else:
                out.extend(_differences(got[key], want[key], f"{path}.{key}"))
        return out
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


# ------------------------------------------------------------------------------------------ hub

@pytest.fixture(scope="module", name="hub_api")
def fixture_hub_api():
    """A real kube-apiserver with the real CRDs (testhub.hubctl.Hub on its own ports, no simulator)."""
    hubctl = importlib.import_module("testhub.hubctl")
    run_dir = tempfile.mkdtemp(prefix="ztp-gen-hub-")
    hub = hubctl.Hub(run_dir, port_base=HUB_PORT_BASE, crds="upstream", simulator=False)
    try:
        hub.start()
    except Exception:
        hub.stop()
        raise
    try:
        yield hub.api_client("hub")
    finally:
        hub.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def _dry_run(api, obj: dict) -> None:
    """Server-side dry-run create; the namespace is created for real first."""
    from kubernetes import dynamic  # pylint: disable=import-outside-toplevel
    from kubernetes.client import ApiException  # pylint: disable=import-outside-toplevel
    client = dynamic.DynamicClient(api)
    resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    ns = obj["metadata"].get("namespace") if resource.namespaced else None
    if ns:
        try:
            client.resources.get(api_version="v1", kind="Namespace").create(body={"metadata": {"name": ns}})
        except ApiException as err:
            if err.status != 409:
                raise
    body = copy.deepcopy(obj)
    try:
        resource.create(body=body, namespace=ns, query_params=[("dryRun", "All"), ("fieldValidation", "Strict")])
    except ApiException as err:
        raise AssertionError(f"the API server rejected {obj['kind']} {obj['metadata'].get('name')}: {err.body}") from err


def _dry_run_policies(api, policies: list[dict]) -> None:
    for pol in _by_kind(policies, "Policy"):
        _dry_run(api, pol)
        for tmpl in gen.object_templates(pol):
            _dry_run(api, tmpl["objectDefinition"])


# ------------------------------------------------------------------------------------------ SiteConfig

NODE_KINDS = ("BareMetalHost", "NMStateConfig")


def _node_objects(objs: list[dict]) -> dict[tuple, dict]:
    """{(kind, namespace, name): object} of the BareMetalHost and NMStateConfig objects."""
    out = {}
    for obj in objs:
        if obj.get("kind") in NODE_KINDS:
            key = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
            assert key not in out, f"{key} rendered twice"
            out[key] = obj
    return out


def _compared_fields(obj: dict) -> dict:
    """Every field the collection (ztp_install_wait) and the simulator read from a rendered BMH/NMStateConfig."""
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta.get("name"), "namespace": meta.get("namespace"),
            "labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}, "spec": obj.get("spec") or {}}


def _assert_same_node_objects(got: list[dict], want: list[dict], where: str) -> None:
    got_objs, want_objs = _node_objects(got), _node_objects(want)
    assert sorted(got_objs) == sorted(want_objs), f"{where}: different BareMetalHost/NMStateConfig objects"
    problems = []
    for key, obj in want_objs.items():
        problems.extend(f"{key[0]} {key[2]}{diff}" for diff in _differences(_compared_fields(got_objs[key]), _compared_fields(obj)))
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)


def _golden_node_input(bmh: dict, nmstate: dict | None) -> dict:
    """The SiteConfig node entry implied by a golden BareMetalHost/NMStateConfig pair (defaults left out)."""
    ann, spec = bmh["metadata"]["annotations"], bmh["spec"]
    node = {"hostName": bmh["metadata"]["name"]}
    if ann["bmac.agent-install.openshift.io/role"] != "master":
        node["role"] = ann["bmac.agent-install.openshift.io/role"]
    prefix = "bmac.agent-install.openshift.io.node-label."
    labels = {k[len(prefix):]: v for k, v in ann.items() if k.startswith(prefix)}
    if labels:
        node["nodeLabels"] = labels
    for key, field in (("bmac.agent-install.openshift.io/installer-args", "installerArgs"),
                       ("bmac.agent-install.openshift.io/ignition-config-overrides", "ignitionConfigOverride")):
        if key in ann:
            node[field] = ann[key]
    if ann.get("inspect.metal3.io") == "disabled":
        node["ironicInspect"] = "disabled"
    if spec.get("bmc", {}).get("address"):
        node["bmcAddress"] = spec["bmc"]["address"]
    if spec.get("bmc", {}).get("credentialsName"):
        node["bmcCredentialsName"] = {"name": spec["bmc"]["credentialsName"]}
    for field in ("bootMACAddress", "rootDeviceHints", "userData"):
        if field in spec:
            node[field] = spec[field]
    if spec.get("bootMode") != "UEFI":
        node["bootMode"] = spec["bootMode"]
    if spec.get("automatedCleaningMode") != "disabled":
        node["automatedCleaningMode"] = spec["automatedCleaningMode"]
    if nmstate:
        node["nodeNetwork"] = dict(nmstate["spec"])
    return node


def _golden_sites() -> list[tuple[str, dict, list[dict]]]:
    """(golden file, the SiteConfig implied by its nodes, the golden documents) per golden output file.

    Every node of a golden cluster goes into one SiteConfig (masters included, so that it is a valid one); the
    apiVersion is v2 when the golden AgentClusterInstall uses ``manifestsConfigMapRefs``.
    """
    out = []
    for name, docs in gen.golden_siteconfig_outputs().items():
        nmstates = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in _by_kind(docs, "NMStateConfig")}
        clusters: dict[str, list[dict]] = {}
        for bmh in _by_kind(docs, "BareMetalHost"):
            meta = bmh["metadata"]
            clusters.setdefault(meta["namespace"], []).append(_golden_node_input(bmh, nmstates.get((meta["namespace"], meta["name"]))))
        aci = _by_kind(docs, "AgentClusterInstall")[0]
        api = V2 if "manifestsConfigMapRefs" in aci["spec"] else V1
        doc = {"apiVersion": api, "kind": "SiteConfig", "metadata": {"name": name, "namespace": name},
               "spec": {"clusterImageSetNameRef": aci["spec"]["imageSetRef"]["name"],
                        "clusters": [{"clusterName": cname, "nodes": nodes} for cname, nodes in clusters.items()]}}
        out.append((name, doc, docs))
    return out


def test_reference_model_reproduces_upstream_golden_outputs():
    """The fallback SiteConfig model renders exactly the BMH/NMStateConfig objects of the real generator's golden files."""
    compared = 0
    for name, doc, docs in _golden_sites():
        got, want = _node_objects(gen.model_siteconfig_nodes(doc)), _node_objects(docs)
        assert got == want, f"{name}: the model differs from the real generator"
        compared += len(_by_kind(docs, "BareMetalHost"))
    assert compared >= 8, f"only {compared} golden BareMetalHosts compared"


def test_golden_worker_bmh_shape():
    """Golden worker BMHs: the role annotation, wave 3, infraenv label; no worker in an SNO golden output is a master."""
    workers = [b for docs in gen.golden_siteconfig_outputs().values() for b in _by_kind(docs, "BareMetalHost")
               if b["metadata"]["annotations"]["bmac.agent-install.openshift.io/role"] == "worker"]
    assert workers, "the golden outputs contain no worker BareMetalHost"
    for bmh in workers:
        meta = bmh["metadata"]
        assert meta["annotations"][gen.WAVE_ANNOTATION] == "3"
        assert meta["annotations"]["bmac.agent-install.openshift.io/hostname"] == meta["name"]
        assert meta["labels"] == {"infraenvs.agent-install.openshift.io": meta["namespace"]}
        assert bmh["spec"]["online"] is True


def _expected_worker_bmh(entry: dict, cluster: str) -> dict:
    """ztp-formats §2.5: the BareMetalHost of a SiteConfig worker entry."""
    ann = {gen.WAVE_ANNOTATION: "3", gen.GENERATED_ANNOTATION: "{}",
           "bmac.agent-install.openshift.io/hostname": entry["hostName"], "bmac.agent-install.openshift.io/role": "worker"}
    for key, value in (entry.get("nodeLabels") or {}).items():
        ann["bmac.agent-install.openshift.io.node-label." + key] = value
    if entry.get("installerArgs"):
        ann["bmac.agent-install.openshift.io/installer-args"] = entry["installerArgs"]
    if entry.get("ironicInspect") == "disabled":
        ann["inspect.metal3.io"] = "disabled"
    spec = {"automatedCleaningMode": entry.get("automatedCleaningMode", "disabled"), "online": True,
            "bootMode": entry.get("bootMode", "UEFI"), "bootMACAddress": entry["bootMACAddress"],
            "bmc": {"address": entry["bmcAddress"], "credentialsName": entry["bmcCredentialsName"]["name"],
                    "disableCertificateVerification": True}}
    if entry.get("rootDeviceHints"):
        spec["rootDeviceHints"] = entry["rootDeviceHints"]
    return {"apiVersion": "metal3.io/v1alpha1", "kind": "BareMetalHost", "name": entry["hostName"], "namespace": cluster,
            "labels": {"infraenvs.agent-install.openshift.io": cluster}, "annotations": ann, "spec": spec}


def _expected_worker_nmstate(entry: dict, cluster: str) -> dict:
    return {"apiVersion": "agent-install.openshift.io/v1beta1", "kind": "NMStateConfig", "name": entry["hostName"],
            "namespace": cluster, "labels": {"nmstate-label": cluster},
            "annotations": {gen.WAVE_ANNOTATION: "1", gen.GENERATED_ANNOTATION: "{}"},
            "spec": {"config": entry["nodeNetwork"]["config"], "interfaces": entry["nodeNetwork"]["interfaces"]}}


@pytest.mark.parametrize("api_version", [V1, V2])
def test_siteconfig_workers(siteconfig_backend, api_version, hub_api):
    """set_node on the upstream SNO SiteConfig: each worker renders its BMH (and NMStateConfig only with nodeNetwork)
    with the fields of ztp-formats §2.5, nothing else changes, and the hub accepts the worker objects."""
    mode, render = siteconfig_backend
    original = _siteconfig_example(api_version)
    text, entries = _with_workers(original, SITECONFIG_CLUSTER, siteconfig.FORMAT_SITECONFIG_V1 if api_version == V1
                                  else siteconfig.FORMAT_SITECONFIG_V2)
    root = gen.write_temp_tree({"before.yaml": original, "site.yaml": text})
    before, out = render(os.path.join(root, "before.yaml")), render(os.path.join(root, "site.yaml"))
    assert not [d for d in out if "siteConfigError" in d or d.get("kind") == "SiteConfig"]
    hosts = {e["hostName"] for e in entries}
    worker_objs = _node_objects([d for d in out if d["metadata"].get("name") in hosts])
    others = [d for d in out if d["metadata"].get("name") not in hosts]
    assert others == before, f"{mode}: adding workers changed other rendered objects"
    want = {}
    for entry in entries:
        bmh = _expected_worker_bmh(entry, SITECONFIG_CLUSTER)
        want[("BareMetalHost", SITECONFIG_CLUSTER, entry["hostName"])] = bmh
        if entry.get("nodeNetwork"):
            want[("NMStateConfig", SITECONFIG_CLUSTER, entry["hostName"])] = _expected_worker_nmstate(entry, SITECONFIG_CLUSTER)
    assert sorted(worker_objs) == sorted(want), f"{mode}: {sorted(worker_objs)}"
    for key, expected in want.items():
        assert _compared_fields(worker_objs[key]) == expected, f"{mode}: {key}"
    if mode == "real":
        acis = _by_kind(out, "AgentClusterInstall")
        assert acis and acis[0]["spec"]["provisionRequirements"] == {"controlPlaneAgents": 1}
    for obj in worker_objs.values():
        _dry_run(hub_api, obj)


# ------------------------------------------------------------------------------------------ worker policies

def _tuned_profiles(tuned: dict) -> list[str]:
    return [p["name"] for p in tuned["spec"]["profile"]]


def _check_worker_policies(policies: list[dict], spec: dict) -> dict:
    """The rendered worker policy matches the collection's profile; returns the rendered Tuned."""
    pols = _by_kind(policies, "Policy")
    names = policygen.policy_names(spec["name"], spec["policy_name"])
    assert [p["metadata"]["name"] for p in pols] == names
    assert names == [policygen.generated_names(spec["name"], spec["policy_name"], spec["format"])["Policy"]]
    assert pols[0]["metadata"]["namespace"] == spec["namespace"]
    assert pols[0]["metadata"]["annotations"].get(gen.ZTP_WAVE_ANNOTATION) == "10"
    tmpls = _templates_by_kind(pols)
    assert sorted(tmpls) == ["MachineConfig", "PerformanceProfile", "Tuned"]
    assert all(len(t) == 1 for t in tmpls.values())
    reserved, isolated = spec["reserved"], spec["isolated"]
    mc = tmpls["MachineConfig"][0]["objectDefinition"]
    assert mc["metadata"]["name"] == "enable-workload-partitioning"
    assert mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"] == "worker"
    files = gen.machineconfig_files(mc)
    assert sorted(files) == ["/etc/crio/crio.conf.d/01-workload-partitioning", "/etc/kubernetes/openshift-workload-pinning"]
    crio = files["/etc/crio/crio.conf.d/01-workload-partitioning"]
    assert f'"cpuset" = "{reserved}"' in crio and '"cpushares" = 0' in crio
    assert yaml.safe_load(files["/etc/kubernetes/openshift-workload-pinning"]) == {"management": {"cpuset": reserved}}
    pp = tmpls["PerformanceProfile"][0]["objectDefinition"]
    assert pp["apiVersion"] == "performance.openshift.io/v2"
    assert pp["metadata"]["name"] == "openshift-worker-node-performance-profile"
    assert pp["spec"]["cpu"] == {"isolated": isolated, "reserved": reserved}
    assert cpuset.overlap(reserved, isolated) == ""
    assert pp["spec"]["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    assert pp["spec"]["machineConfigPoolSelector"] == {"pools.operator.machineconfiguration.openshift.io/worker": ""}
    assert pp["spec"]["hugepages"] == {"defaultHugepagesSize": spec["hugepages"]["default_size"], "pages": spec["hugepages"]["pages"]}
    assert pp["spec"]["realTimeKernel"] == {"enabled": spec["realtime_kernel"]}
    tuned = tmpls["Tuned"][0]["objectDefinition"]
    assert tuned["metadata"]["name"] == "performance-patch-worker"
    profiles = {p["name"]: p for p in tuned["spec"]["profile"]}
    assert len(profiles) == len(tuned["spec"]["profile"]), f"Tuned profile names repeat: {_tuned_profiles(tuned)}"
    assert len(tuned["spec"]["recommend"]) == 1
    recommend = tuned["spec"]["recommend"][0]
    assert recommend["profile"] == "performance-patch-worker"
    assert recommend["machineConfigLabels"] == {"machineconfiguration.openshift.io/role": "worker"}
    data = profiles[recommend["profile"]]["data"]
    assert data == policygen.tuned_profile_data(isolated, spec["realtime_kernel"], spec["extra_tuned"])
    assert f"cmdline_crash=nohz_full={isolated}\n" in data
    assert "include=openshift-node-performance-openshift-worker-node-performance-profile\n" in data
    assert ("kernel.timer_migration=1" in data) == spec["realtime_kernel"]
    for tmpl in gen.object_templates(pols[0]):
        _no_placeholders(tmpl["objectDefinition"], tmpl["objectDefinition"]["kind"])
    return tuned


def _render_worker(backends: dict, profile: str, fmt: str) -> tuple[dict, list[dict], str]:
    spec, text = _worker_text(profile, fmt)
    kdir = _kustomize_dir({"workers.yaml": text}, with_source_crs=fmt == policygen.PG)
    _mode, render = backends[fmt]
    return spec, render(os.path.join(kdir, "workers.yaml"), kdir), kdir


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_worker_pgt(pgt_backend, profile, hub_api):
    """The worker PolicyGenTemplate of ztp_policygen_worker per profile: exact policy names, MachineConfig files,
    PerformanceProfile and tuned CPU sets; one worker tuned profile (flat layout); the hub accepts everything."""
    spec, out, _kdir = _render_worker({policygen.PGT: pgt_backend}, profile, policygen.PGT)
    tuned = _check_worker_policies(out, spec)
    if spec["source_cr_layout"] == "flat":
        assert _tuned_profiles(tuned) == ["performance-patch-worker"]
    _dry_run_policies(hub_api, out)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_worker_policygenerator(pg_backend, profile, hub_api):
    """The worker ACM PolicyGenerator of ztp_policygen_worker per profile: same checks as the PGT."""
    spec, out, _kdir = _render_worker({policygen.PG: pg_backend}, profile, policygen.PG)
    _check_worker_policies(out, spec)
    _dry_run_policies(hub_api, out)


@pytest.mark.parametrize("profile", ["contiguous-48", "split-64-directory"])
def test_worker_policygenerator_single_tuned_profile(pg_backend, profile):
    """The worker PolicyGenerator renders a Tuned with only the worker profile, as the PGT does: kustomize merges the
    profile list by name, so the source profiles (the master's names) must be deleted by the patch."""
    _spec, out, _kdir = _render_worker({policygen.PG: pg_backend}, profile, policygen.PG)
    tuned = _templates_by_kind(_by_kind(out, "Policy"))["Tuned"][0]["objectDefinition"]
    assert _tuned_profiles(tuned) == ["performance-patch-worker"]


# ------------------------------------------------------------------------------------------ selector overrides

SELECTOR_FIELDS = {"PtpOperatorConfig": "daemonNodeSelector", "SriovOperatorConfig": "configDaemonNodeSelector"}


def _source_available(entry: dict, fmt: str, kdir: str) -> bool:
    if fmt == policygen.PGT:
        return any(os.path.isfile(os.path.join(d, entry["fileName"])) for d in [os.path.join(kdir, "source-crs")] + _source_dirs())
    return os.path.isfile(os.path.join(kdir, entry["path"]))


def _renderable(doc: dict, fmt: str, kdir: str) -> dict:
    """The document with only the entries whose source CR is in the reference set (the upstream group templates name
    more source CRs than the reference data holds; the entries the collection edits must all be there)."""
    doc = copy.deepcopy(doc)
    if fmt == policygen.PGT:
        doc["spec"]["sourceFiles"] = [e for e in doc["spec"]["sourceFiles"] if _source_available(e, fmt, kdir)]
    else:
        for pol in doc["policies"]:
            pol["manifests"] = [m for m in pol["manifests"] if _source_available(m, fmt, kdir)]
        doc["policies"] = [p for p in doc["policies"] if p["manifests"]]
    return doc


def _group_with_selectors(template: str) -> tuple[str, dict, list[dict], str, set[str]]:
    """selector_overrides on an upstream group template: (format, renderable document, changes, kustomize dir,
    names of the policies the changed entries belong to, as the generator names them)."""
    text = _example_text(GROUP_TEMPLATES[template])
    new_text, changes = policygen.selector_overrides(text)
    assert sorted({c["selector"] for c in changes}) == ["ptp", "sriov"], changes
    assert policygen.selector_overrides(new_text)[1] == [], "selector_overrides is not idempotent"
    doc = yaml.safe_load(new_text)
    fmt = policygen.PGT if doc["kind"] == "PolicyGenTemplate" else policygen.PG
    kdir = _kustomize_dir({}, with_source_crs=fmt == policygen.PG)
    for change in changes:
        entry = {"fileName" if fmt == policygen.PGT else "path": change["source"]}
        assert _source_available(entry, fmt, kdir), f"the reference data lacks the source CR of changed entry {change}"
    if fmt == policygen.PGT:
        names = {f"{doc['metadata']['name']}-{c['policy']}" for c in changes}
    else:
        names = {c["policy"] for c in changes}
    renderable = _renderable(doc, fmt, kdir)
    with open(os.path.join(kdir, "group.yaml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(renderable, handle, sort_keys=False)
    return fmt, renderable, changes, kdir, names


def _check_selector_policies(policies: list[dict], names: set[str]) -> None:
    """The PTP/SR-IOV operator configs render mustonlyhave with only the worker selector, in exactly the policies
    the collection reported."""
    found = {}
    for pol in _by_kind(policies, "Policy"):
        for tmpl in gen.object_templates(pol):
            kind = tmpl["objectDefinition"]["kind"]
            if kind in SELECTOR_FIELDS:
                found.setdefault(kind, []).append(pol["metadata"]["name"])
                assert tmpl["complianceType"] == "mustonlyhave", f"{pol['metadata']['name']}: {kind}"
                assert tmpl["objectDefinition"]["spec"][SELECTOR_FIELDS[kind]] == {"node-role.kubernetes.io/worker": ""}
                _no_placeholders(tmpl["objectDefinition"], kind)
    assert sorted(found) == sorted(SELECTOR_FIELDS), f"rendered operator configs: {found}"
    assert {n for pols in found.values() for n in pols} == names


@pytest.mark.parametrize("template", sorted(GROUP_TEMPLATES))
def test_group_selector_overrides(pgt_backend, pg_backend, template, hub_api):
    """selector_overrides on the upstream group templates renders mustonlyhave PTP/SR-IOV configs with only the worker
    selector, in exactly the policies whose names the collection returns; the hub accepts them."""
    fmt, _doc, _changes, kdir, names = _group_with_selectors(template)
    _mode, render = pgt_backend if fmt == policygen.PGT else pg_backend
    out = render(os.path.join(kdir, "group.yaml"), kdir)
    _check_selector_policies(out, names)
    for pol in _by_kind(out, "Policy"):
        if pol["metadata"]["name"] in names:
            _dry_run(hub_api, pol)
            for tmpl in gen.object_templates(pol):
                if tmpl["objectDefinition"]["kind"] in SELECTOR_FIELDS:
                    _dry_run(hub_api, tmpl["objectDefinition"])


# ------------------------------------------------------------------------------------------ differential

@pytest.mark.parametrize("api_version", [V1, V2])
def test_differential_simulator_siteconfig(siteconfig_backend, api_version):
    """argocd_clusters.render_siteconfig agrees with the generator on every BMH/NMStateConfig field of the upstream
    SNO SiteConfig with the collection's workers added."""
    _mode, render = siteconfig_backend
    text, _entries = _with_workers(_siteconfig_example(api_version), SITECONFIG_CLUSTER,
                                   siteconfig.FORMAT_SITECONFIG_V1 if api_version == V1 else siteconfig.FORMAT_SITECONFIG_V2)
    root = gen.write_temp_tree({"site.yaml": text})
    want = render(os.path.join(root, "site.yaml"))
    got = [obj for doc in yaml.safe_load_all(text) if doc for obj in argocd_clusters.render_siteconfig(doc)]
    assert len(_node_objects(want)) == 5
    _assert_same_node_objects(got, want, api_version)


def test_differential_simulator_golden():
    """argocd_clusters.render_siteconfig renders the golden inputs' nodes as the real generator did."""
    compared = 0
    for name, doc, docs in _golden_sites():
        _assert_same_node_objects(argocd_clusters.render_siteconfig(copy.deepcopy(doc)), docs, name)
        compared += len(_by_kind(docs, "BareMetalHost"))
    assert compared >= 8


def test_simulator_clusterinstance_workers(hub_api):
    """argocd_clusters.render_clusterinstance on the upstream SNO ClusterInstance with the collection's workers: per
    worker an InfraEnv <hostName>, the NMStateConfig and BMH labelled for it (ztp-formats §3); the hub accepts them."""
    text, entries = _with_workers(_example_text(CLUSTERINSTANCE_EXAMPLE), CLUSTERINSTANCE_CLUSTER, siteconfig.FORMAT_CLUSTERINSTANCE)
    docs = [d for d in yaml.safe_load_all(text) if d]
    objs = [obj for doc in docs for obj in argocd_clusters.render_clusterinstance(doc)]
    cluster = CLUSTERINSTANCE_CLUSTER
    for entry in entries:
        host = entry["hostName"]
        assert entry["templateRefs"] == [{"name": "ai-node-templates-v1", "namespace": "open-cluster-management"}]
        mine = {o["kind"]: o for o in objs if o["metadata"]["name"] == host}
        assert sorted(mine) == sorted(["InfraEnv", "BareMetalHost"] + (["NMStateConfig"] if entry.get("nodeNetwork") else []))
        assert all(o["metadata"]["namespace"] == cluster for o in mine.values())
        assert mine["InfraEnv"]["spec"]["nmStateConfigLabelSelector"] == {"matchLabels": {"nmstate-label": host}}
        bmh = mine["BareMetalHost"]
        assert bmh["metadata"]["labels"] == {"infraenvs.agent-install.openshift.io": host,
                                             "cluster.open-cluster-management.io/backup": "cluster-activation"}
        expected = _expected_worker_bmh(entry, cluster)
        assert bmh["spec"] == expected["spec"]
        for key in ("bmac.agent-install.openshift.io/hostname", "bmac.agent-install.openshift.io/role"):
            assert bmh["metadata"]["annotations"][key] == expected["annotations"][key]
        assert bmh["metadata"]["annotations"][argocd_clusters.CI_WAVE] == "3"
        if "NMStateConfig" in mine:
            assert mine["NMStateConfig"]["metadata"]["labels"] == {"nmstate-label": host}
            assert mine["NMStateConfig"]["spec"] == {"config": entry["nodeNetwork"]["config"], "interfaces": entry["nodeNetwork"]["interfaces"]}
        for obj in mine.values():
            _dry_run(hub_api, obj)


def _compare_policies(got_docs: list[dict], want_docs: list[dict]) -> None:
    want = {p["metadata"]["name"]: p for p in _by_kind(want_docs, "Policy")}
    got = {p["metadata"]["name"]: p for p in _by_kind(got_docs, "Policy")}
    assert sorted(got) == sorted(want)
    for pname, pol in want.items():
        assert got[pname]["metadata"]["namespace"] == pol["metadata"]["namespace"]
        assert (got[pname]["metadata"].get("annotations") or {}).get(gen.ZTP_WAVE_ANNOTATION) == \
            (pol["metadata"].get("annotations") or {}).get(gen.ZTP_WAVE_ANNOTATION)
        assert [(t["complianceType"], t["objectDefinition"]) for t in gen.object_templates(got[pname])] == \
            [(t["complianceType"], t["objectDefinition"]) for t in gen.object_templates(pol)]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_differential_simulator_worker(pgt_backend, pg_backend, profile, fmt):
    """pgt_render.render_pgt / render_pg agree with the generator on every Policy field the collection reads for the
    worker file, and both name exactly the policies policygen.policy_names returns."""
    spec, want, kdir = _render_worker({policygen.PGT: pgt_backend, policygen.PG: pg_backend}, profile, fmt)
    doc = _load(os.path.join(kdir, "workers.yaml"))
    got = (pgt_render.render_pgt if fmt == policygen.PGT else pgt_render.render_pg)(doc, kdir)
    _compare_policies(got, want)
    assert [p["metadata"]["name"] for p in _by_kind(got, "Policy")] == policygen.policy_names(spec["name"], spec["policy_name"])


@pytest.mark.parametrize("template", sorted(GROUP_TEMPLATES))
def test_differential_simulator_group(pgt_backend, pg_backend, template):
    """pgt_render agrees with the generator on the upstream group templates after selector_overrides."""
    fmt, doc, _changes, kdir, names = _group_with_selectors(template)
    _mode, render = pgt_backend if fmt == policygen.PGT else pg_backend
    want = render(os.path.join(kdir, "group.yaml"), kdir)
    got = (pgt_render.render_pgt if fmt == policygen.PGT else pgt_render.render_pg)(copy.deepcopy(doc), kdir)
    _compare_policies(got, want)
    _check_selector_policies(got, names)


def test_hub_dry_run_rejects_invalid_objects(hub_api):
    """The dry run is real: the BareMetalHost CRD rejects a bootMode outside its enum."""
    bmh = gen.model_siteconfig_nodes({"apiVersion": V2, "kind": "SiteConfig", "spec": {"clusters": [
        {"clusterName": SITECONFIG_CLUSTER, "nodes": [{"hostName": "bad-0", "role": "worker", "bootMode": "bios"}]}]}})[0]
    with pytest.raises(AssertionError, match="rejected BareMetalHost"):
        _dry_run(hub_api, bmh)
