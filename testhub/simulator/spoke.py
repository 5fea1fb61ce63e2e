"""The spoke side: PTP/SR-IOV operator configs (and Nodes) on the spoke API server, and the ManagedClusterView agent.

The spoke API server stands for cluster ``sno-a`` (settings key ``spokeCluster`` changes it); a hub started with
spokes per cluster gives more clusters an API server each (``Simulator.cluster_spokes``), kept the same way. Daemon selectors come
from the settings ``spokes.<cluster>.{ptp,sriov}``: ``master`` (default), ``worker``, a label map, or ``none`` (the
object does not exist), until an enforced policy sets them (its PtpOperatorConfig / SriovOperatorConfig objects).
On the real spoke the objects are created when missing and re-set only when the setting changes, so that other
writers (policies enforced on the spoke) are not undone every tick. Other clusters are answered from the settings
alone.
"""

from __future__ import annotations

import copy
import json

from .core import condition, now_stamp, set_condition

VIEW_API = "view.open-cluster-management.io/v1beta1"
MCI_API = "internal.open-cluster-management.io/v1beta1"
SELECTORS = {"master": {"node-role.kubernetes.io/master": ""}, "worker": {"node-role.kubernetes.io/worker": ""}}
OPERATOR_CONFIGS = {
    "ptp": {"apiVersion": "ptp.openshift.io/v1", "kind": "PtpOperatorConfig", "plural": "ptpoperatorconfigs",
            "namespace": "openshift-ptp", "field": "daemonNodeSelector"},
    "sriov": {"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovOperatorConfig", "plural": "sriovoperatorconfigs",
              "namespace": "openshift-sriov-network-operator", "field": "configDaemonNodeSelector"},
}


def selector(sim, cluster: str, which: str):
    """The selector map of ``which`` (ptp|sriov) for ``cluster``: the one an enforced policy last set, else the
    configured one; None when the object does not exist."""
    enforced = getattr(sim, "enforced_selectors", None) or {}
    if (cluster, which) in enforced:
        return dict(enforced[(cluster, which)])
    value = ((sim.config.spokes.get(cluster) or {}) if isinstance(sim.config.spokes.get(cluster), dict) else {}).get(which, "master")
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if value in (None, "none", "absent"):
        return None
    return dict(SELECTORS.get(str(value), {f"node-role.kubernetes.io/{value}": ""}))


def operator_config(which: str, sel: dict) -> dict:
    info = OPERATOR_CONFIGS[which]
    spec = {info["field"]: sel}
    if which == "sriov":
        spec.update({"enableInjector": False, "enableOperatorWebhook": False, "logLevel": 2})
    return {"apiVersion": info["apiVersion"], "kind": info["kind"],
            "metadata": {"name": "default", "namespace": info["namespace"]}, "spec": spec}


