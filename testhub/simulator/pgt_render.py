"""Rendering of a ZTP policies kustomization the way the ztp-site-generate plugins do.

* ``PolicyGenTemplate`` (``ran.openshift.io/v1``): the merge rules of the upstream
  ``ztp/policygenerator`` builder (``$mcp`` text replacement, ``setValues`` recursive merge, lists of
  maps merged by index, ``""``/``$``-placeholders dropped), Policy ``<pgt>-<policyName>`` with a
  ConfigurationPolicy ``<policy>-config``, PlacementRule ``<pgt>-placementrules``, PlacementBinding
  ``<pgt>-placementbinding`` and the 63-character ``namespace.name`` rule.
* ``PolicyGenerator`` (``policy.open-cluster-management.io/v1``): policies from ``policies[].manifests``
  with ``patches`` merged, a Placement from ``placement.labelSelector`` and a PlacementBinding.

Source CRs are read from ``source-crs/`` next to the kustomization first, then from the source-CR
tree the ztp-site-generate container ships (``$ZTP_SHARED_DIR/ztp-reference/source-crs``, by default
``<repository>/../shared/ztp-reference/source-crs``), flat names first and then the
telco-reference layout (``node-tuning-operator/x86_64/PerformanceProfile.yaml``...).
Every failure raises :class:`RenderError` with the message the app status shows.
"""

from __future__ import annotations

import copy
import json
import os
import re

import yaml

try:
    from .. import generators
except ImportError:  # pragma: no cover - loaded as a top-level module
    from testhub import generators

WAVE = "ran.openshift.io/ztp-deploy-wave"
POLICY_API = "policy.open-cluster-management.io/v1"
POLICY_ANNOTATIONS = {
    "policy.open-cluster-management.io/categories": "CM Configuration Management",
    "policy.open-cluster-management.io/controls": "CM-2 Baseline Configuration",
    "policy.open-cluster-management.io/standards": "NIST SP 800-53",
}
NAMESPACE_SELECTOR = {"exclude": ["kube-*"], "include": ["*"]}
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")


class RenderError(Exception):
    """A generator failure; the message is what ArgoCD shows."""


def shipped_source_crs_dirs():
    """Source-CR folders of the simulated ztp-site-generate container, in lookup order: the 4.20 container's tree
    built by testhub/build-generators.sh (telco-reference with the legacy flat names) when it and the generator
    sources of the shared folder exist, then the reference copies of the shared folder."""
    shared = os.environ.get("ZTP_SHARED_DIR")
    if not shared:
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        shared = os.path.join(os.path.dirname(repo), "shared")
    base = os.path.join(shared, "ztp-reference", "source-crs")
    container = os.path.join(generators.set_dir(), "source-crs")
    use_container = generators.sources_present() and os.path.isdir(container)
    return ([container] if use_container else []) + [
        base, os.path.join(base, "telco-reference-main"), os.path.join(base, "telco-reference-release-4.20")]


def read_source_cr(kdir, file_name):
    """Text of a source CR: the Git copy under source-crs/ first, then the shipped copies."""
    candidates = [os.path.join(kdir, "source-crs", file_name)] + [os.path.join(d, file_name) for d in shipped_source_crs_dirs()]
    for path in candidates:
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
    raise RenderError("open source-crs/%s: no such file or directory" % file_name)


def _load_docs(text, where):
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise RenderError("%s: %s" % (where, str(exc).replace("\n", " "))) from exc


# --------------------------------------------------------------------------- PGT merge semantics

def _is_placeholder(value):
    return isinstance(value, str) and (value == "" or value.startswith("$"))


def set_values(source, values):
    """The upstream setValues merge (policyBuilder.go)."""
    values = values or {}
    for key in list(source.keys()):
        val = source[key]
        if values.get(key) is None:
            if _is_placeholder(val):
                del source[key]
            continue
        user = values[key]
        if isinstance(val, dict) and isinstance(user, dict):
            source[key] = set_values(val, user)
        elif isinstance(val, list) and val and isinstance(val[0], dict) and isinstance(user, list):
            # merged by index; the user's items beyond the source's are appended (policyBuilder.go setValues,
            # cnf-features-deploy release-4.20 ztp/policygenerator/policyGen/policyBuilder.go lines 348-373)
            merged = []
            for idx, item in enumerate(val):
                if idx < len(user) and isinstance(item, dict) and isinstance(user[idx], dict):
                    merged.append(set_values(item, user[idx]))
                else:
                    merged.append(item)
            merged.extend(copy.deepcopy(item) for item in user[len(val):])
            source[key] = merged
        else:
            source[key] = copy.deepcopy(user)
    for key, val in values.items():
        if source.get(key) is None:
            source[key] = copy.deepcopy(val)
    return source


