"""Tests of the clusters app, metal3, assisted-service, cluster info and ManagedClusterView parts of the hub simulator.

They run against the session test hub with the simulator process (tests/hub/conftest.py), push SiteConfig and
ClusterInstance files to its Git remote and follow the hub objects, checking the values of docs/ztp-objects.md.
The simulator settings (speed, faults) are changed through the ConfigMap ztp-simulator/hub-simulator.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
import yaml

pytest.importorskip("testhub.hubctl")
from testhub import waiting  # noqa: E402  pylint: disable=wrong-import-position
from hubapi import Api  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.parametrize("hub", [True], indirect=True, scope="session")

SPEED = 5000
BMH = ("metal3.io/v1alpha1", "BareMetalHost")
PPI = ("metal3.io/v1alpha1", "PreprovisioningImage")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
NMSTATE = ("agent-install.openshift.io/v1beta1", "NMStateConfig")
INFRAENV = ("agent-install.openshift.io/v1beta1", "InfraEnv")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
MC = ("cluster.open-cluster-management.io/v1", "ManagedCluster")
APP = ("argoproj.io/v1alpha1", "Application")
MCV = ("view.open-cluster-management.io/v1beta1", "ManagedClusterView")
DAY2_STAGES = ["Starting installation", "Installing", "Writing image to disk", "Waiting for control plane", "Rebooting", "Joined", "Done"]
WORKER_LABELS = {"node-role.kubernetes.io/worker": ""}
MASTER_LABELS = {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/worker": ""}


# ---- helpers ----------------------------------------------------------------------------------------------------


def when(value, predicate):
    """``value`` when ``predicate(value)`` holds, else None (for wait_for)."""
    return value if predicate(value) else None


def wait_for(predicate, timeout=60.0, interval=0.05, what="condition"):
    """testhub.waiting.wait_for with this module's pace: the simulator runs fast here."""
    return waiting.wait_for(predicate, timeout=timeout, interval=interval, what=what)


class Hub(Api):
    """The API helper with this module's extras."""

    def items(self, gvk, namespace=None, label_selector=None):
        return self.res(gvk).get(namespace=namespace, label_selector=label_selector).to_dict()["items"]

    def secret(self, namespace, name):
        self.res(("v1", "Secret")).create(namespace=namespace, body={
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "stringData": {"username": "admin", "password": "secret"}})

    def settings(self, data):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hub-simulator", "namespace": "ztp-simulator"},
                "data": {"config.yaml": yaml.safe_dump(data)}}
        self.res(("v1", "ConfigMap")).replace(body=body, name="hub-simulator", namespace="ztp-simulator")


class Repo:
    """A clone of the hub's GitOps remote."""

    def __init__(self, url, path):
        self.path = path
        subprocess.run(["git", "clone", "-q", url, path], check=True, capture_output=True)
        for key, value in (("user.name", "sim-test"), ("user.email", "sim-test@example.com"), ("commit.gpgsign", "false")):
            self.git("config", key, value)

    def git(self, *args):
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True, text=True).stdout.strip()

    def write(self, rel, text):
        with open(os.path.join(self.path, rel), "w", encoding="utf-8") as handle:
            handle.write(text)

    def list_in(self, kustomization, entry, field="generators"):
        path = os.path.join(self.path, kustomization)
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        if entry not in (data.get(field) or []):
            data.setdefault(field, []).append(entry)
            self.write(kustomization, yaml.safe_dump(data, sort_keys=False))

    def push(self, message):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        for _attempt in range(5):
            try:
                self.git("push", "-q", "origin", "HEAD:main")
                break
            except subprocess.CalledProcessError:
                self.git("pull", "-q", "--rebase", "origin", "main")
        return self.git("rev-parse", "HEAD")


