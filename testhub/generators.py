"""Run the real upstream ZTP generators on GitOps files (and, where they are absent, reference models).

``testhub/build-generators.sh`` builds the generators from their source in ``<shared>/generators`` (``<shared>`` is
``$ZTP_SHARED_DIR`` or ``../shared`` beside the checkout) into ``$ZTP_CACHE/generators`` (default
``~/.cache/ztp-sno-expand/generators``): ``bin/`` holds ``siteconfig-generator``, ``policygenerator``,
``PolicyGenerator`` and ``kustomize``; ``current/xdg/kustomize/plugin/`` the kustomize exec plugins laid out as in
the ztp-site-generate container; ``current/source-crs`` the 4.20 source-CR tree with the legacy flat names;
``status.json`` the outcome of the last build (or its error).

Real generators:
    run_siteconfig(files) -> list[dict]                      siteconfig-generator, errors raised
    siteconfig_raw(files) -> Run                             exit status, documents, stderr (bad input checks)
    run_policygentemplate(files, source_crs_dir=None)        the PolicyGenTemplate plugin binary (container layout)
    run_policygenerator(file, kustomize_dir)                 the ACM PolicyGenerator plugin
    kustomize_build(folder) -> list[dict]                    ``kustomize build --enable-alpha-plugins``
Each raises ``GeneratorUnavailable`` (with the recorded build error) when its binary is missing and
``GeneratorError`` when the generator fails or reports an error in its output.

``sources_present()`` says whether the generator sources exist; then a missing binary is an error for the tests,
never a reason to skip or to fall back (docs/generators.md).
"""

from __future__ import annotations

import atexit
import base64
import copy
import glob
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass, field

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

GENERATED_ANNOTATION = "ran.openshift.io/ztp-gitops-generated"
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
ZTP_WAVE_ANNOTATION = "ran.openshift.io/ztp-deploy-wave"

BINARIES = ("siteconfig-generator", "policygenerator", "PolicyGenerator", "kustomize")
# kustomize exec plugins (relative to <xdg>/kustomize/plugin) as the ztp-site-generate container lays them out
PLUGINS = {
    "SiteConfig/v1": "ran.openshift.io/v1/siteconfig/SiteConfig",
    "SiteConfig/v2": "ran.openshift.io/v2/siteconfig/SiteConfig",
    "PolicyGenTemplate": "ran.openshift.io/v1/policygentemplate/PolicyGenTemplate",
    "PolicyGenerator": "policy.open-cluster-management.io/v1/policygenerator/PolicyGenerator",
}


class GeneratorUnavailable(RuntimeError):
    """The generator binary was not built (the message carries the recorded build error)."""


class GeneratorError(RuntimeError):
    """The generator ran and failed, or reported an error in its output."""


@dataclass
class Run:
    """One generator run: exit status, the YAML documents it printed, its stderr."""
    returncode: int
    documents: list = field(default_factory=list)
    stderr: str = ""
    stdout: str = ""


def cache_dir() -> str:
    """``$ZTP_CACHE/generators``."""
    cache = os.environ.get("ZTP_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ztp-sno-expand")
    return os.path.join(cache, "generators")


def bin_dir() -> str:
    """Folder of the generator binaries (a link to the current build set)."""
    return os.path.join(cache_dir(), "bin")


def set_dir() -> str:
    """The current build set: ``bin/``, ``xdg/`` (kustomize plugins), ``source-crs/`` (4.20 tree)."""
    return os.path.join(cache_dir(), "current")


def xdg_config_home() -> str:
    """XDG_CONFIG_HOME for kustomize: ``<set>/xdg`` holds ``kustomize/plugin/...``."""
    return os.path.join(set_dir(), "xdg")


def plugin_path(name: str) -> str:
    """Path of one kustomize exec plugin of the container layout (key of PLUGINS)."""
    return os.path.join(xdg_config_home(), "kustomize", "plugin", PLUGINS[name])


def container_source_crs() -> str:
    """The source CRs of the 4.20 ztp-site-generate container: the telco-reference tree with the legacy links."""
    path = os.path.join(set_dir(), "source-crs")
    if not os.path.isdir(path):
        raise GeneratorUnavailable(f"{path} does not exist: {_build_error()}")
    return path


def sources_dir() -> str:
    """``<shared>/generators``: the generator sources."""
    return os.path.join(shared_dir(), "generators")


def sources_present() -> bool:
    """True when the generator sources exist: the real generators must then be used (tests fail without them)."""
    return os.path.isdir(sources_dir())


