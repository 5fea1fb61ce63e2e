"""The upstream generators' own test inputs run against the binaries testhub/build-generators.sh built: a check of the
build (and of the container layout of the kustomize plugins) with the data the upstream projects test with.

* ``ztp/policygenerator/testData``: each case rendered with ``-wrapInPolicy=true`` and ``false``, the rendered CRs equal
  the source CRs with the template's overrides merged (upstream ``testSource.TestAssertions``: the CR in the policy and
  the unwrapped CR), with the PlacementRule and PlacementBinding present when wrapped.
* ``ztp/policygenerator-kustomize-plugin``: ``kustomize build --enable-alpha-plugins`` of its kustomization (the
  testPolicyGenTemplate files and a patch of the validator policy) with the container's PolicyGenTemplate plugin.
* ``ztp/siteconfig-generator-kustomize-plugin``: ``kustomize build`` of its testSiteConfig files with the container's
  SiteConfig plugins: one siteConfigError for ``site1-err.yaml`` only, every other site rendered.
* policy-generator-plugin ``examples``: ``kustomize build`` with the ACM PolicyGenerator plugin.

The source folder is read only; every build runs on a temporary copy.

Run: python -m pytest -q tests/integration_py/test_generators_upstream.py
"""

from __future__ import annotations

import copy
import glob
import os
import shutil
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import generators as gen  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator import pgt_render  # noqa: E402  pylint: disable=wrong-import-position

ZTP = os.path.join(gen.sources_dir(), "cnf-features-deploy", "ztp")
PLACEMENT_KINDS = ("Policy", "PlacementRule", "PlacementBinding")


@pytest.fixture(scope="module", name="generators_built")
def fixture_generators_built():
    if not gen.sources_present():
        pytest.fail(f"the generator sources are missing: {gen.sources_dir()} (docs/generators.md)")
    try:
        return gen.ensure_built()
    except gen.GeneratorUnavailable as err:
        pytest.fail(f"building the real ZTP generators failed:\n{err}")


def _copy(src: str, tmp_path) -> str:
    dest = str(tmp_path / os.path.basename(src))
    shutil.copytree(src, dest, symlinks=True)
    return dest


def _load_all(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [d for d in yaml.safe_load_all(handle) if d]


def _expected_crs(case_dir: str) -> list[tuple[bool, dict]]:
    """(wrapped in a policy, CR) for each source file entry of the case's templates: the source CR with ``$mcp``
    replaced and the entry's overrides merged (PGT setValues, pgt_render.set_values)."""
    out = []
    for template in sorted(glob.glob(os.path.join(case_dir, "templates", "*.yaml"))):
        pgt = _load_all(template)[0]
        spec = pgt.get("spec") or {}
        for entry in spec.get("sourceFiles") or []:
            with open(os.path.join(case_dir, "sourcePolicies", entry["fileName"]), encoding="utf-8") as handle:
                text = handle.read()
            if spec.get("mcp"):
                text = text.replace("$mcp", spec["mcp"])
            for cr in [d for d in yaml.safe_load_all(text) if d]:
                for key in ("spec", "data"):
                    if key in entry or key in cr:
                        cr[key] = pgt_render.set_values(cr.get(key) or {}, copy.deepcopy(entry.get(key) or {}))
                for key in ("name", "namespace"):
                    if (entry.get("metadata") or {}).get(key):
                        cr["metadata"][key] = entry["metadata"][key]
                out.append((bool(entry.get("policyName")) and spec.get("wrapInPolicy", True) is not False, cr))
    return out


CASES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ZTP, "policygenerator", "testData", "Test*")))


def test_upstream_test_data_present():
    assert len(CASES) >= 7, f"upstream policygenerator testData missing under {ZTP}"


@pytest.mark.parametrize("case", CASES)
def test_policygenerator_upstream_test_data(generators_built, case, tmp_path):  # pylint: disable=unused-argument
    """Each upstream testData case: wrapped, every policy holds exactly the expected CRs and has its PlacementRule and
    PlacementBinding; unwrapped, the output is exactly the expected CRs."""
    case_dir = _copy(os.path.join(ZTP, "policygenerator", "testData", case), tmp_path)
    templates = sorted(glob.glob(os.path.join(case_dir, "templates", "*.yaml")))
    expected = _expected_crs(case_dir)
    source = os.path.join(case_dir, "sourcePolicies")
    wrapped = gen.execute("policygenerator", ["-sourcePath", source, "-wrapInPolicy=true"] + templates, cwd=case_dir)
    assert wrapped.returncode == 0, wrapped.stderr
    in_policies = [t["objectDefinition"] for p in wrapped.documents if p["kind"] == "Policy" for t in gen.object_templates(p)]
    plain = [d for d in wrapped.documents if d["kind"] not in PLACEMENT_KINDS]
    assert set(map(yaml.safe_dump, in_policies)) == {yaml.safe_dump(cr) for pol, cr in expected if pol}
    assert set(map(yaml.safe_dump, plain)) == {yaml.safe_dump(cr) for pol, cr in expected if not pol}
    if in_policies:
        kinds = {d["kind"] for d in wrapped.documents}
        assert {"Policy", "PlacementRule", "PlacementBinding"} <= kinds
    unwrapped = gen.execute("policygenerator", ["-sourcePath", source, "-wrapInPolicy=false"] + templates, cwd=case_dir)
    assert unwrapped.returncode == 0, unwrapped.stderr
    assert set(map(yaml.safe_dump, unwrapped.documents)) == {yaml.safe_dump(cr) for _pol, cr in expected}


