"""Faults on the hub and in Git, met by the whole procedure run through ansible-playbook.

Every failure must end with a message that names the object and the reason, and lose nothing: the Git
history is kept and linear, no commit is partial, and the other clusters' files and hub objects are untouched.
Simulated time runs at the fixture's speed (600 simulated seconds per real second) for the simulator's controllers,
while the module timeouts (`ztp_render_timeout`, `ztp_install_stall_timeout`) are real seconds. TALM runs for real
where its source is at hand (as in CI): its CGU timeout is then in real minutes, and it notices a timeout at its next
look at the CGU, at most 5 minutes after the batch started (`Fleet.cgu_timeout`).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

import pytest
import yaml

WORKERS = {
    "sno-a": "sno-a-worker-0.ran.example.com",
    "sno-b": "sno-b-worker-0.ran.example.com",
    "sno-c": "sno-c-worker-0.ran.example.com",
}
CLUSTER_FILES = {"sno-a": "siteconfig/sno-a.yaml", "sno-b": "siteconfig/sno-b.yaml", "sno-c": "clusterinstance/sno-c.yaml"}
# Files a run for a cluster may change; the kustomization files are shared and checked entry by entry.
CLUSTER_PATHS = {
    "sno-a": {"siteconfig/sno-a.yaml", "policygentemplates/sno-a-workers.yaml", "policygentemplates/kustomization.yaml",
              "policygentemplates/group-du-sno-ranGen.yaml"},
    "sno-b": {"siteconfig/sno-b.yaml", "policygentemplates/sno-b-workers.yaml", "policygentemplates/kustomization.yaml"},
    "sno-c": {"clusterinstance/sno-c.yaml", "policygenerator/sno-c-workers.yaml", "policygenerator/kustomization.yaml"},
}
WORKER_POLICY_FILES = {"sno-a": "sno-a-workers.yaml", "sno-b": "sno-b-workers.yaml", "sno-c": "sno-c-workers.yaml"}
KUSTOMIZATIONS = {"policygentemplates/kustomization.yaml", "policygenerator/kustomization.yaml"}

BMH = ("metal3.io/v1alpha1", "BareMetalHost")
AGENT = ("agent-install.openshift.io/v1beta1", "Agent")
CGU = ("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade")
MCI = ("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo")

# Each phase judges every cluster of the batch after its run_once step, so a failure ends either in the step itself or
# in a per-cluster verdict task: the phase's own (older playbooks) or the batch's one verdict after all phases.
VERDICT_TASK = "Fail the clusters that did not pass the batch"
RENDER_TASK = ("Wait until ArgoCD has rendered the workers' BareMetalHosts", "Fail the clusters whose workers were not added",
               VERDICT_TASK)
CGU_TASK = ("Fail for this cluster when TALM did not remediate its policies",
            "Fail the clusters whose worker policies were not remediated", VERDICT_TASK)
INSTALL_WAIT_TASK = "Wait for the workers of the batch to install"
SYNC_TASK = "Wait until ArgoCD has synced the pushed commit"
# Install failures end in the batch-wide wait or in the per-cluster verdict after it.
INSTALL_TASKS = (INSTALL_WAIT_TASK, "Report this cluster's workers, and fail for those that did not become Ready",
                 "Fail the clusters whose workers did not become Ready", VERDICT_TASK)
RESULT_LINE = re.compile(r"^(?P<status>ok|changed|fatal|failed|skipping): \[(?P<host>[^\]]+)\](?: \(item=[^\n]*?\))?"
                         r"(?:: FAILED!)? => ", re.M)
TASK_LINE = re.compile(r"^TASK \[(?P<task>.*)\] \**$", re.M)
# JSON results on one line each, so that messages can be read back exactly.
JSON_RESULTS = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}


# ---------------------------------------------------------------------------------------------------- helpers

@dataclass
class Remote:
    """The remote branch: commits (newest first) as (sha, parents, subject), files at its head, files per commit."""
    commits: list
    files: dict
    changed: dict = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        return [subject for _sha, _parents, subject in self.commits]


def _git(*args: str, cwd: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, stdout=subprocess.PIPE, text=True, check=True).stdout


def _remote(fleet) -> Remote:
    clone = tempfile.mkdtemp(dir=fleet.workdir)
    _git("clone", "-q", fleet.hub.git_url, clone)
    commits = []
    for line in _git("log", "--format=%H%x09%P%x09%s", cwd=clone).splitlines():
        sha, parents, subject = line.split("\t", 2)
        commits.append((sha, parents.split(), subject))
    files = {}
    for path in _git("ls-tree", "-r", "--name-only", "HEAD", cwd=clone).splitlines():
        with open(os.path.join(clone, path), "rb") as handle:
            files[path] = handle.read()
    changed = {sha: set(_git("show", "--name-only", "--format=", sha, cwd=clone).split()) for sha, _p, _s in commits}
    return Remote(commits, files, changed)


def _kustomization_entries(text: bytes) -> set:
    data = yaml.safe_load(text) or {}
    return set(data.get("generators") or []) | set(data.get("resources") or [])


def _assert_nothing_lost(before: Remote, after: Remote, clusters: tuple, new_subjects: list) -> None:
    """History kept and linear, exactly the expected new commits, only the given clusters' files changed."""
    assert after.commits[len(after.commits) - len(before.commits):] == before.commits, "history rewritten"
    assert all(len(parents) <= 1 for _sha, parents, _subject in after.commits), "history not linear"
    assert after.subjects[:len(after.commits) - len(before.commits)] == list(reversed(new_subjects)), after.subjects
    allowed = set().union(*(CLUSTER_PATHS[c] for c in clusters)) if clusters else set()
    for sha, _parents, subject in after.commits[:len(after.commits) - len(before.commits)]:
        assert after.changed[sha] <= allowed, (subject, after.changed[sha])
    assert set(before.files) <= set(after.files), "files deleted: %s" % (set(before.files) - set(after.files))
    for path, content in after.files.items():
        if content == before.files.get(path):
            continue
        assert path in allowed, "%s changed" % path
        if path in KUSTOMIZATIONS and path in before.files:
            added = _kustomization_entries(content) - _kustomization_entries(before.files[path])
            removed = _kustomization_entries(before.files[path]) - _kustomization_entries(content)
            assert not removed, (path, removed)
            assert added <= {WORKER_POLICY_FILES[c] for c in clusters}, (path, added)


