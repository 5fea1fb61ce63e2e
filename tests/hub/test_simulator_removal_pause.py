"""The siteconfig operator's deletion-timeout pause as the simulator models it (ClustersApp._deletion_timeout), without a hub."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("testhub.simulator.argocd_clusters")
from testhub.simulator import argocd_clusters as ac  # noqa: E402  pylint: disable=wrong-import-position

DOC = {"metadata": {"name": "sno-c", "namespace": "sno-c"},
       "spec": {"clusterName": "sno-c", "nodes": [
           {"hostName": "m0", "role": "master"},
           {"hostName": "w0", "role": "worker", "pruneManifests": [{"apiVersion": "metal3.io/v1alpha1", "kind": "BareMetalHost"}]}]}}


class FakeSim:
    def __init__(self, age):
        self.age = age
        self.log = logging.getLogger("test")
        self.patches, self.statuses = [], []
        self.bmh = {"metadata": {"name": "w0", "namespace": "sno-c", "deletionTimestamp": "2026-01-01T00:00:00Z"}}

    def get(self, api_version, kind, name, namespace=None):
        return self.bmh if (kind, name, namespace) == ("BareMetalHost", "w0", "sno-c") else None

    def elapsed(self, _since):
        return self.age

    def delay(self, name):
        assert name == "ci_deletion_timeout"
        return 1800

    def patch(self, obj, patch):
        self.patches.append(patch)
        return obj

    def write_status(self, obj, status):
        self.statuses.append(status)


class App:
    _deletion_timeout = ac.ClustersApp._deletion_timeout  # pylint: disable=protected-access

    def __init__(self, sim):
        self.sim = sim


def test_pruned_host_past_the_timeout_pauses_the_clusterinstance():
    live = {"metadata": {"name": "sno-c", "namespace": "sno-c", "annotations": {}}}
    young = FakeSim(age=1799)
    App(young)._deletion_timeout(DOC, live)  # pylint: disable=protected-access
    assert not young.patches
    old = FakeSim(age=1800)
    App(old)._deletion_timeout(DOC, live)  # pylint: disable=protected-access
    assert old.patches == [{"metadata": {"annotations": {ac.CI_PAUSED: ""}}}]
    reason = old.statuses[0]["paused"]["reason"]
    assert reason == ("deletion timeout exceeded for object (BareMetalHost:sno-c/w0): Timed out waiting to delete object "
                      "(BareMetalHost:sno-c/w0)")
    paused = {"metadata": {"name": "sno-c", "namespace": "sno-c", "annotations": {ac.CI_PAUSED: ""}}}
    again = FakeSim(age=5000)
    App(again)._deletion_timeout(DOC, paused)  # pylint: disable=protected-access
    assert not again.patches


def test_rendering_honours_prune_manifests_and_node_level_cr_annotations():
    ci = {"apiVersion": "siteconfig.open-cluster-management.io/v1alpha1", "kind": "ClusterInstance",
          "metadata": {"name": "c", "namespace": "c"},
          "spec": {"clusterName": "c", "nodes": [
              {"hostName": "w0", "role": "worker", "extraAnnotations": {"BareMetalHost": {"x/y": "true"}},
               "pruneManifests": [{"apiVersion": "metal3.io/v1alpha1", "kind": "BareMetalHost"}]},
              {"hostName": "w1", "role": "worker", "extraAnnotations": {"BareMetalHost": {"x/y": "true"}}}]}}
    bmhs = {o["metadata"]["name"]: o for o in ac.render_clusterinstance(ci) if o["kind"] == "BareMetalHost"}
    assert sorted(bmhs) == ["w1"] and bmhs["w1"]["metadata"]["annotations"]["x/y"] == "true"
    # the node's crAnnotations for a kind replace the cluster's (siteConfig.go CrAnnotationSearch), no merge
    annotations = ac._add_annotations({}, "BareMetalHost", {"crAnnotations": {"add": {"BareMetalHost": {"a": "1"}}}},  # pylint: disable=protected-access
                                      {"crAnnotations": {"add": {"BareMetalHost": {"b": "2"}}}})
    assert annotations == {"a": "1"}
    node = {"crAnnotations": {"add": {"BareMetalHost": {"b": "2"}}}}
    assert ac._add_annotations({}, "BareMetalHost", {}, node) == {"b": "2"}  # pylint: disable=protected-access
