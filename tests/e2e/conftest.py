"""Fixtures for end-to-end runs of playbooks/expand_sno.yml against a fresh test hub and Git remote."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                   r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)", re.M)


@dataclass
class PlayResult:
    rc: int
    output: str
    recap: dict = field(default_factory=dict)

    def changed(self, host: str) -> int:
        return self.recap[host]["changed"]

    def failed_hosts(self) -> list[str]:
        return [host for host, counts in self.recap.items() if counts["failed"] or counts["unreachable"]]


class Fleet:
    """A fresh hub plus helpers to run the playbook against the demo inventory."""

    def __init__(self, hub, workdir: str):
        self.hub = hub
        self.workdir = workdir
        self.inventory = os.path.join(REPO, "inventory", "demo", "demo.sno_fleet.yml")
        self.bmc_password = "bmc-" + os.urandom(6).hex()

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env.update(self.hub.env)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"),
            "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ZTP_DEMO_BMC_PASSWORD": self.bmc_password,
            "TMPDIR": self.workdir,
        })
        env.update(extra)
        return env

    def play(self, *args: str, extra_vars: dict | None = None, env: dict | None = None, timeout: float = 900) -> PlayResult:
        return self.play_file(os.path.join(REPO, "playbooks", "expand_sno.yml"), *args, extra_vars=extra_vars,
                              env=self.env(**(env or {})), timeout=timeout)

    def play_file(self, playbook: str, *args: str, extra_vars: dict | None = None, env: dict | None = None,
                  timeout: float = 900) -> PlayResult:
        """Run ``playbook`` on the demo inventory with ``env`` as the whole environment (default: ``self.env()``)."""
        variables = {"ztp_gitops_workdir": os.path.join(self.workdir, "gitops")}
        variables.update(extra_vars or {})
        argv = ["ansible-playbook", "-i", self.inventory, playbook,
                "-e", yaml.safe_dump(variables, default_flow_style=True).strip()] + list(args)
        proc = subprocess.run(argv, cwd=REPO, env=env if env is not None else self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
        recap = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(proc.stdout)}
        return PlayResult(proc.returncode, proc.stdout, recap)

    def remote_head(self, branch: str = "main") -> str:
        out = subprocess.run(["git", "ls-remote", self.hub.git_url, "refs/heads/" + branch], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        return out.split()[0]

    def remote_log(self) -> list[str]:
        clone = tempfile.mkdtemp(dir=self.workdir)
        subprocess.run(["git", "clone", "-q", self.hub.git_url, clone], check=True)
        return subprocess.run(["git", "-C", clone, "log", "--format=%H %s"], stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines()

    def remote_file(self, path: str) -> str:
        clone = tempfile.mkdtemp(dir=self.workdir)
        subprocess.run(["git", "clone", "-q", self.hub.git_url, clone], check=True)
        with open(os.path.join(clone, path), encoding="utf-8") as handle:
            return handle.read()

    def items(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict]:
        resource = self.hub.api().resources.get(api_version=api_version, kind=kind)
        return resource.get(namespace=namespace).to_dict().get("items", [])

    def wait_for_seeded_clusters(self, clusters=("sno-a", "sno-b", "sno-c"), timeout: float = 180) -> None:
        """Wait for the day-1 state a running fleet has: each seeded cluster's master node Ready in ManagedClusterInfo
        and, with real TALM, its ``ztp-install`` ClusterGroupUpgrade done (the ``ztp-done`` label)."""
        deadline = time.monotonic() + timeout
        while True:
            ready = set()
            for info in self.items("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo"):
                nodes = (info.get("status") or {}).get("nodeList") or []
                if any(c.get("type") == "Ready" and c.get("status") == "True" for n in nodes for c in n.get("conditions") or []):
                    ready.add(info["metadata"]["name"])
            if ready >= set(clusters) and (self.hub.talm != "real" or self._ztp_done() >= set(clusters)):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"seeded clusters not ready on the test hub after {timeout} s: {sorted(set(clusters) - ready)}"
                                   f" (ztp-done: {sorted(self._ztp_done())})")
            time.sleep(0.5)

    def _ztp_done(self) -> set:
        return {mc["metadata"]["name"] for mc in self.items("cluster.open-cluster-management.io/v1", "ManagedCluster")
                if "ztp-done" in (mc["metadata"].get("labels") or {})}

    def playbook_cgus(self) -> list[dict]:
        """The ClusterGroupUpgrades on the hub but the ones real TALM makes itself: the ``ztp-install`` CGU of each
        ManagedCluster without the ``ztp-done`` label (its ManagedClusterForCGU controller)."""
        return [cgu for cgu in self.items("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade")
                if cgu["metadata"]["namespace"] != "ztp-install"]

    def cgu_timeout(self, simulated_minutes: int) -> int:
        """``ztp_cgu_timeout`` for a test that needs TALM to give up: TALM's own timeout is in real minutes, so the
        smallest (1); the simulator's TALM counts simulated minutes (600 per real minute here)."""
        return 1 if self.hub.talm == "real" else simulated_minutes

    def set_simulator(self, **settings) -> None:
        """Merge settings (faults, speed, spokes) into the simulator's ConfigMap on the hub."""
        api = self.hub.api()
        configmaps = api.resources.get(api_version="v1", kind="ConfigMap")
        current = configmaps.get(name="hub-simulator", namespace="ztp-simulator").to_dict()
        config = yaml.safe_load(current["data"]["config.yaml"]) or {}
        config.update(settings)
        configmaps.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": yaml.safe_dump(config)}})


@contextmanager
def real_generators():
    """Where the upstream generators are at hand (../shared, as in CI), the simulator started inside renders every
    push with them (kustomize and the real plugins, built by testhub/build-generators.sh); a missing build then fails
    the syncs, and the tests, instead of falling back to the Python models. Only the processes started inside see it."""
    if not os.path.isdir(os.path.join(os.path.dirname(REPO), "shared", "generators")) or "ZTP_SIMULATOR_GENERATORS" in os.environ:
        yield
        return
    os.environ["ZTP_SIMULATOR_GENERATORS"] = "real"
    try:
        yield
    finally:
        del os.environ["ZTP_SIMULATOR_GENERATORS"]


@pytest.fixture
def fleet(tmp_path):
    """A fresh hub (etcd, hub and spoke API servers, simulator, seeded Git remote) for one test."""
    from testhub.hubctl import Hub, free_port_base  # pylint: disable=import-outside-toplevel

    # where the sources of the siteconfig operator and of TALM are at hand (../shared, as in CI) the real ones render
    # the ClusterInstances and run the ClusterGroupUpgrades, unless ZTP_SITECONFIG_OPERATOR or ZTP_TALM chooses
    operator = None if "ZTP_SITECONFIG_OPERATOR" in os.environ else "auto"
    talm = None if "ZTP_TALM" in os.environ else "auto"
    # compliance from the simulator's policy model: in real mode every seeded cluster would need a spoke of its own
    # (Hub(cluster_spokes=...)) and OLM there for the seed's common policies (tests/hub/test_policy_real.py runs the real
    # controllers; docs/testhub.md, "Cluster spokes")
    hub = Hub(run_dir=str(tmp_path / "hub"), port_base=free_port_base(23000), crds="auto", simulator=True, speed=600,
              siteconfig_operator=operator, talm=talm, policy="model")
    with real_generators():
        hub.start()
    try:
        fleet_ = Fleet(hub, str(tmp_path))
        fleet_.wait_for_seeded_clusters()
        yield fleet_
    finally:
        hub.stop()
        shutil.rmtree(str(tmp_path / "hub"), ignore_errors=True)
