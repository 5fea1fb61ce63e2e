"""Run the real upstream ZTP generators on GitOps files, or fall back to checks against upstream golden outputs.

Binaries are built by ``testhub/build-generators.sh`` into ``$ZTP_GENERATORS_BIN`` (default
``~/.cache/ztp-sno-expand/generators/bin``); the script records in ``status.json`` next to that folder what
was built, the module version, the data folders in the Go module cache (``source-crs``, ``extra-manifest``)
and, for a generator that could not be built, the exact error.

Real generators:
    run_siteconfig(files) -> list[dict]
    run_policygentemplate(files, source_crs_dir=None) -> list[dict]
    run_policygenerator(file, kustomize_dir) -> list[dict]
Each raises ``GeneratorUnavailable`` (with the recorded build error) when its binary is missing and
``GeneratorError`` when the generator fails or reports an error in its output.

Fallback (documented in docs/generators.md): when a generator is unavailable the tests check our files with
reference renderers that follow the upstream rules (``model_*``) and check those renderers against the
outputs the real SiteConfig generator produced in its own unit tests (``golden_siteconfig_outputs``).
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

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

GENERATED_ANNOTATION = "ran.openshift.io/ztp-gitops-generated"
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
ZTP_WAVE_ANNOTATION = "ran.openshift.io/ztp-deploy-wave"

# which wrapper module (testhub/build/ztp-generators/<name>) provides which binary
_PROVIDER = {"siteconfig-generator": "cnf-features-deploy", "policygenerator": "cnf-features-deploy",
             "PolicyGenerator": "policy-generator-plugin"}


class GeneratorUnavailable(RuntimeError):
    """The generator binary was not built (the message carries the recorded build error)."""


class GeneratorError(RuntimeError):
    """The generator ran and failed, or reported an error in its output."""


def bin_dir() -> str:
    """Folder of the generator binaries."""
    cache = os.environ.get("ZTP_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ztp-sno-expand")
    return os.environ.get("ZTP_GENERATORS_BIN") or os.path.join(cache, "generators", "bin")


def status() -> dict:
    """The build status written by build-generators.sh ({} when it never ran)."""
    path = os.path.join(os.path.dirname(bin_dir()), "status.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def unavailable_reason(binary_name: str) -> str | None:
    """None when the binary exists, else why not (the recorded build error)."""
    path = os.path.join(bin_dir(), binary_name)
    if os.access(path, os.X_OK):
        return None
    entry = status().get(_PROVIDER[binary_name])
    if not entry:
        return f"{path} does not exist and testhub/build-generators.sh has not recorded a build (run it)"
    return f"{path} was not built from {entry.get('module')}: {entry.get('error') or 'unknown error'}"


def binary(binary_name: str) -> str:
    """Path of a generator binary or GeneratorUnavailable."""
    reason = unavailable_reason(binary_name)
    if reason:
        raise GeneratorUnavailable(reason)
    return os.path.join(bin_dir(), binary_name)


def data_dir(name: str) -> str:
    """A data folder of the cnf-features-deploy module in the Go module cache (e.g. ``ztp/source-crs``)."""
    entry = status().get("cnf-features-deploy") or {}
    path = (entry.get("data") or {}).get(name)
    if not path or not os.path.isdir(path):
        raise GeneratorUnavailable(f"data folder {name} of cnf-features-deploy is not in the Go module cache: {path}")
    return path


def _run(argv: list[str], cwd: str | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise GeneratorError(f"{os.path.basename(argv[0])} exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _documents(text: str, origin: str) -> list[dict]:
    try:
        return [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as err:
        raise GeneratorError(f"{origin} printed output that is not YAML: {err}") from err


def run_siteconfig(files: list[str], manifest_path: str | None = None) -> list[dict]:
    """Render SiteConfig files as the kustomize plugin does (binary + file paths); the hub CRs it generates.

    Fails when any output object carries ``siteConfigError`` or is still a SiteConfig (the plugin reports
    errors inside its output, not through its exit status).
    """
    exe = binary("siteconfig-generator")
    argv = [exe]
    if manifest_path is None:
        try:
            manifest_path = data_dir("ztp/source-crs/extra-manifest")
        except GeneratorUnavailable:
            manifest_path = None
    if manifest_path:
        argv += ["-manifestPath", manifest_path]
    argv += [os.path.abspath(f) for f in files]
    docs = _documents(_run(argv, cwd=os.path.dirname(os.path.abspath(files[0]))), "siteconfig-generator")
    bad = [d for d in docs if "siteConfigError" in d or d.get("kind") == "SiteConfig"]
    if bad:
        msgs = "; ".join(str(d.get("siteConfigError", "SiteConfig object passed through")) for d in bad)
        raise GeneratorError(f"siteconfig-generator rejected {len(bad)} SiteConfig(s): {msgs}")
    return docs


def run_policygentemplate(files: list[str], source_crs_dir: str | None = None) -> list[dict]:
    """Render PolicyGenTemplate files with the PGT generator CLI (``-sourcePath``; policies to stdout)."""
    exe = binary("policygenerator")
    src = source_crs_dir or data_dir("ztp/source-crs")
    argv = [exe, "-sourcePath", src, "-wrapInPolicy=true"] + [os.path.abspath(f) for f in files]
    return _documents(_run(argv, cwd=os.path.dirname(os.path.abspath(files[0]))), "policygenerator")


def run_policygenerator(file: str, kustomize_dir: str) -> list[dict]:
    """Render one ACM PolicyGenerator file with the kustomize exec plugin binary, run in the kustomization folder."""
    exe = binary("PolicyGenerator")
    return _documents(_run([exe, os.path.abspath(file)], cwd=kustomize_dir), "PolicyGenerator")


# ---------------------------------------------------------------------------------------------------------
# Fallback: upstream reference data and reference renderers.


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


def _pgt_merge(src, user):
    """PGT ``setValues``: maps merged where the user gave a key, lists of maps merged by index, scalars replaced,
    and at a level the user touched source values ``""``/``$…`` the user did not give are dropped."""
    if isinstance(src, dict) and isinstance(user, dict):
        out = {}
        for key, value in src.items():
            if key in user:
                out[key] = _pgt_merge(value, user[key])
            elif not (isinstance(value, str) and (value == "" or value.startswith("$"))):
                out[key] = copy.deepcopy(value)
        for key, value in user.items():
            if key not in src:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(src, list) and isinstance(user, list) and any(isinstance(i, dict) for i in src + user):
        merged = [_pgt_merge(s, u) for s, u in zip(src, user)]
        return merged + copy.deepcopy(src[len(user):]) + copy.deepcopy(user[len(src):])
    return copy.deepcopy(user)


def _source_cr(file_name: str, dirs: list[str], mcp: str | None) -> list[dict]:
    for folder in dirs:
        path = os.path.join(folder, file_name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            if mcp:
                text = text.replace("$mcp", mcp)
            return [d for d in yaml.safe_load_all(text) if d]
    raise GeneratorError(f"source CR {file_name} not found in {dirs}")


def _config_policy(name: str, templates: list[dict], remediation: str, interval: dict) -> dict:
    return {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "ConfigurationPolicy",
            "metadata": {"name": name},
            "spec": {"remediationAction": remediation, "severity": "low",
                     "namespaceselector": {"exclude": ["kube-*"], "include": ["*"]},
                     "evaluationInterval": interval, "object-templates": templates}}


def _policy(name: str, namespace: str, annotations: dict, config_policy: dict, remediation: str) -> dict:
    ann = {"policy.open-cluster-management.io/categories": "CM Configuration Management",
           "policy.open-cluster-management.io/controls": "CM-2 Baseline Configuration",
           "policy.open-cluster-management.io/standards": "NIST SP 800-53"}
    ann.update(annotations)
    return {"apiVersion": "policy.open-cluster-management.io/v1", "kind": "Policy",
            "metadata": {"name": name, "namespace": namespace, "annotations": ann},
            "spec": {"disabled": False, "remediationAction": remediation,
                     "policy-templates": [{"objectDefinition": config_policy}]}}


def model_policygentemplate(doc: dict, source_crs_dirs: list[str]) -> list[dict]:
    """Policies (and placement objects) of a PolicyGenTemplate as the PGT generator renders them (§4)."""
    if doc.get("kind") != "PolicyGenTemplate":
        raise GeneratorError(f"not a PolicyGenTemplate: {doc.get('kind')}")
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if not name or not namespace:
        raise GeneratorError("PolicyGenTemplate metadata.name and metadata.namespace are required")
    mcp = spec.get("mcp")
    policies: dict[str, dict] = {}
    for entry in spec.get("sourceFiles") or []:
        crs = _source_cr(entry["fileName"], source_crs_dirs, mcp)
        overrides = {k: entry[k] for k in ("spec", "data", "status", "binaryData", "stringData") if k in entry}
        if len(crs) > 1 and overrides:
            raise GeneratorError(f"{entry['fileName']}: a multi-document source CR cannot carry overrides")
        pname = entry.get("policyName")
        for cr in crs:
            cr = _pgt_merge(cr, overrides) if overrides else cr
            emeta = entry.get("metadata") or {}
            cmeta = cr.setdefault("metadata", {})
            for key in ("name", "namespace"):
                if emeta.get(key):
                    cmeta[key] = emeta[key]
            for key in ("labels", "annotations"):
                if emeta.get(key):
                    cmeta[key] = _pgt_merge(cmeta.get(key) or {}, emeta[key])
            wave = (cmeta.get("annotations") or {}).pop(ZTP_WAVE_ANNOTATION, None)
            if cmeta.get("annotations") == {}:
                del cmeta["annotations"]
            if not pname:
                continue
            full = f"{name}-{pname}"
            if len(namespace + "." + full) > 63:
                raise GeneratorError(f"policy name {namespace}.{full} is longer than 63 characters")
            pol = policies.setdefault(full, {"templates": [], "wave": None,
                                             "remediation": entry.get("remediationAction") or spec.get("remediationAction") or "inform"})
            if wave is not None:
                if pol["wave"] not in (None, wave):
                    raise GeneratorError(f"{full}: source CRs with different ztp-deploy-wave")
                pol["wave"] = wave
            pol["templates"].append({"complianceType": entry.get("complianceType") or spec.get("complianceType") or "musthave",
                                     "objectDefinition": cr})
    interval = {"compliant": "10m", "noncompliant": "10s"}
    interval.update(spec.get("evaluationInterval") or {})
    out = []
    for full, pol in policies.items():
        ann = {ZTP_WAVE_ANNOTATION: pol["wave"]} if pol["wave"] is not None else {}
        out.append(_policy(full, namespace, ann, _config_policy(full + "-config", pol["templates"], "inform", interval), "inform"))
    return out


# kyaml (kustomize) treats a list of maps without an OpenAPI schema as associative when its items carry one of these keys
_ASSOCIATIVE_KEYS = ("mountPath", "devicePath", "ip", "type", "topologyKey", "name", "containerPort")


def _associative_key(items: list) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _ASSOCIATIVE_KEYS:
        if all(key in i for i in items):
            return key
    return None


def _smp(base, patch):
    """Strategic merge as kustomize applies PolicyGenerator patches to kinds without a schema: maps merged
    (``$patch: replace`` honoured, null deletes), lists of maps merged by an inferred key (``$patch: delete`` items
    remove their namesake), other lists replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _smp(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list):
        key = _associative_key(base + patch)
        if key:
            merged = copy.deepcopy(base)
            for item in patch:
                if item.get("$patch") == "delete":
                    merged = [cur for cur in merged if cur[key] != item[key]]
                    continue
                idx = next((i for i, cur in enumerate(merged) if cur[key] == item[key]), None)
                if idx is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[idx] = _smp(merged[idx], item)
            return merged
    return copy.deepcopy(patch)