def node(host, role="worker", mac="0c:42:a1:00:00:01", **extra):
    entry = {"hostName": host, "role": role, "bmcAddress": "redfish-virtualmedia+https://[2001:db8::1]/redfish/v1/Systems/1",
             "bmcCredentialsName": {"name": f"{host}-bmc"}, "bootMACAddress": mac, "bootMode": "UEFI",
             "rootDeviceHints": {"deviceName": "/dev/disk/by-path/pci-0000:01:00.0"},
             "nodeNetwork": {"interfaces": [{"name": "eno1", "macAddress": mac}],
                             "config": {"interfaces": [{"name": "eno1", "type": "ethernet", "state": "up"}]}}}
    entry.update(extra)
    return entry


def siteconfig(cluster, nodes, api="ran.openshift.io/v2", **cluster_extra):
    cl = {"clusterName": cluster, "networkType": "OVNKubernetes", "clusterLabels": {"common": True, "sites": cluster, "group-du-sno": None},
          "nodes": nodes}
    cl.update(cluster_extra)
    return yaml.safe_dump({"apiVersion": api, "kind": "SiteConfig", "metadata": {"name": cluster, "namespace": cluster},
                           "spec": {"baseDomain": "example.com", "pullSecretRef": {"name": "pull-secret"},
                                    "clusterImageSetNameRef": "openshift-4.20", "sshPublicKey": "ssh-ed25519 AAAA",
                                    "clusters": [cl]}}, sort_keys=False)


class Recorder:
    """Polls objects and records every distinct value of a field, in order."""

    def __init__(self):
        self.seen = {}

    def note(self, key, value):
        values = self.seen.setdefault(key, [])
        if value is not None and (not values or values[-1] != value):
            values.append(value)


def follow(api, cluster, host, until, timeout=60.0):
    """Record BMH states and Agent stages of ``host`` until ``until(api)`` is truthy."""
    rec = Recorder()

    def step():
        bmh = api.get(BMH, host, cluster)
        if bmh:
            rec.note("bmh", ((bmh.get("status") or {}).get("provisioning") or {}).get("state"))
        for agent in api.items(AGENT, cluster, f"agent-install.openshift.io/bmh={host}"):
            rec.note("agent", ((agent.get("status") or {}).get("progress") or {}).get("currentStage"))
        return until(api)

    wait_for(step, timeout=timeout, interval=0.03, what=f"{cluster}/{host}")
    return rec.seen


def mci_node(api, cluster, host):
    mci = api.get(MCI, cluster, cluster)
    for item in ((mci or {}).get("status") or {}).get("nodeList") or []:
        if item["name"] == host:
            return item
    return None


def agent_of(api, cluster, host):
    agents = api.items(AGENT, cluster, f"agent-install.openshift.io/bmh={host}")
    return agents[0] if agents else None


def cond(obj, ctype):
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item["type"] == ctype:
            return item
    return {}


# ---- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(hub):
    client = Hub(hub.api("hub"))
    client.settings({"speed": SPEED, "faults": [], "spokes": {"sno-a": {"ptp": "master", "sriov": "master"}}})
    yield client
    client.settings({"speed": 60, "faults": [], "spokes": {"sno-a": {"ptp": "master", "sriov": "master"}}})


@pytest.fixture(scope="module")
def repo(hub, tmp_path_factory):
    return Repo(hub.git_url, str(tmp_path_factory.mktemp("gitops") / "repo"))


@pytest.fixture()
def faults(api):
    """Set faults for one test; cleared afterwards."""
    def setter(*entries):
        api.settings({"speed": SPEED, "faults": list(entries), "spokes": {"sno-a": {"ptp": "master", "sriov": "master"}}})
        time.sleep(0.6)
    yield setter
    setter()


def new_sno(api, repo, prefix="sim"):
    """Push a new SNO site; wait for its day-1 state. Returns the cluster name."""
    cluster = f"{prefix}-{uuid.uuid4().hex[:6]}"
    master = f"{cluster}-master-0"
    repo.write(f"siteconfig/{cluster}.yaml", siteconfig(cluster, [node(master, role="master", mac="0c:42:a1:00:00:10")]))
    repo.list_in("siteconfig/kustomization.yaml", f"{cluster}.yaml")
    repo.push(f"site {cluster}")
    wait_for(lambda: mci_node(api, cluster, master), timeout=60, what=f"day-1 node of {cluster}")
    return cluster


