"""CustomResourceDefinition sets of the test hub: the upstream files of the shared reference folder or the builtin ones."""

from __future__ import annotations

import copy
import glob
import os
import time

import yaml
from kubernetes import client as k8s_client

HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN_DIR = os.path.join(HERE, "crds")

# Kinds a spoke (an SNO cluster) has of the CRDs we know; everything else only exists on the hub.
SPOKE_KINDS = frozenset(("PtpOperatorConfig", "SriovOperatorConfig", "PerformanceProfile", "Tuned", "MachineConfig", "MachineConfigPool"))

# Upstream CRDs whose conversion webhook is not available here: their conversion block is dropped
# (strategy None), so only objects of the storage version (v2 for PerformanceProfile) are meaningful.
_STRIP_CONVERSION = ("performance.openshift.io_performanceprofiles.yaml",)

# The upstream files are large (about 1.3 MB); libyaml parses them several times faster when it is available.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def upstream_dir() -> str:
    """The folder of the upstream CRDs: `$ZTP_SHARED_DIR/ztp-reference/crds` or `<repo>/../shared/ztp-reference/crds`."""
    shared = os.environ.get("ZTP_SHARED_DIR") or os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared")
    return os.path.join(shared, "ztp-reference", "crds")


def resolve(choice: str) -> str:
    """Map `auto` to `upstream` when the shared folder exists, else `builtin`."""
    if choice not in ("auto", "upstream", "builtin"):
        raise ValueError(f"unknown CRD set {choice!r} (expected upstream, builtin or auto)")
    if choice == "auto":
        return "upstream" if glob.glob(os.path.join(upstream_dir(), "*.yaml")) else "builtin"
    return choice


def load(choice: str) -> list[dict]:
    """All CRD documents of a set, ready to be created."""
    folder = upstream_dir() if resolve(choice) == "upstream" else BUILTIN_DIR
    paths = sorted(glob.glob(os.path.join(folder, "*.yaml")))
    if not paths:
        raise FileNotFoundError(f"no CRD files in {folder}")
    crds = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            docs = [d for d in yaml.load_all(handle, Loader=_LOADER) if d and d.get("kind") == "CustomResourceDefinition"]
        for doc in docs:
            doc = copy.deepcopy(doc)
            doc.pop("status", None)
            meta = doc.setdefault("metadata", {})
            meta.pop("creationTimestamp", None)
            if os.path.basename(path) in _STRIP_CONVERSION:
                doc["spec"].pop("conversion", None)
            crds.append(doc)
    return crds


def split(crds: list[dict]) -> tuple[list[dict], list[dict]]:
    """(hub set, spoke set): the hub gets all of them, the spoke only what an SNO cluster has."""
    return list(crds), [c for c in crds if c["spec"]["names"]["kind"] in SPOKE_KINDS]


def install(api: k8s_client.ApiClient, crds: list[dict], timeout: float = 120.0) -> None:
    """Create the CRDs (existing ones are replaced only when their spec differs) and wait until Established and discoverable."""
    ext = k8s_client.ApiextensionsV1Api(api)
    for crd in crds:
        name = crd["metadata"]["name"]
        try:
            ext.create_custom_resource_definition(body=crd)
        except k8s_client.ApiException as err:
            if err.status != 409:
                raise
            current = api.sanitize_for_serialization(ext.read_custom_resource_definition(name))
            if _differs(current, crd):
                body = copy.deepcopy(crd)
                body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                ext.replace_custom_resource_definition(name, body)
    wait_ready(api, crds, timeout)


def _differs(current: dict, wanted: dict) -> bool:
    cur, want = current.get("spec", {}), wanted.get("spec", {})
    keys = ("group", "scope")
    if any(cur.get(k) != want.get(k) for k in keys):
        return True
    return sorted(v["name"] for v in cur.get("versions", [])) != sorted(v["name"] for v in want.get("versions", [])) or \
        bool(cur.get("conversion", {}).get("webhook")) != bool(want.get("conversion", {}).get("webhook"))


def wait_ready(api: k8s_client.ApiClient, crds: list[dict], timeout: float = 120.0) -> None:
    """Wait until every CRD is Established and each served version lists its resource in discovery."""
    ext = k8s_client.ApiextensionsV1Api(api)
    custom = k8s_client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    pending = {c["metadata"]["name"]: c for c in crds}
    while pending:
        discovered: dict[tuple[str, str], set] = {}
        for name, crd in list(pending.items()):
            if not _established(ext, name):
                continue
            group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
            ok = True
            for version in [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]:
                key = (group, version)
                if key not in discovered:
                    try:
                        discovered[key] = {r.name for r in custom.get_api_resources(group, version).resources}
                    except k8s_client.ApiException:
                        discovered[key] = set()
                ok = ok and plural in discovered[key]
            if ok:
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRDs not established/discoverable after {timeout:.0f} s: {', '.join(sorted(pending))}")
        time.sleep(0.1)


def _established(ext: k8s_client.ApiextensionsV1Api, name: str) -> bool:
    conditions = ext.read_custom_resource_definition(name).status.conditions or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)