def _workers_in_git(remote: Remote, cluster: str) -> list[str]:
    data = yaml.safe_load(remote.files[CLUSTER_FILES[cluster]])
    if data["kind"] == "ClusterInstance":
        nodes = data["spec"].get("nodes") or []
    else:
        nodes = data["spec"]["clusters"][0].get("nodes") or []
    return [node["hostName"] for node in nodes if node.get("role") == "worker"]


def _assert_hub_untouched(fleet, clusters) -> None:
    """No worker BareMetalHost, BMC Secret or ClusterGroupUpgrade for these clusters."""
    for cluster in clusters:
        assert _bmh(fleet, cluster) is None, cluster
        secrets = {s["metadata"]["name"] for s in fleet.items("v1", "Secret", cluster)}
        assert cluster + "-worker-0-bmc-secret" not in secrets, cluster
    for cgu in fleet.playbook_cgus():
        assert not set(cgu["spec"].get("clusters") or []) & set(clusters), cgu["metadata"]["name"]


def _bmh(fleet, cluster: str) -> dict | None:
    for bmh in fleet.items(*BMH, cluster):
        if bmh["metadata"]["name"] == WORKERS[cluster]:
            return bmh
    return None


def _agent(fleet, cluster: str) -> dict | None:
    for agent in fleet.items(*AGENT, cluster):
        if (agent["metadata"].get("labels") or {}).get("agent-install.openshift.io/bmh") == WORKERS[cluster]:
            return agent
    return None


