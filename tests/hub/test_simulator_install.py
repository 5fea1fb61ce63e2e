"""The install path of the hub simulator against the real API server: what metal3, assisted-service and ACM's cluster
info do that the collection's verdicts depend on (docs/testhub.md, "The install path in the simulator").

The tests create BareMetalHosts directly in a seeded cluster's namespace (as ArgoCD renders them) and follow the hub
objects the simulator writes; settings and faults go through the ConfigMap ztp-simulator/hub-simulator.
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
PPI = ("metal3.io/v1alpha1", "PreprovisioningImage")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
MCV = ("view.open-cluster-management.io/v1beta1", "ManagedClusterView")
MC = ("cluster.open-cluster-management.io/v1", "ManagedCluster")
CLUSTER = "sno-b"


def res(api, gvk):
    return api.resources.get(api_version=gvk[0], kind=gvk[1])


def get(api, gvk, name, namespace=None):
    try:
        return res(api, gvk).get(name=name, namespace=namespace).to_dict()
    except Exception as exc:  # pylint: disable=broad-except
        if getattr(exc, "status", None) == 404:
            return None
        raise


def cond(obj, ctype):
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == ctype:
            return item
    return {}


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


def add_host(api, bmc="redfish-virtualmedia+https", inspect=False):
    name = "w-" + uuid.uuid4().hex[:8]
    res(api, ("v1", "Secret")).create(namespace=CLUSTER, body={
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": name + "-bmc", "namespace": CLUSTER},
        "stringData": {"username": "admin", "password": "secret"}})
    res(api, BMH).create(namespace=CLUSTER, body={
        "apiVersion": BMH[0], "kind": BMH[1],
        "metadata": {"name": name, "namespace": CLUSTER, "labels": {"infraenvs.agent-install.openshift.io": CLUSTER},
                     "annotations": {"bmac.agent-install.openshift.io/role": "worker",
                                     "inspect.metal3.io": "enabled" if inspect else "disabled"}},
        "spec": {"online": True, "bootMACAddress": "b4:96:91:5c:30:%02x" % (uuid.uuid4().int % 256),
                 "bmc": {"address": "%s://192.168.20.9/redfish/v1/Systems/1" % bmc, "credentialsName": name + "-bmc"}}})
    return name


def follow(api, gvk, name, value, timeout=120):
    """Values of ``value(obj)`` seen until it returns a value ending in '!' or the timeout."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = value(get(api, gvk, name, CLUSTER))
        if current is not None and (not seen or seen[-1] != current):
            seen.append(current)
        if current and str(current).endswith("!"):
            return seen
        time.sleep(0.05)
    return seen


def test_preparing_then_current_image_reason_after_the_cool_down(api, settings):
    settings()
    name = add_host(api)
    states = follow(api, BMH, name, lambda b: (((b or {}).get("status") or {}).get("provisioning") or {}).get("state", "") +
                    ("!" if (((b or {}).get("status") or {}).get("provisioning") or {}).get("state") == "provisioned" else ""))
    assert states[-4:] == ["preparing", "available", "provisioning", "provisioned!"], states
    ppi = get(api, PPI, name, CLUSTER)
    ready = cond(ppi, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "InfraEnvAvailable", "InfraEnv is available: Image has been created")


def test_image_cool_down_after_a_regenerated_iso(api, settings):
    settings(delays={"bmh_available": 60000})
    name = add_host(api)
    waiting.wait_for(lambda: cond(get(api, PPI, name, CLUSTER), "Ready").get("status") == "True", timeout=60, what="image ready")
    settings(speed=20, delays={"bmh_available": 60000})
    time.sleep(1.5)  # timestamps have second precision: the new ISO must not share a second with the speed change
    settings(speed=20, delays={"bmh_available": 60000}, faults=[{"kind": "iso-regenerated", "cluster": CLUSTER, "id": name}])
    waiting.wait_for(lambda: cond(get(api, PPI, name, CLUSTER), "Ready").get("reason") == "WaitingForInfraEnvImageToCoolDown",
                     timeout=30, what="cool-down")
    waiting.wait_for(lambda: cond(get(api, PPI, name, CLUSTER), "Ready").get("status") == "True", timeout=30, what="ready again")


