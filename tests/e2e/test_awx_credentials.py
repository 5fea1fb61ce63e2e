"""The AWX credential types of docs/awx/credential-types.yml, injected as AWX injects them, for every combination of
blank optional fields, then used by kubernetes.core.k8s_info and the collection's hub modules against a test hub.

``awx_inject`` stands in for AWX. It follows ``CredentialType.inject_credential`` of ansible/awx (commit e21dd0a0,
2024-10-23, awx/main/models/credential.py; the same code was in awx/main/models/credential/__init__.py before):

- the template namespace holds ``tower`` and the inputs that are set: a boolean as it is, a string only when it is
  not empty (``len(value)``); a boolean field that is not set is False;
- templates are rendered by ``jinja2.sandbox.ImmutableSandboxedEnvironment()``, whose ``Undefined`` is not strict:
  a blank field renders as '' (and ``{% if field %}`` is false);
- every ``file`` template is written to a new file (``tempfile.mkstemp`` in ``<private_data_dir>/env``, mode 0600),
  also when it renders empty, and ``tower.filename.<label>`` names it;
- every ``env`` template is rendered and set, also when it renders '' (awx/main/tasks/jobs.py hands the dict to
  ansible-runner as ``envvars``, which writes ``KEY=`` into the container's env file: the variable exists, empty);
- ``extra_vars`` are rendered (keys and values) and given to ansible-playbook as ``-e @<file>``.

Not modelled: the in-container paths (``get_incontainer_path``; the playbook runs on this machine) and the masked
copy of the environment AWX stores. AWX's built-in "OpenShift or Kubernetes API Bearer Token" type
(``kubernetes_bearer_token``) has no templates: its Python injector (awx/main/models/credential/injectors.py at
8a1d1e9c, now ``awx_plugins.credentials.injectors``) writes the CA file and sets ``K8S_AUTH_SSL_CA_CERT`` only when
a CA is given. A custom type cannot leave a variable or a file out, so its templates must make a blank field
harmless: that is what the cases below check, with the old (broken) injectors as the control.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import yaml
from jinja2 import sandbox

from testhub import pki
from testhub.hubctl import Hub, free_port_base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPES_FILE = os.path.join(REPO, "docs", "awx", "credential-types.yml")
PLAYBOOK = os.path.join(REPO, "playbooks", "expand_sno.yml")
CLUSTER = "awx-cred"  # the managed cluster's namespace the hub modules read
SET = object()  # "this optional field is filled in" (the value depends on the field and the hub)
UNSET = object()  # "this boolean field was never set" (AWX then puts False in the namespace)
VIEW = ("view.open-cluster-management.io/v1beta1", "ManagedClusterView")

with open(TYPES_FILE, encoding="utf-8") as _handle:
    TYPES = {t["name"]: t for t in yaml.safe_load(_handle)}

# The injectors before the fix, as the control: the checks below must fail with them.
OLD_INJECTORS = {
    "ZTP hub kubeconfig": {"file": {"template.kubeconfig": "{{ kubeconfig }}"},
                           "env": {"K8S_AUTH_KUBECONFIG": "{{ tower.filename.kubeconfig }}", "K8S_AUTH_CONTEXT": "{{ context }}"}},
    "ZTP hub token": {"file": {"template.ca": "{{ ssl_ca_cert }}"},
                      "env": {"K8S_AUTH_HOST": "{{ host }}", "K8S_AUTH_API_KEY": "{{ bearer_token }}",
                              "K8S_AUTH_VERIFY_SSL": "{{ verify_ssl }}", "K8S_AUTH_SSL_CA_CERT": "{{ tower.filename.ca }}"}},
}

# Environment variables that may be set to '' because their consumer reads '' as "not given": kubernetes.core passes
# K8S_AUTH_SSL_CA_CERT='' on as ssl_ca_cert='', and the kubernetes client hands it to urllib3, which loads a CA
# file only for a true value (else the default trust store). The token cases below run that for real.
EMPTY_MEANS_UNSET = {"K8S_AUTH_SSL_CA_CERT"}


class _TowerNamespace:  # AWX: ``class TowerNamespace: pass``
    pass


def awx_inject(credential_type: dict, inputs: dict, private_data_dir: str) -> tuple[dict, dict, list[str]]:
    """(env, extra_vars, ansible-playbook arguments) of one credential, as AWX's inject_credential makes them."""
    tower = _TowerNamespace()
    namespace = {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[name] = value
    for field in credential_type["inputs"].get("fields", []):
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
        if field.get("format") == "ssh_private_key" and field["id"] in namespace and not namespace[field["id"]].endswith("\n"):
            namespace[field["id"]] += "\n"
    injectors = credential_type.get("injectors") or {}
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    jinja = sandbox.ImmutableSandboxedEnvironment()
    for label, template in injectors.get("file", {}).items():
        data = jinja.from_string(template).render(**namespace)
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = _TowerNamespace()
            setattr(tower.filename, label.split(".")[1], path)
    env = {name: jinja.from_string(template).render(**namespace) for name, template in injectors.get("env", {}).items()}

    def build(node):
        if isinstance(node, dict):
            return {build(key): build(value) for key, value in node.items()}
        if isinstance(node, list):
            return [build(item) for item in node]
        return jinja.from_string(node).render(**namespace)

    extra_vars = build(injectors.get("extra_vars", {}))
    args = []
    if extra_vars:
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(yaml.safe_dump(extra_vars))
        os.chmod(path, stat.S_IRUSR)
        args = ["-e", "@" + path]
    return env, extra_vars, args


def blank_combinations(credential_type: dict) -> list[dict]:
    """Every combination of the optional fields: a string blank ('') or SET, a boolean UNSET, False or True."""
    required = set(credential_type["inputs"].get("required", []))
    choices = []
    for field in credential_type["inputs"]["fields"]:
        if field["id"] in required:
            continue
        options = (UNSET, False, True) if field["type"] == "boolean" else ("", SET)
        choices.append([(field["id"], option) for option in options])
    return [dict(combo) for combo in itertools.product(*choices)]


def combination_id(combo: dict) -> str:
    def label(value):
        if isinstance(value, bool):
            return str(value).lower()
        return "set" if value is SET else "unset" if value is UNSET else "blank"
    return ",".join("%s=%s" % (name, label(value)) for name, value in combo.items()) or "required-only"


def inputs_for(credential_type: dict, combo: dict, values: dict) -> dict:
    """The credential's inputs: every required field and every SET field from ``values``, blanks as '', UNSET left out."""
    inputs = {}
    for field in credential_type["inputs"]["fields"]:
        name = field["id"]
        choice = combo.get(name, SET)
        if choice is UNSET:
            continue
        inputs[name] = values[name] if choice is SET else choice
    return inputs


def with_injectors(name: str, injectors: dict) -> dict:
    return dict(TYPES[name], injectors=injectors)


# ----------------------------------------------------------------------------------------------- without a hub

def playbook_drops_when_empty(variable: str) -> bool:
    """Whether expand_sno.yml uses the variable only as ``{{ variable | default(omit, true) }}`` (so '' is left out)."""
    with open(PLAYBOOK, encoding="utf-8") as handle:
        text = handle.read()
    uses = re.findall(r"\{\{[^}]*\b%s\b[^}]*\}\}" % re.escape(variable), text)
    return bool(uses) and all(re.fullmatch(r"\{\{\s*%s\s*\|\s*default\(omit,\s*true\)\s*\}\}" % re.escape(variable), u) for u in uses)


def blank_field_problems(credential_type: dict, inputs: dict, private_data_dir: str) -> list[str]:
    """What a blank field would hand to a consumer that takes it for a value."""
    env, extra_vars, dummy = awx_inject(credential_type, inputs, private_data_dir)
    problems = []
    for name, value in env.items():
        if value == "" and name not in EMPTY_MEANS_UNSET:
            problems.append("env %s is set to ''" % name)
    for name, value in extra_vars.items():
        if value == "" and not playbook_drops_when_empty(name):
            problems.append("extra var %s is '' and the playbook does not drop it" % name)
    for name, value in list(env.items()) + list(extra_vars.items()):
        if isinstance(value, str) and value.startswith(os.path.join(private_data_dir, "env")) and os.path.getsize(value) == 0:
            problems.append("%s names an empty file" % name)
    return problems


DUMMY = {"kubeconfig": "apiVersion: v1\nkind: Config\n", "context": "hub", "host": "https://hub.example.com:6443",
         "bearer_token": "sha256~token", "ssl_ca_cert": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
         "token": "ghp_token", "ssh_key_data": "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----",
         "username": "admin", "password": "secret"}


@pytest.mark.parametrize("name", sorted(TYPES))
def test_no_blank_field_reaches_a_consumer_as_a_value(name, tmp_path):
    """All five types, every combination: no env var is '' unless its consumer reads '' as unset, no extra var is ''
    unless the playbook drops it, nothing names an empty file."""
    credential_type = TYPES[name]
    for number, combo in enumerate(blank_combinations(credential_type)):
        inputs = inputs_for(credential_type, combo, DUMMY)
        assert blank_field_problems(credential_type, inputs, str(tmp_path / str(number))) == [], combination_id(combo)


@pytest.mark.parametrize("name", sorted(OLD_INJECTORS))
def test_the_blank_field_check_catches_the_old_injectors(name, tmp_path):
    old = with_injectors(name, OLD_INJECTORS[name])
    found = [blank_field_problems(old, inputs_for(old, combo, DUMMY), str(tmp_path / str(n)))
             for n, combo in enumerate(blank_combinations(old))]
    assert any(found), found


@pytest.mark.parametrize("injectors", ["current", "old"])
def test_ssh_can_load_the_key_file(injectors, tmp_path):
    """A key pasted without its last newline (as ``$(cat key)`` gives it) must still make a key file ssh can load.
    The old template ended in "\\n", which Jinja drops (a template's trailing newline is not rendered)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
    pasted = (tmp_path / "id").read_text(encoding="utf-8").rstrip("\n")
    credential_type = TYPES["ZTP GitOps ssh key"]
    if injectors == "old":
        fields = [{k: v for k, v in f.items() if k != "format"} for f in credential_type["inputs"]["fields"]]
        credential_type = dict(credential_type, inputs=dict(credential_type["inputs"], fields=fields),
                               injectors={"file": {"template.key": "{{ ssh_key_data }}\n"},
                                          "extra_vars": {"ztp_gitops_ssh_key_file": "{{ tower.filename.key }}"}})
    dummy, extra_vars, args = awx_inject(credential_type, {"ssh_key_data": pasted}, str(tmp_path / "private"))
    assert args == ["-e", args[1]] and args[1].startswith("@")
    load = subprocess.run(["ssh-keygen", "-y", "-f", extra_vars["ztp_gitops_ssh_key_file"]], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    if injectors == "current":
        assert load.returncode == 0 and load.stdout.startswith("ssh-ed25519 "), load.stdout
    else:
        assert load.returncode != 0, load.stdout


# ----------------------------------------------------------------------------------------------- against a hub

HUB_TYPES = ("ZTP hub kubeconfig", "ZTP hub token")
CASES = [pytest.param(name, combo, id="%s:%s" % (name, combination_id(combo)))
         for name in HUB_TYPES for combo in blank_combinations(TYPES[name])]


class ViewAgent(threading.Thread):
    """Answers each ManagedClusterView in CLUSTER as ACM's view agent does for an object the spoke does not have."""

    def __init__(self, hub: Hub):
        super().__init__(name="view-agent", daemon=True)
        self.views = hub.api().resources.get(api_version=VIEW[0], kind=VIEW[1])
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.3):
            try:
                for view in self.views.get(namespace=CLUSTER).to_dict().get("items", []):
                    if (view.get("status") or {}).get("conditions"):
                        continue
                    kind = view["spec"]["scope"]["kind"]
                    condition = {"type": "Processing", "status": "False", "reason": "GetResourceFailed",
                                 "message": 'failed to get resource with err: %s.x "default" not found' % kind.lower(),
                                 "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                    self.views.status.patch(body={"status": {"conditions": [condition]}}, name=view["metadata"]["name"],
                                            namespace=CLUSTER, content_type="application/merge-patch+json")
            except Exception:  # pylint: disable=broad-exception-caught  # a view deleted in between: next round
                continue


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A test hub without the simulator, the namespace of one managed cluster, and a view agent for it."""
    run_dir = str(tmp_path_factory.mktemp("awx-cred-hub"))
    hub_ = Hub(run_dir=run_dir, port_base=free_port_base(25000), crds="auto", simulator=False)
    agent = None
    try:
        hub_.start()
        hub_.api().resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CLUSTER}})
        agent = ViewAgent(hub_)
        agent.start()
        yield hub_
    finally:
        if agent is not None:
            agent.stopping.set()
            agent.join(10)
        hub_.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def hub_values(hub: Hub, context_set: bool) -> dict:
    """Field values for the hub types. With a Context, the kubeconfig's current-context is one that cannot log in,
    so a run succeeds only if the Context is used."""
    with open(hub.hub_kubeconfig, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    good = config["current-context"]
    if context_set:
        cluster = config["contexts"][0]["context"]["cluster"]
        config["users"].append({"name": "nobody", "user": {"token": "not-a-valid-token"}})
        config["contexts"].append({"name": "elsewhere", "context": {"cluster": cluster, "user": "nobody"}})
        config["current-context"] = "elsewhere"
    with open(os.path.join(hub.pki_dir, "ca.crt"), encoding="utf-8") as handle:
        ca = handle.read()
    return {"kubeconfig": yaml.safe_dump(config), "context": good, "host": hub.hub_url,
            "bearer_token": pki.read_token(hub.pki_dir, "testhub-admin"), "ssl_ca_cert": ca}


PLAY_TASKS = [
    {"name": "k8s_info", "kubernetes.core.k8s_info": {"kind": "Namespace", "name": CLUSTER}},
    {"name": "ztp_daemon_selectors_info", "ztp.sno_expand.ztp_daemon_selectors_info": {"clusters": [CLUSTER], "timeout": 60}},
    {"name": "ztp_policy_compliance_info", "ztp.sno_expand.ztp_policy_compliance_info": {"names": ["awx-cred-policy"]}},
    {"name": "ztp_cgu", "ztp.sno_expand.ztp_cgu": {"name": "awx-cred-check", "clusters": [CLUSTER],
                                                   "managed_policies": ["awx-cred-policy"]}, "check_mode": True},
    {"name": "ztp_install_wait", "ztp.sno_expand.ztp_install_wait": {"nodes": [{"cluster": CLUSTER, "host": "worker-0"}],
                                                                     "timeout": 60}, "check_mode": True},
]
MODULES = [task["name"] for task in PLAY_TASKS]


def run_hub_modules(tmp_path, env: dict, args: list[str]) -> tuple[dict, str]:
    """Run the hub modules with ``env`` as the credentials' part of a clean environment and the play's
    module_defaults taken from expand_sno.yml; returns each module's result and the output."""
    with open(PLAYBOOK, encoding="utf-8") as handle:
        module_defaults = yaml.safe_load(handle)[0]["module_defaults"]
    results_file = str(tmp_path / "results.json")
    tasks = [dict(task, register=task["name"], ignore_errors=True) for task in PLAY_TASKS]
    tasks.append({"name": "results", "ansible.builtin.copy": {
        "dest": results_file, "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (m, m) for m in MODULES)}})
    play = [{"name": "hub modules with AWX credentials", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "module_defaults": module_defaults,
             "tasks": tasks}]
    playbook = tmp_path / "hub_modules.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    home = tmp_path / "home"  # no ~/.kube/config to fall back on
    home.mkdir(exist_ok=True)
    clean = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
             "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections")}
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", str(playbook)] + args, cwd=REPO, env=dict(clean, **env),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert proc.returncode == 0 and os.path.exists(results_file), proc.stdout[-6000:]
    with open(results_file, encoding="utf-8") as handle:
        return json.load(handle), proc.stdout


def assert_hub_modules_succeeded(results: dict, output: str) -> None:
    failed = {m: results[m].get("msg") for m in MODULES if results[m].get("failed")}
    assert not failed, "%s\n%s" % (failed, output[-4000:])
    assert [r["metadata"]["name"] for r in results["k8s_info"]["resources"]] == [CLUSTER]
    assert results["ztp_daemon_selectors_info"]["source"] == "managedclusterview"
    assert results["ztp_daemon_selectors_info"]["clusters"][CLUSTER]["needs_override"] == {"ptp": False, "sriov": False}
    # the hub was read (no such policy there), not a client error
    assert results["ztp_policy_compliance_info"]["missing"] == ["awx-cred-policy"]
    assert results["ztp_cgu"]["cgu"]["spec"]["clusters"] == [CLUSTER]
    assert [n["cluster"] for n in results["ztp_install_wait"]["nodes"]] == [CLUSTER]


@pytest.mark.parametrize("name,combo", CASES)
def test_hub_modules_work_with_every_combination_of_blank_fields(hub, tmp_path, name, combo):
    credential_type = TYPES[name]
    inputs = inputs_for(credential_type, combo, hub_values(hub, combo.get("context") is SET))
    env, dummy, args = awx_inject(credential_type, inputs, str(tmp_path / "private"))
    ee_env = {}
    if name == "ZTP hub token" and combo["verify_ssl"] is True and combo["ssl_ca_cert"] == "":
        # Verify on, no CA given: the execution environment's trust store must hold the hub's CA.
        ee_env["SSL_CERT_FILE"] = os.path.join(hub.pki_dir, "ca.crt")
    results, output = run_hub_modules(tmp_path, dict(env, **ee_env), args)
    assert_hub_modules_succeeded(results, output)


def test_verification_stays_on_without_a_ca(hub, tmp_path):
    """Verify on, CA blank, the hub's CA not trusted: every module fails on the certificate (not on an empty CA file)."""
    credential_type = TYPES["ZTP hub token"]
    inputs = inputs_for(credential_type, {"ssl_ca_cert": "", "verify_ssl": True}, hub_values(hub, False))
    env, dummy, args = awx_inject(credential_type, inputs, str(tmp_path / "private"))
    results, output = run_hub_modules(tmp_path, env, args)
    for module in MODULES:
        assert results[module].get("failed") and "CERTIFICATE_VERIFY_FAILED" in results[module]["msg"], (module, output[-4000:])


@pytest.mark.parametrize("name,combo,message", [
    pytest.param("ZTP hub kubeconfig", {"context": ""}, "Expected object with name  in", id="kubeconfig:context=blank"),
    pytest.param("ZTP hub token", {"ssl_ca_cert": "", "verify_ssl": False}, "NO_CERTIFICATE_OR_CRL_FOUND",
                 id="token:ssl_ca_cert=blank,verify_ssl=false"),
])
def test_old_injectors_fail_with_a_blank_field(hub, tmp_path, name, combo, message):
    """The control: the injectors before the fix break every hub module with these blank fields."""
    old = with_injectors(name, OLD_INJECTORS[name])
    env, dummy, args = awx_inject(old, inputs_for(old, combo, hub_values(hub, False)), str(tmp_path / "private"))
    results, output = run_hub_modules(tmp_path, env, args)
    for module in MODULES:
        assert results[module].get("failed") and message in results[module]["msg"], (module, output[-4000:])
