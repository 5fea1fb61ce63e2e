# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch layer's one mapping from the inventory to per-cluster requests, through ansible-playbook: inventory
variables, role defaults and what the play sets on the roles, the same for the batch-wide validation and for the
phase that writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PLAYBOOK = """
- name: Plan a batch the way expand_sno.yml does, without the hub
  hosts: sno_clusters
  gather_facts: false
  tasks:
    - name: Batch-wide validation (requests from the inventory)
      ztp.sno_expand.ztp_gitops_batch:
        repo_dir: "{{ repo }}"
        hosts: "{{ ansible_play_batch }}"
      run_once: true
      check_mode: true
      diff: true
      register: validation
      ignore_errors: true

    - name: Plan of the node_addition phase
      ztp.sno_expand.ztp_batch:
        step: plan
        phase: node_addition
        hosts: "{{ ansible_play_batch }}"
      run_once: true
      register: nodes_plan

    - name: Read the requests of every phase once, as the playbook does at the start of a batch
      ztp.sno_expand.ztp_batch:
        step: start
        hosts: "{{ ansible_play_batch }}"
      run_once: true
      register: ztp_batch_start

    - name: Plan of the node_addition phase from the requests read at the start
      ztp.sno_expand.ztp_batch:
        step: plan
        phase: node_addition
        hosts: "{{ ansible_play_batch }}"
      run_once: true
      register: nodes_plan_from_start

    - name: Plan of the policy_creation phase
      ztp.sno_expand.ztp_batch:
        step: plan
        phase: policy_creation
        hosts: "{{ ansible_play_batch }}"
      run_once: true
      register: policies_plan

    - name: Write pass, in check mode, from the plans as the roles do
      ztp.sno_expand.ztp_gitops_batch:
        repo_dir: "{{ repo }}"
        clusters: "{{ (policies_plan.requests.values() | list) + (nodes_plan.requests.values() | list) }}"
      run_once: true
      check_mode: true
      diff: true
      register: written

    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ {'validation': validation, 'written': written, 'nodes': nodes_plan, 'policies': policies_plan,
                      'nodes_from_start': nodes_plan_from_start, 'start': ztp_batch_start} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
      run_once: true
      check_mode: false

    # The roles are part of the play (their tasks never run here), so the plans see what the play sets on them.
    - name: The node_addition role, with an override set by the play
      ansible.builtin.import_role:
        name: ztp.sno_expand.node_addition
      vars:
        node_addition_default_template_refs: [{name: templates-from-the-play, namespace: open-cluster-management}]
        node_addition_workers: "{{ ztp_workers | map('combine', {'bootMode': 'UEFISecureBoot'}) | list }}"
      when: false

    - name: The policy_creation role
      ansible.builtin.import_role:
        name: ztp.sno_expand.policy_creation
      when: false
"""


