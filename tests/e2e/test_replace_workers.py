"""Worker replacement (playbooks/replace_workers.yml) end to end: a worker added to sno-b by expand_sno.yml is replaced by
new hardware under the same host name. The failed worker is removed in the documented order, the new entry is added and
installed, a name without a new entry fails before anything is written, check mode writes nothing, a rerun changes
nothing."""

from __future__ import annotations

import copy
import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "replace_workers.yml")
HOST = "sno-b-worker-0.ran.example.com"
NEW_MAC = "0c:42:a1:8b:00:99"


def _new_worker(cluster="sno-b", host=HOST, mac=NEW_MAC, bmc="redfish-virtualmedia+https://[2001:db8:b::102]/redfish/v1/Systems/1"):
    with open(os.path.join(REPO, "inventory", "demo", "workers.yml"), encoding="utf-8") as handle:
        workers = yaml.safe_load(handle)
    entry = copy.deepcopy(dict(workers["defaults"], **[w for w in workers["clusters"][cluster]["workers"] if w["hostName"] == host][0]))
    entry.update(bootMACAddress=mac, bmcAddress=bmc, bmcCredentialsName={"name": "%s-new-bmc-secret" % host.split(".")[0]})
    del entry["credentials"]
    entry["nodeNetwork"]["interfaces"][0]["macAddress"] = mac
    return entry


def _worker_in_git(fleet):
    doc = [d for d in yaml.safe_load_all(fleet.remote_file("siteconfig/sno-b.yaml")) if d and d.get("kind") == "SiteConfig"][0]
    return [n for n in doc["spec"]["clusters"][0]["nodes"] if n["hostName"] == HOST]


def _ready(fleet, cluster="sno-b", host=HOST):
    for info in fleet.items("internal.open-cluster-management.io/v1beta1", "ManagedClusterInfo", cluster):
        for node in (info.get("status") or {}).get("nodeList") or []:
            if node.get("name") == host:
                return any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("conditions") or [])
    return False


def _removal_and_addition_commits(fleet):
    """Subjects of the removal and addition commits in the remote, newest first."""
    subjects = [line.split(" ", 1)[1] for line in fleet.remote_log()]
    return [s for s in subjects if s.startswith(("Annotate workers for removal", "Delete the BareMetalHosts", "Remove workers",
                                                 "Add workers"))]


def _inventory(fleet, name, hostvars, cluster="sno-b"):
    path = os.path.join(fleet.workdir, name)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"hosts": {cluster: hostvars},
                                "vars": {"ztp_removal_poll_interval": 0.5, "ztp_removal_stuck_timeout": 60}}}, handle)
    return path


