"""The demo's GitOps seed (testhub/gitops-seed) renders on its own, without the upstream reference files.

A fresh clone has no ``../shared`` beside it: every source CR that the seed's templates name, and every source CR
that the collection writes into the demo repository (worker policies, selector overrides), must be in the seed's
own ``source-crs/`` folders. These tests render the seed, and the seed with the collection's writes for the demo
inventory, with the shipped (upstream) source-CR folders switched off. No hub is needed.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub.simulator import pgt_render  # noqa: E402  pylint: disable=wrong-import-position

policygen = pytest.importorskip("ansible_collections.ztp.sno_expand.plugins.module_utils._policygen")

SEED = os.path.join(REPO, "testhub", "gitops-seed")
POLICY_FOLDERS = ("policygentemplates", "policygenerator")
SHARED = os.environ.get("ZTP_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
UPSTREAM_FLAT = os.path.join(SHARED, "ztp-reference", "source-crs")
# Source CRs of the seed's PolicyGenerator folder that the (fictional) site adapted on purpose: fixed roles instead
# of $mcp (the PolicyGenerator does no substitution), site defaults in the SetSelector profile.
SITE_CHANGED = {("policygenerator", "PtpOperatorConfig.yaml"), ("policygenerator", "SriovOperatorConfig.yaml"),
                ("policygenerator", "TunedPerformancePatch.yaml"), ("policygenerator", "PerformanceProfile-SetSelector.yaml")}


@pytest.fixture(name="no_shipped_source_crs")
def fixture_no_shipped_source_crs(monkeypatch, tmp_path):
    """Render as in a fresh clone: the shipped source-CR folders point at an empty folder."""
    empty = tmp_path / "no-shared"
    empty.mkdir()
    monkeypatch.setenv("ZTP_SHARED_DIR", str(empty))
    assert all(not os.path.exists(d) or not os.listdir(d) for d in pgt_render.shipped_source_crs_dirs())


def _generator_docs(folder):
    """(file, document) of every generator file listed by ``<folder>/kustomization.yaml``."""
    with open(os.path.join(folder, "kustomization.yaml"), encoding="utf-8") as handle:
        kust = yaml.safe_load(handle)
    for entry in kust.get("generators") or []:
        with open(os.path.join(folder, entry), encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if doc:
                    yield entry, doc


def _named_source_crs(doc):
    if doc["kind"] == "PolicyGenTemplate":
        return [entry["fileName"] for entry in doc["spec"]["sourceFiles"]]
    return [manifest["path"][len("source-crs/"):] for policy in doc["policies"] for manifest in policy["manifests"]]


@pytest.mark.parametrize("folder", POLICY_FOLDERS)
def test_every_source_cr_the_seed_names_is_in_its_source_crs_folder(folder):
    missing = []
    for entry, doc in _generator_docs(os.path.join(SEED, folder)):
        for name in _named_source_crs(doc):
            if not os.path.isfile(os.path.join(SEED, folder, "source-crs", name)):
                missing.append("%s names %s" % (entry, name))
    assert not missing, missing


@pytest.mark.parametrize("folder", POLICY_FOLDERS)
def test_the_source_crs_the_collection_writes_are_in_the_seed(folder):
    names = sorted(policygen.SOURCE_CRS["flat"].values())
    missing = [n for n in names if not os.path.isfile(os.path.join(SEED, folder, "source-crs", n))]
    assert not missing, "%s/source-crs lacks %s" % (folder, missing)


def _demo_end_state(root, hostvars):
    """A copy of the seed in ``root`` with what the playbook writes for the demo inventory (``hostvars``, as the
    inventory plugin derives them): worker policies listed in their kustomization and the PTP/SR-IOV daemon selectors
    of the group files moved to the workers."""
    shutil.copytree(SEED, root, dirs_exist_ok=True)
    groups = set()
    for host, host_vars in sorted(hostvars.items()):
        groups.add(host_vars["ztp_group_policy_path"])
        policy = copy.deepcopy(host_vars["ztp_worker_policy"])
        path = os.path.join(root, policy.pop("path"))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(policygen.render(policygen.worker_document(policygen.validate_worker(policy))))
        kust_path = os.path.join(os.path.dirname(path), "kustomization.yaml")
        with open(kust_path, encoding="utf-8") as handle:
            kust = yaml.safe_load(handle)
        kust["generators"].append(os.path.basename(path))
        with open(kust_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(kust, handle)
    for group in sorted(groups):
        assert policygen.set_selectors(os.path.join(root, group))["changed"], group
    return root


def test_demo_repository_renders_without_the_upstream_source_crs(no_shipped_source_crs, demo_hostvars, tmp_path):
    del no_shipped_source_crs
    seed_objects = pgt_render.render_kustomization(os.path.join(SEED, "policygentemplates"))
    root = _demo_end_state(str(tmp_path / "repo"), demo_hostvars)
    objects = pgt_render.render_kustomization(os.path.join(root, "policygentemplates"))
    policies = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects if o["kind"] == "Policy"}
    assert {("ztp-site", "sno-a-workers-config-policy"), ("ztp-site", "sno-b-workers-config-policy"),
            ("ztp-site", "sno-c-workers-config-policy"), ("ztp-group", "group-du-sno-config-policy"),
            ("ztp-group", "group-du-sno-pg-config-policy")} <= policies
    assert len(objects) > len(seed_objects)


@pytest.mark.parametrize("folder", POLICY_FOLDERS)
def test_seed_source_crs_keep_the_upstream_semantics(folder):
    """The seed's own copies carry what the upstream flat source CRs carry (kind, names, waves, placeholders...)."""
    if not os.path.isdir(UPSTREAM_FLAT):
        pytest.skip("upstream source CRs not found under %s (set ZTP_SHARED_DIR)" % UPSTREAM_FLAT)
    compared = []
    for name in sorted(os.listdir(os.path.join(SEED, folder, "source-crs"))):
        upstream = os.path.join(UPSTREAM_FLAT, name)
        if (folder, name) in SITE_CHANGED or not os.path.isfile(upstream):
            continue
        with open(os.path.join(SEED, folder, "source-crs", name), encoding="utf-8") as handle:
            ours = yaml.safe_load(handle)
        with open(upstream, encoding="utf-8") as handle:
            theirs = yaml.safe_load(handle)
        assert ours == theirs, name
        compared.append(name)
    assert set(policygen.SOURCE_CRS["flat"].values()) - {"PtpOperatorConfig.yaml", "TunedPerformancePatch.yaml"} <= set(compared)