def _run(tmp_path, extra_host_vars=None, playbook=PLAYBOOK):
    # the demo inventory (plugin configuration, workers file, group_vars) with host_vars of the test beside it
    inventory = tmp_path / "inventory"
    shutil.copytree(os.path.join(REPO, "inventory", "demo"), str(inventory))
    for host, more in (extra_host_vars or {}).items():
        (inventory / "host_vars").mkdir(exist_ok=True)
        (inventory / "host_vars" / ("%s.yml" % host)).write_text(yaml.safe_dump(more))
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(REPO, "testhub", "gitops-seed"), str(repo))
    play = tmp_path / "play.yml"
    play.write_text(playbook)
    out = tmp_path / "out.json"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ZTP_DEMO_BMC_PASSWORD="not-shown-anywhere",
               ANSIBLE_NOCOLOR="1", ZTP_GITOPS_REPO=str(repo))
    env.pop("ZTP_WORKERS_FILE", None)
    config = inventory / "demo.sno_fleet.yml"
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(config), str(play),
                           "-e", "repo=%s out=%s" % (repo, out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "not-shown-anywhere" not in proc.stdout + proc.stderr
    return json.loads(out.read_text()), repo


def test_validation_and_write_passes_plan_the_same_files_with_role_level_overrides(tmp_path):
    refs = [{"name": "my-node-templates", "namespace": "open-cluster-management"}]
    results, repo = _run(tmp_path, {"sno-c": {"ztp_default_template_refs": refs}})
    validation, written = results["validation"], results["written"]
    assert not validation.get("failed") and not written.get("failed"), (validation.get("msg"), written.get("msg"))
    before = dict((d["before_header"], d["after"]) for d in validation["diff"])
    after = dict((d["before_header"], d["after"]) for d in written["diff"])
    assert sorted(before) == sorted(after) and before == after  # every file, byte for byte
    assert sorted(os.path.relpath(p, str(repo)) for p in before) == sorted(validation["paths"])
    # the override set on the role by the play wins over the inventory's default, in both passes
    ci = yaml.safe_load(before[os.path.join(str(repo), "clusterinstance", "sno-c.yaml")])
    new = [n for n in ci["spec"]["nodes"] if n.get("role") == "worker"]
    assert new and all(n["templateRefs"] == [{"name": "templates-from-the-play", "namespace": "open-cluster-management"}]
                       for n in new)
    assert all(n["bootMode"] == "UEFISecureBoot" for n in new)
    # nothing was written: check mode
    assert not (repo / "policygentemplates" / "sno-a-workers.yaml").exists()


def test_plans_carry_requests_without_secrets_and_the_worker_policies(tmp_path):
    results, dummy = _run(tmp_path)
    plan = results["nodes"]
    assert sorted(plan["hosts"]) == ["sno-a", "sno-b", "sno-c"] and plan["invalid"] == {}
    request = plan["requests"]["sno-a"]
    assert request["cluster"] == "sno-a" and request["cluster_file"] == "siteconfig/sno-a.yaml"
    assert request["worker_policies"] == ["sno-a-workers-config-policy"]
    assert "bmc_password" not in request and "bmc_credentials" not in request
    assert all(w["bootMode"] == "UEFISecureBoot" for w in request["workers"])
    # the plugin gives the cluster's namespace (ztp_cluster_namespace), which the install wait watches
    assert {"cluster": "sno-a", "host": "sno-a-worker-0.ran.example.com", "namespace": "sno-a"} in plan["nodes"]
    assert plan["policy_namespaces"] == sorted(set(plan["policy_namespaces"]))
    assert results["nodes_from_start"]["requests"] == plan["requests"]  # read at the start or on the spot: the same
    assert results["start"]["batch"] == 1 and sorted(results["start"]["hosts"]) == ["sno-a", "sno-b", "sno-c"]
    assert "not-shown-anywhere" not in json.dumps(results)
    policies = results["policies"]["requests"]
    assert policies["sno-a"]["worker_policy"]["name"] == "sno-a-workers"
    assert policies["sno-a"]["policies_before"] == ["group-du-sno-config-policy"]


def test_the_cgu_chain_of_a_batch_takes_one_concurrency_and_warns_about_clusters_that_differ(tmp_path):
    results, dummy = _run(tmp_path, {"sno-a": {"ztp_cgu_max_concurrency": 2}, "sno-c": {"ztp_cgu_max_concurrency": 1}})
    plan = results["policies"]
    assert plan["cgu_max_concurrency"] == 1  # the smallest: no CGU of the chain exceeds what any cluster asked
    assert [p["clusters"] for p in plan["cgu_parts"]] == [[plan["requests"][h]["cluster"]] for h in plan["hosts"]]
    assert len(plan["warnings"]) == 1 and "policy_creation_cgu_max_concurrency" in plan["warnings"][0]
    assert "sno-a (2)" in plan["warnings"][0] and "sno-b (" in plan["warnings"][0] and "sno-c (" not in plan["warnings"][0]
    clusters = [plan["requests"][h]["cluster"] for h in plan["hosts"]]
    for part in plan["cgu_parts"]:  # each part names its own cluster's worker policy, no other cluster's
        mine = ["%s-workers-config-policy" % c for c in part["clusters"]]
        others = ["%s-workers-config-policy" % c for c in clusters if c not in part["clusters"]]
        assert set(mine) <= set(part["managed_policies"]) and not set(others) & set(part["managed_policies"])
    same, dummy = _run(tmp_path / "again", {})
    assert "warnings" not in same["policies"] and len(same["policies"]["cgu_parts"]) == 1
    plan = same["policies"]
    assert plan["cgu_parts"][0]["clusters"] == [plan["requests"][h]["cluster"] for h in plan["hosts"]]


def test_wrong_variables_are_named_with_the_role_variable_before_anything_is_written(tmp_path):
    results, dummy = _run(tmp_path, {"sno-b": {"ztp_workers": "not-a-list"}})
    plan = results["nodes"]
    assert "sno-b" in plan["invalid"] and "node_addition_workers" in plan["invalid"]["sno-b"]
    assert plan["invalid"]["sno-b"].startswith("sno-b: ")
    validation = results["validation"]
    assert validation["failed"] and "node_addition_workers" in validation["msg"] and "nothing was written" in validation["msg"]


def test_a_play_without_the_phase_roles_reads_their_defaults_templated(tmp_path):
    # a play of the user's own (benchmarks/playbooks/git_phase.yml is one) calls the batch modules without the roles:
    # the roles' defaults, which are templates over the ztp_* variables, must be rendered for each host
    own_play = PLAYBOOK.split("    # The roles are part of the play", maxsplit=1)[0]
    results, repo = _run(tmp_path, playbook=own_play)
    validation = results["validation"]
    assert not validation.get("failed"), validation.get("msg")
    assert results["nodes"]["invalid"] == {} and sorted(results["nodes"]["hosts"]) == ["sno-a", "sno-b", "sno-c"]
    ci = yaml.safe_load(dict((d["before_header"], d["after"]) for d in validation["diff"])[
        os.path.join(str(repo), "clusterinstance", "sno-c.yaml")])
    # without the play's override, the inventory's boot mode and template references apply
    assert all(n["bootMode"] != "UEFISecureBoot" for n in ci["spec"]["nodes"] if n.get("role") == "worker")
