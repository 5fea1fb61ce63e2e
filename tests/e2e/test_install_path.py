"""The install path as a real hub runs it: ztp.sno_expand.ztp_install_wait in small plays against the test hub.

Each test adds day-2 worker BareMetalHosts directly on the hub (as ArgoCD would render them) in the namespace of a
seeded cluster, gives the simulator the behaviour or fault of the case (metal3's capacity limit and backoff,
assisted-service's validations, CSRs, the worker MachineConfigPool, offline clusters) and runs the module through
ansible-playbook, then reads its result. One hub serves the whole module (the simulator settings are reset after each
test); simulated time runs at SPEED simulated seconds per real second, while the module's limits are real seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEED = 1200
BMH = ("metal3.io/v1alpha1", "BareMetalHost")
PPI = ("metal3.io/v1alpha1", "PreprovisioningImage")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
INFRAENV = ("agent-install.openshift.io/v1beta1", "InfraEnv")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")
MCV = ("view.open-cluster-management.io/v1beta1", "ManagedClusterView")
DEFAULT_SETTINGS = None


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from testhub.hubctl import Hub, free_port_base  # pylint: disable=import-outside-toplevel

    run_dir = str(tmp_path_factory.mktemp("install-path-hub"))
    started = Hub(run_dir=run_dir, port_base=free_port_base(23000), crds="auto", simulator=True, speed=SPEED)
    started.start()
    try:
        _wait(lambda: _seeded(started), 240, "seeded clusters ready")
        yield started
    finally:
        started.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.3)


def _res(hub, gvk):
    return hub.api().resources.get(api_version=gvk[0], kind=gvk[1])


def _get(hub, gvk, name, namespace=None):
    try:
        return _res(hub, gvk).get(name=name, namespace=namespace).to_dict()
    except Exception as exc:  # pylint: disable=broad-except
        if getattr(exc, "status", None) == 404:
            return None
        raise


def _seeded(hub):
    names = set()
    for info in _res(hub, MCI).get().to_dict().get("items", []):
        for node in (info.get("status") or {}).get("nodeList") or []:
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("conditions") or []):
                names.add(info["metadata"]["name"])
    return {"sno-a", "sno-b", "sno-c"} <= names


@pytest.fixture
def settings(hub):
    """Merge simulator settings for one test; the defaults come back afterwards."""
    configmaps = _res(hub, ("v1", "ConfigMap"))
    original = configmaps.get(name="hub-simulator", namespace="ztp-simulator").to_dict()["data"]["config.yaml"]

    def apply(**values):
        config = yaml.safe_load(original) or {}
        config.update(values)
        configmaps.patch(name="hub-simulator", namespace="ztp-simulator",
                         body={"data": {"config.yaml": yaml.safe_dump(config)}})
    yield apply
    configmaps.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": original}})


def add_worker(hub, cluster="sno-b", namespace=None, name=None, hostname=None, bmc="redfish-virtualmedia+https",
               infraenv=None, inspect=False):
    """A worker BareMetalHost (and its BMC Secret) as ArgoCD renders it from a SiteConfig; returns its name."""
    namespace = namespace or cluster
    name = name or "%s-w-%s" % (cluster, uuid.uuid4().hex[:6])
    hostname = hostname or name
    _create(hub, ("v1", "Secret"), {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                    "metadata": {"name": name + "-bmc", "namespace": namespace},
                                    "stringData": {"username": "admin", "password": "secret"}})
    _create(hub, BMH, {
        "apiVersion": BMH[0], "kind": BMH[1],
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"infraenvs.agent-install.openshift.io": infraenv or cluster},
                     "annotations": {"bmac.agent-install.openshift.io/role": "worker",
                                     "bmac.agent-install.openshift.io/hostname": hostname,
                                     "inspect.metal3.io": "enabled" if inspect else "disabled"}},
        "spec": {"online": True, "bootMode": "UEFI", "automatedCleaningMode": "disabled",
                 "bootMACAddress": "b4:96:91:5c:%02x:%02x" % (uuid.uuid4().int % 256, uuid.uuid4().int % 256),
                 "bmc": {"address": "%s://192.168.20.%d/redfish/v1/Systems/1" % (bmc, uuid.uuid4().int % 250 + 2),
                         "credentialsName": name + "-bmc", "disableCertificateVerification": True}}})
    return name


def _create(hub, gvk, body):
    _res(hub, gvk).create(body=body, namespace=body["metadata"].get("namespace"))


def run_wait(hub, tmp_path, nodes, env=None, timeout=240, then=None, **options):
    """Run ztp_install_wait in a one-task play; returns (rc, module result, output). ``then()`` runs once the wait has
    begun (the hosts it adds then go through every stage under the watch, however fast the simulator runs)."""
    out = tmp_path / ("result-%s.json" % uuid.uuid4().hex[:6])
    task = {"ztp.sno_expand.ztp_install_wait": dict({"nodes": nodes, "timeout": timeout}, **options)}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        dict(task, name="wait", register="waited", ignore_errors=True),
        {"name": "keep", "ansible.builtin.copy": {"content": "{{ waited | to_json }}", "dest": str(out)}},
        {"name": "verdict", "ansible.builtin.fail": {"msg": "failed"}, "when": "waited is failed"}]}]
    playbook = tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
    playbook.write_text(yaml.safe_dump(play))
    environ = dict(os.environ)
    environ.update(hub.env)
    environ.update({"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"),
                    "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})
    environ.update(env or {})
    argv = ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)]
    with subprocess.Popen(argv, cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        lines = []
        deadline = time.monotonic() + timeout + 120
        for line in proc.stdout:
            lines.append(line)
            if then is not None and line.startswith("TASK [wait]"):
                time.sleep(2.0)  # the action plugin lists and opens its watches
                then()
                then = None
            if time.monotonic() > deadline:
                proc.kill()
        proc.wait()
    result = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, result, "".join(lines)


def node_of(result):
    assert result.get("nodes"), result
    return result["nodes"][0]


def labels(node):
    return [s["stage"] for s in node["stages"]]


# ------------------------------------------------------------------------------------------------------------- tests

def test_healthy_worker_runs_the_whole_real_path(hub, tmp_path):
    """Items 3, 4, 6 and 12: preparing, the current PreprovisioningImage reason, Rebooting until the Node exists,
    Joined until the CSRs are approved, then the worker MachineConfigPool rollout as the last milestone."""
    name = "sno-b-w-" + uuid.uuid4().hex[:6]
    rc, result, output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}], then=lambda: add_worker(hub, name=name))
    assert rc == 0, output[-5000:]
    node = node_of(result)
    assert node["ready"] and node["state"] == "ready" and node["cause"] == "", node
    seen = labels(node)
    assert "BareMetalHost preparing" in seen, seen
    assert "PreprovisioningImage ImageCreated" in seen, seen
    assert seen.index("Agent Rebooting") < seen.index("Agent Joined") < seen.index("Agent Done"), seen
    assert seen[-1] == "MachineConfigPool worker Updated", seen
    assert "MachineConfigPool worker Updating" in seen, seen
    assert node["durations"]["image"] is not None and node["durations"]["mcp"] is not None, node["durations"]
    ppi = _get(hub, PPI, name, "sno-b")
    ready = [c for c in ppi["status"]["conditions"] if c["type"] == "Ready"][0]
    assert (ready["status"], ready["reason"]) == ("True", "InfraEnvAvailable")
    agent = _res(hub, AGENT).get(namespace="sno-b", label_selector="agent-install.openshift.io/bmh=" + name).to_dict()["items"][0]
    assert sorted(c["type"] for c in agent["status"]["csrStatus"]["approvedCSRs"]) == ["client", "serving"]
    # the views the wait made are gone again
    assert not [v for v in _res(hub, MCV).get(namespace="sno-b").to_dict()["items"]
                if (v["metadata"].get("labels") or {}).get("ztp-sno-expand/install-view")]


def test_transient_bmc_error_recovers(hub, tmp_path, settings):
    """Item 1: the baremetal-operator retries with a backoff and clears the error; the node installs."""
    name = "sno-b-w-" + uuid.uuid4().hex[:6]
    settings(faults=[{"kind": "bmc-error", "host": name, "count": 2}])
    rc, result, output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}], wait_for_mcp=False,
                                  then=lambda: add_worker(hub, name=name))
    assert rc == 0, output[-5000:]
    node = node_of(result)
    assert node["ready"], node
    seen = labels(node)
    assert "BareMetalHost registration error" in seen and "BareMetalHost registration error cleared" in seen, seen
    assert any(p["stage"] == "recovered" for p in result["progress"]), result["progress"]
    assert "recovered" in output
    assert _get(hub, BMH, name, "sno-b")["status"]["errorCount"] == 0


def test_persistent_bmc_error_ends_the_node_with_the_hubs_text(hub, tmp_path, settings):
    """Item 1: an error that persists ends the node, with the BareMetalHost's own message as the cause."""
    name = "sno-b-w-" + uuid.uuid4().hex[:6]
    settings(faults=[{"kind": "bmc-error", "host": name, "message": "Redfish exception: 401 Unauthorized"}])
    rc, result, _output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}], error_count_limit=3,
                                   then=lambda: add_worker(hub, name=name))
    assert rc != 0
    node = node_of(result)
    assert node["failed"] and "errorCount 3 reached the limit of 3" in node["error"], node
    assert "BareMetalHost registration error" in labels(node), node
    assert "registration error: Redfish exception: 401 Unauthorized" in node["cause"], node


