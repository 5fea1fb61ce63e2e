"""The whole procedure, run by ansible-playbook against a real API server with the hub simulator and a real Git remote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SNO_B_WORKER = "sno-b-worker-0.ran.example.com"


def _worker_ready(fleet, cluster: str, host: str) -> bool:
    for info in fleet.items("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo", cluster):
        for node in (info.get("status") or {}).get("nodeList") or []:
            if node["name"] == host:
                conditions = {c["type"]: c["status"] for c in node.get("conditions") or []}
                return conditions.get("Ready") == "True" and "node-role.kubernetes.io/worker" in (node.get("labels") or {})
    return False


def _bmh_state(fleet, cluster: str, host: str) -> str | None:
    for bmh in fleet.items("metal3.io/v1alpha1", "BareMetalHost", cluster):
        if bmh["metadata"]["name"] == host:
            return ((bmh.get("status") or {}).get("provisioning") or {}).get("state")
    return None


def test_one_cluster_from_untouched_repository_to_ready_worker(fleet):
    result = fleet.play("--limit", "sno-b")
    assert result.rc == 0, result.output[-6000:]

    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()]
    assert "Add worker policies for sno-b" in subjects
    assert "Add workers to sno-b" in subjects
    siteconfig = yaml.safe_load(fleet.remote_file("siteconfig/sno-b.yaml"))
    hosts = [node["hostName"] for node in siteconfig["spec"]["clusters"][0]["nodes"]]
    assert hosts == ["sno-b-master-0.ran.example.com", SNO_B_WORKER]
    kustomization = yaml.safe_load(fleet.remote_file("policygentemplates/kustomization.yaml"))
    assert "sno-b-workers.yaml" in kustomization["generators"]

    secrets = {s["metadata"]["name"] for s in fleet.items("v1", "Secret", "sno-b")}
    assert "sno-b-worker-0-bmc-secret" in secrets
    cgus = fleet.items("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade", "default")
    assert any("sno-b-workers-config-policy" in cgu["spec"]["managedPolicies"] for cgu in cgus)
    assert _bmh_state(fleet, "sno-b", SNO_B_WORKER) == "provisioned"
    assert _worker_ready(fleet, "sno-b", SNO_B_WORKER)

    # TALM's progress and the install stages are printed while the waits run, before each task's own result line.
    cgu_task = result.output.index("Remediate the worker policies of the batch with TALM")
    talm = result.output[cgu_task:result.output.index("[sno-b]", cgu_task)]
    assert any(line.split()[1:3] == ["sno-b", "sno-b-workers-config-policy"] for line in talm.splitlines() if len(line.split()) > 2), talm
    # Stages are printed while the wait runs, before the task's own result line.
    wait_task = result.output.index("Wait for the workers of the batch to install")
    live = result.output[wait_task:result.output.index("ok: [sno-b]", wait_task)]
    assert "sno-b/" + SNO_B_WORKER in live and "Agent Writing image to disk" in live and "BareMetalHost provisioned" in live

    again = fleet.play("--limit", "sno-b")
    assert again.rc == 0, again.output[-6000:]
    assert again.changed("sno-b") == 0, again.output[-6000:]


def test_a_later_change_of_the_worker_policy_gets_its_own_cgu_that_remediates_it(fleet):
    """A second expansion months later, with a new hardware profile for the worker policy: the CGU of the first run is
    finished and TALM never runs a finished CGU again, so the change gets a CGU of its own, which finds the changed
    policy NonCompliant and remediates it; a rerun of the same change finds that CGU and changes nothing."""
    first = fleet.play("--limit", "sno-b")
    assert first.rc == 0, first.output[-6000:]
    inventory = subprocess.run(["ansible-inventory", "-i", fleet.inventory, "--host", "sno-b"], cwd=REPO, env=fleet.env(),
                               stdout=subprocess.PIPE, text=True, check=True)
    policy = json.loads(inventory.stdout)["ztp_worker_policy"]
    changed = {"default_size": "1G", "pages": [{"size": "1G", "count": 16}]}
    assert policy.get("hugepages") != changed, policy
    policy["hugepages"] = changed
    later = os.path.join(fleet.workdir, "later.yml")
    with open(later, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"hosts": {"sno-b": {"ztp_worker_policy": policy}}}}, handle)

    second = fleet.play("--limit", "sno-b", "-i", later)
    assert second.rc == 0, second.output[-6000:]
    cgus = sorted((c for c in fleet.playbook_cgus() if "sno-b-workers-config-policy" in c["spec"]["managedPolicies"]),
                  key=lambda c: c["metadata"]["creationTimestamp"])
    assert len(cgus) == 2 and cgus[0]["metadata"]["name"] != cgus[1]["metadata"]["name"], [c["metadata"] for c in cgus]
    status = cgus[1]["status"]
    assert "sno-b-workers-config-policy" in [p["name"] for p in status.get("managedPoliciesForUpgrade") or []], status
    assert "sno-b-workers-config-policy" not in (status.get("managedPoliciesCompliantBeforeUpgrade") or []), status
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"] if c["type"] == "Succeeded"] == \
        [("Succeeded", "True", "Completed")], status
    assert "count: 16" in fleet.remote_file("policygentemplates/sno-b-workers.yaml")

    again = fleet.play("--limit", "sno-b", "-i", later)
    assert again.rc == 0 and again.changed("sno-b") == 0, again.output[-6000:]
    assert len([c for c in fleet.playbook_cgus() if "sno-b-workers-config-policy" in c["spec"]["managedPolicies"]]) == 2


def test_a_batch_larger_than_the_cgu_concurrency_gets_a_chain_of_cgus_each_with_its_own_policies(fleet):
    """TALM reads every policy of a CGU for every cluster of it (a GET each), so a batch whose clusters have policies of
    their own gets one CGU per TALM batch (ztp_cgu_max_concurrency clusters), each naming its own clusters' policies,
    each blocked by the one before in TALM's partial completion mode; a rerun finds them and changes nothing."""
    result = fleet.play("--limit", "sno-b,sno-c", extra_vars={"ztp_cgu_max_concurrency": 1})
    assert result.rc == 0, result.output[-8000:]
    cgus = [c for c in fleet.playbook_cgus() if any(p.endswith("-workers-config-policy") for p in c["spec"]["managedPolicies"])]
    assert len(cgus) == 2, [c["metadata"]["name"] for c in cgus]
    by_cluster = dict((c["spec"]["clusters"][0], c) for c in cgus)
    assert sorted(by_cluster) == ["sno-b", "sno-c"] and all(len(c["spec"]["clusters"]) == 1 for c in cgus)
    for cluster, cgu in by_cluster.items():
        others = [p for p in cgu["spec"]["managedPolicies"] if p.startswith("sno-") and not p.startswith(cluster + "-")]
        assert others == [] and "%s-workers-config-policy" % cluster in cgu["spec"]["managedPolicies"], cgu["spec"]
        assert [(c["type"], c["status"], c["reason"]) for c in cgu["status"]["conditions"] if c["type"] == "Succeeded"] == \
            [("Succeeded", "True", "Completed")], cgu["status"]
    first, second = sorted(cgus, key=lambda c: len(c["spec"].get("blockingCRs") or []))
    assert second["spec"]["blockingCRs"] == [{"name": first["metadata"]["name"], "namespace": first["metadata"]["namespace"]}]
    assert second["metadata"]["annotations"]["ran.openshift.io/blocking-cgu-completion-mode"] == "partial"
    for cluster, host in (("sno-b", SNO_B_WORKER), ("sno-c", "sno-c-worker-0.ran.example.com")):
        assert _worker_ready(fleet, cluster, host), cluster

    again = fleet.play("--limit", "sno-b,sno-c", extra_vars={"ztp_cgu_max_concurrency": 1})
    assert again.rc == 0 and again.changed("sno-b") == 0 and again.changed("sno-c") == 0, again.output[-6000:]
    assert sorted(c["metadata"]["name"] for c in fleet.playbook_cgus()
                  if any(p.endswith("-workers-config-policy") for p in c["spec"]["managedPolicies"])) == \
        sorted(c["metadata"]["name"] for c in cgus)


