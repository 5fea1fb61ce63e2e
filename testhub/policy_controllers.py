"""The real ACM governance controllers on the test hub, in place of the simulator's policy model.

``testhub/build-policy-controllers.sh`` builds them from their source in ``<shared>/controllers`` into
``$ZTP_CACHE/controllers``; ``policy-status.json`` there records the outcome of the last build.

The switch ``ZTP_POLICY`` (or ``Hub(policy=...)``, ``hubctl up --policy``): ``model`` (the default: the simulator
replicates policies and decides compliance, testhub/simulator/policies.py), ``real`` (the controllers must build and
run, else ``up`` fails with the build error) or ``auto`` (``real`` when their sources exist).

Layout in ``real`` mode (``Hub._ensure_policy_controllers``):

* hub API server: ``governance-policy-propagator`` replicates root policies into the cluster namespaces that the
  PlacementDecisions name and writes the root policies' status. The simulator still writes the PlacementDecisions
  (no placement controller builds here) and still runs the ``policies`` ArgoCD Application.
* the spoke API server stands for one managed cluster (``SPOKE_CLUSTER``, the simulator's ``spokeCluster``):
  ``governance-policy-framework-addon`` copies that cluster's replicated policies from its hub namespace into the
  same namespace on the spoke, creates their ConfigurationPolicies, and sends status back;
  ``config-policy-controller`` evaluates and enforces the ConfigurationPolicies against the spoke's API. Compliance
  of that cluster is therefore the spoke's own: a kind the spoke does not serve stays NonCompliant with the
  controller's message.
* other ManagedClusters have no spoke and no add-on: their replicated policies carry no status, as on a hub whose
  add-on for a cluster is not running. Fleet-sized runs keep the simulator's model (``ZTP_POLICY=model``).
"""

from __future__ import annotations

import os
import subprocess

from kubernetes import client as k8s_client

from testhub import controllers, generators
from testhub.simulator.core import DEFAULT_SPOKE

HERE = os.path.dirname(os.path.abspath(__file__))
SWITCH = "ZTP_POLICY"
MODES = ("real", "model", "auto")
PROPAGATOR = "governance-policy-propagator"
ADDON = "governance-policy-framework-addon"
CPC = "config-policy-controller"
NAMES = (PROPAGATOR, ADDON, CPC)
# the cluster the spoke API server stands for (the simulator's default ``spokeCluster``)
SPOKE_CLUSTER = DEFAULT_SPOKE
CRD_MARK = "ztp-testhub/policy-crd"
# hub: the propagator's CRDs (Policy, PlacementBinding, PolicySet, PolicyAutomation)
HUB_CRD_FILES = (
    (PROPAGATOR, "deploy/crds/policy.open-cluster-management.io_policies.yaml"),
    (PROPAGATOR, "deploy/crds/policy.open-cluster-management.io_placementbindings.yaml"),
    (PROPAGATOR, "deploy/crds/policy.open-cluster-management.io_policysets.yaml"),
    (PROPAGATOR, "deploy/crds/policy.open-cluster-management.io_policyautomations.yaml"),
)
# spoke: the replicated Policy (synced down by the add-on) and what the config-policy controller evaluates
SPOKE_CRD_FILES = (
    (PROPAGATOR, "deploy/crds/policy.open-cluster-management.io_policies.yaml"),
    (CPC, "deploy/crds/policy.open-cluster-management.io_configurationpolicies.yaml"),
)
# controller-runtime's line once a controller's caches synced, logged (console format, tab-separated) under the
# controller's name: the propagator's replicated-policy controller, the add-on's spec-sync (hub -> spoke), the
# config-policy controller's own
STARTED_LINES = {
    PROPAGATOR: ("Starting workers", "\treplicated-policy\t"),
    ADDON: ("Starting workers", "\tpolicy-spec-sync\t"),
    CPC: ("Starting workers", "\tconfiguration-policy-controller\t"),
}


class PolicyControllersUnavailable(RuntimeError):
    """The governance controllers are not built (the message carries the build error) or a CRD file is missing."""


def sources_dir(name: str = PROPAGATOR) -> str:
    return os.path.join(generators.shared_dir(), "controllers", name)


def sources_present() -> bool:
    return all(os.path.isdir(sources_dir(name)) for name in NAMES)


def resolve(choice: str | None = None) -> str:
    """``real`` or ``model`` for a choice (None: ``$ZTP_POLICY``, default ``model``)."""
    return controllers.resolve_mode(SWITCH, choice, sources_present)


