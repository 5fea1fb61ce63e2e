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
