"""Start, stop and inspect the local test hub: one etcd, a hub and a spoke kube-apiserver, CRDs, a Git daemon and the simulator.

    python -m testhub.hubctl up|down|status [--run-dir DIR] [--port-base N] [--crds upstream|builtin|auto]
                                            [--no-simulator] [--audit] [--speed N]
                                            [--siteconfig-operator real|model|auto] [--talm real|model|auto]
                                            [--policy real|model|auto]

Everything listens on 127.0.0.1 only. Processes are recorded by PID (and start time) in `<run-dir>/state.json`;
`down` stops exactly those.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import dynamic as k8s_dynamic

from testhub import controllers, crdset, gitrepo, pki, policy_controllers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_RUN_DIR = os.path.join(REPO, ".hub")
DEFAULT_PORT_BASE = 16440
DEFAULT_SPEED = 60
READY_TIMEOUT = 120.0

# Port offsets from the port base.
PORTS = {"etcd": 0, "etcd-peer": 1, "hub": 3, "spoke": 4, "git": 5, "siteconfig-webhook": 6, "siteconfig-health": 7, "talm-health": 8}

HUB_NAMESPACES = ("ztp-common", "ztp-group", "ztp-site", "ztp-install", "openshift-gitops", "open-cluster-management", "ztp-simulator")
SPOKE_NAMESPACES = ("openshift-ptp", "openshift-sriov-network-operator", "openshift-cluster-node-tuning-operator",
                    "openshift-machine-config-operator")
SIMULATOR_NAMESPACE = "ztp-simulator"
SIMULATOR_CONFIGMAP = "hub-simulator"
GITOPS_NAMESPACE = "openshift-gitops"
ARGO_APPS = {"clusters": "siteconfig", "policies": "policygentemplates"}
ARGO_PROJECT = "ztp-app-project"

# Order matters for `down`: consumers first, etcd last.
COMPONENTS = ("etcd", "hub", "spoke", "git", "siteconfig-operator", "talm", "policy-propagator", "policy-addon",
              "config-policy-controller", "simulator")
# the processes of the real governance controllers (testhub/policy_controllers.py)
POLICY_PROCESSES = {"policy-propagator": policy_controllers.PROPAGATOR, "policy-addon": policy_controllers.ADDON,
                    "config-policy-controller": policy_controllers.CPC}
OPERATOR_READY_TIMEOUT = 90.0
# comma-separated clusters that get an API server each (Hub(cluster_spokes=...)), beyond the spoke's own
CLUSTER_SPOKES_SWITCH = "ZTP_CLUSTER_SPOKES"

AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
rules:
  - level: Metadata
"""


def default_bin_dir() -> str:
    cache = os.environ.get("ZTP_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ztp-sno-expand")
    return os.environ.get("ZTP_TESTHUB_BIN") or os.path.join(cache, "testhub", "bin")


def _proc_starttime(pid: int) -> str | None:
    """Start time of a live (non-zombie) process in clock ticks since boot, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    """A port of 127.0.0.1 free now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_base(start: int = 17440, avoid: tuple[int, ...] = (), slots: int = 400, step: int = 10) -> int:
    """A port base >= ``start`` whose ports are all free on 127.0.0.1; the search start is spread by PID so that
    parallel test sessions rarely race for the same range."""
    first = os.getpid() % slots
    for i in range(slots):
        base = start + ((first + i) % slots) * step
        if base not in avoid and all(_port_free(base + offset) for offset in range(max(PORTS.values()) + 1)):
            return base
    raise HubError(f"no free range of {max(PORTS.values()) + 1} ports found from {start} on")


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


class HubError(RuntimeError):
    """The test hub could not be started or used."""


