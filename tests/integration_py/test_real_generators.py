"""Our generated GitOps files checked by the real upstream ZTP generators (or the documented fallback).

Each generator test runs the real binary built by ``testhub/build-generators.sh`` when it exists. When a
generator could not be built, the test runs the fallback of docs/generators.md instead and says so in the
test output ("FALLBACK ..." lines and a GeneratorFallbackWarning); without generator and fallback data the
test fails. Rendered objects are then sent to a real kube-apiserver with the real CRDs (server-side dry run).

Run: PYTHONPATH=.collections python -m pytest -q tests/integration_py/test_real_generators.py
"""

from __future__ import annotations

import copy
import glob
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

MU = "ansible_collections.ztp.sno_expand.plugins.module_utils"
wp = importlib.import_module(MU + ".workload_partitioning")
cpuset = importlib.import_module(MU + ".cpuset")

CLUSTER = "sno-a"
WORKER = "sno-a-worker-0"
POLICY_NS = "ztp-sno-a-policies"
HUB_PORT_BASE = 21440

# (reserved, isolated) per hardware profile; non-contiguous sets included on purpose
PROFILES = {
    "contiguous-48": ("0-3", "4-47"),
    "split-64": ("0-1,32-33", "2-31,34-63"),
    "split-ht-16": ("0,8", "1-7,9-15"),
}


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
    ref = os.path.join(gen.reference_dir(), "source-crs")
    if not os.path.isdir(ref):
        pytest.fail(f"neither the real generators nor the fallback reference data are available ({ref} missing)")
    return [ref]


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
            return gen.model_siteconfig_nodes(yaml.safe_load(handle))
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
        with open(path, encoding="utf-8") as handle:
            return gen.model_policygentemplate(yaml.safe_load(handle), [os.path.join(kdir, "source-crs")] + dirs)
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
        with open(path, encoding="utf-8") as handle:
            return gen.model_policygenerator(yaml.safe_load(handle), kdir)
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

def _sno_siteconfig(api_version: str) -> dict:
    """An SNO SiteConfig (as in the seed repository) with one added worker, following PROCEDURE.md §4."""
    master = {
        "hostName": "sno-a-master-0", "role": "master",
        "bmcAddress": "idrac-virtualmedia+https://[2001:db8::10]/redfish/v1/Systems/System.Embedded.1",
        "bmcCredentialsName": {"name": "sno-a-master-0-bmc-secret"},
        "bootMACAddress": "0C:42:A1:8A:74:EC", "bootMode": "UEFI",
        "rootDeviceHints": {"deviceName": "/dev/disk/by-path/pci-0000:01:00.0-scsi-0:2:0:0"},
        "nodeNetwork": {"interfaces": [{"name": "eno1", "macAddress": "0C:42:A1:8A:74:EC"}],
                        "config": {"interfaces": [{"name": "eno1", "type": "ethernet", "state": "up",
                                                   "ipv6": {"enabled": True, "address": [{"ip": "2001:db8::10", "prefix-length": 64}]}}]}},
    }
    worker = {
        "hostName": WORKER, "role": "worker",
        "bmcAddress": "idrac-virtualmedia+https://[2001:db8::11]/redfish/v1/Systems/System.Embedded.1",
        "bmcCredentialsName": {"name": f"{WORKER}-bmc-secret"},
        "bootMACAddress": "AA:BB:CC:DD:EE:11", "bootMode": "UEFI",
        "nodeLabels": {"node-role.kubernetes.io/worker-du": ""},
        "nodeNetwork": {"interfaces": [{"name": "eno1", "macAddress": "AA:BB:CC:DD:EE:11"}],
                        "config": {"interfaces": [{"name": "eno1", "type": "ethernet", "state": "up",
                                                   "ipv6": {"enabled": True, "dhcp": False,
                                                            "address": [{"ip": "2001:db8::11", "prefix-length": 64}]}}],
                                   "dns-resolver": {"config": {"server": ["2001:db8::1"]}},
                                   "routes": {"config": [{"destination": "::/0", "next-hop-interface": "eno1",
                                                          "next-hop-address": "2001:db8::1", "table-id": 254}]}}},
    }
    cluster = {"clusterName": CLUSTER, "networkType": "OVNKubernetes", "cpuPartitioningMode": "AllNodes",
               "clusterLabels": {"common": "true", "group-du-sno": "", "sites": CLUSTER},
               "clusterNetwork": [{"cidr": "fd01::/48", "hostPrefix": 64}], "machineNetwork": [{"cidr": "2001:db8::/64"}],
               "serviceNetwork": ["fd02::/112"], "nodes": [master, worker]}
    if api_version.endswith("v1"):
        cluster["extraManifestPath"] = "sno-extra-manifest/"
    return {"apiVersion": api_version, "kind": "SiteConfig", "metadata": {"name": CLUSTER, "namespace": CLUSTER},
            "spec": {"baseDomain": "example.com", "pullSecretRef": {"name": "assisted-deployment-pull-secret"},
                     "clusterImageSetNameRef": "openshift-4.20", "sshPublicKey": "ssh-rsa AAAA test", "clusters": [cluster]}}