def model_policygenerator(doc: dict, kustomize_dir: str) -> list[dict]:
    """Policies of an ACM PolicyGenerator (manifests + patches, names, policyAnnotations, complianceType) (§5)."""
    if doc.get("kind") != "PolicyGenerator":
        raise GeneratorError(f"not a PolicyGenerator: {doc.get('kind')}")
    defaults = doc.get("policyDefaults") or {}
    namespace = defaults.get("namespace")
    if not (doc.get("metadata") or {}).get("name") or not namespace:
        raise GeneratorError("PolicyGenerator metadata.name and policyDefaults.namespace are required")
    out = []
    for pol in doc.get("policies") or []:
        templates = []
        for manifest in pol.get("manifests") or []:
            path = os.path.join(kustomize_dir, manifest["path"])
            if not os.path.exists(path):
                raise GeneratorError(f"manifest path {manifest['path']} does not exist in {kustomize_dir}")
            with open(path, encoding="utf-8") as handle:
                crs = [d for d in yaml.safe_load_all(handle) if d]
            for cr in crs:
                for patch in manifest.get("patches") or []:
                    pm = patch.get("metadata") or {}
                    cm = cr.get("metadata") or {}
                    if len(crs) > 1 and (pm.get("name"), patch.get("kind")) != (cm.get("name"), cr.get("kind")):
                        continue
                    cr = _smp(cr, patch)
                ctype = manifest.get("complianceType") or pol.get("complianceType") or defaults.get("complianceType") or "musthave"
                templates.append({"complianceType": ctype, "objectDefinition": cr})
        remediation = pol.get("remediationAction") or defaults.get("remediationAction") or "inform"
        interval = pol.get("evaluationInterval") or defaults.get("evaluationInterval") or {}
        cfg = _config_policy(pol["name"], templates, remediation, interval)
        out.append(_policy(pol["name"], namespace, dict(pol.get("policyAnnotations") or defaults.get("policyAnnotations") or {}), cfg, remediation))
    return out


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