def test_a_new_worker_policy_namespace_is_declared_in_git_with_its_binding(fleet):
    """sno-b's worker policies go into a namespace neither Git nor the hub has. ArgoCD creates no namespace Git does not
    declare, and without a ManagedClusterSetBinding TALM's Placements select no cluster: the run adds both to the
    policies' ns.yaml (a List: new items, comments kept) in the worker policies' commit, and the worker installs."""
    inventory = os.path.join(fleet.workdir, "inventory")
    shutil.copytree(os.path.join(REPO, "inventory", "demo"), inventory)
    fleet.inventory = os.path.join(inventory, "demo.sno_fleet.yml")
    with open(fleet.inventory, "a", encoding="utf-8") as handle:
        handle.write("worker_policy_namespace: ztp-workers\n")
    seed_ns = fleet.remote_file("policygentemplates/ns.yaml")
    result = fleet.play("--limit", "sno-b")
    assert result.rc == 0, result.output[-6000:]
    assert "the worker policy namespace ztp-workers is declared neither in Git nor on the hub" in " ".join(result.output.split())

    ns_text = fleet.remote_file("policygentemplates/ns.yaml")
    assert ns_text.startswith(seed_ns), ns_text
    items = yaml.safe_load(ns_text)["items"]
    assert {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ztp-workers"}} in items
    assert {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSetBinding",
            "metadata": {"name": "global", "namespace": "ztp-workers"}, "spec": {"clusterSet": "global"}} in items
    clone = os.path.join(fleet.workdir, "check")
    subprocess.run(["git", "clone", "-q", fleet.hub.git_url, clone], check=True)
    log = subprocess.run(["git", "log", "--format=%s", "--name-only", "-1", "--grep", "Add worker policies for sno-b"],
                         cwd=clone, stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    assert "policygentemplates/ns.yaml" in log and "policygentemplates/sno-b-workers.yaml" in log, log
    policies = {p["metadata"]["name"]: p for p in fleet.items("policy.open-cluster-management.io/v1", "Policy", "ztp-workers")}
    assert "sno-b-workers-config-policy" in policies, sorted(policies)
    statuses = {s["clustername"]: s["compliant"] for s in policies["sno-b-workers-config-policy"]["status"]["status"]}
    assert statuses == {"sno-b": "Compliant"}, statuses
    assert _worker_ready(fleet, "sno-b", SNO_B_WORKER)

    again = fleet.play("--limit", "sno-b")
    assert again.rc == 0 and again.changed("sno-b") == 0, again.output[-6000:]


def test_check_mode_changes_nothing_and_shows_the_diff(fleet):
    head = fleet.remote_head()
    result = fleet.play("--limit", "sno-b", "--check", "--diff")
    assert result.rc == 0, result.output[-6000:]
    assert fleet.remote_head() == head
    assert "+        - hostName: " + SNO_B_WORKER in result.output or SNO_B_WORKER in result.output
    assert not [s for s in fleet.items("v1", "Secret", "sno-b") if s["metadata"]["name"] == "sno-b-worker-0-bmc-secret"]
    assert fleet.playbook_cgus() == []
    assert _bmh_state(fleet, "sno-b", SNO_B_WORKER) is None


def test_master_pinned_selectors_stop_without_the_opt_in(fleet):
    """sno-a (read from its spoke API server with its own kubeconfig) stops; sno-b (read through the hub) goes on."""
    group = fleet.remote_file("policygentemplates/group-du-sno-ranGen.yaml")
    spoke_inventory = os.path.join(fleet.workdir, "spoke-a.yml")
    with open(spoke_inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"hosts": {"sno-a": {"ztp_spoke_kubeconfig": fleet.hub.spoke_kubeconfig}}}}, handle)
    report = os.path.join(fleet.workdir, "report", "fleet.html")
    result = fleet.play("-i", spoke_inventory, "--limit", "sno-a,sno-b", env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"},
                        extra_vars={"ztp_allow_ptp_sriov_disruption": False, "ztp_report_path": report})
    assert result.rc != 0
    assert result.recap["sno-a"]["failed"] == 1 and result.recap["sno-b"]["failed"] == 0, result.output[-6000:]
    assert "sno-a: the PTP daemons (PtpOperatorConfig) and the SR-IOV config daemon (SriovOperatorConfig) still select" in result.output
    assert "briefly" in result.output and "selector_checks_allow_disruption=true" in result.output
    spoke_read = result.output.split("Read the daemon selectors from the spokes given a kubeconfig")[1].split("TASK [")[0]
    assert "(item=sno-a)" in spoke_read, spoke_read
    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()[:-1]]  # the last one is the seed
    assert subjects == ["Add workers to sno-b", "Add worker policies for sno-b"], subjects
    assert fleet.remote_file("policygentemplates/group-du-sno-ranGen.yaml") == group
    # The failed cluster stays in the summary, in the AWX statistics and in the report, with its phase and reason.
    assert "sno-a: FAILED in selector_checks: sno-a: the PTP daemons" in result.output
    assert "sno-b: done, 1 worker(s) ready" in result.output
    stats = result.output.split("CUSTOM STATS:")[1]
    assert "sno-a" in stats and "selector_checks" in stats and "sno-b" in stats, stats
    with open(os.path.splitext(report)[0] + ".json", encoding="utf-8") as handle:
        records = dict((r["cluster"], r) for r in json.load(handle)["clusters"])
    assert records["sno-a"]["ok"] is False and records["sno-a"]["phase"] == "selector_checks"
    assert records["sno-b"]["ok"] is True and records["sno-b"]["phase"] == "done"
    assert [n["host"] for n in records["sno-b"]["nodes"] if n["ready"]] == [SNO_B_WORKER]
    assert records["sno-b"]["cgu"]["workers"]["succeeded"] is True