def _worker_ready(fleet, cluster: str) -> bool:
    for info in fleet.items(*MCI, cluster):
        for node in (info.get("status") or {}).get("nodeList") or []:
            if node["name"] == WORKERS[cluster]:
                conditions = {c["type"]: c["status"] for c in node.get("conditions") or []}
                return conditions.get("Ready") == "True" and "node-role.kubernetes.io/worker" in (node.get("labels") or {})
    return False


def _results(output: str) -> list[dict]:
    """Every task result of the output: {task, status, host, result} (needs JSON_RESULTS)."""
    tasks = [(m.start(), m["task"]) for m in TASK_LINE.finditer(output)]
    decoder = json.JSONDecoder()
    found = []
    for match in RESULT_LINE.finditer(output):
        task = [name for start, name in tasks if start < match.start()]
        try:
            result, _end = decoder.raw_decode(output, match.end())
        except ValueError:
            result = {}
        found.append({"task": task[-1] if task else None, "status": match["status"], "host": match["host"], "result": result})
    return found


def _msg(result: dict) -> str:
    msg = result.get("msg", "")
    return "; ".join(str(m) for m in msg) if isinstance(msg, list) else str(msg)


def _failures(output: str) -> list[dict]:
    return [dict(entry, msg=_msg(entry["result"])) for entry in _results(output) if entry["status"] in ("fatal", "failed")]


def _failure(output: str) -> tuple[str, str]:
    """(task, msg) of the first failed task of the run."""
    for entry in _failures(output):
        return entry["task"], entry["msg"]
    raise AssertionError("no failed task in the output:\n" + output[-6000:])


# The worker CGU's name carries the change it remediates (a hash of clusters, policies and templates): the faults
# match it by pattern, and the messages are checked for the name the run used.
# ztp-workers-<hash>, shortened (ztp-<8 hex>, z<7 hex>) when a policy name is long: TALM's Placement names must fit
# 63 characters (batch.change_name). These runs make no selector CGU, so every ztp-* CGU is the worker policies' one.
WORKER_CGU = "ztp-*"
WORKER_CGU_NAME = r"(?:ztp-workers-[0-9a-f]{6,10}|ztp-[0-9a-f]{8}|z[0-9a-f]{7})"


def _play(fleet, *args, **kwargs):
    return fleet.play(*args, env=JSON_RESULTS, **kwargs)


# ---------------------------------------------------------------------------------------------------- hub faults

def test_bmc_error_names_the_bare_metal_host(fleet):
    fleet.set_simulator(faults=[{"kind": "bmc-error", "cluster": "sno-b", "host": WORKERS["sno-b"]}])
    before = _remote(fleet)
    result = _play(fleet, "--limit", "sno-b", extra_vars={"ztp_install_stall_timeout": 60})
    assert result.rc != 0 and result.failed_hosts() == ["sno-b"], result.output[-6000:]
    task, msg = _failure(result.output)
    assert task.endswith(INSTALL_TASKS + RENDER_TASK), task
    assert "BareMetalHost sno-b/%s" % WORKERS["sno-b"] in msg, msg
    assert "registration error" in msg and "Redfish" in msg, msg
    after = _remote(fleet)
    _assert_nothing_lost(before, after, ("sno-b",), ["Add worker policies for sno-b", "Add workers to sno-b"])
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))


def test_failed_agent_names_the_agent_and_the_failure(fleet):
    fleet.set_simulator(faults=[{"kind": "agent-failed", "host": WORKERS["sno-b"]}])
    before = _remote(fleet)
    result = _play(fleet, "--limit", "sno-b")
    assert result.rc != 0 and result.failed_hosts() == ["sno-b"], result.output[-6000:]
    task, msg = _failure(result.output)
    assert task.endswith(INSTALL_TASKS), task
    agent = _agent(fleet, "sno-b")
    assert agent is not None
    assert "Agent sno-b/%s" % agent["metadata"]["name"] in msg, msg
    assert "stage Failed" in msg and "failed to install" in msg, msg
    _assert_nothing_lost(before, _remote(fleet), ("sno-b",), ["Add worker policies for sno-b", "Add workers to sno-b"])
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))
    assert not _worker_ready(fleet, "sno-b")


