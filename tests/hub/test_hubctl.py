"""Tests of testhub.hubctl: processes, CRD sets, hub objects, Git daemon, env file, idempotence, stop and restart."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from testhub import crdset, gitrepo
from testhub.hubctl import HUB_NAMESPACES, Hub

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Kinds the collection and the simulator use; both CRD sets must serve them.
KEY_KINDS = {
    "SiteConfig": "ran.openshift.io/v2", "ClusterInstance": "siteconfig.open-cluster-management.io/v1alpha1",
    "PolicyGenTemplate": "ran.openshift.io/v1", "Policy": "policy.open-cluster-management.io/v1",
    "PlacementRule": "apps.open-cluster-management.io/v1", "Placement": "cluster.open-cluster-management.io/v1beta1",
    "PlacementBinding": "policy.open-cluster-management.io/v1", "PlacementDecision": "cluster.open-cluster-management.io/v1beta1",
    "ManagedClusterSetBinding": "cluster.open-cluster-management.io/v1beta2", "ManagedCluster": "cluster.open-cluster-management.io/v1",
    "ManagedClusterInfo": "internal.open-cluster-management.io/v1beta1", "ManagedClusterView": "view.open-cluster-management.io/v1beta1",
    "ClusterGroupUpgrade": "ran.openshift.io/v1alpha1", "BareMetalHost": "metal3.io/v1alpha1",
    "PreprovisioningImage": "metal3.io/v1alpha1", "NMStateConfig": "agent-install.openshift.io/v1beta1",
    "InfraEnv": "agent-install.openshift.io/v1beta1", "Agent": "agent-install.openshift.io/v1beta1",
    "AgentClusterInstall": "extensions.hive.openshift.io/v1beta1", "ClusterDeployment": "hive.openshift.io/v1",
    "ClusterImageSet": "hive.openshift.io/v1", "KlusterletAddonConfig": "agent.open-cluster-management.io/v1",
    "HostFirmwareSettings": "metal3.io/v1alpha1", "Application": "argoproj.io/v1alpha1", "AppProject": "argoproj.io/v1alpha1",
    "PtpOperatorConfig": "ptp.openshift.io/v1", "SriovOperatorConfig": "sriovnetwork.openshift.io/v1",
    "PerformanceProfile": "performance.openshift.io/v2", "Tuned": "tuned.openshift.io/v1",
    "MachineConfig": "machineconfiguration.openshift.io/v1", "MachineConfigPool": "machineconfiguration.openshift.io/v1",
}
SPOKE_KINDS = ("PtpOperatorConfig", "SriovOperatorConfig", "PerformanceProfile", "Tuned", "MachineConfig", "MachineConfigPool")


@pytest.fixture(scope="module")
def builtin_hub(hub, hubtest, tmp_path_factory):
    """A second hub with the builtin CRD set and the audit log, on another port range."""
    run_dir = str(tmp_path_factory.mktemp("hub-builtin"))
    other = None
    try:
        other = hubtest.start_hub(run_dir, simulator=False, crds="builtin", audit=True, avoid=(hub.port_base,))
        yield other
    finally:
        (other or Hub(run_dir, port_base=None)).stop()


@pytest.fixture(params=["hub", "builtin_hub"])
def any_hub(request):
    return request.getfixturevalue(request.param)


def _served(dyn, api_version: str, kind: str) -> bool:
    """True when discovery of the group/version lists the kind (one request, no discovery cache involved)."""
    group, _sep, version = api_version.rpartition("/")
    try:
        if group:
            resources = k8s_client.CustomObjectsApi(dyn.client).get_api_resources(group, version).resources
        else:
            resources = k8s_client.CoreV1Api(dyn.client).get_api_resources().resources
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return any(r.kind == kind and "/" not in r.name for r in resources)


def _check_crd_set(the_hub: Hub, choice: str) -> None:
    hub_set, spoke_set = crdset.split(crdset.load(choice))
    hub_dyn, spoke_dyn = the_hub.api("hub"), the_hub.api("spoke")
    for crd in hub_set:
        for version in crd["spec"]["versions"]:
            assert _served(hub_dyn, f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"]), crd["metadata"]["name"]
    assert sorted(c["spec"]["names"]["kind"] for c in spoke_set) == sorted(SPOKE_KINDS)
    for crd in spoke_set:
        assert _served(spoke_dyn, f"{crd['spec']['group']}/{crd['spec']['versions'][-1]['name']}", crd["spec"]["names"]["kind"])
    # A spoke has no hub-only kinds.
    assert not _served(spoke_dyn, "metal3.io/v1alpha1", "BareMetalHost")
    assert not _served(spoke_dyn, "ran.openshift.io/v1alpha1", "ClusterGroupUpgrade")
    for kind, api_version in KEY_KINDS.items():
        assert _served(hub_dyn, api_version, kind), f"{kind} {api_version} not served by the {choice} set"


def test_upstream_crds_installed_and_discoverable(hub):
    if crdset.resolve("auto") != "upstream":
        pytest.skip("the shared upstream CRD folder is not available")
    assert hub.crds == "upstream"
    assert len(crdset.load("upstream")) == 37
    _check_crd_set(hub, "upstream")


def test_builtin_crds_installed_and_discoverable(builtin_hub):
    assert builtin_hub.crds == "builtin"
    _check_crd_set(builtin_hub, "builtin")


def test_builtin_crds_have_status_where_upstream_has(builtin_hub):
    if crdset.resolve("auto") != "upstream":
        pytest.skip("the shared upstream CRD folder is not available")

    def with_status(crds):
        return {c["spec"]["names"]["kind"] for c in crds if any("status" in (v.get("subresources") or {}) for v in c["spec"]["versions"])}
    builtin = crdset.load("builtin")
    builtin_kinds = {c["spec"]["names"]["kind"] for c in builtin}
    upstream_status = {k for k in with_status(crdset.load("upstream")) if k in builtin_kinds}
    assert with_status(builtin) == upstream_status


def test_performance_profile_conversion_stripped():
    if crdset.resolve("auto") != "upstream":
        pytest.skip("the shared upstream CRD folder is not available")
    (profile,) = [c for c in crdset.load("upstream") if c["spec"]["names"]["kind"] == "PerformanceProfile"]
    assert "conversion" not in profile["spec"]


def _bmh(ns: str, name: str, mac: str = "0c:42:a1:8a:00:20") -> dict:
    return {
        "apiVersion": "metal3.io/v1alpha1", "kind": "BareMetalHost",
        "metadata": {"name": name, "namespace": ns, "labels": {"infraenvs.agent-install.openshift.io": ns},
                     "annotations": {"argocd.argoproj.io/sync-wave": "3", "bmac.agent-install.openshift.io/hostname": name,
                                     "bmac.agent-install.openshift.io/role": "worker", "inspect.metal3.io": "disabled"}},
        "spec": {"online": True, "bootMACAddress": mac, "bootMode": "UEFI", "automatedCleaningMode": "disabled",
                 "bmc": {"address": "redfish-virtualmedia+https://[2001:db8:a::101]/redfish/v1/Systems/1",
                         "credentialsName": f"{name}-bmc-secret", "disableCertificateVerification": True},
                 "rootDeviceHints": {"deviceName": "/dev/disk/by-path/pci-0000:c3:00.0-nvme-1"}},
    }


def _objects(ns: str) -> list[dict]:
    host = "sno-x-worker-0.ran.example.com"
    return [
        _bmh(ns, host),
        {"apiVersion": "agent-install.openshift.io/v1beta1", "kind": "NMStateConfig",
         "metadata": {"name": host, "namespace": ns, "labels": {"nmstate-label": ns}, "annotations": {"argocd.argoproj.io/sync-wave": "1"}},
         "spec": {"config": {"interfaces": [{"name": "eno1", "type": "ethernet", "state": "up",
                                             "ipv6": {"enabled": True, "dhcp": False, "address": [{"ip": "2001:db8:a::11", "prefix-length": 64}]}}]},
                  "interfaces": [{"name": "eno1", "macAddress": "0c:42:a1:8a:00:20"}]}},
        {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "Policy",
         "metadata": {"name": "sno-x-workers-config-policy", "namespace": ns,
                      "annotations": {"ran.openshift.io/ztp-deploy-wave": "10", "policy.open-cluster-management.io/standards": "NIST SP 800-53"}},
         "spec": {"disabled": False, "remediationAction": "inform", "policy-templates": [{"objectDefinition": {
             "apiVersion": "policy.open-cluster-management.io/v1", "kind": "ConfigurationPolicy",
             "metadata": {"name": "sno-x-workers-config-policy-config"},
             "spec": {"remediationAction": "inform", "severity": "low",
                      "object-templates": [{"complianceType": "musthave", "objectDefinition": {
                          "apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
                          "metadata": {"name": "enable-workload-partitioning", "labels": {"machineconfiguration.openshift.io/role": "worker"}},
                          "spec": {"config": {"ignition": {"version": "3.2.0"}}}}}]}}}]}},
        {"apiVersion": "ran.openshift.io/v1alpha1", "kind": "ClusterGroupUpgrade",
         "metadata": {"name": "sno-x-workers", "namespace": ns},
         "spec": {"clusters": ["sno-x"], "enable": True, "managedPolicies": ["sno-x-workers-config-policy"],
                  "remediationStrategy": {"maxConcurrency": 1, "timeout": 240}}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{host}-bmc-secret", "namespace": ns},
         "type": "Opaque", "stringData": {"username": "root", "password": "calvin"}},
    ]


def test_key_kinds_server_side_dry_run(any_hub, hubtest):
    dyn = any_hub.api()
    ns = hubtest.create_namespace(dyn, "sno-x")
    for obj in _objects(ns):
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        created = res.create(body=obj, namespace=ns, dry_run="All")
        assert created.metadata.name == obj["metadata"]["name"]
        # Dry run: nothing was stored.
        with pytest.raises(ApiException) as err:
            res.get(name=obj["metadata"]["name"], namespace=ns)
        assert err.value.status == 404
    # Schema validation is live: a bad boot MAC address is refused.
    bad = _bmh(ns, "bad-mac", mac="not-a-mac")
    with pytest.raises(ApiException) as err:
        dyn.resources.get(api_version="metal3.io/v1alpha1", kind="BareMetalHost").create(body=bad, namespace=ns, dry_run="All")
    assert err.value.status == 422


def test_fields_the_simulator_relies_on_are_kept(any_hub, hubtest):
    """Fields TALM's enforcing bindings and an ArgoCD sync request carry survive schema pruning in both CRD sets."""
    dyn = any_hub.api()
    ns = hubtest.create_namespace(dyn, "ztp-pb")
    binding = {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "PlacementBinding",
               "metadata": {"name": "cgu-x-placement", "namespace": ns},
               "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": "cgu-x-placement"},
               "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": "group-du-sno-config-policy"}],
               "subFilter": "restricted", "bindingOverrides": {"remediationAction": "enforce"}}
    got = dyn.resources.get(api_version=binding["apiVersion"], kind="PlacementBinding").create(body=binding, namespace=ns, dry_run="All").to_dict()
    assert (got.get("subFilter"), got.get("bindingOverrides")) == ("restricted", {"remediationAction": "enforce"})
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "policies-x", "namespace": ns},
           "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc"},
                    "source": {"repoURL": "git://example.invalid/x.git", "path": "policygentemplates"}},
           "operation": {"sync": {"revision": "main"}}}
    got = dyn.resources.get(api_version=app["apiVersion"], kind="Application").create(body=app, namespace=ns, dry_run="All").to_dict()
    assert got.get("operation") == {"sync": {"revision": "main"}}


