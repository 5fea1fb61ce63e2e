# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ansible-inventory --list/--graph`` with the ztp.sno_expand.sno_fleet plugin.

Sources: the demo GitOps repository (testhub/gitops-seed), the upstream example files (../shared/ztp-reference,
read in place), a generated repository of 3,500 clusters, a Git URL served by ``git daemon``, and a real test hub
API server for the ManagedCluster source. Derived values are checked against the files they come from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO_ROOT, ".collections")
SEED = os.path.join(REPO_ROOT, "testhub", "gitops-seed")
EXAMPLES = os.path.join(os.path.dirname(REPO_ROOT), "shared", "ztp-reference", "examples")
BIN = os.path.dirname(sys.executable)


def _env(tmp_path, **extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    for key in ("ZTP_GITOPS_REPO", "ZTP_WORKERS_FILE", "ZTP_GIT_TOKEN"):
        env.pop(key, None)
    env.update(extra)
    return env


def _config(folder, text, name="fleet.sno_fleet.yml"):
    path = os.path.join(str(folder), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("plugin: ztp.sno_expand.sno_fleet\n" + text)
    return path


def _inventory(tmp_path, config, *args, env=None, check=True):
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", config] + list(args), cwd=str(tmp_path), env=env or _env(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _plain(value):
    """ansible-inventory's JSON without the markers of values that are never templated."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, _plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _list(tmp_path, config, env=None):
    data = _plain(json.loads(_inventory(tmp_path, config, "--list", env=env).stdout))
    hostvars = data.pop("_meta")["hostvars"]
    groups = dict((name, sorted(body.get("hosts") or [])) for name, body in data.items() if isinstance(body, dict))
    return hostvars, groups


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return [d for d in yaml.safe_load_all(handle) if d]


# ------------------------------------------------------------------------------------------------ documentation

def test_ansible_doc_renders_the_plugin(tmp_path):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "inventory", "ztp.sno_expand.sno_fleet"], env=_env(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    for text in ("workers_file", "keyed_groups", "cache_plugin", "kubeconfig", "unmatched_templates", "ZTP_GITOPS_REPO"):
        assert text in proc.stdout


# ------------------------------------------------------------------------------------------------ demo repository

WORKERS = """\
clusters:
  sno-a:
    worker_policy: {reserved_cpus: "0-3", isolated_cpus: "4-47", cpu_count: 48}
    workers:
      - hostName: sno-a-worker-0.ran.example.com
        bmcAddress: "redfish-virtualmedia+https://[2001:db8:a::101]/redfish/v1/Systems/1"
        credentials: sno-a-worker-0-bmc-secret
        bootMACAddress: "0c:42:a1:8a:00:20"
  sno-c:
    - hostName: sno-c-worker-0.ran.example.com
      bmcAddress: "redfish-virtualmedia+https://192.168.30.201/redfish/v1/Systems/1"
      credentials: sno-c-worker-0-bmc-secret
      bootMACAddress: "3c:fd:fe:b1:30:20"
"""


def test_demo_repository_list_and_graph(tmp_path):
    shutil.copytree(SEED, str(tmp_path / "gitops"))
    (tmp_path / "workers.yml").write_text(WORKERS, encoding="utf-8")
    config = _config(tmp_path, "repo: gitops\nworkers_file: workers.yml\nlabel_groups: [du-profile]\n")
    hostvars, groups = _list(tmp_path, config)
    assert sorted(hostvars) == ["sno-a", "sno-b", "sno-c"]
    assert groups["sno_clusters"] == ["sno-a", "sno-c"]
    assert groups["label_du_profile_latest"] == ["sno-a", "sno-b", "sno-c"]

    for name in ("sno-a", "sno-b"):
        sc = _load(os.path.join(SEED, "siteconfig", name + ".yaml"))[0]
        cluster = sc["spec"]["clusters"][0]
        site = _load(os.path.join(SEED, "policygentemplates", name + "-site.yaml"))[0]
        host = hostvars[name]
        assert host["ztp_cluster_file"] == "siteconfig/%s.yaml" % name
        assert host["ztp_cluster_nodes"] == [{"hostName": n["hostName"], "role": n["role"]} for n in cluster["nodes"]]
        assert host["ztp_site_policies"] == ["%s-%s" % (site["metadata"]["name"], e["policyName"]) for e in site["spec"]["sourceFiles"]][:1]
        assert host["ztp_worker_policy"]["binding_rules"] == {"sites": cluster["clusterLabels"]["sites"]}
    group = _load(os.path.join(SEED, "policygentemplates", "group-du-sno-ranGen.yaml"))[0]
    profile = [e for e in group["spec"]["sourceFiles"] if e["fileName"] == "PerformanceProfile.yaml"][0]["spec"]
    assert hostvars["sno-b"]["ztp_worker_policy"]["reserved_cpus"] == profile["cpu"]["reserved"]
    assert hostvars["sno-b"]["ztp_worker_policy"]["hugepages"]["pages"][0]["count"] == profile["hugepages"]["pages"][0]["count"]
    # the workers file's worker_policy wins over the master's profile
    assert (hostvars["sno-a"]["ztp_worker_policy"]["reserved_cpus"], hostvars["sno-a"]["ztp_worker_policy"]["cpu_count"]) == ("0-3", 48)
    assert hostvars["sno-a"]["ztp_workers"][0]["bmcCredentialsName"] == {"name": "sno-a-worker-0-bmc-secret"}
    assert "ztp_workers" not in hostvars["sno-b"]
    assert hostvars["sno-c"]["ztp_group_policy_path"] == "policygenerator/acm-group-du-sno-pg-ranGen.yaml"

    graph = _inventory(tmp_path, config, "--graph").stdout
    assert "@sno_clusters:\n  |  |--sno-a\n  |  |--sno-c\n" in graph


def _demo_v6_worker(site):
    mac = "0c:42:a1:8%s:00:20" % site
    return {
        "hostName": "sno-%s-worker-0.ran.example.com" % site, "role": "worker", "bootMode": "UEFI",
        "bmcAddress": "redfish-virtualmedia+https://[2001:db8:%s::101]/redfish/v1/Systems/1" % site,
        "bmcCredentialsName": {"name": "sno-%s-worker-0-bmc-secret" % site}, "bootMACAddress": mac,
        "nodeNetwork": {"interfaces": [{"name": "eno1", "macAddress": mac}], "config": {
            "interfaces": [{"name": "eno1", "type": "ethernet", "state": "up", "ipv4": {"enabled": False},
                            "ipv6": {"enabled": True, "dhcp": False, "autoconf": False,
                                     "address": [{"ip": "2001:db8:%s::20" % site, "prefix-length": 64}]}}],
            "dns-resolver": {"config": {"server": ["2001:db8:%s::1" % site]}},
            "routes": {"config": [{"destination": "::/0", "next-hop-interface": "eno1", "next-hop-address": "2001:db8:%s::1" % site,
                                   "table-id": 254}]}}}}


def _demo_pgt_policy(name):
    return {"path": "policygentemplates/%s-workers.yaml" % name, "format": "policygentemplate", "name": name + "-workers",
            "namespace": "ztp-site", "binding_rules": {"sites": name}, "reserved_cpus": "0-3", "isolated_cpus": "4-47",
            "cpu_count": 48, "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 32}]}, "realtime_kernel": True}


# What the demo fleet has always run with (the hand-written inventory it had before the plugin derived it).
DEMO_EXPECTED = {
    "sno-a": {
        "ztp_cluster_file": "siteconfig/sno-a.yaml",
        "ztp_group_policy_path": "policygentemplates/group-du-sno-ranGen.yaml",
        "ztp_group_policies": ["group-du-sno-config-policy"],
        "ztp_site_policies": ["sno-a-config-policy"],
        "ztp_worker_policy": _demo_pgt_policy("sno-a"),
        "ztp_workers": [_demo_v6_worker("a")],
    },
    "sno-b": {
        "ztp_cluster_file": "siteconfig/sno-b.yaml",
        "ztp_group_policy_path": "policygentemplates/group-du-sno-ranGen.yaml",
        "ztp_group_policies": ["group-du-sno-config-policy"],
        "ztp_site_policies": ["sno-b-config-policy"],
        "ztp_worker_policy": _demo_pgt_policy("sno-b"),
        "ztp_workers": [_demo_v6_worker("b")],
    },
    "sno-c": {
        "ztp_cluster_file": "clusterinstance/sno-c.yaml",
        "ztp_group_policy_path": "policygenerator/acm-group-du-sno-pg-ranGen.yaml",
        "ztp_group_policies": ["group-du-sno-pg-config-policy"],
        "ztp_site_policies": [],
        "ztp_worker_policy": {
            "path": "policygenerator/sno-c-workers.yaml", "format": "policygenerator", "name": "sno-c-workers",
            "namespace": "ztp-site", "binding_rules": {"sites": "sno-c"}, "reserved_cpus": "0-1,32-33",
            "isolated_cpus": "2-31,34-63", "cpu_count": 64, "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 16}]},
            "realtime_kernel": False},
        "ztp_workers": [{
            "hostName": "sno-c-worker-0.ran.example.com", "role": "worker", "bootMode": "UEFI",
            "bmcAddress": "redfish-virtualmedia+https://192.168.30.201/redfish/v1/Systems/1",
            "bmcCredentialsName": {"name": "sno-c-worker-0-bmc-secret"}, "bootMACAddress": "3c:fd:fe:b1:30:20",
            "nodeNetwork": {"interfaces": [{"name": "ens1f0", "macAddress": "3c:fd:fe:b1:30:20"}], "config": {
                "interfaces": [{"name": "ens1f0", "type": "ethernet", "state": "up",
                                "ipv4": {"enabled": True, "dhcp": False, "address": [{"ip": "192.168.30.20", "prefix-length": 24}]},
                                "ipv6": {"enabled": False}}],
                "dns-resolver": {"config": {"server": ["192.168.30.1"]}},
                "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-interface": "ens1f0", "next-hop-address": "192.168.30.1",
                                       "table-id": 254}]}}},
        }],
    },
}


def test_demo_inventory_derives_the_variables_the_demo_runs_with(tmp_path):
    """inventory/demo as it is (plugin configuration, workers file, group_vars) on the seed repository: every cluster
    the demo expands, with the cluster file, group and site policies, worker policy and workers the demo runs with."""
    shutil.copytree(SEED, str(tmp_path / "gitops"))
    demo = os.path.join(REPO_ROOT, "inventory", "demo")
    config = os.path.join(demo, "demo.sno_fleet.yml")
    hostvars, groups = _list(tmp_path, config, env=_env(tmp_path, ZTP_GITOPS_REPO=str(tmp_path / "gitops")))
    assert groups["sno_clusters"] == sorted(DEMO_EXPECTED)
    for name, expected in DEMO_EXPECTED.items():
        for key, value in expected.items():
            assert hostvars[name][key] == value, (name, key)
    # the fleet-wide settings still come from group_vars, next to the configuration
    assert all(hostvars[name]["ansible_connection"] == "local" and hostvars[name]["ztp_bmc_username"] == "admin" for name in DEMO_EXPECTED)
    # no variable that the plugin derives is stated by hand beside it
    group_vars = _load(os.path.join(demo, "group_vars", "all.yml"))[0]
    assert not set(group_vars) & set(DEMO_EXPECTED["sno-a"])
    assert not os.path.exists(os.path.join(demo, "host_vars"))


# ------------------------------------------------------------------------------------------------ upstream examples

def _examples():
    if not os.path.isdir(EXAMPLES):
        pytest.fail("the upstream example files are expected in %s" % EXAMPLES)
    return EXAMPLES


def test_upstream_siteconfig_and_policygentemplate_examples(tmp_path):
    config = _config(tmp_path, "repo: %s\npaths: [siteconfig, policygentemplates]\n" % _examples())
    hostvars, groups = _list(tmp_path, config)
    sno = _load(os.path.join(EXAMPLES, "siteconfig", "example-sno.yaml"))[0]["spec"]["clusters"][0]
    assert groups["sno_clusters"] == [sno["clusterName"]]
    assert groups["ztp_not_sno"] == ["example-3node", "example-standard"]
    host = hostvars[sno["clusterName"]]
    assert host["ztp_cluster_format"] == "siteconfig-v1"
    assert host["ztp_cluster_labels"]["common"] == "true"  # a YAML boolean in the file, a string label on the hub
    group = _load(os.path.join(EXAMPLES, "policygentemplates", "group-du-sno-ranGen.yaml"))[0]
    profile = [e for e in group["spec"]["sourceFiles"] if e["fileName"].startswith("PerformanceProfile")][0]["spec"]
    assert host["ztp_group_policy_path"] == "policygentemplates/group-du-sno-ranGen.yaml"
    assert host["ztp_group_policies"] == sorted(set("%s-%s" % (group["metadata"]["name"], e["policyName"])
                                                    for e in group["spec"]["sourceFiles"] if e.get("policyName")))
    site = _load(os.path.join(EXAMPLES, "policygentemplates", "example-sno-site.yaml"))[0]
    assert host["ztp_site_policies"] == sorted(set("%s-%s" % (site["metadata"]["name"], e["policyName"])
                                                   for e in site["spec"]["sourceFiles"] if e.get("policyName")))
    assert host["ztp_worker_policy"]["reserved_cpus"] == profile["cpu"]["reserved"]
    assert host["ztp_worker_policy"]["isolated_cpus"] == profile["cpu"]["isolated"]
    assert host["ztp_worker_policy"]["hugepages"]["default_size"] == profile["hugepages"]["defaultHugepagesSize"]
    graph = _inventory(tmp_path, config, "--graph")
    assert "@ztp_not_sno:" in graph.stdout and "not a single-node cluster" in graph.stderr


def test_upstream_clusterinstance_and_policygenerator_examples(tmp_path):
    base = "clusterinstance/stolostron-siteconfig-samples/assisted-installer"
    config = _config(tmp_path, "repo: %s\npaths: [%s, acmpolicygenerator]\nunmatched_templates: warn\n" % (_examples(), base))
    hostvars, groups = _list(tmp_path, config)
    ci = _load(os.path.join(EXAMPLES, base, "example-sno.yaml"))[0]
    name = ci["spec"]["clusterName"]
    assert groups["sno_clusters"] == [name]
    host = hostvars[name]
    assert host["ztp_cluster_format"] == "clusterinstance"
    assert host["ztp_cluster_namespace"] == ci["metadata"]["namespace"]
    pg = _load(os.path.join(EXAMPLES, "acmpolicygenerator", "acm-group-du-sno-ranGen.yaml"))[0]
    assert host["ztp_group_policy_path"] == "acmpolicygenerator/acm-group-du-sno-ranGen.yaml"
    assert host["ztp_group_policies"] == [p["name"] for p in pg["policies"]]
    assert host["ztp_worker_policy"]["format"] == "policygenerator"


# ------------------------------------------------------------------------------------------------ broken repositories

def test_broken_repository_errors_name_file_and_line(tmp_path):
    shutil.copytree(SEED, str(tmp_path / "gitops"))
    gitops = tmp_path / "gitops"
    broken = gitops / "siteconfig" / "sno-b.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace('  baseDomain: "ran.example.com"', '  baseDomain: ["ran.example.com"'),
                      encoding="utf-8")
    (gitops / "clusterinstance" / "copy.yaml").write_text((gitops / "clusterinstance" / "sno-c.yaml").read_text(encoding="utf-8"),
                                                          encoding="utf-8")
    kust = gitops / "clusterinstance" / "kustomization.yaml"
    kust.write_text(kust.read_text(encoding="utf-8") + "  - copy.yaml\n", encoding="utf-8")
    site = gitops / "policygentemplates" / "sno-a-site.yaml"
    site.write_text(site.read_text(encoding="utf-8").replace('sites: "sno-a"', 'sites: "sno-aa"'), encoding="utf-8")
    proc = _inventory(tmp_path, _config(tmp_path, "repo: gitops\n"), "--list", check=False)
    assert proc.returncode != 0
    ci_line = [i + 1 for i, l in enumerate((gitops / "clusterinstance" / "sno-c.yaml").read_text(encoding="utf-8").splitlines())
               if "clusterName" in l][0]
    site_line = [i + 1 for i, l in enumerate(site.read_text(encoding="utf-8").splitlines()) if "sno-aa" in l][0]
    # while a file is not valid YAML, a template that matches nothing may be meant for its clusters: not reported yet
    assert "2 problem(s)" in proc.stderr
    assert "siteconfig/sno-b.yaml:1" in proc.stderr and "a valid YAML file" in proc.stderr
    assert "clusterinstance/copy.yaml:%d: clusterName: invalid value 'sno-c'" % ci_line in proc.stderr
    assert "clusterinstance/sno-c.yaml:%d and clusterinstance/copy.yaml:%d" % (ci_line, ci_line) in proc.stderr
    shutil.copy(os.path.join(SEED, "siteconfig", "sno-b.yaml"), str(broken))
    proc = _inventory(tmp_path, _config(tmp_path, "repo: gitops\n"), "--list", check=False)
    assert proc.returncode != 0 and "2 problem(s)" in proc.stderr
    assert "clusterinstance/copy.yaml:%d: clusterName: invalid value 'sno-c'" % ci_line in proc.stderr
    assert "policygentemplates/sno-a-site.yaml:%d: spec/bindingRules: invalid value 'sites in (sno-aa)'" % site_line in proc.stderr


# ------------------------------------------------------------------------------------------------ 3,500 clusters

def test_generated_fleet_of_3500_clusters(tmp_path):
    sys.path.insert(0, REPO_ROOT)
    try:
        from benchmarks import fleet as bench_fleet  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.remove(REPO_ROOT)
    names = bench_fleet.write_repo(str(tmp_path / "gitops"), 3500)
    workers = {"clusters": dict((n, {"workers": [dict(
        (k, v) for k, v in bench_fleet.host_vars(n)["ztp_workers"][0].items() if k != "bmcCredentialsName")]}) for n in names[:500])}
    for name in names[:500]:
        workers["clusters"][name]["workers"][0]["credentials"] = "%s-worker-0-bmc-secret" % name
    (tmp_path / "workers.yml").write_text(yaml.safe_dump(workers), encoding="utf-8")
    config = _config(tmp_path, "repo: gitops\nworkers_file: workers.yml\n")
    start = time.time()
    hostvars, groups = _list(tmp_path, config)
    elapsed = time.time() - start
    assert len(hostvars) == 3501 and len(groups["ztp_sno"]) == 3501
    assert groups["sno_clusters"] == sorted(names[:500])
    for name in (names[0], names[1234], names[-1]):
        expected = bench_fleet.host_vars(name)
        host = hostvars[name]
        assert host["ztp_cluster_file"] == expected["ztp_cluster_file"]
        assert host["ztp_site_policies"] == expected["ztp_site_policies"]
        policy = host["ztp_worker_policy"]
        for key in ("path", "format", "name", "namespace", "binding_rules"):
            assert policy[key] == expected["ztp_worker_policy"][key], key
    assert hostvars[names[0]]["ztp_workers"] == [bench_fleet.host_vars(names[0])["ztp_workers"][0]]
    assert elapsed < 120, elapsed  # the benchmark holds the real bound (benchmarks/inventory_bench.py)
    graph = _inventory(tmp_path, config, "--graph", "sno_clusters").stdout
    assert graph.count("|--fleet-") == 500

    # a fleet-wide duplicate: the last cluster's worker takes the first one's MAC
    workers["clusters"][names[499]]["workers"][0]["bootMACAddress"] = workers["clusters"][names[0]]["workers"][0]["bootMACAddress"]
    (tmp_path / "workers.yml").write_text(yaml.safe_dump(workers), encoding="utf-8")
    proc = _inventory(tmp_path, config, "--list", check=False)
    assert proc.returncode != 0
    assert "clusters.%s.workers[0].bootMACAddress" % names[499] in proc.stderr
    assert "for %s of cluster %s" % (workers["clusters"][names[0]]["workers"][0]["hostName"], names[0]) in proc.stderr


# ------------------------------------------------------------------------------------------------ Git URL

def test_git_url_is_cloned_and_updated(tmp_path, git_daemon_remote):
    bare = git_daemon_remote.path("gitops.git")
    work = tmp_path / "src"
    shutil.copytree(SEED, str(work))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.check_call(git + ["init", "-q", "-b", "main", str(work)])
    subprocess.check_call(git + ["add", "-A"], cwd=str(work))
    subprocess.check_call(git + ["commit", "-q", "-m", "seed"], cwd=str(work))
    subprocess.check_call(["git", "clone", "-q", "--bare", str(work), bare])
    config = _config(tmp_path, "workdir: %s\n" % (tmp_path / "checkout"))
    env = _env(tmp_path, ZTP_GITOPS_REPO=git_daemon_remote.url("gitops.git"))
    hostvars, _groups = _list(tmp_path, config, env=env)
    assert sorted(hostvars) == ["sno-a", "sno-b", "sno-c"]
    assert os.path.isfile(str(tmp_path / "checkout" / "siteconfig" / "sno-a.yaml"))
    (work / "siteconfig" / "kustomization.yaml").write_text(
        (work / "siteconfig" / "kustomization.yaml").read_text(encoding="utf-8").replace("  - sno-b.yaml\n", ""), encoding="utf-8")
    (work / "policygentemplates" / "kustomization.yaml").write_text(
        (work / "policygentemplates" / "kustomization.yaml").read_text(encoding="utf-8").replace("  - sno-b-site.yaml\n", ""), encoding="utf-8")
    subprocess.check_call(git + ["commit", "-q", "-am", "drop sno-b"], cwd=str(work))
    subprocess.check_call(["git", "push", "-q", bare, "main"], cwd=str(work))
    hostvars, _groups = _list(tmp_path, config, env=env)
    assert sorted(hostvars) == ["sno-a", "sno-c"]


def test_default_working_copy_follows_a_re_created_remote(tmp_path, git_daemon_remote):
    """A test hub started anew serves the same URL and first commit with another history after it: the plugin's own
    working copy (the default workdir) is cloned anew, a working copy given as workdir is left alone and fails."""
    bare = git_daemon_remote.path("gitops.git")
    work = tmp_path / "src"
    shutil.copytree(SEED, str(work))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.check_call(git + ["init", "-q", "-b", "main", str(work)])
    subprocess.check_call(git + ["add", "-A"], cwd=str(work))
    subprocess.check_call(git + ["commit", "-q", "-m", "seed"], cwd=str(work))
    (work / "siteconfig" / "kustomization.yaml").write_text(
        (work / "siteconfig" / "kustomization.yaml").read_text(encoding="utf-8").replace("  - sno-b.yaml\n", ""), encoding="utf-8")
    (work / "policygentemplates" / "kustomization.yaml").write_text(
        (work / "policygentemplates" / "kustomization.yaml").read_text(encoding="utf-8").replace("  - sno-b-site.yaml\n", ""), encoding="utf-8")
    subprocess.check_call(git + ["commit", "-q", "-am", "drop sno-b"], cwd=str(work))
    subprocess.check_call(["git", "clone", "-q", "--bare", str(work), bare])
    own = _config(tmp_path, "")
    given = _config(tmp_path, "workdir: %s\n" % (tmp_path / "checkout"), name="given.sno_fleet.yml")
    env = _env(tmp_path, ZTP_GITOPS_REPO=git_daemon_remote.url("gitops.git"), HOME=str(tmp_path / "home"))
    for config in (own, given):
        assert sorted(_list(tmp_path, config, env=env)[0]) == ["sno-a", "sno-c"]
    assert os.listdir(str(tmp_path / "home" / ".cache" / "ztp-sno-expand" / "inventory"))

    shutil.rmtree(bare)
    subprocess.check_call(git + ["reset", "-q", "--hard", "HEAD~1"], cwd=str(work))
    (work / "README.md").write_text("re-created\n", encoding="utf-8")
    subprocess.check_call(git + ["commit", "-q", "-am", "another history"], cwd=str(work))
    subprocess.check_call(["git", "clone", "-q", "--bare", str(work), bare])
    assert sorted(_list(tmp_path, own, env=env)[0]) == ["sno-a", "sno-b", "sno-c"]
    proc = _inventory(tmp_path, given, "--list", env=env, check=False)
    assert proc.returncode != 0 and "rewritten or the repository re-created" in proc.stderr, proc.stderr
    assert (tmp_path / "checkout" / "README.md").read_text(encoding="utf-8") != "re-created\n"


# ------------------------------------------------------------------------------------------------ hub

@pytest.fixture(name="test_hub")
def fixture_test_hub():
    """A real kube-apiserver with the ACM CRDs (no simulator), on free ports."""
    sys.path.insert(0, REPO_ROOT)
    from testhub.hubctl import Hub, free_port_base  # pylint: disable=import-outside-toplevel
    run_dir = tempfile.mkdtemp(prefix="ztp-inv-hub-")
    hub = None
    try:
        for _attempt in range(3):
            hub = Hub(run_dir, port_base=free_port_base(18440, step=10), simulator=False)
            try:
                hub.start()
                break
            except Exception as error:  # pylint: disable=broad-except
                hub.stop()
                if "in use" not in str(error):
                    raise
        yield hub
    finally:
        if hub is not None:
            hub.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def _managed_cluster(api, name, labels, available, version_claim=None):
    res = api.resources.get(api_version="cluster.open-cluster-management.io/v1", kind="ManagedCluster")
    res.create(body={"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                     "metadata": {"name": name, "labels": labels}, "spec": {"hubAcceptsClient": True}})
    status = {"conditions": [{"type": "ManagedClusterConditionAvailable", "status": available, "reason": "Test", "message": "test",
                              "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    if version_claim:
        status["clusterClaims"] = [{"name": "version.openshift.io", "value": version_claim}]
    res.status.patch(body={"status": status}, name=name, content_type="application/merge-patch+json")


def test_hub_labels_availability_and_version(tmp_path, test_hub):
    api = test_hub.api("hub")
    _managed_cluster(api, "sno-a", {"sites": "sno-a", "region": "eu-west", "openshiftVersion": "4.18.3", "du-profile": "latest"}, "True")
    _managed_cluster(api, "sno-b", {"sites": "sno-b", "region": "eu-north"}, "Unknown", version_claim="4.17.9")
    shutil.copytree(SEED, str(tmp_path / "gitops"))
    (tmp_path / "workers.yml").write_text(
        "clusters:\n" + "".join("  %s:\n    - {hostName: %s-w0.example.com, credentials: c, bootMACAddress: '02:00:00:00:00:0%d'}\n" % (n, n, i)
                                for i, n in enumerate(("sno-a", "sno-b", "sno-c"))), encoding="utf-8")
    config = _config(tmp_path, "repo: gitops\nworkers_file: workers.yml\nhub: true\nlabel_groups: [region, openshiftVersion]\n"
                               "hub_vars:\n  ztp_claimed_version: \"status.clusterClaims[?name=='version.openshift.io'].value | [0]\"\n"
                               "keyed_groups:\n  - key: ztp_hub_version | default('none', true)\n    prefix: ocp\n"
                               "  - key: ztp_claimed_version | default('none', true)\n    prefix: claimed\n")
    hostvars, groups = _list(tmp_path, config, env=_env(tmp_path, K8S_AUTH_KUBECONFIG=test_hub.hub_kubeconfig))
    assert groups["sno_clusters"] == ["sno-a"]
    assert groups["ztp_hub_available"] == ["sno-a"]
    assert groups["ztp_hub_unavailable"] == ["sno-b"]
    assert groups["ztp_hub_missing"] == ["sno-c"]
    assert groups["label_region_eu_west"] == ["sno-a"] and groups["label_region_eu_north"] == ["sno-b"]
    assert groups["label_openshiftVersion_4_18_3"] == ["sno-a"]
    assert groups["ocp_4_17_9"] == ["sno-b"]
    assert (hostvars["sno-a"]["ztp_hub_available"], hostvars["sno-a"]["ztp_hub_version"]) == (True, "4.18.3")
    assert hostvars["sno-a"]["ztp_hub_labels"]["region"] == "eu-west"
    assert (hostvars["sno-b"]["ztp_hub_available"], hostvars["sno-b"]["ztp_hub_version"]) == (False, "4.17.9")
    assert hostvars["sno-c"]["ztp_hub_available"] is None
    # hub_vars: JMESPath over the ManagedCluster, before keyed_groups
    assert hostvars["sno-b"]["ztp_claimed_version"] == "4.17.9" and hostvars["sno-a"]["ztp_claimed_version"] is None
    assert groups["claimed_4_17_9"] == ["sno-b"] and sorted(groups["claimed_none"]) == ["sno-a", "sno-c"]

    # a hub that cannot be reached fails the source with a message, and no credential in it
    bad = _env(tmp_path, K8S_AUTH_HOST="https://127.0.0.1:1", K8S_AUTH_API_KEY="sekret-token-value", K8S_AUTH_KUBECONFIG="")
    proc = _inventory(tmp_path, config, "--list", env=bad, check=False)
    assert proc.returncode != 0 and "ManagedCluster" in proc.stderr and "sekret-token-value" not in proc.stderr


# ------------------------------------------------------------------------------------------------ the playbook on it

def test_expand_sno_runs_unchanged_on_the_plugin_inventory(tmp_path):
    """playbooks/expand_sno.yml on an inventory of three files (plugin configuration, workers file, group_vars) against
    a test hub with the simulator: the worker of sno-b is added from the plugin's variables, and a second run, on the
    repository the first one changed, reads the same inventory and changes nothing."""
    sys.path.insert(0, REPO_ROOT)
    from testhub.hubctl import Hub, free_port_base  # pylint: disable=import-outside-toplevel
    demo = os.path.join(REPO_ROOT, "inventory", "demo")
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    group_vars = _load(os.path.join(demo, "group_vars", "all.yml"))[0]
    group_vars.update(ztp_bmc_username="admin", ztp_bmc_password="bmc-" + os.urandom(6).hex())
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars), encoding="utf-8")
    demo_workers = _load(os.path.join(demo, "workers.yml"))[0]
    sno_b = demo_workers["clusters"]["sno-b"]
    worker = dict(demo_workers.get("defaults") or {}, **sno_b["workers"][0])
    (inventory / "workers.yml").write_text(yaml.safe_dump({"clusters": {"sno-b": {
        "worker_policy": sno_b["worker_policy"], "workers": [worker]}}}), encoding="utf-8")
    config = _config(inventory, "workers_file: workers.yml\nworkdir: %s\n" % (tmp_path / "inventory-checkout"))

    hub = Hub(run_dir=str(tmp_path / "hub"), port_base=free_port_base(25000), crds="auto", simulator=True, speed=600)
    hub.start()
    try:
        env = _env(tmp_path, **hub.env)
        env.update(ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", TMPDIR=str(tmp_path))
        api = hub.api()
        infos = api.resources.get(api_version="internal.open-cluster-management.io/v1beta1", kind="ManagedClusterInfo")
        deadline = time.monotonic() + 180
        while not any(i["metadata"]["name"] == "sno-b" and (i.get("status") or {}).get("nodeList")
                      for i in infos.get().to_dict().get("items", [])):
            assert time.monotonic() < deadline, "sno-b is not ready on the test hub"
            time.sleep(0.5)
        _hostvars, groups = _list(tmp_path, config, env=env)
        assert groups["sno_clusters"] == ["sno-b"]

        def play():
            argv = [os.path.join(BIN, "ansible-playbook"), "-i", config, os.path.join(REPO_ROOT, "playbooks", "expand_sno.yml"),
                    "-e", "ztp_gitops_workdir=%s" % (tmp_path / "gitops")]
            return subprocess.run(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                  timeout=900, check=False)

        first = play()
        assert first.returncode == 0, first.stdout[-6000:]
        clone = str(tmp_path / "check")
        subprocess.run(["git", "clone", "-q", hub.git_url, clone], check=True)
        siteconfig = _load(os.path.join(clone, "siteconfig", "sno-b.yaml"))[0]
        assert [n["hostName"] for n in siteconfig["spec"]["clusters"][0]["nodes"]] == ["sno-b-master-0.ran.example.com", worker["hostName"]]
        workers_policy = _load(os.path.join(clone, "policygentemplates", "sno-b-workers.yaml"))[0]
        assert workers_policy["spec"]["bindingRules"] == {"sites": "sno-b"}
        cgus = api.resources.get(api_version="ran.openshift.io/v1alpha1", kind="ClusterGroupUpgrade").get(namespace="default").to_dict()["items"]
        assert any("sno-b-workers-config-policy" in c["spec"]["managedPolicies"] for c in cgus)

        hostvars, groups = _list(tmp_path, config, env=env)
        assert hostvars["sno-b"]["ztp_worker_policy"]["path"] == "policygentemplates/sno-b-workers.yaml"
        assert [n["hostName"] for n in hostvars["sno-b"]["ztp_cluster_nodes"]][-1] == worker["hostName"]
        again = play()
        assert again.returncode == 0, again.stdout[-6000:]
        recap = [line for line in again.stdout.splitlines() if line.startswith("sno-b ")]
        assert recap and "changed=0" in recap[-1], again.stdout[-4000:]
    finally:
        hub.stop()
        shutil.rmtree(str(tmp_path / "hub"), ignore_errors=True)