def test_stalled_agent_reports_no_progress_and_the_stage(fleet):
    fleet.set_simulator(faults=[{"kind": "agent-stuck", "host": WORKERS["sno-b"], "stage": "Writing image to disk"}])
    before = _remote(fleet)
    started = time.monotonic()
    result = _play(fleet, "--limit", "sno-b", extra_vars={"ztp_install_stall_timeout": 8})
    assert result.rc != 0 and result.failed_hosts() == ["sno-b"], result.output[-6000:]
    task, msg = _failure(result.output)
    assert task.endswith(INSTALL_TASKS), task
    assert re.search(r"sno-b/%s: no progress for \d+ s; last stage 'Agent Writing image to disk'" % re.escape(WORKERS["sno-b"]), msg), msg
    assert time.monotonic() - started < 120
    _assert_nothing_lost(before, _remote(fleet), ("sno-b",), ["Add worker policies for sno-b", "Add workers to sno-b"])
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))


def test_cgu_timeout_names_the_clusters_and_the_policy(fleet):
    clusters = ("sno-b", "sno-c")
    fleet.set_simulator(faults=[{"kind": "cgu-timeout", "cgu": WORKER_CGU}])
    before = _remote(fleet)
    # the simulator's TALM: 60 simulated minutes, 6 s here, long enough for TALM to start on the policies
    result = _play(fleet, "--limit", ",".join(clusters), extra_vars={"ztp_cgu_timeout": fleet.cgu_timeout(60)})
    assert result.rc != 0, result.output[-6000:]
    task, msg = _failure(result.output)
    assert task.endswith(CGU_TASK), task
    assert re.search(r"ClusterGroupUpgrade default/%s: TimedOut" % WORKER_CGU_NAME, msg), msg
    for cluster in clusters:
        # the state TALM had when it gave up: still InProgress on the policy, or already marked timedout
        assert re.search(r"%s \((timedout|InProgress), policy %s-workers-config-policy\)" % (cluster, cluster), msg), msg
    after = _remote(fleet)
    _assert_nothing_lost(before, after, clusters, ["Add worker policies for sno-b, sno-c"])
    for cluster in clusters:
        assert _workers_in_git(after, cluster) == [], cluster
        assert _bmh(fleet, cluster) is None
    _assert_hub_untouched(fleet, ("sno-a",))
    # the batch CGU runs once, but each cluster it did not complete fails on its own (in the recap and in AWX)
    assert sorted(result.failed_hosts()) == list(clusters), result.recap
    assert {entry["msg"].split(":", 1)[0] for entry in _failures(result.output)} == set(clusters)


def _stopped_at_the_sync_wait(fleet, result):
    """(message, remote after the run, pushed commit) of a run of sno-b that failed waiting for ArgoCD's sync."""
    assert result.rc != 0 and result.failed_hosts() == ["sno-b"], result.output[-6000:]
    task, msg = _failure(result.output)
    assert task.endswith(SYNC_TASK), task
    after = _remote(fleet)
    return msg, after, after.commits[0][0]


