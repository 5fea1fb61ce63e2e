"""metal3 (baremetal-operator), assisted-service (BMAC, InfraEnv images, PreprovisioningImage, Agent) and ACM cluster
info (ManagedClusterInfo, ManagedCluster status), driving the status fields of ztp-formats §8.

BareMetalHost: ``registering`` -> ``inspecting`` (skipped with ``inspect.metal3.io: disabled``) -> ``available`` ->
``provisioning`` (booting the discovery ISO; needs the PreprovisioningImage Ready) -> ``provisioned``; deletion:
``deprovisioning`` -> gone. A missing BMC Secret or the ``bmc-error`` fault keeps the host in ``registering`` with
``registration error``. Agent stages follow the day-2 worker order of ``models/host_stage.go``.
"""

from __future__ import annotations

import json
import uuid

from .core import condition, now_stamp, set_condition
from . import bmc_credentials
from .spoke import spoke_csr

BMH_API = "metal3.io/v1alpha1"
AI_API = "agent-install.openshift.io/v1beta1"
MCI_API = "internal.open-cluster-management.io/v1beta1"
MC_API = "cluster.open-cluster-management.io/v1"
FINALIZER = "baremetalhost.metal3.io"
DETACHED = "baremetalhost.metal3.io/detached"
REMOVE_ON_DELETE = "bmac.agent-install.openshift.io/remove-agent-and-node-on-delete"
INFRAENV_LABEL = "infraenvs.agent-install.openshift.io"
BMH_LABEL = "agent-install.openshift.io/bmh"
ROLE_ANNOTATION = "bmac.agent-install.openshift.io/role"
HOSTNAME_ANNOTATION = "bmac.agent-install.openshift.io/hostname"
NODE_LABEL_PREFIX = "bmac.agent-install.openshift.io.node-label."
CUSTOM_DEPLOY = "start_assisted_install"

# Day-2 worker stages as the Agent shows them (the agent stops reporting after Rebooting; Joined/Done come from the Node).
DAY2_STAGES = ["Starting installation", "Installing", "Writing image to disk", "Waiting for control plane", "Rebooting",
               "Joined", "Done"]
MASTER_STAGES = ["Starting installation", "Waiting for bootkube", "Installing", "Writing image to disk", "Rebooting",
                 "Configuring", "Joined", "Done"]
REBOOTED_INFO = ("Host has rebooted and no further updates will be posted. Please check console for progress and to "
                 "possibly approve pending CSRs")
IMAGE_CREATED = "Image has been created"
BOOT_ORDER_MESSAGE = ("Expected the host to boot from disk, but it booted the installation image - please reboot and fix boot "
                      "order to boot from disk INTEL SSDPE2KX010T8 PHLJ0000000001P0FGN (nvme0n1, "
                      "/dev/disk/by-id/nvme-INTEL_SSDPE2KX010T8_PHLJ0000000001P0FGN)")
# failing-validation messages of internal/host/validator.go
VALIDATION_MESSAGES = {
    "ignition-downloadable": "This host has failed to download the ignition file from the cluster, please ensure the host "
                             "can reach the cluster",
    "api-int-domain-name-resolved-correctly": "Couldn't resolve domain name api-int.sno.example.com on the host. To continue "
                                              "installation, create the necessary DNS entries to resolve this domain name to "
                                              "your cluster's internal API",
    "ntp-synced": "Host couldn't synchronize with any NTP server",
}
NODE_CAPACITY = {"cpu": "64", "memory": "196608000Ki"}
IMAGE_HOST = "https://assisted-image-service-multicluster-engine.apps.hub.example.com"


def agent_name(bmh: dict) -> str:
    """A stable host UUID for the Agent of a BareMetalHost."""
    meta = bmh["metadata"]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bmh/{meta['namespace']}/{meta['name']}/{meta.get('uid', '')}"))


def _ann(obj: dict) -> dict:
    return obj["metadata"].get("annotations") or {}


def _state(bmh: dict) -> str:
    return (((bmh.get("status") or {}).get("provisioning") or {}).get("state")) or ""


def bmh_status(bmh: dict, state: str, operational: str = "OK", error_type=None, message: str = "", count: int = 0) -> dict:
    spec = bmh.get("spec") or {}
    provisioning = {"ID": agent_name(bmh) if state not in ("", "registering") else "", "state": state,
                    "bootMode": spec.get("bootMode") or "UEFI"}
    if spec.get("rootDeviceHints"):
        provisioning["rootDeviceHints"] = spec["rootDeviceHints"]
    if state in ("provisioning", "provisioned") and spec.get("customDeploy"):
        provisioning["customDeploy"] = spec["customDeploy"]
    return {"provisioning": provisioning, "operationalStatus": operational, "errorType": error_type,
            "errorMessage": message, "errorCount": count, "poweredOn": state in ("provisioning", "provisioned"),
            "hardwareProfile": "unknown" if state not in ("", "registering") else "",
            "lastUpdated": now_stamp()}


def _same(status: dict, wanted: dict) -> bool:
    keys = ("operationalStatus", "errorType", "errorMessage", "errorCount")
    return all((status or {}).get(k) == wanted.get(k) for k in keys) and _state({"status": status}) == wanted["provisioning"]["state"]


def _ppi_ready(sim, bmh: dict) -> bool:
    meta = bmh["metadata"]
    ppi = sim.get(BMH_API, "PreprovisioningImage", meta["name"], meta["namespace"])
    return condition(ppi, "Ready").get("status") == "True"