def _worker_pgt(name: str, reserved: str, isolated: str) -> dict:
    """The worker PolicyGenTemplate of PROCEDURE.md §3 for one hardware profile (files from the collection's code)."""
    files = [
        {"contents": {"source": wp.data_url(wp.crio_conf(reserved))}, "mode": 420, "overwrite": True,
         "path": "/etc/crio/crio.conf.d/01-workload-partitioning", "user": {"name": "root"}},
        {"contents": {"source": wp.data_url(wp.kubelet_pinning(reserved))}, "mode": 420, "overwrite": True,
         "path": "/etc/kubernetes/openshift-workload-pinning", "user": {"name": "root"}},
    ]
    tuned = ("[main]\nsummary=Configuration changes profile inherited from performance created tuned\n"
             "include=openshift-node-performance-openshift-worker-node-performance-profile\n"
             f"[bootloader]\ncmdline_crash=nohz_full={isolated}\n[sysctl]\nkernel.timer_migration=1\n"
             "[scheduler]\ngroup.ice-ptp=0:f:10:*:ice-ptp.*\n[service]\nservice.stalld=start,enable\nservice.chronyd=stop,disable\n")
    return {"apiVersion": "ran.openshift.io/v1", "kind": "PolicyGenTemplate",
            "metadata": {"name": name, "namespace": POLICY_NS},
            "spec": {"bindingRules": {"sites": CLUSTER}, "mcp": "worker", "sourceFiles": [
                {"fileName": "MachineConfigGeneric.yaml", "policyName": "config-policy",
                 "metadata": {"labels": {"machineconfiguration.openshift.io/role": "worker"}, "name": "enable-workload-partitioning"},
                 "spec": {"config": {"storage": {"files": files}}}},
                {"fileName": "PerformanceProfile.yaml", "policyName": "config-policy",
                 "metadata": {"name": "openshift-worker-node-performance-profile"},
                 "spec": {"cpu": {"isolated": isolated, "reserved": reserved},
                          "hugepages": {"defaultHugepagesSize": "1G", "pages": [{"size": "1G", "count": 32}]}}},
                {"fileName": "TunedPerformancePatch.yaml", "policyName": "config-policy",
                 "metadata": {"name": "performance-patch-worker"},
                 "spec": {"profile": [{"name": "performance-patch-worker", "data": tuned}],
                          "recommend": [{"profile": "performance-patch-worker"}]}},
            ]}}