def test_argocd_not_syncing_points_at_the_clusters_application(fleet):
    """ArgoCD compares the pushed commit but its `clusters` application does not sync: the run stops after the first
    push, naming the application and the state it shows, before TALM judges anything on content the hub does not
    have; the workers are not added."""
    fleet.set_simulator(faults=[{"kind": "argocd-not-syncing", "app": "clusters"}])
    before = _remote(fleet)
    result = _play(fleet, "--limit", "sno-b", extra_vars={"ztp_argocd_sync_timeout": 15})
    msg, after, pushed = _stopped_at_the_sync_wait(fleet, result)
    assert "ArgoCD did not sync commit %s within 15 s" % pushed[:12] in msg, msg
    assert "openshift-gitops/clusters is OutOfSync at %s" % pushed[:12] in msg, msg
    assert "openshift-gitops/policies" not in msg, msg  # synced: not named
    _assert_nothing_lost(before, after, ("sno-b",), ["Add worker policies for sno-b"])
    assert _workers_in_git(after, "sno-b") == []
    _assert_hub_untouched(fleet, ("sno-a", "sno-b", "sno-c"))
    summary = " ".join(result.output.split())
    assert "sno-b: FAILED in policy_creation: sno-b: ArgoCD did not sync commit %s" % pushed[:12] in summary, summary[-3000:]


def test_policies_application_render_error_fails_with_its_own_text_before_any_cgu(fleet):
    """A template in Git that the PolicyGenTemplate plugin cannot render (here a colleague's, naming a source CR that
    does not exist) breaks the `policies` application for the whole repository. The run stops after its push with
    the application's own error, instead of waiting for policies that never come."""
    broken = ("apiVersion: ran.openshift.io/v1\nkind: PolicyGenTemplate\nmetadata:\n  name: lab-broken\n"
              "  namespace: ztp-group\nspec:\n  bindingRules:\n    common: \"true\"\n  mcp: master\n  sourceFiles:\n"
              "    - fileName: PtpOperatorConfigTypo.yaml\n      policyName: config-policy\n")
    clone = tempfile.mkdtemp(dir=fleet.workdir)
    _git("clone", "-q", fleet.hub.git_url, clone)
    with open(os.path.join(clone, "policygentemplates", "lab-broken.yaml"), "w", encoding="utf-8") as handle:
        handle.write(broken)
    kustomization = os.path.join(clone, "policygentemplates", "kustomization.yaml")
    with open(kustomization, encoding="utf-8") as handle:
        text = handle.read()
    with open(kustomization, "w", encoding="utf-8") as handle:
        handle.write(text.replace("generators:\n", "generators:\n  - lab-broken.yaml\n", 1))
    _git("add", "-A", cwd=clone)
    _git("-c", "user.name=colleague", "-c", "user.email=c@example.com", "commit", "-q", "-m", "Lab policies", cwd=clone)
    _git("push", "-q", "origin", "HEAD:main", cwd=clone)
    before = _remote(fleet)
    result = _play(fleet, "--limit", "sno-b", extra_vars={"ztp_argocd_sync_timeout": 120})
    msg, after, pushed = _stopped_at_the_sync_wait(fleet, result)
    assert "ArgoCD Application openshift-gitops/policies failed on commit %s" % pushed[:12] in msg, msg
    assert "ComparisonError" in msg and "PtpOperatorConfigTypo.yaml" in msg, msg
    _assert_nothing_lost(before, after, ("sno-b",), ["Add worker policies for sno-b"])
    assert not [c for c in fleet.playbook_cgus() if "sno-b" in (c["spec"].get("clusters") or [])]
    _assert_hub_untouched(fleet, ("sno-a", "sno-b", "sno-c"))


def test_selector_cgu_judged_on_old_content_is_validated_again(fleet):
    """Without the refresh request ArgoCD sees the pushed override only at its next poll; TALM meanwhile finds the group
    policy compliant with its old content and ends the CGU "already compliant". The CGU is validated again until TALM
    judges the new content, instead of reporting a remediation that did not happen."""
    # one ArgoCD poll per 15 s of wall time at the fleet's speed (600x), and no refresh request after a push
    fleet.set_simulator(delays={"argocd_resync": 9000})
    extra = {"ztp_argocd_applications": [], "ztp_ptp_sriov_disruption_clusters": ["sno-b"]}
    result = _play(fleet, "--limit", "sno-a", extra_vars=extra)
    assert result.rc == 0, result.output[-6000:]
    assert "CompliantBeforeUpgrade" in result.output and "judged on older content" in result.output, result.output[-6000:]
    cgus = [c for c in fleet.items("ran.openshift.io/v1alpha1", "ClusterGroupUpgrade", "default")
            if c["metadata"]["name"].startswith("ztp-selectors")]
    assert len(cgus) == 1, [c["metadata"]["name"] for c in cgus]
    status = cgus[0]["status"]
    remediated = [p["name"] for p in status.get("managedPoliciesForUpgrade") or []]
    assert "group-du-sno-config-policy" in remediated, status
    assert "group-du-sno-config-policy" not in (status.get("managedPoliciesCompliantBeforeUpgrade") or []), status


