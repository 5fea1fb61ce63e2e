"""Framework of the hub simulator: clients, settings, simulated clock, Git follower, fault lookup, controller loop.

A controller is a class with a ``name`` attribute, a constructor taking the ``Simulator`` and a ``reconcile()``
method called once per tick (optionally ``close()``). Controllers are isolated: an exception in one is logged and
the others still run. Status is written through the ``/status`` subresource where the CRD has one
(``Simulator.write_status``).
"""

from __future__ import annotations

import datetime
import fnmatch
import importlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
import traceback

import urllib3
import yaml
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
from kubernetes.watch.watch import iter_resp_lines

from .pgt_common import copy_obj

CONFIG_NAMESPACE = "ztp-simulator"
CONFIG_NAME = "hub-simulator"
CONFIG_KEY = "config.yaml"
DEFAULT_SPEED = 60.0
# the cluster the spoke API server stands for unless the settings name another (``spokeCluster``)
DEFAULT_SPOKE = "sno-a"
TICK_SECONDS = 0.25

# Controllers in reconcile order: "module:Class". Optional ones are skipped when their module is missing.
CONTROLLERS = [
    ("argocd_clusters:ClustersApp", True),
    ("hive:ClusterInstalls", True),
    ("metal3:BareMetalOperator", True),
    ("metal3:AssistedService", True),
    ("metal3:ClusterInfo", True),
    ("spoke:SpokeOperators", True),
    ("spoke:WorkerPools", True),
    ("spoke:ManagedClusterViews", True),
    ("policies:PoliciesApp", False),
    ("talm:Talm", False),
]

# Simulated seconds each step takes unless `delays.<name>` is set in the settings.
DEFAULT_DELAYS = {
    "argocd_resync": 180,          # ArgoCD compares with Git (polls) and re-applies (self-heal) this often
    "bmh_registering": 20,
    "bmh_inspecting": 300,         # ironic inspection: boot the IPA ramdisk, collect, power off
    "bmh_preparing": 60,           # manual cleaning steps with automatedCleaningMode disabled
    "bmh_available": 10,
    "bmh_provisioning_boot": 180,  # provisioning: booting the discovery ISO until the Agent registers
    "bmh_deprovisioning": 60,       # deleting a provisioned host: metadata cleaning (removal of a worker)
    "bmh_powering_off": 20,         # "powering off before delete"
    "ci_deletion_timeout": 1800,    # siteconfig operator deletion.go DefaultDeletionTimeout: then the ClusterInstance is paused
    "ppi_image": 30,
    "agent_discovery": 60,
    "agent_stage": 60,
    "agent_writing_image": 240,    # writing RHCOS to disk
    "node_boot": 420,              # reboot from disk, firmware start, first boot until the kubelet asks for its client CSR
    "csr_approval": 60,            # assisted-service re-checks the spoke every APPROVE_CSRS_REQUEUE_DURATION (1m)
    "node_ready": 60,
    "mcp_rollout": 900,            # the worker pool renders and rolls out the worker policies' MachineConfigs (drain, reboot)
    "mci_refresh": 30,             # ManagedClusterInfo node list period (nodecollecter.go updateInterval)
    "view_refresh": 30,            # ManagedClusterView period (view_controller.go DefaultUpdateInterval)
    "talm_requeue_medium": 60,     # TALM requeueWithMediumInterval: missing policies, missing or running blocking CGUs
    "talm_requeue_long": 300,      # TALM requeueWithLongInterval: clusters that are not ManagedClusters
}

log = logging.getLogger("testhub.simulator")


# Controllers that a real one replaces on the test hub: left out when the environment variable (set by
# testhub/hubctl.py from its switch) is "real".
REPLACED_BY_REAL = {"talm:Talm": "ZTP_TALM"}


def controller_classes():
    """The controller classes of ``CONTROLLERS`` (optional modules that do not exist are left out, and those a real
    controller replaces, ``REPLACED_BY_REAL``)."""
    classes = []
    for spec, required in CONTROLLERS:
        switch = REPLACED_BY_REAL.get(spec)
        if switch and os.environ.get(switch, "model").strip().lower() == "real":
            continue
        module_name, class_name = spec.split(":")
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as exc:
            if required or exc.name != f"{__package__}.{module_name}":
                raise
            continue
        classes.append(getattr(module, class_name))
    return classes