def _check_interval(value, where):
    if value in (None, "", "never", "watch"):
        return
    if not _DURATION.match(str(value)):
        raise RenderError("%s '%s'" % (where, 'time: invalid duration "%s"' % value))


def check_name_length(namespace, name):
    if len(namespace + "." + name) > 63:
        raise RenderError('Namespace.Name + ResourceName is exceeding the 63 chars limit: "%s.%s"' % (namespace, name))


def _build_cr(sfile, text, mcp):
    if mcp:
        text = text.replace("$mcp", mcp)
    docs = _load_docs(text, "source-crs/" + sfile["fileName"])
    if len(docs) > 1 and (sfile.get("data") or sfile.get("spec") or sfile.get("status")):
        raise RenderError("Update spec/data/status of multiple yamls structure in same file %s not allowed. "
                          "Instead separate them in multiple files" % sfile["fileName"])
    result = []
    smeta = sfile.get("metadata") or {}
    for doc in docs:
        if not isinstance(doc.get("metadata"), dict):
            raise RenderError("%s: the source CR has no metadata" % sfile["fileName"])
        meta = doc["metadata"]
        if smeta.get("name"):
            meta["name"] = smeta["name"]
        if smeta.get("namespace"):
            meta["namespace"] = smeta["namespace"]
        for field in ("labels", "annotations"):
            if smeta.get(field):
                meta[field] = set_values(meta.get(field) or {}, {k: str(v) for k, v in smeta[field].items()})
        for field in ("spec", "data", "status", "binaryData", "stringData"):
            if doc.get(field) is None and sfile.get(field) is not None:
                doc[field] = {}
            if isinstance(doc.get(field), dict):
                doc[field] = set_values(doc[field], sfile.get(field) if isinstance(sfile.get(field), dict) else None)
        result.append(doc)
    return result


def _placement_rule_expressions(name, rules, excluded):
    rules = rules or {}
    excluded = excluded or {}
    for key, value in excluded.items():
        if key in rules and (str(value) == "" or str(value) == str(rules[key])):
            raise RenderError("%s: bindingRules and bindingExcludedRules conflict on key %s" % (name, key))
    exprs = []
    for key in sorted(rules):
        value = "" if rules[key] is None else str(rules[key])
        if value == "":
            exprs.append({"key": key, "operator": "Exists"})
        else:
            exprs.append({"key": key, "operator": "In", "values": value.split(",")})
    for key in sorted(excluded):
        value = "" if excluded[key] is None else str(excluded[key])
        if value == "":
            exprs.append({"key": key, "operator": "DoesNotExist"})
        else:
            exprs.append({"key": key, "operator": "NotIn", "values": value.split(",")})
    return exprs


def _new_policy(name, namespace, remediation, interval):
    return {
        "apiVersion": POLICY_API,
        "kind": "Policy",
        "metadata": {"name": name, "namespace": namespace, "annotations": dict(POLICY_ANNOTATIONS)},
        "spec": {
            "disabled": False,
            "remediationAction": remediation,
            "policy-templates": [{
                "objectDefinition": {
                    "apiVersion": POLICY_API,
                    "kind": "ConfigurationPolicy",
                    "metadata": {"name": name + "-config"},
                    "spec": {
                        "remediationAction": remediation,
                        "severity": "low",
                        # camelCase, as cnf-features-deploy ztp/policygenerator/policyGen/policyTemplate.go:25
                        # writes it; the framework add-on decodes ConfigurationPolicies strictly
                        "namespaceSelector": copy.deepcopy(NAMESPACE_SELECTOR),
                        "evaluationInterval": dict(interval),
                        "object-templates": [],
                    },
                },
            }],
        },
    }


def _take_wave(policy, cr, file_name):
    annotations = (cr.get("metadata") or {}).get("annotations") or {}
    wave = annotations.pop(WAVE, None)
    if not annotations and "annotations" in cr.get("metadata", {}):
        del cr["metadata"]["annotations"]
    if wave is None:
        return
    wave = str(wave)
    pmeta = policy["metadata"]["annotations"]
    if WAVE in pmeta and pmeta[WAVE] != wave:
        raise RenderError("%s annotation in Resource %s (wave %s) doesn't match with Policy %s (wave %s)"
                          % (WAVE, file_name, wave, policy["metadata"]["name"], pmeta[WAVE]))
    pmeta[WAVE] = wave