def test_group_template_override_names_every_bound_cluster_and_remediates_the_named_ones(fleet):
    """sno-a's daemons are pinned to master; the group template that gets the override also binds sno-b. A run for
    sno-a alone stops before anything is written, naming sno-b. With sno-b named, one ClusterGroupUpgrade remediates
    exactly the policy carrying the override on both clusters; sno-b's own workers are not touched."""
    group = "policygentemplates/group-du-sno-ranGen.yaml"
    before = _remote(fleet)
    stopped = _play(fleet, "--limit", "sno-a")
    assert stopped.rc != 0 and stopped.failed_hosts() == ["sno-a"], stopped.output[-6000:]
    dummy, msg = _failure(stopped.output)
    assert "sno-a: the selector override changes the group policy template %s, which also binds 1 cluster(s) outside " \
           "this batch: sno-b." % group in msg, msg
    assert "ztp_ptp_sriov_disruption_clusters" in msg and "Nothing was written" in msg, msg
    assert _remote(fleet).commits == before.commits
    assert not [c for c in fleet.items(*CGU) if c["metadata"]["name"].startswith("ztp-selectors")]

    result = _play(fleet, "--limit", "sno-a", extra_vars={"ztp_ptp_sriov_disruption_clusters": ["sno-b"]})
    assert result.rc == 0 and result.failed_hosts() == [], result.output[-6000:]
    cgus = [c for c in fleet.items(*CGU) if c["metadata"]["name"].startswith("ztp-selectors")]
    assert len(cgus) == 1, [c["metadata"]["name"] for c in cgus]
    assert sorted(cgus[0]["spec"]["clusters"]) == ["sno-a", "sno-b"], cgus[0]["spec"]
    assert cgus[0]["spec"]["managedPolicies"] == ["group-du-sno-config-policy"], cgus[0]["spec"]
    succeeded = [c for c in cgus[0]["status"]["conditions"] if c["type"] == "Succeeded"]
    assert succeeded and succeeded[0]["status"] == "True", cgus[0]["status"]
    after = _remote(fleet)
    new = after.subjects[:len(after.commits) - len(before.commits)]
    assert new[-1] == "Move PTP and SR-IOV daemons to worker nodes for sno-a, sno-b", new
    assert _workers_in_git(after, "sno-b") == [] and _bmh(fleet, "sno-b") is None


def test_policy_never_compliant_times_out_naming_it_and_adds_no_worker(fleet):
    policy = "sno-b-workers-config-policy"
    fleet.set_simulator(faults=[{"kind": "policy-never-compliant", "policy": policy, "cluster": "sno-b"}])
    before = _remote(fleet)
    result = _play(fleet, "--limit", "sno-b", extra_vars={"ztp_cgu_timeout": fleet.cgu_timeout(60)})
    assert result.rc != 0 and result.failed_hosts() == ["sno-b"], result.output[-6000:]
    task, msg = _failure(result.output)
    assert task.endswith(CGU_TASK), task
    assert re.search(r"ClusterGroupUpgrade default/%s: TimedOut" % WORKER_CGU_NAME, msg), msg
    assert re.search(r"sno-b \((timedout|InProgress), policy %s\)" % policy, msg), msg
    after = _remote(fleet)
    _assert_nothing_lost(before, after, ("sno-b",), ["Add worker policies for sno-b"])
    assert _workers_in_git(after, "sno-b") == []
    assert _bmh(fleet, "sno-b") is None
    assert "sno-b-worker-0-bmc-secret" not in {s["metadata"]["name"] for s in fleet.items("v1", "Secret", "sno-b")}
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))