def test_replace_a_worker_with_new_hardware_in_order_then_nothing_to_do(fleet):
    added = fleet.play("--limit", "sno-b")
    assert added.rc == 0, added.output[-6000:]
    assert _worker_in_git(fleet)[0]["bootMACAddress"] == "0c:42:a1:8b:00:20" and _ready(fleet)

    # a name without a new entry in the workers fails before anything is written, naming the variable and the fix
    head = fleet.remote_head()
    unknown = _inventory(fleet, "unknown.yml", {"ztp_replace_workers": ["sno-b-worker-9.ran.example.com"]})
    refused = fleet.play_file(PLAYBOOK, "-i", unknown, "--limit", "sno-b")
    assert refused.rc != 0 and refused.failed_hosts() == ["sno-b"], refused.output[-6000:]
    assert "ztp_replace_workers: invalid value 'sno-b-worker-9.ran.example.com'" in refused.output, refused.output[-6000:]
    assert "add the entry of the new hardware" in refused.output
    assert "sno-b: FAILED in node_removal: sno-b: ztp_replace_workers" in " ".join(refused.output.split())
    assert fleet.remote_head() == head

    replacement = _inventory(fleet, "replacement.yml", {"ztp_replace_workers": [HOST], "ztp_workers": [_new_worker()]})

    # check mode shows the plan and the first removal step, and writes nothing
    check = fleet.play_file(PLAYBOOK, "-i", replacement, "--limit", "sno-b", "--check", "--diff")
    assert check.rc == 0, check.output[-6000:]
    assert "remove: %s; add again: %s" % (HOST, HOST) in " ".join(check.output.split()), check.output[-6000:]
    assert any(line.startswith("+") and "remove-agent-and-node-on-delete" in line for line in check.output.splitlines())
    assert fleet.remote_head() == head

    replaced = fleet.play_file(PLAYBOOK, "-i", replacement, "--limit", "sno-b")
    assert replaced.rc == 0, replaced.output[-8000:]
    # one summary for the removal and the addition
    assert "sno-b: done, 1 worker(s) removed, 1 worker(s) ready" in replaced.output, replaced.output[-8000:]
    entry = _worker_in_git(fleet)
    assert len(entry) == 1 and entry[0]["bootMACAddress"] == NEW_MAC, entry
    assert entry[0]["bmcCredentialsName"]["name"] == "sno-b-worker-0-new-bmc-secret", entry
    bmhs = {b["metadata"]["name"]: b for b in fleet.items("metal3.io/v1alpha1", "BareMetalHost", "sno-b")}
    assert bmhs[HOST]["spec"]["bootMACAddress"] == NEW_MAC
    assert _ready(fleet)
    order = _removal_and_addition_commits(fleet)
    # newest first: the removal commits, then the new entry
    assert order[:4] == ["Add workers to sno-b", "Remove workers: " + HOST, "Delete the BareMetalHosts of workers: " + HOST,
                         "Annotate workers for removal: " + HOST], order

    head = fleet.remote_head()
    again = fleet.play_file(PLAYBOOK, "-i", replacement, "--limit", "sno-b")
    assert again.rc == 0, again.output[-6000:]
    assert again.changed("sno-b") == 0, again.output[-6000:]
    assert "already replaced: " + HOST in " ".join(again.output.split()), again.output[:6000]  # the line may wrap
    assert fleet.remote_head() == head


def test_a_run_that_stopped_after_the_removal_is_resumed_by_adding(fleet):
    """The old worker was removed (as a replacement run does first) but the new one never added: the next run adds it."""
    added = fleet.play("--limit", "sno-b")
    assert added.rc == 0, added.output[-6000:]
    removal = _inventory(fleet, "removal.yml", {"ztp_remove_workers": [HOST]})
    removed = fleet.play_file(os.path.join(REPO, "playbooks", "remove_workers.yml"), "-i", removal, "--limit", "sno-b")
    assert removed.rc == 0 and not _worker_in_git(fleet), removed.output[-6000:]

    replacement = _inventory(fleet, "replacement.yml", {"ztp_replace_workers": [HOST], "ztp_workers": [_new_worker()]})
    resumed = fleet.play_file(PLAYBOOK, "-i", replacement, "--limit", "sno-b")
    assert resumed.rc == 0, resumed.output[-8000:]
    assert "remove: -; add again: " + HOST in " ".join(resumed.output.split()), resumed.output[-6000:]
    assert [n["bootMACAddress"] for n in _worker_in_git(fleet)] == [NEW_MAC] and _ready(fleet)