def test_a_worker_is_refused_while_its_worker_policies_are_not_on_the_hub(fleet):
    """A play of the user's own that adds workers without the policy_creation phase: sno-b's worker policies are not
    on the hub, so a worker installed now would come up without workload partitioning; nothing is written for it."""
    with open(os.path.join(REPO, "playbooks", "expand_sno.yml"), encoding="utf-8") as handle:
        play = yaml.safe_load(handle)
    skipped = ("ztp.sno_expand.selector_checks", "ztp.sno_expand.policy_creation", "ztp.sno_expand.install_verification")
    block = play[0]["tasks"][0]["block"]
    play[0]["tasks"][0]["block"] = [t for t in block if (t.get("ansible.builtin.import_role") or {}).get("name") not in skipped]
    assert len(play[0]["tasks"][0]["block"]) == len(block) - 3
    add_only = os.path.join(fleet.workdir, "add_only.yml")
    with open(add_only, "w", encoding="utf-8") as handle:
        yaml.safe_dump(play, handle, sort_keys=False)
    head = fleet.remote_head()

    result = fleet.play_file(add_only, "--limit", "sno-b")
    assert result.rc != 0 and result.recap["sno-b"]["failed"] == 1, result.output[-6000:]
    assert "sno-b: worker policies not compliant yet: sno-b-workers-config-policy (not bound)" in result.output
    assert "sno-b: FAILED in node_addition" in result.output
    assert fleet.remote_head() == head
    assert "sno-b-worker-0-bmc-secret" not in {s["metadata"]["name"] for s in fleet.items("v1", "Secret", "sno-b")}


