"""A small DynamicClient wrapper and condition lookup shared by the test-hub tests."""

from __future__ import annotations


class Api:
    """Objects as dicts by (apiVersion, kind); ``get`` answers None for an object that does not exist."""

    def __init__(self, dyn):
        self.dyn = dyn

    def res(self, gvk):
        return self.dyn.resources.get(api_version=gvk[0], kind=gvk[1])

    def get(self, gvk, name, namespace=None):
        try:
            return self.res(gvk).get(name=name, namespace=namespace).to_dict()
        except Exception as exc:  # pylint: disable=broad-except
            if getattr(exc, "status", None) == 404:
                return None
            raise

    def list(self, gvk, namespace=None, label_selector=None):
        return [i.to_dict() for i in self.res(gvk).get(namespace=namespace, label_selector=label_selector).items]

    def create(self, gvk, body):
        return self.res(gvk).create(body=body, namespace=body["metadata"].get("namespace")).to_dict()


def condition(obj, ctype):
    """The condition of type ``ctype`` in ``status.conditions`` ({} when absent)."""
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item["type"] == ctype:
            return item
    return {}


CGU = ("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade")
POLICY = ("policy.open-cluster-management.io/v1", "Policy")
BINDING = ("policy.open-cluster-management.io/v1", "PlacementBinding")
PLACEMENT = ("cluster.open-cluster-management.io/v1beta1", "Placement")
MC = ("cluster.open-cluster-management.io/v1", "ManagedCluster")
MCSB = ("cluster.open-cluster-management.io/v1beta2", "ManagedClusterSetBinding")
NAMESPACE = ("v1", "Namespace")


def create_bound_policy(api, ns, name, objects, cluster):
    """An inform policy of musthave object templates, bound to ``cluster`` (a name or a list of names) by a Placement
    and a PlacementBinding (the PolicyGenerator form)."""
    clusters = [cluster] if isinstance(cluster, str) else list(cluster)
    template = {"objectDefinition": {
        "apiVersion": POLICY[0], "kind": "ConfigurationPolicy", "metadata": {"name": name + "-config"},
        "spec": {"remediationAction": "inform", "severity": "low",
                 "object-templates": [{"complianceType": "musthave", "objectDefinition": obj} for obj in objects]}}}
    api.create(POLICY, {"apiVersion": POLICY[0], "kind": POLICY[1], "metadata": {"name": name, "namespace": ns},
                        "spec": {"remediationAction": "inform", "disabled": False, "policy-templates": [template]}})
    api.create(PLACEMENT, {"apiVersion": PLACEMENT[0], "kind": PLACEMENT[1],
                           "metadata": {"name": name + "-placement", "namespace": ns},
                           "spec": {"predicates": [{"requiredClusterSelector": {"labelSelector": {"matchExpressions": [
                               {"key": "name", "operator": "In", "values": clusters}]}}}]}})
    api.create(BINDING, {"apiVersion": BINDING[0], "kind": BINDING[1], "metadata": {"name": name + "-binding", "namespace": ns},
                         "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement",
                                          "name": name + "-placement"},
                         "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": name}]})