def _worker_pg(name: str, reserved: str, isolated: str) -> dict:
    """The same worker policy as an ACM PolicyGenerator (the telco-reference worker example's layout)."""
    pgt = _worker_pgt(name, reserved, isolated)
    by_file = {s["fileName"]: s for s in pgt["spec"]["sourceFiles"]}
    mc, pp, tu = by_file["MachineConfigGeneric.yaml"], by_file["PerformanceProfile.yaml"], by_file["TunedPerformancePatch.yaml"]
    # kustomize merges the profile list by name: reuse the source profile's name so that it is replaced,
    # not joined by a second profile (the upstream worker example points recommend at the existing profile)
    tuned_spec = copy.deepcopy(tu["spec"])
    tuned_spec["profile"][0]["name"] = "performance-patch"
    tuned_spec["recommend"] = [{"machineConfigLabels": {"machineconfiguration.openshift.io/role": "worker"},
                                "priority": 19, "profile": "performance-patch"}]
    return {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "PolicyGenerator",
            "metadata": {"name": name},
            "placementBindingDefaults": {"name": f"{name}-placement-binding"},
            "policyDefaults": {"namespace": POLICY_NS, "placement": {"labelSelector": {"sites": CLUSTER}},
                               "remediationAction": "inform", "severity": "low",
                               "namespaceSelector": {"exclude": ["kube-*"], "include": ["*"]},
                               "evaluationInterval": {"compliant": "10m", "noncompliant": "10s"}},
            "policies": [{"name": f"{name}-config-policy", "policyAnnotations": {"ran.openshift.io/ztp-deploy-wave": "10"},
                          "manifests": [
                              {"path": "source-crs/MachineConfigGeneric.yaml",
                               "patches": [{"metadata": mc["metadata"], "spec": mc["spec"]}]},
                              {"path": "source-crs/PerformanceProfile.yaml",
                               "patches": [{"metadata": pp["metadata"], "spec": dict(pp["spec"], **{
                                   "machineConfigPoolSelector": {"$patch": "replace", "pools.operator.machineconfiguration.openshift.io/worker": ""},
                                   "nodeSelector": {"$patch": "replace", "node-role.kubernetes.io/worker": ""}})}]},
                              {"path": "source-crs/TunedPerformancePatch.yaml",
                               "patches": [{"metadata": tu["metadata"], "spec": tuned_spec}]}]}]}


def _group_pgt_with_selectors() -> dict:
    """A group PGT (master mcp) carrying the PTP/SR-IOV selector overrides of PROCEDURE.md §2."""
    return {"apiVersion": "ran.openshift.io/v1", "kind": "PolicyGenTemplate",
            "metadata": {"name": "group-du-sno", "namespace": "ztp-group"},
            "spec": {"bindingRules": {"group-du-sno": ""}, "mcp": "master", "sourceFiles": [
                {"fileName": "PtpOperatorConfig.yaml", "policyName": "config-policy", "complianceType": "mustonlyhave",
                 "spec": {"daemonNodeSelector": {"node-role.kubernetes.io/worker": ""}}},
                {"fileName": "SriovOperatorConfig.yaml", "policyName": "config-policy", "complianceType": "mustonlyhave",
                 "spec": {"configDaemonNodeSelector": {"node-role.kubernetes.io/worker": ""}}},
            ]}}


def _group_pg_with_selectors() -> dict:
    return {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "PolicyGenerator",
            "metadata": {"name": "group-du-sno"},
            "policyDefaults": {"namespace": "ztp-group", "placement": {"labelSelector": {"group-du-sno": ""}},
                               "remediationAction": "inform", "severity": "low"},
            "policies": [{"name": "group-du-sno-config-policy", "policyAnnotations": {"ran.openshift.io/ztp-deploy-wave": "10"},
                          "manifests": [
                              {"path": "source-crs/PtpOperatorConfig-SetSelector.yaml", "complianceType": "mustonlyhave",
                               "patches": [{"spec": {"daemonNodeSelector": {"node-role.kubernetes.io/worker": ""}}}]},
                              {"path": "source-crs/SriovOperatorConfig-SetSelector.yaml", "complianceType": "mustonlyhave",
                               "patches": [{"spec": {"configDaemonNodeSelector": {"node-role.kubernetes.io/worker": ""}}}]}]}]}