def test_replace_a_clusterinstance_worker(fleet):
    """sno-c is a ClusterInstance (rendered by the siteconfig operator where it runs): the failed worker's BareMetalHost
    is pruned (pruneManifests) after the annotation is seen, its entry removed, and the new hardware added."""
    host, mac = "sno-c-worker-0.ran.example.com", "3c:fd:fe:b1:30:99"
    added = fleet.play("--limit", "sno-c")
    assert added.rc == 0, added.output[-6000:]
    assert _ready(fleet, "sno-c", host)

    new = _new_worker("sno-c", host, mac, "redfish-virtualmedia+https://192.168.30.202/redfish/v1/Systems/1")
    replacement = _inventory(fleet, "replacement-c.yml", {"ztp_replace_workers": [host], "ztp_workers": [new]}, cluster="sno-c")
    replaced = fleet.play_file(PLAYBOOK, "-i", replacement, "--limit", "sno-c")
    assert replaced.rc == 0, replaced.output[-8000:]
    assert "sno-c: done, 1 worker(s) removed, 1 worker(s) ready" in " ".join(replaced.output.split()), replaced.output[-8000:]

    doc = [d for d in yaml.safe_load_all(fleet.remote_file("clusterinstance/sno-c.yaml")) if d and d.get("kind") == "ClusterInstance"][0]
    entry = [n for n in doc["spec"]["nodes"] if n["hostName"] == host]
    # the new entry, without the removal's annotation and pruning of the old one
    assert len(entry) == 1 and entry[0]["bootMACAddress"] == mac, entry
    assert "pruneManifests" not in entry[0] and "extraAnnotations" not in entry[0], entry
    bmhs = {b["metadata"]["name"]: b for b in fleet.items("metal3.io/v1alpha1", "BareMetalHost", "sno-c")}
    assert bmhs[host]["spec"]["bootMACAddress"] == mac
    assert _ready(fleet, "sno-c", host)
    order = _removal_and_addition_commits(fleet)
    assert order[:4] == ["Add workers to sno-c", "Remove workers: " + host, "Delete the BareMetalHosts of workers: " + host,
                         "Annotate workers for removal: " + host], order


def test_reinstall_a_worker_on_the_same_hardware_once_per_generation(fleet):
    """ztp_reinstall_generation: the same hardware is removed and installed again; the generation is recorded on the
    worker's BareMetalHost, so a rerun with it changes nothing (the siteconfig operator's reinstall.generation rule)."""
    added = fleet.play("--limit", "sno-b")
    assert added.rc == 0, added.output[-6000:]
    old = _worker_in_git(fleet)[0]
    same = _new_worker(mac=old["bootMACAddress"], bmc=old["bmcAddress"])
    reinstall = _inventory(fleet, "reinstall.yml", {"ztp_replace_workers": [HOST], "ztp_workers": [same],
                                                    "ztp_reinstall_generation": "2026-12-01"})
    done = fleet.play_file(PLAYBOOK, "-i", reinstall, "--limit", "sno-b")
    assert done.rc == 0, done.output[-8000:]
    flat = " ".join(done.output.split())
    assert "sno-b: reinstall generation 2026-12-01, remove: %s; add again: %s" % (HOST, HOST) in flat, done.output[-8000:]
    assert "sno-b: done, 1 worker(s) removed, 1 worker(s) ready" in flat, done.output[-8000:]
    entry = _worker_in_git(fleet)
    assert len(entry) == 1 and entry[0]["bootMACAddress"] == old["bootMACAddress"], entry
    assert entry[0]["crAnnotations"]["add"]["BareMetalHost"] == {"ztp.sno-expand/reinstall-generation": "2026-12-01"}, entry
    assert "crSuppression" not in entry[0]
    bmhs = {b["metadata"]["name"]: b for b in fleet.items("metal3.io/v1alpha1", "BareMetalHost", "sno-b")}
    assert bmhs[HOST]["metadata"]["annotations"]["ztp.sno-expand/reinstall-generation"] == "2026-12-01"
    assert _ready(fleet)
    order = _removal_and_addition_commits(fleet)
    assert order[:4] == ["Add workers to sno-b", "Remove workers: " + HOST, "Delete the BareMetalHosts of workers: " + HOST,
                         "Annotate workers for removal: " + HOST], order

    head = fleet.remote_head()
    again = fleet.play_file(PLAYBOOK, "-i", reinstall, "--limit", "sno-b")
    assert again.rc == 0 and again.changed("sno-b") == 0, again.output[-6000:]
    assert "already reinstalled: " + HOST in " ".join(again.output.split()), again.output[-6000:]
    assert fleet.remote_head() == head