def _node_labels(agent: dict) -> dict:
    role = (agent.get("spec") or {}).get("role") or (agent.get("status") or {}).get("role") or "worker"
    labels = {"node-role.kubernetes.io/worker": ""}
    if role == "master":
        labels = {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/worker": ""}
    for key, value in ((agent.get("spec") or {}).get("nodeLabels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") or key == "kubernetes.io/role":
            labels[key] = value
    return labels


def _agent_body(bmh: dict, cluster_ref: dict | None = None) -> dict:
    """The Agent BMAC pairs with a BareMetalHost; its cluster is the InfraEnv's ``clusterRef`` (the BMH namespace when
    there is none)."""
    meta = bmh["metadata"]
    ann = _ann(bmh)
    cluster = meta["namespace"]
    ref = cluster_ref or {"name": cluster, "namespace": cluster}
    spec = {"approved": True, "clusterDeploymentName": {"name": ref.get("name") or cluster, "namespace": ref.get("namespace") or cluster},
            "role": ann.get(ROLE_ANNOTATION) or "master", "hostname": ann.get(HOSTNAME_ANNOTATION) or meta["name"]}
    if ann.get("bmac.agent-install.openshift.io/installer-args"):
        spec["installerArgs"] = ann["bmac.agent-install.openshift.io/installer-args"]
    if ann.get("bmac.agent-install.openshift.io/ignition-config-overrides"):
        spec["ignitionConfigOverrides"] = ann["bmac.agent-install.openshift.io/ignition-config-overrides"]
    labels_from_ann = {k[len(NODE_LABEL_PREFIX):]: v for k, v in ann.items() if k.startswith(NODE_LABEL_PREFIX)}
    if labels_from_ann:
        spec["nodeLabels"] = labels_from_ann
    return {"apiVersion": AI_API, "kind": "Agent",
            "metadata": {"name": agent_name(bmh), "namespace": cluster,
                         "labels": {BMH_LABEL: meta["name"],
                                    INFRAENV_LABEL: (meta.get("labels") or {}).get(INFRAENV_LABEL) or cluster}},
            "spec": spec}


def _agent_conditions(state: str, stage_info: str = "", failed_message: str = "", validation: str = "") -> list:
    """Agent conditions as agent_controller.go sets them from the host status (connected, requirementsMet, validated,
    installed, bound); messages from api/v1beta1/agent_types.go."""
    conds = set_condition([], "SpecSynced", "True", "SyncOK", "The Spec has been successfully applied")
    if state == "disconnected":
        conds = set_condition(conds, "Connected", "False", "AgentIsDisconnected",
                              "The agent has not contacted the installation service in some time, user action should be taken")
    else:
        conds = set_condition(conds, "Connected", "True", "AgentIsConnected", "The agent's connection to the installation service is unimpaired")
    if state == "known":
        conds = set_condition(conds, "RequirementsMet", "True", "AgentIsReady", "The agent is ready to begin the installation")
    elif state in ("insufficient", "disconnected"):
        conds = set_condition(conds, "RequirementsMet", "False", "AgentNotReady", "The agent is not ready to begin the installation")
    elif state in ("installing", "installing-in-progress", "installing-pending-user-action"):
        conds = set_condition(conds, "RequirementsMet", "True", "AgentAlreadyInstalling", "Installation already started and is in progress")
    else:
        conds = set_condition(conds, "RequirementsMet", "True", "AgentInstallationStopped", "The agent installation stopped")
    if state == "insufficient":
        conds = set_condition(conds, "Validated", "False", "ValidationsFailing", f"The agent's validations are failing: {validation}")
    else:
        conds = set_condition(conds, "Validated", "True", "ValidationsPassing", "The agent's validations are passing")
    if state in ("known", "insufficient", "disconnected"):
        conds = set_condition(conds, "Installed", "False", "InstallationNotStarted", "The installation has not yet started")
    elif state == "error":
        conds = set_condition(conds, "Installed", "False", "InstallationFailed", f"The installation has failed: {failed_message}")
    elif state in ("installed", "added-to-existing-cluster"):
        conds = set_condition(conds, "Installed", "True", "InstallationCompleted", f"The installation has completed: {stage_info}")
    else:
        conds = set_condition(conds, "Installed", "False", "InstallationInProgress", f"The installation is in progress: {stage_info}")
    conds = set_condition(conds, "Bound", "True", "Bound", "The agent is bound to a cluster deployment")
    return conds


def _progress(stages: list, stage: str, started: str | None = None) -> dict:
    progress = {"progressStages": stages, "stageStartTime": started or now_stamp(), "stageUpdateTime": now_stamp()}
    if stage:
        progress["currentStage"] = stage
        if stage in stages:
            progress["installationPercentage"] = round(100 * (stages.index(stage) + 1) / len(stages))
    return progress


def _agent_status(bmh: dict, kind: str, state: str, stage: str, stages: list, state_info: str, failed_message: str = "",
                  validation: str = "") -> dict:
    role = _ann(bmh).get(ROLE_ANNOTATION) or "master"
    host = _ann(bmh).get(HOSTNAME_ANNOTATION) or bmh["metadata"]["name"]
    mac = (bmh.get("spec") or {}).get("bootMACAddress") or ""
    return {"kind": kind, "role": role, "progress": _progress(stages, stage) if stage else {},
            "debugInfo": {"state": state, "stateInfo": state_info,
                          "eventsURL": f"{IMAGE_HOST}/api/assisted-install/v2/events?host_id={agent_name(bmh)}"},
            "inventory": {"hostname": host, "bmcAddress": "0.0.0.0", "cpu": {"count": int(NODE_CAPACITY["cpu"]), "architecture": "x86_64"},
                          "memory": {"physicalBytes": 201326592000, "usableBytes": 200000000000},
                          "interfaces": [{"name": "eno1", "macAddress": mac.lower(), "ipV4Addresses": [], "ipV6Addresses": [], "flags": []}]
                          if mac else [], "reportTime": now_stamp()},
            "conditions": _agent_conditions(state, state_info if state != "error" else stage, failed_message, validation)}


INFRAENV_AVAILABLE = "InfraEnv is available"
ISO_COOLDOWN = 60.0   # bmh_agent_controller.go InfraEnvImageCooldownPeriod


def legacy_generation(sim, cluster: str) -> bool:
    """assisted-service before it reported ``InfraEnvAvailable`` (setting ``assistedService: legacy`` or fault
    ``assisted-legacy``)."""
    return str(sim.config.get("assistedService") or "") == "legacy" or sim.fault("assisted-legacy", cluster=cluster) is not None


def _infraenv_ready_status(infraenv: dict, legacy: bool = False, created: str | None = None) -> dict:
    """ImageCreated condition: current assisted-service ``InfraEnvAvailable`` / ``InfraEnv is available: Image has been
    created`` (infraenv_controller.go), older ones ``ImageCreated`` / ``Image has been created``."""
    meta = infraenv["metadata"]
    if legacy:
        cond = set_condition([], "ImageCreated", "True", "ImageCreated", IMAGE_CREATED)
    else:
        cond = set_condition([], "ImageCreated", "True", "InfraEnvAvailable", f"{INFRAENV_AVAILABLE}: {IMAGE_CREATED}")
    return {"conditions": cond,
            "isoDownloadURL": f"{IMAGE_HOST}/byid/{meta.get('uid', meta['name'])}/4.20/x86_64/minimal.iso",
            "createdTime": created or now_stamp(),
            "agentLabelSelector": {"matchLabels": {INFRAENV_LABEL: meta["name"]}},
            "debugInfo": {"eventsURL": f"{IMAGE_HOST}/api/assisted-install/v2/events?infra_env_id={meta.get('uid', '')}"}}


def _ppi_status(sim, ppi: dict, infraenv, cooldown: bool = True) -> dict:
    """preprovisioningimage_controller.go: not created -> WaitingForInfraEnvImageToBeCreated; created less than the
    cool-down period ago -> WaitingForInfraEnvImageToCoolDown; else the InfraEnv's own reason and message."""
    meta = ppi["metadata"]
    fault = sim.fault("image-never-created", cluster=meta["namespace"], host=meta["name"])
    ie_cond = condition(infraenv, "ImageCreated") if infraenv is not None else {}
    created = ie_cond.get("status") == "True" and not fault and (infraenv.get("status") or {}).get("createdTime")
    conds = (ppi.get("status") or {}).get("conditions") or []
    if created and cooldown and sim.elapsed(infraenv["status"]["createdTime"]) < ISO_COOLDOWN:
        message = "Waiting for InfraEnv image to cool down"
        conds = set_condition(conds, "Ready", "False", "WaitingForInfraEnvImageToCoolDown", message)
        conds = set_condition(conds, "Error", "False", "WaitingForInfraEnvImageToCoolDown", message)
        return {"conditions": conds, "imageUrl": None, "format": None}
    if created:
        reason, message = ie_cond.get("reason") or "ImageCreated", ie_cond.get("message") or IMAGE_CREATED
        conds = set_condition(conds, "Ready", "True", reason, message)
        conds = set_condition(conds, "Error", "False", reason, message)
        return {"conditions": conds, "imageUrl": (infraenv.get("status") or {}).get("isoDownloadURL"), "format": "iso",
                "architecture": "x86_64"}
    message = "Waiting for InfraEnv image to be created"
    conds = set_condition(conds, "Ready", "False", "WaitingForInfraEnvImageToBeCreated", message)
    conds = set_condition(conds, "Error", "False", "WaitingForInfraEnvImageToBeCreated", message)
    return {"conditions": conds, "imageUrl": None, "format": None}


def _conds_equal(old: list, new: list) -> bool:
    def strip(conds):
        return sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in conds or [])
    return strip(old) == strip(new)


def ensure_ppi(sim, bmh: dict):
    """The PreprovisioningImage of a BMH: same name/namespace, owner reference, a copy of all BMH labels."""
    meta = bmh["metadata"]
    labels = dict(meta.get("labels") or {})
    ppi = sim.get(BMH_API, "PreprovisioningImage", meta["name"], meta["namespace"])
    if ppi is None:
        return sim.create({"apiVersion": BMH_API, "kind": "PreprovisioningImage",
                           "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": labels,
                                        "ownerReferences": [{"apiVersion": BMH_API, "kind": "BareMetalHost", "name": meta["name"],
                                                             "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]},
                           "spec": {"acceptFormats": ["iso", "initrd"], "architecture": "x86_64"}})
    current = ppi["metadata"].get("labels") or {}
    if current != labels:
        patch = {k: v for k, v in labels.items() if current.get(k) != v}
        patch.update({k: None for k in current if k not in labels})
        ppi = sim.patch(ppi, {"metadata": {"labels": patch}})
    return ppi


def mark_installed(sim, cluster: str, rendered_bmhs: list) -> None:
    """Day 1 is done for these hosts: BMH provisioned (detached), image created, Agent Done, node Ready."""
    for infraenv in sim.list(AI_API, "InfraEnv", cluster):
        if condition(infraenv, "ImageCreated").get("status") != "True":
            sim.write_status(infraenv, _infraenv_ready_status(infraenv, legacy_generation(sim, cluster), now_stamp(0)))
    for obj in rendered_bmhs:
        bmh = sim.get(BMH_API, "BareMetalHost", obj["metadata"]["name"], cluster)
        if bmh is None:
            continue
        finalizers = bmh["metadata"].get("finalizers") or []
        bmh = sim.patch(bmh, {"metadata": {"annotations": {DETACHED: "assisted-service-controller"},
                                           "finalizers": finalizers + ([FINALIZER] if FINALIZER not in finalizers else [])},
                              "spec": {"customDeploy": {"method": CUSTOM_DEPLOY}}})
        sim.write_status(bmh, bmh_status(bmh, "provisioned", "detached"))
        ppi = ensure_ppi(sim, bmh)
        if ppi is not None:
            infraenv = sim.get(AI_API, "InfraEnv", (bmh["metadata"].get("labels") or {}).get(INFRAENV_LABEL, cluster), cluster)
            sim.write_status(ppi, _ppi_status(sim, ppi, infraenv, cooldown=False))
        agent = sim.create(_agent_body(bmh)) or sim.get(AI_API, "Agent", agent_name(bmh), cluster)
        role = _ann(bmh).get(ROLE_ANNOTATION) or "master"
        stages = MASTER_STAGES if role == "master" else DAY2_STAGES
        sim.write_status(agent, _agent_status(bmh, "Host", "installed", "Done", stages, "Done"))


# BMC drivers that boot the PreprovisioningImage by virtual media; the ironic provisioner does not count them against
# its capacity (baremetal-operator pkg/hardwareutils/bmc/*virtualmedia.go and redfish_https.go
# SupportsISOPreprovisioningImage; pkg/provisioner/ironic/ironic.go HasCapacity, loadBusyHosts)
ISO_DRIVERS = ("redfish-virtualmedia", "idrac-virtualmedia", "ilo5-virtualmedia", "ilo4-virtualmedia", "redfish-https")
# states whose ironic node is busy (loadBusyHosts: Cleaning, Inspecting, Deploying, Deleting)
BUSY_STATES = ("inspecting", "preparing", "provisioning", "deprovisioning")
# states that need a free slot before the host enters them (host_state_machine.go updateHostStateFrom)
CAPACITY_STATES = ("inspecting", "provisioning", "deprovisioning")
ERROR_TYPES = {"registering": "registration error", "inspecting": "inspection error", "preparing": "preparation error",
               "provisioning": "provisioning error", "provisioned": "power management error", "deprovisioning": "provisioning error"}
MAX_BACKOFF_COUNT = 9   # action_result.go maxBackOffCount


def backoff(error_count: int) -> float:
    """Simulated seconds before the next attempt after ``error_count`` failures: action_result.go calculateBackoff
    (2^n minutes minus up to half of it at random; the simulator takes the middle of that range)."""
    return 60.0 * (2 ** min(error_count, MAX_BACKOFF_COUNT)) * 0.75


def uses_iso_driver(bmh: dict) -> bool:
    address = (((bmh.get("spec") or {}).get("bmc") or {}).get("address") or "")
    return address.split("://", 1)[0].split("+", 1)[0] in ISO_DRIVERS


class BareMetalOperator:
    """baremetal-operator: the BareMetalHost state machine and the PreprovisioningImage objects."""

    name = "metal3"

    def __init__(self, sim):
        self.sim = sim
        self.busy = set()

    def limit(self) -> int:
        try:
            return int(self.sim.config.get("provisioningLimit", 20))
        except (TypeError, ValueError):
            return 20

    def reconcile(self):
        hosts = self.sim.list(BMH_API, "BareMetalHost")
        self.busy = {h["metadata"]["uid"] for h in hosts if _state(h) in BUSY_STATES and not uses_iso_driver(h)
                     and (h.get("status") or {}).get("operationalStatus") != "delayed"}
        for bmh in hosts:
            try:
                self.reconcile_host(bmh)
            except Exception as exc:  # pylint: disable=broad-except
                self.sim.log.warning("metal3: %s/%s: %s", bmh["metadata"].get("namespace"), bmh["metadata"]["name"], exc)

    def has_capacity(self, bmh) -> bool:
        """ironic HasCapacity: virtual-media hosts are not limited; a host already busy keeps its slot."""
        meta = bmh["metadata"]
        if self.sim.fault("provisioner-busy", cluster=meta["namespace"], host=meta["name"]):
            return False
        if uses_iso_driver(bmh) or meta["uid"] in self.busy:
            return True
        return len(self.busy) < self.limit()

    def _write(self, bmh, status):
        if not _same(bmh.get("status"), status):
            self.sim.log.info("metal3: %s/%s -> %s %s %s", bmh["metadata"]["namespace"], bmh["metadata"]["name"],
                              status["provisioning"]["state"], status["operationalStatus"], status.get("errorType") or "")
            self.sim.write_status(bmh, status)
            # the state starts now (saves the tick that would first notice it)
            uid = bmh["metadata"].get("uid")
            if uid and not status.get("errorType") and status["operationalStatus"] != "delayed":
                self.sim.since(("bmh", uid), status["provisioning"]["state"])
                if status["provisioning"]["state"] == "provisioned":
                    self.sim.since(("agent-discovery", uid), "booted")

    def move(self, bmh, state, status):
        """Enter ``state``; (de)provisioning and inspection wait for a free slot: ``operationalStatus: delayed``."""
        if state in CAPACITY_STATES and not self.has_capacity(bmh):
            if status.get("operationalStatus") != "delayed":
                self._write(bmh, bmh_status(bmh, _state(bmh), "delayed", count=status.get("errorCount") or 0))
            return
        if not uses_iso_driver(bmh) and state in BUSY_STATES:
            self.busy.add(bmh["metadata"]["uid"])
        # every state change resets errorCount (host_state_machine.go handleRegistering/Inspecting/Preparing)
        self._write(bmh, bmh_status(bmh, state))

    def failing(self, bmh, status, state) -> bool:
        """A BMC error while in ``state`` (fault ``bmc-error``): errorCount +1 per attempt with the operator's
        backoff, cleared (count kept) once ``count`` attempts have failed. True while the host is failing."""
        sim = self.sim
        meta = bmh["metadata"]
        fault = sim.fault("bmc-error", cluster=meta["namespace"], host=meta["name"])
        if not fault or str(fault.get("state", "registering")) != state:
            return False
        count = status.get("errorCount") or 0
        limit = fault.get("count")
        if limit is not None and count >= int(limit):
            if status.get("errorType"):
                # the action succeeded: clearError keeps errorCount until the next state (baremetalhost_controller.go)
                self._write(bmh, bmh_status(bmh, state, count=count))
                sim.since(("bmh", meta["uid"]), f"{state}-recovered")
            return False
        address = ((bmh.get("spec") or {}).get("bmc") or {}).get("address") or ""
        error = fault.get("message") or (f"Failed to get power state for node {agent_name(bmh)}. Error: Redfish exception "
                                         f"occurred. Error: Failed to connect to Redfish controller at {address}")
        if not status.get("errorType") or sim.since(("bmh-retry", meta["uid"]), count) >= backoff(count):
            self._write(bmh, bmh_status(bmh, state, "error", ERROR_TYPES.get(state, "registration error"), error, count + 1))
        return True

    def reconcile_host(self, bmh):
        sim = self.sim
        meta = bmh["metadata"]
        uid = meta["uid"]
        status = bmh.get("status") or {}
        state = _state(bmh)
        finalizers = meta.get("finalizers") or []
        if meta.get("deletionTimestamp"):
            self.delete_host(bmh, state, finalizers, status)
            return
        if FINALIZER not in finalizers:
            bmh = sim.patch(bmh, {"metadata": {"finalizers": finalizers + [FINALIZER]}}) or bmh
        ensure_ppi(sim, bmh)
        detached = DETACHED in _ann(bmh)
        if status.get("operationalStatus") == "delayed":
            # checkDelayedHost: retry the transition once a slot is free
            nxt = {"registering": "inspecting", "preparing": "provisioning", "available": "provisioning",
                   "provisioned": "deprovisioning"}.get(state, state)
            if state == "registering" and _ann(bmh).get("inspect.metal3.io") == "disabled":
                nxt = "preparing"
            self.move(bmh, nxt, status)
            return
        if bmc_credentials.reconcile_host(sim, bmh, state):
            return  # ensureRegistered runs before the state handlers: re-registering with new BMC credentials
        if state == "":
            self._write(bmh, bmh_status(bmh, "registering"))
        elif state == "registering":
            self.register(bmh, status)
        elif state == "inspecting":
            if not self.failing(bmh, status, state) and sim.since(("bmh", uid), state) >= sim.delay("bmh_inspecting"):
                self.move(bmh, "preparing", status)
        elif state == "preparing":
            if not self.failing(bmh, status, state) and sim.since(("bmh", uid), state) >= sim.delay("bmh_preparing"):
                self.move(bmh, "available", status)
        elif state == "available":
            custom = ((bmh.get("spec") or {}).get("customDeploy") or {}).get("method")
            if custom and sim.since(("bmh", uid), state) >= sim.delay("bmh_available"):
                self.move(bmh, "provisioning", status)
        elif state == "provisioning":
            if self.failing(bmh, status, state):
                return
            if not _ppi_ready(sim, bmh):
                sim.since(("bmh", uid), "waiting-for-image")
            elif sim.since(("bmh", uid), state) >= sim.delay("bmh_provisioning_boot"):
                self.move(bmh, "provisioned", status)
        elif state == "provisioned":
            operational = "detached" if detached else "OK"
            if status.get("operationalStatus") != operational:
                self.sim.write_status(bmh, {"operationalStatus": operational, "lastUpdated": now_stamp()})

    def register(self, bmh, status):
        sim = self.sim
        meta = bmh["metadata"]
        ns, uid = meta["namespace"], meta["uid"]
        secret_name = ((bmh.get("spec") or {}).get("bmc") or {}).get("credentialsName") or ""
        error = None
        if not secret_name:
            error = "The BMC secret reference is empty"
        elif sim.get("v1", "Secret", secret_name, ns) is None:
            error = f"The BMC secret {ns}/{secret_name} does not exist"
        if error:
            count = status.get("errorCount") or 0
            if status.get("errorMessage") != error or status.get("operationalStatus") != "error":
                self._write(bmh, bmh_status(bmh, "registering", "error", "registration error", error, count + 1))
            elif sim.since(("bmh-retry", uid), count) >= backoff(count):
                self._write(bmh, bmh_status(bmh, "registering", "error", "registration error", error, count + 1))
            sim.since(("bmh", uid), "registering-error")
            return
        if self.failing(bmh, status, "registering"):
            sim.since(("bmh", uid), "registering-error")
            return
        if status.get("errorType"):
            self._write(bmh, bmh_status(bmh, "registering", count=status.get("errorCount") or 0))
            return
        if sim.since(("bmh", uid), "registering") >= sim.delay("bmh_registering"):
            inspect = _ann(bmh).get("inspect.metal3.io") == "disabled"
            self.move(bmh, "preparing" if inspect else "inspecting", status)

    def delete_host(self, bmh, state, finalizers, status):
        """A deleted host (worker removal, docs/testhub.md "Worker removal"). baremetal-operator host_state_machine.go:
        checkInitiateDelete (lines 224-262: a detached host skips to ``deleting``, a provisioned one goes to
        ``deprovisioning``), handleDeprovisioning (596-630: cleaning failures are retried, given up after retryCount 3
        when deleting), handlePoweringOffBeforeDelete (632-661), then actionDeleting removes the finalizer
        (baremetalhost_controller.go 574-622). BMAC's part (assisted-service bmh_agent_controller.go handleBMHFinalizer,
        337-403) is folded in: with ``remove-agent-and-node-on-delete`` (its presence is what counts, line 350) it first
        removes the detached annotation and sets cleaning to metadata (configureBMHForCleaning, 1858-1866), waits for
        ``deleting`` and deletes the Agent (line 393); without it the Agent stays. Fault ``bmh-delete-stuck``: the host
        stays in ``deleting`` with an error and keeps its finalizer (ironic cannot delete the node)."""
        sim = self.sim
        meta = bmh["metadata"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        if FINALIZER not in finalizers:
            return
        ann = _ann(bmh)
        remove = REMOVE_ON_DELETE in ann
        if remove and (DETACHED in ann or (bmh.get("spec") or {}).get("automatedCleaningMode") != "metadata"):
            sim.patch(bmh, {"metadata": {"annotations": {DETACHED: None}}, "spec": {"automatedCleaningMode": "metadata"}})
            return
        if state in ("provisioned", "provisioning", "externally provisioned"):
            self.move(bmh, "deleting" if DETACHED in ann else "deprovisioning", status)
            return
        if state in ("", "registering", "inspecting", "preparing", "available"):
            self.move(bmh, "deleting" if state in ("", "registering") else "powering off before delete", status)
            return
        if state == "deprovisioning":
            if self.failing(bmh, status, state) and (status.get("errorCount") or 0) <= 3:
                return
            if sim.since(("bmh", uid), state) < sim.delay("bmh_deprovisioning"):
                return
            self.move(bmh, "powering off before delete", status)
            return
        if state == "powering off before delete":
            if sim.since(("bmh", uid), state) >= sim.delay("bmh_powering_off"):
                self.move(bmh, "deleting", status)
            return
        stuck = sim.fault("bmh-delete-stuck", cluster=ns, host=name)
        if stuck:
            message = stuck.get("message") or f"failed to delete: failed to delete node {agent_name(bmh)}: connection refused"
            if status.get("errorMessage") != message:
                self._write(bmh, bmh_status(bmh, "deleting", "error", "provisioning error", message, (status.get("errorCount") or 0) + 1))
            return
        if remove:
            agents = sim.list(AI_API, "Agent", ns, label_selector=f"{BMH_LABEL}={name}")
            for agent in agents:
                sim.log.info("assisted-service: BMH %s/%s deleted with %s: deleting Agent %s", ns, name, REMOVE_ON_DELETE,
                             agent["metadata"]["name"])
                sim.delete(AI_API, "Agent", agent["metadata"]["name"], ns)
        sim.log.info("metal3: %s/%s deleted", ns, name)
        sim.delete(BMH_API, "PreprovisioningImage", name, ns)
        sim.patch(bmh, {"metadata": {"finalizers": [f for f in finalizers if f != FINALIZER]}})


class AssistedService:
    """assisted-service: InfraEnv images, PreprovisioningImage conditions, BMAC (customDeploy, detach) and Agents."""

    name = "assisted-service"

    def __init__(self, sim):
        self.sim = sim
        self.regenerated = set()

    def reconcile(self):
        sim = self.sim
        for infraenv in sim.list(AI_API, "InfraEnv"):
            ns = infraenv["metadata"]["namespace"]
            legacy = legacy_generation(sim, ns)
            if condition(infraenv, "ImageCreated").get("status") != "True":
                if sim.since(("infraenv", infraenv["metadata"]["uid"]), "creating") >= sim.delay("ppi_image"):
                    sim.write_status(infraenv, _infraenv_ready_status(infraenv, legacy))
                continue
            regen = sim.fault("iso-regenerated", cluster=ns)
            if regen is not None and (ns, json.dumps(regen, sort_keys=True)) not in self.regenerated:
                # the ISO is made again (e.g. an NMStateConfig changed): new createdTime, a new cool-down
                self.regenerated.add((ns, json.dumps(regen, sort_keys=True)))
                sim.write_status(infraenv, _infraenv_ready_status(infraenv, legacy))
        for ppi in sim.list(BMH_API, "PreprovisioningImage"):
            meta = ppi["metadata"]
            infraenv_name = (meta.get("labels") or {}).get(INFRAENV_LABEL)
            infraenv = sim.get(AI_API, "InfraEnv", infraenv_name, meta["namespace"]) if infraenv_name else None
            wanted = _ppi_status(sim, ppi, infraenv)
            current = ppi.get("status") or {}
            if not _conds_equal(current.get("conditions"), wanted["conditions"]) or current.get("imageUrl") != wanted.get("imageUrl"):
                sim.write_status(ppi, wanted)
        agents = {}
        for agent in sim.list(AI_API, "Agent"):
            labels = agent["metadata"].get("labels") or {}
            agents[(agent["metadata"]["namespace"], labels.get(BMH_LABEL))] = agent
        for bmh in sim.list(BMH_API, "BareMetalHost"):
            try:
                self.bmac(bmh, agents.get((bmh["metadata"]["namespace"], bmh["metadata"]["name"])))
            except Exception as exc:  # pylint: disable=broad-except
                sim.log.warning("assisted-service: BMH %s/%s: %s", bmh["metadata"]["namespace"], bmh["metadata"]["name"], exc)
        for agent in sim.list(AI_API, "Agent"):
            try:
                self.progress(agent)
            except Exception as exc:  # pylint: disable=broad-except
                sim.log.warning("assisted-service: Agent %s/%s: %s", agent["metadata"]["namespace"], agent["metadata"]["name"], exc)

    def bmac(self, bmh, agent):
        """BMAC: set customDeploy once the InfraEnv exists, create the Agent once the ISO booted, detach when done."""
        sim = self.sim
        meta = bmh["metadata"]
        if meta.get("deletionTimestamp"):
            return
        state = _state(bmh)
        infraenv_name = (meta.get("labels") or {}).get(INFRAENV_LABEL)
        if state in ("available", "inspecting", "preparing") and not ((bmh.get("spec") or {}).get("customDeploy") or {}).get("method"):
            if infraenv_name and sim.get(AI_API, "InfraEnv", infraenv_name, meta["namespace"]) is not None:
                sim.patch(bmh, {"spec": {"customDeploy": {"method": CUSTOM_DEPLOY}, "online": True}})
            return
        if state == "provisioned" and agent is None:
            if sim.since(("agent-discovery", meta["uid"]), "booted") >= sim.delay("agent_discovery"):
                infraenv = sim.get(AI_API, "InfraEnv", infraenv_name, meta["namespace"]) if infraenv_name else None
                created = sim.create(_agent_body(bmh, ((infraenv or {}).get("spec") or {}).get("clusterRef")))
                if created is not None:
                    sim.log.info("assisted-service: Agent %s registered for %s/%s", created["metadata"]["name"], meta["namespace"], meta["name"])
                    sim.write_status(created, _agent_status(bmh, "AddToExistingClusterHost", "known", "", DAY2_STAGES,
                                                            "Host is ready to be installed"))
            return
        if agent is not None and DETACHED not in _ann(bmh):
            if (agent.get("status") or {}).get("progress", {}).get("currentStage") == "Done":
                sim.patch(bmh, {"metadata": {"annotations": {DETACHED: "assisted-service-controller"}}})

    def progress(self, agent):
        """A day-2 host: validations, the install stages, then the spoke side (agent_controller.go updateStatus,
        UpdateDay2InstallPogress): Rebooting until the Node exists, Joined until it is Ready and its client and
        serving CSRs are approved, then Done."""
        sim = self.sim
        meta = agent["metadata"]
        status = agent.get("status") or {}
        state = (status.get("debugInfo") or {}).get("state") or ""
        stage = (status.get("progress") or {}).get("currentStage") or ""
        if status.get("kind") != "AddToExistingClusterHost" or stage in ("Done", "Failed") or state == "error":
            return
        ns = meta["namespace"]
        host = (meta.get("labels") or {}).get(BMH_LABEL) or meta["name"]
        agent_spec = agent.get("spec") or {}
        annotations = {ROLE_ANNOTATION: agent_spec.get("role"), HOSTNAME_ANNOTATION: agent_spec.get("hostname")}
        bmh = sim.get(BMH_API, "BareMetalHost", host, ns) or {"metadata": {"name": host, "namespace": ns, "annotations": annotations}, "spec": {}}
        bmh["metadata"]["uid"] = ""
        key = ("agent", meta["uid"])

        def write(new_state, new_stage, info, validation="", csr=None):
            new = _agent_status(bmh, "AddToExistingClusterHost", new_state, new_stage, DAY2_STAGES, info, validation=validation)
            if csr is not None or status.get("csrStatus"):
                new["csrStatus"] = csr if csr is not None else status.get("csrStatus")
            old = (state, stage, (status.get("debugInfo") or {}).get("stateInfo"), json.dumps(status.get("csrStatus"), sort_keys=True))
            if old != (new_state, new_stage, info, json.dumps(new.get("csrStatus"), sort_keys=True)):
                sim.log.info("assisted-service: Agent %s of %s/%s -> %s %s", meta["name"], ns, host, new_state, new_stage)
                sim.write_status(agent, new)
            return new

        # the agent stops contacting the service: host status disconnected, Connected=False (agent_controller.go connected)
        gone = sim.fault("agent-disconnected", cluster=ns, host=host)
        if gone is not None and str(gone.get("stage", stage)) == stage and stage not in ("Rebooting", "Joined"):
            write("disconnected", stage, "Host has stopped communicating with the installation service")
            sim.since(key, ("disconnected", stage))
            return
        if not stage:
            bad = sim.fault("agent-insufficient", cluster=ns, host=host)
            if bad is not None:
                which = str(bad.get("validation") or "ignition-downloadable")
                validation = bad.get("message") or VALIDATION_MESSAGES.get(which, which)
                write("insufficient", "", "Host cannot be installed due to following failing validation(s): " + validation, validation)
                sim.since(key, "insufficient")
                return
            if state != "known":
                write("known", "", "Host is ready to be installed")
                sim.since(key, "")
                return
        elif state == "disconnected":
            write("installing-in-progress", stage, stage)
            return
        stuck = sim.fault("agent-stuck", cluster=ns, host=host)
        if stuck and stage == stuck.get("stage", "Writing image to disk"):
            sim.since(key, stage)
            return
        if stage in ("Rebooting", "Joined"):
            self.spoke_side(agent, status, stage, key, write, ns, host)
            return
        delay = sim.delay("agent_writing_image") if stage == "Writing image to disk" else sim.delay("agent_stage")
        if sim.since(key, stage) < delay:
            return
        failed = sim.fault("agent-failed", cluster=ns, host=host)
        if failed and stage == failed.get("stage", "Writing image to disk"):
            message = failed.get("message") or f"Host failed to install due to timeout while {stage.lower()}"
            new = _agent_status(bmh, "AddToExistingClusterHost", "error", "Failed", DAY2_STAGES, message, message)
            new["progress"]["progressInfo"] = message
            new["progress"]["installationPercentage"] = (status.get("progress") or {}).get("installationPercentage")
            sim.log.info("assisted-service: Agent %s of %s/%s failed at %s", meta["name"], ns, host, stage)
            sim.write_status(agent, new)
            return
        nxt = DAY2_STAGES[0] if stage not in DAY2_STAGES else DAY2_STAGES[DAY2_STAGES.index(stage) + 1]
        if nxt == "Rebooting":
            write("added-to-existing-cluster", nxt, REBOOTED_INFO)
        else:
            write("installing" if nxt == DAY2_STAGES[0] else "installing-in-progress", nxt, nxt)
        sim.since(key, nxt)

    def spoke_side(self, agent, status, stage, key, write, ns, host):
        """After the reboot: the kubelet asks for its client certificate, registers the Node once that CSR is approved,
        asks for its serving certificate; assisted-service approves both for day-2 hosts with a BareMetalHost on its
        next reconcile (agent_controller.go tryApproveDay2CSRs, requeue APPROVE_CSRS_REQUEUE_DURATION, cmd/main.go)."""
        sim = self.sim
        uid = agent["metadata"]["uid"]
        rebooting = sim.since(key, "Rebooting-boot") if stage == "Rebooting" else sim.delay("node_boot")
        pending_user = sim.fault("boot-order", cluster=ns, host=host)
        if stage == "Rebooting" and pending_user is not None and rebooting >= sim.delay("node_boot"):
            # the host booted the discovery ISO again instead of the disk (internal/host/transition.go)
            write("installing-pending-user-action", "Rebooting", BOOT_ORDER_MESSAGE)
            return
        if stage == "Rebooting" and (status.get("debugInfo") or {}).get("state") == "installing-pending-user-action":
            # boot order fixed and the host rebooted: start the reboot over
            write("added-to-existing-cluster", "Rebooting", REBOOTED_INFO)
            self.sim._timers.pop(key, None)  # pylint: disable=protected-access
            return
        if rebooting < sim.delay("node_boot"):
            return
        held = sim.fault("csr-pending", cluster=ns, host=host)
        held_types = {"client", "serving"} if held is not None and str(held.get("type")) == "both" else \
            ({str(held.get("type") or "serving")} if held is not None else set())
        csr = dict(status.get("csrStatus") or {})
        approved = list(csr.get("approvedCSRs") or [])
        types = {c.get("type") for c in approved}
        node_name = ((agent.get("spec") or {}).get("hostname")) or host
        cluster = ((agent.get("spec") or {}).get("clusterDeploymentName") or {}).get("name") or ns
        for kind in ("client", "serving"):
            if kind in types or (kind == "serving" and "client" not in types):
                continue
            name = f"csr-{kind}-{uid[:8]}"
            # the kubelet's request, pending on the spoke until approved
            spoke_csr(sim, cluster, name, node_name, kind)
            if kind in held_types:
                continue
            if sim.since(("csr", uid, kind), "pending") >= sim.delay("csr_approval"):
                spoke_csr(sim, cluster, name, node_name, kind, approve=True)
                approved.append({"name": name, "type": kind, "approvedAt": now_stamp()})
                types.add(kind)
                sim.log.info("assisted-service: approved the %s CSR of %s/%s", kind, ns, node_name)
        csr = {"approvedCSRs": approved, "lastApprovalAttempt": now_stamp()} if approved else {}
        if "client" not in types:
            # no client certificate, no Node: the Agent stays at Rebooting (UpdateDay2InstallPogress, node == nil)
            if csr != (status.get("csrStatus") or {}):
                write("added-to-existing-cluster", "Rebooting", REBOOTED_INFO, csr=csr)
            return
        node_up = sim.since(("node", uid), "registered")
        if node_up >= sim.delay("node_ready") and "serving" in types:
            write("added-to-existing-cluster", "Done", "Done", csr=csr)
            return
        if stage != "Joined" or approved != list((status.get("csrStatus") or {}).get("approvedCSRs") or []):
            write("added-to-existing-cluster", "Joined", REBOOTED_INFO, csr=csr)


class ClusterInfo:
    """ACM: ManagedClusterInfo per ManagedCluster (nodeList from installed Agents) and ManagedCluster conditions."""

    name = "cluster-info"

    def __init__(self, sim):
        self.sim = sim
        self.refreshes = {}

    def reconcile(self):
        sim = self.sim
        agents = {}
        for agent in sim.list(AI_API, "Agent"):
            ref = ((agent.get("spec") or {}).get("clusterDeploymentName") or {}).get("name") or agent["metadata"]["namespace"]
            agents.setdefault(ref, []).append(agent)
        for cluster in sim.list(MC_API, "ManagedCluster"):
            name = cluster["metadata"]["name"]
            if cluster["metadata"].get("deletionTimestamp") or sim.get("v1", "Namespace", name) is None:
                continue
            offline = sim.fault("cluster-offline", cluster=name) is not None
            self.managed_cluster_status(cluster, offline)
            mci = sim.get(MCI_API, "ManagedClusterInfo", name, name)
            if mci is not None and (offline or sim.since(("mci-refresh", name), self.refreshes.get(name, 0)) < refresh_interval(sim, name)):
                # the klusterlet's node collector reports every 30 s (+ up to 25 % jitter), and not at all while the
                # cluster is offline (multicloud-operators-foundation pkg/klusterlet/nodecollector/nodecollecter.go)
                continue
            self.refreshes[name] = self.refreshes.get(name, 0) + 1
            if mci is None:
                mci = sim.create({"apiVersion": MCI_API, "kind": "ManagedClusterInfo",
                                  "metadata": {"name": name, "namespace": name}, "spec": {}})
                if mci is None:
                    continue
            nodes = self.node_list(name, agents.get(name, []))
            current = mci.get("status") or {}
            if current.get("nodeList") != nodes or not condition(mci, "ManagedClusterInfoSynced"):
                conds = set_condition(current.get("conditions"), "ManagedClusterInfoSynced", "True", "ManagedClusterInfoSynced",
                                      "Managed cluster info is synced")
                sim.write_status(mci, {
                    "conditions": conds, "nodeList": nodes, "kubeVendor": "OpenShift", "cloudVendor": "BareMetal",
                    "version": "v1.33.5", "clusterID": str(uuid.uuid5(uuid.NAMESPACE_DNS, name + ".example.com")),
                    "consoleURL": f"https://console-openshift-console.apps.{name}.example.com",
                    "distributionInfo": {"type": "OCP", "ocp": {"version": "4.20.0", "desiredVersion": "4.20.0", "channel": "stable-4.20"}}})

    @staticmethod
    def node_list(cluster: str, agents: list) -> list:
        nodes = []
        for agent in agents:
            spec = agent.get("spec") or {}
            if (spec.get("clusterDeploymentName") or {}).get("name") != cluster:
                continue
            stage = ((agent.get("status") or {}).get("progress") or {}).get("currentStage")
            if stage not in ("Joined", "Done"):
                continue
            nodes.append({"name": spec.get("hostname") or agent["metadata"]["name"], "labels": _node_labels(agent),
                          "capacity": dict(NODE_CAPACITY),
                          "conditions": [{"type": "Ready", "status": "True" if stage == "Done" else "False"}]})
        nodes.sort(key=lambda n: ("node-role.kubernetes.io/master" not in n["labels"], n["name"]))
        return nodes

    def managed_cluster_status(self, cluster, offline=False):
        """Available True; Unknown once the klusterlet stops renewing its lease (an offline cluster)
        (open-cluster-management-io/ocm pkg/registration/hub/lease/controller.go sync, updateClusterStatus)."""
        current = condition(cluster, "ManagedClusterConditionAvailable")
        conds = (cluster.get("status") or {}).get("conditions") or []
        # the hub marks it Unknown once the lease is 5 lease durations (5 x 60 s) old (controller.go sync, gracePeriod)
        offline_for = self.sim.since(("offline", cluster["metadata"]["name"]), offline)
        if offline:
            if current.get("status") != "Unknown" and offline_for >= 5 * 60:
                conds = set_condition(conds, "ManagedClusterConditionAvailable", "Unknown", "ManagedClusterLeaseUpdateStopped",
                                      "Registration agent stopped updating its lease.")
                self.sim.write_status(cluster, {"conditions": conds})
            return
        if current.get("status") == "True":
            return
        conds = set_condition(conds, "HubAcceptedManagedCluster", "True", "HubClusterAdminAccepted", "Accepted by hub cluster admin")
        conds = set_condition(conds, "ManagedClusterJoined", "True", "ManagedClusterJoined", "Managed cluster joined")
        conds = set_condition(conds, "ManagedClusterConditionAvailable", "True", "ManagedClusterAvailable", "Managed cluster is available")
        self.sim.write_status(cluster, {"conditions": conds, "version": {"kubernetes": "v1.33.5"}})


def refresh_interval(sim, cluster: str) -> float:
    """The node collector's period: 30 s with up to 25 % jitter (a fixed share per cluster)."""
    share = (uuid.uuid5(uuid.NAMESPACE_DNS, cluster).int % 1000) / 1000.0
    return sim.delay("mci_refresh") * (1 + 0.25 * share)