def test_status_subresource(any_hub, hubtest):
    dyn = any_hub.api()
    ns = hubtest.create_namespace(dyn, "status")
    res = dyn.resources.get(api_version="metal3.io/v1alpha1", kind="BareMetalHost")
    name = "sno-x-worker-1"
    body = _bmh(ns, name)
    body["status"] = {"provisioning": {"state": "provisioned"}}
    res.create(body=body, namespace=ns)
    # Status sent to the main resource is dropped ...
    assert not (res.get(name=name, namespace=ns).to_dict().get("status") or {}).get("provisioning")
    # ... and set through /status.
    # (the upstream BMH schema requires these status fields)
    status = {"provisioning": {"state": "provisioning", "ID": ""}, "operationalStatus": "OK", "errorMessage": "", "poweredOn": False}
    res.status.patch(body={"status": status}, name=name,
                     namespace=ns, content_type="application/merge-patch+json")
    got = res.get(name=name, namespace=ns).to_dict()
    assert got["status"]["provisioning"]["state"] == "provisioning"
    # Same on the spoke.
    spoke = any_hub.api("spoke")
    sns = hubtest.create_namespace(spoke, "openshift-sriov-t")
    sriov = spoke.resources.get(api_version="sriovnetwork.openshift.io/v1", kind="SriovOperatorConfig")
    sriov.create(body={"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovOperatorConfig", "metadata": {"name": "default", "namespace": sns},
                       "spec": {"configDaemonNodeSelector": {"node-role.kubernetes.io/master": ""}}}, namespace=sns)
    sriov.status.patch(body={"status": {"injector": "Disabled"}}, name="default", namespace=sns, content_type="application/merge-patch+json")
    assert sriov.get(name="default", namespace=sns).to_dict()["status"] == {"injector": "Disabled"}


