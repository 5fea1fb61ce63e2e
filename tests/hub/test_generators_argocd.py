"""The simulated ArgoCD applications against the real ZTP generators.

The simulator renders the ``clusters`` and ``policies`` applications either with its Python models (the default, and
what a fresh clone without the generator binaries runs) or, with ``ZTP_SIMULATOR_GENERATORS=real``, the way the ZTP
ArgoCD applications do: ``kustomize build --enable-alpha-plugins`` with the plugins laid out as in the
ztp-site-generate container (testhub/build-generators.sh). These tests prove that both give the same objects,
field by field, on the GitOps seed and on the seed with everything the collection writes for the demo inventory,
and run a hub whose simulator uses the real tools.

Run: python -m pytest -q tests/hub/test_generators_argocd.py
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import sys
import types

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import generators as gen  # noqa: E402  pylint: disable=wrong-import-position
from testhub.simulator import argocd_clusters, pgt_render  # noqa: E402  pylint: disable=wrong-import-position
from testhub.waiting import wait_for  # noqa: E402  pylint: disable=wrong-import-position

policygen = pytest.importorskip("ansible_collections.ztp.sno_expand.plugins.module_utils._policygen")
siteconfig = pytest.importorskip("ansible_collections.ztp.sno_expand.plugins.module_utils._siteconfig")

SEED = os.path.join(REPO, "testhub", "gitops-seed")
POLICY_FOLDERS = ("policygentemplates", "policygenerator")
# kinds the SiteConfig model renders; the real generator renders more (AgentClusterInstall, extra-manifest ConfigMap)
MODEL_CLUSTER_KINDS = {"Namespace", "ClusterDeployment", "InfraEnv", "KlusterletAddonConfig", "ManagedCluster",
                       "NMStateConfig", "BareMetalHost"}


@pytest.fixture(scope="module", name="generators_built")
def fixture_generators_built():
    if not gen.sources_present():
        pytest.fail(f"the generator sources are missing: {gen.sources_dir()} (docs/generators.md)")
    try:
        return gen.ensure_built()
    except gen.GeneratorUnavailable as err:
        pytest.fail(f"building the real ZTP generators failed:\n{err}")


def _demo_end_state(root: str, hostvars: dict) -> str:
    """A copy of the seed with what the playbook writes for the demo inventory (``hostvars``, as the inventory plugin
    derives them; ``plan_worker`` / ``set_node`` / ``set_selectors``): worker policy files listed in their
    kustomization, the demo workers in the SiteConfig and ClusterInstance files, and the PTP/SR-IOV selectors of the
    group files moved to the workers."""
    shutil.copytree(SEED, root, dirs_exist_ok=True)
    groups = set()
    for host, host_vars in sorted(hostvars.items()):
        groups.add(host_vars["ztp_group_policy_path"])
        params = copy.deepcopy(host_vars["ztp_worker_policy"])
        params["path"] = os.path.join(root, params["path"])
        _spec, text = policygen.plan_worker(params, "")
        with open(params["path"], "w", encoding="utf-8") as handle:
            handle.write(text)
        kust_path = os.path.join(os.path.dirname(params["path"]), "kustomization.yaml")
        with open(kust_path, encoding="utf-8") as handle:
            kust_text = handle.read()
        with open(kust_path, "w", encoding="utf-8") as handle:
            handle.write(policygen.update_kustomization_text(kust_text, os.path.basename(params["path"])))
        cluster_file = os.path.join(root, host_vars["ztp_cluster_file"])
        with open(cluster_file, encoding="utf-8") as handle:
            text = handle.read()
        for node in host_vars["ztp_workers"]:
            text = siteconfig.set_node(text, host, copy.deepcopy(node))[0]
        with open(cluster_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    for group in sorted(groups):
        assert policygen.set_selectors(os.path.join(root, group))["changed"], group
    return root


@pytest.fixture(name="tree", params=["seed", "demo"])
def fixture_tree(request, tmp_path):
    """The GitOps seed as it is, and with the collection's writes for the demo inventory."""
    if request.param == "seed":
        return SEED
    return _demo_end_state(str(tmp_path / "repo"), request.getfixturevalue("demo_hostvars"))


def _differences(got, want, path="") -> list[str]:
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for key in sorted(set(got) | set(want), key=str):
            if key not in got or key not in want:
                out.append(f"{path}.{key}: {'missing in the model' if key not in got else 'only in the model'}")
            else:
                out.extend(_differences(got[key], want[key], f"{path}.{key}"))
        return out
    return [] if got == want else [f"{path}: model {got!r} != real {want!r}"]