def test_bad_input_of_several_clusters_is_reported_together_before_any_change(fleet):
    head = fleet.remote_head()
    result = fleet.play(extra_vars={"ztp_workers": [{"hostName": "Bad_Name", "role": "worker", "bmcAddress": "ftp://x",
                                                     "bmcCredentialsName": {"name": "s"}, "bootMACAddress": "zz"}]})
    assert result.rc != 0
    for cluster in ("sno-a", "sno-b", "sno-c"):
        assert cluster + ": " in result.output
    assert "bootMACAddress" in result.output and "hostName" in result.output
    assert fleet.remote_head() == head
    assert fleet.playbook_cgus() == []


def test_fleet_in_batches_with_forks_one_commit_per_phase_per_batch(fleet):
    result = fleet.play("--forks", "5", extra_vars={"ztp_batch_size": 2})
    assert result.rc == 0, result.output[-8000:]
    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()]
    assert "Move PTP and SR-IOV daemons to worker nodes for sno-a" in subjects
    assert "Add worker policies for sno-a, sno-b" in subjects
    assert "Add workers to sno-a, sno-b" in subjects
    assert "Add worker policies for sno-c" in subjects
    assert "Add workers to sno-c" in subjects
    group = fleet.remote_file("policygentemplates/group-du-sno-ranGen.yaml")
    assert "mustonlyhave" in group and "node-role.kubernetes.io/worker" in group
    worker_pg = yaml.safe_load(fleet.remote_file("policygenerator/sno-c-workers.yaml"))
    assert worker_pg["kind"] == "PolicyGenerator"
    for cluster, host in (("sno-a", "sno-a-worker-0.ran.example.com"), ("sno-b", SNO_B_WORKER), ("sno-c", "sno-c-worker-0.ran.example.com")):
        assert _worker_ready(fleet, cluster, host), cluster

    again = fleet.play("--forks", "5", extra_vars={"ztp_batch_size": 2})
    assert again.rc == 0, again.output[-6000:]
    assert {host: counts["changed"] for host, counts in again.recap.items()} == {"sno-a": 0, "sno-b": 0, "sno-c": 0}