def test_capacity_limit_delays_hosts_without_stalling_them(hub, tmp_path, settings):
    """Item 2: with more hosts than provisioning slots the others wait `delayed`; a delayed host is not stalled."""
    settings(provisioningLimit=1, delays={"bmh_inspecting": 9600})
    names = ["sno-b-w-" + uuid.uuid4().hex[:6] for _index in range(2)]
    rc, result, output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": n} for n in names], wait_for_mcp=False,
                                  fail_fast=False, stage_timeouts={"registering": 4, "default": 60},
                                  then=lambda: [add_worker(hub, name=n, bmc="redfish", inspect=True) for n in names])
    assert rc == 0, output[-5000:]
    assert all(n["ready"] for n in result["nodes"]), result["nodes"]
    assert any(s["stage"] == "BareMetalHost registering (delayed)" for n in result["nodes"] for s in n["stages"]), result["nodes"]


def test_stage_limits_follow_the_stage(hub, tmp_path, settings):
    """Item 3: a slow Rebooting is healthy within its own limit, a host stuck writing the image stalls at its limit."""
    slow, stuck = "sno-b-w-" + uuid.uuid4().hex[:6], "sno-b-w-" + uuid.uuid4().hex[:6]
    settings(delays={"node_boot": 12000}, faults=[{"kind": "agent-stuck", "host": stuck, "stage": "Writing image to disk"}])
    for name in (slow, stuck):
        add_worker(hub, name=name)
    rc, result, _output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": slow}, {"cluster": "sno-b", "host": stuck}],
                                   wait_for_mcp=False, fail_fast=False,
                                   stage_timeouts={"Writing image to disk": 5, "Rebooting": 60, "default": 60})
    assert rc != 0
    by_host = dict((n["host"], n) for n in result["nodes"])
    assert by_host[slow]["ready"], by_host[slow]
    assert "Agent Rebooting" in labels(by_host[slow])
    assert by_host[stuck]["failed"], by_host[stuck]
    assert "stalled in stage 'Writing image to disk'" in by_host[stuck]["error"] and "(limit 5 s)" in by_host[stuck]["error"]


