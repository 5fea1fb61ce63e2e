"""Small helpers shared by the policies and TALM parts of the hub simulator.

They adapt to the simulator object (clock, configuration, faults, log) and wrap the
kubernetes DynamicClient calls the two controllers need.
"""

from __future__ import annotations

import copy
import datetime
import fnmatch
import json
import time

try:
    from kubernetes.dynamic.exceptions import ConflictError, NotFoundError
except ImportError:  # pragma: no cover - the simulator always has the kubernetes client
    ConflictError = NotFoundError = Exception

SIM_NAMESPACE = "ztp-simulator"

API = {
    "Policy": "policy.open-cluster-management.io/v1",
    "PlacementBinding": "policy.open-cluster-management.io/v1",
    "PlacementRule": "apps.open-cluster-management.io/v1",
    "Placement": "cluster.open-cluster-management.io/v1beta1",
    "PlacementDecision": "cluster.open-cluster-management.io/v1beta1",
    "ManagedCluster": "cluster.open-cluster-management.io/v1",
    "ManagedClusterSetBinding": "cluster.open-cluster-management.io/v1beta2",
    "ClusterGroupUpgrade": "ran.openshift.io/v1alpha1",
    "Application": "argoproj.io/v1alpha1",
    "ConfigMap": "v1",
    "Namespace": "v1",
}


# --------------------------------------------------------------------------- simulator adapters

def sim_now(sim):  # pylint: disable=unused-argument
    """Wall-clock time as an aware UTC datetime (timestamps written to objects are real time)."""
    return datetime.datetime.now(datetime.timezone.utc)


def sim_seconds(sim):
    """Simulated seconds (monotonic, for durations)."""
    clock = getattr(sim, "clock", None)
    if clock is not None and hasattr(clock, "now"):
        value = clock.now()
        if isinstance(value, (int, float)):
            return float(value)
    return time.time() * sim_setting(sim, "speed", 60.0)


def sim_elapsed(sim, stamp):
    """Simulated seconds since the wall-clock RFC 3339 ``stamp``."""
    elapsed = getattr(sim, "elapsed", None)
    if callable(elapsed):
        return elapsed(stamp)
    then = parse_time(stamp)
    if then is None:
        return 0.0
    return (sim_now(sim) - then).total_seconds() * sim_setting(sim, "speed", 60.0)


def fmt_time(value):
    """RFC 3339 with second precision and a Z, as Kubernetes writes metav1.Time."""
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        try:
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None


def sim_config(sim):
    cfg = getattr(sim, "config", None)
    if hasattr(cfg, "raw"):
        cfg = cfg.raw
    return cfg if isinstance(cfg, dict) else {}


def sim_delay(sim, name, default):
    """Simulated seconds of step ``name``: ``delays.<name>`` of the settings, else ``default``."""
    cfg = getattr(sim, "config", None)
    delays = getattr(cfg, "delays", None)
    if not isinstance(delays, dict):
        delays = sim_config(sim).get("delays") or {}
    try:
        return float(delays.get(name, default))
    except (TypeError, ValueError):
        return float(default)


def _match_value(want, have):
    if have is None:
        return True
    return fnmatch.fnmatchcase(str(have), str(want))


def sim_fault(sim, kind, cluster=None, host=None, **match):
    """The first configured fault of this kind that matches, or None."""
    fault = getattr(sim, "fault", None)
    if callable(fault):
        return fault(kind, cluster=cluster, host=host, **match)
    given = dict(match, cluster=cluster, host=host)
    for entry in sim_config(sim).get("faults") or []:
        if not isinstance(entry, dict) or entry.get("kind") != kind:
            continue
        if all(_match_value(entry[k], v) for k, v in given.items() if k in entry):
            return entry
    return None


def sim_log(sim, message, *args):
    log = getattr(sim, "log", None)
    text = message % args if args else message
    if log is None:
        return
    if hasattr(log, "info"):
        log.info(text)
    elif callable(log):
        log(text)


def sim_setting(sim, key, default):
    value = sim_config(sim).get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- kubernetes helpers

