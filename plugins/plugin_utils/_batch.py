# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch layer: the one mapping from the inventory to per-cluster requests, and the per-cluster verdicts.

A phase role runs its work once per batch (``run_once``). What each cluster asks of a phase is read here, in
Python, from the variables the phase role's own tasks would see for that cluster's host: inventory variables,
the role's defaults (``node_addition_workers: "{{ ztp_workers }}"``), and whatever the play sets on the role
(``vars:`` of ``import_role``, role parameters, extra variables). Ansible's variable manager computes them, as it
does for a task of the role, so the batch-wide validation at the start of the play and the phase that writes
later plan from the same values.

Each phase ends with a verdict per cluster (``{ok, msg, phase, ...}``) computed here; the roles fail a host from
it with one generic task, and the summary of the play is built from the verdicts of every host of the play,
failed ones included.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import json
import os

from ansible.errors import AnsibleActionFail
from jinja2 import Environment as _JinjaEnvironment, meta as _jinja_meta, nodes as _jinja_nodes
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_bytes
from ansible.template import Templar

try:
    from ansible.template import is_trusted_as_template
except ImportError:  # ansible-core before 2.19: unsafe strings are a class of their own, which the key records
    def is_trusted_as_template(value):
        return True
from ansible.utils.vars import combine_vars

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cgu_names as cgu_names

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import redact
from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import plain

PHASES = ("selector_checks", "policy_creation", "node_addition", "install_verification")
REMOVAL = "node_removal"
ROTATION = "bmc_rotation"
# The phases of each playbook's operation, in the order they run: expand_sno.yml, remove_workers.yml,
# replace_workers.yml (the failed hardware is removed, then added again as in an expansion), rotate_bmc_credentials.yml.
OPERATIONS = {"expand": PHASES, "remove": (REMOVAL,), "replace": (REMOVAL,) + PHASES, "rotate": (ROTATION,)}
ALL_PHASES = (REMOVAL,) + PHASES + (ROTATION,)

# request field -> (role variable, argument spec of the field). The role variables default to the ztp_* inventory
# variables in roles/<phase>/defaults/main.yml; this table is the only place that reads them.
REQUEST_VARS = {
    "selector_checks": {
        "cluster": ("selector_checks_cluster", dict(type="str", required=True)),
        "group_policy_path": ("selector_checks_group_policy_path", dict(type="str")),
        "policies": ("selector_checks_group_policies", dict(type="list", elements="str", default=[])),
        "allow_disruption": ("selector_checks_allow_disruption", dict(type="bool", default=False)),
        "override_scope": ("selector_checks_override_scope", dict(type="str", choices=["bound", "batch"], default="bound")),
        "disruption_clusters": ("selector_checks_disruption_clusters", dict(type="list", elements="str", default=[])),
        "spoke_kubeconfig": ("selector_checks_spoke_kubeconfig", dict(type="path", default="")),
    },
    "policy_creation": {
        "cluster": ("policy_creation_cluster", dict(type="str", required=True)),
        "worker_policy": ("policy_creation_worker_policy", dict(type="dict", required=True)),
        "policies_before": ("policy_creation_policies_before", dict(type="list", elements="str", default=[])),
        "policies_after": ("policy_creation_policies_after", dict(type="list", elements="str", default=[])),
        "cgu_max_concurrency": ("policy_creation_cgu_max_concurrency", dict(type="int", default=50)),
    },
    "node_addition": {
        "cluster": ("node_addition_cluster", dict(type="str", required=True)),
        "cluster_file": ("node_addition_cluster_file", dict(type="str", required=True)),
        "namespace": ("node_addition_cluster_namespace", dict(type="str")),
        "workers": ("node_addition_workers", dict(type="list", elements="dict", required=True)),
        "default_template_refs": ("node_addition_default_template_refs", dict(type="list", elements="dict")),
        "bmh_annotations": ("node_addition_bmh_annotations", dict(type="dict", default={})),
        "worker_policy": ("node_addition_worker_policy", dict(type="dict")),
        "worker_policies": ("node_addition_worker_policies", dict(type="list", elements="str")),
        "bmc_credentials": ("node_addition_bmc_credentials", dict(type="dict", default={}, no_log=True)),
        "bmc_username": ("node_addition_bmc_username", dict(type="str", default="")),
        "bmc_password": ("node_addition_bmc_password", dict(type="str", default="", no_log=True)),
        "manage_bmc_secrets": ("node_addition_manage_bmc_secrets", dict(type="bool", default=True)),
        "skip_policy_check": ("node_addition_skip_policy_check", dict(type="bool", default=False)),
    },
    "install_verification": {
        "cluster": ("install_verification_cluster", dict(type="str", required=True)),
        "hosts": ("install_verification_hosts", dict(type="list", elements="str", default=[])),
        "namespace": ("install_verification_namespace", dict(type="str")),
    },
    "node_removal": {
        "cluster": ("node_removal_cluster", dict(type="str", required=True)),
        "cluster_file": ("node_removal_cluster_file", dict(type="str", required=True)),
        "namespace": ("node_removal_cluster_namespace", dict(type="str")),
        "workers": ("node_removal_workers", dict(type="list", elements="str", default=[])),
        "replace": ("node_removal_replace", dict(type="bool", default=False)),
        "reinstall_generation": ("node_removal_reinstall_generation", dict(type="str", default="")),
        "new_workers": ("node_removal_new_workers", dict(type="list", elements="dict", default=[])),
        "default_template_refs": ("node_removal_default_template_refs", dict(type="list", elements="dict")),
        "worker_policy_choice": ("node_removal_worker_policies", dict(type="str", default="keep", choices=["keep", "remove"])),
        "worker_policy": ("node_removal_worker_policy", dict(type="dict")),
    },
}
SECRET_FIELDS = ("bmc_credentials", "bmc_username", "bmc_password")