def _key(obj: dict) -> tuple:
    return (obj["kind"], obj["metadata"].get("namespace") or "", obj["metadata"]["name"])


@pytest.mark.parametrize("folder", POLICY_FOLDERS)
def test_policies_app_model_equals_real(generators_built, tree, folder, monkeypatch):  # pylint: disable=unused-argument
    """pgt_render's rendering of a policies folder equals kustomize with the real PolicyGenTemplate / PolicyGenerator
    plugins: the same objects, and every Policy field by field (names, namespace, annotations, each template's
    complianceType and object definition)."""
    kdir = os.path.join(tree, folder)
    monkeypatch.setenv(gen.SIMULATOR_SWITCH, "model")
    model = pgt_render.render_kustomization(kdir)
    monkeypatch.setenv(gen.SIMULATOR_SWITCH, "real")
    real = pgt_render.render_kustomization(kdir)
    assert real == pgt_render.render_kustomization_real(kdir)
    policies = [o for o in real if o["kind"] == "Policy"]
    assert policies, "the real build rendered no policy"
    assert sorted(_key(o) for o in model) == sorted(_key(o) for o in real)
    model_by_key = {_key(o): o for o in model}
    problems = []
    for pol in policies:
        mine = model_by_key[_key(pol)]
        for field in ("annotations", "labels"):
            problems += [f"{_key(pol)} metadata.{field}{d}" for d in _differences(mine["metadata"].get(field) or {}, pol["metadata"].get(field) or {})]
        want = [(t["complianceType"], t["objectDefinition"]) for t in gen.object_templates(pol)]
        got = [(t["complianceType"], t["objectDefinition"]) for t in gen.object_templates(mine)]
        assert len(got) == len(want), _key(pol)
        for index, (one, other) in enumerate(zip(got, want)):
            problems += [f"{_key(pol)} template {index}{d}" for d in _differences(one, other)]
    assert not problems, "\n".join(problems)


class _Log:
    def __init__(self):
        self.messages = []

    def warning(self, fmt, *args):
        self.messages.append(fmt % args)

    info = warning


def _collect(tree: str, real: bool, monkeypatch) -> tuple:
    monkeypatch.setenv(gen.SIMULATOR_SWITCH, "real" if real else "model")
    app = argocd_clusters.ClustersApp.__new__(argocd_clusters.ClustersApp)
    app.sim = types.SimpleNamespace(log=_Log())
    return app.collect(tree, "siteconfig")


def test_clusters_app_model_equals_real(generators_built, tree, monkeypatch):  # pylint: disable=unused-argument
    """The clusters app with the SiteConfig model renders, per cluster, the objects the real SiteConfig plugin renders
    (its BareMetalHost and NMStateConfig field by field, the other kinds by name, labels and annotations); the real
    plugin renders only AgentClusterInstall and the extra-manifest ConfigMap on top; ClusterInstance files stay plain
    manifests in both."""
    model_clusters, model_plain, model_instances, model_errors = _collect(tree, False, monkeypatch)
    real_clusters, real_plain, real_instances, real_errors = _collect(tree, True, monkeypatch)
    assert model_errors == real_errors == []
    assert sorted(model_clusters) == sorted(real_clusters) == ["sno-a", "sno-b"]
    assert [d["metadata"]["name"] for _r, d in model_instances] == [d["metadata"]["name"] for _r, d in real_instances] == ["sno-c"]
    assert [d for _r, d in model_instances] == [d for _r, d in real_instances]
    assert model_plain == real_plain
    problems = []
    for cluster, objs in real_clusters.items():
        real = {_key(o): o for o in objs}
        model = {_key(o): o for o in model_clusters[cluster]}
        assert {k[0] for k in real} - MODEL_CLUSTER_KINDS == {"AgentClusterInstall", "ConfigMap"}
        assert sorted(model) == sorted(k for k in real if k[0] in MODEL_CLUSTER_KINDS), cluster
        for key, obj in model.items():
            want = real[key]
            if key[0] in ("BareMetalHost", "NMStateConfig"):
                problems += [f"{key}{d}" for d in _differences(obj, want)]
            else:
                for field in ("labels", "annotations"):
                    diffs = _differences(obj["metadata"].get(field) or {}, want["metadata"].get(field) or {})
                    problems += [f"{key} metadata.{field}{d}" for d in diffs]
        workers = [o for o in objs if o["kind"] == "BareMetalHost"
                   and o["metadata"]["annotations"]["bmac.agent-install.openshift.io/role"] == "worker"]
        assert len(workers) == (0 if tree == SEED else 1), cluster
    assert not problems, "\n".join(problems)


