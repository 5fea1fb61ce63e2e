"""The real siteconfig operator on the test hub (``Hub(siteconfig_operator="real")``, testhub/controllers.py).

The operator is built from its source in the shared reference folder by testhub/build-controllers.sh; a failed
build fails these tests (the hub does not start). Without that folder the hub keeps the simulator's Python
ClusterInstance rendering (tests/hub/test_simulator_clusters.py) and this module is skipped.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for path in (REPO, os.path.join(REPO, ".collections")):
    if path not in sys.path:
        sys.path.insert(0, path)

from testhub import controllers  # noqa: E402  pylint: disable=wrong-import-position
from testhub.hubctl import Hub, HubError, free_port_base  # noqa: E402  pylint: disable=wrong-import-position
from testhub.waiting import wait_for  # noqa: E402  pylint: disable=wrong-import-position
from hubapi import Api, condition  # noqa: E402  pylint: disable=wrong-import-position,import-error

if not controllers.sources_present():
    pytest.skip(f"no siteconfig operator sources at {controllers.sources_dir()}: the test hub renders ClusterInstances "
                "with the simulator's Python model there (tests/hub/test_simulator_clusters.py covers it)",
                allow_module_level=True)

from ansible_collections.ztp.sno_expand.plugins.module_utils import _errors as ztp_errors  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.ztp.sno_expand.plugins.module_utils import _siteconfig as siteconfig  # noqa: E402  pylint: disable=wrong-import-position

CI = ("siteconfig.open-cluster-management.io/v1alpha1", "ClusterInstance")
BMH = ("metal3.io/v1alpha1", "BareMetalHost")
NMSTATE = ("agent-install.openshift.io/v1beta1", "NMStateConfig")
INFRAENV = ("agent-install.openshift.io/v1beta1", "InfraEnv")
ACI = ("extensions.hive.openshift.io/v1beta1", "AgentClusterInstall")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
APP = ("argoproj.io/v1alpha1", "Application")
CLUSTER = "sno-c"
MASTER = "sno-c-master-0.ran.example.com"
WORKER = "sno-c-worker-0.ran.example.com"
OWNER = f"{CLUSTER}_{CLUSTER}"
OPERATOR_MANAGER = "siteconfig-controller"
DENIED = f'admission webhook "{controllers.WEBHOOK_NAME}" denied the request: '


def worker_node(mac="3c:fd:fe:b1:30:20"):
    """A worker as the collection's users give it (module ztp_siteconfig_node, node_addition role)."""
    return {"hostName": WORKER, "role": "worker",
            "bmcAddress": "redfish-virtualmedia+https://192.168.30.201/redfish/v1/Systems/1",
            "bmcCredentialsName": {"name": "sno-c-worker-0-bmc-secret"}, "bootMACAddress": mac, "bootMode": "UEFI",
            "rootDeviceHints": {"deviceName": "/dev/disk/by-path/pci-0000:65:00.0-nvme-1"},
            "templateRefs": [{"name": "ai-node-templates-v1", "namespace": "open-cluster-management"}],
            "nodeNetwork": {"interfaces": [{"name": "ens1f0", "macAddress": mac}],
                            "config": {"interfaces": [{"name": "ens1f0", "type": "ethernet", "state": "up",
                                                      "ipv4": {"enabled": True, "dhcp": False,
                                                               "address": [{"ip": "192.168.30.11", "prefix-length": 24}]}}]}}}


def when(value, predicate):
    """``value`` when ``predicate(value)`` holds, else None (for wait_for)."""
    return value if predicate(value) else None


def rendered_by_operator(obj):
    """The operator's marks: its owned-by label and its server-side apply field manager."""
    meta = (obj or {}).get("metadata") or {}
    return (meta.get("labels") or {}).get("siteconfig.open-cluster-management.io/owned-by") == OWNER and \
        OPERATOR_MANAGER in [m.get("manager") for m in meta.get("managedFields") or []]


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def real_hub(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("hub-siteconfig"))
    hub = Hub(run_dir, port_base=free_port_base(19440), simulator=True, speed=5000, siteconfig_operator="real")
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def api(real_hub):
    return Api(real_hub.api("hub"))


@pytest.fixture(scope="module")
def repo(real_hub, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("gitops") / "repo")
    subprocess.run(["git", "clone", "-q", real_hub.git_url, path], check=True, capture_output=True)
    for key, value in (("user.name", "sco-test"), ("user.email", "sco-test@example.com"), ("commit.gpgsign", "false")):
        git(path, "config", key, value)
    return path


def test_hub_runs_the_operator_and_its_webhook(real_hub, api):
    assert real_hub.status()["processes"]["siteconfig-operator"]["running"]
    vwc = api.get(("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"), controllers.WEBHOOK_NAME)
    hook = vwc["webhooks"][0]
    assert hook["failurePolicy"] == "Fail"
    assert hook["clientConfig"]["url"] == f"https://127.0.0.1:{real_hub.port('siteconfig-webhook')}{controllers.WEBHOOK_PATH}"


