"""The collection's own GitOps output checked by the real upstream ZTP generators.

Inputs are what the collection writes: ``siteconfig.set_node`` applied to copies of the upstream SiteConfig and
ClusterInstance examples, the worker PolicyGenTemplate/PolicyGenerator text of ``policygen.plan_worker`` for several
hardware profiles on both source-CR layouts, and ``policygen.selector_overrides`` applied to the upstream group
templates. The upstream files are read at test time from ``<shared>/ztp-reference`` and the generators are built by
``testhub/build-generators.sh`` from ``<shared>/generators`` (see docs/generators.md), never copied into the
repository. When the generator sources exist and the build fails, every test here fails with the build's error.
Rendered objects are sent to a real kube-apiserver with the real CRDs (server-side dry run), and the hub
simulator's pure rendering functions are compared with the real generators, field by field.

Run: python -m pytest -q tests/integration_py/test_real_generators.py
"""

from __future__ import annotations

import copy
import importlib
import os
import shutil
import sys
import tempfile

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import generators as gen  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator import argocd_clusters  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator import pgt_render  # noqa: E402  pylint: disable=wrong-import-position

MU = "ansible_collections.ztp.sno_expand.plugins.module_utils"
cpuset = importlib.import_module(MU + "._cpuset")
siteconfig = importlib.import_module(MU + "._siteconfig")
policygen = importlib.import_module(MU + "._policygen")

V1, V2 = "ran.openshift.io/v1", "ran.openshift.io/v2"