def status() -> dict:
    """The build status written by build-generators.sh ({} when it never ran)."""
    path = os.path.join(cache_dir(), "status.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _build_error() -> str:
    state = status()
    if not state:
        return "testhub/build-generators.sh has not run (run it: bash testhub/build-generators.sh)"
    return state.get("error") or state.get("message") or "unknown state"


def unavailable_reason(binary_name: str) -> str | None:
    """None when the binary exists, else why not (the recorded build error)."""
    path = os.path.join(bin_dir(), binary_name)
    if os.access(path, os.X_OK):
        return None
    return f"{path} was not built: {_build_error()}"


def binary(binary_name: str) -> str:
    """Path of a generator binary or GeneratorUnavailable."""
    reason = unavailable_reason(binary_name)
    if reason:
        raise GeneratorUnavailable(reason)
    return os.path.join(bin_dir(), binary_name)


SIMULATOR_SWITCH = "ZTP_SIMULATOR_GENERATORS"


def simulator_uses_real() -> bool:
    """Whether the hub simulator's ArgoCD apps render with the real generators and kustomize: the environment variable
    ``ZTP_SIMULATOR_GENERATORS`` is ``real`` (the binaries are required: without them the syncs fail), ``auto`` (when
    they are built) or ``model`` (the default: the simulator's Python rendering)."""
    mode = os.environ.get(SIMULATOR_SWITCH, "model").strip().lower()
    if mode == "real":
        return True
    if mode == "auto":
        return all(unavailable_reason(b) is None for b in BINARIES)
    return False


def ensure_built(timeout: float = 3600) -> dict:
    """Run testhub/build-generators.sh (a no-op when the cache is current); the status, or GeneratorUnavailable with
    the build's error."""
    proc = subprocess.run(["bash", os.path.join(HERE, "build-generators.sh")], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise GeneratorUnavailable(f"testhub/build-generators.sh exited {proc.returncode}:\n{proc.stderr.strip()}")
    return status()


def data_dir(name: str) -> str:
    """A data folder of the container: ``source-crs`` or ``source-crs/extra-manifest`` (older name
    ``ztp/source-crs...`` accepted)."""
    name = name[len("ztp/"):] if name.startswith("ztp/") else name
    path = os.path.join(container_source_crs(), name[len("source-crs"):].lstrip("/"))
    if not os.path.isdir(path):
        raise GeneratorUnavailable(f"data folder {name} is not in the generator build: {path}")
    return path


def _execute(argv: list[str], cwd: str | None = None, env: dict | None = None, timeout: float = 300) -> Run:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=full_env)
    run = Run(proc.returncode, [], proc.stderr, proc.stdout)
    if proc.returncode == 0:
        run.documents = _documents(proc.stdout, os.path.basename(argv[0]))
    return run


def execute(binary_name: str, args: list[str], cwd: str | None = None, timeout: float = 300) -> Run:
    """Run one generator binary with the given arguments (no error raised)."""
    return _execute([binary(binary_name)] + list(args), cwd=cwd, timeout=timeout)


def _run(argv: list[str], cwd: str | None = None, env: dict | None = None, timeout: float = 300) -> list[dict]:
    run = _execute(argv, cwd, env, timeout)
    if run.returncode != 0:
        raise GeneratorError(f"{os.path.basename(argv[0])} exited {run.returncode}: {run.stderr.strip() or run.stdout.strip()}")
    return run.documents


def _documents(text: str, origin: str) -> list[dict]:
    try:
        return [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as err:
        raise GeneratorError(f"{origin} printed output that is not YAML: {err}") from err


def siteconfig_errors(docs: list[dict]) -> list[str]:
    """The ``siteConfigError`` messages of a SiteConfig generator output (also SiteConfig objects passed through)."""
    return [str(d.get("siteConfigError", "SiteConfig object passed through")) for d in docs
            if "siteConfigError" in d or d.get("kind") == "SiteConfig"]


def siteconfig_raw(files: list[str], manifest_path: str | None = None, stop_on_error: bool = False) -> Run:
    """Run the SiteConfig generator as the kustomize plugin does and return what it did (no error raised)."""
    argv = [binary("siteconfig-generator")]
    if manifest_path is None:
        manifest_path = data_dir("source-crs/extra-manifest")
    argv += ["-manifestPath", manifest_path]
    if stop_on_error:
        argv.append("-stopOnError")
    argv += [os.path.abspath(f) for f in files]
    return _execute(argv, cwd=os.path.dirname(os.path.abspath(files[0])))


def run_siteconfig(files: list[str], manifest_path: str | None = None) -> list[dict]:
    """Render SiteConfig files as the kustomize plugin does; the hub CRs it generates.

    Fails when any output object carries ``siteConfigError`` or is still a SiteConfig (the plugin reports
    errors inside its output, not through its exit status).
    """
    run = siteconfig_raw(files, manifest_path)
    if run.returncode != 0:
        raise GeneratorError(f"siteconfig-generator exited {run.returncode}: {run.stderr.strip()}")
    bad = siteconfig_errors(run.documents)
    if bad:
        raise GeneratorError(f"siteconfig-generator rejected {len(bad)} SiteConfig(s): {'; '.join(bad)}")
    return run.documents


def policygentemplate_raw(files: list[str], source_crs_dir: str | None = None, cwd: str | None = None) -> Run:
    """Run the PolicyGenTemplate plugin binary of the container layout.

    Without ``source_crs_dir`` it looks up each source CR as on a hub: ``<cwd>/source-crs/<file>`` (the
    repository's own copy) first, then the container's ``source-crs/`` beside the plugin (the 4.20 tree).
    """
    binary("policygenerator")
    exe = plugin_path("PolicyGenTemplate")
    if not os.access(exe, os.X_OK):
        raise GeneratorUnavailable(f"{exe} does not exist: {_build_error()}")
    argv = [exe]
    if source_crs_dir:
        argv += ["-sourcePath", os.path.abspath(source_crs_dir)]
    argv += [os.path.abspath(f) for f in files]
    return _execute(argv, cwd=cwd or os.path.dirname(os.path.abspath(files[0])))


def run_policygentemplate(files: list[str], source_crs_dir: str | None = None, cwd: str | None = None) -> list[dict]:
    """Render PolicyGenTemplate files (policies wrapped, as ArgoCD gets them); GeneratorError on failure."""
    run = policygentemplate_raw(files, source_crs_dir, cwd)
    if run.returncode != 0:
        raise GeneratorError(f"PolicyGenTemplate exited {run.returncode}: {run.stderr.strip()}")
    return run.documents


def policygenerator_raw(file: str, kustomize_dir: str) -> Run:
    """Run the ACM PolicyGenerator plugin on one file in its kustomization folder (no error raised)."""
    return _execute([binary("PolicyGenerator"), os.path.abspath(file)], cwd=kustomize_dir)


def run_policygenerator(file: str, kustomize_dir: str) -> list[dict]:
    """Render one ACM PolicyGenerator file with the kustomize exec plugin binary, run in the kustomization folder."""
    return _run([binary("PolicyGenerator"), os.path.abspath(file)], cwd=kustomize_dir)


def kustomize_raw(folder: str, timeout: float = 300) -> Run:
    """``kustomize build --enable-alpha-plugins FOLDER`` with the container's plugins (no error raised)."""
    env = {"XDG_CONFIG_HOME": xdg_config_home(), "KUSTOMIZE_PLUGIN_HOME": os.path.join(xdg_config_home(), "kustomize", "plugin")}
    return _execute([binary("kustomize"), "build", "--enable-alpha-plugins", os.path.abspath(folder)], cwd=folder, env=env,
                    timeout=timeout)


def kustomize_build(folder: str, timeout: float = 300) -> list[dict]:
    """The objects ArgoCD would apply for a ZTP application folder; GeneratorError with kustomize's stderr on failure."""
    run = kustomize_raw(folder, timeout)
    if run.returncode != 0:
        raise GeneratorError(f"kustomize build {folder} exited {run.returncode}: {run.stderr.strip()}")
    return run.documents


# ---------------------------------------------------------------------------------------------------------
# Upstream reference data and the SiteConfig node model (checked against the real generator and its golden outputs).


def shared_dir() -> str:
    """``$ZTP_SHARED_DIR`` or ``<repo>/../shared``."""
    return os.environ.get("ZTP_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")


def reference_dir() -> str:
    """The upstream reference files (``<shared>/ztp-reference``)."""
    return os.path.join(shared_dir(), "ztp-reference")


def golden_siteconfig_outputs() -> dict[str, list[dict]]:
    """The outputs of the real SiteConfig generator saved from its unit tests: file name -> documents."""
    folder = os.path.join(reference_dir(), "examples", "siteconfig", "upstream-generator-golden-output")
    paths = sorted(glob.glob(os.path.join(folder, "*.yaml")))
    if not paths:
        raise FileNotFoundError(f"no upstream golden outputs in {folder}")
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            out[os.path.basename(path)] = [d for d in yaml.safe_load_all(handle) if d]
    return out


def _scalar(value) -> str:
    """A YAML scalar as the Go generator sees it in a string field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def model_siteconfig_nodes(doc: dict) -> list[dict]:
    """BareMetalHost, NMStateConfig per node of every cluster, as the SiteConfig generator renders them (§2.5).

    Cluster-level objects and HostFirmwareSettings/crTemplates are not modelled.
    """
    api = doc.get("apiVersion")
    if api not in ("ran.openshift.io/v1", "ran.openshift.io/v2"):
        raise GeneratorError(f"Not valid siteConfig ApiVersion: {api}")
    site_ann = ((doc.get("spec") or {}).get("crAnnotations") or {}).get("add") or {}
    out = []
    for cluster in (doc.get("spec") or {}).get("clusters") or []:
        cname = _scalar(cluster.get("clusterName"))
        cl_ann = (cluster.get("crAnnotations") or {}).get("add") or {}
        for node in cluster.get("nodes") or []:
            out.extend(_model_node(cname, node, [(node.get("crAnnotations") or {}).get("add") or {}, cl_ann, site_ann]))
    return out


def _model_node(cname: str, node: dict, extra_annotations: list[dict]) -> list[dict]:
    host = _scalar(node.get("hostName"))
    suppressed = set(node.get("crSuppression") or [])
    objs = []
    network = node.get("nodeNetwork") or {}
    if network and "NMStateConfig" not in suppressed:
        spec = {}
        if network.get("config"):
            spec["config"] = copy.deepcopy(network["config"])
        if network.get("interfaces"):
            spec["interfaces"] = [{k: _scalar(v) for k, v in i.items() if k in ("name", "macAddress") and _scalar(v)} for i in network["interfaces"]]
        objs.append({"apiVersion": "agent-install.openshift.io/v1beta1", "kind": "NMStateConfig",
                     "metadata": {"annotations": {WAVE_ANNOTATION: "1", GENERATED_ANNOTATION: "{}"},
                                  "labels": {"nmstate-label": cname}, "name": host, "namespace": cname},
                     "spec": spec})
    if "BareMetalHost" not in suppressed:
        ann = {WAVE_ANNOTATION: "3", "bmac.agent-install.openshift.io/hostname": host,
               "bmac.agent-install.openshift.io/role": _scalar(node.get("role")) or "master", GENERATED_ANNOTATION: "{}"}
        for key, value in (node.get("nodeLabels") or {}).items():
            ann[f"bmac.agent-install.openshift.io.node-label.{key}"] = _scalar(value)
        if _scalar(node.get("installerArgs")):
            ann["bmac.agent-install.openshift.io/installer-args"] = _scalar(node["installerArgs"])
        if _scalar(node.get("ignitionConfigOverride")):
            ann["bmac.agent-install.openshift.io/ignition-config-overrides"] = _scalar(node["ignitionConfigOverride"])
        if _scalar(node.get("ironicInspect")) == "disabled":
            ann["inspect.metal3.io"] = "disabled"
        for extra in extra_annotations:
            for key, value in (extra.get("BareMetalHost") or {}).items():
                ann.setdefault(key, _scalar(value))
        bmc = {"disableCertificateVerification": True}
        if _scalar(node.get("bmcAddress")):
            bmc["address"] = _scalar(node["bmcAddress"])
        cred = _scalar((node.get("bmcCredentialsName") or {}).get("name"))
        if cred:
            bmc["credentialsName"] = cred
        spec = {"automatedCleaningMode": _scalar(node.get("automatedCleaningMode")) or "disabled", "bmc": bmc,
                "bootMode": _scalar(node.get("bootMode")) or "UEFI", "online": True}
        if _scalar(node.get("bootMACAddress")):
            spec["bootMACAddress"] = _scalar(node["bootMACAddress"])
        if node.get("rootDeviceHints"):
            spec["rootDeviceHints"] = copy.deepcopy(node["rootDeviceHints"])
        if node.get("userData"):
            spec["userData"] = copy.deepcopy(node["userData"])
        objs.append({"apiVersion": "metal3.io/v1alpha1", "kind": "BareMetalHost",
                     "metadata": {"annotations": ann, "labels": {"infraenvs.agent-install.openshift.io": cname},
                                  "name": host, "namespace": cname},
                     "spec": spec})
    return objs


def object_templates(policy: dict) -> list[dict]:
    """The ``object-templates`` entries of every ConfigurationPolicy inside a Policy."""
    out = []
    for tmpl in (policy.get("spec") or {}).get("policy-templates") or []:
        out.extend((tmpl.get("objectDefinition") or {}).get("spec", {}).get("object-templates") or [])
    return out


def machineconfig_files(mc: dict) -> dict[str, str]:
    """path -> decoded contents of the ignition files of a MachineConfig (data URLs, base64 or percent-encoded)."""
    out = {}
    for entry in ((mc.get("spec") or {}).get("config") or {}).get("storage", {}).get("files") or []:
        source = (entry.get("contents") or {}).get("source") or ""
        if not source.startswith("data:"):
            continue
        head, _sep, data = source[5:].partition(",")
        if head.endswith(";base64"):
            out[entry["path"]] = base64.b64decode(data).decode("utf-8")
        else:
            out[entry["path"]] = urllib.parse.unquote(data)
    return out


def write_temp_tree(files: dict[str, str]) -> str:
    """Write {relative path: text} into a new temporary folder and return it (for generator inputs); the folder is
    removed when the process ends."""
    root = tempfile.mkdtemp(prefix="ztp-gen-")
    atexit.register(shutil.rmtree, root, True)
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return root