def render_pgt(doc, kdir):
    """Objects for one PolicyGenTemplate document."""
    meta = doc.get("metadata") or {}
    name, namespace = meta.get("name") or "", meta.get("namespace") or ""
    if not name or not namespace:
        raise RenderError("PolicyGenTemplate Metadata.Name & Metadata.Namespace must be defined")
    spec = doc.get("spec") or {}
    mcp = spec.get("mcp") or ""
    wrap = spec.get("wrapInPolicy", True)
    remediation = spec.get("remediationAction") or "inform"
    compliance = spec.get("complianceType") or "musthave"
    interval = {"compliant": "10m", "noncompliant": "10s"}
    interval.update({k: v for k, v in (spec.get("evaluationInterval") or {}).items() if v})
    _check_interval(interval.get("compliant"), "Spec: evaluationInterval.compliant")
    _check_interval(interval.get("noncompliant"), "Spec: evaluationInterval.noncompliant")
    policies, order, plain = {}, [], []
    for sfile in spec.get("sourceFiles") or []:
        if not sfile.get("fileName"):
            raise RenderError("%s: sourceFiles entry without fileName" % name)
        crs = _build_cr(sfile, read_source_cr(kdir, sfile["fileName"]), mcp)
        pname = sfile.get("policyName") or ""
        if not pname or wrap is False:
            plain.extend(crs)
            continue
        full = name + "-" + pname
        if full not in policies:
            check_name_length(namespace, full)
            policies[full] = _new_policy(full, namespace, sfile.get("remediationAction") or remediation, interval)
            order.append(full)
        policy = policies[full]
        cfg = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]
        if sfile.get("remediationAction"):
            if sfile["remediationAction"] != policy["spec"]["remediationAction"] and policy["spec"]["remediationAction"] != remediation:
                raise RenderError("remediationAction conflict for policyName " + pname)
            policy["spec"]["remediationAction"] = cfg["remediationAction"] = sfile["remediationAction"]
        for key in ("compliant", "noncompliant"):
            value = (sfile.get("evaluationInterval") or {}).get(key)
            if value:
                _check_interval(value, "%s: evaluationInterval.%s" % (sfile["fileName"], key))
                cfg["evaluationInterval"][key] = value
        for cr in crs:
            _take_wave(policy, cr, sfile["fileName"])
            cfg["object-templates"].append({"complianceType": sfile.get("complianceType") or compliance, "objectDefinition": cr})
    objects = [policies[p] for p in order]
    if order:
        rule_name = name + "-placementrules"
        check_name_length(namespace, rule_name)
        objects.append({
            "apiVersion": "apps.open-cluster-management.io/v1",
            "kind": "PlacementRule",
            "metadata": {"name": rule_name, "namespace": namespace},
            "spec": {"clusterSelector": {"matchExpressions": _placement_rule_expressions(
                name, spec.get("bindingRules"), spec.get("bindingExcludedRules"))}},
        })
        binding_name = name + "-placementbinding"
        check_name_length(namespace, binding_name)
        objects.append({
            "apiVersion": POLICY_API,
            "kind": "PlacementBinding",
            "metadata": {"name": binding_name, "namespace": namespace},
            "placementRef": {"apiGroup": "apps.open-cluster-management.io", "kind": "PlacementRule", "name": rule_name},
            "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": p} for p in order],
        })
    return objects + plain


# --------------------------------------------------------------------------- ACM PolicyGenerator