class Hub:
    """One test hub in one run directory.

    `Hub(run_dir).start()` starts what is not running yet and returns when all parts are ready; `.stop()` stops
    the processes recorded in `<run_dir>/state.json`.
    """

    def __init__(self, run_dir: str | None = None, port_base: int | None = DEFAULT_PORT_BASE, crds: str = "auto",
                 simulator: bool = True, audit: bool = False, speed: int | None = None, bin_dir: str | None = None,
                 siteconfig_operator: str | None = None, talm: str | None = None, policy: str | None = None,
                 cluster_spokes: tuple[str, ...] | list[str] | None = None):
        self.run_dir = os.path.abspath(run_dir or DEFAULT_RUN_DIR)
        self.crds_choice = crds
        self.simulator = simulator
        self.audit = audit
        self.speed = speed
        self.bin_dir = bin_dir or default_bin_dir()
        self.pki_dir = os.path.join(self.run_dir, "pki")
        self.state_file = os.path.join(self.run_dir, "state.json")
        self.timings: dict[str, float] = {}
        self._children: dict[int, subprocess.Popen] = {}
        state = self._load_state()
        recorded = state.get("port_base")
        if port_base is None:
            port_base = recorded or DEFAULT_PORT_BASE
        elif recorded and recorded != port_base and self._running_names(state):
            raise HubError(f"a hub already runs in {self.run_dir} on port base {recorded}; stop it first")
        if port_base < 16440 or port_base + max(PORTS.values()) > 65535:
            raise HubError(f"port base {port_base} out of range (16440 and above)")
        self.port_base = port_base
        # real: the siteconfig operator renders ClusterInstances; model: the simulator does (testhub/controllers.py).
        # Without a choice (argument or environment) a run folder keeps the mode it was started with.
        if siteconfig_operator is None and controllers.SWITCH not in os.environ and state.get("siteconfig_operator"):
            self.siteconfig_operator = state["siteconfig_operator"]
        else:
            try:
                self.siteconfig_operator = controllers.resolve(siteconfig_operator)
            except ValueError as err:
                raise HubError(str(err)) from err
        # real: TALM's manager reconciles ClusterGroupUpgrades; model: the simulator does (testhub/controllers.py).
        if talm is None and controllers.TALM_SWITCH not in os.environ and state.get("talm"):
            self.talm = state["talm"]
        else:
            try:
                self.talm = controllers.talm_resolve(talm)
            except ValueError as err:
                raise HubError(str(err)) from err
        # managed clusters beyond the spoke's own (policy_controllers.SPOKE_CLUSTER) with an API server each, in the same
        # etcd under their own prefix; with the real policy controllers each gets its add-on and config-policy controller
        if cluster_spokes is None:
            cluster_spokes = state.get("cluster_spokes") or [c for c in os.environ.get(CLUSTER_SPOKES_SWITCH, "").split(",") if c]
        self.cluster_spokes = tuple(sorted(set(str(c) for c in cluster_spokes)))
        if policy_controllers.SPOKE_CLUSTER in self.cluster_spokes:
            raise HubError(f"{policy_controllers.SPOKE_CLUSTER} has the spoke API server already; name other clusters")
        if state.get("cluster_spokes") is not None and list(self.cluster_spokes) != state["cluster_spokes"] \
                and self._running_names(state):
            raise HubError(f"a hub runs in {self.run_dir} with cluster spokes {state['cluster_spokes']}; stop it first")
        self._spoke_ports: dict[str, int] = dict(state.get("spoke_ports") or {})
        # real: the ACM governance controllers replicate policies and the spoke decides compliance; model: the simulator
        if policy is None and policy_controllers.SWITCH not in os.environ and state.get("policy"):
            self.policy = state["policy"]
        else:
            try:
                self.policy = policy_controllers.resolve(policy)
            except ValueError as err:
                raise HubError(str(err)) from err

    # ----------------------------------------------------------------- properties

    def port(self, name: str) -> int:
        if name in PORTS:
            return self.port_base + PORTS[name]
        return self._spoke_ports[name]

    @staticmethod
    def cluster_spoke_name(cluster: str) -> str:
        """The name of the API server (and its process) of a cluster spoke."""
        return f"spoke-{cluster}"

    @property
    def spoke_names(self) -> list[str]:
        """The spoke API servers: the spoke's own (``spoke``) and one per cluster spoke."""
        return ["spoke"] + [self.cluster_spoke_name(c) for c in self.cluster_spokes]

    def spoke_kubeconfig_of(self, cluster: str) -> str | None:
        """The kubeconfig of the API server that stands for ``cluster``, or None when it has none."""
        if cluster == policy_controllers.SPOKE_CLUSTER:
            return self.spoke_kubeconfig
        if cluster in self.cluster_spokes:
            return os.path.join(self.run_dir, f"{self.cluster_spoke_name(cluster)}.kubeconfig")
        return None

    def _kubeconfig_of(self, name: str) -> str:
        if name.startswith("spoke-"):
            return os.path.join(self.run_dir, f"{name}.kubeconfig")
        return {"hub": self.hub_kubeconfig, "spoke": self.spoke_kubeconfig, "simulator": self.simulator_kubeconfig}[name]

    @property
    def hub_url(self) -> str:
        return f"https://127.0.0.1:{self.port('hub')}"

    @property
    def spoke_url(self) -> str:
        return f"https://127.0.0.1:{self.port('spoke')}"

    @property
    def hub_kubeconfig(self) -> str:
        return os.path.join(self.run_dir, "hub.kubeconfig")

    @property
    def spoke_kubeconfig(self) -> str:
        return os.path.join(self.run_dir, "spoke.kubeconfig")

    @property
    def simulator_kubeconfig(self) -> str:
        return os.path.join(self.run_dir, "simulator.kubeconfig")

    @property
    def git_url(self) -> str:
        return gitrepo.url(self.port("git"))

    @property
    def git_dir(self) -> str:
        return os.path.join(self.run_dir, "git")

    @property
    def env_file(self) -> str:
        return os.path.join(self.run_dir, "env")

    @property
    def audit_log(self) -> str:
        return os.path.join(self.run_dir, "hub-audit.log")

    @property
    def gitops_workdir(self) -> str:
        """The playbooks' GitOps working copy for this hub (role gitops reads ZTP_GITOPS_WORKDIR).

        Every test hub serves the same URL and seeds the same first commit, so a working copy keyed by the URL
        alone would meet the commits of another checkout's (or an earlier) hub. It lives with the hub's Git
        repository in the run folder instead, and goes when the run folder goes.
        """
        return os.path.join(self.run_dir, "gitops-work")

    @property
    def env(self) -> dict[str, str]:
        return {
            "K8S_AUTH_KUBECONFIG": self.hub_kubeconfig,
            "ZTP_SPOKE_KUBECONFIG": self.spoke_kubeconfig,
            "ZTP_GITOPS_REPO": self.git_url,
            "ZTP_GITOPS_WORKDIR": self.gitops_workdir,
            "ZTP_HUB_RUN_DIR": self.run_dir,
            "ZTP_SIMULATOR_KUBECONFIG": self.simulator_kubeconfig,
        }

    @property
    def crds(self) -> str:
        """The CRD set in use (`upstream` or `builtin`)."""
        return self._load_state().get("crds") or crdset.resolve(self.crds_choice)

    # ----------------------------------------------------------------- clients

    def api_client(self, which: str = "hub") -> k8s_client.ApiClient:
        """A kubernetes ApiClient for `hub`, `spoke`, `spoke-<cluster>` or `simulator` (the hub as user hub-simulator)."""
        return k8s_config.new_client_from_config(config_file=self._kubeconfig_of(which))

    def api(self, which: str = "hub") -> k8s_dynamic.DynamicClient:
        """A kubernetes DynamicClient for `hub`, `spoke`, `spoke-<cluster>` or `simulator`."""
        return k8s_dynamic.DynamicClient(self.api_client(which))

    def spoke_api(self) -> k8s_dynamic.DynamicClient:
        return self.api("spoke")

    # ----------------------------------------------------------------- state

    def _load_state(self) -> dict:
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: dict) -> None:
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, self.state_file)

    @staticmethod
    def _alive(entry: dict | None) -> bool:
        if not entry:
            return False
        return _proc_starttime(entry["pid"]) == entry.get("starttime")

    def _running_names(self, state: dict | None = None) -> list[str]:
        state = self._load_state() if state is None else state
        return [n for n, e in state.get("processes", {}).items() if self._alive(e)]

    def pids(self) -> dict[str, int]:
        """PIDs of the recorded processes that are still running."""
        procs = self._load_state().get("processes", {})
        return {n: e["pid"] for n, e in procs.items() if self._alive(e)}

    @contextmanager
    def _locked(self):
        os.makedirs(self.run_dir, exist_ok=True)
        with open(os.path.join(self.run_dir, ".lock"), "w", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ----------------------------------------------------------------- processes

    def _spawn(self, state: dict, name: str, argv: list[str], log: str, env: dict | None = None, cwd: str | None = None) -> None:
        with open(log, "ab") as out:
            out.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
            out.flush()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                    start_new_session=True, env=env, cwd=cwd or self.run_dir)
        self._children[proc.pid] = proc
        starttime = None
        for _attempt in range(50):
            starttime = _proc_starttime(proc.pid)
            if starttime:
                break
            time.sleep(0.01)
        state.setdefault("processes", {})[name] = {"pid": proc.pid, "starttime": starttime, "argv": argv, "log": log}
        self._save_state(state)

    def _exited(self, entry: dict) -> bool:
        proc = self._children.get(entry["pid"])
        if proc is not None:
            if proc.poll() is not None:
                self._children.pop(entry["pid"], None)
                return True
            return False
        return not self._alive(entry)

    def _signal(self, entry: dict, sig: int) -> None:
        pid = entry["pid"]
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except OSError as err:
            if err.errno != errno.ESRCH:
                raise

    def _terminate(self, entry: dict, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; a process that is gone or was replaced is left alone."""
        if not self._alive(entry):
            self._exited(entry)
            return
        self._signal(entry, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._exited(entry):
                return
            time.sleep(0.05)
        if self._alive(entry):
            self._signal(entry, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self._exited(entry):
            time.sleep(0.05)

    def _ensure_port_free(self, name: str) -> None:
        port = self.port(name)
        deadline = time.monotonic() + 5
        while not _port_free(port):
            if time.monotonic() > deadline:
                raise HubError(f"port {port} ({name}) on 127.0.0.1 is in use by another process; choose another --port-base")
            time.sleep(0.1)

    def _etcd_argv(self) -> list[str]:
        client_url = f"http://127.0.0.1:{self.port('etcd')}"
        peer_url = f"http://127.0.0.1:{self.port('etcd-peer')}"
        return [os.path.join(self.bin_dir, "etcd"), "--name", "testhub", "--data-dir", os.path.join(self.run_dir, "etcd"),
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"testhub={peer_url}", "--initial-cluster-state", "new",
                "--unsafe-no-fsync", "--log-level", "warn"]

    def _apiserver_argv(self, name: str) -> list[str]:
        port = self.port(name)
        argv = [os.path.join(self.bin_dir, "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{self.port('etcd')}", f"--etcd-prefix=/registry-{name}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
                f"--cert-dir={os.path.join(self.run_dir, name + '-certs')}",
                f"--tls-cert-file={os.path.join(self.pki_dir, 'apiserver.crt')}",
                f"--tls-private-key-file={os.path.join(self.pki_dir, 'apiserver.key')}",
                f"--client-ca-file={os.path.join(self.pki_dir, 'ca.crt')}",
                f"--token-auth-file={os.path.join(self.pki_dir, 'tokens.csv')}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer=https://127.0.0.1:{port}",
                f"--service-account-key-file={os.path.join(self.pki_dir, 'sa.pub')}",
                f"--service-account-signing-key-file={os.path.join(self.pki_dir, 'sa.key')}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--disable-admission-plugins=ServiceAccount",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true", "--profiling=false", "--v=1"]
        if name == "hub" and self.audit:
            policy = os.path.join(self.run_dir, "audit-policy.yaml")
            with open(policy, "w", encoding="utf-8") as handle:
                handle.write(AUDIT_POLICY)
            argv += [f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}", "--audit-log-maxsize=0",
                     "--audit-log-format=json"]
        return argv

    def _simulator_argv(self) -> list[str]:
        return [sys.executable, "-m", "testhub.simulator", "--hub-kubeconfig", self.simulator_kubeconfig,
                "--spoke-kubeconfig", self.spoke_kubeconfig, "--git-url", self.git_url, "--branch", gitrepo.BRANCH,
                "--state-dir", os.path.join(self.run_dir, "simulator")] + [
                    arg for c in self.cluster_spokes for arg in ("--cluster-spoke", f"{c}={self.spoke_kubeconfig_of(c)}")]

    @staticmethod
    def simulator_available() -> bool:
        return os.path.exists(os.path.join(HERE, "simulator", "__main__.py"))

    # ----------------------------------------------------------------- readiness

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki_dir, "ca.crt"))
        ctx.load_cert_chain(os.path.join(self.pki_dir, "admin.crt"), os.path.join(self.pki_dir, "admin.key"))
        return ctx

    def _https_ok(self, url: str, ctx: ssl.SSLContext) -> bool:
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:  # nosec - loopback only
                return resp.status == 200
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    def apiserver_ready(self, name: str) -> bool:
        ctx = self._ssl_context()
        base = f"https://127.0.0.1:{self.port(name)}"
        return self._https_ok(base + "/readyz", ctx) and self._https_ok(base + "/api/v1/namespaces/default", ctx)

    def _wait_apiserver(self, name: str, state: dict, timeout: float = READY_TIMEOUT) -> None:
        entry = state["processes"][name]
        deadline = time.monotonic() + timeout
        while not self.apiserver_ready(name):
            if self._exited(entry):
                raise HubError(f"{name} kube-apiserver exited; last lines of {entry['log']}:\n{_tail(entry['log'])}")
            if time.monotonic() > deadline:
                raise HubError(f"{name} kube-apiserver not ready after {timeout:.0f} s; last lines of {entry['log']}:\n{_tail(entry['log'])}")
            time.sleep(0.25)

    def etcd_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port('etcd')}/health", timeout=2) as resp:  # nosec - loopback
                return json.loads(resp.read().decode()).get("health") == "true"
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _wait_etcd(self, state: dict, timeout: float = 60.0) -> None:
        entry = state["processes"]["etcd"]
        deadline = time.monotonic() + timeout
        while not self.etcd_ready():
            if self._exited(entry) or time.monotonic() > deadline:
                raise HubError(f"etcd not ready; last lines of {entry['log']}:\n{_tail(entry['log'])}")
            time.sleep(0.1)

    def _wait_git(self, state: dict, timeout: float = 30.0) -> None:
        entry = state["processes"]["git"]
        deadline = time.monotonic() + timeout
        while not (_port_open(self.port("git")) and gitrepo.reachable(self.port("git"))):
            if self._exited(entry) or time.monotonic() > deadline:
                raise HubError(f"git daemon not serving {self.git_url}; last lines of {entry['log']}:\n{_tail(entry['log'])}")
            time.sleep(0.1)

    def healthy(self) -> bool:
        """All wanted processes run and answer."""
        state = self._load_state()
        procs = state.get("processes", {})
        wanted = ["etcd", "hub", "git"] + self.spoke_names
        if not all(self._alive(procs.get(n)) for n in wanted) or not state.get("bootstrapped"):
            return False
        return (self.etcd_ready() and all(self.apiserver_ready(n) for n in ["hub"] + self.spoke_names)
                and _port_open(self.port("git")))

    # ----------------------------------------------------------------- start / stop

    def start(self) -> Hub:
        """Start what is not running yet, bootstrap the hub and the spoke, write the env file. Idempotent."""
        with self._locked():
            t_start = time.monotonic()
            state = self._load_state()
            if self.healthy():
                self._ensure_siteconfig_operator(state)
                self._ensure_talm(state)
                self._ensure_policy_controllers(state)
                self._ensure_simulator(state)
                self._apply_speed()
                self.write_env()
                self.timings = {"reused": round(time.monotonic() - t_start, 2)}
                return self
            for name in ("kube-apiserver", "etcd"):
                if not os.access(os.path.join(self.bin_dir, name), os.X_OK):
                    raise HubError(f"{os.path.join(self.bin_dir, name)} missing: run testhub/build.sh first")
            os.makedirs(self.run_dir, exist_ok=True)
            os.makedirs(os.path.join(self.run_dir, "simulator"), exist_ok=True)
            state.update({"port_base": self.port_base, "audit": self.audit, "crds": state.get("crds") or crdset.resolve(self.crds_choice),
                          "cluster_spokes": list(self.cluster_spokes)})
            for cluster in self.cluster_spokes:
                name = self.cluster_spoke_name(cluster)
                if name not in self._spoke_ports or not _port_free(self._spoke_ports[name]):
                    self._spoke_ports[name] = _free_port()
            state["spoke_ports"] = self._spoke_ports
            state.pop("bootstrapped", None)
            self._save_state(state)
            timings: dict[str, float] = {}

            t0 = time.monotonic()
            pki.ensure_pki(self.pki_dir)
            pki.write_kubeconfig(self.pki_dir, self.hub_url, self.hub_kubeconfig, "hub", "testhub-admin")
            pki.write_kubeconfig(self.pki_dir, self.spoke_url, self.spoke_kubeconfig, "spoke", "testhub-admin")
            for cluster in self.cluster_spokes:
                name = self.cluster_spoke_name(cluster)
                pki.write_kubeconfig(self.pki_dir, f"https://127.0.0.1:{self.port(name)}", self._kubeconfig_of(name), name,
                                     "testhub-admin")
            pki.write_kubeconfig(self.pki_dir, self.hub_url, self.simulator_kubeconfig, "hub", "hub-simulator")
            timings["pki"] = time.monotonic() - t0

            t0 = time.monotonic()
            if not self._alive(state.get("processes", {}).get("etcd")):
                self._ensure_port_free("etcd")
                self._ensure_port_free("etcd-peer")
                self._spawn(state, "etcd", self._etcd_argv(), os.path.join(self.run_dir, "etcd.log"))
            self._wait_etcd(state)
            timings["etcd"] = time.monotonic() - t0

            t0 = time.monotonic()
            for name in ["hub"] + self.spoke_names:
                if not self._alive(state.get("processes", {}).get(name)):
                    self._ensure_port_free(name)
                    self._spawn(state, name, self._apiserver_argv(name), os.path.join(self.run_dir, f"{name}-apiserver.log"))
            # Seed and serve Git while the API servers come up.
            t_git = time.monotonic()
            gitrepo.seed(self.git_dir)
            if not self._alive(state.get("processes", {}).get("git")):
                self._ensure_port_free("git")
                self._spawn(state, "git", gitrepo.daemon_argv(self.git_dir, self.port("git")), os.path.join(self.run_dir, "git-daemon.log"))
            self._wait_git(state)
            timings["git"] = time.monotonic() - t_git
            for name in ["hub"] + self.spoke_names:
                self._wait_apiserver(name, state)
            timings["apiservers"] = time.monotonic() - t0

            t0 = time.monotonic()
            self._bootstrap(state["crds"])
            timings["crds+objects"] = time.monotonic() - t0
            state["bootstrapped"] = True
            self._save_state(state)

            t0 = time.monotonic()
            self._ensure_siteconfig_operator(state)
            if self.siteconfig_operator == "real":
                timings["siteconfig-operator"] = time.monotonic() - t0
            t0 = time.monotonic()
            self._ensure_talm(state)
            if self.talm == "real":
                timings["talm"] = time.monotonic() - t0
            t0 = time.monotonic()
            self._ensure_policy_controllers(state)
            if self.policy == "real":
                timings["policy-controllers"] = time.monotonic() - t0
            self._ensure_simulator(state)
            self.write_env()
            timings["total"] = time.monotonic() - t_start
            self.timings = {k: round(v, 2) for k, v in timings.items()}
            state["timings"] = self.timings
            self._save_state(state)
            return self

    def stop(self) -> list[str]:
        """Stop the recorded processes (simulator, git, spoke, hub, etcd). Returns the names that were stopped."""
        with self._locked():
            state = self._load_state()
            procs = state.get("processes", {})
            stopped = []
            # a cluster spoke's controllers and API server go before the shared parts (etcd last)
            extras = sorted((n for n in procs if n not in COMPONENTS), key=lambda n: n.startswith("spoke-"))
            for name in extras + list(reversed(COMPONENTS)):
                entry = procs.get(name)
                if not entry:
                    continue
                if self._alive(entry):
                    self._terminate(entry)
                    stopped.append(name)
                procs.pop(name, None)
            state["processes"] = procs
            state.pop("bootstrapped", None)
            if os.path.exists(self.run_dir):
                self._save_state(state)
            return stopped

    def restart_apiserver(self, name: str = "hub") -> None:
        """Stop one API server and start it again with the same flags; returns when it is ready again."""
        if name not in ["hub"] + self.spoke_names:
            raise ValueError(f"name must be one of {', '.join(['hub'] + self.spoke_names)}")
        with self._locked():
            state = self._load_state()
            entry = state.get("processes", {}).get(name)
            if not entry:
                raise HubError(f"no {name} kube-apiserver recorded in {self.run_dir}")
            self._terminate(entry)
            self._ensure_port_free(name)
            self._spawn(state, name, entry["argv"], entry["log"])
            self._wait_apiserver(name, state)
            hub_set, spoke_set = crdset.split(crdset.load(state.get("crds") or self.crds_choice))
            crdset.wait_ready(self.api_client(name), hub_set if name == "hub" else spoke_set)

    def _ensure_simulator(self, state: dict) -> None:
        entry = state.get("processes", {}).get("simulator")
        if not self.simulator or self._alive(entry):
            return
        if not self.simulator_available():
            print("warning: testhub/simulator/__main__.py not found; the hub runs without the simulator", file=sys.stderr)
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH", "")) if p)
        env[controllers.SWITCH] = self.siteconfig_operator
        env[controllers.TALM_SWITCH] = self.talm
        env[policy_controllers.SWITCH] = self.policy
        self._spawn(state, "simulator", self._simulator_argv(), os.path.join(self.run_dir, "simulator.log"), env=env, cwd=REPO)
        time.sleep(0.5)
        if self._exited(state["processes"]["simulator"]):
            log = state["processes"]["simulator"]["log"]
            raise HubError(f"the simulator exited at once; last lines of {log}:\n{_tail(log)}")

    @property
    def siteconfig_cert_dir(self) -> str:
        return os.path.join(self.run_dir, "siteconfig-webhook")

    def _ensure_siteconfig_operator(self, state: dict) -> None:
        """Real mode: prerequisites, certificate, the operator process and its webhook registration (see
        testhub/controllers.py). Model mode: no stale webhook registration is left to refuse ClusterInstance writes."""
        api = self.api_client("hub")
        if state.get("siteconfig_operator") != self.siteconfig_operator:
            state["siteconfig_operator"] = self.siteconfig_operator
            self._save_state(state)
        entry = state.get("processes", {}).get("siteconfig-operator")
        if self.siteconfig_operator != "real":
            controllers.remove_webhook(api)
            if entry:
                self._terminate(entry)
                state["processes"].pop("siteconfig-operator", None)
                self._save_state(state)
            return
        if self._alive(entry) and _port_open(self.port("siteconfig-webhook")):
            return
        try:
            binary = controllers.ensure_built()
        except controllers.OperatorUnavailable as err:
            raise HubError(f"the real siteconfig operator (mode real) could not be built: {err}") from err
        controllers.install_prerequisites(api)
        ca_pem = controllers.ensure_cert(self.siteconfig_cert_dir)
        if entry and self._alive(entry):
            self._terminate(entry)
        for name in ("siteconfig-webhook", "siteconfig-health"):
            self._ensure_port_free(name)
        env = dict(os.environ)
        env.update({"KUBECONFIG": self.simulator_kubeconfig, "POD_NAMESPACE": controllers.OPERATOR_NAMESPACE})
        argv = controllers.argv(binary, self.siteconfig_cert_dir, self.port("siteconfig-webhook"), self.port("siteconfig-health"))
        log = os.path.join(self.run_dir, "siteconfig-operator.log")
        self._spawn(state, "siteconfig-operator", argv, log, env=env)
        entry = state["processes"]["siteconfig-operator"]
        deadline = time.monotonic() + OPERATOR_READY_TIMEOUT
        while not (self._operator_ready() and controllers.templates_ready(api)):
            if self._exited(entry) or time.monotonic() > deadline:
                raise HubError(f"the siteconfig operator is not ready; last lines of {log}:\n{_tail(log)}")
            time.sleep(0.2)
        controllers.register_webhook(api, self.port("siteconfig-webhook"), ca_pem)

    def _record_mode(self, state: dict, key: str, mode: str) -> None:
        """Record a real/model switch in ``state.json``; a change of a recorded mode restarts the simulator, which reads
        the switches from its environment when it starts."""
        if state.get(key) == mode:
            return
        previous = state.get(key)
        state[key] = mode
        sim = state.get("processes", {}).get("simulator")
        if previous and sim and self._alive(sim):
            self._terminate(sim)
            state["processes"].pop("simulator", None)
        self._save_state(state)

    def _ensure_talm(self, state: dict) -> None:
        """Real mode: TALM's CRDs and its manager process, ready when its ClusterGroupUpgrade controller runs (see
        testhub/controllers.py). The simulator learns the mode from ``ZTP_TALM`` when it starts: a change of mode
        restarts it."""
        self._record_mode(state, "talm", self.talm)
        entry = state.get("processes", {}).get("talm")
        if self.talm != "real":
            if entry:
                self._terminate(entry)
                state["processes"].pop("talm", None)
                self._save_state(state)
            return
        if self._alive(entry) and self._talm_ready(entry):
            return
        try:
            binary = controllers.ensure_talm_built()
            crds = controllers.talm_crds(binary)
        except controllers.TalmUnavailable as err:
            raise HubError(f"the real TALM (mode real) could not be built: {err}") from err
        controllers.install_talm_crds(self.api_client("hub"), crds)
        if entry and self._alive(entry):
            self._terminate(entry)
        self._ensure_port_free("talm-health")
        env = dict(os.environ)
        env["KUBECONFIG"] = self.simulator_kubeconfig
        log = os.path.join(self.run_dir, "talm.log")
        self._spawn(state, "talm", controllers.talm_argv(binary, self.port("talm-health")), log, env=env)
        entry = state["processes"]["talm"]
        deadline = time.monotonic() + OPERATOR_READY_TIMEOUT
        while not self._talm_ready(entry):
            if self._exited(entry) or time.monotonic() > deadline:
                raise HubError(f"TALM is not ready; last lines of {log}:\n{_tail(log)}")
            time.sleep(0.2)

    def _ensure_policy_controllers(self, state: dict) -> None:
        """Real mode: the propagator on the hub, and the framework add-on and config-policy controller of each cluster
        with an API server (the spoke's own and the cluster spokes), each ready when its main controller runs (see
        testhub/policy_controllers.py). As for TALM, a change of mode restarts the simulator, which learns it from
        ``ZTP_POLICY``."""
        self._record_mode(state, "policy", self.policy)
        procs = state.get("processes", {})
        if self.policy != "real":
            for name in self._policy_processes():
                if procs.get(name):
                    self._terminate(procs[name])
                    procs.pop(name, None)
            self._save_state(state)
            return
        wanted = self._policy_processes()
        if all(self._alive(procs.get(name)) and policy_controllers.started(binary, procs[name]["log"])
               for name, binary in wanted.items()):
            return
        try:
            binaries = policy_controllers.ensure_built()
            hub_crds, spoke_crds = policy_controllers.hub_crds(), policy_controllers.spoke_crds()
        except policy_controllers.PolicyControllersUnavailable as err:
            raise HubError(f"the real policy controllers (mode real) could not be built: {err}") from err
        hub_api = self.api_client("hub")
        policy_controllers.install_crds(hub_api, hub_crds)
        argvs = {"policy-propagator": (policy_controllers.propagator_argv(binaries[policy_controllers.PROPAGATOR]),
                                       {"KUBECONFIG": self.simulator_kubeconfig, "WATCH_NAMESPACE": ""})}
        # one framework add-on and one config-policy controller per managed cluster with an API server, as on a real
        # fleet where each spoke runs its own
        for cluster in (policy_controllers.SPOKE_CLUSTER,) + self.cluster_spokes:
            kubeconfig = self.spoke_kubeconfig_of(cluster)
            spoke_api = k8s_config.new_client_from_config(config_file=kubeconfig)
            policy_controllers.install_crds(spoke_api, spoke_crds)
            policy_controllers.ensure_namespace(hub_api, cluster)
            policy_controllers.ensure_namespace(spoke_api, cluster)
            policy_controllers.ensure_addon_deployment(spoke_api)
            suffix = "" if cluster == policy_controllers.SPOKE_CLUSTER else f"-{cluster}"
            argvs[f"policy-addon{suffix}"] = (
                policy_controllers.addon_argv(binaries[policy_controllers.ADDON], self.simulator_kubeconfig, kubeconfig, cluster),
                {"KUBECONFIG": kubeconfig, "WATCH_NAMESPACE": cluster, **policy_controllers.ADDON_ENV})
            argvs[f"config-policy-controller{suffix}"] = (
                policy_controllers.cpc_argv(binaries[policy_controllers.CPC], cluster),
                {"KUBECONFIG": kubeconfig, "WATCH_NAMESPACE": cluster})
        for name, (argv, extra) in argvs.items():
            entry = procs.get(name)
            if entry and self._alive(entry):
                self._terminate(entry)
            env = dict(os.environ)
            env.update(extra)
            self._spawn(state, name, argv, os.path.join(self.run_dir, f"{name}.log"), env=env)
        deadline = time.monotonic() + OPERATOR_READY_TIMEOUT
        for name, binary in wanted.items():
            entry = state["processes"][name]
            while not policy_controllers.started(binary, entry["log"]):
                if self._exited(entry) or time.monotonic() > deadline:
                    raise HubError(f"{name} is not ready; last lines of {entry['log']}:\n{_tail(entry['log'])}")
                time.sleep(0.2)

    def _policy_processes(self) -> dict[str, str]:
        """Process name -> controller binary of the real policy controllers: the propagator, and an add-on and a
        config-policy controller per cluster with an API server."""
        wanted = dict(POLICY_PROCESSES)
        for cluster in self.cluster_spokes:
            wanted[f"policy-addon-{cluster}"] = policy_controllers.ADDON
            wanted[f"config-policy-controller-{cluster}"] = policy_controllers.CPC
        return wanted

    def _talm_ready(self, entry: dict) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port('talm-health')}/readyz", timeout=2) as resp:  # nosec - loopback
                ready = resp.status == 200
        except (urllib.error.URLError, OSError):
            return False
        return ready and controllers.talm_started(entry["log"])

    def _operator_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port('siteconfig-health')}/readyz", timeout=2) as resp:  # nosec - loopback
                ready = resp.status == 200
        except (urllib.error.URLError, OSError):
            return False
        return ready and _port_open(self.port("siteconfig-webhook"))

    # ----------------------------------------------------------------- bootstrap

    def _bootstrap(self, crd_choice: str) -> None:
        hub_set, spoke_set = crdset.split(crdset.load(crd_choice))
        errors: list[BaseException] = []

        def spoke_side() -> None:
            try:
                for name in self.spoke_names:
                    api = self.api_client(name)
                    crdset.install(api, spoke_set)
                    core = k8s_client.CoreV1Api(api)
                    for ns in SPOKE_NAMESPACES:
                        _create(core.create_namespace, _namespace(ns))
            except Exception as err:  # pylint: disable=broad-exception-caught
                errors.append(err)

        worker = threading.Thread(target=spoke_side, name="spoke-bootstrap")
        worker.start()
        api = self.api_client("hub")
        crdset.install(api, hub_set)
        self._hub_objects(api)
        worker.join()
        if errors:
            raise HubError(f"spoke bootstrap failed: {errors[0]}") from errors[0]

    def _hub_objects(self, api: k8s_client.ApiClient) -> None:
        core = k8s_client.CoreV1Api(api)
        custom = k8s_client.CustomObjectsApi(api)
        for ns in HUB_NAMESPACES:
            _create(core.create_namespace, _namespace(ns))
        _create(lambda b: custom.create_cluster_custom_object("cluster.open-cluster-management.io", "v1beta2", "managedclustersets", b),
                {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSet", "metadata": {"name": "global"},
                 "spec": {"clusterSelector": {"selectorType": "LabelSelector", "labelSelector": {}}}})
        for ns in (n for n in HUB_NAMESPACES if n.startswith("ztp")):
            _create(lambda b, ns=ns: custom.create_namespaced_custom_object("cluster.open-cluster-management.io", "v1beta2", ns,
                                                                            "managedclustersetbindings", b),
                    {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSetBinding",
                     "metadata": {"name": "global", "namespace": ns}, "spec": {"clusterSet": "global"}})
        _create(lambda b: custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", GITOPS_NAMESPACE, "appprojects", b),
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": ARGO_PROJECT, "namespace": GITOPS_NAMESPACE},
                 "spec": {"sourceRepos": ["*"], "destinations": [{"namespace": "*", "server": "*"}],
                          "clusterResourceWhitelist": [{"group": "*", "kind": "*"}], "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}]}})
        for app, path in ARGO_APPS.items():
            _create(lambda b: custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", GITOPS_NAMESPACE, "applications", b),
                    self._argo_application(app, path))
        _create(lambda b: core.create_namespaced_config_map(SIMULATOR_NAMESPACE, b), self._simulator_configmap())
        self._apply_speed(api)

    def _argo_application(self, name: str, path: str) -> dict:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": GITOPS_NAMESPACE},
            "spec": {
                "project": ARGO_PROJECT,
                "destination": {"server": "https://kubernetes.default.svc", "namespace": f"{name}-sub"},
                "source": {"repoURL": self.git_url, "targetRevision": gitrepo.BRANCH, "path": path},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                               "syncOptions": ["CreateNamespace=true", "PrunePropagationPolicy=background", "RespectIgnoreDifferences=true"]},
            },
        }

    def _simulator_configmap(self) -> dict:
        settings = {
            "speed": self.speed if self.speed is not None else DEFAULT_SPEED,
            "faults": [],
            "spokes": {
                "sno-a": {"ptp": "master", "sriov": "master"},
                "sno-b": {"ptp": "worker", "sriov": "worker"},
                "sno-c": {"ptp": "worker", "sriov": "worker"},
            },
        }
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": SIMULATOR_CONFIGMAP, "namespace": SIMULATOR_NAMESPACE},
                "data": {"config.yaml": yaml.safe_dump(settings, sort_keys=False)}}

    def _apply_speed(self, api: k8s_client.ApiClient | None = None) -> None:
        """When a speed was given explicitly, set it in the simulator settings (other keys are kept)."""
        if self.speed is None:
            return
        core = k8s_client.CoreV1Api(api or self.api_client("hub"))
        cm = core.read_namespaced_config_map(SIMULATOR_CONFIGMAP, SIMULATOR_NAMESPACE)
        settings = yaml.safe_load((cm.data or {}).get("config.yaml") or "{}") or {}
        if settings.get("speed") == self.speed:
            return
        settings["speed"] = self.speed
        core.patch_namespaced_config_map(SIMULATOR_CONFIGMAP, SIMULATOR_NAMESPACE,
                                         {"data": {"config.yaml": yaml.safe_dump(settings, sort_keys=False)}})

    # ----------------------------------------------------------------- env / status

    def write_env(self) -> str:
        lines = [f"export {k}={shlex.quote(v)}" for k, v in self.env.items()]
        tmp = self.env_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, self.env_file)
        return self.env_file

    def status(self) -> dict:
        state = self._load_state()
        procs = state.get("processes", {})
        where = {"etcd": f"http://127.0.0.1:{self.port('etcd')}", "hub": self.hub_url, "spoke": self.spoke_url,
                 "git": self.git_url, "simulator": "-",
                 "siteconfig-operator": f"https://127.0.0.1:{self.port('siteconfig-webhook')}" if self.siteconfig_operator == "real" else "-",
                 "talm": f"http://127.0.0.1:{self.port('talm-health')}/readyz" if self.talm == "real" else "-"}
        where.update({name: "hub" if name == "policy-propagator" else f"spoke ({policy_controllers.SPOKE_CLUSTER})"
                      for name in POLICY_PROCESSES})
        for cluster in self.cluster_spokes:
            name = self.cluster_spoke_name(cluster)
            where[name] = f"https://127.0.0.1:{self.port(name)} ({cluster})" if name in self._spoke_ports else "-"
            where[f"policy-addon-{cluster}"] = where[f"config-policy-controller-{cluster}"] = f"{name} ({cluster})"
        rows = {}
        for name in list(COMPONENTS) + sorted(n for n in where if n not in COMPONENTS):
            entry = procs.get(name)
            rows[name] = {"pid": entry["pid"] if entry else None, "running": self._alive(entry), "where": where[name],
                          "log": entry["log"] if entry else None}
        return {"run_dir": self.run_dir, "port_base": self.port_base, "crds": state.get("crds"), "audit": state.get("audit", False),
                "siteconfig_operator": self.siteconfig_operator, "talm": self.talm, "policy": self.policy,
                "cluster_spokes": list(self.cluster_spokes),
                "processes": rows, "env_file": self.env_file if os.path.exists(self.env_file) else None, "timings": state.get("timings")}


def _namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _create(create, body: dict) -> None:
    """Create an object unless it exists."""
    try:
        create(body)
    except k8s_client.ApiException as err:
        if err.status != 409:
            raise


def _print_status(info: dict) -> None:
    print(f"run dir:   {info['run_dir']}")
    print(f"port base: {info['port_base']}   CRDs: {info['crds'] or '-'}   audit: {'on' if info['audit'] else 'off'}"
          f"   siteconfig operator: {info['siteconfig_operator']}   TALM: {info['talm']}   policy: {info.get('policy', 'model')}")
    for name, row in info["processes"].items():
        state = f"running pid {row['pid']}" if row["running"] else "stopped"
        print(f"  {name:<19} {state:<20} {row['where']}")
    if info["env_file"]:
        print(f"env file:  {info['env_file']}   (source it: . {shlex.quote(info['env_file'])})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testhub.hubctl", description="Local test hub of ztp.sno_expand")
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--run-dir", default=os.environ.get("ZTP_HUB_RUN_DIR") or DEFAULT_RUN_DIR)
    parser.add_argument("--port-base", type=int, default=None, help=f"first port (default {DEFAULT_PORT_BASE} or the one recorded)")
    parser.add_argument("--crds", choices=("upstream", "builtin", "auto"), default="auto")
    parser.add_argument("--no-simulator", action="store_true")
    parser.add_argument("--audit", action="store_true", help="write an audit log of the hub (<run-dir>/hub-audit.log)")
    parser.add_argument("--speed", type=int, default=None, help=f"simulated seconds per real second (default {DEFAULT_SPEED})")
    parser.add_argument("--siteconfig-operator", choices=controllers.MODES, default=None,
                        help=f"who renders ClusterInstances: the real siteconfig operator or the simulator's model "
                             f"(default ${controllers.SWITCH} or model)")
    parser.add_argument("--talm", choices=controllers.MODES, default=None,
                        help=f"who reconciles ClusterGroupUpgrades: the real TALM or the simulator's model (default ${controllers.TALM_SWITCH} or model)")
    parser.add_argument("--policy", choices=policy_controllers.MODES, default=None,
                        help=f"who replicates policies and decides compliance: the real ACM governance controllers (the "
                             f"clusters with an API server) or the simulator's model (default ${policy_controllers.SWITCH} or model)")
    parser.add_argument("--cluster-spokes", default=None, metavar="CLUSTER,...",
                        help=f"clusters beyond {policy_controllers.SPOKE_CLUSTER} that get an API server each "
                             f"(default ${CLUSTER_SPOKES_SWITCH} or the ones recorded)")
    args = parser.parse_args(argv)
    try:
        hub = Hub(args.run_dir, port_base=args.port_base, crds=args.crds, simulator=not args.no_simulator, audit=args.audit, speed=args.speed,
                  siteconfig_operator=args.siteconfig_operator, talm=args.talm, policy=args.policy,
                  cluster_spokes=None if args.cluster_spokes is None else [c for c in args.cluster_spokes.split(",") if c])
        if args.command == "up":
            hub.start()
            _print_status(hub.status())
            print("start-up: " + ", ".join(f"{k} {v} s" for k, v in hub.timings.items()))
        elif args.command == "down":
            stopped = hub.stop()
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        else:
            _print_status(hub.status())
    except HubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