ROLE_PREFIX = "ztp.sno_expand."
DEFAULTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class Request(dict):
    """What one cluster asks of one phase: the fields of ``REQUEST_VARS[phase]`` plus ``host``."""


def _play(task):
    parent = task
    while parent is not None:
        play = getattr(parent, "_play", None)
        if play is not None:
            return play
        parent = getattr(parent, "_parent", None)
    return None


def _role_task(play, phase):
    """A task of the phase role as the play imported it (so that its vars, params and defaults apply)."""
    for role in play.get_roles() if play is not None else []:
        name = role.get_name()
        if name not in (phase, ROLE_PREFIX + phase):
            continue
        for block in role.get_task_blocks():
            for task in block.block:
                return task
    return None


def _role_defaults(phase, loader):
    path = os.path.join(DEFAULTS_DIR, phase, "defaults", "main.yml")
    try:
        # ansible-core 2.19 and later template only what is trusted; role defaults are, as when the role is loaded
        return loader.load_from_file(path, trusted_as_template=True) or {}
    except TypeError:
        return loader.load_from_file(path) or {}


# names whose result may differ between two calls with the same variables: templates that use them are not shared
_UNSHARED_NAMES = frozenset(("lookup", "query", "q", "now", "random", "shuffle", "hostvars", "vars", "varnames",
                             "password_hash", "random_mac"))
_MISSING = "\x00missing"


class SharedTemplates(object):
    """The results of the role defaults' templates, shared between the hosts whose variables give them the same input.

    A role default such as ``{{ ztp_cgu_max_concurrency | default(50) }}`` is the same for every host of a fleet whose
    group variables set it once; Ansible compiles the template again for every host (about 2 ms each, 26 defaults
    per host in the expansion: 30 s at 500 hosts). A result is reused only for the same template text and the same
    values of every variable it names, when those values are plain data (no template of their own) and the template
    calls nothing that may answer differently (lookups, ``now``, ``random``)."""

    def __init__(self):
        self._names = {}
        self._results = {}

    def _referenced(self, text):
        if text not in self._names:
            try:
                tree = _JinjaEnvironment().parse(text)
                names = _jinja_meta.find_undeclared_variables(tree)
                calls = set(n.name.split(".")[-1] for n in tree.find_all((_jinja_nodes.Filter, _jinja_nodes.Test)))
                self._names[text] = None if (names | calls) & _UNSHARED_NAMES else tuple(sorted(names))
            except Exception:  # pylint: disable=broad-except
                self._names[text] = None  # Ansible reports it when it templates it
        return self._names[text]

    def _key(self, value, variables):
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return None  # nothing to compile
        names = self._referenced(value)
        if names is None:
            return None
        try:
            inputs = json.dumps([variables.get(n, _MISSING) for n in names], sort_keys=True)
        except (TypeError, ValueError):
            return None
        if "{{" in inputs or "{%" in inputs:
            return None  # a value that is a template itself: its result may depend on more
        # the same text from another source may not be a template for Ansible (untrusted in 2.19, unsafe before)
        return (str(value), type(value).__name__, is_trusted_as_template(value), inputs)

    def template(self, templar, value, variables):
        """``plain(templar.template(value))``, computed once per template and input."""
        key = self._key(value, variables)
        if key is None:
            return plain(templar.template(value))
        if key not in self._results:
            self._results[key] = plain(templar.template(value))
        return copy.deepcopy(self._results[key])