# ---------------------------------------------------------------------------------------------------- hub and Git outages

def test_hub_apiserver_restart_during_the_install_wait(fleet):
    # The worker stays in `provisioning` for 20 s (12000 simulated seconds), the window for the restart.
    fleet.set_simulator(delays={"bmh_provisioning_boot": 12000})
    before = _remote(fleet)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=_play(fleet, "--limit", "sno-b", "-v")), daemon=True)
    runner.start()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and runner.is_alive():
        bmh = _bmh(fleet, "sno-b")
        if ((bmh or {}).get("status") or {}).get("provisioning", {}).get("state") == "provisioning":
            break
        time.sleep(0.5)
    else:
        runner.join(5)
        pytest.fail("the worker never reached provisioning:\n" + getattr(outcome.get("result"), "output", "")[-6000:])
    time.sleep(3)  # the install wait is running by now (it starts right after the BareMetalHost is rendered)
    fleet.hub.restart_apiserver("hub")
    restarted = time.monotonic()
    # The simulator exits when it cannot read its settings while the API server is down; start it again
    # (a no-op when it survived) and let the worker finish provisioning at once.
    fleet.hub.start()
    assert "simulator" in fleet.hub.pids()
    fleet.set_simulator(delays={})
    runner.join(600)
    assert not runner.is_alive()
    result = outcome["result"]
    assert result.rc == 0, result.output[-8000:]
    waits = [e for e in _results(result.output) if (e["task"] or "").endswith(INSTALL_WAIT_TASK)]
    assert len(waits) == 1 and waits[0]["status"] == "ok", waits
    wait = waits[0]["result"]
    assert wait["summary"]["reconnects"] >= 1, wait["summary"]
    assert wait["summary"]["ready"] == 1 and wait["nodes"][0]["ready"], wait["nodes"]
    assert any(p["stage"] == "reconnecting" for p in wait["progress"]), wait["progress"]
    assert time.monotonic() - restarted < 300
    assert _worker_ready(fleet, "sno-b")
    _assert_nothing_lost(before, _remote(fleet), ("sno-b",), ["Add worker policies for sno-b", "Add workers to sno-b"])
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))


RACER_HOOK = """#!/bin/sh
# Records every ref update; on the first push only, another writer pushes an unrelated commit right after it.
while read -r old new ref; do echo "$old $new $ref" >> "{log}"; done
[ -e "{marker}" ] && exit 0
: > "{marker}"
for var in $(env | sed -n 's/^\\(GIT_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset "$var"; done
work=$(mktemp -d)
git clone -q "{bare}" "$work/clone" || exit 1
cd "$work/clone" || exit 1
printf '\\nMaintenance window for the NOC: Sundays 02:00-04:00 UTC.\\n' >> README.md
git -c user.name="Other Writer" -c user.email=other@example.com -c commit.gpgsign=false commit -q -am "README: maintenance window"
git push -q origin HEAD:main
"""