def test_pgt_kustomize_plugin_upstream_example(generators_built, tmp_path):  # pylint: disable=unused-argument
    """kustomize with the container's PolicyGenTemplate plugin renders the upstream plugin example: policies of every
    template, the patch of the validator policy applied, no placeholder left."""
    folder = _copy(os.path.join(ZTP, "policygenerator-kustomize-plugin"), tmp_path)
    docs = gen.kustomize_build(folder)
    policies = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d["kind"] == "Policy"}
    assert len(policies) >= 10, sorted(policies)
    validator = policies[("ztp-group", "example-group-du-sno-validator-du-policy")]
    assert validator["metadata"]["annotations"]["ran.openshift.io/soak-seconds"] == "30"
    for pol in policies.values():
        for tmpl in gen.object_templates(pol):
            assert "$mcp" not in yaml.safe_dump(tmpl["objectDefinition"]), pol["metadata"]["name"]
    assert {"PlacementRule", "PlacementBinding"} <= {d["kind"] for d in docs}


def _single_master_with_cpuset(cluster: dict) -> bool:
    masters = [n for n in cluster.get("nodes") or [] if (n.get("role") or "master") == "master"]
    return len(masters) == 1 and bool(masters[0].get("cpuset"))


def test_siteconfig_kustomize_plugin_upstream_example(generators_built, tmp_path):  # pylint: disable=unused-argument
    """kustomize with the container's SiteConfig plugins renders the upstream plugin example as the 4.20 container
    does: a siteConfigError for site1-err.yaml (its clusters are not a list), a siteConfigError for each single-node
    cluster that still asks for the old workload partitioning (a master ``cpuset``: the 4.20 extra manifests have no
    ``workload/crio.conf`` any more), and every other cluster rendered with its hosts."""
    folder = _copy(os.path.join(ZTP, "siteconfig-generator-kustomize-plugin"), tmp_path)
    run = gen.kustomize_raw(folder)
    assert run.returncode == 0, run.stderr
    with open(os.path.join(folder, "kustomization.yaml"), encoding="utf-8") as handle:
        files = [f for f in yaml.safe_load(handle)["generators"] if not f.endswith("site1-err.yaml")]
    clusters = [c for f in files for doc in _load_all(os.path.join(folder, f)) for c in doc["spec"]["clusters"]]
    old_partitioning = {c["clusterName"] for c in clusters if _single_master_with_cpuset(c)}
    assert old_partitioning, "the upstream example has no cluster with the old workload partitioning any more"
    errors = gen.siteconfig_errors(run.documents)
    parse_errors = [e for e in errors if "cannot unmarshal !!map into []siteConfig.Clusters" in e]
    workload_errors = [e for e in errors if "could not read WorkloadManifest" in e and "workload/crio.conf" in e]
    assert len(parse_errors) == 1 and len(errors) == 1 + len(workload_errors), errors
    assert {name for name in old_partitioning if any(f"WorkloadManifest {name} " in e for e in workload_errors)} == old_partitioning
    rendered = {c["clusterName"] for c in clusters} - old_partitioning
    managed = {d["metadata"]["name"] for d in run.documents if d.get("kind") == "ManagedCluster"}
    assert rendered and rendered == managed
    hosts = {n["hostName"] for c in clusters if c["clusterName"] in rendered for n in c.get("nodes") or []
             if "BareMetalHost" not in (n.get("crSuppression") or [])}
    assert hosts and hosts <= {d["metadata"]["name"] for d in run.documents if d.get("kind") == "BareMetalHost"}


def test_acm_policygenerator_upstream_examples(generators_built, tmp_path):  # pylint: disable=unused-argument
    """kustomize with the ACM PolicyGenerator plugin renders the plugin's own examples, the kustomization's patch and
    labels applied."""
    folder = _copy(os.path.join(gen.sources_dir(), "policy-generator-plugin", "examples"), tmp_path)
    docs = gen.kustomize_build(folder)
    policies = [d for d in docs if d["kind"] == "Policy"]
    assert len(policies) >= 2
    assert all(d["metadata"].get("labels", {}).get("custom") == "myApp" for d in docs)
    assert {"PlacementBinding"} <= {d["kind"] for d in docs}