class SpokeOperators:
    """Keeps ``PtpOperatorConfig default`` and ``SriovOperatorConfig default`` and the Nodes of each cluster with an
    API server of its own."""

    name = "spoke-operators"

    def __init__(self, sim):
        self.sim = sim
        self.applied = {}       # cluster -> ptp|sriov -> the selector last applied
        self.mirrored = {}      # cluster -> Node names taken from the ManagedClusterInfo node list

    def reconcile(self):
        for cluster, where in self.sim.spoke_clusters():
            self.operator_configs(cluster, where)
            self.nodes(cluster, where)

    def operator_configs(self, cluster, where):
        sim = self.sim
        applied = self.applied.setdefault(cluster, {})
        for which, info in OPERATOR_CONFIGS.items():
            if sim.resource(info["apiVersion"], info["kind"], where) is None:
                continue
            wanted = selector(sim, cluster, which)
            live = sim.get(info["apiVersion"], info["kind"], "default", info["namespace"], where)
            if wanted is None:
                if live is not None and applied.get(which) != "absent":
                    sim.delete(info["apiVersion"], info["kind"], "default", info["namespace"], where)
                applied[which] = "absent"
                continue
            if live is None:
                sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": info["namespace"]}}, where)
                sim.create(operator_config(which, wanted), where)
            elif applied.get(which) != wanted and (live.get("spec") or {}).get(info["field"]) != wanted:
                # one merge patch that drops the keys no longer wanted: the field is required by the CRD, so it
                # cannot be removed first and set again
                current = (live.get("spec") or {}).get(info["field"]) or {}
                change = dict({key: None for key in current if key not in wanted}, **wanted)
                sim.patch(live, {"spec": {info["field"]: change}}, where)
            applied[which] = wanted

    def nodes(self, cluster, where):
        """Spoke Nodes mirror ``ManagedClusterInfo/<cluster>`` nodeList (labels, Ready)."""
        sim = self.sim
        mci = sim.get(MCI_API, "ManagedClusterInfo", cluster, cluster)
        if mci is None:
            return
        listed = {node["name"] for node in (mci.get("status") or {}).get("nodeList") or []}
        mirrored = self.mirrored.get(cluster, set())
        for gone in sorted(mirrored - listed if "nodeList" in (mci.get("status") or {}) else ()):
            # a removed worker (its Agent deleted with remove-agent-and-node-on-delete): assisted-service deletes the spoke
            # Node (agent_controller.go removeSpokeResources); here it goes once ManagedClusterInfo drops it
            sim.delete("v1", "Node", gone, where=where)
        self.mirrored[cluster] = listed
        for node in (mci.get("status") or {}).get("nodeList") or []:
            labels = dict(node.get("labels") or {}, **{"kubernetes.io/hostname": node["name"], "kubernetes.io/os": "linux"})
            ready = ((node.get("conditions") or [{}])[0]).get("status", "Unknown")
            live = sim.get("v1", "Node", node["name"], where=where)
            if live is None:
                live = sim.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node["name"], "labels": labels}}, where)
                if live is None:
                    continue
            elif any((live["metadata"].get("labels") or {}).get(k) != v for k, v in labels.items()):
                live = sim.patch(live, {"metadata": {"labels": labels}}, where) or live
            if condition(live, "Ready").get("status") != ready:
                conds = set_condition(((live.get("status") or {}).get("conditions") or []), "Ready", ready,
                                      "KubeletReady" if ready == "True" else "KubeletNotReady",
                                      "kubelet is posting ready status" if ready == "True" else "container runtime network not ready",
                                      heartbeat=True)
                sim.write_status(live, {"conditions": conds, "capacity": node.get("capacity") or {},
                                        "allocatable": node.get("capacity") or {}}, where)


MCP_API = "machineconfiguration.openshift.io/v1"
AI_API = "agent-install.openshift.io/v1beta1"
BMH_LABEL = "agent-install.openshift.io/bmh"


def worker_agents(sim, cluster: str) -> list:
    """Day-2 worker Agents of ``cluster`` whose node is Ready (stage Done)."""
    out = []
    for agent in sim.list(AI_API, "Agent"):
        if ((agent.get("spec") or {}).get("clusterDeploymentName") or {}).get("name") != cluster:
            continue
        status = agent.get("status") or {}
        if status.get("kind") == "AddToExistingClusterHost" and (status.get("progress") or {}).get("currentStage") == "Done" \
                and ((agent.get("spec") or {}).get("role") or status.get("role")) == "worker":
            out.append(agent)
    return out


def worker_pool(sim, cluster: str) -> dict:
    """The spoke's ``worker`` MachineConfigPool: each worker node that joins it gets the pool's rendered config (the
    worker policies' MachineConfigs) rolled out, one more reboot, ``delays.mcp_rollout``; the pool is ``Updating``
    until every machine is updated; fault ``mcp-degraded`` keeps one machine failing (``Degraded``)."""
    machines = worker_agents(sim, cluster)
    updated = 0
    degraded = None
    for agent in machines:
        host = (agent["metadata"].get("labels") or {}).get(BMH_LABEL) or agent["metadata"]["name"]
        fault = sim.fault("mcp-degraded", cluster=cluster, host=host)
        if fault is not None:
            degraded = fault.get("message") or (f"Node {(agent.get('spec') or {}).get('hostname') or host} is reporting: "
                                                "\"failed to drain node: timed out waiting for the condition\"")
            continue
        if sim.since(("mcp-node", agent["metadata"]["uid"]), "joined") >= sim.delay("mcp_rollout"):
            updated += 1
    count = len(machines)
    done = updated == count and degraded is None
    conds = [{"type": "Updated", "status": "True" if done else "False", "reason": "",
              "message": "All nodes are updated with rendered-worker" if done else ""},
             {"type": "Updating", "status": "False" if done else "True", "reason": "",
              "message": "" if done else "All nodes are updating to rendered-worker"},
             {"type": "NodeDegraded", "status": "True" if degraded else "False",
              "reason": "1 nodes are reporting degraded status on sync" if degraded else "", "message": degraded or ""},
             {"type": "Degraded", "status": "True" if degraded else "False", "reason": "", "message": degraded or ""}]
    return {"apiVersion": MCP_API, "kind": "MachineConfigPool",
            "metadata": {"name": "worker", "uid": f"{cluster}-mcp-worker", "resourceVersion": "1", "generation": 2,
                         "creationTimestamp": now_stamp(0)},
            "spec": {"machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": "worker"}},
                     "nodeSelector": {"matchLabels": {"node-role.kubernetes.io/worker": ""}}},
            "status": {"machineCount": count, "updatedMachineCount": updated, "readyMachineCount": updated,
                       "unavailableMachineCount": count - updated, "degradedMachineCount": 1 if degraded else 0,
                       "observedGeneration": 2, "conditions": conds,
                       "configuration": {"name": "rendered-worker-0123456789abcdef0123456789abcdef"}}}


