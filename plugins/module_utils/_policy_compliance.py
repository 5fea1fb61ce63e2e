# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance of root Policies on the hub, per cluster, read without the policy templates."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import ApiException, HubError, api_message

try:
    import jmespath
except ImportError:  # pragma: no cover - jmespath is a requirement of the collection
    jmespath = None

POLICY = ("policy.open-cluster-management.io/v1", "Policy")
# the propagator labels each replicated Policy (in a cluster namespace) with its root policy
ROOT_POLICIES = "!policy.open-cluster-management.io/root-policy"
# what a verdict needs of a root Policy: its name and the per-cluster compliance the propagator writes
FIELDS = jmespath.compile("[].{name: metadata.name, namespace: metadata.namespace, compliant: status.compliant, "
                          "clusters: status.status[].{cluster: clustername, compliant: compliant}}") if jmespath else None
# a cluster the propagator has placed the policy on but not heard from yet has no ``compliant``
PENDING = "Pending"


def module_args():
    return dict(
        namespaces=dict(type="list", elements="str", default=[]),
        names=dict(type="list", elements="str", default=[]),
        clusters=dict(type="list", elements="str", default=[]),
    )


def check_params(params):
    if any(not namespace for namespace in params.get("namespaces") or []):
        raise ZtpInputError("namespaces", params["namespaces"], "namespace names, or no list for every namespace")
    if jmespath is None:
        raise HubError("the Python package jmespath is required (pip install jmespath)")


def select(items, names=(), clusters=()):
    """``(policies, compliance)`` from the listed Policy objects: the root policies (those of ``names`` when given)
    as ``{name, namespace, compliant, clusters: {cluster: compliance}}``, and ``{cluster: {policy: compliance}}``
    (for ``clusters`` when given)."""
    wanted, only = set(names or ()), set(clusters or ())
    policies, compliance = [], {}
    for policy in FIELDS.search(items) or []:
        if wanted and policy["name"] not in wanted:
            continue
        per_cluster = {}
        for entry in policy.get("clusters") or []:
            cluster = str(entry.get("cluster"))
            if only and cluster not in only:
                continue
            per_cluster[cluster] = str(entry.get("compliant") or PENDING)
            compliance.setdefault(cluster, {})[policy["name"]] = per_cluster[cluster]
        policies.append({"name": policy["name"], "namespace": policy["namespace"],
                         "compliant": policy.get("compliant") or PENDING, "clusters": per_cluster})
    return policies, compliance


def read(hub, params):
    """The module's result: the root Policies of ``params['namespaces']`` (of every namespace when empty) and their
    compliance per cluster."""
    items = []
    for namespace in params.get("namespaces") or [None]:
        try:
            listed, dummy = hub.list(POLICY[0], POLICY[1], namespace=namespace, label_selector=ROOT_POLICIES)
        except ApiException as exc:
            raise HubError("cannot list the Policies of %s: %s"
                           % ("namespace " + namespace if namespace else "the hub", api_message(exc)))
        items.extend(listed)
    policies, compliance = select(items, params.get("names"), params.get("clusters"))
    missing = sorted(set(params.get("names") or ()) - set(p["name"] for p in policies))
    return {"policies": policies, "compliance": compliance, "missing": missing}