def test_hub_objects(hub, hub_api):
    names = {n.metadata.name for n in hub_api.resources.get(api_version="v1", kind="Namespace").get().items}
    assert set(HUB_NAMESPACES) <= names
    mcsb = hub_api.resources.get(api_version="cluster.open-cluster-management.io/v1beta2", kind="ManagedClusterSetBinding")
    for ns in (n for n in HUB_NAMESPACES if n.startswith("ztp")):
        assert mcsb.get(name="global", namespace=ns).spec.clusterSet == "global"
    apps = hub_api.resources.get(api_version="argoproj.io/v1alpha1", kind="Application")
    for name, path in (("clusters", "siteconfig"), ("policies", "policygentemplates")):
        src = apps.get(name=name, namespace="openshift-gitops").spec.source
        assert (src.repoURL, src.path, src.targetRevision) == (hub.git_url, path, "main")
    cm = hub_api.resources.get(api_version="v1", kind="ConfigMap").get(name="hub-simulator", namespace="ztp-simulator")
    settings = yaml.safe_load(cm.data["config.yaml"])
    assert isinstance(settings["speed"], int)
    assert settings["spokes"]["sno-a"] == {"ptp": "master", "sriov": "master"}
    assert settings["spokes"]["sno-b"] == {"ptp": "worker", "sriov": "worker"}


