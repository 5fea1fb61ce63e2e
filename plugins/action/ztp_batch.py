# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_batch: plan a phase for the hosts of a batch, judge each cluster, and summarise the play (controller side)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen

from ansible_collections.ztp.sno_expand.plugins.module_utils import _siteconfig as siteconfig

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors
from ansible_collections.ztp.sno_expand.plugins.module_utils._yaml_load import plain
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _batch as batch
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._replacement import ReplacementError, replacement_plan
from ansible_collections.ztp.sno_expand.plugins.plugin_utils._validate import validate_against_docs

VERDICT_VAR = batch.VERDICT_VAR


# what the BMC Secrets of a node_addition request need: read apart, never registered
SECRET_CHECK_FIELDS = ("cluster", "namespace", "workers", "bmc_credentials", "bmc_username", "bmc_password",
                       "manage_bmc_secrets")


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = validate_against_docs(self, "ztp_batch")
        step = args["step"]
        if step in ("plan", "secrets", "verdict") and not args.get("phase"):
            raise AnsibleActionFail("phase is required with step: %s" % step)
        handler = getattr(self, "_" + step)
        result.update(handler(args, task_vars or {}))
        result.setdefault("changed", False)
        return result

    def _plan(self, args, task_vars):
        phase = args["phase"]
        earlier = batch.failed_earlier(task_vars, phase)
        hosts = [h for h in args["hosts"] if h not in earlier]
        requests, invalid = batch.read_requests(self, task_vars, phase, hosts)
        out = {"requests": dict((h, dict(r)) for h, r in requests.items()), "invalid": invalid,
               "hosts": [h for h in hosts if h in requests], "left_out": earlier}
        if phase == "selector_checks":
            out["through_hub"] = [r["cluster"] for r in requests.values() if not r["spoke_kubeconfig"]]
            out["through_spokes"] = [{"cluster": r["cluster"], "spoke_kubeconfig": r["spoke_kubeconfig"]}
                                     for r in requests.values() if r["spoke_kubeconfig"]]
            out["templates"] = self._group_templates(args.get("repo_dir"), [requests[h] for h in out["hosts"]])
            findings = plain((args.get("results") or {}).get("findings"))
            if findings is not None:
                bound = self._bound(out["templates"], plain((args.get("results") or {}).get("bound")))
                out["decision"] = batch.decide_selectors([requests[h] for h in out["hosts"]], findings, bound)
                if out["decision"]["left_behind"]:
                    out["warnings"] = [
                        "%s also binds %s, outside this batch: with ztp_selector_override_scope=batch they are not "
                        "remediated now; they turn NonCompliant with the changed policies and take the change (and its "
                        "brief PTP/SR-IOV disruption) at their next ClusterGroupUpgrade naming them."
                        % (path, ", ".join(names)) for path, names in sorted(out["decision"]["left_behind"].items())]
        elif phase == "policy_creation":
            out["policy_namespaces"] = sorted(set(
                str((requests[h].get("worker_policy") or {}).get("namespace")) for h in out["hosts"]
                if (requests[h].get("worker_policy") or {}).get("namespace")))
            batch_requests = [requests[h] for h in out["hosts"]]
            out["cgu_max_concurrency"], warning = batch.batch_wide(batch_requests, "cgu_max_concurrency",
                                                                   "policy_creation_cgu_max_concurrency", min, 50)
            if warning:
                out["warnings"] = [warning]
            out["cgu_parts"] = batch.cgu_parts("ztp-workers", batch_requests, out["cgu_max_concurrency"])
        elif phase == "node_addition":
            secrets, dummy = batch.BatchVars(self, task_vars).requests(phase, out["hosts"], fields=SECRET_CHECK_FIELDS)
            for host, request in requests.items():
                out["requests"][host]["worker_policies"] = batch.worker_policy_names(request)
                missing = batch.missing_bmc_credentials(secrets.get(host) or request)
                if missing:
                    invalid[host] = (
                        "%s: no BMC credentials for %s. Give ztp_bmc_credentials['<hostName>'] (username, password) or "
                        "ztp_bmc_username/ztp_bmc_password, for example from Ansible Vault or an AWX credential, or set "
                        "node_addition_manage_bmc_secrets=false if the Secrets exist already"
                        % (request["cluster"], ", ".join(str(m) for m in missing)))
            out["hosts"] = [h for h in out["hosts"] if h not in invalid]
            checked = [r for h, r in requests.items()
                       if h in out["hosts"] and not r["skip_policy_check"] and (r.get("worker_policy") or {}).get("namespace")]
            out["policy_namespaces"] = sorted(set(r["worker_policy"]["namespace"] for r in checked))
            out["policy_clusters"] = sorted(set(r["cluster"] for r in checked))
            out["nodes"] = [dict({"cluster": r["cluster"], "host": w.get("hostName")},
                                 **({"namespace": r["namespace"]} if r.get("namespace") else {}))
                            for h, r in requests.items() if h in out["hosts"] for w in r["workers"]]
        elif phase == batch.REMOVAL:
            out.update(self._removal_plan(args, requests, invalid, out["hosts"]))
            out["hosts"] = [h for h in out["hosts"] if h not in invalid]
        elif phase == "install_verification":
            out["nodes"] = []
            for host in out["hosts"]:
                request = requests[host]
                for name in request["hosts"]:
                    node = {"cluster": request["cluster"], "host": name}
                    if request.get("namespace"):
                        node["namespace"] = request["namespace"]
                    out["nodes"].append(node)
        return out

    @staticmethod
    def _group_templates(repo_dir, requests):
        """Per group template of the batch, the clusters it binds (``bindings``) and the ``label_selectors`` that
        narrow the read of ManagedClusters to them. A file that cannot be read is left to the edit to report."""
        templates = []
        for path in sorted(set(r.get("group_policy_path") for r in requests if r.get("group_policy_path"))):
            if not repo_dir:
                break
            try:
                full = os.path.join(repo_dir, path)
                bindings = batch.template_bindings(policygen.load_documents(yaml_files.read_text(full)[0], full))
            except (ZtpInputError, yaml_load.YamlEditError, IOError, OSError):
                continue
            if bindings:
                templates.append({"path": path, "bindings": bindings, "label_selectors": batch.label_selectors(bindings)})
        return templates

    @staticmethod
    def _bound(templates, read):
        """path -> the ManagedClusters its template binds, from the registered k8s_info loop (``read``), if any."""
        if not read:
            return None
        by_path = dict((t["path"], t["bindings"]) for t in templates)
        bound = {}
        for entry in read.get("results") or []:
            path = (entry.get("item") or {}).get("path")
            if path in by_path and not entry.get("skipped") and not entry.get("failed"):
                bound[path] = batch.bound_clusters(by_path[path], entry.get("resources"))
        return bound

    def _removal_plan(self, args, requests, invalid, hosts):
        """Per host, the removal-module entry of its cluster (``removals``); with ``replace``, the workers whose failed
        hardware is removed first, from the cluster file in Git and the hub's ManagedClusterInfos (``replacements``);
        the clusters whose last worker goes (``last_worker``), whose policies are checked after the removal."""
        results = plain(args.get("results") or {})
        clusters, replacements, lines, last = {}, {}, [], []
        files = {}  # path -> (text, documents): a file of many clusters is read and parsed once
        for host in hosts:
            request = requests[host]
            workers = request["workers"]
            if not workers:
                request["remove"] = []
                continue
            if not args.get("repo_dir"):
                raise AnsibleActionFail("repo_dir is required to plan a removal")
            try:
                plan = self._removal_of(request, os.path.join(args["repo_dir"], request["cluster_file"]), results, files)
            except (ReplacementError, ZtpInputError, ZtpInputErrors, yaml_load.YamlEditError, IOError, OSError) as error:
                plan = {"errors": [str(error)]}
            if plan.get("last"):
                last.append(host)
            if plan["errors"]:
                invalid[host] = "%s: %s" % (request["cluster"], "; ".join(plan["errors"]))
                continue
            if request.get("replace"):
                replacements[host] = plan
                lines.append("%s: %sremove: %s; add again: %s; already %s: %s" % (
                    request["cluster"], "reinstall generation %s, " % request["reinstall_generation"]
                    if request.get("reinstall_generation") else "", ", ".join(plan["remove"]) or "-",
                    ", ".join(plan["add"]) or "-", "reinstalled" if request.get("reinstall_generation") else "replaced",
                    ", ".join(plan["replaced"]) or "-"))
            workers = request["remove"] = plan["remove"]
            if workers:
                entry = {"path": request["cluster_file"], "cluster": request["cluster"], "workers": workers}
                if request.get("namespace"):
                    entry["namespace"] = request["namespace"]
                clusters[host] = entry
        policy_removals, bindings = self._worker_policy_removals(args["repo_dir"] if last else None, requests, invalid,
                                                                 [h for h in last if h in clusters], clusters)
        last = [h for h in last if h in clusters and h not in invalid]
        return {"removals": clusters, "replacements": replacements, "lines": lines,
                "last_worker": last, "last_worker_clusters": sorted(set(requests[h]["cluster"] for h in last)),
                "policy_removals": policy_removals, "bindings": bindings,
                "requests": dict((h, batch.public(r)) for h, r in requests.items() if h not in invalid)}

    @staticmethod
    def _removal_of(request, path, results, files):
        """``{remove, errors}`` of one cluster (and ``last`` when no worker stays), or a replacement's plan."""
        if path not in files:
            text = yaml_files.read_text(path)[0]
            files[path] = (text, None if request.get("replace") else yaml_load.load_documents(text))
        text, documents = files[path]
        workers = request["workers"]
        if request.get("replace"):
            return replacement_plan(text, request["cluster"], workers, request.get("new_workers"), results.get("cluster_info"),
                                    request["cluster_file"], request.get("default_template_refs"),
                                    request.get("reinstall_generation"))
        if documents is None:
            documents = yaml_load.load_documents(text)
            files[path] = (text, documents)
        ref = siteconfig.find_cluster(documents, request["cluster"], request["cluster_file"])
        masters = [n.get("hostName") for n in ref.nodes if isinstance(n, dict) and siteconfig.is_master(n)]
        staying = [n.get("hostName") for n in ref.nodes if not siteconfig.is_master(n) and n.get("hostName") not in workers]
        return {"remove": workers, "last": not staying, "errors": [str(ZtpInputError(
            "node_removal_workers", name, "the hostName of a worker: %s is the master of cluster %s, which is never "
            "removed; take it out of ztp_remove_workers" % (name, request["cluster"]), request["cluster_file"]))
            for name in workers if name in masters]}

    @staticmethod
    def _worker_policy_removals(repo_dir, requests, invalid, last, clusters):
        """For the clusters losing their last worker with ``node_removal_worker_policies: remove``, the removal-module
        entry of their worker policy template (``policy_removals``) and the clusters it binds (``bindings``), checked
        on the hub before anything is written. A template already gone is not listed."""
        removals, bindings = {}, {}
        keys = ("path", "name", "namespace", "format", "kustomization", "policy_name")
        for host in last:
            request = requests[host]
            if request.get("worker_policy_choice") != "remove":
                continue
            policy = request.get("worker_policy") or {}
            if not policy.get("path") or not policy.get("name"):
                invalid[host] = ("%s: node_removal_worker_policies=remove needs the worker policy template to remove: "
                                 "node_removal_worker_policy (ztp_worker_policy) with path and name; it is %r. Give "
                                 "them, or keep the worker policies (ztp_removal_worker_policies=keep)"
                                 % (request["cluster"], dict((k, policy.get(k)) for k in ("path", "name"))))
                continue
            try:
                dummy, text, document = policygen.read_worker_file(policy, repo_dir)
            except (ZtpInputError, ZtpInputErrors, yaml_load.YamlEditError, IOError, OSError) as error:
                invalid[host] = "%s: %s" % (request["cluster"], error)
                continue
            if text is None:
                continue
            match_labels, match_expressions = policygen.worker_binding(document)
            entry = dict(clusters[host])
            entry["worker_policy"] = dict((k, policy[k]) for k in keys if policy.get(k) is not None)
            removals[host] = entry
            bindings[host] = {"cluster": request["cluster"], "path": policy["path"], "match_labels": match_labels,
                              "match_expressions": match_expressions}
        return removals, bindings

    def _secrets(self, args, task_vars):
        requests, dummy = batch.BatchVars(self, task_vars).requests(args["phase"], args["hosts"], fields=SECRET_CHECK_FIELDS)
        secrets = []
        for request in requests.values():
            if request.get("manage_bmc_secrets"):
                secrets.extend(batch.bmc_secrets(request, request.get("namespace")))
        return {"secrets": secrets}

    def _verdict(self, args, task_vars):
        phase = args["phase"]
        results = plain(args.get("results") or {})
        plan = results.get("plan") or {}
        results["check_mode"] = bool(self._task.check_mode)
        verdicts = {}
        for host, msg in (plan.get("invalid") or {}).items():
            verdicts[host] = batch.failed(phase, msg)
        # clusters stopped by an earlier step of the same phase keep that verdict
        for host, verdict in ((results.get("precheck") or {}).get("verdicts") or {}).items():
            if not verdict.get("ok"):
                verdicts[host] = verdict
        judge = getattr(batch, "judge_" + phase)
        step_failure = batch.step_failure(results)
        for host in plan.get("hosts") or []:
            if host in verdicts:
                continue
            request = (plan.get("requests") or {}).get(host) or {}
            verdict = judge(request, results)
            if verdict["ok"] and step_failure:
                verdict = batch.failed(phase, "%s: %s" % (request.get("cluster"), step_failure))
            verdict["cluster"] = request.get("cluster")
            verdicts[host] = verdict
        return {"verdicts": verdicts, "passed": [h for h in plan.get("hosts") or [] if verdicts.get(h, {}).get("ok")],
                "failed_hosts": dict((h, v["msg"]) for h, v in verdicts.items() if not v["ok"])}

    def _start(self, args, task_vars):
        """The hosts and number of the batch, and every phase's requests, read once for the batch."""
        variables = batch.BatchVars(self, task_vars)
        requests = {}
        for phase in [p for p in batch.OPERATIONS[args["operation"]] if p in batch.REQUEST_VARS]:
            planned, invalid = variables.requests(phase, args["hosts"])
            requests[phase] = {"requests": dict((h, batch.public(r)) for h, r in planned.items()), "invalid": invalid}
        return {"hosts": args["hosts"], "requests": requests, "operation": args["operation"],
                "batch": batch.batch_number(self._task, args["hosts"], task_vars.get("ansible_play_hosts_all") or [])}

    def _summary(self, args, task_vars):
        hosts = args["hosts"]
        results = plain(args.get("results") or {})
        active = set(results.get("active") or hosts)
        validation = results.get("validation") or {}
        operation = args["operation"]
        phases = batch.OPERATIONS[operation]
        own = dict((phase, (task_vars.get(VERDICT_VAR % phase) or {}).get("verdicts") or {}) for phase in phases)
        hostvars = task_vars.get("hostvars") or {}
        records = []
        for host in hosts:
            verdicts = {}
            for phase in phases:
                verdict = own[phase].get(host)
                if verdict is None and host in hostvars:
                    # this host's own registration: the run_once host may have left the batch before that phase
                    registered = hostvars[host].get(VERDICT_VAR % phase) or {}
                    verdict = plain((registered.get("verdicts") or {}).get(host))
                if verdict:
                    verdicts[phase] = verdict
            record = batch.cluster_record(host, verdicts, args.get("batch"), operation)
            if host not in active and record["ok"]:
                record.update(batch.unjudged_failure(host, record, validation, operation))
            records.append(record)
        totals = {"clusters": len(records), "ok": sum(1 for r in records if r["ok"]),
                  "failed": sum(1 for r in records if not r["ok"])}
        return {"clusters": records, "totals": totals, "lines": [batch.summary_line(r) for r in records],
                "failed_hosts": dict((r["inventory_host"], r["msg"]) for r in records if not r["ok"]),
                "line_of": dict((r["inventory_host"], batch.summary_line(r)) for r in records),
                "stats": dict((r["cluster"], {"ok": r["ok"], "operation": operation, "phase": r["phase"], "msg": r["msg"],
                                              "cgu": r["cgu"], "removed": r["removed"], "rotated": r["rotated"],
                                              "workers": [batch.node_summary(n) for n in r["nodes"]]}) for r in records)}