def test_capacity_limit_only_for_hosts_without_virtual_media(api, settings):
    settings(provisioningLimit=1, delays={"bmh_inspecting": 60000})
    plain = [add_host(api, bmc="redfish", inspect=True) for _index in range(2)]
    media = add_host(api, inspect=True)

    def statuses():
        return [((get(api, BMH, n, CLUSTER) or {}).get("status") or {}) for n in plain + [media]]
    waiting.wait_for(lambda: sorted((s.get("provisioning") or {}).get("state", "") + "/" + str(s.get("operationalStatus"))
                                    for s in statuses()[:2]) == ["inspecting/OK", "registering/delayed"], timeout=60,
                     what="one inspecting, one delayed")
    # the host with virtual media takes no slot: it goes on to inspecting while the other one waits (registered a tick
    # later than the first two, so it is waited for rather than read at once)
    waiting.wait_for(lambda: (statuses()[2].get("provisioning") or {}).get("state") == "inspecting", timeout=30,
                     what="the virtual-media host inspecting")
    assert sorted((s.get("provisioning") or {}).get("state", "") + "/" + str(s.get("operationalStatus"))
                  for s in statuses()[:2]) == ["inspecting/OK", "registering/delayed"]
    settings(provisioningLimit=1, delays={"bmh_inspecting": 60})
    waiting.wait_for(lambda: all((s.get("provisioning") or {}).get("state") == "provisioned" for s in statuses()), timeout=90,
                     what="all provisioned once slots free up")


def test_transient_error_backoff_and_recovery(api, settings):
    name = "w-" + uuid.uuid4().hex[:8]
    settings(speed=240, faults=[{"kind": "bmc-error", "host": name, "count": 2}])
    res(api, ("v1", "Secret")).create(namespace=CLUSTER, body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name + "-bmc", "namespace": CLUSTER}, "stringData": {"password": "x"}})
    res(api, BMH).create(namespace=CLUSTER, body={
        "apiVersion": BMH[0], "kind": BMH[1],
        "metadata": {"name": name, "namespace": CLUSTER, "labels": {"infraenvs.agent-install.openshift.io": CLUSTER},
                     "annotations": {"inspect.metal3.io": "disabled"}},
        "spec": {"online": True, "bmc": {"address": "redfish://192.168.20.8/redfish/v1/Systems/1", "credentialsName": name + "-bmc"}}})
    times = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = (get(api, BMH, name, CLUSTER) or {}).get("status") or {}
        key = (status.get("errorType") or "", status.get("errorCount"))
        times.setdefault(key, time.monotonic())
        if (status.get("provisioning") or {}).get("state") == "preparing":
            break
        time.sleep(0.05)
    assert ("registration error", 1) in times and ("registration error", 2) in times, times
    assert ("", 2) in times, "recovered with the count kept: %s" % times
    # the second attempt comes after the backoff of the first failure (90 s simulated = 0.375 s at speed 240)
    assert times[("registration error", 2)] - times[("registration error", 1)] >= 0.3, times
    assert ((get(api, BMH, name, CLUSTER) or {}).get("status") or {}).get("errorCount") == 0


def test_view_of_a_kind_the_cluster_does_not_serve(api, settings):
    settings()
    name = "v-" + uuid.uuid4().hex[:6]
    res(api, MCV).create(namespace=CLUSTER, body={"apiVersion": MCV[0], "kind": MCV[1], "metadata": {"name": name, "namespace": CLUSTER},
                                                  "spec": {"scope": {"apiGroup": "example.com", "version": "v1", "kind": "Widget", "name": "x"}}})
    view = waiting.wait_for(lambda: cond(get(api, MCV, name, CLUSTER), "Processing") and get(api, MCV, name, CLUSTER), timeout=30,
                            what="view answered")
    processing = cond(view, "Processing")
    assert (processing["status"], processing["reason"]) == ("False", "ResourceGVKInvalid"), processing


def test_offline_cluster_answers_no_view_and_keeps_its_node_list(api, settings):
    settings(faults=[{"kind": "cluster-offline", "cluster": CLUSTER}])
    # the fault reaches the simulator through its ConfigMap informer: create the view once the cluster is seen offline
    waiting.wait_for(lambda: cond(get(api, MC, CLUSTER), "ManagedClusterConditionAvailable").get("status") == "Unknown",
                     timeout=30, what="cluster Available Unknown")
    assert cond(get(api, MC, CLUSTER), "ManagedClusterConditionAvailable")["reason"] == "ManagedClusterLeaseUpdateStopped"
    name = "v-" + uuid.uuid4().hex[:6]
    res(api, MCV).create(namespace=CLUSTER, body={"apiVersion": MCV[0], "kind": MCV[1], "metadata": {"name": name, "namespace": CLUSTER},
                                                  "spec": {"scope": {"apiGroup": "machineconfiguration.openshift.io", "version": "v1",
                                                                     "kind": "MachineConfigPool", "name": "worker"}}})
    # several view refresh rounds (30 s simulated each) pass without an answer
    time.sleep(3 * 30 / SPEED + 1)
    assert not cond(get(api, MCV, name, CLUSTER), "Processing")
    settings()
    view = waiting.wait_for(lambda: cond(get(api, MCV, name, CLUSTER), "Processing") and get(api, MCV, name, CLUSTER), timeout=30,
                            what="view answered once back online")
    assert view["status"]["result"]["kind"] == "MachineConfigPool"