def ensure_built(timeout: float = 5400) -> dict[str, str]:
    """Run testhub/build-policy-controllers.sh (a no-op when the cache is current): {name: binary}."""
    proc = subprocess.run(["bash", os.path.join(HERE, "build-policy-controllers.sh")], capture_output=True, text=True,
                          timeout=timeout, check=False)
    binaries = {os.path.basename(line.strip()): line.strip() for line in proc.stdout.splitlines() if line.strip()}
    if proc.returncode != 0 or not all(os.access(binaries.get(name, ""), os.X_OK) for name in NAMES):
        raise PolicyControllersUnavailable(
            f"testhub/build-policy-controllers.sh exited {proc.returncode}:\n{proc.stderr.strip()}")
    return binaries


def _load_crds(files) -> list[dict]:
    try:
        return controllers.load_marked_crds([os.path.join(sources_dir(name), rel) for name, rel in files], CRD_MARK)
    except FileNotFoundError as err:
        raise PolicyControllersUnavailable(str(err)) from err


def hub_crds() -> list[dict]:
    return _load_crds(HUB_CRD_FILES)


def spoke_crds() -> list[dict]:
    return _load_crds(SPOKE_CRD_FILES)


def install_crds(api: k8s_client.ApiClient, crds: list[dict]) -> None:
    """Create the CRDs, or replace an existing one that is not this very file (``CRD_MARK`` carries its sha256)."""
    controllers.install_marked_crds(api, crds, CRD_MARK)


def ensure_namespace(api: k8s_client.ApiClient, name: str) -> None:
    try:
        k8s_client.CoreV1Api(api).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    except k8s_client.ApiException as err:
        if err.status != 409:
            raise


# Readiness is read from the logs (``started``), so no controller binds a fixed health or metrics port: several test
# hubs run side by side. (The add-on's health endpoint proxy needs an address: any free port.)
# The add-on's uninstall watcher reads its own Deployment (governance-policy-framework-addon main.go, uninstall.StartWatcher):
# a missing one means "being uninstalled". Run locally (OSDK_FORCE_RUN_MODE=local, tool/operator-sdk-port.go) it looks
# in this namespace; the hub creates the Deployment object there, as the add-on's installation does on a real spoke
# (no kubelet runs it here).
ADDON_NAMESPACE = "open-cluster-management-agent-addon"
ADDON_ENV = {"OSDK_FORCE_RUN_MODE": "local"}


def addon_deployment() -> dict:
    labels = {"app": ADDON}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": ADDON, "namespace": ADDON_NAMESPACE},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": ADDON, "image": "governance-policy-framework-addon"}]}}}}


def ensure_addon_deployment(api: k8s_client.ApiClient) -> None:
    ensure_namespace(api, ADDON_NAMESPACE)
    try:
        k8s_client.AppsV1Api(api).create_namespaced_deployment(ADDON_NAMESPACE, addon_deployment())
    except k8s_client.ApiException as err:
        if err.status != 409:
            raise


def propagator_argv(binary: str) -> list[str]:
    """The propagator as its deployment runs it, without webhooks, metrics or leader election."""
    return [binary, "--leader-elect=false", "--enable-webhooks=false", "--metrics-bind-address", "0",
            "--health-probe-bind-address", "0"]


def addon_argv(binary: str, hub_kubeconfig: str, spoke_kubeconfig: str, cluster: str) -> list[str]:
    """The framework add-on between the hub and the spoke for one cluster (no Gatekeeper, no lease)."""
    return [binary, "--cluster-namespace", cluster, "--hub-cluster-configfile", hub_kubeconfig,
            "--managed-cluster-configfile", spoke_kubeconfig, "--leader-elect=false", "--disable-gatekeeper-sync",
            "--enable-lease=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:0"]


def cpc_argv(binary: str, cluster: str) -> list[str]:
    """The config-policy controller on the spoke for one cluster (no OperatorPolicy: no OLM on the spoke)."""
    return [binary, "controller", "--cluster-name", cluster, "--enable-lease=false", "--enable-operator-policy=false",
            "--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0"]


def started(name: str, log: str) -> bool:
    """The controller's main controller runs its workers (read from its log after the hub's last ``==== `` line)."""
    wanted = STARTED_LINES[name]
    ok = False
    try:
        with open(log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("==== "):
                    ok = False
                elif all(part in line for part in wanted):
                    ok = True
    except OSError:
        return False
    return ok