CSR_API = "certificates.k8s.io/v1"
CSR_SIGNERS = {"client": ("kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"]),
               "serving": ("kubernetes.io/kubelet-serving", ["digital signature", "server auth"])}


def _csr_request(node: str) -> str:
    """A PEM certificate request for ``system:node:<node>`` in ``system:nodes``, base64 (the kubelet's)."""
    import base64  # pylint: disable=import-outside-toplevel
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}")])).sign(key, hashes.SHA256())
    return base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode()


def spoke_csr(sim, cluster: str, name: str, node: str, kind: str, approve: bool = False) -> None:
    """The kubelet's client or serving CertificateSigningRequest on the spoke API server (only the cluster it stands
    for has one), pending until assisted-service approves it (condition Approved, reason AutoApproved)."""
    where = sim.spoke_where(cluster)
    if where is None or sim.resource(CSR_API, "CertificateSigningRequest", where) is None:
        return
    live = sim.get(CSR_API, "CertificateSigningRequest", name, where=where)
    if live is None:
        signer, usages = CSR_SIGNERS[kind]
        live = sim.create({"apiVersion": CSR_API, "kind": "CertificateSigningRequest", "metadata": {"name": name},
                           "spec": {"request": _csr_request(node), "signerName": signer, "usages": usages}}, where)
    if not approve or live is None or condition(live, "Approved"):
        return
    res = sim.resource(CSR_API, "CertificateSigningRequest", where)
    body = {"apiVersion": CSR_API, "kind": "CertificateSigningRequest", "metadata": {"name": name,
                                                                                     "resourceVersion": live["metadata"]["resourceVersion"]},
            "spec": live["spec"], "status": {"conditions": [{"type": "Approved", "status": "True", "reason": "AutoApproved",
                                                             "message": "Approved by assisted-service for a day-2 host"}]}}
    sim.client(where).request("PUT", res.path(name=name) + "/approval", body=body)


class WorkerPools:
    """The worker MachineConfigPool of each cluster with an API server of its own, written there as a real object."""

    name = "worker-pools"

    def __init__(self, sim):
        self.sim = sim

    def reconcile(self):
        for cluster, where in self.sim.spoke_clusters():
            self.pool(cluster, where)

    def pool(self, cluster, where):
        sim = self.sim
        if sim.resource(MCP_API, "MachineConfigPool", where) is None:
            return
        wanted = worker_pool(sim, cluster)
        live = sim.get(MCP_API, "MachineConfigPool", "worker", where=where)
        if live is None:
            body = {k: v for k, v in wanted.items() if k != "status"}
            body["metadata"] = {"name": "worker"}
            live = sim.create(body, where)
            if live is None:
                return
        current = live.get("status") or {}
        keys = ("machineCount", "updatedMachineCount", "degradedMachineCount")
        if any(current.get(k) != wanted["status"][k] for k in keys) or \
                [(c.get("type"), c.get("status")) for c in current.get("conditions") or []] != \
                [(c["type"], c["status"]) for c in wanted["status"]["conditions"]]:
            sim.write_status(live, wanted["status"], where)