@pytest.mark.parametrize("fault,text", [
    ({"kind": "agent-insufficient", "validation": "ignition-downloadable"},
     "ValidationsFailing: The agent's validations are failing: This host has failed to download the ignition file"),
    ({"kind": "boot-order"}, "installing-pending-user-action: Expected the host to boot from disk, but it booted the "
                             "installation image - please reboot and fix boot order"),
    ({"kind": "agent-disconnected", "stage": "Installing"}, "Connected=False AgentIsDisconnected"),
])
def test_agent_problems_are_named(hub, tmp_path, settings, fault, text):
    """Item 5: failing validations, a wrong boot device and a lost agent end the node with the hub's own words."""
    name = "sno-b-w-" + uuid.uuid4().hex[:6]
    settings(faults=[dict(fault, host=name)])
    add_worker(hub, name=name)
    rc, result, _output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}], error_timeout=6)
    assert rc != 0
    node = node_of(result)
    assert node["failed"] and text in node["error"] and text in node["cause"], node
    assert "no progress" not in node["error"]


def test_node_long_at_joined_names_the_pending_csr(hub, tmp_path, settings):
    """Item 6: the serving CSR is never approved: the node stays at Joined and the stall names the CSR."""
    name = "sno-b-w-" + uuid.uuid4().hex[:6]
    settings(faults=[{"kind": "csr-pending", "host": name, "type": "serving"}])
    add_worker(hub, name=name)
    rc, result, _output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}], stage_timeouts={"Joined": 6})
    assert rc != 0
    node = node_of(result)
    assert "stalled in stage 'Joined'" in node["error"], node
    assert "serving CSR(s) pending, not approved" in node["cause"], node