# upstream example files (relative to <shared>/ztp-reference/examples)
SITECONFIG_EXAMPLE = "siteconfig/example-sno.yaml"
SITECONFIG_CLUSTER = "example-sno"
CLUSTERINSTANCE_EXAMPLE = "clusterinstance/example-sno.yaml"
CLUSTERINSTANCE_CLUSTER = "example-ai-sno"
# source-CR sets a repository copies into source-crs/: the flat files of ztp-site-generate 4.19 and older, and the tree
# of 4.20 (telco-reference, with the legacy flat names linked by the upstream script)
SOURCE_SETS = ("flat-4.19", "tree-4.20")
GROUP_TEMPLATES = {
    "pgt-flat": ("policygentemplates/group-du-sno-ranGen.yaml", "flat-4.19"),
    "pgt-directory": ("policygentemplates/telco-reference-release-4.20/group-du-sno-ranGen.yaml", "tree-4.20"),
    "pg-flat": ("acmpolicygenerator/acm-group-du-sno-ranGen.yaml", "flat-4.19"),
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


# ------------------------------------------------------------------------------------------ generators

@pytest.fixture(scope="session", name="generators_built")
def fixture_generators_built():
    """The real generators (testhub/build-generators.sh; a no-op when cached). Their build error fails the tests."""
    if not gen.sources_present():
        pytest.fail(f"the generator sources are missing: {gen.sources_dir()} (docs/generators.md)")
    try:
        return gen.ensure_built()
    except gen.GeneratorUnavailable as err:
        pytest.fail(f"building the real ZTP generators failed:\n{err}")


@pytest.fixture(name="siteconfig_backend")
def fixture_siteconfig_backend(generators_built):  # pylint: disable=unused-argument
    """('real', render(path) -> list[dict])."""
    return "real", lambda path: gen.run_siteconfig([path])


@pytest.fixture(name="pgt_backend")
def fixture_pgt_backend(generators_built):  # pylint: disable=unused-argument
    """('real', render(path, kustomize_dir) -> list[dict]): the PolicyGenTemplate plugin of the container layout, run in
    the kustomization folder (source CRs from its source-crs/ first, then from the container's 4.20 tree)."""
    return "real", lambda path, kdir: gen.run_policygentemplate([path], cwd=kdir)


@pytest.fixture(name="pg_backend")
def fixture_pg_backend(generators_built):  # pylint: disable=unused-argument
    """('real', render(path, kustomize_dir) -> list[dict]): the ACM PolicyGenerator plugin."""
    return "real", gen.run_policygenerator


def _source_set_dir(source_set: str) -> str:
    """The folder a repository copies into source-crs/ for a source-CR set."""
    if source_set == "flat-4.19":
        ref = os.path.join(gen.reference_dir(), "source-crs")
        if not os.path.isdir(ref):
            pytest.fail(f"upstream reference source CRs missing: {ref}")
        return ref
    return gen.container_source_crs()


def _copy_source_set(source_set: str, dest: str) -> None:
    shutil.copytree(_source_set_dir(source_set), dest, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("telco-reference-*"))


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
        pytest.fail(f"upstream reference file missing: {path} (docs/generators.md)")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _siteconfig_example(api_version: str) -> str:
    """The upstream SNO SiteConfig example; for v2 the same file with its apiVersion line changed (no v2 SNO example exists)."""
    text = _example_text(SITECONFIG_EXAMPLE)
    assert text.count(f"apiVersion: {V1}\n") == 1
    return text.replace(f"apiVersion: {V1}\n", f"apiVersion: {api_version}\n")


def _clusterinstance_example() -> str:
    """The upstream SNO ClusterInstance example, with ``clusterType: SNO`` (the collection adds workers only to an SNO
    ClusterInstance that says so; the example leaves the field out)."""
    text = _example_text(CLUSTERINSTANCE_EXAMPLE)
    if "\n  clusterType:" not in text:
        assert text.count("\nspec:\n") == 1
        text = text.replace("\nspec:\n", "\nspec:\n  clusterType: SNO\n")
    return text


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


def _layout(profile: str) -> str:
    return PROFILES[profile].get("source_cr_layout", "flat")


def _worker_text(profile: str, fmt: str, kdir: str | None = None) -> tuple[dict, str]:
    """(validated spec, file text) of the worker policy file ztp_policygen_worker writes for one profile; with a
    kustomization folder, as written there (the reference tuning read from its source-crs/)."""
    params = dict(WORKER_BASE, format=fmt, **copy.deepcopy(PROFILES[profile]))
    if kdir is None:
        spec = policygen.validate_worker(params)
        return spec, policygen.render(policygen.worker_document(spec))
    params["path"] = os.path.join(kdir, "workers.yaml")
    return policygen.plan_worker(params, "")


def _kustomize_dir(files: dict[str, str], source_set: str | None) -> str:
    """A temporary kustomization folder with the given file texts and, when asked, a copy of a source-CR set."""
    files = dict(files)
    files["kustomization.yaml"] = yaml.safe_dump({"generators": sorted(files)})
    root = gen.write_temp_tree(files)
    if source_set:
        _copy_source_set(source_set, os.path.join(root, "source-crs"))
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

@pytest.fixture(scope="session", name="hub_api")
def fixture_hub_api():
    """A real kube-apiserver with the real CRDs (testhub.hubctl.Hub on its own ports, no simulator)."""
    hubctl = importlib.import_module("testhub.hubctl")
    run_dir = tempfile.mkdtemp(prefix="ztp-gen-hub-")
    hub = hubctl.Hub(run_dir, port_base=hubctl.free_port_base(), crds="upstream", simulator=False)
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
    """The SiteConfig node model renders exactly the BMH/NMStateConfig objects of the real generator's golden files."""
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
    _check_worker_tuned(tmpls["Tuned"][0]["objectDefinition"], spec)
    for tmpl in gen.object_templates(pols[0]):
        _no_placeholders(tmpl["objectDefinition"], tmpl["objectDefinition"]["kind"])
    return tmpls["Tuned"][0]["objectDefinition"]


def _check_worker_tuned(tuned: dict, spec: dict, source_text: str | None = None) -> None:
    """The rendered worker Tuned holds exactly the worker copies of the reference profiles (of ``source_text``, the
    source CR the generator read, when given), recommended for the worker pool, and none of the master's."""
    reference = spec["reference_tuning"]
    if source_text is not None:
        assert reference == policygen.reference_tuning(source_text), "the worker file was not written for the source CR in use"
    want = policygen.worker_tuning(reference, spec["isolated"], spec["realtime_kernel"], spec["extra_tuned"])
    assert tuned["metadata"]["name"] == "performance-patch-worker"
    assert tuned["metadata"]["namespace"] == "openshift-cluster-node-tuning-operator"
    assert [(p["name"], p["data"]) for p in tuned["spec"]["profile"]] == want["profiles"], f"profiles {_tuned_profiles(tuned)}"
    assert tuned["spec"]["recommend"] == [{"machineConfigLabels": {"machineconfiguration.openshift.io/role": "worker"},
                                          "priority": reference["priority"], "profile": want["recommend"]}]
    master = [name for name, _data in reference["profiles"]]
    assert not set(_tuned_profiles(tuned)) & set(master), "the worker Tuned carries profiles of the master"
    assert _tuned_profiles(tuned) == [name + "-worker" for name in master]
    data = dict(want["profiles"])
    top = data[want["recommend"]]
    assert f"cmdline_crash=nohz_full={spec['isolated']}\n" in top
    assert "include=openshift-node-performance-openshift-worker-node-performance-profile" in top
    assert ("kernel.timer_migration=1" in top) == spec["realtime_kernel"]
    for name, text in data.items():
        assert "openshift-node-performance-openshift-node-performance-profile" not in text, name
        for line in text.splitlines():
            if line.startswith("include="):
                assert not set(line[len("include="):].split(",")) & set(master), f"{name} includes a master profile: {line}"
    # every reference line is kept (only include lines are pointed at the worker's profiles)
    for (name, ref_text), (_wname, text) in zip(reference["profiles"], want["profiles"]):
        kept = [line for line in ref_text.splitlines() if not line.startswith("include=")]
        assert all(line in text.splitlines() for line in kept), name


def _render_worker(backends: dict, profile: str, fmt: str) -> tuple[dict, list[dict], str]:
    """The worker file as the module writes it into a repository with a copy of the source CRs of its layout (flat:
    the pre-4.20 files; directory: the 4.20 tree), rendered by the real generator."""
    kdir = _kustomize_dir({}, "flat-4.19" if _layout(profile) == "flat" else "tree-4.20")
    spec, text = _worker_text(profile, fmt, kdir)
    _write(kdir, "workers.yaml", text)
    _mode, render = backends[fmt]
    return spec, render(os.path.join(kdir, "workers.yaml"), kdir), kdir


def _write(kdir: str, name: str, text: str) -> None:
    with open(os.path.join(kdir, name), "w", encoding="utf-8") as handle:
        handle.write(text)
    with open(os.path.join(kdir, "kustomization.yaml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"generators": [name]}, handle)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_worker_pgt(pgt_backend, profile, hub_api):
    """The worker PolicyGenTemplate of ztp_policygen_worker per profile: exact policy names, MachineConfig files,
    PerformanceProfile and tuned CPU sets; the worker Tuned of the layout's reference; the hub accepts everything."""
    spec, out, _kdir = _render_worker({policygen.PGT: pgt_backend}, profile, policygen.PGT)
    _check_worker_policies(out, spec)
    _dry_run_policies(hub_api, out)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_worker_policygenerator(pg_backend, profile, hub_api):
    """The worker ACM PolicyGenerator of ztp_policygen_worker per profile: same checks as the PGT."""
    spec, out, _kdir = _render_worker({policygen.PG: pg_backend}, profile, policygen.PG)
    _check_worker_policies(out, spec)
    _dry_run_policies(hub_api, out)


# (source-CR set copied into the repository or None for the container's own, layout option of the worker file)
TUNED_CASES = {
    "flat-4.19": ("flat-4.19", "flat"),
    "tree-4.20-legacy-names": ("tree-4.20", "flat"),
    "tree-4.20-directory-names": ("tree-4.20", "directory"),
    "container-4.20-directory-names": (None, "directory"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(TUNED_CASES))
def test_worker_tuned_reference_tuning(pgt_backend, pg_backend, case, fmt, hub_api):
    """The worker Tuned the real generator renders has exactly the worker copies of the source Tuned's profiles (one
    performance-patch profile on the flat pre-4.20 files, the four ran-du-performance profiles at priority 18 on the
    4.20 tree, also under its legacy flat name), the worker selector, and none of the master's profiles."""
    source_set, layout = TUNED_CASES[case]
    if source_set is None and fmt == policygen.PG:
        source_set = "tree-4.20"  # the PolicyGenerator reads manifests from the repository only
    kdir = _kustomize_dir({}, source_set)
    params = dict(WORKER_BASE, format=fmt, reserved_cpus="0-1,32-33", isolated_cpus="2-31,34-63", source_cr_layout=layout,
                  extra_tuned={"sysctl": ["kernel.sched_rt_runtime_us=-1"]},
                  hugepages={"default_size": "1G", "pages": [{"size": "1G", "count": 8}]}, path=os.path.join(kdir, "workers.yaml"))
    spec, text = policygen.plan_worker(params, "")
    _write(kdir, "workers.yaml", text)
    _mode, render = pgt_backend if fmt == policygen.PGT else pg_backend
    out = render(os.path.join(kdir, "workers.yaml"), kdir)
    tuned_file = policygen.SOURCE_CRS[layout]["tuned"]
    source = os.path.join(kdir, "source-crs", tuned_file) if source_set else os.path.join(gen.container_source_crs(), tuned_file)
    with open(source, encoding="utf-8") as handle:
        source_text = handle.read()
    tuned = _templates_by_kind(_by_kind(out, "Policy"))["Tuned"][0]["objectDefinition"]
    _check_worker_tuned(tuned, spec, source_text)
    expected = {"flat-4.19": ["performance-patch-worker"]}.get(
        source_set, ["ran-du-performance-worker", "ran-du-performance-architecture-common-worker",
                     "ran-du-common-aarch64-worker", "ran-du-common-x86-worker"])
    assert _tuned_profiles(tuned) == expected
    assert tuned["spec"]["recommend"][0]["priority"] == (19 if source_set == "flat-4.19" else 18)
    _dry_run(hub_api, tuned)


# ------------------------------------------------------------------------------------------ selector overrides

SELECTOR_FIELDS = {"PtpOperatorConfig": "daemonNodeSelector", "SriovOperatorConfig": "configDaemonNodeSelector"}


def _source_available(entry: dict, fmt: str, kdir: str) -> bool:
    """Whether the generator finds the entry's source CR (PGT: the repository's source-crs/, then the container's)."""
    if fmt == policygen.PGT:
        return any(os.path.isfile(os.path.join(d, entry["fileName"])) for d in (os.path.join(kdir, "source-crs"), gen.container_source_crs()))
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
    rel, source_set = GROUP_TEMPLATES[template]
    text = _example_text(rel)
    new_text, changes, _policies = policygen.selector_overrides(text)
    assert sorted({c["selector"] for c in changes}) == ["ptp", "sriov"], changes
    assert policygen.selector_overrides(new_text)[1] == [], "selector_overrides is not idempotent"
    doc = yaml.safe_load(new_text)
    fmt = policygen.PGT if doc["kind"] == "PolicyGenTemplate" else policygen.PG
    kdir = _kustomize_dir({}, source_set)
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
    text, entries = _with_workers(_clusterinstance_example(), CLUSTERINSTANCE_CLUSTER, siteconfig.FORMAT_CLUSTERINSTANCE)
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


# ------------------------------------------------------------------------------------------ bad input

def test_siteconfig_generator_reports_bad_worker_in_its_output(generators_built):  # pylint: disable=unused-argument
    """A worker entry the collection refuses (ironicInspect outside enabled/disabled) is also what the real generator
    rejects: by default it prints a siteConfigError object in its output, logs the message on stderr and still exits 0
    (so kustomize and ArgoCD succeed); with -stopOnError it exits 1. The good file renders without any error."""
    bad_node = dict(copy.deepcopy(WORKERS[1]), ironicInspect="sometimes")
    with pytest.raises(Exception, match="ironicInspect"):
        siteconfig.set_node(_siteconfig_example(V2), SITECONFIG_CLUSTER, bad_node)
    text, _entries = _with_workers(_siteconfig_example(V2), SITECONFIG_CLUSTER, siteconfig.FORMAT_SITECONFIG_V2)
    assert text.count("ironicInspect: disabled") + text.count('ironicInspect: "disabled"') == 1
    bad = text.replace('ironicInspect: "disabled"', 'ironicInspect: "sometimes"').replace("ironicInspect: disabled", "ironicInspect: sometimes")
    root = gen.write_temp_tree({"good.yaml": text, "bad.yaml": bad})
    good = gen.siteconfig_raw([os.path.join(root, "good.yaml")])
    assert (good.returncode, good.stderr, gen.siteconfig_errors(good.documents)) == (0, "", [])
    run = gen.siteconfig_raw([os.path.join(root, "bad.yaml")])
    assert run.returncode == 0 and "ironicInspect must be either disabled or enabled" in run.stderr
    errors = gen.siteconfig_errors(run.documents)
    assert len(errors) == 1 and "ironicInspect must be either" in errors[0], errors
    assert not _node_objects(run.documents), "a rejected SiteConfig renders no host"
    with pytest.raises(gen.GeneratorError, match="ironicInspect must be either"):
        gen.run_siteconfig([os.path.join(root, "bad.yaml")])
    stop = gen.siteconfig_raw([os.path.join(root, "bad.yaml")], stop_on_error=True)
    assert stop.returncode == 1 and "ironicInspect must be either" in stop.stderr


def test_siteconfig_generator_rejects_a_cluster_without_name(generators_built):  # pylint: disable=unused-argument
    """The generator's own check of the file the collection edits: a cluster without clusterName is a siteConfigError."""
    text, _entries = _with_workers(_siteconfig_example(V1), SITECONFIG_CLUSTER, siteconfig.FORMAT_SITECONFIG_V1)
    doc = yaml.safe_load(text)
    del doc["spec"]["clusters"][0]["clusterName"]
    root = gen.write_temp_tree({"bad.yaml": yaml.safe_dump(doc)})
    run = gen.siteconfig_raw([os.path.join(root, "bad.yaml")])
    assert run.returncode == 0
    assert any("Missing cluster name" in e for e in gen.siteconfig_errors(run.documents)), run.stdout[:500]


def test_pgt_generator_fails_on_a_missing_source_cr(generators_built):  # pylint: disable=unused-argument
    """The PolicyGenTemplate plugin exits non-zero with the missing source CR on stderr and prints nothing; the worker
    file as written renders."""
    kdir = _kustomize_dir({}, "flat-4.19")
    _spec, text = _worker_text("contiguous-48", policygen.PGT, kdir)
    _write(kdir, "workers.yaml", text.replace("fileName: MachineConfigGeneric.yaml", "fileName: NoSuchFile.yaml"))
    run = gen.policygentemplate_raw([os.path.join(kdir, "workers.yaml")], cwd=kdir)
    assert run.returncode != 0 and run.stdout == ""
    assert "NoSuchFile.yaml" in run.stderr and "Could not build the entire policy" in run.stderr, run.stderr
    _write(kdir, "workers.yaml", text)
    assert gen.policygentemplate_raw([os.path.join(kdir, "workers.yaml")], cwd=kdir).returncode == 0


def test_pgt_generator_and_collection_refuse_long_names(generators_built):  # pylint: disable=unused-argument
    """A policy whose namespace.name exceeds 63 characters: the collection refuses it before writing; the generator, given
    the same file, exits non-zero with its 63-character message."""
    name = "w" * 40
    params = dict(WORKER_BASE, name=name, format=policygen.PGT, **copy.deepcopy(PROFILES["contiguous-48"]))
    with pytest.raises(Exception, match="at most 63"):
        policygen.validate_worker(params)
    spec = policygen.validate_worker(dict(params, name="w"))
    doc = policygen.worker_document(spec)
    doc["metadata"]["name"] = name
    kdir = _kustomize_dir({}, "flat-4.19")
    _write(kdir, "workers.yaml", policygen.render(doc))
    run = gen.policygentemplate_raw([os.path.join(kdir, "workers.yaml")], cwd=kdir)
    assert run.returncode != 0 and "63 chars" in run.stderr, run.stderr


def test_policygenerator_plugin_fails_on_a_missing_manifest(generators_built):  # pylint: disable=unused-argument
    """The ACM PolicyGenerator plugin exits non-zero naming the missing manifest path; kustomize passes that on."""
    kdir = _kustomize_dir({}, "flat-4.19")
    _spec, text = _worker_text("contiguous-48", policygen.PG, kdir)
    _write(kdir, "workers.yaml", text.replace("source-crs/MachineConfigGeneric.yaml", "source-crs/NoSuchFile.yaml"))
    run = gen.policygenerator_raw(os.path.join(kdir, "workers.yaml"), kdir)
    assert run.returncode != 0 and "NoSuchFile.yaml" in run.stderr, run.stderr
    build = gen.kustomize_raw(kdir)
    assert build.returncode != 0 and "NoSuchFile.yaml" in build.stderr
    _write(kdir, "workers.yaml", text)
    assert len(_by_kind(gen.kustomize_build(kdir), "Policy")) == 1


# ------------------------------------------------------------------------------------------ models against the real generators

@pytest.mark.parametrize("api_version", [V1, V2])
def test_siteconfig_model_equals_real(siteconfig_backend, api_version):
    """generators.model_siteconfig_nodes (the node model used by the dry-run checks) renders the collection's workers
    and the example's master exactly as the real generator does, field by field."""
    _mode, render = siteconfig_backend
    text, _entries = _with_workers(_siteconfig_example(api_version), SITECONFIG_CLUSTER,
                                   siteconfig.FORMAT_SITECONFIG_V1 if api_version == V1 else siteconfig.FORMAT_SITECONFIG_V2)
    root = gen.write_temp_tree({"site.yaml": text})
    want = render(os.path.join(root, "site.yaml"))
    got = [obj for doc in yaml.safe_load_all(text) if doc for obj in gen.model_siteconfig_nodes(doc)]
    _assert_same_node_objects(got, want, api_version)


def test_golden_sites_render_as_golden_with_the_real_generator(siteconfig_backend):
    """The SiteConfigs rebuilt from the upstream golden outputs render, with the real generator, to the golden hosts."""
    _mode, render = siteconfig_backend
    compared = 0
    for name, doc, docs in _golden_sites():
        root = gen.write_temp_tree({"site.yaml": yaml.safe_dump(doc)})
        _assert_same_node_objects(render(os.path.join(root, "site.yaml")), docs, name)
        compared += len(_by_kind(docs, "BareMetalHost"))
    assert compared >= 8
