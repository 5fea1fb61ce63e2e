"""AWX job slicing: copies of the playbook run at once, each on a slice of the inventory and in its own working copy,
against one hub and one Git remote. Every slice must land its commits (rebasing onto the others' pushes, their
kustomization entries combined) and get its workers installed, with nothing of another slice lost."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import yaml

WORKERS = {"sno-a": "sno-a-worker-0.ran.example.com", "sno-b": "sno-b-worker-0.ran.example.com",
           "sno-c": "sno-c-worker-0.ran.example.com"}


def _ready_workers(fleet) -> set[str]:
    ready = set()
    for info in fleet.items("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo"):
        for node in (info.get("status") or {}).get("nodeList") or []:
            if node["name"] in WORKERS.values() and any(
                    c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("conditions") or []):
                ready.add(node["name"])
    return ready


def test_two_slices_at_once_land_every_commit_and_install_every_worker(fleet):
    # sno-a and sno-b list their worker policies in the same policygentemplates/kustomization.yaml: the slice that
    # pushes second meets the other's entry on the line next to its own
    slices = [("sno-a", "slice-1"), ("sno-b,sno-c", "slice-2")]
    with ThreadPoolExecutor(max_workers=len(slices)) as pool:
        # sno-a's selector override changes the group template sno-b (the other slice) is bound to too: each slice
        # remediates its own clusters (the way a sliced job template is set up, user guide "Job slicing")
        runs = list(pool.map(lambda s: fleet.play("--limit", s[0], extra_vars={
            "ztp_gitops_workdir": os.path.join(fleet.workdir, s[1]), "ztp_selector_override_scope": "batch"}), slices))
    for (hosts, dummy), run in zip(slices, runs):
        assert run.rc == 0, (hosts, run.output[-6000:])
        assert not run.failed_hosts(), run.output[-6000:]

    kustomization = yaml.safe_load(fleet.remote_file("policygentemplates/kustomization.yaml"))
    assert {"sno-a-workers.yaml", "sno-b-workers.yaml"} <= set(kustomization["generators"])
    assert "common-ranGen.yaml" in kustomization["generators"]  # the seed's entries are kept
    policygenerator = yaml.safe_load(fleet.remote_file("policygenerator/kustomization.yaml"))
    assert any("sno-c" in entry for entry in policygenerator["generators"])
    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()]
    for cluster in ("sno-a", "sno-b"):
        assert any(s.startswith("Add worker policies") and cluster in s for s in subjects), subjects
        assert any(s.startswith("Add workers") and cluster in s for s in subjects), subjects
    assert _ready_workers(fleet) == set(WORKERS.values())

    # each slice again: nothing left to do. Its working copy may fast-forward to the other slice's last push (the
    # checkout reports that as a change); nothing else changes.
    for hosts, workdir in slices:
        again = fleet.play("--limit", hosts, extra_vars={"ztp_gitops_workdir": os.path.join(fleet.workdir, workdir)})
        assert again.rc == 0, again.output[-6000:]
        changed_tasks = set(re.findall(r"TASK \[([^\]]+)\][^\n]*\n(?:(?!TASK \[)[^\n]*\n)*?changed: ", again.output))
        assert changed_tasks <= {"ztp.sno_expand.gitops : Check out the GitOps repository"}, changed_tasks
        assert sum(again.changed(h) for h in hosts.split(",")) <= 1, again.output[-6000:]