def _kustomize_dir(docs: dict[str, dict], with_source_crs: bool) -> str:
    """A temporary kustomization folder with the given files (and the upstream source CRs when asked)."""
    files = {name: yaml.safe_dump(doc, sort_keys=False) for name, doc in docs.items()}
    files["kustomization.yaml"] = yaml.safe_dump({"generators": sorted(docs)})
    root = gen.write_temp_tree(files)
    if with_source_crs:
        src = os.path.join(gen.reference_dir(), "source-crs")
        os.makedirs(os.path.join(root, "source-crs"))
        for path in glob.glob(os.path.join(src, "*.yaml")):
            shutil.copy(path, os.path.join(root, "source-crs"))
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
            assert "$" not in str(key) or key == "$patch", f"placeholder key {key!r} left at {where}"
            _no_placeholders(value, f"{where}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _no_placeholders(value, f"{where}[{i}]")
    elif isinstance(obj, str):
        assert not obj.startswith("$"), f"placeholder value {obj!r} left at {where}"


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


# ------------------------------------------------------------------------------------------ SiteConfig

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


def test_reference_model_reproduces_upstream_golden_outputs():
    """The fallback SiteConfig model renders exactly the BMH/NMStateConfig objects of the real generator's golden files."""
    compared = 0
    for name, docs in gen.golden_siteconfig_outputs().items():
        nmstates = {d["metadata"]["name"]: d for d in _by_kind(docs, "NMStateConfig")}
        for bmh in _by_kind(docs, "BareMetalHost"):
            cname = bmh["metadata"]["namespace"]
            node = _golden_node_input(bmh, nmstates.get(bmh["metadata"]["name"]))
            doc = {"apiVersion": "ran.openshift.io/v2", "kind": "SiteConfig",
                   "spec": {"clusters": [{"clusterName": cname, "nodes": [node]}]}}
            want = [d for d in (nmstates.get(bmh["metadata"]["name"]), bmh) if d]
            got = gen.model_siteconfig_nodes(doc)
            assert got == want, f"{name}: model differs from the real generator for node {bmh['metadata']['name']}"
            compared += 1
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


@pytest.mark.parametrize("api_version", ["ran.openshift.io/v1", "ran.openshift.io/v2"])
def test_siteconfig_worker(siteconfig_backend, api_version, hub_api):
    """The SiteConfig with an added worker renders a worker BMH and NMStateConfig with the expected fields; the hub accepts them."""
    mode, render = siteconfig_backend
    doc = _sno_siteconfig(api_version)
    root = gen.write_temp_tree({"site.yaml": yaml.safe_dump(doc, sort_keys=False)})
    if api_version.endswith("v1"):
        os.makedirs(os.path.join(root, "sno-extra-manifest"))
    out = render(os.path.join(root, "site.yaml"))
    assert not [d for d in out if "siteConfigError" in d or d.get("kind") == "SiteConfig"]
    worker_objs = [d for d in out if d["metadata"].get("name") == WORKER]
    assert sorted(d["kind"] for d in worker_objs) == ["BareMetalHost", "NMStateConfig"], f"{mode}: {worker_objs}"
    bmh = _by_kind(worker_objs, "BareMetalHost")[0]
    nms = _by_kind(worker_objs, "NMStateConfig")[0]
    node = doc["spec"]["clusters"][0]["nodes"][1]
    assert bmh["metadata"]["namespace"] == CLUSTER and nms["metadata"]["namespace"] == CLUSTER
    assert bmh["metadata"]["labels"] == {"infraenvs.agent-install.openshift.io": CLUSTER}
    assert bmh["metadata"]["annotations"] == {
        gen.WAVE_ANNOTATION: "3", gen.GENERATED_ANNOTATION: "{}",
        "bmac.agent-install.openshift.io/hostname": WORKER, "bmac.agent-install.openshift.io/role": "worker",
        "bmac.agent-install.openshift.io.node-label.node-role.kubernetes.io/worker-du": "",
    }
    assert bmh["spec"] == {"automatedCleaningMode": "disabled", "online": True, "bootMode": "UEFI",
                           "bootMACAddress": node["bootMACAddress"],
                           "bmc": {"address": node["bmcAddress"], "credentialsName": node["bmcCredentialsName"]["name"],
                                   "disableCertificateVerification": True}}
    assert nms["metadata"]["labels"] == {"nmstate-label": CLUSTER}
    assert nms["metadata"]["annotations"] == {gen.WAVE_ANNOTATION: "1", gen.GENERATED_ANNOTATION: "{}"}
    assert nms["spec"] == {"config": node["nodeNetwork"]["config"], "interfaces": node["nodeNetwork"]["interfaces"]}
    if mode == "real":
        acis = _by_kind(out, "AgentClusterInstall")
        assert acis and acis[0]["spec"]["provisionRequirements"] == {"controlPlaneAgents": 1}
    for obj in worker_objs:
        _dry_run(hub_api, obj)


# ------------------------------------------------------------------------------------------ worker policies

def _check_worker_policies(policies: list[dict], name: str, reserved: str, isolated: str) -> None:
    pols = _by_kind(policies, "Policy")
    assert [p["metadata"]["name"] for p in pols] == [f"{name}-config-policy"]
    assert pols[0]["metadata"]["namespace"] == POLICY_NS
    assert pols[0]["metadata"]["annotations"].get("ran.openshift.io/ztp-deploy-wave") == "10"
    tmpls = _templates_by_kind(pols)
    assert sorted(tmpls) == ["MachineConfig", "PerformanceProfile", "Tuned"]
    mc = tmpls["MachineConfig"][0]["objectDefinition"]
    assert mc["metadata"]["name"] == "enable-workload-partitioning"
    assert mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"] == "worker"
    files = gen.machineconfig_files(mc)
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
    assert pp["spec"]["hugepages"] == {"defaultHugepagesSize": "1G", "pages": [{"size": "1G", "count": 32}]}
    tuned = tmpls["Tuned"][0]["objectDefinition"]
    assert tuned["metadata"]["name"] == "performance-patch-worker"
    profiles = {p["name"]: p for p in tuned["spec"]["profile"]}
    assert len(profiles) == len(tuned["spec"]["profile"]) == 1, f"Tuned profiles: {sorted(profiles)}"
    recommended = tuned["spec"]["recommend"][0]["profile"]
    data = profiles[recommended]["data"]
    assert f"cmdline_crash=nohz_full={isolated}\n" in data
    assert "include=openshift-node-performance-openshift-worker-node-performance-profile" in data
    for tmpl in gen.object_templates(pols[0]):
        _no_placeholders(tmpl["objectDefinition"], tmpl["objectDefinition"]["kind"])


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_worker_pgt(pgt_backend, profile, hub_api):
    """Worker PGT per hardware profile: exact policy names, MC files, PerformanceProfile and tuned CPU sets; hub accepts all."""
    _mode, render = pgt_backend
    reserved, isolated = PROFILES[profile]
    name = f"{CLUSTER}-workers"
    kdir = _kustomize_dir({"workers.yaml": _worker_pgt(name, reserved, isolated)}, with_source_crs=False)
    out = render(os.path.join(kdir, "workers.yaml"), kdir)
    _check_worker_policies(out, name, reserved, isolated)
    for pol in _by_kind(out, "Policy"):
        _dry_run(hub_api, pol)
        for tmpl in gen.object_templates(pol):
            _dry_run(hub_api, tmpl["objectDefinition"])


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_worker_policygenerator(pg_backend, profile, hub_api):
    """Worker ACM PolicyGenerator per hardware profile: same checks as the PGT."""
    _mode, render = pg_backend
    reserved, isolated = PROFILES[profile]
    name = f"{CLUSTER}-workers"
    kdir = _kustomize_dir({"workers.yaml": _worker_pg(name, reserved, isolated)}, with_source_crs=True)
    out = render(os.path.join(kdir, "workers.yaml"), kdir)
    _check_worker_policies(out, name, reserved, isolated)
    for pol in _by_kind(out, "Policy"):
        _dry_run(hub_api, pol)
        for tmpl in gen.object_templates(pol):
            _dry_run(hub_api, tmpl["objectDefinition"])


# ------------------------------------------------------------------------------------------ selector overrides

def _check_selector_policies(policies: list[dict], policy_name: str) -> None:
    pols = _by_kind(policies, "Policy")
    assert [p["metadata"]["name"] for p in pols] == [policy_name]
    tmpls = _templates_by_kind(pols)
    ptp, sriov = tmpls["PtpOperatorConfig"][0], tmpls["SriovOperatorConfig"][0]
    assert ptp["complianceType"] == "mustonlyhave" and sriov["complianceType"] == "mustonlyhave"
    assert ptp["objectDefinition"]["spec"]["daemonNodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    assert sriov["objectDefinition"]["spec"]["configDaemonNodeSelector"] == {"node-role.kubernetes.io/worker": ""}


def test_group_pgt_selector_overrides(pgt_backend, hub_api):
    """Group PGT (mcp master) with the PTP/SR-IOV overrides renders mustonlyhave with only the worker selector."""
    _mode, render = pgt_backend
    kdir = _kustomize_dir({"group.yaml": _group_pgt_with_selectors()}, with_source_crs=False)
    out = render(os.path.join(kdir, "group.yaml"), kdir)
    _check_selector_policies(out, "group-du-sno-config-policy")
    for pol in _by_kind(out, "Policy"):
        _dry_run(hub_api, pol)
        for tmpl in gen.object_templates(pol):
            _dry_run(hub_api, tmpl["objectDefinition"])


def test_group_policygenerator_selector_overrides(pg_backend, hub_api):
    """Group PolicyGenerator with the SetSelector source CRs renders mustonlyhave with the worker selectors."""
    _mode, render = pg_backend
    kdir = _kustomize_dir({"group.yaml": _group_pg_with_selectors()}, with_source_crs=True)
    out = render(os.path.join(kdir, "group.yaml"), kdir)
    _check_selector_policies(out, "group-du-sno-config-policy")
    for pol in _by_kind(out, "Policy"):
        _dry_run(hub_api, pol)


# ------------------------------------------------------------------------------------------ differential

def _simulator_function(module: str, name: str):
    try:
        mod = importlib.import_module(module)
    except ImportError:
        mod = None
    func = getattr(mod, name, None)
    if func is None:
        pytest.skip(f"interface not provided yet: {module}.{name} (pure rendering function, see docs/generators.md)")
    return func


def _fields(obj: dict) -> dict:
    """The fields the collection and the simulator read from a rendered object."""
    meta = obj["metadata"]
    return {"kind": obj["kind"], "name": meta.get("name"), "namespace": meta.get("namespace"),
            "labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}, "spec": obj.get("spec")}


@pytest.mark.parametrize("api_version", ["ran.openshift.io/v1", "ran.openshift.io/v2"])
def test_differential_simulator_siteconfig(siteconfig_backend, api_version):
    """testhub.simulator.argocd_clusters.render_siteconfig(doc) agrees with the generator on every BMH/NMStateConfig field."""
    render_sim = _simulator_function("testhub.simulator.argocd_clusters", "render_siteconfig")
    _mode, render = siteconfig_backend
    doc = _sno_siteconfig(api_version)
    root = gen.write_temp_tree({"site.yaml": yaml.safe_dump(doc, sort_keys=False)})
    os.makedirs(os.path.join(root, "sno-extra-manifest"), exist_ok=True)
    want = {(d["kind"], d["metadata"]["name"]): _fields(d) for d in render(os.path.join(root, "site.yaml"))
            if d["kind"] in ("BareMetalHost", "NMStateConfig")}
    got = {(d["kind"], d["metadata"]["name"]): _fields(d) for d in render_sim(copy.deepcopy(doc))
           if d["kind"] in ("BareMetalHost", "NMStateConfig")}
    assert got == want


def test_differential_simulator_golden():
    """The simulator renders the golden inputs' nodes as the real generator did."""
    render_sim = _simulator_function("testhub.simulator.argocd_clusters", "render_siteconfig")
    for name, docs in gen.golden_siteconfig_outputs().items():
        nmstates = {d["metadata"]["name"]: d for d in _by_kind(docs, "NMStateConfig")}
        for bmh in _by_kind(docs, "BareMetalHost"):
            node = _golden_node_input(bmh, nmstates.get(bmh["metadata"]["name"]))
            doc = {"apiVersion": "ran.openshift.io/v2", "kind": "SiteConfig",
                   "spec": {"clusters": [{"clusterName": bmh["metadata"]["namespace"], "nodes": [node]}]}}
            got = {d["kind"]: _fields(d) for d in render_sim(doc) if d["metadata"].get("name") == bmh["metadata"]["name"]
                   and d["kind"] in ("BareMetalHost", "NMStateConfig")}
            want = {d["kind"]: _fields(d) for d in (bmh, nmstates.get(bmh["metadata"]["name"])) if d}
            assert got == want, f"{name}: {bmh['metadata']['name']}"


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


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_differential_simulator_pgt(pgt_backend, profile):
    """testhub.simulator.pgt_render.render_pgt(doc, kdir) agrees with the generator on every Policy field the collection reads."""
    render_sim = _simulator_function("testhub.simulator.pgt_render", "render_pgt")
    _mode, render = pgt_backend
    reserved, isolated = PROFILES[profile]
    for doc in (_worker_pgt(f"{CLUSTER}-workers", reserved, isolated), _group_pgt_with_selectors()):
        kdir = _kustomize_dir({"policy.yaml": doc}, with_source_crs=False)
        _compare_policies(render_sim(copy.deepcopy(doc), kdir), render(os.path.join(kdir, "policy.yaml"), kdir))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_differential_simulator_pg(pg_backend, profile):
    """testhub.simulator.pgt_render.render_pg(doc, kdir) agrees with the PolicyGenerator plugin on every Policy field read."""
    render_sim = _simulator_function("testhub.simulator.pgt_render", "render_pg")
    _mode, render = pg_backend
    reserved, isolated = PROFILES[profile]
    for doc in (_worker_pg(f"{CLUSTER}-workers", reserved, isolated), _group_pg_with_selectors()):
        kdir = _kustomize_dir({"policy.yaml": doc}, with_source_crs=True)
        _compare_policies(render_sim(copy.deepcopy(doc), kdir), render(os.path.join(kdir, "policy.yaml"), kdir))


def test_hub_dry_run_rejects_invalid_objects(hub_api):
    """The dry run is real: the BareMetalHost CRD rejects a bootMode outside its enum."""
    bmh = gen.model_siteconfig_nodes({"apiVersion": "ran.openshift.io/v2", "kind": "SiteConfig", "spec": {"clusters": [
        {"clusterName": CLUSTER, "nodes": [{"hostName": "bad-0", "role": "worker", "bootMode": "bios"}]}]}})[0]
    with pytest.raises(AssertionError, match="rejected BareMetalHost"):
        _dry_run(hub_api, bmh)