def add_worker(repo, cluster, worker, **extra):
    path = os.path.join(repo.path, "siteconfig", f"{cluster}.yaml")
    with open(path, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    nodes = doc["spec"]["clusters"][0]["nodes"]
    nodes[:] = [n for n in nodes if n["hostName"] != worker] + [node(worker, mac=f"0c:42:a1:00:01:{len(nodes) + 1:02x}", **extra)]
    repo.write(f"siteconfig/{cluster}.yaml", yaml.safe_dump(doc, sort_keys=False))
    return repo.push(f"{cluster}: worker {worker}")


@pytest.fixture(scope="module")
def shared(api, repo):
    """One SNO cluster for the fault tests (each adds its own worker host)."""
    return new_sno(api, repo, "flt")


# ---- tests ------------------------------------------------------------------------------------------------------

def test_day1_then_day2_worker(api, repo):
    cluster = new_sno(api, repo)
    master = f"{cluster}-master-0"
    # day 1: existing nodes are installed
    bmh = api.get(BMH, master, cluster)
    assert bmh["status"]["provisioning"]["state"] == "provisioned"
    agent = agent_of(api, cluster, master)
    assert agent["status"]["kind"] == "Host" and agent["status"]["progress"]["currentStage"] == "Done"
    assert mci_node(api, cluster, master) == {"name": master, "labels": MASTER_LABELS,
                                              "capacity": mci_node(api, cluster, master)["capacity"],
                                              "conditions": [{"type": "Ready", "status": "True"}]}
    mc = api.get(MC, cluster)
    assert mc["metadata"]["labels"] == {"common": "true", "sites": cluster, "group-du-sno": "", "cloud": "auto-detect", "vendor": "auto-detect"}
    assert cond(api.get(MCI, cluster, cluster), "ManagedClusterInfoSynced")["status"] == "True"
    ns = api.get(("v1", "Namespace"), cluster)
    assert ns["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "0"

    # day 2: a worker
    worker = f"{cluster}-worker-0"
    api.secret(cluster, f"{worker}-bmc")
    revision = add_worker(repo, cluster, worker, ironicInspect="disabled", installerArgs='["--append-karg", "nosmt"]',
                          nodeLabels={"node-role.kubernetes.io/worker-du": ""},
                          crAnnotations={"add": {"BareMetalHost": {"example.com/owner": "ran"}}})
    seen = follow(api, cluster, worker, lambda a: (mci_node(a, cluster, worker) or {}).get("conditions") == [{"type": "Ready", "status": "True"}])
    assert seen["bmh"] == ["registering", "preparing", "available", "provisioning", "provisioned"], seen
    assert seen["agent"] == DAY2_STAGES, seen

    bmh = api.get(BMH, worker, cluster)
    assert bmh["metadata"]["labels"] == {"infraenvs.agent-install.openshift.io": cluster}
    ann = bmh["metadata"]["annotations"]
    assert {k: v for k, v in ann.items() if k != "baremetalhost.metal3.io/detached"} == {
        "argocd.argoproj.io/sync-wave": "3", "ran.openshift.io/ztp-gitops-generated": "{}",
        "bmac.agent-install.openshift.io/hostname": worker, "bmac.agent-install.openshift.io/role": "worker",
        "bmac.agent-install.openshift.io/installer-args": '["--append-karg", "nosmt"]',
        "bmac.agent-install.openshift.io.node-label.node-role.kubernetes.io/worker-du": "",
        "inspect.metal3.io": "disabled", "example.com/owner": "ran"}
    assert bmh["spec"]["bmc"] == {"address": "redfish-virtualmedia+https://[2001:db8::1]/redfish/v1/Systems/1",
                                  "credentialsName": f"{worker}-bmc", "disableCertificateVerification": True}
    assert bmh["spec"]["online"] is True and bmh["spec"]["automatedCleaningMode"] == "disabled"
    assert bmh["status"]["errorCount"] == 0 and not bmh["status"].get("errorType")
    nmstate = api.get(NMSTATE, worker, cluster)
    assert nmstate["metadata"]["labels"] == {"nmstate-label": cluster}
    assert nmstate["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"
    ppi = api.get(PPI, worker, cluster)
    assert ppi["metadata"]["labels"] == bmh["metadata"]["labels"]
    assert ppi["metadata"]["ownerReferences"][0]["kind"] == "BareMetalHost"
    assert ppi["metadata"]["ownerReferences"][0]["uid"] == bmh["metadata"]["uid"]
    # current assisted-service copies the InfraEnv's reason into the image's Ready condition
    assert (cond(ppi, "Ready")["status"], cond(ppi, "Ready")["reason"], cond(ppi, "Ready")["message"]) == (
        "True", "InfraEnvAvailable", "InfraEnv is available: Image has been created")
    assert ppi["status"]["format"] == "iso" and ppi["status"]["imageUrl"]
    agent = agent_of(api, cluster, worker)
    assert agent["metadata"]["labels"] == {"agent-install.openshift.io/bmh": worker, "infraenvs.agent-install.openshift.io": cluster}
    assert str(uuid.UUID(agent["metadata"]["name"])) == agent["metadata"]["name"]
    assert agent["spec"]["approved"] is True and agent["spec"]["role"] == "worker" and agent["spec"]["hostname"] == worker
    assert agent["spec"]["clusterDeploymentName"] == {"name": cluster, "namespace": cluster}
    assert agent["status"]["kind"] == "AddToExistingClusterHost"
    assert agent["status"]["progress"]["installationPercentage"] == 100
    assert agent["status"]["progress"]["stageStartTime"] and agent["status"]["progress"]["stageUpdateTime"]
    assert agent["status"]["debugInfo"]["state"] == "added-to-existing-cluster"
    assert (cond(agent, "Installed")["status"], cond(agent, "Installed")["reason"]) == ("True", "InstallationCompleted")
    for ctype in ("RequirementsMet", "Validated", "Connected", "SpecSynced", "Bound"):
        assert cond(agent, ctype)["status"] == "True", ctype
    item = mci_node(api, cluster, worker)
    assert item["labels"] == dict(WORKER_LABELS, **{"node-role.kubernetes.io/worker-du": ""})
    assert set(item["capacity"]) == {"cpu", "memory"}
    app = api.get(APP, "clusters", "openshift-gitops")
    assert app["status"]["sync"]["status"] == "Synced" and app["status"]["sync"]["revision"] == revision
    assert app["status"]["health"]["status"] == "Healthy" and app["status"]["operationState"]["phase"] == "Succeeded"
    wait_for(lambda: (api.get(BMH, worker, cluster)["status"]["operationalStatus"] == "detached"), what="BMH detached")


def test_inspecting_and_missing_bmc_secret(api, repo, shared):
    worker = f"{shared}-nosecret"
    add_worker(repo, shared, worker)

    def registration_error(a):
        bmh = a.get(BMH, worker, shared)
        status = (bmh or {}).get("status") or {}
        return status.get("errorType") == "registration error" and bmh
    bmh = wait_for(lambda: registration_error(api), what="registration error")
    assert bmh["status"]["provisioning"]["state"] == "registering"
    assert bmh["status"]["operationalStatus"] == "error"
    assert bmh["status"]["errorMessage"] == f"The BMC secret {shared}/{worker}-bmc does not exist"
    assert bmh["status"]["errorCount"] >= 1
    time.sleep(1.5)
    assert api.get(BMH, worker, shared)["status"]["provisioning"]["state"] == "registering"
    assert agent_of(api, shared, worker) is None
    api.secret(shared, f"{worker}-bmc")
    seen = follow(api, shared, worker, lambda a: (agent_of(a, shared, worker) or {}).get("status", {}).get("progress", {}).get("currentStage") == "Done")
    assert seen["bmh"] == ["registering", "inspecting", "preparing", "available", "provisioning", "provisioned"], seen
    status = api.get(BMH, worker, shared)["status"]
    assert status["operationalStatus"] in ("OK", "detached") and not status.get("errorType")


def test_fault_bmc_error(api, repo, shared, faults):
    worker = f"{shared}-bmcerr"
    faults({"kind": "bmc-error", "cluster": shared, "host": worker})
    api.secret(shared, f"{worker}-bmc")
    add_worker(repo, shared, worker)
    bmh = wait_for(lambda: when(api.get(BMH, worker, shared),
                                lambda b: ((b or {}).get("status") or {}).get("errorType") == "registration error"), what="bmc error")
    assert bmh["status"]["operationalStatus"] == "error"
    assert bmh["status"]["provisioning"]["state"] == "registering"
    assert "Redfish" in bmh["status"]["errorMessage"]
    wait_for(lambda: api.get(BMH, worker, shared)["status"]["errorCount"] >= 2, what="retries")
    faults()
    wait_for(lambda: api.get(BMH, worker, shared)["status"]["provisioning"]["state"] == "provisioned", what="recovery")


def test_fault_agent_stuck(api, repo, shared, faults):
    worker = f"{shared}-stuck"
    faults({"kind": "agent-stuck", "host": worker, "stage": "Writing image to disk"})
    api.secret(shared, f"{worker}-bmc")
    add_worker(repo, shared, worker)
    wait_for(lambda: ((agent_of(api, shared, worker) or {}).get("status") or {}).get("progress", {}).get("currentStage") == "Writing image to disk",
             what="stage Writing image to disk")
    time.sleep(2)
    agent = agent_of(api, shared, worker)
    assert agent["status"]["progress"]["currentStage"] == "Writing image to disk"
    assert cond(agent, "Installed")["reason"] == "InstallationInProgress"
    assert mci_node(api, shared, worker) is None


def test_fault_agent_failed(api, repo, shared, faults):
    worker = f"{shared}-failed"
    faults({"kind": "agent-failed", "host": worker, "stage": "Installing"})
    api.secret(shared, f"{worker}-bmc")
    add_worker(repo, shared, worker)
    agent = wait_for(lambda: when(agent_of(api, shared, worker),
                                  lambda a: ((a or {}).get("status") or {}).get("progress", {}).get("currentStage") == "Failed"),
                     what="Failed stage")
    assert agent["status"]["debugInfo"]["state"] == "error"
    installed = cond(agent, "Installed")
    assert (installed["status"], installed["reason"]) == ("False", "InstallationFailed")
    assert installed["message"].startswith("The installation has failed: ")
    assert mci_node(api, shared, worker) is None


def test_fault_image_never_created(api, repo, shared, faults):
    worker = f"{shared}-noimage"
    faults({"kind": "image-never-created", "host": worker})
    api.secret(shared, f"{worker}-bmc")
    add_worker(repo, shared, worker, ironicInspect="disabled")
    wait_for(lambda: ((api.get(BMH, worker, shared) or {}).get("status") or {}).get("provisioning", {}).get("state") == "provisioning",
             what="provisioning")
    time.sleep(1.5)
    ppi = api.get(PPI, worker, shared)
    ready = cond(ppi, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "WaitingForInfraEnvImageToBeCreated")
    assert api.get(BMH, worker, shared)["status"]["provisioning"]["state"] == "provisioning"
    assert agent_of(api, shared, worker) is None
    faults()
    wait_for(lambda: cond(api.get(PPI, worker, shared), "Ready").get("reason") in ("ImageCreated", "InfraEnvAvailable"),
             what="image created")
    wait_for(lambda: api.get(BMH, worker, shared)["status"]["provisioning"]["state"] == "provisioned", what="provisioned")


def test_fault_argocd_not_syncing(api, repo, shared, faults):
    worker = f"{shared}-nosync"
    faults({"kind": "argocd-not-syncing", "app": "clusters"})
    old = api.get(APP, "clusters", "openshift-gitops")["status"]["operationState"]["syncResult"]["revision"]
    revision = add_worker(repo, shared, worker)
    wait_for(lambda: api.get(APP, "clusters", "openshift-gitops")["status"]["sync"] == {"status": "OutOfSync", "revision": revision}
             or api.get(APP, "clusters", "openshift-gitops")["status"]["sync"].get("status") == "OutOfSync", what="OutOfSync")
    time.sleep(1.5)
    assert api.get(BMH, worker, shared) is None
    assert api.get(APP, "clusters", "openshift-gitops")["status"]["operationState"]["syncResult"]["revision"] == old
    faults()
    wait_for(lambda: api.get(BMH, worker, shared), what="BMH after sync resumed")
    app = wait_for(lambda: when(api.get(APP, "clusters", "openshift-gitops"), lambda a: a["status"]["sync"]["status"] == "Synced"),
                   what="Synced")
    assert app["status"]["sync"]["revision"] == revision and app["status"]["operationState"]["syncResult"]["revision"] == revision


def test_a_push_is_seen_at_the_next_poll_or_on_a_refresh_request(api, repo, shared):
    """ArgoCD compares with Git every timeout.reconciliation (180 s), or at once when asked through the
    argocd.argoproj.io/refresh annotation, which it then removes."""
    worker = f"{shared}-poll"
    spokes = {"sno-a": {"ptp": "master", "sriov": "master"}}
    api.settings({"speed": SPEED, "faults": [], "spokes": spokes, "delays": {"argocd_resync": 10 ** 9}})
    try:
        time.sleep(0.6)
        old = api.get(APP, "clusters", "openshift-gitops")["status"]["sync"]["revision"]
        revision = add_worker(repo, shared, worker)
        time.sleep(2)
        assert api.get(APP, "clusters", "openshift-gitops")["status"]["sync"]["revision"] == old
        assert api.get(BMH, worker, shared) is None
        api.res(APP).patch(name="clusters", namespace="openshift-gitops", content_type="application/merge-patch+json",
                           body={"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})
        app = wait_for(lambda: when(api.get(APP, "clusters", "openshift-gitops"),
                                    lambda a: a["status"]["sync"].get("revision") == revision), what="synced after refresh")
        assert "argocd.argoproj.io/refresh" not in (app["metadata"].get("annotations") or {})
        wait_for(lambda: api.get(BMH, worker, shared), what="BMH rendered after the refresh")
    finally:
        api.settings({"speed": SPEED, "faults": [], "spokes": spokes})


def test_node_removal_and_crsuppression(api, repo, shared):
    worker = f"{shared}-removed"
    api.secret(shared, f"{worker}-bmc")
    add_worker(repo, shared, worker)
    wait_for(lambda: ((agent_of(api, shared, worker) or {}).get("status") or {}).get("progress", {}).get("currentStage") == "Done", what="Done")
    # crAnnotations remove-agent-and-node-on-delete, then crSuppression
    add_worker(repo, shared, worker, crAnnotations={"add": {"BareMetalHost": {"bmac.agent-install.openshift.io/remove-agent-and-node-on-delete": "true"}}})
    wait_for(lambda: api.get(BMH, worker, shared)["metadata"]["annotations"].get("bmac.agent-install.openshift.io/remove-agent-and-node-on-delete") == "true",
             what="annotation")
    add_worker(repo, shared, worker, crSuppression=["BareMetalHost"],
               crAnnotations={"add": {"BareMetalHost": {"bmac.agent-install.openshift.io/remove-agent-and-node-on-delete": "true"}}})
    states = []
    wait_for(lambda: (states.append(((api.get(BMH, worker, shared) or {}).get("status") or {}).get("provisioning", {}).get("state"))
                      or api.get(BMH, worker, shared) is None), what="BMH deleted")
    assert "deprovisioning" in states
    assert api.get(NMSTATE, worker, shared) is not None      # only the BMH is suppressed
    wait_for(lambda: agent_of(api, shared, worker) is None and mci_node(api, shared, worker) is None, what="agent and node removed")
    assert api.get(PPI, worker, shared) is None
    # removing the node from Git deletes its NMStateConfig too
    path = os.path.join(repo.path, "siteconfig", f"{shared}.yaml")
    with open(path, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    doc["spec"]["clusters"][0]["nodes"] = [n for n in doc["spec"]["clusters"][0]["nodes"] if n["hostName"] != worker]
    repo.write(f"siteconfig/{shared}.yaml", yaml.safe_dump(doc, sort_keys=False))
    repo.push("remove node")
    wait_for(lambda: api.get(NMSTATE, worker, shared) is None, what="NMStateConfig deleted")


def test_siteconfig_error(api, repo):
    cluster = f"bad-{uuid.uuid4().hex[:6]}"
    repo.write(f"siteconfig/{cluster}.yaml", siteconfig(cluster, [node(f"{cluster}-m", role="master", ironicInspect="sometimes")]))
    repo.list_in("siteconfig/kustomization.yaml", f"{cluster}.yaml")
    revision = repo.push("bad site")

    def failed():
        app = api.get(APP, "clusters", "openshift-gitops")
        state = (app.get("status") or {}).get("operationState") or {}
        return app if state.get("phase") == "Failed" and state.get("syncResult", {}).get("revision") == revision else None
    app = wait_for(failed, what="sync failure")
    assert "siteConfigError" in app["status"]["operationState"]["message"] and "ironicInspect" in app["status"]["operationState"]["message"]
    assert api.get(("v1", "Namespace"), cluster) is None
    repo.write(f"siteconfig/{cluster}.yaml", siteconfig(cluster, [node(f"{cluster}-m", role="master")], api="ran.openshift.io/v3"))
    revision = repo.push("bad apiVersion")
    app = wait_for(failed, what="sync failure")
    assert "Not valid siteConfig ApiVersion" in app["status"]["operationState"]["message"]
    repo.write(f"siteconfig/{cluster}.yaml", siteconfig(cluster, [node(f"{cluster}-m", role="master")]))
    repo.push("fixed site")
    wait_for(lambda: mci_node(api, cluster, f"{cluster}-m"), what="fixed site")
    assert api.get(APP, "clusters", "openshift-gitops")["status"]["operationState"]["phase"] == "Succeeded"


def test_clusterinstance_worker(api, repo):
    cluster = f"ci-{uuid.uuid4().hex[:6]}"
    master, worker = f"{cluster}-master-0", f"{cluster}-worker-0"

    def doc(nodes):
        ci_nodes = []
        for entry in nodes:
            entry = dict(entry, templateRefs=[{"name": "ai-node-templates-v1", "namespace": "open-cluster-management"}])
            entry.pop("rootDeviceHints")
            ci_nodes.append(entry)
        return yaml.safe_dump({"apiVersion": "siteconfig.open-cluster-management.io/v1alpha1", "kind": "ClusterInstance",
                               "metadata": {"name": cluster, "namespace": cluster},
                               "spec": {"clusterName": cluster, "baseDomain": "example.com", "clusterImageSetNameRef": "openshift-4.20",
                                        "pullSecretRef": {"name": "pull-secret"},
                                        "templateRefs": [{"name": "ai-cluster-templates-v1", "namespace": "open-cluster-management"}],
                                        "extraLabels": {"ManagedCluster": {"sites": cluster, "common": "true"}},
                                        "nodes": ci_nodes}}, sort_keys=False)
    repo.write(f"clusterinstance/{cluster}.yaml", doc([node(master, role="master", mac="0c:42:a1:00:02:10")]))
    repo.list_in("clusterinstance/kustomization.yaml", f"{cluster}.yaml", "resources")
    repo.push(f"ci site {cluster}")
    wait_for(lambda: mci_node(api, cluster, master), what="day-1 ClusterInstance node")
    assert api.get(MC, cluster)["metadata"]["labels"] == {"sites": cluster, "common": "true", "cloud": "auto-detect", "vendor": "auto-detect"}
    api.secret(cluster, f"{worker}-bmc")
    repo.write(f"clusterinstance/{cluster}.yaml", doc([node(master, role="master", mac="0c:42:a1:00:02:10"),
                                                       node(worker, mac="0c:42:a1:00:02:11")]))
    repo.push(f"ci worker {worker}")
    seen = follow(api, cluster, worker, lambda a: (mci_node(a, cluster, worker) or {}).get("conditions") == [{"type": "Ready", "status": "True"}])
    assert seen["agent"] == DAY2_STAGES
    bmh = api.get(BMH, worker, cluster)
    assert bmh["metadata"]["labels"] == {"infraenvs.agent-install.openshift.io": worker, "cluster.open-cluster-management.io/backup": "cluster-activation"}
    assert bmh["metadata"]["annotations"]["siteconfig.open-cluster-management.io/sync-wave"] == "3"
    infraenv = api.get(INFRAENV, worker, cluster)
    assert infraenv["spec"]["nmStateConfigLabelSelector"] == {"matchLabels": {"nmstate-label": worker}}
    assert api.get(NMSTATE, worker, cluster)["metadata"]["labels"] == {"nmstate-label": worker}
    assert api.get(PPI, worker, cluster)["metadata"]["labels"] == bmh["metadata"]["labels"]
    assert agent_of(api, cluster, worker)["metadata"]["labels"]["infraenvs.agent-install.openshift.io"] == worker


def test_managedclusterview_and_spoke(api, hub, shared):
    spoke = Hub(hub.api("spoke"))
    ptp = wait_for(lambda: spoke.get(("ptp.openshift.io/v1", "PtpOperatorConfig"), "default", "openshift-ptp"), what="spoke ptp config")
    assert ptp["spec"]["daemonNodeSelector"] == {"node-role.kubernetes.io/master": ""}
    # the simulator creates the two objects one after the other
    sriov = wait_for(lambda: spoke.get(("sriovnetwork.openshift.io/v1", "SriovOperatorConfig"), "default",
                                       "openshift-sriov-network-operator"), what="spoke sriov config")
    assert sriov["spec"]["configDaemonNodeSelector"] == {"node-role.kubernetes.io/master": ""}

    def view(cluster, name, **scope):
        body = {"apiVersion": MCV[0], "kind": MCV[1], "metadata": {"name": name, "namespace": cluster},
                "spec": {"scope": dict({"name": "default"}, **scope)}}
        api.res(MCV).create(namespace=cluster, body=body)
        return wait_for(lambda: cond(api.get(MCV, name, cluster), "Processing") and api.get(MCV, name, cluster), what=f"view {name}")
    got = view("sno-a", "v-ptp-" + uuid.uuid4().hex[:5], apiGroup="ptp.openshift.io", version="v1", kind="PtpOperatorConfig", namespace="openshift-ptp")
    processing = cond(got, "Processing")
    assert (processing["status"], processing["reason"]) == ("True", "GetResourceProcessing")
    assert got["status"]["result"]["spec"]["daemonNodeSelector"] == {"node-role.kubernetes.io/master": ""}
    assert got["status"]["result"]["metadata"]["uid"] == ptp["metadata"]["uid"]
    got = view(shared, "v-sriov-" + uuid.uuid4().hex[:5], resource="sriovoperatorconfigs", namespace="openshift-sriov-network-operator")
    assert got["status"]["result"]["spec"]["configDaemonNodeSelector"] == {"node-role.kubernetes.io/master": ""}
    got = view("sno-a", "v-missing-" + uuid.uuid4().hex[:5], apiGroup="ptp.openshift.io", version="v1", kind="PtpOperatorConfig", namespace="nowhere")
    processing = cond(got, "Processing")
    assert (processing["status"], processing["reason"]) == ("False", "GetResourceFailed")
    assert "not found" in processing["message"]
