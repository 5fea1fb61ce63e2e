"""The ArgoCD ``clusters`` application with the ZTP SiteConfig generator and the siteconfig operator (ClusterInstance).

Source: the Application ``openshift-gitops/clusters`` (created when missing), ``spec.source.path`` (default
``siteconfig``) of the followed branch, built like kustomize: ``kustomization.yaml`` ``generators`` and
``resources`` (files and sub-folders). When the repository also has a top-level ``clusterinstance/`` folder with a
kustomization that the app path does not already include, it is rendered too, as if a second ArgoCD application
pointed at it (upstream keeps SiteConfig and ClusterInstance sites in separate folders).

* SiteConfig (``ran.openshift.io/v1``/``v2``, only under ``generators``) is rendered like the ZTP generator
  (ztp-formats §2.5): Namespace, ClusterDeployment, InfraEnv, KlusterletAddonConfig, ManagedCluster and per node
  NMStateConfig and BareMetalHost. A file the generator rejects (§2.3) renders nothing and fails the sync with its
  ``siteConfigError`` text; the other files still apply.
* ClusterInstance (``siteconfig.open-cluster-management.io/v1alpha1``) is applied as is (the API server validates
  it) and rendered like the siteconfig operator (§3): per-node InfraEnv ``<hostName>``. With the real siteconfig
  operator on the hub (``ZTP_SITECONFIG_OPERATOR=real``, set by ``testhub/hubctl.py``) it is only applied: the
  operator's webhook admits it, the operator renders it and writes its status (day 1: ``hive.ClusterInstalls``).
* Any other document is applied as a plain resource.

With the real generators (``real_generators()``: ``ZTP_SIMULATOR_GENERATORS=real``, or ``auto`` when
``testhub/build-generators.sh`` has built them) the app path is built the way the ZTP ArgoCD application builds it:
``kustomize build --enable-alpha-plugins`` with the SiteConfig v1/v2 plugins of the ztp-site-generate container
(ClusterInstance files stay plain manifests); objects the generator marks ``ran.openshift.io/ztp-gitops-generated``
belong to their cluster, a ``siteConfigError`` object fails the sync with its text, and a failing build fails it as a
whole. Otherwise (the default, and a fresh clone without the binaries) the Python rendering below is used.

Objects that are no longer rendered are deleted (the inventory of applied objects is kept in the state dir).
On the first sync of a cluster (no ManagedCluster yet) its nodes are marked as installed (day 1).
"""

from __future__ import annotations

import json
import os
import time

import yaml

from .. import generators
from . import metal3
from .core import now_stamp, set_condition, take_refresh_request
from .pgt_common import api_message

APP_NAMESPACE = "openshift-gitops"
APP_NAME = "clusters"
DEFAULT_PATH = "siteconfig"
CLUSTERINSTANCE_DIR = "clusterinstance"
MANAGER = "argocd-controller"
CI_MANAGER = "siteconfig-operator"
GENERATED = "ran.openshift.io/ztp-gitops-generated"
WAVE = "argocd.argoproj.io/sync-wave"
CI_WAVE = "siteconfig.open-cluster-management.io/sync-wave"
SITECONFIG_VERSIONS = ("ran.openshift.io/v1", "ran.openshift.io/v2")
CI_API = "siteconfig.open-cluster-management.io/v1alpha1"
CI_PAUSED = "clusterinstance.siteconfig.open-cluster-management.io/paused"   # api/v1alpha1/clusterinstance_info.go line 26
BMH_API = "metal3.io/v1alpha1"
AI_API = "agent-install.openshift.io/v1beta1"
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KIND_ORDER = {"Namespace": 0, "ClusterInstance": 1, "ClusterDeployment": 2, "InfraEnv": 3, "NMStateConfig": 4,
              "KlusterletAddonConfig": 5, "ManagedCluster": 6, "BareMetalHost": 7}


GENERATORS_SWITCH = generators.SIMULATOR_SWITCH
SITECONFIG_OPERATOR_SWITCH = "ZTP_SITECONFIG_OPERATOR"


def real_siteconfig_operator() -> bool:
    """Whether the real siteconfig operator renders ClusterInstances on this hub (the hub passes the resolved mode)."""
    return os.environ.get(SITECONFIG_OPERATOR_SWITCH, "model").strip().lower() == "real"


def real_generators() -> bool:
    """Whether the ArgoCD apps render with the real ZTP generators and kustomize (``generators.simulator_uses_real``:
    ``ZTP_SIMULATOR_GENERATORS`` is ``real``, or ``auto`` with the binaries built; default ``model``)."""
    return generators.simulator_uses_real()


