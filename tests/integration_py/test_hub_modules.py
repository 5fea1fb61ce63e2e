# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hub modules against a real kube-apiserver (with etcd) loaded with the upstream CRDs.

The test plays the controllers (TALM, metal3, assisted-service, the ACM cluster-info and view agents) by
writing object statuses through the ``/status`` subresources. The modules run as Ansible runs them: a
separate Python process with a JSON arguments file. Needs the kube-apiserver and etcd binaries
(``testhub/build.sh``); skipped without them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

yaml = pytest.importorskip("yaml")
kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s_client, config as k8s_config  # noqa: E402
from kubernetes.dynamic import DynamicClient  # noqa: E402
from kubernetes.dynamic.exceptions import NotFoundError  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ZTP_TESTHUB_BIN", os.path.expanduser("~/.cache/ztp-sno-expand/testhub/bin"))
PORT_BASE = int(os.environ.get("ZTP_HUBMODS_PORT_BASE", "20440"))


def _crd_dir():
    for cand in (os.environ.get("ZTP_CRDS_DIR"), os.path.join(REPO, "testhub", "crds"),
                 os.path.join(os.path.dirname(REPO), "shared", "ztp-reference", "crds")):
        if cand and os.path.isfile(os.path.join(cand, "ran.openshift.io_clustergroupupgrades.yaml")):
            return cand
    return None


CRD_FILES = [
    "ran.openshift.io_clustergroupupgrades.yaml",
    "view.open-cluster-management.io_managedclusterviews.yaml",
    "metal3.io_baremetalhosts.yaml",
    "metal3.io_preprovisioningimages.yaml",
    "agent-install.openshift.io_agents.yaml",
    "internal.open-cluster-management.io_managedclusterinfos.yaml",
    "ptp.openshift.io_ptpoperatorconfigs.yaml",
    "policy.open-cluster-management.io_policies.yaml",
]

PKI_SCRIPT = r"""
set -euo pipefail
cd "$1"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout ca.key -out ca.crt -subj "/CN=hubmods-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
  'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost' > apiserver.ext
openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile apiserver.ext \
  -out apiserver.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=hubmods-admin" 2>/dev/null
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
  'extendedKeyUsage=clientAuth' > client.ext
openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile client.ext \
  -out admin.crt 2>/dev/null
openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
"""


