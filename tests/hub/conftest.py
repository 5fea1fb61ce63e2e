"""Fixtures of the test-hub tests: a session hub (or the one named by ZTP_HUB_RUN_DIR) and API helpers.

The `hub` fixture takes an optional indirect parameter, the simulator switch:

    pytestmark = pytest.mark.parametrize("hub", [True], indirect=True, scope="session")

Without it the hub runs without the simulator, unless env ZTP_HUB_SIMULATOR=1. Modules with and without the
parameter get separate hubs (pytest groups the tests by parameter, so each starts once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the repository (testhub) and this folder (hubapi, the tests' small API helper), whatever pytest's import mode
for _path in (REPO, os.path.dirname(os.path.abspath(__file__))):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from testhub.hubctl import Hub, free_port_base as hubctl_free_port_base  # noqa: E402  pylint: disable=wrong-import-position
from testhub.waiting import wait_for  # noqa: E402  pylint: disable=wrong-import-position

PORT_SEARCH_START = 17440
PORT_SEARCH_STEP = 10


def free_port_base(avoid: tuple[int, ...] = ()) -> int:
    """A port base >= 17440 whose six ports are all free on 127.0.0.1."""
    return hubctl_free_port_base(PORT_SEARCH_START, avoid=avoid, step=PORT_SEARCH_STEP)


def unique_name(prefix: str) -> str:
    """A DNS-1123 name that no other test uses (namespaces are never really deleted: no controller)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_namespace(dyn, prefix: str = "t") -> str:
    """Create a fresh namespace through a DynamicClient and return its name."""
    name = unique_name(prefix)
    dyn.resources.get(api_version="v1", kind="Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def start_hub(run_dir: str, simulator: bool, crds: str = "auto", audit: bool = False, avoid: tuple[int, ...] = ()) -> Hub:
    """Start a private hub on a free port range (tries again if a port was taken in between)."""
    last = None
    for _attempt in range(3):
        hub = Hub(run_dir, port_base=free_port_base(avoid), crds=crds, simulator=simulator, audit=audit)
        try:
            return hub.start()
        except Exception as err:  # pylint: disable=broad-exception-caught
            last = err
            hub.stop()
            if "in use" not in str(err):
                raise
    raise RuntimeError(f"could not start a test hub: {last}")


def _want_simulator(request) -> bool:
    param = getattr(request, "param", None)
    if param is not None:
        return bool(param)
    return os.environ.get("ZTP_HUB_SIMULATOR", "0") not in ("0", "false", "no", "")


def _plain(value):
    """ansible-inventory's JSON without the markers of values that are never templated."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@pytest.fixture(scope="session")
def demo_hostvars(tmp_path_factory) -> dict:
    """The variables the playbook gets for each cluster of the demo: ``ansible-inventory --list`` of
    inventory/demo/demo.sno_fleet.yml (the sno_fleet plugin and the demo's workers file) on the GitOps seed."""
    home = tmp_path_factory.mktemp("demo-inventory")
    env = dict(os.environ, ZTP_GITOPS_REPO=os.path.join(REPO, "testhub", "gitops-seed"), ANSIBLE_HOME=str(home),
               ANSIBLE_LOCAL_TEMP=str(home / "tmp"), ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
               ANSIBLE_INVENTORY_UNPARSED_FAILED="1", ANSIBLE_NOCOLOR="1")
    env.pop("ZTP_WORKERS_FILE", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i",
                           os.path.join(REPO, "inventory", "demo", "demo.sno_fleet.yml"), "--list"],
                          cwd=str(home), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    data = _plain(json.loads(proc.stdout))
    hosts = sorted(data["sno_clusters"]["hosts"])
    assert hosts == ["sno-a", "sno-b", "sno-c"], hosts
    return {name: data["_meta"]["hostvars"][name] for name in hosts}


@pytest.fixture(scope="session")
def hubtest():
    """The helpers of this file for test modules (conftest modules are not meant to be imported)."""
    return types.SimpleNamespace(repo=REPO, unique_name=unique_name, wait_for=wait_for, create_namespace=create_namespace,
                                 start_hub=start_hub, free_port_base=free_port_base)


@pytest.fixture(scope="session")
def hub(request, tmp_path_factory):
    """The session test hub (stopped at the end, also on failure); an existing one when ZTP_HUB_RUN_DIR is set."""
    simulator = _want_simulator(request)
    existing = os.environ.get("ZTP_HUB_RUN_DIR")
    if existing:
        yield Hub(existing, port_base=None, simulator=simulator).start()
        return
    run_dir = str(tmp_path_factory.mktemp("hub-sim" if simulator else "hub"))
    started = None
    try:
        started = start_hub(run_dir, simulator)
        yield started
    finally:
        if started is not None:
            started.stop()
        else:
            Hub(run_dir, port_base=None).stop()


@pytest.fixture(scope="session")
def hub_api(hub):
    """kubernetes DynamicClient for the hub (user testhub-admin)."""
    return hub.api("hub")


@pytest.fixture(scope="session")
def spoke_api(hub):
    """kubernetes DynamicClient for the spoke."""
    return hub.api("spoke")


@pytest.fixture(scope="session")
def simulator_api(hub):
    """kubernetes DynamicClient for the hub as user hub-simulator."""
    return hub.api("simulator")


@pytest.fixture
def namespace(hub_api):
    """A fresh namespace on the hub for one test."""
    return create_namespace(hub_api, "t")
