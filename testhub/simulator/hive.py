"""hive and assisted-service's cluster side for ClusterInstances that the real siteconfig operator renders.

Only with ``ZTP_SITECONFIG_OPERATOR=real`` (``argocd_clusters.real_siteconfig_operator``). The operator renders a
ClusterInstance into ClusterDeployment, AgentClusterInstall, InfraEnv, NMStateConfig, BareMetalHost, ... and takes
its ``Provisioned`` condition from the ClusterDeployment (internal/controller/clusterdeployment_reconciler.go,
``updateCIProvisionedStatus``); its webhook refuses every spec change until that condition is ``Completed``
(api/v1alpha1/clusterinstance_validation.go ``determineSpecChangePermission``). A cluster seen for the first time
is taken as installed (day 1), as the Python model does on the first sync of a cluster: once the operator has
applied the rendered objects and the ClusterDeployment is not installed yet,

* metal3 and assisted-service: the rendered BareMetalHosts provisioned and detached, their Agents ``Done``
  (``metal3.mark_installed``);
* assisted-service: the AgentClusterInstall conditions of a finished installation (``Completed``, ``Stopped``
  ``InstallationCompleted``, ``Failed`` ``InstallationNotFailed``, ``RequirementsMet`` ``ClusterAlreadyInstalling``;
  reasons of assisted-service api/hiveextension/v1beta1/agentclusterinstall_types.go);
* hive: those conditions mirrored into the ClusterDeployment as ``ClusterInstall*`` (hive apis
  hive/v1/clusterdeployment_types.go ``ClusterInstall*ClusterDeploymentCondition``) and ``spec.installed: true``
  with ``status.installedTimestamp``.

A worker added afterwards is a day-2 host: the operator renders its BareMetalHost and the usual metal3 and
assisted-service simulation installs it.
"""

from __future__ import annotations

from . import metal3
from .argocd_clusters import CI_API, real_siteconfig_operator
from .core import condition, now_stamp, set_condition

CD_API = "hive.openshift.io/v1"
ACI_API = "extensions.hive.openshift.io/v1beta1"
BMH_API = "metal3.io/v1alpha1"
OWNED_BY = "siteconfig.open-cluster-management.io/owned-by"

# (condition, status, reason, message) of an AgentClusterInstall whose installation completed
ACI_DONE = (
    ("RequirementsMet", "True", "ClusterAlreadyInstalling", "The cluster requirements are met"),
    ("Completed", "True", "InstallationCompleted", "The installation has completed: Cluster is installed"),
    ("Failed", "False", "InstallationNotFailed", "The installation has not failed"),
    ("Stopped", "True", "InstallationCompleted", "The installation has stopped because it completed successfully"),
)


class ClusterInstalls:
    """Day 1 of the clusters the real siteconfig operator renders (see the module docstring)."""

    name = "hive"

    def __init__(self, sim):
        self.sim = sim

    def reconcile(self):
        if not real_siteconfig_operator():
            return
        for ci in self.sim.list(CI_API, "ClusterInstance"):
            try:
                self.day1(ci)
            except Exception as exc:  # pylint: disable=broad-except
                self.sim.log.warning("hive: ClusterInstance %s/%s: %s", ci["metadata"]["namespace"], ci["metadata"]["name"], exc)

    def day1(self, ci):
        sim = self.sim
        if condition(ci, "RenderedTemplatesApplied").get("status") != "True":
            return
        namespace = ci["metadata"]["namespace"]
        cluster = (ci.get("spec") or {}).get("clusterName") or ci["metadata"]["name"]
        cd = sim.get(CD_API, "ClusterDeployment", cluster, namespace)
        if cd is None or (cd.get("spec") or {}).get("installed"):
            return
        owner = f"{namespace}_{ci['metadata']['name']}"
        bmhs = [b for b in sim.list(BMH_API, "BareMetalHost", namespace)
                if (b["metadata"].get("labels") or {}).get(OWNED_BY) == owner]
        if len(bmhs) < len((ci.get("spec") or {}).get("nodes") or []):
            return  # the operator has not applied every host yet (or the cache has not seen them)
        sim.log.info("hive: first sight of %s, marking the cluster and its %d host(s) installed (day 1)", cluster, len(bmhs))
        metal3.mark_installed(sim, namespace, bmhs)
        conds = []
        for ctype, status, reason, message in ACI_DONE:
            conds = set_condition(conds, ctype, status, reason, message)
        aci = sim.get(ACI_API, "AgentClusterInstall", cluster, namespace)
        if aci is not None:
            sim.write_status(aci, {"conditions": conds})
        cd_conds = [dict(c, type="ClusterInstall" + c["type"], lastProbeTime=c.get("lastTransitionTime")) for c in conds]
        sim.write_status(cd, {"conditions": cd_conds, "installedTimestamp": now_stamp()})
        sim.patch(cd, {"spec": {"installed": True}})