def test_namespace_and_host_ref_from_the_inputs(hub, tmp_path):
    """Item 7: the BareMetalHost lives in its own namespace under another name (hostRef); the wait follows it."""
    namespace = "hosts-" + uuid.uuid4().hex[:6]
    _create(hub, ("v1", "Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    _create(hub, INFRAENV, {"apiVersion": INFRAENV[0], "kind": INFRAENV[1], "metadata": {"name": "pool", "namespace": namespace},
                            "spec": {"clusterRef": {"name": "sno-b", "namespace": "sno-b"}, "pullSecretRef": {"name": "ps"}}})
    hostname = "sno-b-worker-%s.ran.example.com" % uuid.uuid4().hex[:4]
    bmh = add_worker(hub, cluster="sno-b", namespace=namespace, name="bmh-" + uuid.uuid4().hex[:6], hostname=hostname,
                     infraenv="pool")
    rc, result, output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": hostname,
                                                   "host_ref": {"name": bmh, "namespace": namespace}}], wait_for_mcp=False)
    assert rc == 0, output[-5000:]
    node = node_of(result)
    assert node["ready"] and node["namespace"] == namespace and node["host"] == hostname, node


def _token_for(hub, namespace, rules):
    """A ServiceAccount token with exactly ``rules`` (a Role in ``namespace``)."""
    sa = "limited-" + uuid.uuid4().hex[:6]
    _create(hub, ("v1", "ServiceAccount"), {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": namespace}})
    if rules:
        _create(hub, ("rbac.authorization.k8s.io/v1", "Role"), {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": sa, "namespace": namespace}, "rules": rules})
        _create(hub, ("rbac.authorization.k8s.io/v1", "RoleBinding"), {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": sa, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}]})
    api = hub.api_client("hub")
    from kubernetes import client as k8s_client  # pylint: disable=import-outside-toplevel
    token = k8s_client.CoreV1Api(api).create_namespaced_service_account_token(
        sa, namespace, {"spec": {"expirationSeconds": 3600}}).status.token
    return token


@pytest.mark.parametrize("case", ["forbidden", "unauthorized"])
def test_denied_watches_fail_at_once_naming_the_permission(hub, tmp_path, case):
    """Item 9: 401 and 403 are not retried as a stall; the message names what is missing."""
    name = add_worker(hub)
    token = _token_for(hub, "sno-b", [{"apiGroups": ["agent-install.openshift.io"], "resources": ["agents"],
                                       "verbs": ["get", "list", "watch"]},
                                      {"apiGroups": ["view.open-cluster-management.io"], "resources": ["managedclusterviews"],
                                       "verbs": ["get", "list", "watch", "create", "delete"]}]) if case == "forbidden" else "not-a-token"
    env = {"K8S_AUTH_KUBECONFIG": "", "K8S_AUTH_HOST": "https://127.0.0.1:%d" % hub.port("hub"), "K8S_AUTH_API_KEY": token,
           "K8S_AUTH_VERIFY_SSL": "false"}
    started = time.monotonic()
    rc, result, output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}], env=env, timeout=120)
    assert rc != 0, output[-3000:]
    assert time.monotonic() - started < 60, "the wait did not fail at once"
    msg = result.get("msg", "")
    if case == "forbidden":
        assert "forbidden: the credentials lack permission (HTTP 403) to list" in msg, msg
        assert "BareMetalHost" in msg or "PreprovisioningImage" in msg or "ManagedClusterInfo" in msg, msg
        assert "cannot list resource" in msg and "in namespace sno-b" in msg, msg
    else:
        assert "Unauthorized" in msg and "HTTP 401" in msg, msg


def test_offline_cluster_keeps_the_worker_pool_unknown(hub, tmp_path, settings):
    """Items 10 and 12: without the work-manager add-on no view is answered: the pool milestone is not reached and
    the stall says why."""
    name = "sno-b-w-" + uuid.uuid4().hex[:6]
    settings(faults=[{"kind": "no-work-manager", "cluster": "sno-b"}])
    add_worker(hub, name=name)
    rc, result, _output = run_wait(hub, tmp_path, [{"cluster": "sno-b", "host": name}],
                                   stage_timeouts={"MachineConfigPool": 6})
    assert rc != 0
    node = node_of(result)
    assert "Agent Done" in labels(node) and "Node Ready" in labels(node), node
    assert "stalled in stage 'MachineConfigPool'" in node["error"], node
    assert "has no answer" in node["cause"], node
