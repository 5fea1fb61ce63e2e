# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance of root Policies on the hub, per cluster, read without the policy templates."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ztp.sno_expand.plugins.module_utils._compliance import FIELDS, select
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import ApiException, HubError, api_message

POLICY = ("policy.open-cluster-management.io/v1", "Policy")
# the propagator labels each replicated Policy (in a cluster namespace) with its root policy
ROOT_POLICIES = "!policy.open-cluster-management.io/root-policy"


def module_args():
    return dict(
        namespaces=dict(type="list", elements="str", default=[]),
        names=dict(type="list", elements="str", default=[]),
        clusters=dict(type="list", elements="str", default=[]),
    )


def check_params(params):
    if any(not namespace for namespace in params.get("namespaces") or []):
        raise ZtpInputError("namespaces", params["namespaces"], "namespace names, or no list for every namespace")
    if FIELDS is None:
        raise HubError("the Python package jmespath is required (pip install jmespath)")


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