def test_seed_clusterinstance_rendered_by_the_operator(api):
    ci = wait_for(lambda: when(api.get(CI, CLUSTER, CLUSTER), lambda c: condition(c, "Provisioned").get("reason") == "Completed"),
                  timeout=120, what="sno-c rendered and provisioned")
    assert condition(ci, "RenderedTemplatesApplied")["status"] == "True"
    assert condition(ci, "ClusterInstanceValidated")["status"] == "True"
    rendered = {(m["kind"], m["name"]): m["status"] for m in ci["status"]["manifestsRendered"]}
    # AgentClusterInstall is rendered only by the operator's templates, never by the Python model
    assert rendered[("AgentClusterInstall", CLUSTER)] == "rendered"
    assert rendered[("BareMetalHost", MASTER)] == "rendered"
    for gvk in (BMH, NMSTATE, INFRAENV):
        assert rendered_by_operator(api.get(gvk, MASTER, CLUSTER)), gvk
    assert api.get(NMSTATE, MASTER, CLUSTER)["spec"]["interfaces"] == [{"name": "ens1f0", "macAddress": "3c:fd:fe:b1:30:10"}]
    # day 1 downstream of the rendered host: the master is a Ready node of the cluster
    wait_for(lambda: any(n["name"] == MASTER for n in (api.get(MCI, CLUSTER, CLUSTER) or {}).get("status", {}).get("nodeList") or []),
             timeout=60, what="sno-c master in ManagedClusterInfo")


def test_scale_out_through_git_renders_the_worker(api, real_hub, repo):
    test_seed_clusterinstance_rendered_by_the_operator(api)
    path = os.path.join(repo, "clusterinstance", "sno-c.yaml")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    new_text, _entry, fmt, _warnings = siteconfig.set_node(text, CLUSTER, worker_node())
    assert fmt == siteconfig.FORMAT_CLUSTERINSTANCE
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(new_text)
    controllers.ensure_site_objects(real_hub.api_client("hub"), yaml.safe_load(new_text))
    git(repo, "commit", "-qam", f"{CLUSTER}: worker {WORKER}")
    git(repo, "push", "-q", "origin", "HEAD:main")
    bmh = wait_for(lambda: when(api.get(BMH, WORKER, CLUSTER), rendered_by_operator),
                   timeout=120, what="worker BareMetalHost rendered by the operator")
    assert bmh["metadata"]["annotations"]["bmac.agent-install.openshift.io/role"] == "worker"
    assert bmh["spec"]["bootMACAddress"] == "3c:fd:fe:b1:30:20"
    assert rendered_by_operator(api.get(NMSTATE, WORKER, CLUSTER))
    assert api.get(INFRAENV, WORKER, CLUSTER)["spec"]["nmStateConfigLabelSelector"] == {"matchLabels": {"nmstate-label": WORKER}}
    app = api.get(APP, "clusters", "openshift-gitops")
    assert app["status"]["operationState"]["phase"] == "Succeeded", app["status"]["operationState"]["message"]
    # the day-2 install of the rendered host by the simulated metal3 / assisted-service, to a Ready node
    wait_for(lambda: any(n["name"] == WORKER and n["conditions"] == [{"type": "Ready", "status": "True"}]
                         for n in (api.get(MCI, CLUSTER, CLUSTER) or {}).get("status", {}).get("nodeList") or []),
             timeout=180, what="worker Ready in ManagedClusterInfo")


def test_webhook_refuses_what_the_collection_refuses_and_accepts_a_scale_out(api, repo):
    ci = api.get(CI, CLUSTER, CLUSTER)
    assert condition(ci, "Provisioned").get("reason") == "Completed"
    assert any(n["hostName"] == WORKER for n in ci["spec"]["nodes"]), "run after the scale-out test"

    # the collection refuses to change the boot MAC of an existing worker of a provisioned ClusterInstance ...
    with open(os.path.join(repo, "clusterinstance", "sno-c.yaml"), encoding="utf-8") as handle:
        text = handle.read()
    with pytest.raises((ztp_errors.ZtpInputError, ztp_errors.ZtpInputErrors)) as refused:
        siteconfig.set_node(text, CLUSTER, worker_node(mac="3c:fd:fe:b1:30:99"))
    assert "siteconfig webhook accepts changes of an existing node only in" in str(refused.value)

    # ... and so does the operator's webhook on the hub API server
    changed = copy.deepcopy(ci)
    node = next(n for n in changed["spec"]["nodes"] if n["hostName"] == WORKER)
    node["bootMACAddress"] = "3c:fd:fe:b1:30:99"
    with pytest.raises(Exception) as denied:
        api.res(CI).replace(body=changed, namespace=CLUSTER)
    assert getattr(denied.value, "status", None) == 403
    assert json.loads(denied.value.body)["message"] == (
        DENIED + f"invalid spec changes detected: detected unauthorized node modifications: "
        f"[node {WORKER}: unauthorized change to bootMACAddress]")
    assert api.get(CI, CLUSTER, CLUSTER)["spec"] == ci["spec"]

    # a scale-out (one more worker) is admitted (server-side dry run: nothing is rendered)
    grown = copy.deepcopy(ci)
    extra = copy.deepcopy(next(n for n in grown["spec"]["nodes"] if n["hostName"] == WORKER))
    extra.update({"hostName": "sno-c-worker-1.ran.example.com", "bootMACAddress": "3c:fd:fe:b1:30:21",
                  "bmcAddress": "redfish-virtualmedia+https://192.168.30.202/redfish/v1/Systems/1"})
    grown["spec"]["nodes"].append(extra)
    out = api.res(CI).replace(body=grown, namespace=CLUSTER, query_params=[("dryRun", "All")]).to_dict()
    assert len(out["spec"]["nodes"]) == 3
    assert api.get(BMH, "sno-c-worker-1.ran.example.com", CLUSTER) is None


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(HubError, match="expected one of real, model, auto"):
        Hub(str(tmp_path), port_base=None, siteconfig_operator="sometimes")
