"""Worker removal (playbooks/remove_workers.yml) end to end: workers added by expand_sno.yml to sno-b (SiteConfig) and
sno-c (ClusterInstance) are removed in the documented order; a deletion that hangs fails its cluster alone, naming the
object and the fix, and the next run completes it; a run with nothing left to do changes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time

import yaml

WORKERS = {"sno-b": "sno-b-worker-0.ran.example.com", "sno-c": "sno-c-worker-0.ran.example.com"}
FILES = {"sno-b": "siteconfig/sno-b.yaml", "sno-c": "clusterinstance/sno-c.yaml"}


def _hosts_in_git(fleet, cluster):
    doc = [d for d in yaml.safe_load_all(fleet.remote_file(FILES[cluster])) if d and d.get("kind") in ("SiteConfig", "ClusterInstance")][0]
    spec = doc["spec"]
    nodes = spec["nodes"] if doc["kind"] == "ClusterInstance" else spec["clusters"][0]["nodes"]
    return [n["hostName"] for n in nodes]


def _on_hub(fleet, cluster, host):
    bmhs = [b["metadata"]["name"] for b in fleet.items("metal3.io/v1alpha1", "BareMetalHost", cluster)]
    agents = [a["metadata"]["name"] for a in fleet.items("agent-install.openshift.io/v1beta1", "Agent", cluster)
              if (a["metadata"].get("labels") or {}).get("agent-install.openshift.io/bmh") == host]
    nodes = [n["name"] for i in fleet.items("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo", cluster)
             for n in (i.get("status") or {}).get("nodeList") or []]
    return host in bmhs, bool(agents), host in nodes


def test_remove_workers_in_order_with_a_hang_reported_then_resumed(fleet):
    added = fleet.play("--limit", "sno-b,sno-c")
    assert added.rc == 0, added.output[-6000:]
    for cluster, host in WORKERS.items():
        assert host in _hosts_in_git(fleet, cluster) and _on_hub(fleet, cluster, host) == (True, True, True)

    removal = os.path.join(fleet.workdir, "removal.yml")
    with open(removal, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"hosts": {c: {"ztp_remove_workers": [h]} for c, h in WORKERS.items()},
                                "vars": {"ztp_removal_poll_interval": 0.5, "ztp_removal_stuck_timeout": 30}}}, handle)
    playbook = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "playbooks", "remove_workers.yml")

    # check mode shows the first step and changes nothing
    head = fleet.remote_head()
    check = fleet.play_file(playbook, "-i", removal, "--limit", "sno-b,sno-c", "--check", "--diff")
    assert check.rc == 0, check.output[-6000:]
    assert fleet.remote_head() == head
    added_lines = [line for line in check.output.splitlines() if line.startswith("+") and "remove-agent-and-node-on-delete" in line]
    assert len(added_lines) == 2, check.output[-6000:]

    # sno-b's BareMetalHost cannot be deleted (ironic does not answer): sno-b fails, naming the object and the fix
    fleet.set_simulator(faults=[{"kind": "bmh-delete-stuck", "cluster": "sno-b", "host": WORKERS["sno-b"]}])
    report = os.path.join(fleet.workdir, "removal-report.html")
    first = fleet.play_file(playbook, "-i", removal, "--limit", "sno-b,sno-c", "-e", "ztp_report_path=" + report)
    assert first.rc != 0 and first.failed_hosts() == ["sno-b"], first.output[-8000:]
    # the batch ends as an expansion batch does: one line per cluster, the fleet report, one failed host
    flat = " ".join(first.output.split())  # the output callback wraps long lines
    # sno-c lost its last worker: its policies were read again and pass as before
    assert re.search(r"sno-c: done, 1 worker\(s\) removed, single-node, [1-9][0-9]* policies still compliant", flat), \
        first.output[-8000:]
    assert "sno-b: FAILED in node_removal: sno-b/%s: BareMetalHost sno-b/%s has been deleting" % (
        WORKERS["sno-b"], WORKERS["sno-b"]) in flat, first.output[-8000:]
    with open(os.path.splitext(report)[0] + ".json", encoding="utf-8") as handle:
        records = dict((r["cluster"], r) for r in json.load(handle)["clusters"])
    assert records["sno-c"]["ok"] and records["sno-c"]["phase"] == "done" and records["sno-c"]["operation"] == "remove"
    assert records["sno-c"]["removed"] == [WORKERS["sno-c"]]
    assert not records["sno-b"]["ok"] and records["sno-b"]["phase"] == "node_removal" and records["sno-b"]["removed"] == []
    assert "BareMetalHost sno-b/%s has been deleting" % WORKERS["sno-b"] in first.output, first.output[-8000:]
    assert "oc patch bmh -n sno-b %s" % WORKERS["sno-b"] in first.output and "Nothing was forced" in first.output
    assert WORKERS["sno-b"] in _hosts_in_git(fleet, "sno-b") and _on_hub(fleet, "sno-b", WORKERS["sno-b"])[0]
    # sno-c went on alone: annotation, pruneManifests, then the entry removed once the hub was done
    assert _hosts_in_git(fleet, "sno-c") == ["sno-c-master-0.ran.example.com"]
    assert _on_hub(fleet, "sno-c", WORKERS["sno-c"]) == (False, False, False)
    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()]
    order = [s for s in subjects if s.startswith(("Annotate workers for removal", "Delete the BareMetalHosts", "Remove workers"))]
    assert order == ["Remove workers: " + WORKERS["sno-c"],
                     "Delete the BareMetalHosts of workers: " + ", ".join(WORKERS.values()),
                     "Annotate workers for removal: " + ", ".join(WORKERS.values())], order

    # the cause is fixed: the next run waits for the deletion to end and removes the entry
    fleet.set_simulator(faults=[])
    second = fleet.play_file(playbook, "-i", removal, "--limit", "sno-b,sno-c")
    assert second.rc == 0, second.output[-8000:]
    flat = " ".join(second.output.split())
    assert "sno-b: done, 1 worker(s) removed" in flat and "sno-c: done, ok" in flat, second.output[-8000:]
    assert _hosts_in_git(fleet, "sno-b") == ["sno-b-master-0.ran.example.com"]
    assert _on_hub(fleet, "sno-b", WORKERS["sno-b"]) == (False, False, False)

    third = fleet.play_file(playbook, "-i", removal, "--limit", "sno-b,sno-c")
    assert third.rc == 0, third.output[-6000:]
    assert third.changed("sno-b") == 0 and third.changed("sno-c") == 0, third.output[-6000:]


def _clone(fleet):
    clone = tempfile.mkdtemp(dir=fleet.workdir)
    subprocess.run(["git", "clone", "-q", fleet.hub.git_url, clone], check=True)
    return clone


def _worker_policy_file(clone, cluster):
    """The worker policy template the expansion wrote for ``cluster`` (the only file naming ``<cluster>-workers``)."""
    found = []
    for folder, dummy, files in os.walk(clone):
        if ".git" in folder.split(os.sep):
            continue
        for name in files:
            if name.endswith(".yaml") and name != "kustomization.yaml":
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    if "name: %s-workers" % cluster in handle.read():
                        found.append(os.path.relpath(os.path.join(folder, name), clone))
    assert len(found) == 1, found
    return found[0]


def test_the_last_worker_goes_with_its_worker_policies_when_asked(fleet):
    cluster, host = "sno-c", WORKERS["sno-c"]
    added = fleet.play("--limit", cluster)
    assert added.rc == 0, added.output[-6000:]
    path = _worker_policy_file(_clone(fleet), cluster)
    assert any(p["metadata"]["name"].startswith(cluster + "-workers")
               for p in fleet.items("policy.open-cluster-management.io/v1", "Policy"))

    removal = os.path.join(fleet.workdir, "removal-policies.yml")
    with open(removal, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"hosts": {cluster: {"ztp_remove_workers": [host]}},
                                "vars": {"ztp_removal_poll_interval": 0.5, "ztp_removal_worker_policies": "remove"}}}, handle)
    playbook = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "playbooks", "remove_workers.yml")
    removed = fleet.play_file(playbook, "-i", removal, "--limit", cluster)
    assert removed.rc == 0, removed.output[-8000:]
    flat = " ".join(removed.output.split())
    assert "%s: done, 1 worker(s) removed, worker policies removed, single-node" % cluster in flat, removed.output[-8000:]

    clone = _clone(fleet)
    assert not os.path.exists(os.path.join(clone, path))
    with open(os.path.join(clone, os.path.dirname(path), "kustomization.yaml"), encoding="utf-8") as handle:
        assert os.path.basename(path) not in (yaml.safe_load(handle).get("generators") or [])
    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()]
    assert subjects[0].startswith("Remove the worker policies %s-workers" % cluster), subjects[:5]
    assert subjects[1] == "Remove workers: " + host, subjects[:5]
    # ArgoCD prunes the policies of the removed template
    deadline = time.monotonic() + 120
    while any(p["metadata"]["name"].startswith(cluster + "-workers")
              for p in fleet.items("policy.open-cluster-management.io/v1", "Policy")):
        assert time.monotonic() < deadline, "the worker policies of %s are still on the hub" % cluster
        time.sleep(2)

    again = fleet.play_file(playbook, "-i", removal, "--limit", cluster)
    assert again.rc == 0 and again.changed(cluster) == 0, again.output[-6000:]