class ManagedClusterViews:
    """The view agent: every ManagedClusterView in a cluster namespace gets ``status.result`` and ``Processing``."""

    name = "managedclusterview"

    def __init__(self, sim):
        self.sim = sim
        self.rounds = {}

    def reconcile(self):
        sim = self.sim
        for view in sim.list(VIEW_API, "ManagedClusterView"):
            cluster = view["metadata"]["namespace"]
            # the view agent runs on the managed cluster (work-manager add-on): nothing happens while the cluster is
            # offline or without the add-on; it refreshes each view every 30 s (view_controller.go DefaultUpdateInterval)
            if sim.fault("cluster-offline", cluster=cluster) or sim.fault("no-work-manager", cluster=cluster):
                continue
            uid = view["metadata"].get("uid")
            if (view.get("status") or {}).get("conditions") and sim.since(("view", uid), self.rounds.get(uid, 0)) < sim.delay("view_refresh"):
                continue
            self.rounds[uid] = self.rounds.get(uid, 0) + 1
            scope = (view.get("spec") or {}).get("scope") or {}
            try:
                result, error = self.lookup(cluster, scope)
            except Exception as exc:  # pylint: disable=broad-except
                result, error = None, str(exc)
            current = view.get("status") or {}
            if error:
                # a kind the cluster does not serve: ResourceGVKInvalid (scope by kind) or ResourceTypeInvalid (scope by
                # resource); a failed get: GetResourceFailed (view_controller.go)
                reason = "GetResourceFailed"
                if error.startswith("the server doesn't have a resource type"):
                    reason = "ResourceTypeInvalid" if scope.get("resource") else "ResourceGVKInvalid"
                    if reason == "ResourceGVKInvalid":
                        error = (f"no matches for kind \"{scope.get('kind')}\" in version "
                                 f"\"{scope.get('apiGroup') or ''}/{scope.get('version') or ''}\"")
                conds = set_condition(current.get("conditions"), "Processing", "False", reason,
                                      f"failed to get resource with err: {error}")
                status = {"conditions": conds, "result": None}
            else:
                conds = set_condition(current.get("conditions"), "Processing", "True", "GetResourceProcessing", "")
                status = {"conditions": conds, "result": result}
            old = condition(view, "Processing")
            new = [c for c in conds if c["type"] == "Processing"][0]
            if (old.get("status"), old.get("reason"), old.get("message")) != (new["status"], new["reason"], new["message"]) or \
                    json.dumps(current.get("result"), sort_keys=True) != json.dumps(status["result"], sort_keys=True):
                sim.write_status(view, status)

    def lookup(self, cluster, scope):
        """(object, None) or (None, error text) for the scope of a view on ``cluster``; the worker MachineConfigPool of
        clusters without an API server here comes from ``worker_pool``."""
        sim = self.sim
        name, namespace = scope.get("name"), scope.get("namespace") or None
        if not name:
            return None, "the name of the resource is empty"
        where = sim.spoke_where(cluster)
        if where is not None:
            res = self._spoke_resource(scope, where)
            if res is None:
                return None, f"the server doesn't have a resource type \"{scope.get('resource') or scope.get('kind')}\""
            obj = sim.get(res.group_version, res.kind, name, namespace if res.namespaced else None, where)
            if obj is None:
                return None, f"{res.name}{'.' + res.group if res.group else ''} \"{name}\" not found"
            obj = copy.deepcopy(obj)
            obj.get("metadata", {}).pop("managedFields", None)
            return obj, None
        wanted = (scope.get("kind") or scope.get("resource") or "").split(".")[0].lower()
        if wanted in ("machineconfigpool", "machineconfigpools"):
            pool = worker_pool(sim, cluster) if name == "worker" else None
            if pool is None:
                return None, f"machineconfigpools.machineconfiguration.openshift.io \"{name}\" not found"
            return pool, None
        for which, info in OPERATOR_CONFIGS.items():
            if wanted in (info["kind"].lower(), info["plural"], info["plural"][:-1]):
                sel = selector(sim, cluster, which)
                if sel is None or name != "default" or namespace != info["namespace"]:
                    return None, f"{info['plural']}.{info['apiVersion'].split('/', maxsplit=1)[0]} \"{name}\" not found"
                obj = operator_config(which, sel)
                obj["metadata"].update({"uid": f"{cluster}-{which}", "resourceVersion": "1", "generation": 1,
                                        "creationTimestamp": now_stamp(0)})
                return obj, None
        return None, f"the server doesn't have a resource type \"{scope.get('resource') or scope.get('kind')}\""

    def _spoke_resource(self, scope, where):
        client = self.sim.client(where)
        group = scope.get("apiGroup")
        kwargs = {}
        if group is not None:
            kwargs["group"] = group
        if scope.get("version"):
            kwargs["api_version"] = scope["version"]
        candidates = []
        if scope.get("resource"):
            resource = scope["resource"]
            if "." in resource and group is None:
                resource, kwargs["group"] = resource.split(".", 1)
            candidates = client.resources.search(name=resource, **kwargs) or client.resources.search(kind=resource, **kwargs)
            if not candidates:
                candidates = [r for r in client.resources.search(**kwargs) if r.kind.lower() == resource.lower()]
        elif scope.get("kind"):
            candidates = client.resources.search(kind=scope["kind"], **kwargs)
        candidates = [r for r in candidates if "/" not in r.name]
        return candidates[0] if candidates else None