def test_node_list_is_not_refreshed_while_offline(api, settings):
    """ManagedClusterInfo's node list comes from the klusterlet about every 30 s, and not while the cluster is offline."""
    settings(faults=[{"kind": "cluster-offline", "cluster": CLUSTER}])
    name = add_host(api)
    agent = waiting.wait_for(lambda: [a for a in res(api, AGENT).get(namespace=CLUSTER, label_selector="agent-install.openshift.io/bmh=" + name)
                                      .to_dict()["items"] if (a.get("status") or {}).get("progress", {}).get("currentStage") == "Done"],
                             timeout=120, what="agent done")[0]

    def listed():
        return any(n["name"] == agent["spec"]["hostname"] for n in (get(api, MCI, CLUSTER, CLUSTER).get("status") or {}).get("nodeList") or [])
    time.sleep(1.0)  # 600 simulated seconds, 20 refresh periods
    assert not listed()
    settings(speed=60, faults=[{"kind": "cluster-offline", "cluster": CLUSTER}])
    time.sleep(0.5)
    assert not listed()
    # the bound below is in wall time: every real second counts (no hold of the loop's stalls, see Clock._hold)
    settings(speed=60, faults=[], clock_max_gap=3600)
    started = time.monotonic()
    waiting.wait_for(listed, timeout=30, interval=0.02, what="node listed once online")
    # within one refresh period (30 s plus up to 25 % jitter), give or take two simulator ticks (15 s each at speed 60)
    assert (time.monotonic() - started) * 60 <= 37.5 + 30, "listed after the refresh period"


def test_spoke_csrs_pending_until_approved(api, spoke_api, settings):
    """The spoke cluster's kubelet CSRs: the serving one stays pending under the fault, the client one is approved."""
    name = "w-" + uuid.uuid4().hex[:8]
    settings(faults=[{"kind": "csr-pending", "host": name, "type": "serving"}])
    res(api, ("v1", "Secret")).create(namespace="sno-a", body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name + "-bmc", "namespace": "sno-a"}, "stringData": {"password": "x"}})
    res(api, BMH).create(namespace="sno-a", body={
        "apiVersion": BMH[0], "kind": BMH[1],
        "metadata": {"name": name, "namespace": "sno-a", "labels": {"infraenvs.agent-install.openshift.io": "sno-a"},
                     "annotations": {"inspect.metal3.io": "disabled", "bmac.agent-install.openshift.io/role": "worker"}},
        "spec": {"online": True, "bmc": {"address": "redfish-virtualmedia://192.168.10.8/redfish/v1/Systems/1",
                                         "credentialsName": name + "-bmc"}}})
    csrs = res(spoke_api, ("certificates.k8s.io/v1", "CertificateSigningRequest"))

    agent = waiting.wait_for(lambda: [a for a in res(api, AGENT).get(namespace="sno-a", label_selector="agent-install.openshift.io/bmh=" + name)
                                      .to_dict()["items"] if (a.get("status") or {}).get("progress", {}).get("currentStage") == "Joined"],
                             timeout=120, what="agent at Joined")[0]
    uid = agent["metadata"]["uid"][:8]
    client = waiting.wait_for(lambda: get(spoke_api, ("certificates.k8s.io/v1", "CertificateSigningRequest"), "csr-client-" + uid),
                              timeout=30, what="client CSR")
    assert client["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
    assert cond(client, "Approved")["status"] == "True"
    serving = waiting.wait_for(lambda: get(spoke_api, ("certificates.k8s.io/v1", "CertificateSigningRequest"), "csr-serving-" + uid),
                               timeout=30, what="serving CSR")
    assert serving["spec"]["signerName"] == "kubernetes.io/kubelet-serving" and not cond(serving, "Approved")
    time.sleep(1.0)
    assert (get(api, AGENT, agent["metadata"]["name"], "sno-a")["status"]["progress"]["currentStage"]) == "Joined"
    settings()
    waiting.wait_for(lambda: cond(get(spoke_api, ("certificates.k8s.io/v1", "CertificateSigningRequest"), "csr-serving-" + uid), "Approved"),
                     timeout=30, what="serving CSR approved once the fault is gone")
    waiting.wait_for(lambda: get(api, AGENT, agent["metadata"]["name"], "sno-a")["status"]["progress"]["currentStage"] == "Done",
                     timeout=30, what="agent Done")