class BatchVars(object):
    """Per-host variables of the phase roles, for the hosts of a batch, read from a ``run_once`` action.

    What a task of the role would see for a host, computed with the cost of one variable-manager call per host
    (``get_vars`` with a task costs ten times more): the role's defaults, under the host's variables (inventory,
    play, facts, extra variables), under what the play sets on the role (role vars, the ``vars:`` of the import,
    role and include parameters), under the extra variables. The role layers are the same for every host and are
    read once per phase."""

    def __init__(self, action, task_vars):
        self.action = action
        self.task_vars = task_vars or {}
        self.vm = action._task.get_variable_manager()
        self.play = _play(action._task)
        self.loader = action._loader
        self._host_cache = {}
        self._layers = {}
        self._templates = SharedTemplates()

    def _role_layers(self, phase):
        if phase not in self._layers:
            task = _role_task(self.play, phase)
            if task is None:
                # the phase role is not part of this play (a play of the user's own): its defaults, then the
                # variables of the calling task
                low, high = _role_defaults(phase, self.loader), dict(self.action._task.get_vars())
            else:
                chain = task.get_dep_chain()
                low = task._role.get_default_vars(dep_chain=chain)
                high = combine_vars(task._role.get_vars(chain, include_params=False, only_exports=False), task.get_vars())
                high = combine_vars(high, task._role.get_role_params(chain))
                high = combine_vars(high, task.get_include_params())
            self._layers[phase] = (low, high)
        return self._layers[phase]

    def _host(self, host):
        if host not in self._host_cache:
            inventory_host = self.vm._inventory.get_host(host) if self.vm is not None else None
            if inventory_host is None:
                raise AnsibleActionFail("host %s is not in the inventory" % host)
            self._host_cache[host] = self.vm.get_vars(play=self.play, host=inventory_host, include_hostvars=False)
        return self._host_cache[host]

    def host_vars(self, host, phase):
        low, high = self._role_layers(phase)
        variables = combine_vars(low, self._host(host))
        variables = combine_vars(variables, high)
        return combine_vars(variables, self.vm._extra_vars)

    def requests(self, phase, hosts, fields=None):
        """``(requests, errors)``: per host, its validated request for ``phase`` (only ``fields`` when given), or
        why its variables are wrong."""
        fields = dict((k, v) for k, v in REQUEST_VARS[phase].items() if fields is None or k in fields or k == "cluster")
        validator = ArgumentSpecValidator(dict((field, spec) for field, (dummy, spec) in fields.items()))
        requests, errors = {}, {}
        for host in hosts:
            variables = self.host_vars(host, phase)
            templar = Templar(loader=self.loader, variables=variables)
            raw = {}
            problems = []
            for field, (var, dummy) in fields.items():
                if var not in variables:
                    continue
                try:
                    raw[field] = self._templates.template(templar, variables[var], variables)
                except Exception as exc:  # pylint: disable=broad-except
                    if field in SECRET_FIELDS:  # the message of a template error quotes the template: the secret
                        problems.append("%s: cannot be templated (%s). A secret holding '{{' or '{%%' must be marked "
                                        "!unsafe, or come from Ansible Vault or an AWX credential" % (var, exc.__class__.__name__))
                    else:
                        problems.append("%s: cannot be templated: %s (value %r)"
                                        % (var, redact(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__),
                                           redact(variables[var], var)))
            checked = validator.validate(dict((k, v) for k, v in raw.items() if v is not None))
            problems.extend(_name_vars(m, fields) for m in checked.error_messages)
            if problems:
                errors[host] = "%s: %s" % (raw.get("cluster") or host, "; ".join(problems))
                continue
            request = Request(checked.validated_parameters)
            request["host"] = host
            requests[host] = request
        return requests, errors


START_VAR = "ztp_batch_start"
VERDICT_VAR = "%s_verdict"


def read_requests(action, task_vars, phase, hosts):
    """``(requests, errors)`` of ``phase`` for ``hosts``: those read at the start of the batch (``ztp_batch
    step=start`` registers them as ``ztp_batch_start``), else read now. Requests carry no secrets either way."""
    start = (task_vars.get(START_VAR) or {}).get("requests") or {}
    if phase in start and all(h in start[phase]["requests"] or h in start[phase]["invalid"] for h in hosts):
        return (dict((h, Request(plain(start[phase]["requests"][h]))) for h in hosts if h in start[phase]["requests"]),
                dict((h, start[phase]["invalid"][h]) for h in hosts if h in start[phase]["invalid"]))
    requests, errors = BatchVars(action, task_vars).requests(phase, hosts)
    return dict((h, Request(public(r))) for h, r in requests.items()), errors


def failed_earlier(task_vars, phase):
    """Hosts judged failed by a phase before ``phase`` in this batch: the later phases leave them out."""
    out = {}
    for earlier in ALL_PHASES[:ALL_PHASES.index(phase)]:
        for host, verdict in ((task_vars.get(VERDICT_VAR % earlier) or {}).get("verdicts") or {}).items():
            if not verdict.get("ok"):
                out.setdefault(host, earlier)
    return out


def _name_vars(message, fields):
    """Argument-spec messages name the request field; users know the role variable."""
    for field, (var, dummy) in sorted(fields.items(), key=lambda item: -len(item[0])):
        message = message.replace("'%s'" % field, var).replace(" %s" % field, " %s" % var)
    return message


def public(request):
    """A request without its secrets, safe to return and show."""
    return dict((k, v) for k, v in request.items() if k not in SECRET_FIELDS)


