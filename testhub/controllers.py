"""The real siteconfig operator (stolostron/siteconfig) on the test hub, in place of the simulator's ClusterInstance rendering.

``testhub/build-controllers.sh`` builds it from its source in ``<shared>/controllers`` (``<shared>`` is
``$ZTP_SHARED_DIR`` or ``../shared`` beside the checkout) into ``$ZTP_CACHE/controllers`` (default
``~/.cache/ztp-sno-expand/controllers``); ``status.json`` there records the outcome of the last build.

The switch ``ZTP_SITECONFIG_OPERATOR`` (or ``Hub(siteconfig_operator=...)``, ``hubctl up --siteconfig-operator``):
``model`` (the default: the simulator renders ClusterInstances in Python), ``real`` (the operator must build and
run, else ``up`` fails with the build error) or ``auto`` (``real`` when the operator sources exist, else ``model``).

In ``real`` mode the hub (``Hub._ensure_siteconfig_operator``):
* installs what the operator needs before it starts: a minimal ``apiservers.config.openshift.io`` CRD and its object
  ``cluster`` (read by the operator's TLS profile watcher), and for each ClusterInstance of the GitOps seed its
  namespace, its ClusterImageSet, its pull Secret and the BMC Secrets of its nodes (what a hub administrator
  creates before a site is pushed; none of them is in Git);
* makes a self-signed serving certificate for 127.0.0.1 (``<run-dir>/siteconfig-webhook/``);
* starts ``manager`` with ``POD_NAMESPACE=open-cluster-management`` (where the ClusterInstances' templateRefs point),
  the webhook on 127.0.0.1 at port base + 6 and the health probe at port base + 7, and waits for both;
* registers the ValidatingWebhookConfiguration ``clusterinstances.siteconfig.open-cluster-management.io``
  (failurePolicy Fail, the operator's own marker in api/v1alpha1/clusterinstance_webhook.go) with the URL and the
  certificate as caBundle.
In ``model`` mode that webhook configuration is removed when present (a run folder used in real mode before), since
with failurePolicy Fail it would refuse every ClusterInstance write without the operator.
"""

from __future__ import annotations

import copy
import datetime
import glob
import hashlib
import ipaddress
import json
import os
import subprocess

import yaml
from kubernetes import client as k8s_client

from testhub import generators

HERE = os.path.dirname(os.path.abspath(__file__))
SWITCH = "ZTP_SITECONFIG_OPERATOR"
MODES = ("real", "model", "auto")
OPERATOR_NAMESPACE = "open-cluster-management"
WEBHOOK_NAME = "clusterinstances.siteconfig.open-cluster-management.io"
WEBHOOK_PATH = "/validate-siteconfig-open-cluster-management-io-v1alpha1-clusterinstance"
SEED_CLUSTERINSTANCES = os.path.join(HERE, "gitops-seed", "clusterinstance")
DEFAULT_TEMPLATES = ("ai-cluster-templates-v1", "ai-node-templates-v1")
PLACEHOLDER_RELEASE = "quay.io/openshift-release-dev/ocp-release:{version}.0-x86_64"