def kustomize_build(folder: str) -> list[dict]:
    """``kustomize build --enable-alpha-plugins`` of one app folder with the container's plugins (BuildError with
    kustomize's message on failure)."""
    try:
        run = generators.kustomize_raw(folder)
    except generators.GeneratorUnavailable as exc:
        raise BuildError(f"the real generators are not built: {exc}") from exc
    if run.returncode != 0:
        raise BuildError(run.stderr.strip() or f"kustomize exited {run.returncode}")
    return run.documents


class BuildError(Exception):
    """The kustomize build of the app fails as a whole (nothing is applied)."""


class SiteConfigError(Exception):
    """The SiteConfig generator rejects one file (``siteConfigError``)."""


def _s(value) -> str:
    """YAML scalar as the generator's Go string fields see it (``true`` -> "true", null -> "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _meta(name, namespace=None, annotations=None, labels=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    return meta


def _prune_empty(obj):
    """Drop empty values like the generator's templates do."""
    if isinstance(obj, dict):
        out = {k: _prune_empty(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v not in (None, "", {}, [])}
    if isinstance(obj, list):
        return [_prune_empty(v) for v in obj]
    return obj


# ---- kustomize-like build ---------------------------------------------------------------------------------------

def _kustomization(folder):
    for name in KUSTOMIZATIONS:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _load_docs(path, rel):
    try:
        with open(path, encoding="utf-8") as handle:
            return [d for d in yaml.safe_load_all(handle) if d]
    except yaml.YAMLError as exc:
        raise BuildError(f"{rel}: invalid YAML: {exc}") from exc


def build(root, rel_dir):
    """[(relative file, document, 'generators'|'resources')] of the kustomization in ``rel_dir``."""
    folder = os.path.join(root, rel_dir)
    kfile = _kustomization(folder)
    if kfile is None:
        raise BuildError(f"unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{rel_dir}'")
    with open(kfile, encoding="utf-8") as handle:
        try:
            kust = yaml.safe_load(handle) or {}
        except yaml.YAMLError as exc:
            raise BuildError(f"{os.path.relpath(kfile, root)}: invalid YAML: {exc}") from exc
    out = []
    for field in ("generators", "resources"):
        for entry in kust.get(field) or []:
            entry = str(entry)
            rel = os.path.normpath(os.path.join(rel_dir, entry))
            path = os.path.join(root, rel)
            if "://" in entry or rel.startswith(".."):
                raise BuildError(f"accumulating {field}: {entry}: only files inside the repository are supported")
            if os.path.isdir(path):
                out.extend(build(root, rel))
            elif os.path.isfile(path):
                out.extend((rel, doc, field) for doc in _load_docs(path, rel))
            else:
                raise BuildError(f"accumulating {field}: accumulation err='accumulating {field} from '{entry}': "
                                 f"open {rel}: no such file or directory'")
    return out


def _folders(root, rel_dir, seen=None):
    """Real paths of the kustomization folders a build of ``rel_dir`` reads (itself and folder entries, recursively)."""
    seen = set() if seen is None else seen
    folder = os.path.realpath(os.path.join(root, rel_dir))
    if folder in seen:
        return seen
    seen.add(folder)
    kfile = _kustomization(folder)
    if kfile is None:
        return seen
    try:
        with open(kfile, encoding="utf-8") as handle:
            kust = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return seen
    for field in ("generators", "resources"):
        for entry in (kust.get(field) if isinstance(kust, dict) else None) or []:
            path = os.path.join(folder, str(entry))
            if os.path.isdir(path):
                _folders(root, os.path.relpath(path, root), seen)
    return seen


# ---- SiteConfig generator ---------------------------------------------------------------------------------------

def _validate_siteconfig(doc):
    if doc.get("apiVersion") not in SITECONFIG_VERSIONS:
        raise SiteConfigError(f"Not valid siteConfig ApiVersion: {doc.get('apiVersion')}")
    spec = doc.get("spec") or {}
    names = set()
    for cluster in spec.get("clusters") or []:
        name = _s(cluster.get("clusterName"))
        if not name:
            raise SiteConfigError("Error: Missing cluster name at site")
        if name in names:
            raise SiteConfigError(f"Error: Repeated Cluster Name {name}")
        names.add(name)
        if not (cluster.get("clusterImageSetNameRef") or spec.get("clusterImageSetNameRef")):
            raise SiteConfigError(f"Error: clusterImageSetNameRef is not defined for cluster {name}")
        mode = _s(cluster.get("cpuPartitioningMode"))
        if mode not in ("", "None", "AllNodes"):
            raise SiteConfigError(f"Error: cpuPartitioningMode {mode} is not valid; valid values are None and AllNodes")
        overrides = cluster.get("installConfigOverrides")
        if overrides:
            try:
                json.loads(_s(overrides))
            except ValueError as exc:
                raise SiteConfigError(f"Error: installConfigOverrides of cluster {name} is not valid JSON: {exc}") from exc
        masters = 0
        for node in cluster.get("nodes") or []:
            for key in ("installerArgs", "ignitionConfigOverride", "hostName", "role", "bootMACAddress", "bmcAddress", "ironicInspect"):
                if isinstance(node.get(key), (list, dict)):
                    kind = "!!seq" if isinstance(node.get(key), list) else "!!map"
                    raise SiteConfigError(f"yaml: unmarshal errors:\n  cannot unmarshal {kind} into string ({key} of node {node.get('hostName')})")
            if _s(node.get("role")) in ("", "master"):
                masters += 1
            inspect = _s(node.get("ironicInspect"))
            if inspect not in ("", "enabled", "disabled"):
                raise SiteConfigError(f"ironicInspect value {inspect} is invalid for node {_s(node.get('hostName'))}; "
                                      "valid values are enabled and disabled")
        if masters < 1:
            raise SiteConfigError(f"Error: Number of masters (counted {masters}) must be 1 or more")


def _add_annotations(annotations, kind, *sources):
    """crAnnotations.add.<Kind> of node, cluster, site: added only when the key is not already present."""
    for source in sources:
        add = ((source or {}).get("crAnnotations") or {}).get("add") or {}
        if isinstance(add, dict) and kind in add:
            # the first level that names the kind wins, no merge (siteConfig.go CrAnnotationSearch of node, cluster, site)
            for key, value in (add.get(kind) or {}).items():
                annotations.setdefault(str(key), _s(value))
            break
    return annotations


def _suppressed(kind, *sources):
    return any(kind in ((source or {}).get("crSuppression") or []) for source in sources)


def cluster_of(obj):
    """The cluster a rendered object belongs to: its namespace, or its name for Namespace and ManagedCluster."""
    meta = obj["metadata"]
    return meta.get("namespace") or meta["name"]


def by_cluster(objs):
    """{cluster name: [objects]} of rendered objects, in rendering order."""
    out = {}
    for obj in objs:
        out.setdefault(cluster_of(obj), []).append(obj)
    return out


def render_siteconfig(doc):
    """The hub objects the SiteConfig generator renders from one SiteConfig document (raises SiteConfigError).

    Pure: no API access. Per cluster Namespace, ClusterDeployment, InfraEnv, KlusterletAddonConfig,
    ManagedCluster, then per node NMStateConfig (only with a ``nodeNetwork``) and BareMetalHost (ztp-formats §2.5).
    """
    _validate_siteconfig(doc)
    spec = doc.get("spec") or {}
    rendered = []
    for cluster in spec.get("clusters") or []:
        name = _s(cluster["clusterName"])

        def ann(kind, wave, *sources, _cluster=cluster):
            return _add_annotations({WAVE: str(wave), GENERATED: "{}"}, kind, *sources, _cluster, spec)

        if not _suppressed("Namespace", cluster):
            rendered.append({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": _meta(name, annotations=ann("Namespace", 0), labels={"name": name})})
        if not _suppressed("ClusterDeployment", cluster):
            rendered.append({"apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
                             "metadata": _meta(name, name, ann("ClusterDeployment", 1)),
                             "spec": _prune_empty({
                                 "baseDomain": _s(spec.get("baseDomain")), "clusterName": name,
                                 "clusterInstallRef": {"group": "extensions.hive.openshift.io", "kind": "AgentClusterInstall",
                                                       "name": name, "version": "v1beta1"},
                                 "platform": {"agentBareMetal": {"agentSelector": {"matchLabels": {"cluster-name": name}}}},
                                 "pullSecretRef": {"name": _s((spec.get("pullSecretRef") or {}).get("name"))}})})
        if not _suppressed("InfraEnv", cluster):
            rendered.append({"apiVersion": AI_API, "kind": "InfraEnv", "metadata": _meta(name, name, ann("InfraEnv", 1)),
                             "spec": _prune_empty({
                                 "additionalNTPSources": [_s(s) for s in cluster.get("additionalNTPSources") or []],
                                 "clusterRef": {"name": name, "namespace": name},
                                 "nmStateConfigLabelSelector": {"matchLabels": {"nmstate-label": name}},
                                 "pullSecretRef": {"name": _s((spec.get("pullSecretRef") or {}).get("name"))},
                                 "sshAuthorizedKey": _s(spec.get("sshPublicKey"))})})
        if not _suppressed("KlusterletAddonConfig", cluster):
            rendered.append({"apiVersion": "agent.open-cluster-management.io/v1", "kind": "KlusterletAddonConfig",
                             "metadata": _meta(name, name, ann("KlusterletAddonConfig", 2)),
                             "spec": {"applicationManager": {"enabled": False}, "certPolicyController": {"enabled": False},
                                      "clusterName": name, "clusterNamespace": name, "iamPolicyController": {"enabled": False},
                                      "policyController": {"enabled": True}, "searchCollector": {"enabled": False}}})
        if not _suppressed("ManagedCluster", cluster):
            labels = {str(k): _s(v) for k, v in (cluster.get("clusterLabels") or {}).items()}
            labels.setdefault("cloud", "auto-detect")
            labels.setdefault("vendor", "auto-detect")
            rendered.append({"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                             "metadata": _meta(name, annotations=ann("ManagedCluster", 2), labels=labels),
                             "spec": {"hubAcceptsClient": True}})
        for node in cluster.get("nodes") or []:
            host = _s(node.get("hostName"))
            network = node.get("nodeNetwork") or {}
            if network and not _suppressed("NMStateConfig", node, cluster):
                rendered.append({"apiVersion": AI_API, "kind": "NMStateConfig",
                                 "metadata": _meta(host, name, ann("NMStateConfig", 1, node), {"nmstate-label": name}),
                                 "spec": _prune_empty({"config": network.get("config"), "interfaces": network.get("interfaces")})})
            if _suppressed("BareMetalHost", node, cluster):
                continue
            annotations = {WAVE: "3", GENERATED: "{}", "bmac.agent-install.openshift.io/hostname": host,
                           "bmac.agent-install.openshift.io/role": _s(node.get("role")) or "master"}
            for key, value in (node.get("nodeLabels") or {}).items():
                annotations[f"bmac.agent-install.openshift.io.node-label.{key}"] = _s(value)
            if _s(node.get("installerArgs")):
                annotations["bmac.agent-install.openshift.io/installer-args"] = _s(node.get("installerArgs"))
            if _s(node.get("ignitionConfigOverride")):
                annotations["bmac.agent-install.openshift.io/ignition-config-overrides"] = _s(node.get("ignitionConfigOverride"))
            if _s(node.get("ironicInspect")) == "disabled":
                annotations["inspect.metal3.io"] = "disabled"
            _add_annotations(annotations, "BareMetalHost", node, cluster, spec)
            rendered.append({"apiVersion": BMH_API, "kind": "BareMetalHost",
                             "metadata": _meta(host, name, annotations, {"infraenvs.agent-install.openshift.io": name}),
                             "spec": _prune_empty({
                                 "automatedCleaningMode": _s(node.get("automatedCleaningMode")) or "disabled",
                                 "bmc": {"address": _s(node.get("bmcAddress")),
                                         "credentialsName": _s((node.get("bmcCredentialsName") or {}).get("name")),
                                         "disableCertificateVerification": True},
                                 "bootMACAddress": _s(node.get("bootMACAddress")),
                                 "bootMode": _s(node.get("bootMode")) or "UEFI",
                                 "online": True,
                                 "rootDeviceHints": node.get("rootDeviceHints"),
                                 "userData": node.get("userData")})})
    return rendered


# ---- ClusterInstance (siteconfig operator, node-level InfraEnv) -------------------------------------------------

def render_clusterinstance(doc):
    """The hub objects the siteconfig operator renders from one ClusterInstance (pure: no API access).

    ClusterDeployment, KlusterletAddonConfig, ManagedCluster, then per node InfraEnv ``<hostName>``,
    NMStateConfig (only with a ``nodeNetwork``) and BareMetalHost (ztp-formats §3).
    """
    spec = doc.get("spec") or {}
    name = _s(spec.get("clusterName"))
    suppressed = set(spec.get("suppressedManifests") or [])
    objs = []

    def extra(kind, node=None, annotations=None, labels=None):
        annotations = dict(annotations or {})
        labels = dict(labels or {})
        for source in (node or {}, spec):
            for key, value in ((source.get("extraAnnotations") or {}).get(kind) or {}).items():
                annotations.setdefault(str(key), _s(value))
            for key, value in ((source.get("extraLabels") or {}).get(kind) or {}).items():
                labels.setdefault(str(key), _s(value))
        return annotations, labels

    def add(kind, api, obj_name, namespace, wave, body, node=None, labels=None):
        if kind in suppressed or kind in set((node or {}).get("suppressedManifests") or []):
            return
        # pruneManifests (cluster and node): not rendered, and deleted if applied (template_engine.go lines 225-234 of the
        # siteconfig operator); here ArgoCD's prune of what is no longer rendered deletes it
        prune = list(spec.get("pruneManifests") or []) + list((node or {}).get("pruneManifests") or [])
        if any(isinstance(ref, dict) and ref.get("kind") == kind and ref.get("apiVersion") == api for ref in prune):
            return
        annotations, labels = extra(kind, node, {CI_WAVE: str(wave)}, labels)
        if kind == "BareMetalHost":
            annotations.update(body.pop("_annotations"))
        objs.append(dict({"apiVersion": api, "kind": kind, "metadata": _meta(obj_name, namespace, annotations, labels)}, **body))

    add("ClusterDeployment", "hive.openshift.io/v1", name, name, 1, {"spec": _prune_empty({
        "baseDomain": _s(spec.get("baseDomain")), "clusterName": name,
        "clusterInstallRef": {"group": "extensions.hive.openshift.io", "kind": "AgentClusterInstall", "name": name, "version": "v1beta1"},
        "platform": {"agentBareMetal": {"agentSelector": {"matchLabels": {"cluster-name": name}}}},
        "pullSecretRef": {"name": _s((spec.get("pullSecretRef") or {}).get("name"))}})})
    add("KlusterletAddonConfig", "agent.open-cluster-management.io/v1", name, name, 2, {"spec": {
        "applicationManager": {"enabled": False}, "certPolicyController": {"enabled": False}, "clusterName": name,
        "clusterNamespace": name, "iamPolicyController": {"enabled": False}, "policyController": {"enabled": True},
        "searchCollector": {"enabled": False}}})
    add("ManagedCluster", "cluster.open-cluster-management.io/v1", name, None, 2, {"spec": {"hubAcceptsClient": True}},
        labels={"cloud": "auto-detect", "vendor": "auto-detect"})
    for node in spec.get("nodes") or []:
        host = _s(node.get("hostName"))
        add("InfraEnv", AI_API, host, name, 1, {"spec": _prune_empty({
            "additionalNTPSources": [_s(s) for s in spec.get("additionalNTPSources") or []],
            "nmStateConfigLabelSelector": {"matchLabels": {"nmstate-label": host}},
            "pullSecretRef": {"name": _s((spec.get("pullSecretRef") or {}).get("name"))},
            "sshAuthorizedKey": _s(spec.get("sshPublicKey"))})}, node)
        if node.get("nodeNetwork"):
            add("NMStateConfig", AI_API, host, name, 1, {"spec": _prune_empty({
                "config": (node.get("nodeNetwork") or {}).get("config"),
                "interfaces": (node.get("nodeNetwork") or {}).get("interfaces")})}, node, {"nmstate-label": host})
        annotations = {"inspect.metal3.io": _s(node.get("ironicInspect")),
                       "bmac.agent-install.openshift.io/hostname": host,
                       "bmac.agent-install.openshift.io/role": _s(node.get("role")) or "master"}
        for key, value in (node.get("nodeLabels") or {}).items():
            annotations[f"bmac.agent-install.openshift.io.node-label.{key}"] = _s(value)
        if _s(node.get("installerArgs")):
            annotations["bmac.agent-install.openshift.io/installer-args"] = _s(node.get("installerArgs"))
        if _s(node.get("ignitionConfigOverride")):
            annotations["bmac.agent-install.openshift.io/ignition-config-overrides"] = _s(node.get("ignitionConfigOverride"))
        add("BareMetalHost", BMH_API, host, name, 3, {"_annotations": annotations, "spec": _prune_empty({
            "automatedCleaningMode": _s(node.get("automatedCleaningMode")) or "disabled",
            "bmc": {"address": _s(node.get("bmcAddress")),
                    "credentialsName": _s((node.get("bmcCredentialsName") or {}).get("name")),
                    "disableCertificateVerification": True},
            "bootMACAddress": _s(node.get("bootMACAddress")), "bootMode": _s(node.get("bootMode")) or "UEFI",
            "online": True, "rootDeviceHints": node.get("rootDeviceHints")})}, node,
            {"infraenvs.agent-install.openshift.io": host, "cluster.open-cluster-management.io/backup": "cluster-activation"})
    return objs


# ---- the application --------------------------------------------------------------------------------------------

def _key(obj):
    meta = obj["metadata"]
    return f"{obj['apiVersion']}|{obj['kind']}|{meta.get('namespace') or ''}|{meta['name']}"


class ClustersApp:
    """ArgoCD application ``clusters`` (automated sync on every new revision, self-heal, prune)."""

    name = "argocd-clusters"
    app_name = APP_NAME

    def __init__(self, sim):
        self.sim = sim
        self.inventory_path = os.path.join(sim.state_dir, f"argocd-{self.app_name}-inventory.json")
        try:
            with open(self.inventory_path, encoding="utf-8") as handle:
                self.inventory = json.load(handle)
        except (OSError, ValueError):
            self.inventory = {}
        self.synced_revision = None
        self._applied = {}
        self.last_sync_real = 0.0
        self.last_sync_sim = 0.0

    def _save_inventory(self):
        tmp = self.inventory_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.inventory, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.inventory_path)

    def application(self):
        app = self.sim.get("argoproj.io/v1alpha1", "Application", self.app_name, APP_NAMESPACE)
        if app is not None:
            return app
        self.sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP_NAMESPACE}})
        return self.sim.create({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": self.app_name, "namespace": APP_NAMESPACE},
            "spec": {"destination": {"server": "https://kubernetes.default.svc", "namespace": "clusters-sub"},
                     "project": "ztp-app-project",
                     "source": {"repoURL": self.sim.git.url, "path": DEFAULT_PATH, "targetRevision": self.sim.git.branch},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                    "syncOptions": ["CreateNamespace=true", "PrunePropagationPolicy=background",
                                                    "RespectIgnoreDifferences=true"]}}})

    def reconcile(self):
        sim = self.sim
        app = self.application()
        if app is None:
            return
        revision, tree = sim.git.app_tree(self.app_name, refresh=take_refresh_request(sim, app))
        if revision is None:
            return
        spec = app.get("spec") or {}
        automated = "automated" in (spec.get("syncPolicy") or {})
        requested = bool(app.get("operation"))
        syncing = sim.git.syncing(self.app_name)
        periodic = (sim.clock.now() - self.last_sync_sim >= sim.delay("argocd_resync")
                    and time.monotonic() - self.last_sync_real >= 5.0)
        due = requested or (automated and syncing and (revision != self.synced_revision or periodic))
        if not due:
            seen = sim.git.seen(self.app_name)
            if seen and self.synced_revision and seen != self.synced_revision:
                self._status_out_of_sync(app, seen)
            return
        self.last_sync_real = time.monotonic()
        self.last_sync_sim = sim.clock.now()
        started = now_stamp()
        path = (spec.get("source") or {}).get("path") or DEFAULT_PATH
        errors, resources = self.sync(tree, path)
        self.synced_revision = revision
        self._status_synced(app, revision, started, errors, resources)

    def collect(self, tree, path):
        """({cluster: [objects]}, [plain objects], [ClusterInstance docs], [errors]); BuildError fails the build."""
        paths = [path.strip("/") or "."]
        if os.path.isdir(os.path.join(tree, CLUSTERINSTANCE_DIR)) and _kustomization(os.path.join(tree, CLUSTERINSTANCE_DIR)):
            if os.path.normpath(paths[0]) != CLUSTERINSTANCE_DIR:
                paths.append(CLUSTERINSTANCE_DIR)
        if real_generators():
            return self.collect_real(tree, paths)
        docs, seen = [], set()
        for rel in paths:
            if not os.path.isdir(os.path.join(tree, rel)):
                raise BuildError(f"app path does not exist: {rel}")
            for entry in build(tree, rel):
                ident = (entry[0], json.dumps(entry[1], sort_keys=True, default=str))
                if ident not in seen:
                    seen.add(ident)
                    docs.append(entry)
        clusters, plain, instances, errors = {}, [], [], []
        for rel, doc, field in docs:
            kind = doc.get("kind")
            if kind == "SiteConfig" and field == "generators":
                try:
                    clusters.update(by_cluster(render_siteconfig(doc)))
                except SiteConfigError as exc:
                    errors.append(f"{rel}: siteConfigError: \"{exc}\"")
                    self.sim.log.warning("clusters: %s: siteConfigError: %s", rel, exc)
            elif kind == "ClusterInstance":
                instances.append((rel, doc))
            elif isinstance(doc.get("metadata"), dict) and doc.get("apiVersion") and kind:
                plain.append(doc)
            else:
                errors.append(f"{rel}: not a Kubernetes object (missing apiVersion, kind or metadata)")
        return clusters, plain, instances, errors

    def collect_real(self, tree, paths):
        """``collect`` with kustomize and the real SiteConfig plugins (see the module docstring)."""
        clusters, plain, instances, errors, seen = {}, [], [], [], set()
        for rel in paths:
            if not os.path.isdir(os.path.join(tree, rel)):
                raise BuildError(f"app path does not exist: {rel}")
            if rel != paths[0] and os.path.realpath(os.path.join(tree, rel)) in _folders(tree, paths[0]):
                continue  # already a resource of the app path
            for doc in kustomize_build(os.path.join(tree, rel)):
                ident = json.dumps(doc, sort_keys=True, default=str)
                if ident in seen:
                    continue
                seen.add(ident)
                kind = doc.get("kind")
                meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                if "siteConfigError" in doc or kind == "SiteConfig":
                    message = doc.get("siteConfigError") or "SiteConfig passed through the generator"
                    errors.append(f"{rel}/{meta.get('name', '')}: siteConfigError: \"{message}\"")
                    self.sim.log.warning("clusters: %s: siteConfigError: %s", rel, message)
                elif kind == "ClusterInstance":
                    instances.append((rel, doc))
                elif GENERATED in (meta.get("annotations") or {}):
                    clusters.setdefault(cluster_of(doc), []).append(doc)
                elif meta and doc.get("apiVersion") and kind:
                    plain.append(doc)
                else:
                    errors.append(f"{rel}: not a Kubernetes object (missing apiVersion, kind or metadata)")
        return clusters, plain, instances, errors

    def sync(self, tree, path):
        """Apply everything rendered from ``path``; returns (errors, synced resource list)."""
        sim = self.sim
        try:
            clusters, plain, instances, errors = self.collect(tree, path)
        except BuildError as exc:
            return [f"ComparisonError: rpc error: code = Unknown desc = `kustomize build {path}` failed: {exc}"], None
        known = {c: sim.get("cluster.open-cluster-management.io/v1", "ManagedCluster", c) is not None for c in clusters}
        desired, applied_ci = {}, []
        for doc in plain:
            desired[_key(doc)] = (MANAGER, doc)
        for rel, doc in instances:
            ns = (doc.get("metadata") or {}).get("namespace")
            if ns and sim.get("v1", "Namespace", ns) is None:
                sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            try:
                sim.apply(doc, MANAGER)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(f"{rel}: ClusterInstance {ns}/{doc.get('metadata', {}).get('name')}: {api_message(exc)}")
                continue
            desired[_key(doc)] = (MANAGER, doc)
            if real_siteconfig_operator():
                continue
            for cluster, objs in by_cluster(render_clusterinstance(doc)).items():
                known[cluster] = sim.get("cluster.open-cluster-management.io/v1", "ManagedCluster", cluster) is not None
                clusters.setdefault(cluster, []).extend(objs)
                applied_ci.append((doc, cluster))
        for cluster, objs in clusters.items():
            for obj in objs:
                manager = CI_MANAGER if CI_WAVE in (obj["metadata"].get("annotations") or {}) else MANAGER
                desired[_key(obj)] = (manager, obj)
        ordered = sorted(desired.values(), key=lambda item: KIND_ORDER.get(item[1]["kind"], 1))
        resources = []
        for manager, obj in ordered:
            try:
                self._apply(obj, manager)
                status = "Synced"
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}: {api_message(exc)}")
                status = "OutOfSync"
            group, _sep, version = obj["apiVersion"].rpartition("/")
            resources.append({"group": group, "version": version, "kind": obj["kind"], "namespace": obj["metadata"].get("namespace") or "",
                              "name": obj["metadata"]["name"], "status": status})
        for key in sorted(set(self.inventory) - set(desired)):
            api_version, kind, namespace, name = key.split("|")
            sim.log.info("clusters: pruning %s %s/%s", kind, namespace, name)
            try:
                sim.delete(api_version, kind, name, namespace or None)
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(f"prune {kind} {namespace}/{name}: {api_message(exc)}")
                continue
        self.inventory = {key: True for key in desired}
        self._save_inventory()
        for cluster, objs in clusters.items():
            if not known.get(cluster):
                sim.log.info("clusters: first sync of %s, marking its nodes installed (day 1)", cluster)
                metal3.mark_installed(sim, cluster, [o for o in objs if o["kind"] == "BareMetalHost"])
        for doc, _cluster in applied_ci:
            self._clusterinstance_status(doc)
        return errors, resources

    def _apply(self, obj, manager):
        """Server-side apply of ``obj``, skipped when the same content was applied before and the live object still
        has every field of it (a changed, deleted or drifted object is applied again: self-heal)."""
        digest = (manager, json.dumps(obj, sort_keys=True, default=str))
        key = _key(obj)
        if self._applied.get(key) == digest:
            meta = obj["metadata"]
            live = self.sim.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            if live is not None and _contains(live, {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}):
                return
        self._applied.pop(key, None)
        self.sim.apply(obj, manager)
        self._applied[key] = digest

    def _clusterinstance_status(self, doc):
        conds = []
        for ctype, message in (("ClusterInstanceValidated", "Validation succeeded"),
                               ("RenderedTemplates", "Rendered templates successfully"),
                               ("RenderedTemplatesValidated", "Rendered templates validation succeeded"),
                               ("RenderedTemplatesApplied", "Applied site config manifests"),
                               ("Provisioned", "Provisioning completed")):
            conds = set_condition(conds, ctype, "True", "Completed", message)
        live = self.sim.get(CI_API, "ClusterInstance", doc["metadata"]["name"], doc["metadata"].get("namespace"))
        if live is not None and [c.get("type") for c in (live.get("status") or {}).get("conditions") or []] != [c["type"] for c in conds]:
            self.sim.write_status(live, {"conditions": conds, "observedGeneration": live["metadata"].get("generation")})
        if live is not None:
            self._deletion_timeout(doc, live)

    def _deletion_timeout(self, doc, live):
        """A pruned BareMetalHost still there ``ci_deletion_timeout`` after its deletion began pauses the ClusterInstance, as the
        siteconfig operator does (clusterinstance_controller.go pruneManifests lines 825-860, deletion.go DefaultDeletionTimeout
        line 40 and lines 204-206, pause.go ApplyPause lines 34-78); it then stays paused until someone removes the annotation
        (clusterinstance_controller.go lines 187-193). Here only the pause is modelled, not the stop of reconciling."""
        if CI_PAUSED in (live["metadata"].get("annotations") or {}):
            return
        spec = doc.get("spec") or {}
        cluster = _s(spec.get("clusterName"))
        for node in spec.get("nodes") or []:
            prune = list(spec.get("pruneManifests") or []) + list(node.get("pruneManifests") or [])
            if not any(isinstance(r, dict) and r.get("kind") == "BareMetalHost" and r.get("apiVersion") == BMH_API for r in prune):
                continue
            host = _s(node.get("hostName"))
            bmh = self.sim.get(BMH_API, "BareMetalHost", host, cluster)
            started = ((bmh or {}).get("metadata") or {}).get("deletionTimestamp")
            if not started or self.sim.elapsed(started) < self.sim.delay("ci_deletion_timeout"):
                continue
            resource = f"BareMetalHost:{cluster}/{host}"
            reason = f"deletion timeout exceeded for object ({resource}): Timed out waiting to delete object ({resource})"
            self.sim.log.warning("siteconfig: ClusterInstance %s/%s paused: %s", live["metadata"].get("namespace"),
                                 live["metadata"]["name"], reason)
            live = self.sim.patch(live, {"metadata": {"annotations": {CI_PAUSED: ""}}}) or live
            self.sim.write_status(live, {"paused": {"timeSet": now_stamp(), "reason": reason}})
            return

    def _status_synced(self, app, revision, started, errors, resources):
        source = (app.get("spec") or {}).get("source") or {}
        failed = bool(errors)
        # gitops-engine pkg/sync/sync_context.go:595 and :738 (setOperationFailed joins the failed tasks' messages
        # with ","), :600 for success
        message = ("one or more objects failed to apply, reason: " + ",".join(errors)) if failed else \
            "successfully synced (all tasks run)"
        status = {
            "sync": {"status": "OutOfSync" if failed else "Synced", "revision": revision,
                     "comparedTo": {"source": source, "destination": (app.get("spec") or {}).get("destination") or {}}},
            "health": {"status": "Degraded" if failed else "Healthy"},
            "operationState": {"phase": "Failed" if failed else "Succeeded", "message": message,
                               "startedAt": started, "finishedAt": now_stamp(),
                               "operation": {"sync": {"revision": revision}, "initiatedBy": {"automated": True},
                                             "retry": {"limit": 5}},
                               "syncResult": {"revision": revision, "source": source, "resources": [
                                   dict(r, message="synced" if r["status"] == "Synced" else "apply failed",
                                        status=r["status"]) for r in (resources or [])]}},
            "conditions": [{"type": "SyncError", "message": message, "lastTransitionTime": now_stamp()}] if failed else None,
            "resources": resources if resources is not None else (app.get("status") or {}).get("resources"),
            "reconciledAt": now_stamp(), "sourceType": "Kustomize",
        }
        self.sim.write_status(app, status)
        if app.get("operation"):
            self.sim.patch(app, {"operation": None})

    def _status_out_of_sync(self, app, revision):
        current = (app.get("status") or {}).get("sync") or {}
        if current.get("status") == "OutOfSync" and current.get("revision") == revision:
            return
        self.sim.write_status(app, {"sync": {"status": "OutOfSync", "revision": revision}, "reconciledAt": now_stamp()})


def _contains(live, wanted) -> bool:
    """Whether ``live`` has every field of ``wanted`` with the same value (dicts may have more keys)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(k in live and _contains(live[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(live, list) and len(live) == len(wanted) and all(_contains(a, b) for a, b in zip(live, wanted))
    return live == wanted