def change_name(prefix, change, policies=()):
    """A ClusterGroupUpgrade name that carries the change it remediates: a new change (other clusters, policies or
    content) gets a new CGU, and a rerun of the same change finds its own.

    ``<prefix>-<10 hex>``, shortened as far as ``<8 hex>`` when a policy name is long: every Placement TALM derives from
    it (``<cgu>-<policy>-placement-xxxxx``) must fit a 63-character label value (``cgu_names.fits_talm_placements``)."""
    digest = hashlib.sha1(json.dumps(change, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    candidates = ("%s-%s" % (prefix, digest[:10]), "%s-%s" % (prefix, digest[:6]), "ztp-%s" % digest[:8], "z%s" % digest[:7])
    for name in candidates:
        if cgu_names.fits_talm_placements(name, policies):
            return name
    return candidates[-1]  # ztp_cgu names the policy that cannot fit


def cgu_parts(prefix, requests, size):
    """The ClusterGroupUpgrades that remediate the policies of ``requests``: one per ``size`` clusters (TALM's
    maxConcurrency, so that each is one TALM batch), in the order of ``requests``, each naming only its own clusters'
    policies (group policies first, then the worker policies, then the site policies).

    TALM reads every managed policy of a CGU for every cluster of the CGU (controllers/policy.go:381-420, a GET each:
    its client does not cache unstructured Policies); one CGU for a batch of clusters with policies of their own would
    cost it a number of reads growing with the square of the batch. Each name carries its part's change."""
    size = max(1, int(size or 1))
    parts = []
    for start in range(0, len(requests), size):
        chunk = requests[start:start + size]
        ordered = ([p for r in chunk for p in r["policies_before"]] + [p for r in chunk for p in worker_policy_names(r)]
                   + [p for r in chunk for p in r["policies_after"]])
        seen = set()
        policies = [p for p in ordered if not (p in seen or seen.add(p))]
        name = change_name(prefix, sorted([r["cluster"], r["worker_policy"], r["policies_before"], r["policies_after"]]
                                          for r in chunk), sorted(policies))
        parts.append({"name": name, "clusters": [r["cluster"] for r in chunk], "managed_policies": policies})
    return parts


def batch_wide(requests, field, var, choose, default):
    """``(value, warning)``: one value of a setting that applies to the whole batch (a ClusterGroupUpgrade's), chosen
    by ``choose`` among the requests' values; the warning names the clusters whose value was not the one used."""
    values = [r[field] for r in requests if r.get(field) is not None]
    if not values:
        return default, None
    value = choose(values)
    others = sorted("%s (%s)" % (r["cluster"], r[field]) for r in requests if r.get(field) not in (None, value))
    if not others:
        return value, None
    return value, ("%s applies to the whole batch, and the clusters of this batch give different values: %s is used; "
                   "%s differ. Give it once for the play (group_vars) or put clusters with different values in "
                   "different runs" % (var, value, _named(others)))


def worker_policy_names(request):
    """The policies the worker policy template of a request generates (``worker_policies`` wins)."""
    if request.get("worker_policies"):
        return list(request["worker_policies"])
    policy = request.get("worker_policy") or {}
    if not policy.get("name"):
        return []
    return policygen.policy_names(policy["name"], policy.get("policy_name") or "config-policy")


def missing_bmc_credentials(request):
    """Worker host names of a node_addition request that have no BMC credentials to create their Secret from."""
    if not request.get("manage_bmc_secrets"):
        return []
    if request.get("bmc_username") and request.get("bmc_password"):
        return []
    credentials = request.get("bmc_credentials") or {}
    return [w.get("hostName") for w in request.get("workers") or [] if w.get("hostName") not in credentials]


def bmc_secrets(request, namespace=None):
    """The BMC credentials Secrets of a node_addition request (per-host credentials first, else the shared pair)."""
    credentials = request.get("bmc_credentials") or {}
    shared = ({"username": request["bmc_username"], "password": request["bmc_password"]}
              if request.get("bmc_username") and request.get("bmc_password") else None)
    secrets = []
    for worker in request.get("workers") or []:
        own = credentials.get(worker.get("hostName")) or shared
        name = (worker.get("bmcCredentialsName") or {}).get("name")
        if not own or not name:
            continue
        secrets.append({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace or request["cluster"],
                         "labels": {"app.kubernetes.io/managed-by": "ztp.sno_expand"}},
            "data": dict((key, base64.b64encode(to_bytes(own[key], errors="surrogate_or_strict")).decode("ascii"))
                         for key in ("username", "password")),
        })
    return secrets


# ---- verdicts ----------------------------------------------------------------------------------------------

def ok(phase, **more):
    out = {"ok": True, "phase": phase, "msg": ""}
    out.update(more)
    return out


def failed(phase, msg, **more):
    out = {"ok": False, "phase": phase, "msg": msg}
    out.update(more)
    return out


def cgu_outcome(result):
    """The batch-wide part of a registered ztp_cgu result, kept for the summary."""
    if not result or result.get("skipped"):
        return None
    cgu = result.get("cgu") or {}
    meta = cgu.get("metadata") or {}
    return {"name": meta.get("name") or result.get("name"), "namespace": meta.get("namespace"),
            "state": result.get("state"), "succeeded": bool(result.get("succeeded")), "msg": result.get("msg") or ""}


def cgu_cluster_verdict(phase, cluster, result, check_mode=False):
    """Whether TALM remediated ``cluster`` in the CGU of a registered ztp_cgu result (in check mode the CGU was
    only validated by the API server). With parts, the part that names the cluster judges it."""
    part = ((result or {}).get("cgu_of") or {}).get(cluster)
    if part and part in (result.get("cgus") or {}):
        result = result["cgus"][part]
    outcome = cgu_outcome(result)
    if outcome is None:
        return ok(phase)
    state = ((result.get("clusters") or {}).get(cluster) or {}).get("state")
    outcome["cluster_state"] = state
    if result.get("succeeded") or state in ("complete", "Completed") or (check_mode and not result.get("failed")):
        return ok(phase, cgu=outcome)
    reason = result.get("msg") or "the ClusterGroupUpgrade %s did not complete" % outcome.get("name")
    return failed(phase, "%s: %s (cluster state: %s)" % (cluster, reason, state or "not reached"), cgu=outcome)


def step_failure(results):
    """The message of the first step of the batch that failed for the whole batch (a run_once task that failed
    fails every host of the batch, and the phase's verdict then runs with what it had), or ''."""
    for name in sorted(results):
        result = results[name]
        if name in ("plan", "precheck") or not isinstance(result, dict) or not result.get("failed"):
            continue
        items = [r for r in result.get("results") or [] if isinstance(r, dict) and r.get("failed")]
        msg = (items[0].get("msg") if items else None) or result.get("msg") or "failed"
        return "%s: %s" % (name, redact(str(msg)))
    return ""


def gitops_failure(result):
    """The message of a failed ztp_gitops_batch, ztp_gitops_publish or ztp_argocd_sync result, or ''."""
    if result and result.get("failed"):
        return result.get("msg") or "the Git step failed"
    return ""


def node_verdicts(phase, cluster, nodes, batch_msg=""):
    """Verdict of one cluster from the ztp_install_wait results of its nodes; a node not done is named with its own
    error and the hub's cause, or where it stood when the wait ended (``batch_msg``: the wait's message)."""
    mine = [n for n in nodes or [] if n.get("cluster") == cluster]
    problems = []
    for node in mine:
        if node.get("ready"):
            continue
        where = "%s/%s" % (cluster, node.get("host"))
        cause = node.get("cause") or ""
        if node.get("error"):
            text = node["error"] + ("" if not cause or cause in node["error"] else " (%s)" % cause)
            problems.append("%s: %s" % (where, text))
        else:
            problems.append("%s: not %s, last state '%s'%s%s" % (
                where, "rendered" if phase == "node_addition" else "ready", node.get("state"),
                "; %s" % cause if cause else "", " (%s)" % batch_msg if batch_msg else ""))
    if problems:
        return failed(phase, "; ".join(problems), nodes=mine)
    return ok(phase, nodes=mine)


def cluster_record(host, verdicts, batch=None, operation="expand"):
    """The summary of one cluster of the play, from the verdicts of the phases it went through.

    ``verdicts``: phase -> verdict (absent phases did not run for it). The record is the shape of the fleet
    report and of the data handed to AWX; ``phase`` is ``done`` when every phase of ``operation`` passed."""
    record = {"cluster": None, "inventory_host": host, "batch": batch, "operation": operation, "ok": True, "phase": None,
              "msg": "", "cgu": {}, "nodes": [], "removed": [], "rotated": [], "paths": [], "policies": []}
    for verdict in verdicts.values():
        for key in ("policies_compliant", "worker_policies_removed"):
            if verdict.get(key) is not None:
                record[key] = verdict[key]
    for phase in ALL_PHASES:
        verdict = verdicts.get(phase)
        if not verdict:
            continue
        record["phase"] = phase
        record["cluster"] = verdict.get("cluster") or record["cluster"]
        for key in ("paths", "policies", "removed", "rotated"):
            for item in verdict.get(key) or []:
                if item not in record[key]:
                    record[key].append(item)
        if verdict.get("cgu"):
            record["cgu"]["selectors" if phase == "selector_checks" else "workers"] = verdict["cgu"]
        if verdict.get("nodes"):
            record["nodes"] = verdict["nodes"]
        if not verdict.get("ok"):
            record["ok"] = False
            record["msg"] = verdict.get("msg") or "%s failed" % phase
            break
    else:
        last = OPERATIONS[operation][-1]
        if record["phase"] == last and not verdicts[last].get("check_mode"):
            record["phase"] = "done"
    record["cluster"] = record["cluster"] or host
    return record


def node_summary(node):
    """One ztp_install_wait node result -> cluster, host, state, ready and seconds per stage."""
    return {"cluster": node.get("cluster"), "host": node.get("host"), "state": node.get("state"),
            "ready": bool(node.get("ready")), "cause": node.get("cause") or node.get("error") or "",
            "seconds": node.get("durations") or {}}


# ---- the selector decision -----------------------------------------------------------------------------------

PINNED = (("ptp", "the PTP daemons (PtpOperatorConfig)"), ("sriov", "the SR-IOV config daemon (SriovOperatorConfig)"))


def template_bindings(documents):
    """``[{match_labels, match_expressions}]`` of the policy templates (PolicyGenTemplate, PolicyGenerator) in a
    group template file: the clusters its policies are placed on."""
    out = []
    for document in documents or []:
        if isinstance(document, dict) and document.get("kind") in ("PolicyGenTemplate", "PolicyGenerator"):
            labels, expressions = policygen.worker_binding(document)
            out.append({"match_labels": labels, "match_expressions": expressions})
    return out


def label_selectors(bindings):
    """``label_selectors`` for kubernetes.core.k8s_info that narrow a ManagedCluster list to the bindings (their
    equality rules when there is one binding; the rest is matched in Python)."""
    if len(bindings) != 1:
        return []
    return ["%s=%s" % (key, value) for key, value in sorted(bindings[0]["match_labels"].items())]


def bound_clusters(bindings, managed_clusters):
    """Names of the ManagedClusters any of the bindings selects."""
    names = []
    for cluster in managed_clusters or []:
        meta = cluster.get("metadata") or {}
        if any(policygen.selects(meta.get("labels"), b["match_labels"], b["match_expressions"]) for b in bindings):
            names.append(str(meta.get("name")))
    return sorted(set(names))


def _named(names, limit=20):
    shown = ", ".join(names[:limit])
    return shown + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


def decide_selectors(requests, findings, bound=None):
    """Selector requests of a batch + what ztp_daemon_selectors_info found -> what the selector phase does.

    ``bound`` (path -> names of the ManagedClusters its group template binds, when read) widens the change: the
    override changes the group policy of every cluster bound to the template, not only the batch's. Clusters outside
    the batch are remediated too when the batch's requests name them all (``disruption_clusters``); with
    ``override_scope: batch`` they are left for their next ClusterGroupUpgrade (``left_behind``); otherwise the
    batch's clusters of that template stop, naming them, before anything is written.

    ``stops``: cluster -> what is pinned to master, for clusters without the disruption opt-in (they stop);
    ``edits``: one ``{path, ptp, sriov}`` per group template (what any cluster bound to it needs);
    ``clusters`` to remediate (``others``: those outside the batch) and the group ``policies`` to remediate them with."""
    stops, needing, missing = {}, [], []
    for request in requests:
        cluster = request["cluster"]
        if cluster not in findings:
            missing.append(cluster)
            continue
        needs = findings[cluster].get("needs_override") or {}
        pinned = [name for key, name in PINNED if needs.get(key)]
        if not pinned:
            continue
        if not request.get("allow_disruption"):
            stops[cluster] = pinned
            continue
        needing.append((request, needs))
    problems = {}
    for request, needs in needing:
        if not request.get("group_policy_path"):
            problems[request["cluster"]] = ("%s: needs a PTP/SR-IOV selector override but has no group policy template: set "
                                            "ztp_group_policy_path (the group PolicyGenTemplate or PolicyGenerator file, "
                                            "relative to the GitOps repository)" % request["cluster"])
    batch = set(r["cluster"] for r in requests)
    others, left_behind = [], {}
    for path in sorted(set(r.get("group_policy_path") for r, _n in needing if r["cluster"] not in problems)):
        outside = sorted(set((bound or {}).get(path) or []) - batch)
        if not outside:
            continue
        mine = [r for r, _n in needing if r.get("group_policy_path") == path]
        if all(r.get("override_scope") == "batch" for r in mine):
            left_behind[path] = outside
            continue
        accepted = set(c for r in mine for c in r.get("disruption_clusters") or [])
        unaccepted = [c for c in outside if c not in accepted]
        if not unaccepted:
            others.extend(c for c in outside if c not in others)
            continue
        for request in mine:
            problems[request["cluster"]] = (
                "%s: the selector override changes the group policy template %s, which also binds %d cluster(s) outside "
                "this batch: %s. The ClusterGroupUpgrade that applies it moves their PTP and SR-IOV daemons too (a brief "
                "loss of PTP sync and SR-IOV links on each). Name them in ztp_ptp_sriov_disruption_clusters to accept "
                "that and remediate them in this run, or set ztp_selector_override_scope=batch to remediate only this "
                "batch (they turn NonCompliant and take the change at their next ClusterGroupUpgrade). Nothing was "
                "written." % (request["cluster"], path, len(unaccepted), _named(unaccepted)))
    edits, policies = {}, []
    for request, needs in needing:
        if request["cluster"] in problems:
            continue
        edit = edits.setdefault(request["group_policy_path"], {"path": request["group_policy_path"], "ptp": False, "sriov": False})
        edit["ptp"] = edit["ptp"] or bool(needs.get("ptp"))
        edit["sriov"] = edit["sriov"] or bool(needs.get("sriov"))
        policies.extend(p for p in request.get("policies") or [] if p not in policies)
    decision = {"stops": stops, "problems": problems, "missing": missing,
                "edits": [edits[p] for p in sorted(edits)],
                "clusters": [r["cluster"] for r, dummy in needing if r["cluster"] not in problems] + others,
                "others": others, "left_behind": left_behind,
                "policies": policies}
    decision["cgu_name"] = change_name("ztp-selectors", [sorted(decision["clusters"]), decision["edits"], policies], policies)
    return decision


# ---- per-phase judges: (request, results of the phase's steps) -> verdict ------------------------------------

def judge_selector_checks(request, results):
    phase, cluster = "selector_checks", request["cluster"]
    decision = results.get("decide") or {}
    if cluster in (decision.get("stops") or {}):
        return failed(phase, "%s: %s still select node-role.kubernetes.io/master, so they would never run on the new "
                             "worker. Moving them to worker nodes briefly drops PTP synchronisation and SR-IOV links on "
                             "this cluster. Plan a window and set selector_checks_allow_disruption=true (or "
                             "ztp_allow_ptp_sriov_disruption=true) to let this run make the change."
                      % (cluster, " and ".join(decision["stops"][cluster])))
    if cluster in (decision.get("problems") or {}):
        return failed(phase, decision["problems"][cluster])
    if cluster in (decision.get("missing") or []):
        return failed(phase, "%s: its PTP and SR-IOV daemon selectors could not be read" % cluster)
    if cluster not in (decision.get("clusters") or []):
        return ok(phase)
    paths = [e["path"] for e in decision.get("edits") or [] if e["path"] == request.get("group_policy_path")]
    problem = gitops_failure(results.get("edits")) or gitops_failure(results.get("publish")) or gitops_failure(results.get("synced"))
    if problem:
        return failed(phase, "%s: %s" % (cluster, problem), paths=paths)
    verdict = cgu_cluster_verdict(phase, cluster, results.get("cgu"), results.get("check_mode"))
    verdict["paths"] = paths
    after = (results.get("after") or {}).get(cluster)
    if verdict.get("ok") and after is not None:
        needs = after.get("needs_override") or {}
        pinned = [name for key, name in PINNED if needs.get(key)]
        if pinned:
            return failed(phase, "%s: %s still select node-role.kubernetes.io/master after ClusterGroupUpgrade %s "
                                 "reported its policies compliant: the group policy that carries the override did not "
                                 "change them on the cluster. Check that policy's PtpOperatorConfig / SriovOperatorConfig "
                                 "entries (complianceType mustonlyhave) and its status on the cluster."
                          % (cluster, " and ".join(pinned), (verdict.get("cgu") or {}).get("name", "")), paths=paths,
                          cgu=verdict.get("cgu"))
    return verdict


def judge_policy_creation(request, results):
    phase, cluster = "policy_creation", request["cluster"]
    written = results.get("written") or {}
    mine = (written.get("clusters") or {}).get(cluster) or {}
    more = {"paths": mine.get("paths") or [], "policies": mine.get("policies") or worker_policy_names(request)}
    problem = gitops_failure(written) or gitops_failure(results.get("publish")) or gitops_failure(results.get("synced"))
    if problem:
        return failed(phase, "%s: %s" % (cluster, problem), **more)
    verdict = cgu_cluster_verdict(phase, cluster, results.get("cgu"), results.get("check_mode"))
    verdict.update(more)
    return verdict


def judge_node_addition(request, results):
    phase, cluster = "node_addition", request["cluster"]
    if "compliance" in results:  # the check before anything is written (ztp_policy_compliance_info's table)
        if request.get("skip_policy_check") or results.get("check_mode"):
            return ok(phase)
        compliance = (results.get("compliance") or {}).get(cluster, {})
        behind = [p for p in request.get("worker_policies") or [] if compliance.get(p) != "Compliant"]
        if behind:
            return failed(phase, "%s: worker policies not compliant yet: %s. A worker installed now would come up "
                                 "without workload partitioning and need a manual drain. Run the policy_creation role "
                                 "first (it remediates them with TALM), or set node_addition_skip_policy_check=true."
                          % (cluster, ", ".join("%s (%s)" % (p, compliance.get(p, "not bound")) for p in behind)))
        return ok(phase)
    written = results.get("written") or {}
    mine = (written.get("clusters") or {}).get(cluster) or {}
    more = {"paths": mine.get("paths") or []}
    problem = gitops_failure(written) or gitops_failure(results.get("publish")) or gitops_failure(results.get("synced"))
    if problem:
        return failed(phase, "%s: %s" % (cluster, problem), **more)
    rendered = results.get("rendered") or {}
    if rendered.get("skipped") or not rendered:
        return ok(phase, **more)
    if not rendered.get("nodes"):
        return failed(phase, "%s: %s" % (cluster, rendered.get("msg") or "the render wait failed"), **more)
    verdict = node_verdicts(phase, cluster, rendered["nodes"], rendered.get("msg", ""))
    verdict.pop("nodes", None)  # the install phase reports the nodes
    verdict.update(more)
    return verdict


def judge_install_verification(request, results):
    phase, cluster = "install_verification", request["cluster"]
    wait = results.get("wait") or {}
    if wait.get("skipped"):
        return ok(phase)
    if not wait.get("nodes"):
        return failed(phase, "%s: %s" % (cluster, wait.get("msg") or "the install wait failed"))
    return node_verdicts(phase, cluster, wait["nodes"], wait.get("msg", ""))


def _removal_waited(cluster, wait, check_mode):
    """Problems of ``cluster``'s nodes in a registered ztp_node_removal_wait result (each with its object and fix)."""
    if not wait or wait.get("skipped"):
        return []
    if wait.get("nodes") is None:
        return ["%s: %s" % (cluster, wait.get("msg") or "the wait on the hub failed")]
    done = ("done", "pending") if check_mode else ("done",)
    return ["%s/%s: %s" % (cluster, n.get("host"), n.get("message") or n.get("state"))
            for n in wait["nodes"] if n.get("cluster") == cluster and n.get("state") not in done]


def judge_node_removal(request, results):
    """The removal of a cluster's workers, judged after each wait on the hub (``stage``: the wait just done, so that the
    next step leaves the cluster out) and at the end of the phase."""
    phase, cluster = REMOVAL, request["cluster"]
    check_mode = bool(results.get("check_mode"))
    workers = request.get("remove", request.get("workers")) or []
    stage = results.get("stage")
    if stage == "bindings":
        return _judge_worker_policy_bindings(request, results)
    if stage:
        problems = _removal_waited(cluster, results.get(stage), check_mode)
        return failed(phase, "; ".join(problems)) if problems else ok(phase)
    status = [n for n in (results.get("status") or {}).get("nodes") or [] if n.get("cluster") == cluster]
    paths = sorted(set(n["path"] for n in status if n.get("path")))
    for step in ("annotated", "suppressed", "entries", "worker_policies", "publish", "synced"):
        problem = gitops_failure(results.get(step))
        if problem:
            return failed(phase, "%s: %s" % (cluster, problem), paths=paths)
    if check_mode:
        return ok(phase, paths=paths, removed=[], planned=list(workers), check_mode=True)
    entries = [n for n in (results.get("entries") or {}).get("nodes") or [] if n.get("cluster") == cluster]
    gone = [n.get("hostName") for n in entries if n.get("state") == "absent"]
    left = [w for w in workers if w not in gone]
    if left and workers:
        return failed(phase, "%s: %s still in %s after the removal" % (cluster, ", ".join(left), ", ".join(paths) or "Git"),
                      paths=paths)
    removed = [n.get("hostName") for n in entries if n.get("state") == "absent" and n.get("state_before") != "absent"]
    more = {}
    if request.get("host") in ((results.get("plan") or {}).get("policy_removals") or {}):
        more["worker_policies_removed"] = worker_policy_names(request)
    if request.get("host") in ((results.get("plan") or {}).get("last_worker") or []) and results.get("policies_after") is not None:
        gone = set(worker_policy_names(request)) if "worker_policies_removed" in more else set()
        before = (results.get("policies_before") or {}).get(cluster, {})
        after = dict((p, c) for p, c in (results.get("policies_after") or {}).get(cluster, {}).items() if p not in gone)
        broken = [p for p in sorted(after) if after[p] == "NonCompliant" and before.get(p) == "Compliant"]
        if broken:
            return failed(phase, "%s: its last worker was removed, and policies %s are NonCompliant now (they were Compliant "
                                 "before): the single-node cluster no longer passes them. Check each policy's status on "
                                 "the cluster (oc get policy -n %s) and fix the policy or the cluster"
                          % (cluster, ", ".join(broken), cluster), paths=paths, removed=removed, **more)
        return ok(phase, paths=paths, removed=removed, policies_compliant=sorted(p for p in after if after[p] == "Compliant"),
                  **more)
    return ok(phase, paths=paths, removed=removed, **more)


def _judge_worker_policy_bindings(request, results):
    """Before anything is written: a worker policy template to remove must bind no cluster but those losing it."""
    phase, cluster = REMOVAL, request["cluster"]
    plan = results.get("plan") or {}
    binding = (plan.get("bindings") or {}).get(request.get("host"))
    if not binding:
        return ok(phase)
    leaving = set(b["cluster"] for b in (plan.get("bindings") or {}).values() if b.get("path") == binding["path"])
    others = sorted(str((c.get("metadata") or {}).get("name")) for c in results.get("managed_clusters") or []
                    if policygen.selects((c.get("metadata") or {}).get("labels"), binding["match_labels"],
                                         binding["match_expressions"])
                    and (c.get("metadata") or {}).get("name") not in leaving)
    if others:
        named = ", ".join(others[:10]) + (" and %d more" % (len(others) - 10) if len(others) > 10 else "")
        return failed(phase, "%s: node_removal_worker_policies=remove, but the worker policy template %s also binds %s "
                             "(%s): removing it would take their worker policies too. Nothing was changed for %s. Keep "
                             "the worker policies (ztp_removal_worker_policies=keep), or give %s a worker policy template "
                             "of its own" % (cluster, binding["path"], named, _selector_text(binding), cluster, cluster))
    return ok(phase)


def _selector_text(binding):
    parts = ["%s=%s" % (k, v) for k, v in sorted(binding["match_labels"].items())]
    parts += ["%s %s %s" % (e.get("key"), e.get("operator"), ",".join(str(v) for v in e.get("values") or []))
              for e in binding["match_expressions"]]
    return ", ".join(parts)


# ---- the summary ---------------------------------------------------------------------------------------------

def batch_number(task, batch_hosts, all_hosts):
    """1-based number of the batch holding ``batch_hosts``, from the play's ``serial`` as Ansible cuts batches."""
    if not batch_hosts or batch_hosts[0] not in all_hosts:
        return 1
    start = all_hosts.index(batch_hosts[0])
    play = _play(task)
    serial = getattr(play, "serial", None) or [len(all_hosts)]
    if not isinstance(serial, list):
        serial = [serial]
    number, position, index = 1, 0, 0
    while position < start:
        size = _batch_size(serial[min(index, len(serial) - 1)], len(all_hosts))
        position += size
        index += 1
        number += 1
    return number


def _batch_size(value, total):
    value = str(value).strip()
    if value.endswith("%"):
        size = int(float(value[:-1]) / 100.0 * total)
    else:
        size = int(value)
    return max(1, size)


def unjudged_failure(host, record, validation, operation="expand"):
    """A host that failed although every verdict it got is ok: a step of the whole batch failed before the clusters
    were judged (the batch-wide validation, the checkout)."""
    if validation.get("failed"):
        lines = [line for line in (validation.get("errors") or []) if host in line or (record["cluster"] or "") in line]
        return {"ok": False, "phase": "validation",
                "msg": "; ".join(lines) or validation.get("msg") or "the batch-wide validation failed"}
    phases = OPERATIONS[operation]
    if record["phase"] in phases[:-1]:
        following = phases[phases.index(record["phase"]) + 1]
    else:
        following = record["phase"] or (ROTATION if operation == "rotate" else "checkout")  # rotation checks out nothing
    return {"ok": False, "phase": following,
            "msg": "a step of the batch failed before this cluster was judged; see the task output above"}


def summary_line(record):
    """One line per cluster for people: ``sno-a  done  2 worker(s) ready`` or the phase and the reason."""
    if record["ok"]:
        ready = sum(1 for n in record["nodes"] if n.get("ready"))
        what = "%d worker(s) ready" % ready if record["nodes"] else "ok"
        if record.get("removed"):
            what = "%d worker(s) removed%s" % (len(record["removed"]), ", " + what if record["nodes"] else "")
        if record.get("rotated"):
            what = "BMC credentials of %d host(s) rotated" % len(record["rotated"])
        if record.get("worker_policies_removed"):
            what += ", worker policies removed"
        if record.get("policies_compliant") is not None:
            what += ", single-node, %d policies still compliant" % len(record["policies_compliant"])
        return "%s: %s, %s" % (record["cluster"], record["phase"], what)
    return "%s: FAILED in %s: %s" % (record["cluster"], record["phase"], record["msg"])