def test_push_racing_another_writer_is_rebased_and_retried(fleet):
    bare = os.path.join(fleet.hub.git_dir, "ztp-gitops.git")
    log = os.path.join(fleet.workdir, "ref-updates.log")
    hook = os.path.join(bare, "hooks", "post-receive")
    with open(hook, "w", encoding="utf-8") as handle:
        handle.write(RACER_HOOK.format(log=log, marker=os.path.join(fleet.workdir, "racer.done"), bare=bare))
    os.chmod(hook, os.stat(hook).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    before = _remote(fleet)

    result = _play(fleet, "--limit", "sno-b", "-v")
    assert result.rc == 0, result.output[-8000:]

    after = _remote(fleet)
    assert after.subjects[:3] == ["Add workers to sno-b", "README: maintenance window", "Add worker policies for sno-b"], after.subjects
    assert after.commits[3:] == before.commits
    assert all(len(parents) == 1 for _sha, parents, _subject in after.commits[:3])
    assert b"Maintenance window" in after.files["README.md"]
    assert _workers_in_git(after, "sno-b") == [WORKERS["sno-b"]]
    published = [e["result"] for e in _results(result.output) if (e["task"] or "").endswith("Commit and push the batch's changes")
                 and e["status"] == "changed"]
    assert [p["attempts"] for p in published] == [1, 2], published
    # Every ref update was a fast-forward: nothing was force-pushed.
    with open(log, encoding="utf-8") as handle:
        updates = [line.split() for line in handle if line.strip()]
    assert len(updates) == 3, updates
    for old, new, ref in updates:
        assert ref == "refs/heads/main"
        subprocess.run(["git", "-C", bare, "merge-base", "--is-ancestor", old, new], check=True)
    assert _worker_ready(fleet, "sno-b")
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))


def test_resume_after_an_interrupted_install(fleet):
    fleet.set_simulator(faults=[{"kind": "agent-stuck", "host": WORKERS["sno-b"], "stage": "Rebooting"}])
    before = _remote(fleet)
    first = _play(fleet, "--limit", "sno-b", extra_vars={"ztp_install_stall_timeout": 8})
    assert first.rc != 0, first.output[-6000:]
    task, msg = _failure(first.output)
    assert task.endswith(INSTALL_TASKS) and "no progress" in msg and "Rebooting" in msg, (task, msg)
    interrupted = _remote(fleet)
    assert interrupted.subjects[:2] == ["Add workers to sno-b", "Add worker policies for sno-b"]
    assert not _worker_ready(fleet, "sno-b")

    fleet.set_simulator(faults=[])
    second = _play(fleet, "--limit", "sno-b")
    assert second.rc == 0, second.output[-8000:]
    after = _remote(fleet)
    assert after.commits == interrupted.commits, "the second run made a commit: %s" % after.subjects
    _assert_nothing_lost(before, after, ("sno-b",), ["Add worker policies for sno-b", "Add workers to sno-b"])
    assert _workers_in_git(after, "sno-b") == [WORKERS["sno-b"]]
    assert _worker_ready(fleet, "sno-b")
    assert _bmh(fleet, "sno-b")["status"]["provisioning"]["state"] == "provisioned"
    _assert_hub_untouched(fleet, ("sno-a", "sno-c"))


def test_one_failing_cluster_does_not_stop_the_others_of_its_batch(fleet):
    fleet.set_simulator(faults=[{"kind": "agent-failed", "host": WORKERS["sno-a"]}])
    before = _remote(fleet)
    result = _play(fleet, "--limit", "sno-a,sno-b")
    assert result.rc != 0, result.output[-6000:]
    after = _remote(fleet)
    _assert_nothing_lost(before, after, ("sno-a", "sno-b"), [
        "Move PTP and SR-IOV daemons to worker nodes for sno-a", "Add worker policies for sno-a, sno-b",
        "Add workers to sno-a, sno-b"])
    assert _workers_in_git(after, "sno-b") == [WORKERS["sno-b"]]
    _assert_hub_untouched(fleet, ("sno-c",))
    agent = _agent(fleet, "sno-a")
    assert agent is not None
    failures = _failures(result.output)
    assert [(e["host"], e["task"].endswith(INSTALL_TASKS)) for e in failures] == [("sno-a", True)], failures
    assert "Agent sno-a/%s" % agent["metadata"]["name"] in failures[0]["msg"], failures
    assert "stage Failed" in failures[0]["msg"], failures
    assert result.failed_hosts() == ["sno-a"], result.recap
    assert _worker_ready(fleet, "sno-b")
    assert not _worker_ready(fleet, "sno-a")