def test_clusters_app_real_reports_siteconfig_error(generators_built, tmp_path, monkeypatch):  # pylint: disable=unused-argument
    """A SiteConfig the real generator rejects (a node with ironicInspect outside enabled/disabled) fails the sync with
    its siteConfigError text and renders no object of that site; the other site still renders. An apiVersion without a
    plugin fails the whole kustomize build (BuildError with kustomize's message)."""
    root = str(tmp_path / "repo")
    shutil.copytree(SEED, root)
    path = os.path.join(root, "siteconfig", "sno-b.yaml")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    host = '        - hostName: "sno-b-master-0.ran.example.com"\n'
    assert text.count(host) == 1
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace(host, host + '          ironicInspect: "sometimes"\n'))
    clusters, _plain, _instances, errors = _collect(root, True, monkeypatch)
    assert sorted(clusters) == ["sno-a"]
    assert len(errors) == 1 and "siteConfigError" in errors[0] and "ironicInspect must be either" in errors[0], errors
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace("apiVersion: ran.openshift.io/v2", "apiVersion: ran.openshift.io/v9"))
    with pytest.raises(argocd_clusters.BuildError, match="v9/siteconfig/SiteConfig"):
        _collect(root, True, monkeypatch)


def test_policies_app_real_reports_kustomize_errors(generators_built, tmp_path, monkeypatch):  # pylint: disable=unused-argument
    """A missing source CR fails the real build as a whole with the plugin's message (RenderError)."""
    root = str(tmp_path / "repo")
    shutil.copytree(SEED, root)
    os.remove(os.path.join(root, "policygentemplates", "sno-a-site.yaml"))
    monkeypatch.setenv(gen.SIMULATOR_SWITCH, "real")
    with pytest.raises(pgt_render.RenderError, match="sno-a-site.yaml"):
        pgt_render.render_kustomization(os.path.join(root, "policygentemplates"))


@pytest.fixture(scope="module", name="real_hub")
def fixture_real_hub(generators_built, tmp_path_factory):  # pylint: disable=unused-argument
    """A hub whose simulator renders with the real generators (the switch is in the simulator's environment)."""
    from testhub.hubctl import Hub, free_port_base  # pylint: disable=import-outside-toplevel
    old = os.environ.get(gen.SIMULATOR_SWITCH)
    os.environ[gen.SIMULATOR_SWITCH] = "real"
    hub = Hub(str(tmp_path_factory.mktemp("real-gen-hub")), port_base=free_port_base(), crds="upstream", simulator=True)
    try:
        hub.start()
    except Exception:
        hub.stop()
        raise
    finally:
        if old is None:
            os.environ.pop(gen.SIMULATOR_SWITCH, None)
        else:
            os.environ[gen.SIMULATOR_SWITCH] = old
    try:
        yield hub
    finally:
        hub.stop()


def test_simulator_syncs_the_seed_with_the_real_generators(real_hub):
    """Both ArgoCD apps of a hub with ZTP_SIMULATOR_GENERATORS=real sync the seed: the clusters app applies what only
    the real SiteConfig plugin renders (AgentClusterInstall, the extra-manifest ConfigMap), the policies app the
    policies of the PolicyGenTemplate and PolicyGenerator plugins."""
    api = real_hub.api("hub")

    def items(api_version, kind):
        return [o.to_dict() for o in api.resources.get(api_version=api_version, kind=kind).get().items]

    def synced():
        apps = {a["metadata"]["name"]: a for a in items("argoproj.io/v1alpha1", "Application")}
        states = {n: ((a.get("status") or {}).get("sync") or {}).get("status") for n, a in apps.items()}
        return states if states.get("clusters") == "Synced" and states.get("policies") == "Synced" else None

    try:
        wait_for(synced, timeout=180, interval=1.0, what="both ArgoCD apps Synced")
    except Exception:
        logging.getLogger(__name__).error("simulator log:\n%s", open(os.path.join(real_hub.run_dir, "simulator.log"), encoding="utf-8").read()[-4000:])
        raise
    acis = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items("extensions.hive.openshift.io/v1beta1", "AgentClusterInstall")}
    assert {("sno-a", "sno-a"), ("sno-b", "sno-b")} <= acis
    config_maps = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items("v1", "ConfigMap")}
    assert {("sno-a", "sno-a"), ("sno-b", "sno-b")} <= config_maps
    bmhs = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items("metal3.io/v1alpha1", "BareMetalHost")}
    assert ("sno-a", "sno-a-master-0.ran.example.com") in bmhs
    policies = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items("policy.open-cluster-management.io/v1", "Policy")}
    assert {("ztp-group", "group-du-sno-config-policy"), ("ztp-group", "group-du-sno-pg-config-policy")} <= policies