def _whoami(the_hub: Hub, which: str) -> str:
    review = the_hub.api(which).resources.get(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
    info = review.create(body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).status.userInfo
    assert "system:masters" in info.groups
    return info.username


def test_users(hub):
    assert _whoami(hub, "hub") == "testhub-admin"
    assert _whoami(hub, "simulator") == "hub-simulator"
    assert _whoami(hub, "spoke") == "testhub-admin"


def test_audit_log_counts_users(builtin_hub, hubtest):
    _whoami(builtin_hub, "simulator")

    def users():
        found = set()
        with open(builtin_hub.audit_log, encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                assert event["stage"] != "RequestReceived"
                assert event["level"] == "Metadata"
                found.add(event["user"]["username"])
        return found if {"hub-simulator", "testhub-admin"} <= found else None
    hubtest.wait_for(users, timeout=10, what="audit events of both users")


def _git(*args, cwd=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_git_clone_and_push(hub, hubtest, tmp_path):
    work = tmp_path / "clone"
    _git("clone", "-q", hub.git_url, str(work))
    for path in ("siteconfig/kustomization.yaml", "siteconfig/sno-a.yaml", "siteconfig/sno-b.yaml", "clusterinstance/sno-c.yaml",
                 "policygentemplates/ns.yaml", "policygentemplates/kustomization.yaml", "policygentemplates/common-ranGen.yaml",
                 "policygentemplates/group-du-sno-ranGen.yaml", "policygentemplates/sno-a-site.yaml", "policygentemplates/sno-b-site.yaml",
                 "policygenerator/kustomization.yaml"):
        assert (work / path).is_file(), path
    sno_a = yaml.safe_load((work / "siteconfig/sno-a.yaml").read_text())
    assert sno_a["apiVersion"] == "ran.openshift.io/v2"
    assert sno_a["spec"]["clusters"][0]["clusterLabels"] == {"common": "true", "group-du-sno": "", "du-profile": "latest", "sites": "sno-a"}
    assert [n["role"] for n in sno_a["spec"]["clusters"][0]["nodes"]] == ["master"]
    branch = hubtest.unique_name("push-test")
    _git("checkout", "-q", "-b", branch, cwd=work)
    (work / "NOTES.md").write_text("push test\n")
    _git("add", "NOTES.md", cwd=work)
    _git("commit", "-q", "-m", "push test", cwd=work)
    _git("push", "-q", "origin", branch, cwd=work)
    head = _git("rev-parse", "HEAD", cwd=work).strip()
    assert _git("ls-remote", hub.git_url, branch).split()[0] == head


def test_seed_is_reproducible(hub, tmp_path):
    assert gitrepo.seed(str(tmp_path / "a"))
    assert not gitrepo.seed(str(tmp_path / "a"))
    assert gitrepo.seed(str(tmp_path / "b"))
    first = gitrepo.head_commit(str(tmp_path / "a"))
    assert first == gitrepo.head_commit(str(tmp_path / "b"))
    root = _git("rev-list", "--max-parents=0", "main", cwd=os.path.join(hub.git_dir, gitrepo.REPO_NAME)).strip()
    assert root == first


def test_env_file(hub):
    with open(hub.env_file, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert all(line.startswith("export ") for line in lines)
    keys = ("K8S_AUTH_KUBECONFIG", "ZTP_SPOKE_KUBECONFIG", "ZTP_GITOPS_REPO", "ZTP_GITOPS_WORKDIR", "ZTP_HUB_RUN_DIR",
            "ZTP_SIMULATOR_KUBECONFIG")
    script = f". {shlex.quote(hub.env_file)} && " + " && ".join(f'printf "%s\\n" "${k}"' for k in keys)
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True, env={"PATH": os.environ["PATH"]}).stdout.splitlines()
    assert dict(zip(keys, out)) == hub.env
    assert hub.env["ZTP_GITOPS_REPO"] == f"git://127.0.0.1:{hub.port_base + 5}/ztp-gitops.git"
    assert os.path.isfile(hub.env["K8S_AUTH_KUBECONFIG"])
    # The playbooks' working copy of this hub's repository stays with the hub, not in a cache shared by every hub.
    assert hub.env["ZTP_GITOPS_WORKDIR"] == os.path.join(hub.run_dir, "gitops-work")


def _hubctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testhub.hubctl", *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=300)


def test_up_is_idempotent(hub):
    before = hub.pids()
    assert set(before) >= {"etcd", "hub", "spoke", "git"}
    again = Hub(hub.run_dir, port_base=None, simulator=hub.simulator)
    t0 = time.monotonic()
    again.start()
    assert time.monotonic() - t0 < 30
    assert again.pids() == before
    proc = _hubctl("up", "--run-dir", hub.run_dir, "--no-simulator")
    assert proc.returncode == 0, proc.stderr
    assert hub.pids() == before
    status = _hubctl("status", "--run-dir", hub.run_dir)
    assert status.returncode == 0
    for name in ("etcd", "hub", "spoke", "git"):
        assert f"running pid {before[name]}" in status.stdout


def test_other_port_base_refused_while_running(hub):
    with pytest.raises(RuntimeError):
        Hub(hub.run_dir, port_base=hub.port_base + 100)


def test_restart_apiserver(builtin_hub, hubtest):
    dyn = builtin_hub.api()
    ns = hubtest.create_namespace(dyn, "restart")
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    cms.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep", "namespace": ns}, "data": {"k": "v"}}, namespace=ns)
    before = builtin_hub.pids()
    builtin_hub.restart_apiserver("hub")
    after = builtin_hub.pids()
    assert after["hub"] != before["hub"]
    assert {k: v for k, v in after.items() if k != "hub"} == {k: v for k, v in before.items() if k != "hub"}
    dyn = builtin_hub.api()
    assert dyn.resources.get(api_version="v1", kind="ConfigMap").get(name="keep", namespace=ns).data.k == "v"
    assert _served(dyn, "metal3.io/v1alpha1", "BareMetalHost")


def test_down_stops_exactly_its_pids(hub, builtin_hub, hubtest):
    # A process of our own that is not part of the hub must survive.
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # pylint: disable=consider-using-with
    try:
        pids = builtin_hub.pids()
        other = hub.pids()
        proc = _hubctl("down", "--run-dir", builtin_hub.run_dir)
        assert proc.returncode == 0, proc.stderr
        for pid in pids.values():
            hubtest.wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}") or _zombie(pid), timeout=20, what=f"pid {pid} to exit")
        assert bystander.poll() is None
        assert hub.pids() == other and hub.healthy()
        assert builtin_hub.pids() == {}
        assert "stopped" in _hubctl("down", "--run-dir", builtin_hub.run_dir).stdout
        # The same run dir comes back with its data.
        builtin_hub.start()
        assert _served(builtin_hub.api(), "metal3.io/v1alpha1", "BareMetalHost")
        assert set(builtin_hub.pids()) >= {"etcd", "hub", "spoke", "git"}
    finally:
        bystander.kill()
        bystander.wait()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _object(dyn, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
    try:
        return dyn.resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace).to_dict()
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def test_a_cluster_spoke_stands_for_its_own_cluster(hub, hubtest, tmp_path):
    """``Hub(cluster_spokes=["sno-c"])``: sno-c gets an API server of its own in the same etcd (its own prefix); the
    simulator keeps sno-c's operator configs there and answers sno-c's views from it; status lists it, down stops it."""
    run_dir = str(tmp_path / "hub-spokes")
    other = Hub(run_dir, port_base=hubtest.free_port_base((hub.port_base,)), simulator=True, cluster_spokes=["sno-c"])
    try:
        other.start()
        name = other.cluster_spoke_name("sno-c")
        assert other.spoke_kubeconfig_of("sno-c") == os.path.join(run_dir, f"{name}.kubeconfig")
        spoke_c, spoke_a = other.api(name), other.api("spoke")
        ptp = ("ptp.openshift.io/v1", "PtpOperatorConfig", "default", "openshift-ptp")
        on_c = hubtest.wait_for(lambda: _object(spoke_c, *ptp), timeout=60, what="PtpOperatorConfig on sno-c's spoke")
        on_a = hubtest.wait_for(lambda: _object(spoke_a, *ptp), timeout=60, what="PtpOperatorConfig on sno-a's spoke")
        assert on_c["metadata"]["uid"] != on_a["metadata"]["uid"]
        # the seed's settings: sno-a on master selectors, sno-c on worker ones (docs/testhub.md)
        assert on_a["spec"]["daemonNodeSelector"] == {"node-role.kubernetes.io/master": ""}
        assert on_c["spec"]["daemonNodeSelector"] == {"node-role.kubernetes.io/worker": ""}
        # a view of sno-c is answered from sno-c's API server: the object's own uid, not the settings' stand-in
        views = other.api("hub").resources.get(api_version="view.open-cluster-management.io/v1beta1", kind="ManagedClusterView")
        body = {"apiVersion": "view.open-cluster-management.io/v1beta1", "kind": "ManagedClusterView",
                "metadata": {"name": "ptp", "namespace": "sno-c"},
                "spec": {"scope": {"apiGroup": "ptp.openshift.io", "version": "v1", "kind": "PtpOperatorConfig",
                                   "name": "default", "namespace": "openshift-ptp"}}}
        hubtest.wait_for(lambda: _object(other.api("hub"), "v1", "Namespace", "sno-c"), timeout=120, what="namespace sno-c")
        views.create(body=body, namespace="sno-c")
        result = hubtest.wait_for(lambda: (_object(other.api("hub"), body["apiVersion"], body["kind"], "ptp", "sno-c")
                                           .get("status") or {}).get("result"), timeout=60, what="the view's result")
        assert result["metadata"]["uid"] == on_c["metadata"]["uid"]
        # an object written on sno-c's spoke is not on sno-a's: separate etcd prefixes
        core_c = k8s_client.CoreV1Api(other.api_client(name))
        core_c.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "only-on-c"}})
        assert _object(spoke_a, "v1", "Namespace", "only-on-c") is None
        status = other.status()
        assert status["cluster_spokes"] == ["sno-c"] and status["processes"][name]["running"]
        pid = other.pids()[name]
        assert "stopped" in _hubctl("down", "--run-dir", run_dir).stdout
        hubtest.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), timeout=20, what="sno-c's API server to exit")
        assert other.pids() == {}
    finally:
        other.stop()