def _strategic_merge(base, patch):
    """The kustomize strategic-merge patch the PolicyGenerator plugin applies (policy-generator-plugin
    internal/patches.go ApplyPatches: krusty with the manifest as resource and the patch in ``patches``) for kinds
    without an OpenAPI schema (every ZTP source CR kind): maps merge, ``$patch: replace`` replaces a map, ``null``
    deletes a key, and lists are replaced as a whole (no merge key without a schema, so a ``$patch: delete`` item
    stays in the list as it is)."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    out = dict(base)
    for key, val in patch.items():
        if val is None:
            out.pop(key, None)
        elif isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _strategic_merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def _read_manifest(kdir, path):
    full = os.path.normpath(os.path.join(kdir, path))
    if os.path.isfile(full):
        with open(full, encoding="utf-8") as handle:
            return handle.read()
    if path.startswith("source-crs/"):
        rel = path[len("source-crs/"):]
        for base in shipped_source_crs_dirs():
            if os.path.isfile(os.path.join(base, rel)):
                with open(os.path.join(base, rel), encoding="utf-8") as handle:
                    return handle.read()
    raise RenderError("failed to read the manifest path %s: no such file or directory" % path)


def render_pg(doc, kdir):
    """Objects for one ACM PolicyGenerator document."""
    name = (doc.get("metadata") or {}).get("name")
    if not name:
        raise RenderError("metadata.name must be set")
    defaults = doc.get("policyDefaults") or {}
    namespace = defaults.get("namespace")
    if not namespace:
        raise RenderError("policyDefaults.namespace is empty but it must be set")
    objects = []
    placements, bindings, by_placement, cs_to_plc = {}, {}, {}, {}
    pbd_name = (doc.get("placementBindingDefaults") or {}).get("name")
    items = doc.get("policies") or []
    if not items:
        raise RenderError("policies is empty but it must be set")
    for item in items:
        pname = item.get("name")
        if not pname:
            raise RenderError("each policy must have a name set, but did not find a name at policy array index %d" % items.index(item))
        check_name_length(namespace, pname)
        opts = dict(defaults)
        opts.update({k: v for k, v in item.items() if k not in ("name", "manifests")})
        remediation = opts.get("remediationAction") or "inform"
        interval = {"compliant": "10m", "noncompliant": "10s"}
        interval.update(opts.get("evaluationInterval") or {})
        policy = _new_policy(pname, namespace, remediation, interval)
        cfg = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]
        cfg["severity"] = opts.get("severity") or "low"
        if opts.get("namespaceSelector"):
            cfg["namespaceSelector"] = copy.deepcopy(opts["namespaceSelector"])
        policy["metadata"]["annotations"].update({k: str(v) for k, v in (opts.get("policyAnnotations") or {}).items()})
        # plugin.go line 1444: the description annotation is always set (empty by default)
        policy["metadata"]["annotations"]["policy.open-cluster-management.io/description"] = str(opts.get("description") or "")
        if opts.get("policyLabels"):
            policy["metadata"]["labels"] = {k: str(v) for k, v in opts["policyLabels"].items()}
        for manifest in item.get("manifests") or []:
            if not manifest.get("path"):
                raise RenderError("each policy manifest entry must have path set, but did not find a path in the policy %s" % pname)
            crs = _load_docs(_read_manifest(kdir, manifest["path"]), manifest["path"])
            patches = manifest.get("patches") or []
            if patches and len(crs) > 1:
                raise RenderError("failed to process the manifest at %s: patches are only supported with one manifest" % manifest["path"])
            for cr in crs:
                for patch in patches:
                    cr = _strategic_merge(cr, patch)
                cfg["object-templates"].append({"complianceType": manifest.get("complianceType") or opts.get("complianceType") or "musthave",
                                                "objectDefinition": cr})
        objects.append(policy)
        # placement names as policy-generator-plugin internal/plugin.go getPlcName (release-2.15, lines 1624-1657):
        # the policy's placement name, else the default name (one per distinct selector, numbered from the second),
        # else "placement-<policy>"
        placement = opts.get("placement") or {}
        own = item.get("placement") or {}
        default_name = (defaults.get("placement") or {}).get("name")
        selector = placement.get("labelSelector") or placement.get("clusterSelectors") or {}
        if placement.get("placementName"):
            pl_name = placement["placementName"]
        elif own.get("name"):
            pl_name = own["name"]
        elif default_name:
            cs_key = json.dumps(selector, sort_keys=True, default=str)
            if cs_key not in cs_to_plc:
                cs_to_plc[cs_key] = default_name if not cs_to_plc else "%s%d" % (default_name, len(cs_to_plc) + 1)
            pl_name = cs_to_plc[cs_key]
        else:
            pl_name = "placement-" + pname
        if not placement.get("placementName") and pl_name not in placements:
            if isinstance(selector, dict) and "matchExpressions" not in selector and "matchLabels" not in selector:
                selector = {"matchExpressions": [
                    {"key": k, "operator": "Exists"} if str(v) == "" else {"key": k, "operator": "In", "values": [str(v)]}
                    for k, v in sorted(selector.items())]}
            placements[pl_name] = {
                "apiVersion": "cluster.open-cluster-management.io/v1beta1",
                "kind": "Placement",
                "metadata": {"name": pl_name, "namespace": namespace},
                "spec": {"predicates": [{"requiredClusterSelector": {"labelSelector": selector}}]},
            }
        by_placement.setdefault(pl_name, []).append(pname)
    # bindings as plugin.go lines 184-250: per placement (sorted), "binding-<policy>" for a single policy, else
    # placementBindingDefaults.name (numbered from the second)
    count = 0
    for pl_name in sorted(by_placement):
        names = by_placement[pl_name]
        if len(names) == 1:
            bname = "binding-" + names[0]
        elif not pbd_name:
            raise RenderError("placementBindingDefaults.name must be set but is empty (multiple policies or policy sets were "
                              "found for the PlacementBinding to placement %s)" % pl_name)
        else:
            count += 1
            bname = pbd_name if count == 1 else "%s%d" % (pbd_name, count)
        bindings[bname] = {
            "apiVersion": POLICY_API,
            "kind": "PlacementBinding",
            "metadata": {"name": bname, "namespace": namespace},
            "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": pl_name},
            "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": n} for n in names],
        }
    return objects + list(placements.values()) + list(bindings.values())


# --------------------------------------------------------------------------- kustomization

def _use_real():
    return generators.simulator_uses_real()


def _kustomization_folders(kdir, found):
    """Real paths of a kustomization folder and of the folders it lists, recursively."""
    real = os.path.realpath(kdir)
    if real in found:
        return found
    found.add(real)
    for candidate in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = os.path.join(kdir, candidate)
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    kust = yaml.safe_load(handle) or {}
            except (OSError, yaml.YAMLError):
                return found
            for field in ("generators", "resources"):
                for entry in (kust.get(field) if isinstance(kust, dict) else None) or []:
                    if os.path.isdir(os.path.join(kdir, str(entry))):
                        _kustomization_folders(os.path.join(kdir, str(entry)), found)
            break
    return found


def render_kustomization_real(kdir, seen=None):
    """``render_kustomization`` with the real tools: ``kustomize build --enable-alpha-plugins`` with the PolicyGenTemplate
    and ACM PolicyGenerator plugins laid out as in the ztp-site-generate container (source CRs from the folder's
    ``source-crs/`` first, then the container's 4.20 tree). RenderError carries kustomize's message."""
    seen = seen if seen is not None else set()
    if os.path.realpath(kdir) in seen:
        return []
    seen.update(_kustomization_folders(kdir, set()))
    try:
        run = generators.kustomize_raw(kdir)
    except generators.GeneratorUnavailable as exc:
        raise RenderError("the real generators are not built: %s" % exc) from exc
    if run.returncode != 0:
        message = run.stderr.strip() or "kustomize exited %d" % run.returncode
        raise RenderError(message[len("Error: "):] if message.startswith("Error: ") else message)
    return run.documents


def render_kustomization(kdir, seen=None):
    """All objects of a kustomization folder: generators rendered, resources loaded. With the real generators
    (``generators.simulator_uses_real()``, switch ``ZTP_SIMULATOR_GENERATORS``) kustomize and the real plugins
    render it (``render_kustomization_real``)."""
    if _use_real():
        return render_kustomization_real(kdir, seen)
    seen = seen if seen is not None else set()
    real = os.path.realpath(kdir)
    if real in seen:
        return []
    seen.add(real)
    kfile = None
    for candidate in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if os.path.isfile(os.path.join(kdir, candidate)):
            kfile = os.path.join(kdir, candidate)
            break
    if kfile is None:
        raise RenderError("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '%s'" % kdir)
    with open(kfile, encoding="utf-8") as handle:
        docs = _load_docs(handle.read(), os.path.basename(kfile))
    kust = docs[0] if docs else {}
    objects = []
    for entry in kust.get("generators") or []:
        path = os.path.join(kdir, entry)
        if os.path.isdir(path):
            objects.extend(render_kustomization(path, seen))
            continue
        if not os.path.isfile(path):
            raise RenderError("accumulating generators: %s: no such file or directory" % entry)
        with open(path, encoding="utf-8") as handle:
            gdocs = _load_docs(handle.read(), entry)
        for gdoc in gdocs:
            kind = gdoc.get("kind")
            try:
                if kind == "PolicyGenTemplate":
                    objects.extend(render_pgt(gdoc, kdir))
                elif kind == "PolicyGenerator":
                    objects.extend(render_pg(gdoc, kdir))
                else:
                    raise RenderError("unable to load generator plugin for %s %s" % (gdoc.get("apiVersion"), kind))
            except RenderError as exc:
                raise RenderError("%s: %s" % (entry, exc)) from exc
    for entry in kust.get("resources") or []:
        path = os.path.join(kdir, entry)
        if os.path.isdir(path):
            objects.extend(render_kustomization(path, seen))
            continue
        if not os.path.isfile(path):
            raise RenderError("accumulating resources: accumulation err='accumulating resources from '%s': "
                              "open %s: no such file or directory'" % (entry, path))
        with open(path, encoding="utf-8") as handle:
            for doc in _load_docs(handle.read(), entry):
                # kustomize unpacks a `kind: List` (and any *List) into its items
                if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
                    objects.extend(item for item in doc["items"] if isinstance(item, dict))
                elif isinstance(doc, dict):
                    objects.append(doc)
    return objects
