# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root Policy objects -> their compliance per cluster, with one JMESPath projection. No hub client here: the
``ztp_policy_compliance`` filter uses it where kubernetes.core is absent, ``_policy_compliance`` on the hub."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import jmespath
except ImportError:  # pragma: no cover - jmespath is a requirement of the collection
    jmespath = None

# what a verdict needs of a root Policy: its name and the per-cluster compliance the propagator writes
FIELDS = jmespath.compile("[].{name: metadata.name, namespace: metadata.namespace, compliant: status.compliant, "
                          "clusters: status.status[].{cluster: clustername, compliant: compliant}}") if jmespath else None
# a cluster the propagator has placed the policy on but not heard from yet has no ``compliant``
PENDING = "Pending"


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