def now_stamp(at: float | None = None) -> str:
    """RFC 3339 UTC timestamp with second precision, as Kubernetes writes them."""
    moment = datetime.datetime.fromtimestamp(time.time() if at is None else at, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(value) -> float:
    """Epoch seconds of an RFC 3339 string, a datetime or a number."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def set_condition(conditions: list, ctype: str, status: str, reason: str, message: str = "", heartbeat: bool = False) -> list:
    """Return a copy of ``conditions`` with condition ``ctype`` set; ``lastTransitionTime`` changes only with the status."""
    result = [dict(c) for c in (conditions or [])]
    stamp = now_stamp()
    for cond in result:
        if cond.get("type") == ctype:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = stamp
            cond.update({"status": status, "reason": reason, "message": message})
            if heartbeat:
                cond["lastHeartbeatTime"] = stamp
            return result
    cond = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp}
    if heartbeat:
        cond["lastHeartbeatTime"] = stamp
    result.append(cond)
    return result


def condition(obj: dict, ctype: str) -> dict:
    """The condition ``ctype`` of ``obj.status.conditions`` ({} when absent)."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return {}


def _rv(obj) -> int:
    try:
        return int(((obj or {}).get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


def parse_selector(text: str | None):
    """{key: value or None} of an equality label selector (``k=v``, ``k==v``, ``k``); None when it uses other operators."""
    if not text:
        return {}
    wanted = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "!" in part or " in " in part or " notin " in part or "(" in part:
            return None
        if "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            wanted[key.strip()] = value.strip()
        else:
            wanted[part] = None
    return wanted


def selector_matches(wanted: dict, labels: dict) -> bool:
    return all(key in labels and (value is None or labels[key] == value) for key, value in wanted.items())


class Informer:
    """One LIST and one WATCH of a kind (all namespaces) feeding an in-memory store, like a client-go informer.

    The store holds the newest version of each object seen (by the watch or by the simulator's own writes, which
    are written through). Readers get copies.
    """

    def __init__(self, api_client, path: str, api_version: str, kind: str, stop: threading.Event):
        self.api_client = api_client
        self.path = path
        self.api_version = api_version
        self.kind = kind
        self._stop = stop
        self._lock = threading.Lock()
        self._store = {}
        self._rv = ""
        self.relist()
        self._thread = threading.Thread(target=self._run, name=f"informer-{kind}", daemon=True)
        self._thread.start()

    def _request(self, query, timeout):
        """The raw (unread) urllib3 response of a GET (``api_client`` is the DynamicClient)."""
        return self.api_client.request("GET", self.path, query_params=list(query), header_params={"Accept": "application/json"},
                                       _request_timeout=timeout, serialize=False)

    def relist(self) -> None:
        resp = self._request([], 120)
        try:
            data = json.loads(resp.data)
        finally:
            resp.release_conn()
        store = {}
        for item in data.get("items") or []:
            item.setdefault("apiVersion", self.api_version)
            item.setdefault("kind", self.kind)
            meta = item["metadata"]
            store[(meta.get("namespace"), meta["name"])] = item
        with self._lock:
            self._store = store
            self._rv = (data.get("metadata") or {}).get("resourceVersion") or ""

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
            except Exception as exc:  # pylint: disable=broad-except
                log.debug("informer %s: %s", self.kind, exc)
                if self._stop.wait(0.5):
                    return
                try:
                    self.relist()
                except Exception as exc2:  # pylint: disable=broad-except
                    log.debug("informer %s: relist: %s", self.kind, exc2)

    def _watch(self) -> None:
        query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", "240"), ("resourceVersion", self._rv)]
        resp = self._request(query, (10, 300))
        try:
            for line in iter_resp_lines(resp):
                if self._stop.is_set():
                    return
                event = json.loads(line)
                obj = event.get("object") or {}
                etype = event.get("type")
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        self.relist()
                        return
                    raise RuntimeError(obj.get("message") or "watch error")
                meta = obj.get("metadata") or {}
                with self._lock:
                    if meta.get("resourceVersion"):
                        self._rv = meta["resourceVersion"]
                    if etype == "BOOKMARK":
                        continue
                    obj.setdefault("apiVersion", self.api_version)
                    obj.setdefault("kind", self.kind)
                    key = (meta.get("namespace"), meta.get("name"))
                    if etype == "DELETED":
                        current = self._store.get(key)
                        if current is None or _rv(current) <= _rv(obj):
                            self._store.pop(key, None)
                    elif _rv(self._store.get(key)) <= _rv(obj):
                        self._store[key] = obj
        finally:
            resp.release_conn()

    def written(self, obj: dict) -> None:
        """Write-through of an object the simulator wrote (the response of the API server)."""
        meta = (obj or {}).get("metadata") or {}
        if not meta.get("name") or obj.get("kind") in ("Status", None):
            return
        obj.setdefault("apiVersion", self.api_version)
        key = (meta.get("namespace"), meta["name"])
        with self._lock:
            if _rv(self._store.get(key)) <= _rv(obj):
                self._store[key] = copy_obj(obj)

    def forget(self, namespace, name) -> None:
        with self._lock:
            self._store.pop((namespace, name), None)

    def get(self, name: str, namespace: str | None = None):
        with self._lock:
            obj = self._store.get((namespace, name))
        return copy_obj(obj) if obj is not None else None

    def items(self, namespace: str | None = None, selector: dict | None = None) -> list:
        with self._lock:
            objs = list(self._store.values())
        out = []
        for obj in objs:
            meta = obj["metadata"]
            if namespace is not None and meta.get("namespace") != namespace:
                continue
            if selector and not selector_matches(selector, meta.get("labels") or {}):
                continue
            out.append(copy_obj(obj))
        out.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
        return out


class Clock:
    """Simulated time: ``speed`` simulated seconds pass per real second; the speed may change at run time."""

    def __init__(self, speed: float = DEFAULT_SPEED, max_gap: float = 1.0):
        start = time.time()
        self._anchors = [(start, 0.0, float(speed))]   # (real epoch, simulated seconds, speed from then on)
        self._last_reading = None
        self.max_gap = max_gap
        self.held_seconds = 0.0

    @property
    def speed(self) -> float:
        return self._anchors[-1][2]

    def set_speed(self, speed: float) -> None:
        speed = float(speed)
        if speed != self.speed:
            real = time.time()
            self._anchors.append((real, self.sim_at(real), speed))

    def _hold(self, real: float) -> None:
        """Let at most ``max_gap`` real seconds since the previous reading count as simulated time.

        On a real hub the controllers run side by side; here one loop runs them in turn, so a step that is slow only
        here (rendering a push with the real generators takes seconds) would stall the others and, at speed 600,
        pass an hour of simulated time in six seconds: every CGU timing out while its policies wait for their turn.
        The loop reads the clock several times per tick, so a longer gap between readings is such a stall; the time
        beyond ``max_gap`` is held, as if the slow step had run beside the others. Readings stay monotonic."""
        last, self._last_reading = self._last_reading, max(real, self._last_reading or real)
        if last is None or real - last <= self.max_gap:
            return
        held, speed = self.sim_at(last + self.max_gap), self.speed
        self._anchors.append((last + self.max_gap, held, 0.0))
        self._anchors.append((real, held, speed))
        self.held_seconds += real - last - self.max_gap

    def sim_at(self, real: float) -> float:
        """Simulated seconds (since the simulator started) at real epoch ``real``."""
        anchor = self._anchors[0]
        for candidate in reversed(self._anchors):
            if candidate[0] <= real:
                anchor = candidate
                break
        return anchor[1] + (real - anchor[0]) * anchor[2]

    def now(self) -> float:
        """Simulated seconds since the simulator started."""
        real = time.time()
        self._hold(real)
        return self.sim_at(real)


class Settings:
    """Contents of ConfigMap ``ztp-simulator/hub-simulator`` key ``config.yaml`` (reloaded every tick)."""

    def __init__(self, data: dict | None = None):
        data = data if isinstance(data, dict) else {}
        self.raw = data
        try:
            self.speed = float(data.get("speed", DEFAULT_SPEED))
        except (TypeError, ValueError):
            self.speed = DEFAULT_SPEED
        if self.speed <= 0:
            self.speed = DEFAULT_SPEED
        self.faults = [f for f in (data.get("faults") or []) if isinstance(f, dict) and f.get("kind")]
        self.spokes = data.get("spokes") if isinstance(data.get("spokes"), dict) else {}
        self.delays = dict(DEFAULT_DELAYS)
        self.delays.update({k: float(v) for k, v in (data.get("delays") or {}).items() if isinstance(v, (int, float))})
        # real seconds between two clock readings that count whole (Clock._hold); None: two tick periods
        gap = data.get("clock_max_gap")
        self.clock_max_gap = float(gap) if isinstance(gap, (int, float)) and gap > 0 else None

    def get(self, key, default=None):
        return self.raw.get(key, default)


REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"


def take_refresh_request(sim: "Simulator", app: dict) -> bool:
    """True when ``app`` carries ArgoCD's refresh annotation (``normal`` or ``hard``); the annotation is removed, as
    the application controller does once it has refreshed (argo-cd ``controller/appcontroller.go``)."""
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    if annotations.get(REFRESH_ANNOTATION) not in ("normal", "hard"):
        return False
    try:
        sim.patch(app, {"metadata": {"annotations": {REFRESH_ANNOTATION: None}}})
    except Exception as exc:  # pylint: disable=broad-except
        log.warning("argocd: cannot remove the refresh annotation of %s: %s", app["metadata"].get("name"), exc)
    return True


class GitFollower:
    """A local clone that follows one branch of the GitOps remote (``git fetch`` every tick).

    ``revision``/``checkout`` are the newest fetched commit and a working tree of it. ``app_tree(app)`` gives the
    revision and tree an ArgoCD application sees: frozen while a ``argocd-not-syncing`` fault names the app.
    """

    def __init__(self, sim: "Simulator", url: str, branch: str, workdir: str):
        self.sim = sim
        self.url = url
        self.branch = branch
        self.workdir = workdir
        self.checkout = os.path.join(workdir, "repo")
        self.revision = None
        self.error = None
        self._apps = {}
        self._polled = {}
        self._seen = {}
        self._last_fetch = 0.0

    def _git(self, *args, cwd=None):
        proc = subprocess.run(["git", "-c", "advice.detachedHead=false", *args], cwd=cwd or self.checkout,
                              capture_output=True, text=True, check=False, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def fetch(self, min_interval: float = 0.0) -> None:
        if time.monotonic() - self._last_fetch < min_interval:
            return
        self._last_fetch = time.monotonic()
        try:
            if not os.path.isdir(os.path.join(self.checkout, ".git")):
                os.makedirs(self.checkout, exist_ok=True)
                self._git("init", "-q")
                self._git("remote", "add", "origin", self.url)
            self._git("fetch", "-q", "--prune", "origin", f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}")
            revision = self._git("rev-parse", f"refs/remotes/origin/{self.branch}")
            if revision != self.revision:
                self._git("checkout", "-q", "-f", "--detach", revision)
                self._git("clean", "-q", "-fdx")
                self.revision = revision
                log.info("git: %s is at %s", self.branch, revision[:12])
            self.error = None
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            if str(exc) != self.error:
                log.warning("git fetch failed: %s", exc)
            self.error = str(exc)

    def syncing(self, app: str) -> bool:
        return self.sim.fault("argocd-not-syncing", app=app) is None

    def seen(self, app: str):
        """The newest revision application ``app`` has compared with (its last look at Git), or None."""
        return self._seen.get(app)

    def app_tree(self, app: str, refresh: bool = False):
        """(revision, path) of the tree application ``app`` renders; (None, None) before the first fetch.

        An application looks at Git when its comparison expires, every ``delays.argocd_resync`` (180 s:
        argo-cd ``cmd/argocd-application-controller/commands/argocd_application_controller.go``
        ``defaultAppResyncPeriod``), or at once when a refresh is requested (``refresh``: the
        ``argocd.argoproj.io/refresh`` annotation; ``controller/appcontroller.go`` ``needRefreshAppStatus``), not at
        every push: a commit stays unseen until then."""
        current = self._apps.get(app)
        now = self.sim.clock.now()
        polled = self._polled.get(app)
        due = refresh or polled is None or now - polled >= self.sim.delay("argocd_resync")
        if due and self.revision is not None:
            self._polled[app] = now
            self._seen[app] = self.revision
        if current and not self.syncing(app):
            return current
        if self.revision is None:
            return current or (None, None)
        if current and (not due or current[0] == self.revision):
            return current
        path = os.path.join(self.workdir, "apps", app)
        try:
            if not os.path.isdir(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                self._git("worktree", "prune")
                self._git("worktree", "add", "-q", "-f", "--detach", path, self.revision)
            else:
                self._git("checkout", "-q", "-f", "--detach", self.revision, cwd=path)
                self._git("clean", "-q", "-fdx", cwd=path)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log.warning("git: cannot check out %s for %s: %s", self.revision, app, exc)
            return current or (None, None)
        self._apps[app] = (self.revision, path)
        return self._apps[app]


class Simulator:
    """Clients, settings, clock, Git and the controller loop."""

    field_manager = "hub-simulator"

    def __init__(self, hub_kubeconfig: str, spoke_kubeconfig: str, git_url: str, branch: str = "main",
                 state_dir: str = ".hub/simulator", tick: float = TICK_SECONDS, cluster_spokes: dict | None = None):
        self.log = log
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.tick_seconds = tick
        self.hub = self._client(hub_kubeconfig, "hub")
        self.spoke = self._client(spoke_kubeconfig, "spoke") if spoke_kubeconfig else None
        # clusters beyond the spoke's own with an API server each (``where`` = ``spoke:<cluster>``)
        self.cluster_spokes = dict((cluster, self._client(path, f"spoke-{cluster}"))
                                   for cluster, path in sorted((cluster_spokes or {}).items()))
        self.config = Settings()
        self.clock = Clock(self.config.speed, max_gap=2 * tick)
        self.git = GitFollower(self, git_url, branch, os.path.join(self.state_dir, "git"))
        self.ticks = 0
        self._stop = threading.Event()
        self._timers = {}
        self._cache = {}
        self._informers = {}
        self._errors = {}
        # (cluster, ptp|sriov) -> selector map that an enforced policy applied on the cluster
        self.enforced_selectors = {}
        self.controllers = []
        for cls in controller_classes():
            try:
                self.controllers.append(cls(self))
            except Exception:  # pylint: disable=broad-except
                log.error("controller %s failed to start:\n%s", getattr(cls, "name", cls.__name__), traceback.format_exc())

    def _client(self, kubeconfig: str, name: str) -> DynamicClient:
        api = k8s_config.new_client_from_config(config_file=kubeconfig)
        return DynamicClient(api, cache_file=os.path.join(self.state_dir, f"discovery-{name}.json"))

    # ---- settings, time, faults -------------------------------------------------------------------------------

    def reload_config(self) -> None:
        try:
            cm = self.hub.resources.get(api_version="v1", kind="ConfigMap").get(name=CONFIG_NAME, namespace=CONFIG_NAMESPACE)
            text = ((cm.to_dict().get("data") or {}).get(CONFIG_KEY)) or "{}"
            self.config = Settings(yaml.safe_load(text))
        except (ApiException, DynamicApiError) as exc:
            if exc.status == 404:
                self.config = Settings()
            else:
                log.warning("cannot read settings: %s", exc.reason)
        except yaml.YAMLError as exc:
            log.warning("settings are not valid YAML, keeping the previous ones: %s", exc)
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            # the hub's API server is away (a restart): keep the previous settings, as a controller would keep running
            log.warning("cannot reach the hub for settings, keeping the previous ones: %s", exc)
        self.clock.set_speed(self.config.speed)
        self.clock.max_gap = self.config.clock_max_gap or 2 * self.tick_seconds

    def delay(self, name: str) -> float:
        """Simulated seconds step ``name`` takes (``DEFAULT_DELAYS`` or ``delays.<name>`` of the settings)."""
        return float(self.config.delays.get(name, 30))

    def fault(self, kind: str, cluster: str | None = None, host: str | None = None, **match):
        """The first fault entry of ``kind`` not contradicting the given keys (entry keys absent from the query are
        parameters such as ``stage``), or None. Keys given as None are not compared; an entry's value may be a
        shell-style pattern (``cgu: ztp-workers-*``)."""
        query = dict(match, cluster=cluster, host=host)
        for entry in self.config.faults:
            if entry.get("kind") != kind:
                continue
            if all(value is None or key not in entry or fnmatch.fnmatchcase(str(value), str(entry[key]))
                   for key, value in query.items()):
                return entry
        return None

    def elapsed(self, since) -> float:
        """Simulated seconds since ``since`` (RFC 3339 string, datetime or real epoch seconds)."""
        return self.clock.now() - self.clock.sim_at(parse_stamp(since))

    def since(self, key, value) -> float:
        """Simulated seconds ``key`` has had ``value`` (0 the first time this value is seen)."""
        now = self.clock.now()
        held = self._timers.get(key)
        if held is None or held[0] != value:
            self._timers[key] = (value, now)
            return 0.0
        return now - held[1]

    # ---- API helpers -------------------------------------------------------------------------------------------

    def client(self, where: str = "hub") -> DynamicClient:
        if where.startswith("spoke:"):
            return self.cluster_spokes[where[len("spoke:"):]]
        return self.hub if where == "hub" else self.spoke

    def spoke_where(self, cluster: str) -> str | None:
        """``where`` of the API server that stands for ``cluster``: ``spoke`` (the spoke's own cluster),
        ``spoke:<cluster>`` (a cluster with a spoke of its own), or None (a cluster answered from the settings)."""
        return dict(self.spoke_clusters()).get(cluster)

    def spoke_clusters(self) -> list:
        """``(cluster, where)`` of every cluster with an API server of its own."""
        out = []
        if self.spoke is not None:
            cluster = str(self.config.get("spokeCluster") or DEFAULT_SPOKE)
            if cluster not in self.cluster_spokes:
                out.append((cluster, "spoke"))
        return out + [(cluster, f"spoke:{cluster}") for cluster in self.cluster_spokes]

    def resource(self, api_version: str, kind: str, where: str = "hub"):
        """The dynamic resource, or None when the API server does not serve it."""
        key = ("resource", where, api_version, kind)
        if key not in self._cache:
            try:
                self._cache[key] = self.client(where).resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                return None
        return self._cache[key]

    def informer(self, api_version: str, kind: str, where: str = "hub"):
        """The informer of a kind (started on first use), or None when the kind is not served or cannot be listed."""
        key = ("informer", where, api_version, kind)
        if key in self._informers:
            return self._informers[key]
        res = self.resource(api_version, kind, where)
        if res is None:
            return None
        try:
            inf = Informer(self.client(where), res.path(), api_version, kind, self._stop)
        except (ApiException, DynamicApiError) as exc:
            log.debug("cannot list %s %s on %s: %s", api_version, kind, where, getattr(exc, "reason", exc))
            return None
        self._informers[key] = inf
        return inf

    def _written(self, obj: dict, where: str) -> None:
        if not obj:
            return
        inf = self._informers.get(("informer", where, obj.get("apiVersion"), obj.get("kind")))
        if inf is not None:
            inf.written(obj)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None, where: str = "hub"):
        """The object as a dict (from the kind's informer), or None."""
        res = self.resource(api_version, kind, where)
        if res is None:
            return None
        inf = self.informer(api_version, kind, where)
        if inf is not None:
            return inf.get(name, namespace if res.namespaced else None)
        try:
            return res.get(name=name, namespace=namespace).to_dict()
        except (ApiException, DynamicApiError) as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None,
             where: str = "hub") -> list:
        """Items as dicts, from the kind's informer; cached for the tick (``invalidate`` after writes)."""
        key = ("list", where, api_version, kind, namespace, label_selector)
        if key in self._cache:
            return self._cache[key]
        res = self.resource(api_version, kind, where)
        if res is None:
            return []
        selector = parse_selector(label_selector)
        inf = self.informer(api_version, kind, where) if selector is not None else None
        if inf is not None:
            items = inf.items(namespace, selector)
        else:
            items = res.get(namespace=namespace, label_selector=label_selector).to_dict().get("items") or []
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
        self._cache[key] = items
        return items

    def invalidate(self, api_version: str | None = None, kind: str | None = None) -> None:
        for key in [k for k in self._cache if k[0] == "list" and (kind is None or (k[2], k[3]) == (api_version, kind))]:
            del self._cache[key]

    def apply(self, obj: dict, manager: str | None = None, where: str = "hub") -> dict:
        """Server-side apply (forced) of ``obj``."""
        res = self.resource(obj["apiVersion"], obj["kind"], where)
        if res is None:
            raise ResourceNotFoundError(f"{obj['apiVersion']} {obj['kind']} is not served")
        meta = obj["metadata"]
        out = res.server_side_apply(body=obj, name=meta["name"], namespace=meta.get("namespace"),
                                    field_manager=manager or self.field_manager, force_conflicts=True).to_dict()
        self._written(out, where)
        self.invalidate(obj["apiVersion"], obj["kind"])
        return out

    def _write(self, obj: dict, where: str, request, tolerated: int):
        """Send one write ``request()`` for ``obj``; None when the server answers ``tolerated`` (409: exists, 404: gone)."""
        try:
            out = request().to_dict()
        except (ApiException, DynamicApiError) as exc:
            if exc.status == tolerated:
                return None
            raise
        self._written(out, where)
        self.invalidate(obj["apiVersion"], obj["kind"])
        return out

    def create(self, obj: dict, where: str = "hub"):
        """Create ``obj``; None when it already exists."""
        res = self.resource(obj["apiVersion"], obj["kind"], where)
        return self._write(obj, where, lambda: res.create(body=obj, namespace=obj["metadata"].get("namespace")), 409)

    def patch(self, obj: dict, patch: dict, where: str = "hub"):
        """JSON merge patch of the main resource of ``obj`` (apiVersion/kind/metadata.name/namespace)."""
        res = self.resource(obj["apiVersion"], obj["kind"], where)
        meta = obj["metadata"]
        return self._write(obj, where, lambda: res.patch(body=patch, name=meta["name"], namespace=meta.get("namespace"),
                                                         content_type="application/merge-patch+json"), 404)

    def write_status(self, obj: dict, status: dict, where: str = "hub"):
        """Merge ``status`` into the status of ``obj`` through /status when the CRD has that subresource."""
        res = self.resource(obj["apiVersion"], obj["kind"], where)
        meta = obj["metadata"]
        target = res.status if "status" in (res.subresources or {}) else res
        return self._write(obj, where, lambda: target.patch(body={"status": status}, name=meta["name"], namespace=meta.get("namespace"),
                                                            content_type="application/merge-patch+json"), 404)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None, where: str = "hub") -> bool:
        res = self.resource(api_version, kind, where)
        if res is None:
            return False
        try:
            out = res.delete(name=name, namespace=namespace, body={"propagationPolicy": "Background"})
        except (ApiException, DynamicApiError) as exc:
            if exc.status == 404:
                return False
            raise
        inf = self._informers.get(("informer", where, api_version, kind))
        if inf is not None:
            out = out.to_dict() if hasattr(out, "to_dict") else (out or {})
            if out.get("kind") == kind and (out.get("metadata") or {}).get("finalizers"):
                inf.written(out)
            else:
                inf.forget(namespace if res.namespaced else None, name)
        self.invalidate(api_version, kind)
        return True

    # ---- loop --------------------------------------------------------------------------------------------------

    def tick(self) -> None:
        self.clock.now()  # a reading per tick: only a stall of the loop leaves a longer gap (Clock._hold)
        self._cache = {k: v for k, v in self._cache.items() if k[0] == "resource"}
        self.reload_config()
        self.git.fetch()
        for controller in self.controllers:
            name = getattr(controller, "name", type(controller).__name__)
            try:
                controller.reconcile()
                self._errors.pop(name, None)
            except Exception as exc:  # pylint: disable=broad-except
                text = f"{type(exc).__name__}: {exc}"
                last = self._errors.get(name)
                if last is None or last[0] != text or time.monotonic() - last[1] > 30:
                    log.error("controller %s failed: %s", name, traceback.format_exc())
                    self._errors[name] = (text, time.monotonic())
                if isinstance(exc, ResourceNotFoundError):
                    self._cache = {}
        self.ticks += 1

    def stop(self, *_args) -> None:
        self._stop.set()

    def run(self, once: bool = False) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        log.info("simulator started: %d controllers (%s)", len(self.controllers),
                 ", ".join(getattr(c, "name", type(c).__name__) for c in self.controllers))
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # pylint: disable=broad-except
                # one bad tick (the API server restarting, Git unreachable) must not end the simulated controllers
                log.error("tick failed:\n%s", traceback.format_exc())
            if once:
                break
            self._stop.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))
        for controller in self.controllers:
            close = getattr(controller, "close", None)
            if close:
                try:
                    close()
                except Exception:  # pylint: disable=broad-except
                    log.error("controller close failed:\n%s", traceback.format_exc())
        log.info("simulator stopped after %d ticks", self.ticks)