class ApiServer(object):
    """etcd + one kube-apiserver on loopback; ``restart()`` stops and starts the apiserver process."""

    def __init__(self, run_dir, port_base):
        self.run = run_dir
        self.etcd_port, self.peer_port, self.port = port_base, port_base + 1, port_base + 3
        self.pki = os.path.join(run_dir, "pki")
        self.kubeconfig = os.path.join(run_dir, "hub.kubeconfig")
        self.procs = {}

    def start(self):
        os.makedirs(self.pki)
        subprocess.check_call(["bash", "-c", PKI_SCRIPT, "pki", self.pki])
        self._write_kubeconfig()
        self.procs["etcd"] = self._spawn("etcd", [
            os.path.join(BIN, "etcd"), "--name", "hubmods", "--data-dir", os.path.join(self.run, "etcd"),
            "--listen-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
            "--advertise-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
            "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer_port,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer_port,
            "--initial-cluster", "hubmods=http://127.0.0.1:%d" % self.peer_port,
            "--initial-cluster-state", "new", "--unsafe-no-fsync", "--log-level", "warn"])
        self.start_apiserver()

    def _spawn(self, name, argv):
        log = open(os.path.join(self.run, "%s.log" % name), "ab")
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_apiserver(self):
        p = self.pki
        self.procs["apiserver"] = self._spawn("apiserver", [
            os.path.join(BIN, "kube-apiserver"), "--etcd-servers=http://127.0.0.1:%d" % self.etcd_port,
            "--etcd-prefix=/registry-hubmods", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            "--secure-port=%d" % self.port, "--cert-dir=%s" % os.path.join(self.run, "certs"),
            "--tls-cert-file=%s/apiserver.crt" % p, "--tls-private-key-file=%s/apiserver.key" % p,
            "--client-ca-file=%s/ca.crt" % p, "--authorization-mode=RBAC",
            "--service-account-issuer=https://127.0.0.1:%d" % self.port,
            "--service-account-key-file=%s/sa.pub" % p, "--service-account-signing-key-file=%s/sa.key" % p,
            "--service-cluster-ip-range=10.0.0.0/24", "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none", "--allow-privileged=true", "--profiling=false", "--v=0"])
        self.wait_ready()

    def stop_apiserver(self, sig=signal.SIGKILL):
        proc = self.procs.pop("apiserver", None)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(60)

    def restart(self):
        self.stop_apiserver()
        time.sleep(2)
        self.start_apiserver()

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                api = k8s_config.new_client_from_config(config_file=self.kubeconfig)
                k8s_client.CoreV1Api(api).read_namespace("default")
                return
            except Exception:  # pylint: disable=broad-except
                time.sleep(0.5)
        raise RuntimeError("apiserver not ready; see %s" % os.path.join(self.run, "apiserver.log"))

    def _write_kubeconfig(self):
        def b64(name):
            with open(os.path.join(self.pki, name), "rb") as f:
                return base64.b64encode(f.read()).decode()
        cfg = {"apiVersion": "v1", "kind": "Config",
               "clusters": [{"name": "hub", "cluster": {"server": "https://127.0.0.1:%d" % self.port,
                                                        "certificate-authority-data": b64("ca.crt")}}],
               "users": [{"name": "hub-admin", "user": {"client-certificate-data": b64("admin.crt"),
                                                        "client-key-data": b64("admin.key")}}],
               "contexts": [{"name": "hub", "context": {"cluster": "hub", "user": "hub-admin"}}],
               "current-context": "hub"}
        with open(self.kubeconfig, "w") as f:
            json.dump(cfg, f)

    def stop(self):
        for name in ("apiserver", "etcd"):
            proc = self.procs.pop(name, None)
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def install_crds(kubeconfig, crd_dir, timeout=90):
    api = k8s_config.new_client_from_config(config_file=kubeconfig)
    ext = k8s_client.ApiextensionsV1Api(api)
    crds = []
    for name in CRD_FILES:
        with open(os.path.join(crd_dir, name)) as f:
            crd = yaml.safe_load(f)
        crd.pop("status", None)
        crd["spec"].pop("conversion", None)
        crds.append(crd)
        try:
            ext.create_custom_resource_definition(body=crd)
        except k8s_client.ApiException as exc:
            if exc.status != 409:
                raise
    dyn = DynamicClient(api)
    deadline = time.time() + timeout
    for crd in crds:
        group = crd["spec"]["group"]
        version = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")][0]
        while True:
            try:
                dyn.resources.invalidate_cache() if hasattr(dyn.resources, "invalidate_cache") else None
                dyn.resources.get(api_version="%s/%s" % (group, version), kind=crd["spec"]["names"]["kind"])
                break
            except Exception:  # pylint: disable=broad-except
                if time.time() > deadline:
                    raise
                time.sleep(0.3)


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    if not (os.access(os.path.join(BIN, "kube-apiserver"), os.X_OK) and os.access(os.path.join(BIN, "etcd"), os.X_OK)):
        pytest.skip("kube-apiserver/etcd binaries not built (testhub/build.sh)")
    crd_dir = _crd_dir()
    if crd_dir is None:
        pytest.skip("CRDs not found")
    run = tempfile.mkdtemp(prefix="hubmods-")
    server = ApiServer(run, PORT_BASE)
    try:
        server.start()
        install_crds(server.kubeconfig, crd_dir)
        server.tmpdir = os.path.join(run, "tmp")
        os.makedirs(server.tmpdir)
        yield server
    finally:
        server.stop()
        shutil.rmtree(run, ignore_errors=True)


