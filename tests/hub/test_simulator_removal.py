"""Worker removal in the hub simulator against the real API server (docs/testhub.md, "Worker removal"): a deleted
BareMetalHost goes through metal3's deletion states; with bmac.agent-install.openshift.io/remove-agent-and-node-on-delete
BMAC deletes the Agent, ManagedClusterInfo drops the node and the spoke Node goes; the fault bmh-delete-stuck holds it.
"""

from __future__ import annotations

import time
import uuid

import pytest
import yaml

pytest.importorskip("testhub.hubctl")
from testhub import waiting  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.parametrize("hub", [True], indirect=True, scope="session")

SPEED = 600
BMH = ("metal3.io/v1alpha1", "BareMetalHost")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
NODE = ("v1", "Node")
CLUSTER = "sno-a"   # the cluster of the simulated spoke
REMOVE = "bmac.agent-install.openshift.io/remove-agent-and-node-on-delete"


def res(api, gvk):
    return api.resources.get(api_version=gvk[0], kind=gvk[1])


def get(api, gvk, name, namespace=None):
    try:
        return res(api, gvk).get(name=name, namespace=namespace).to_dict()
    except Exception as exc:  # pylint: disable=broad-except
        if getattr(exc, "status", None) == 404:
            return None
        raise


def state(bmh):
    return (((bmh or {}).get("status") or {}).get("provisioning") or {}).get("state")


@pytest.fixture(scope="module")
def api(hub_api):
    waiting.wait_for(lambda: any((i.get("status") or {}).get("nodeList") for i in res(hub_api, MCI).get(namespace=CLUSTER).to_dict()["items"]),
                     timeout=300, what="seeded cluster installed")
    return hub_api


@pytest.fixture
def settings(api):
    configmaps = res(api, ("v1", "ConfigMap"))
    original = configmaps.get(name="hub-simulator", namespace="ztp-simulator").to_dict()["data"]["config.yaml"]

    def apply(**values):
        config = yaml.safe_load(original) or {}
        config.update(values)
        config["speed"] = values.get("speed", SPEED)
        configmaps.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": yaml.safe_dump(config)}})
    apply()
    yield apply
    configmaps.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": original}})


def installed_worker(api, spoke_api):
    """A worker BareMetalHost of sno-a installed to Done, with its spoke Node; returns (name, agent name)."""
    name = "w-" + uuid.uuid4().hex[:8]
    res(api, ("v1", "Secret")).create(namespace=CLUSTER, body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name + "-bmc", "namespace": CLUSTER}, "stringData": {"password": "x"}})
    res(api, BMH).create(namespace=CLUSTER, body={
        "apiVersion": BMH[0], "kind": BMH[1],
        "metadata": {"name": name, "namespace": CLUSTER, "labels": {"infraenvs.agent-install.openshift.io": CLUSTER},
                     "annotations": {"inspect.metal3.io": "disabled", "bmac.agent-install.openshift.io/role": "worker",
                                     "bmac.agent-install.openshift.io/hostname": name}},
        "spec": {"online": True, "bmc": {"address": "redfish-virtualmedia://192.168.10.9/redfish/v1/Systems/1",
                                         "credentialsName": name + "-bmc"}}})
    agent = waiting.wait_for(lambda: [a for a in res(api, AGENT).get(namespace=CLUSTER, label_selector="agent-install.openshift.io/bmh=" + name)
                                      .to_dict()["items"] if (a.get("status") or {}).get("progress", {}).get("currentStage") == "Done"],
                             timeout=180, what="agent Done")[0]
    waiting.wait_for(lambda: get(spoke_api, NODE, name), timeout=60, what="spoke Node")
    waiting.wait_for(lambda: "baremetalhost.metal3.io/detached" in (get(api, BMH, name, CLUSTER)["metadata"].get("annotations") or {}),
                     timeout=60, what="BMH detached")
    return name, agent["metadata"]["name"]


def states_until_gone(api, name, timeout=120):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bmh = get(api, BMH, name, CLUSTER)
        if bmh is None:
            seen.append("gone")
            return seen
        if state(bmh) and (not seen or seen[-1] != state(bmh)):
            seen.append(state(bmh))
        time.sleep(0.05)
    return seen


def mci_nodes(api):
    return [n["name"] for n in (get(api, MCI, CLUSTER, CLUSTER).get("status") or {}).get("nodeList") or []]


def test_annotated_host_is_deprovisioned_and_its_agent_and_node_removed(api, spoke_api, settings):
    settings()
    name, agent = installed_worker(api, spoke_api)
    res(api, BMH).patch(name=name, namespace=CLUSTER, body={"metadata": {"annotations": {REMOVE: "true"}}},
                        content_type="application/merge-patch+json")
    res(api, BMH).delete(name=name, namespace=CLUSTER)
    seen = states_until_gone(api, name)
    assert seen[-4:] == ["deprovisioning", "powering off before delete", "deleting", "gone"], seen
    assert get(api, AGENT, agent, CLUSTER) is None
    waiting.wait_for(lambda: name not in mci_nodes(api), timeout=30, what="ManagedClusterInfo drops the node")
    waiting.wait_for(lambda: get(spoke_api, NODE, name) is None, timeout=30, what="spoke Node deleted")


def test_host_without_the_annotation_leaves_agent_and_node(api, spoke_api, settings):
    settings()
    name, agent = installed_worker(api, spoke_api)
    res(api, BMH).delete(name=name, namespace=CLUSTER)
    seen = states_until_gone(api, name)
    # a detached host is not powered off or cleaned (host_state_machine.go checkInitiateDelete)
    assert seen[-2:] == ["deleting", "gone"] and "deprovisioning" not in seen, seen
    assert get(api, AGENT, agent, CLUSTER) is not None and name in mci_nodes(api)
    res(api, AGENT).delete(name=agent, namespace=CLUSTER)  # clean up for the other tests


def test_stuck_deletion_keeps_the_finalizer_with_an_error(api, spoke_api, settings):
    settings()
    name, agent = installed_worker(api, spoke_api)
    settings(faults=[{"kind": "bmh-delete-stuck", "host": name}])
    res(api, BMH).patch(name=name, namespace=CLUSTER, body={"metadata": {"annotations": {REMOVE: "true"}}},
                        content_type="application/merge-patch+json")
    res(api, BMH).delete(name=name, namespace=CLUSTER)

    def with_error():
        bmh = get(api, BMH, name, CLUSTER)
        return bmh if (bmh.get("status") or {}).get("errorMessage") else None

    bmh = waiting.wait_for(with_error, timeout=60, what="deleting with an error")
    assert state(bmh) == "deleting" and bmh["metadata"]["finalizers"] == ["baremetalhost.metal3.io"]
    assert "connection refused" in bmh["status"]["errorMessage"] and get(api, AGENT, agent, CLUSTER) is not None
    settings()
    assert states_until_gone(api, name)[-1] == "gone"
    waiting.wait_for(lambda: get(api, AGENT, agent, CLUSTER) is None, timeout=30, what="agent deleted once released")