# What the operator's TLS profile watcher reads (github.com/openshift/controller-runtime-common pkg/tls): only the
# object `cluster` of config.openshift.io/v1 APIServer; an empty spec means the default (Intermediate) profile.
APISERVER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "apiservers.config.openshift.io"},
    "spec": {"group": "config.openshift.io", "scope": "Cluster",
             "names": {"kind": "APIServer", "listKind": "APIServerList", "plural": "apiservers", "singular": "apiserver"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


class OperatorUnavailable(RuntimeError):
    """The siteconfig operator is not built (the message carries the build error)."""


def sources_dir() -> str:
    return os.path.join(generators.shared_dir(), "controllers", "siteconfig-operator")


def sources_present() -> bool:
    """True when the operator sources exist: real mode then never falls back to the Python model."""
    return os.path.isdir(sources_dir())


def cache_dir() -> str:
    cache = os.environ.get("ZTP_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ztp-sno-expand")
    return os.path.join(cache, "controllers")


def status() -> dict:
    path = os.path.join(cache_dir(), "status.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def resolve_mode(switch: str, choice: str | None, present) -> str:
    """``real`` or ``model`` for a choice (None: the environment variable ``switch``, default ``model``); ``auto`` is
    ``real`` when ``present()`` (the sources exist)."""
    mode = (choice or os.environ.get(switch) or "model").strip().lower()
    if mode not in MODES:
        raise ValueError(f"{switch}={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "auto":
        return "real" if present() else "model"
    return mode


def resolve(choice: str | None = None) -> str:
    """``real`` or ``model`` for a choice (None: ``$ZTP_SITECONFIG_OPERATOR``, default ``model``)."""
    return resolve_mode(SWITCH, choice, sources_present)


def ensure_built(timeout: float = 3600) -> str:
    """Run testhub/build-controllers.sh (a no-op when the cache is current); the binary, or OperatorUnavailable."""
    proc = subprocess.run(["bash", os.path.join(HERE, "build-controllers.sh")], capture_output=True, text=True,
                          timeout=timeout, check=False)
    binary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not os.access(binary, os.X_OK):
        raise OperatorUnavailable(f"testhub/build-controllers.sh exited {proc.returncode}:\n{proc.stderr.strip()}")
    return binary


def ensure_cert(cert_dir: str) -> bytes:
    """``tls.crt``/``tls.key`` for 127.0.0.1 (self-signed, made once); returns the certificate (the caBundle)."""
    crt, key = os.path.join(cert_dir, "tls.crt"), os.path.join(cert_dir, "tls.key")
    if not (os.path.exists(crt) and os.path.exists(key)):
        os.makedirs(cert_dir, mode=0o700, exist_ok=True)
        try:
            cert_pem, key_pem = _self_signed_cryptography()
        except ImportError:
            cert_pem, key_pem = _self_signed_openssl(cert_dir)
        for path, data, mode in ((key, key_pem, 0o600), (crt, cert_pem, 0o644)):
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(path + ".tmp", path)
    with open(crt, "rb") as handle:
        return handle.read()


def _self_signed_cryptography() -> tuple[bytes, bytes]:
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "siteconfig-webhook")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _self_signed_openssl(cert_dir: str) -> tuple[bytes, bytes]:
    crt, key = os.path.join(cert_dir, "openssl.crt"), os.path.join(cert_dir, "openssl.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "3650", "-subj", "/CN=siteconfig-webhook",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    with open(crt, "rb") as c_handle, open(key, "rb") as k_handle:
        out = (c_handle.read(), k_handle.read())
    os.remove(crt)
    os.remove(key)
    return out


def argv(binary: str, cert_dir: str, webhook_port: int, health_port: int) -> list[str]:
    return [binary, "--health-probe-bind-address", f"127.0.0.1:{health_port}", "--metrics-bind-address", "0",
            "--clusterinstance-webhook-tls-cert-dir", cert_dir, "--webhook-host", "127.0.0.1",
            "--webhook-port", str(webhook_port), "--zap-devel=false", "--zap-log-level", "info"]


def seed_clusterinstances() -> list[dict]:
    docs = []
    for path in sorted(glob.glob(os.path.join(SEED_CLUSTERINSTANCES, "*.yaml"))):
        with open(path, encoding="utf-8") as handle:
            docs.extend(d for d in yaml.safe_load_all(handle) if isinstance(d, dict) and d.get("kind") == "ClusterInstance")
    return docs


def _create(create, body: dict) -> None:
    try:
        create(body)
    except k8s_client.ApiException as err:
        if err.status != 409:
            raise


def install_prerequisites(api: k8s_client.ApiClient) -> None:
    """The APIServer CRD and ``cluster`` object, then the namespaces, ClusterImageSets and Secrets of the seed's
    ClusterInstances (existing objects are kept)."""
    from testhub import crdset  # pylint: disable=import-outside-toplevel
    ext = k8s_client.ApiextensionsV1Api(api)
    _create(ext.create_custom_resource_definition, APISERVER_CRD)
    crdset.wait_ready(api, [APISERVER_CRD])
    custom = k8s_client.CustomObjectsApi(api)
    _create(lambda b: custom.create_cluster_custom_object("config.openshift.io", "v1", "apiservers", b),
            {"apiVersion": "config.openshift.io/v1", "kind": "APIServer", "metadata": {"name": "cluster"}, "spec": {}})
    for doc in seed_clusterinstances():
        ensure_site_objects(api, doc)


def ensure_site_objects(api: k8s_client.ApiClient, doc: dict) -> None:
    """What the operator validates before it renders one ClusterInstance (internal/controller/clusterinstance/
    validator.go validateResources): its ClusterImageSet, the pull Secret and every node's BMC Secret."""
    custom = k8s_client.CustomObjectsApi(api)
    core = k8s_client.CoreV1Api(api)
    spec = doc.get("spec") or {}
    namespace = doc["metadata"]["namespace"]
    _create(core.create_namespace, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    image_set = spec.get("clusterImageSetNameRef")
    if image_set:
        version = image_set.rsplit("-", 1)[-1]
        _create(lambda b: custom.create_cluster_custom_object("hive.openshift.io", "v1", "clusterimagesets", b),
                {"apiVersion": "hive.openshift.io/v1", "kind": "ClusterImageSet", "metadata": {"name": image_set},
                 "spec": {"releaseImage": PLACEHOLDER_RELEASE.format(version=version)}})
    pull = (spec.get("pullSecretRef") or {}).get("name")
    if pull:
        _create(lambda b: core.create_namespaced_secret(namespace, b),
                {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                 "metadata": {"name": pull, "namespace": namespace},
                 "stringData": {".dockerconfigjson": json.dumps({"auths": {}})}})
    for node in spec.get("nodes") or []:
        bmc = (node.get("bmcCredentialsName") or {}).get("name")
        if bmc:
            _create(lambda b: core.create_namespaced_secret(namespace, b),
                    {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": bmc, "namespace": namespace},
                     "stringData": {"username": "admin", "password": "test-hub-bmc"}})


def templates_ready(api: k8s_client.ApiClient) -> bool:
    """The operator created its default template ConfigMaps (it does so before it starts its controllers)."""
    core = k8s_client.CoreV1Api(api)
    names = {cm.metadata.name for cm in core.list_namespaced_config_map(OPERATOR_NAMESPACE).items}
    return all(name in names for name in DEFAULT_TEMPLATES)


def webhook_configuration(port: int, ca_pem: bytes) -> dict:
    import base64  # pylint: disable=import-outside-toplevel
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": WEBHOOK_NAME},
        "webhooks": [{
            "name": WEBHOOK_NAME,
            "clientConfig": {"url": f"https://127.0.0.1:{port}{WEBHOOK_PATH}", "caBundle": base64.b64encode(ca_pem).decode()},
            "rules": [{"apiGroups": ["siteconfig.open-cluster-management.io"], "apiVersions": ["v1alpha1"],
                       "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["clusterinstances"]}],
            "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"], "timeoutSeconds": 10,
        }],
    }


def register_webhook(api: k8s_client.ApiClient, port: int, ca_pem: bytes) -> None:
    adm = k8s_client.AdmissionregistrationV1Api(api)
    body = webhook_configuration(port, ca_pem)
    try:
        current = adm.read_validating_webhook_configuration(WEBHOOK_NAME)
    except k8s_client.ApiException as err:
        if err.status != 404:
            raise
        adm.create_validating_webhook_configuration(body)
        return
    body["metadata"]["resourceVersion"] = current.metadata.resource_version
    adm.replace_validating_webhook_configuration(WEBHOOK_NAME, body)


def remove_webhook(api: k8s_client.ApiClient) -> bool:
    """Delete the webhook configuration; True when there was one."""
    try:
        k8s_client.AdmissionregistrationV1Api(api).delete_validating_webhook_configuration(WEBHOOK_NAME)
    except k8s_client.ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


# --------------------------------------------------------------------------------------------------------------------
# The real TALM (openshift-kni/cluster-group-upgrades-operator), in place of the simulator's TALM model
# (testhub/simulator/talm.py).
#
# ``testhub/build-talm.sh`` builds it from ``<shared>/controllers/talm`` into ``$ZTP_CACHE/controllers/talm-<hash>``
# (``talm-status.json`` there records the last outcome). The switch ``ZTP_TALM`` (or ``Hub(talm=...)``, ``hubctl up
# --talm``): ``model`` (the default: the simulator reconciles ClusterGroupUpgrades), ``real`` (TALM must build and run,
# else ``up`` fails with the build error) or ``auto`` (``real`` when the TALM sources exist, else ``model``).
#
# In ``real`` mode the hub (``Hub._ensure_talm``) installs TALM's own CRDs (its config/crd/bases: ClusterGroupUpgrade,
# PreCachingConfig, ImageBasedGroupUpgrade; the hub's ClusterGroupUpgrade CRD is replaced by TALM's, which carries
# the defaults and status schema the controller relies on) and ManifestWork (open-cluster-management.io/api at the
# version TALM pins, from the Go module cache), starts ``manager --skip-tls-profile`` with its health probe at port
# base + 8, waits until its ClusterGroupUpgrade controller runs, and passes ``ZTP_TALM=real`` to the simulator, which
# then leaves ClusterGroupUpgrades alone. Policies, PlacementDecisions and compliance still come from the simulator
# (testhub/simulator/policies.py); TALM's timeouts are real minutes.
# --------------------------------------------------------------------------------------------------------------------

TALM_SWITCH = "ZTP_TALM"
TALM_CRD_FILES = ("ran.openshift.io_clustergroupupgrades.yaml", "ran.openshift.io_precachingconfigs.yaml",
                  "lcm.openshift.io_imagebasedgroupupgrades.yaml")
MANIFESTWORK_CRD = os.path.join("work", "v1", "0000_00_work.open-cluster-management.io_manifestworks.crd.yaml")
# ManagedClusterAction, from TALM's own ACM CRD copies: when a batch times out TALM deletes the cluster's views and
# actions before it records the cluster `timedout` (controllers/clustergroupupgrade_controller.go handleBatchTimeout,
# utils/multicloud_util.go DeleteMultiCloudObjects). Without the CRD that delete fails, the cluster's final state is
# never written, and a timed-out CGU names no cluster, which an ACM hub (where the CRD always exists) never shows.
TALM_ACM_CRD_FILES = ("action.open-cluster-management.io_managedclusteractions.yaml",)
# controller-runtime logs this (with "controller":"clustergroupupgrade") once the CGU controller's caches synced
TALM_WORKERS_LINE = "Starting workers"
TALM_CRD_MARK = "ztp-testhub/talm-crd"


class TalmUnavailable(RuntimeError):
    """TALM is not built (the message carries the build error) or its CRDs cannot be found."""


def talm_sources_dir() -> str:
    return os.path.join(generators.shared_dir(), "controllers", "talm")


def talm_sources_present() -> bool:
    return os.path.isdir(talm_sources_dir())


def talm_status() -> dict:
    try:
        with open(os.path.join(cache_dir(), "talm-status.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def talm_resolve(choice: str | None = None) -> str:
    """``real`` or ``model`` for a choice (None: ``$ZTP_TALM``, default ``model``)."""
    return resolve_mode(TALM_SWITCH, choice, talm_sources_present)


def ensure_talm_built(timeout: float = 3600) -> str:
    """Run testhub/build-talm.sh (a no-op when the cache is current); the binary, or TalmUnavailable."""
    proc = subprocess.run(["bash", os.path.join(HERE, "build-talm.sh")], capture_output=True, text=True,
                          timeout=timeout, check=False)
    binary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not os.access(binary, os.X_OK):
        raise TalmUnavailable(f"testhub/build-talm.sh exited {proc.returncode}:\n{proc.stderr.strip()}")
    return binary


def talm_crds(binary: str) -> list[dict]:
    """TALM's own CRDs and ManifestWork (from the open-cluster-management.io/api module the build recorded)."""
    paths = [os.path.join(talm_sources_dir(), "config", "crd", "bases", name) for name in TALM_CRD_FILES]
    paths += [os.path.join(talm_sources_dir(), "deploy", "acm", "crds", name) for name in TALM_ACM_CRD_FILES]
    try:
        with open(os.path.join(os.path.dirname(binary), ".ocm-api"), encoding="utf-8") as handle:
            ocm_api = handle.read().strip()
    except OSError as err:
        raise TalmUnavailable(f"the TALM build did not record the open-cluster-management.io/api module: {err}") from err
    paths.append(os.path.join(ocm_api, MANIFESTWORK_CRD))
    try:
        return load_marked_crds(paths, TALM_CRD_MARK)
    except FileNotFoundError as err:
        raise TalmUnavailable(str(err)) from err


def load_marked_crds(paths: list[str], mark: str) -> list[dict]:
    """The CRDs of the files, each annotated ``mark``: the sha256 of the CRD as read (FileNotFoundError names a
    missing file)."""
    crds = []
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"CRD file {path} not found")
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    doc.pop("status", None)
                    meta = doc.setdefault("metadata", {})
                    meta.pop("creationTimestamp", None)
                    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
                    meta.setdefault("annotations", {})[mark] = digest
                    crds.append(doc)
    return crds


def install_talm_crds(api: k8s_client.ApiClient, crds: list[dict]) -> None:
    """TALM's CRDs (the hub's own, shorter ClusterGroupUpgrade CRD is replaced)."""
    install_marked_crds(api, crds, TALM_CRD_MARK)


def install_marked_crds(api: k8s_client.ApiClient, crds: list[dict], mark: str) -> None:
    """Create the CRDs, or replace an existing one that is not this very file (annotation ``mark``, the sha256 of the
    CRD as read, see ``load_marked_crds``); return once they are established."""
    from testhub import crdset  # pylint: disable=import-outside-toplevel
    ext = k8s_client.ApiextensionsV1Api(api)
    for crd in crds:
        name = crd["metadata"]["name"]
        try:
            ext.create_custom_resource_definition(body=crd)
            continue
        except k8s_client.ApiException as err:
            if err.status != 409:
                raise
        current = ext.read_custom_resource_definition(name)
        if (current.metadata.annotations or {}).get(mark) != crd["metadata"]["annotations"][mark]:
            body = copy.deepcopy(crd)
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            ext.replace_custom_resource_definition(name, body)
    crdset.wait_ready(api, crds)


def talm_argv(binary: str, health_port: int) -> list[str]:
    """TALM's own flags for vanilla Kubernetes (no OpenShift APIServer TLS profile), no metrics, one instance."""
    return [binary, "--skip-tls-profile", "--health-probe-bind-address", f"127.0.0.1:{health_port}",
            "--metrics-bind-address", "0", "--leader-elect=false", "--zap-devel=false", "--zap-log-level", "info"]


def talm_started(log: str) -> bool:
    """TALM's ClusterGroupUpgrade controller has synced its caches and runs its workers (read from its log, after the
    hub's last ``==== ... starting`` line: the log is appended to across starts)."""
    started = False
    try:
        with open(log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("==== "):
                    started = False
                elif TALM_WORKERS_LINE in line and '"clustergroupupgrade"' in line:
                    started = True
    except OSError:
        return False
    return started