def copy_obj(obj):
    """A deep copy of a JSON-like value (much faster than ``copy.deepcopy`` for API objects)."""
    if isinstance(obj, dict):
        return {key: copy_obj(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [copy_obj(value) for value in obj]
    return obj


class Kube:
    """Thin wrapper over the hub DynamicClient; reads go through the simulator's per-tick list cache."""

    def __init__(self, sim):
        self.sim = sim
        self.client = sim.hub
        self._res = {}

    def res(self, kind, api_version=None):
        api_version = api_version or API[kind]
        key = (api_version, kind)
        if key not in self._res:
            self._res[key] = self.client.resources.get(api_version=api_version, kind=kind)
        return self._res[key]

    def _written(self, out):
        written = getattr(self.sim, "_written", None)
        if callable(written):
            written(out, "hub")  # pylint: disable=not-callable

    def _invalidate(self, api_version, kind):
        invalidate = getattr(self.sim, "invalidate", None)
        if callable(invalidate):
            invalidate(api_version, kind)

    def list(self, kind, namespace=None, label_selector=None, api_version=None):
        api_version = api_version or API[kind]
        cached = getattr(self.sim, "list", None)
        if callable(cached):
            return [copy_obj(i) for i in cached(api_version, kind, namespace=namespace, label_selector=label_selector)]
        kwargs = {}
        if namespace:
            kwargs["namespace"] = namespace
        if label_selector:
            kwargs["label_selector"] = label_selector
        result = self.res(kind, api_version).get(**kwargs).to_dict()
        items = result.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def get(self, kind, name, namespace=None, api_version=None):
        cached = getattr(self.sim, "get", None)
        if callable(cached) and hasattr(self.sim, "informer"):
            return cached(api_version or API[kind], kind, name, namespace)
        try:
            return self.res(kind, api_version).get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def create(self, obj, namespace=None):
        meta = obj.get("metadata") or {}
        out = self.res(obj["kind"], obj["apiVersion"]).create(body=obj, namespace=namespace or meta.get("namespace")).to_dict()
        self._written(out)
        self._invalidate(obj["apiVersion"], obj["kind"])
        return out

    def replace(self, obj):
        meta = obj.get("metadata") or {}
        out = self.res(obj["kind"], obj["apiVersion"]).replace(body=obj, namespace=meta.get("namespace")).to_dict()
        self._written(out)
        self._invalidate(obj["apiVersion"], obj["kind"])
        return out

    def replace_status(self, obj):
        meta = obj.get("metadata") or {}
        res = self.res(obj["kind"], obj["apiVersion"])
        out = res.status.replace(body=obj, name=meta["name"], namespace=meta.get("namespace")).to_dict()
        self._written(out)
        self._invalidate(obj["apiVersion"], obj["kind"])
        return out

    def merge_patch(self, obj, patch):
        meta = obj.get("metadata") or {}
        out = self.res(obj["kind"], obj["apiVersion"]).patch(body=patch, name=meta["name"], namespace=meta.get("namespace"),
                                                             content_type="application/merge-patch+json").to_dict()
        self._written(out)
        self._invalidate(obj["apiVersion"], obj["kind"])
        return out

    def delete(self, kind, name, namespace=None, api_version=None):
        api_version = api_version or API[kind]
        try:
            self.res(kind, api_version).delete(name=name, namespace=namespace)
        except NotFoundError:
            return False
        self._invalidate(api_version, kind)
        return True

    def ensure_namespace(self, name):
        if self.get("Namespace", name) is None:
            try:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            except ConflictError:
                pass

    def apply(self, obj, compare_keys=None):
        """Create the object or replace it when its content differs. Returns 'created', 'updated' or None."""
        meta = obj["metadata"]
        current = self.get(obj["kind"], meta["name"], meta.get("namespace"), obj["apiVersion"])
        if current is None:
            self.create(obj)
            return "created"
        keys = compare_keys or [k for k in obj if k not in ("apiVersion", "kind", "metadata", "status")]
        cur_meta = current.get("metadata") or {}
        same = all(current.get(k) == obj.get(k) for k in keys)
        same = same and (cur_meta.get("labels") or {}) == (meta.get("labels") or {})
        same = same and all((cur_meta.get("annotations") or {}).get(k) == v for k, v in (meta.get("annotations") or {}).items())
        if same:
            return None
        body = copy.deepcopy(obj)
        body["metadata"]["resourceVersion"] = cur_meta.get("resourceVersion")
        if "status" in current and "status" not in body:
            body["status"] = current["status"]
        self.replace(body)
        return "updated"


def clean(obj):
    """Drop None values recursively (to_dict() of the dynamic client keeps none, but be safe)."""
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- label selectors

def cluster_labels(cluster):
    """Labels of a ManagedCluster; ACM always carries name=<cluster>."""
    labels = dict((cluster.get("metadata") or {}).get("labels") or {})
    labels.setdefault("name", cluster["metadata"]["name"])
    return labels


def match_expressions(labels, expressions):
    for expr in expressions or []:
        key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
        if op == "In" and not (key in labels and str(labels[key]) in values):
            return False
        if op == "NotIn" and key in labels and str(labels[key]) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def match_selector(labels, selector):
    """A metav1.LabelSelector; an empty selector selects everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if str(labels.get(key)) != str(value) or key not in labels:
            return False
    return match_expressions(labels, selector.get("matchExpressions"))


def set_condition(conditions, ctype, status, reason, message, now, move_to_end=True, generation=None):
    """meta.SetStatusCondition plus TALM's rule: a condition whose status changes moves to the end."""
    conditions = list(conditions or [])
    found = None
    for idx, cond in enumerate(conditions):
        if cond.get("type") == ctype:
            found = idx
            break
    new = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": fmt_time(now)}
    if generation is not None:
        new["observedGeneration"] = generation
    if found is None:
        conditions.append(new)
        return conditions
    old = conditions[found]
    if old.get("status") != status:
        if move_to_end and found != len(conditions) - 1:
            del conditions[found]
            conditions.append(new)
        else:
            conditions[found] = new
        return conditions
    new["lastTransitionTime"] = old.get("lastTransitionTime") or new["lastTransitionTime"]
    conditions[found] = new
    return conditions


def find_condition(conditions, ctype):
    for cond in conditions or []:
        if cond.get("type") == ctype:
            return cond
    return None


def api_message(exc):
    """The API server's message of a refused request (``namespaces "x" not found``), as ArgoCD and the placement
    controller show it."""
    body = getattr(exc, "body", None)
    if not body and callable(getattr(exc, "summary", None)):
        body = exc.summary()
    if body:
        try:
            return json.loads(body).get("message") or str(exc)
        except (TypeError, ValueError, AttributeError):
            return str(body)
    return getattr(exc, "reason", None) or str(exc)