class Kube(object):
    """Test-side client: create objects and write their status like a controller would."""

    def __init__(self, kubeconfig):
        self.dyn = DynamicClient(k8s_config.new_client_from_config(config_file=kubeconfig))

    def res(self, api_version, kind):
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def namespace(self, name=None):
        name = name or "t-%s" % uuid.uuid4().hex[:8]
        self.res("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def create(self, obj):
        return self.res(obj["apiVersion"], obj["kind"]).create(body=obj, namespace=obj["metadata"].get("namespace")).to_dict()

    def get(self, api_version, kind, name, namespace):
        try:
            return self.res(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def list(self, api_version, kind, namespace=None):
        return self.res(api_version, kind).get(namespace=namespace).to_dict()["items"]

    def set_status(self, api_version, kind, name, namespace, status, retries=60):
        res = self.res(api_version, kind).subresources["status"]
        for dummy in range(retries):
            try:
                return res.patch(body={"status": status}, name=name, namespace=namespace,
                                 content_type="application/merge-patch+json").to_dict()
            except Exception:  # pylint: disable=broad-except  # e.g. the apiserver is restarting
                time.sleep(0.5)
        raise RuntimeError("cannot write status of %s %s/%s" % (kind, namespace, name))


@pytest.fixture
def kube(hub):
    return Kube(hub.kubeconfig)


def run_module(hub, name, args, check=False, diff=False, background=False):
    """Run a module as Ansible does (own process, JSON args file); returns its result dict (or the Popen)."""
    payload = dict(args)
    if check:
        payload["_ansible_check_mode"] = True
    if diff:
        payload["_ansible_diff"] = True
    fd, path = tempfile.mkstemp(suffix=".json", dir=hub.tmpdir)
    with os.fdopen(fd, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, f)
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=hub.kubeconfig, TMPDIR=hub.tmpdir,
               PYTHONPATH=os.pathsep.join([os.path.join(REPO, ".collections")] + sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.ztp.sno_expand.plugins.modules.%s" % name, path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if background:
        return proc
    return finish(proc)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    try:
        return json.loads(out.decode())
    except ValueError:
        raise AssertionError("module output is not JSON: %s\n%s" % (out.decode()[-3000:], err.decode()[-3000:]))


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting for %s" % what)


def cond(ctype, status, reason, message=""):
    return {"type": ctype, "status": status, "reason": reason, "message": message or reason,
            "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


# --------------------------------------------------------------------------------------------- policies

POLICY = ("policy.open-cluster-management.io/v1", "Policy")


def _policy(kube, name, ns, states, labels=None):
    kube.create({"apiVersion": POLICY[0], "kind": POLICY[1],
                 "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
                 "spec": {"disabled": False, "remediationAction": "inform", "policy-templates": [
                     {"objectDefinition": {"apiVersion": "policy.open-cluster-management.io/v1",
                                           "kind": "ConfigurationPolicy", "metadata": {"name": name},
                                           "spec": {"object-templates": [{"complianceType": "musthave",
                                                                          "objectDefinition": {"kind": "Big",
                                                                                               "data": "x" * 2000}}]}}}]}})
    # the propagator's status: per cluster, and NonCompliant overall when one is
    overall = "NonCompliant" if "NonCompliant" in states.values() else "Compliant"
    kube.set_status(POLICY[0], POLICY[1], name, ns, {"compliant": overall, "status": [
        dict({"clustername": c, "clusternamespace": c}, **({"compliant": s} if s else {})) for c, s in states.items()]})


def test_policy_compliance_info_reads_root_policies_per_cluster(hub, kube):
    ns, spoke_ns = kube.namespace(), kube.namespace()
    _policy(kube, "w-config-policy", ns, {"sno-a": "Compliant", "sno-b": "NonCompliant", "sno-c": None})
    _policy(kube, "w-extra-policy", ns, {"sno-a": "Compliant"})
    # a replicated copy in a cluster namespace is not a root policy
    _policy(kube, "%s.w-config-policy" % ns, spoke_ns, {"sno-a": "NonCompliant"},
            labels={"policy.open-cluster-management.io/root-policy": "%s.w-config-policy" % ns})

    res = run_module(hub, "ztp_policy_compliance_info", {"namespaces": [ns]})
    assert not res.get("failed") and res["changed"] is False, res
    assert res["compliance"] == {"sno-a": {"w-config-policy": "Compliant", "w-extra-policy": "Compliant"},
                                 "sno-b": {"w-config-policy": "NonCompliant"}, "sno-c": {"w-config-policy": "Pending"}}
    by_name = dict((p["name"], p) for p in res["policies"])
    assert by_name["w-config-policy"]["compliant"] == "NonCompliant" and by_name["w-config-policy"]["namespace"] == ns
    # names and compliance only: the templates stay on the hub
    assert "policy-templates" not in json.dumps(res)

    some = run_module(hub, "ztp_policy_compliance_info", {"namespaces": [ns], "names": ["w-config-policy", "absent"],
                                                          "clusters": ["sno-b"]}, check=True)
    assert some["compliance"] == {"sno-b": {"w-config-policy": "NonCompliant"}} and some["missing"] == ["absent"], some
    assert [p["clusters"] for p in some["policies"]] == [{"sno-b": "NonCompliant"}]

    every = run_module(hub, "ztp_policy_compliance_info", {})
    names = set(p["name"] for p in every["policies"])
    assert {"w-config-policy", "w-extra-policy"} <= names and "%s.w-config-policy" % ns not in names, names

    bad = run_module(hub, "ztp_policy_compliance_info", {"namespaces": [ns, ""]})
    assert bad["failed"] and "namespaces" in bad["msg"] and "namespace names" in bad["msg"], bad


# --------------------------------------------------------------------------------------------- CGU

CGU = ("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade")


def cgu_args(name, ns, **extra):
    args = dict(name=name, namespace=ns, clusters=["sno-a"], managed_policies=["sno-a-workers-config-policy"])
    args.update(extra)
    return args


def test_cgu_create_idempotent_check_and_diff(hub, kube):
    ns = kube.namespace()
    res = run_module(hub, "ztp_cgu", cgu_args("c1", ns), check=True, diff=True)
    assert res["changed"] is True and not res.get("failed"), res
    assert kube.get(*CGU, name="c1", namespace=ns) is None
    assert res["diff"]["after"]["spec"]["managedPolicies"] == ["sno-a-workers-config-policy"]

    res = run_module(hub, "ztp_cgu", cgu_args("c1", ns))
    assert res["changed"] is True, res
    obj = kube.get(*CGU, name="c1", namespace=ns)
    assert obj["spec"]["remediationStrategy"] == {"maxConcurrency": 1, "timeout": 240}
    assert obj["spec"]["enable"] is True

    res = run_module(hub, "ztp_cgu", cgu_args("c1", ns))
    assert res["changed"] is False, res

    # not started yet: a changed spec is patched
    res = run_module(hub, "ztp_cgu", cgu_args("c1", ns, max_concurrency=2), diff=True)
    assert res["changed"] is True
    assert kube.get(*CGU, name="c1", namespace=ns)["spec"]["remediationStrategy"]["maxConcurrency"] == 2

    res = run_module(hub, "ztp_cgu", dict(name="c1", namespace=ns, state="absent"), check=True)
    assert res["changed"] is True and kube.get(*CGU, name="c1", namespace=ns) is not None
    res = run_module(hub, "ztp_cgu", dict(name="c1", namespace=ns, state="absent", wait=True))
    assert res["changed"] is True and kube.get(*CGU, name="c1", namespace=ns) is None
    res = run_module(hub, "ztp_cgu", dict(name="c1", namespace=ns, state="absent"))
    assert res["changed"] is False


def _talm(kube, name, ns, steps, delay=0.4):
    """Play TALM: write the given statuses one after the other."""
    for status in steps:
        time.sleep(delay)
        kube.set_status(*CGU, name=name, namespace=ns, status=status)


def _started(policy_index=0, state="InProgress"):
    return {"status": {"startedAt": "2024-01-01T00:00:00Z", "currentBatch": 1,
                       "currentBatchRemediationProgress": {"sno-a": {"state": state, "policyIndex": policy_index}}}}


def test_cgu_wait_success_reports_progress(hub, kube):
    ns = kube.namespace()
    args = cgu_args("c2", ns, managed_policies=["p1", "p2"], wait=True, wait_timeout=60)
    proc = run_module(hub, "ztp_cgu", args, background=True)
    wait_for(lambda: kube.get(*CGU, name="c2", namespace=ns), what="CGU created")
    base = [cond("ClustersSelected", "True", "ClusterSelectionCompleted"), cond("Validated", "True", "ValidationCompleted")]
    policies = {"managedPoliciesForUpgrade": [{"name": "p1", "namespace": "ztp-site"}, {"name": "p2", "namespace": "ztp-site"}],
                "remediationPlan": [["sno-a"]]}
    s1 = dict(policies, conditions=base + [cond("Progressing", "True", "InProgress")], **_started(0))
    s2 = dict(policies, conditions=base + [cond("Progressing", "True", "InProgress")], **_started(1))
    s3 = dict(policies, conditions=base + [cond("Progressing", "False", "Completed"), cond("Succeeded", "True", "Completed")],
              clusters=[{"name": "sno-a", "state": "complete"}],
              status={"startedAt": "2024-01-01T00:00:00Z", "completedAt": "2024-01-01T00:10:00Z"})
    _talm(kube, "c2", ns, [s1, s2, s3], delay=1.0)
    res = finish(proc)
    assert not res.get("failed"), res
    assert res["succeeded"] is True and res["state"] == "Completed"
    assert res["clusters"] == {"sno-a": {"state": "complete", "policy": None}}
    seen = [(e["cluster"], e["policy"], e["state"]) for e in res["progress"]]
    assert ("sno-a", "p1", "InProgress") in seen and ("sno-a", "p2", "InProgress") in seen
    assert ("sno-a", None, "complete") in seen

    # finished, same spec: no change, outcome reported
    res = run_module(hub, "ztp_cgu", args)
    assert res["changed"] is False and res["succeeded"] is True, res
    # finished, other spec: error unless recreate
    res = run_module(hub, "ztp_cgu", dict(args, managed_policies=["p1"], wait=False))
    assert res["failed"] and "recreate" in res["msg"], res
    res = run_module(hub, "ztp_cgu", dict(args, managed_policies=["p1"], wait=False, recreate=True))
    assert res["changed"] is True and not res.get("failed"), res
    assert kube.get(*CGU, name="c2", namespace=ns)["spec"]["managedPolicies"] == ["p1"]
    assert "status" not in kube.get(*CGU, name="c2", namespace=ns)


def test_cgu_wait_timeout(hub, kube):
    ns = kube.namespace()
    proc = run_module(hub, "ztp_cgu", cgu_args("c3", ns, managed_policies=["p1", "p2"], wait=True, wait_timeout=60),
                      background=True)
    wait_for(lambda: kube.get(*CGU, name="c3", namespace=ns), what="CGU created")
    status = {"managedPoliciesForUpgrade": [{"name": "p1", "namespace": "ztp-site"}, {"name": "p2", "namespace": "ztp-site"}],
              "conditions": [cond("Progressing", "False", "TimedOut", "Policy remediation took too long"),
                             cond("Succeeded", "False", "TimedOut", "Policy remediation took too long")],
              "clusters": [{"name": "sno-a", "state": "timedout", "currentPolicy": {"name": "p2", "status": "NonCompliant"}}]}
    _talm(kube, "c3", ns, [status], delay=1.0)
    res = finish(proc)
    assert res["failed"] and res["succeeded"] is False
    assert "TimedOut" in res["msg"] and "sno-a (timedout, policy p2)" in res["msg"], res["msg"]


def test_cgu_parts_chain_and_each_cluster_judged_by_its_own_part(hub, kube):
    """parts: one CGU per part, each naming its own clusters' policies, each blocked by the one before it in TALM's
    partial completion mode; the wait follows them in turn and the result gathers them."""
    ns = kube.namespace()
    args = dict(namespace=ns, wait=True, wait_timeout=60, max_concurrency=1,
                changed_policies=["sno-a-workers-config-policy", "sno-b-workers-config-policy"],
                parts=[dict(name="pa", clusters=["sno-a"], managed_policies=["group-p", "sno-a-workers-config-policy"]),
                       dict(name="pb", clusters=["sno-b"], managed_policies=["group-p", "sno-b-workers-config-policy"])])
    res = run_module(hub, "ztp_cgu", dict(args, wait=False), check=True)
    assert res["changed"] and not res.get("failed") and kube.get(*CGU, name="pa", namespace=ns) is None, res
    proc = run_module(hub, "ztp_cgu", args, background=True)
    wait_for(lambda: kube.get(*CGU, name="pb", namespace=ns), what="both parts created")
    pa, pb = kube.get(*CGU, name="pa", namespace=ns), kube.get(*CGU, name="pb", namespace=ns)
    assert pa["spec"]["managedPolicies"] == ["group-p", "sno-a-workers-config-policy"] and pa["spec"]["clusters"] == ["sno-a"]
    assert "blockingCRs" not in pa["spec"] and "annotations" not in pa["metadata"]
    assert pb["spec"]["blockingCRs"] == [{"name": "pa", "namespace": ns}]
    assert pb["metadata"]["annotations"] == {"ran.openshift.io/blocking-cgu-completion-mode": "partial"}
    timed_out = {"conditions": [cond("Progressing", "False", "TimedOut", "Policy remediation took too long"),
                                cond("Succeeded", "False", "TimedOut", "Policy remediation took too long")],
                 "clusters": [{"name": "sno-a", "state": "timedout",
                               "currentPolicy": {"name": "sno-a-workers-config-policy", "status": "NonCompliant"}}]}
    _talm(kube, "pa", ns, [timed_out], delay=1.0)
    done = {"conditions": [cond("Progressing", "False", "Completed"), cond("Succeeded", "True", "Completed")],
            "clusters": [{"name": "sno-b", "state": "complete"}],
            "managedPoliciesForUpgrade": [{"name": "sno-b-workers-config-policy", "namespace": "ztp-site"}]}
    _talm(kube, "pb", ns, [done], delay=1.0)
    res = finish(proc)
    assert res["failed"] and res["succeeded"] is False, res
    assert res["cgu_of"] == {"sno-a": "pa", "sno-b": "pb"}
    assert res["cgus"]["pa"]["failed"] and "sno-a (timedout, policy sno-a-workers-config-policy)" in res["msg"], res["msg"]
    assert res["cgus"]["pb"]["succeeded"] and not res["cgus"]["pb"].get("failed")
    assert res["clusters"] == {"sno-a": {"state": "timedout", "policy": "sno-a-workers-config-policy"},
                               "sno-b": {"state": "complete", "policy": None}}
    assert {e.get("cgu") for e in res["progress"]} == {"pa", "pb"}

    res = run_module(hub, "ztp_cgu", dict(args, parts=[dict(args["parts"][0], name="pb")]))
    assert res["failed"], res  # each part needs its own name
    res = run_module(hub, "ztp_cgu", dict(namespace=ns, clusters=["sno-a"], managed_policies=["p1"]))
    assert res["failed"] and "name" in res["msg"], res


def test_cgu_missing_policy(hub, kube):
    ns = kube.namespace()
    proc = run_module(hub, "ztp_cgu", cgu_args("c4", ns, managed_policies=["sno-a-worker-config-policy"], wait=True,
                                               wait_timeout=60), background=True)
    wait_for(lambda: kube.get(*CGU, name="c4", namespace=ns), what="CGU created")
    status = {"conditions": [cond("ClustersSelected", "True", "ClusterSelectionCompleted"),
                             cond("Validated", "False", "NotAllManagedPoliciesExist",
                                  "Missing managed policies: [sno-a-worker-config-policy]")]}
    _talm(kube, "c4", ns, [status], delay=1.0)
    res = finish(proc)
    assert res["failed"], res
    assert "NotAllManagedPoliciesExist" in res["msg"] and "sno-a-worker-config-policy" in res["msg"]
    assert "<policyName>" in res["msg"]


def test_cgu_waits_out_a_missing_blocking_cgu_and_a_missing_cluster(hub, kube):
    """TALM looks again for a missing blocking CGU every minute and selects the clusters again every 5 minutes
    (clustergroupupgrade_controller.go requeueWithMediumInterval / requeueWithLongInterval): both are waits."""
    ns = kube.namespace()
    args = cgu_args("c6", ns, managed_policies=["p1"], wait=True, wait_timeout=60,
                    blocking_crs=[{"name": "c6-first", "namespace": ns}])
    proc = run_module(hub, "ztp_cgu", args, background=True)
    wait_for(lambda: kube.get(*CGU, name="c6", namespace=ns), what="CGU created")
    policies = {"managedPoliciesForUpgrade": [{"name": "p1", "namespace": "ztp-site"}], "remediationPlan": [["sno-a"]]}
    base = [cond("ClustersSelected", "True", "ClusterSelectionCompleted"), cond("Validated", "True", "ValidationCompleted")]
    not_found = {"conditions": [cond("ClustersSelected", "False", "ClusterNotFound",
                                     "Unable to select clusters: cluster sno-a is not a ManagedCluster")]}
    missing = dict(policies, conditions=base + [cond("Progressing", "False", "MissingBlockingCR",
                                                     "Missing blocking CRs: [c6-first]")])
    incomplete = dict(policies, conditions=base + [cond("Progressing", "False", "IncompleteBlockingCR",
                                                        "Blocking CRs that are not completed: [c6-first]")])
    done = dict(policies, conditions=base + [cond("Progressing", "False", "Completed"), cond("Succeeded", "True", "Completed")],
                clusters=[{"name": "sno-a", "state": "complete"}])
    _talm(kube, "c6", ns, [not_found, missing, incomplete, done], delay=1.5)
    res = finish(proc)
    assert not res.get("failed"), res
    assert res["succeeded"] is True
    messages = [e.get("message") for e in res["progress"] if e["cluster"] is None]
    assert "Unable to select clusters: cluster sno-a is not a ManagedCluster" in messages, res["progress"]
    assert "Missing blocking CRs: [c6-first]" in messages, res["progress"]

    # still missing at the end of the wait: the timeout names the blocking CGU
    proc = run_module(hub, "ztp_cgu", dict(args, name="c7", wait_timeout=5), background=True)
    wait_for(lambda: kube.get(*CGU, name="c7", namespace=ns), what="CGU created")
    _talm(kube, "c7", ns, [missing], delay=0.5)
    res = finish(proc)
    assert res["failed"] and "timed out after 5 s" in res["msg"], res
    assert "MissingBlockingCR: Missing blocking CRs: [c6-first]" in res["msg"], res["msg"]


def test_cgu_enable_false_with_wait_rejected(hub, kube):
    res = run_module(hub, "ztp_cgu", cgu_args("c5", "default", enable=False, wait=True))
    assert res["failed"] and "enable: false" in res["msg"]


# ------------------------------------------------------------------------------ daemon selectors

VIEW = ("view.open-cluster-management.io/v1beta1", "ManagedClusterView")


def _play_view_agent(kube, answers, timeout=60):
    """Answer every view of the given clusters like the ACM view agent: result or GetResourceFailed."""
    done = set()
    deadline = time.time() + timeout
    while time.time() < deadline and len(done) < sum(len(v) for v in answers.values()):
        for cluster, per_kind in answers.items():
            for view in kube.list(*VIEW, namespace=cluster):
                name = view["metadata"]["name"]
                kind = view["spec"]["scope"]["kind"]
                if (cluster, name) in done or kind not in per_kind:
                    continue
                obj = per_kind[kind]
                if obj is None:
                    status = {"conditions": [cond("Processing", "False", "GetResourceFailed",
                                                  "failed to get resource with err: %s.x \"default\" not found" % kind.lower())]}
                else:
                    status = {"conditions": [cond("Processing", "True", "GetResourceProcessing",
                                                  "Watching resources successfully")], "result": obj}
                kube.set_status(*VIEW, name=name, namespace=cluster, status=status)
                done.add((cluster, name))
        time.sleep(0.3)


def test_daemon_selectors_through_views(hub, kube):
    a, b = kube.namespace(), kube.namespace()
    ptp_master = {"apiVersion": "ptp.openshift.io/v1", "kind": "PtpOperatorConfig",
                  "metadata": {"name": "default", "namespace": "openshift-ptp"},
                  "spec": {"daemonNodeSelector": {"node-role.kubernetes.io/master": ""}}}
    sriov_worker = {"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovOperatorConfig",
                    "metadata": {"name": "default", "namespace": "openshift-sriov-network-operator"},
                    "spec": {"configDaemonNodeSelector": {"node-role.kubernetes.io/worker": ""}}}
    proc = run_module(hub, "ztp_daemon_selectors_info", dict(clusters=[a, b], timeout=60), check=True, background=True)
    _play_view_agent(kube, {a: {"PtpOperatorConfig": ptp_master, "SriovOperatorConfig": sriov_worker},
                            b: {"PtpOperatorConfig": None, "SriovOperatorConfig": None}})
    res = finish(proc)
    assert not res.get("failed"), res
    assert res["changed"] is False
    ra, rb = res["clusters"][a], res["clusters"][b]
    assert ra["ptp"] == {"selector": {"node-role.kubernetes.io/master": ""}, "pinned_to_master": True, "found": True}
    assert ra["needs_override"] == {"ptp": True, "sriov": False}
    assert rb["ptp"]["found"] is False and rb["needs_override"] == {"ptp": False, "sriov": False}
    # the temporary views are gone
    assert kube.list(*VIEW, namespace=a) == [] and kube.list(*VIEW, namespace=b) == []


def test_daemon_selectors_unanswered_view_fails(hub, kube):
    a = kube.namespace()
    res = run_module(hub, "ztp_daemon_selectors_info", dict(clusters=[a], timeout=3, keep_views=True))
    assert res["failed"] and a in res["errors"] and "no answer" in res["errors"][a]
    assert len(kube.list(*VIEW, namespace=a)) == 2


def test_daemon_selectors_from_spoke(hub, kube):
    # the same API server plays the spoke: PTP CRD installed, SR-IOV CRD not (operator not installed)
    if kube.get("v1", "Namespace", "openshift-ptp", None) is None:
        kube.namespace("openshift-ptp")
    if kube.get("ptp.openshift.io/v1", "PtpOperatorConfig", "default", "openshift-ptp") is None:
        kube.create({"apiVersion": "ptp.openshift.io/v1", "kind": "PtpOperatorConfig",
                     "metadata": {"name": "default", "namespace": "openshift-ptp"},
                     "spec": {"daemonNodeSelector": {"node-role.kubernetes.io/master": ""}}})
    res = run_module(hub, "ztp_daemon_selectors_info", dict(clusters=["sno-a"], spoke_kubeconfig=hub.kubeconfig))
    assert not res.get("failed"), res
    r = res["clusters"]["sno-a"]
    assert r["ptp"]["pinned_to_master"] is True and r["needs_override"] == {"ptp": True, "sriov": False}
    assert r["sriov"]["found"] is False


# ---------------------------------------------------------------------------------- install wait

BMH = ("metal3.io/v1alpha1", "BareMetalHost")
PPI = ("metal3.io/v1alpha1", "PreprovisioningImage")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")


def make_worker(kube, cluster, host):
    kube.create({"apiVersion": BMH[0], "kind": BMH[1], "metadata": {"name": host, "namespace": cluster},
                 "spec": {"online": True, "bootMACAddress": "00:11:22:33:44:55",
                          "bmc": {"address": "redfish://10.0.0.1/redfish/v1/Systems/1", "credentialsName": "bmc"}}})
    kube.create({"apiVersion": PPI[0], "kind": PPI[1], "metadata": {"name": host, "namespace": cluster},
                 "spec": {"acceptFormats": ["iso"]}})
    if kube.get(*MCI, name=cluster, namespace=cluster) is None:
        kube.create({"apiVersion": MCI[0], "kind": MCI[1], "metadata": {"name": cluster, "namespace": cluster}, "spec": {}})


def make_agent(kube, cluster, host):
    name = str(uuid.uuid4())
    kube.create({"apiVersion": AGENT[0], "kind": AGENT[1],
                 "metadata": {"name": name, "namespace": cluster, "labels": {"agent-install.openshift.io/bmh": host}},
                 "spec": {"approved": True, "role": "worker", "hostname": host}})
    return name


def agent_stage(kube, cluster, name, stage, pct):
    kube.set_status(*AGENT, name=name, namespace=cluster,
                    status={"progress": {"currentStage": stage, "installationPercentage": pct}})


def ppi_ready(kube, cluster, host):
    kube.set_status(*PPI, name=host, namespace=cluster,
                    status={"conditions": [cond("Ready", "True", "ImageCreated", "Image has been created")]})


def bmh_state(kube, cluster, host, state, **extra):
    status = {"provisioning": {"state": state}, "operationalStatus": "OK", "poweredOn": True}
    status.update(extra)
    kube.set_status(*BMH, name=host, namespace=cluster, status=status)


def node_ready(kube, cluster, host):
    kube.set_status(*MCI, name=cluster, namespace=cluster, status={"nodeList": [
        {"name": cluster + "-master", "conditions": [{"type": "Ready", "status": "True"}]},
        {"name": host + ".example.com", "conditions": [{"type": "Ready", "status": "True"}]}]})


def test_install_wait_survives_apiserver_restart(hub, kube):
    cluster = kube.namespace()
    host = cluster + "-worker-0"
    make_worker(kube, cluster, host)
    proc = run_module(hub, "ztp_install_wait", dict(nodes=[{"cluster": cluster, "host": host}], timeout=240,
                                                    # no view agent answers a ManagedClusterView on this bare API server
                                                    stall_timeout=120, wait_for_mcp=False), background=True)
    time.sleep(3)
    ppi_ready(kube, cluster, host)
    bmh_state(kube, cluster, host, "provisioning")
    agent = make_agent(kube, cluster, host)
    agent_stage(kube, cluster, agent, "Starting installation", 10)
    time.sleep(2)
    agent_stage(kube, cluster, agent, "Writing image to disk", 40)
    time.sleep(2)
    hub.restart()
    assert proc.poll() is None, "the module gave up during the API server restart"
    kube = Kube(hub.kubeconfig)
    bmh_state(kube, cluster, host, "provisioned")
    agent_stage(kube, cluster, agent, "Rebooting", 70)
    time.sleep(2)
    agent_stage(kube, cluster, agent, "Done", 100)
    node_ready(kube, cluster, host)
    res = finish(proc)
    assert not res.get("failed"), res
    node = res["nodes"][0]
    assert node["ready"] is True and node["state"] == "ready" and node["agent"] == agent
    stages = [s["stage"] for s in node["stages"]]
    for expected in ("PreprovisioningImage ImageCreated", "BareMetalHost provisioning", "Agent Writing image to disk",
                     "BareMetalHost provisioned", "Agent Done", "Node Ready"):
        assert expected in stages, stages
    assert res["summary"]["ready"] == 1 and res["summary"]["reconnects"] >= 1
    assert node["durations"]["install"] is not None


def test_install_wait_bmh_error(hub, kube):
    cluster = kube.namespace()
    host = cluster + "-worker-0"
    make_worker(kube, cluster, host)
    proc = run_module(hub, "ztp_install_wait", dict(nodes=[{"cluster": cluster, "host": host}], timeout=120),
                      background=True)
    time.sleep(2)
    bmh_state(kube, cluster, host, "registering", operationalStatus="error", errorType="registration error",
              errorMessage="Failed to get power state for node: BMC unreachable", errorCount=3)
    res = finish(proc)
    assert res["failed"], res
    assert "BareMetalHost %s/%s: registration error: Failed to get power state" % (cluster, host) in res["msg"]


def test_install_wait_agent_failure(hub, kube):
    cluster = kube.namespace()
    host = cluster + "-worker-0"
    make_worker(kube, cluster, host)
    agent = make_agent(kube, cluster, host)
    proc = run_module(hub, "ztp_install_wait", dict(nodes=[{"cluster": cluster, "host": host}], timeout=120),
                      background=True)
    time.sleep(2)
    kube.set_status(*AGENT, name=agent, namespace=cluster, status={
        "progress": {"currentStage": "Writing image to disk", "installationPercentage": 30},
        "conditions": [cond("Installed", "False", "InstallationFailed",
                            "The installation failed: failed to write image to disk")]})
    res = finish(proc)
    assert res["failed"], res
    assert "Agent %s/%s: The installation failed: failed to write image to disk" % (cluster, agent) in res["msg"]


def test_install_wait_stall_and_check_mode(hub, kube):
    cluster = kube.namespace()
    host = cluster + "-worker-0"
    make_worker(kube, cluster, host)
    agent = make_agent(kube, cluster, host)
    agent_stage(kube, cluster, agent, "Installing", 20)
    res = run_module(hub, "ztp_install_wait", dict(nodes=[{"cluster": cluster, "host": host}]), check=True)
    assert not res.get("failed") and res["nodes"][0]["state"] == "Agent Installing", res
    res = run_module(hub, "ztp_install_wait", dict(nodes=[{"cluster": cluster, "host": host}], timeout=60,
                                                   stall_timeout=4))
    assert res["failed"], res
    assert "no progress for" in res["msg"] and "last stage 'Agent Installing'" in res["msg"], res["msg"]


def test_install_wait_many_namespaces_and_timeout(hub, kube):
    clusters = [kube.namespace() for dummy in range(3)]
    nodes = [{"cluster": c, "host": c + "-w0"} for c in clusters]
    for n in nodes:
        make_worker(kube, n["cluster"], n["host"])
    res = run_module(hub, "ztp_install_wait", dict(nodes=nodes, timeout=4, namespace_watch_limit=1, fail_fast=False))
    assert res["failed"] and "timed out" in res["msg"] and res["summary"]["pending"] == 3, res
