# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import shutil

import pytest
import yaml

from ansible_collections.ztp.sno_expand.plugins.module_utils import _fleet_inventory as fleet

SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "testhub", "gitops-seed")


@pytest.fixture
def repo(tmp_path):
    dest = tmp_path / "repo"
    shutil.copytree(SEED, str(dest))
    return dest


def _seed_yaml(rel):
    with open(os.path.join(SEED, rel), encoding="utf-8") as handle:
        return [d for d in yaml.safe_load_all(handle) if d]


# ------------------------------------------------------------------------------------------------ selectors

def test_binding_rules_and_placements():
    expressions = fleet.pgt_expressions({"group-du-sno": "", "sites": "a,b", "common": True}, {"ztp-done": "", "region": "eu"})
    assert expressions == [("common", "In", ["true"]), ("group-du-sno", "Exists", []), ("sites", "In", ["a", "b"]),
                           ("region", "NotIn", ["eu"]), ("ztp-done", "DoesNotExist", [])]
    labels = {"common": "true", "group-du-sno": "", "sites": "b"}
    assert fleet.matches(expressions, labels)
    assert not fleet.matches(expressions, dict(labels, **{"ztp-done": ""}))
    assert not fleet.matches(expressions, dict(labels, region="eu"))
    assert fleet.matches(expressions, dict(labels, region="us"))
    assert not fleet.matches(expressions, dict(labels, sites="c"))
    assert fleet.placement_expressions({"labelSelector": {"a": "", "b": "x"}}) == [("a", "Exists", []), ("b", "In", ["x"])]
    assert fleet.placement_expressions({"labelSelector": {"matchLabels": {"b": "x"},
                                                          "matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["y"]}]}}) \
        == [("b", "In", ["x"]), ("c", "NotIn", ["y"])]
    assert fleet.placement_expressions({"clusterSelectors": {"d": "1"}}) == [("d", "In", ["1"])]
    assert fleet.placement_expressions({"placementName": "existing"}) is None


def test_selector_index_finds_exactly_what_a_full_scan_finds():
    rng = random.Random(7)
    keys = ["sites", "region", "group-du-sno", "common", "ztp-done"]
    templates = []
    for index in range(200):
        rules = dict((k, rng.choice(["", "a", "b", "a,b"])) for k in rng.sample(keys, rng.randint(0, 3)))
        excluded = dict((k, rng.choice(["", "a"])) for k in rng.sample(keys, rng.randint(0, 1)))
        doc = {"apiVersion": "ran.openshift.io/v1", "kind": "PolicyGenTemplate", "metadata": {"name": "t%d" % index, "namespace": "ztp-x"},
               "spec": {"bindingRules": rules, "bindingExcludedRules": excluded}}
        templates.append(fleet.Template("t.yaml", 0, fleet.PGT, doc))
    index = fleet.SelectorIndex(templates)
    for _round in range(300):
        labels = dict((k, rng.choice(["", "a", "b"])) for k in rng.sample(keys, rng.randint(0, 5)))
        full = [i for i, t in enumerate(templates) if t.binds(labels)]
        assert [i for i in index.candidates(labels) if templates[i].binds(labels)] == full


# ------------------------------------------------------------------------------------------------ the seed repository

def test_seed_repository_gives_the_values_the_files_hold(repo):
    result = fleet.read_fleet(str(repo), str(repo), {"template_details": True})
    hosts = result["hosts"]
    assert sorted(hosts) == ["sno-a", "sno-b", "sno-c"]
    assert result["groups"]["sno_clusters"] == ["sno-a", "sno-b", "sno-c"]
    assert result["groups"]["ztp_not_sno"] == [] and result["warnings"] == []

    group = _seed_yaml("policygentemplates/group-du-sno-ranGen.yaml")[0]
    profile = [e for e in group["spec"]["sourceFiles"] if e["fileName"] == "PerformanceProfile.yaml"][0]["spec"]
    site = _seed_yaml("policygentemplates/sno-a-site.yaml")[0]
    sno_a_file = _seed_yaml("siteconfig/sno-a.yaml")[0]
    a = hosts["sno-a"]
    assert a["ztp_cluster_file"] == "siteconfig/sno-a.yaml"
    assert a["ztp_cluster_format"] == "siteconfig-v2"
    assert a["ztp_cluster_namespace"] == "sno-a"
    assert a["ztp_cluster_labels"] == dict((k, str(v)) for k, v in sno_a_file["spec"]["clusters"][0]["clusterLabels"].items())
    assert a["ztp_cluster_nodes"] == [{"hostName": sno_a_file["spec"]["clusters"][0]["nodes"][0]["hostName"], "role": "master"}]
    assert a["ztp_group_policy_path"] == "policygentemplates/group-du-sno-ranGen.yaml"
    assert a["ztp_group_policies"] == [group["metadata"]["name"] + "-config-policy"]
    assert a["ztp_site_policies"] == [site["metadata"]["name"] + "-config-policy"]
    worker = a["ztp_worker_policy"]
    assert worker["reserved_cpus"] == profile["cpu"]["reserved"]
    assert worker["isolated_cpus"] == profile["cpu"]["isolated"]
    assert worker["cpu_count"] == 64
    assert worker["hugepages"] == {"default_size": profile["hugepages"]["defaultHugepagesSize"],
                                   "pages": [{"size": p["size"], "count": p["count"]} for p in profile["hugepages"]["pages"]]}
    assert worker["realtime_kernel"] is True  # not in the template: the source CR's realTimeKernel.enabled
    assert dict((k, worker[k]) for k in ("path", "format", "name", "namespace", "binding_rules")) == {
        "path": "policygentemplates/sno-a-workers.yaml", "format": "policygentemplate", "name": "sno-a-workers",
        "namespace": "ztp-site", "binding_rules": {"sites": "sno-a"}}
    roles = dict((t["path"], t["role"]) for t in a["ztp_policy_templates"])
    assert roles == {"policygentemplates/common-ranGen.yaml": "common", "policygentemplates/group-du-sno-ranGen.yaml": "group",
                     "policygentemplates/sno-a-site.yaml": "site"}

    c = hosts["sno-c"]
    pg = _seed_yaml("policygenerator/acm-group-du-sno-pg-ranGen.yaml")[0]
    patch = [m for m in pg["policies"][0]["manifests"] if "PerformanceProfile" in m["path"]][0]["patches"][0]["spec"]
    assert c["ztp_cluster_format"] == "clusterinstance" and c["ztp_cluster_file"] == "clusterinstance/sno-c.yaml"
    assert c["ztp_group_policy_path"] == "policygenerator/acm-group-du-sno-pg-ranGen.yaml"
    assert c["ztp_group_policies"] == [pg["policies"][0]["name"]]
    assert c["ztp_site_policies"] == []
    assert c["ztp_worker_policy"]["reserved_cpus"] == patch["cpu"]["reserved"]
    assert c["ztp_worker_policy"]["format"] == "policygenerator"
    assert c["ztp_worker_policy"]["path"] == "policygenerator/sno-c-workers.yaml"


def test_an_existing_worker_template_is_the_worker_policy(repo):
    (repo / "policygentemplates" / "sno-a-hw.yaml").write_text(
        "apiVersion: ran.openshift.io/v1\nkind: PolicyGenTemplate\nmetadata: {name: sno-a-hw, namespace: ztp-site}\n"
        "spec:\n  bindingRules: {sites: sno-a}\n  mcp: worker\n  sourceFiles:\n    - {fileName: PerformanceProfile.yaml, policyName: wp}\n",
        encoding="utf-8")
    kust = repo / "policygentemplates" / "kustomization.yaml"
    text = kust.read_text(encoding="utf-8")
    kust.write_text(text.replace("  - sno-b-site.yaml\n", "  - sno-b-site.yaml\n  - sno-a-hw.yaml\n"), encoding="utf-8")
    hosts = fleet.read_fleet(str(repo), str(repo), {})["hosts"]
    worker = hosts["sno-a"]["ztp_worker_policy"]
    assert (worker["path"], worker["name"], worker["policy_name"], worker["binding_rules"]) == \
        ("policygentemplates/sno-a-hw.yaml", "sno-a-hw", "wp", {"sites": "sno-a"})
    assert hosts["sno-a"]["ztp_site_policies"] == ["sno-a-config-policy"]   # the worker template is not a site template
    assert worker["reserved_cpus"] == "0-1,32-33"                          # the master's profile is still the default


def test_multi_cluster_multi_document_files_and_non_sno_clusters(repo):
    text = (repo / "siteconfig" / "sno-b.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text.split("---", 1)[1])
    mno = yaml.safe_load(yaml.safe_dump(doc["spec"]["clusters"][0]))
    mno["clusterName"] = "mno-1"
    mno["clusterLabels"] = {"sites": "mno-1"}
    mno["nodes"] = [dict(mno["nodes"][0], hostName="m%d" % i) for i in range(3)]
    sno2 = yaml.safe_load(yaml.safe_dump(doc["spec"]["clusters"][0]))
    sno2["clusterName"] = "sno-b2"
    doc["spec"]["clusters"] += [mno, sno2]
    ci = _seed_yaml("clusterinstance/sno-c.yaml")[0]
    ci["spec"]["clusterName"] = ci["metadata"]["name"] = "sno-d"
    ci["metadata"]["namespace"] = "site-d"
    (repo / "siteconfig" / "sno-b.yaml").write_text("# two documents\n" + yaml.safe_dump(doc) + "---\n" + yaml.safe_dump(ci), encoding="utf-8")
    result = fleet.read_fleet(str(repo), str(repo), {}, hub_client=None)
    assert sorted(result["hosts"]) == ["mno-1", "sno-a", "sno-b", "sno-b2", "sno-c", "sno-d"]
    assert result["groups"]["ztp_not_sno"] == ["mno-1"]
    assert "mno-1" not in result["groups"]["sno_clusters"]
    assert len(result["warnings"]) == 1 and "siteconfig/sno-b.yaml:" in result["warnings"][0] and "3 control-plane" in result["warnings"][0]
    assert result["hosts"]["sno-d"]["ztp_cluster_namespace"] == "site-d"
    assert result["hosts"]["sno-b2"]["ztp_cluster_file"] == "siteconfig/sno-b.yaml"


# ------------------------------------------------------------------------------------------------ broken repositories

def _problems(repo, options=None):
    with pytest.raises(fleet.FleetError) as err:
        fleet.read_fleet(str(repo), str(repo), options or {})
    return str(err.value)


def test_broken_yaml_names_file_and_line(repo):
    path = repo / "siteconfig" / "sno-b.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(True)
    lines[20] = "      clusterLabels: [unclosed\n"
    path.write_text("".join(lines), encoding="utf-8")
    message = _problems(repo)
    assert "siteconfig/sno-b.yaml:2" in message and "a valid YAML file" in message


def test_a_cluster_defined_twice_names_both_places(repo):
    text = (repo / "siteconfig" / "sno-a.yaml").read_text(encoding="utf-8")
    (repo / "clusterinstance" / "again.yaml").write_text("# copy\n\n" + text, encoding="utf-8")
    kust = repo / "clusterinstance" / "kustomization.yaml"
    kust.write_text(kust.read_text(encoding="utf-8") + "  - again.yaml\n", encoding="utf-8")
    message = _problems(repo)
    line = [i + 1 for i, l in enumerate(text.splitlines()) if "clusterName" in l][0]
    assert "clusterName: invalid value 'sno-a'" in message
    assert "siteconfig/sno-a.yaml:%d and clusterinstance/again.yaml:%d" % (line, line + 2) in message


def test_a_binding_rule_that_matches_nothing(repo):
    path = repo / "policygentemplates" / "sno-b-site.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('sites: "sno-b"', 'sites: "sno-bb"'), encoding="utf-8")
    line = [i + 1 for i, l in enumerate(path.read_text(encoding="utf-8").splitlines()) if "sno-bb" in l][0]
    message = _problems(repo)
    assert "policygentemplates/sno-b-site.yaml:%d: spec/bindingRules: invalid value 'sites in (sno-bb)'" % line in message
    warned = fleet.read_fleet(str(repo), str(repo), {"unmatched_templates": "warn"})
    assert any("sno-b-site.yaml:%d" % line in w for w in warned["warnings"])
    assert warned["hosts"]["sno-b"]["ztp_site_policies"] == []


def test_a_kustomization_entry_without_its_file(repo):
    kust = repo / "siteconfig" / "kustomization.yaml"
    kust.write_text(kust.read_text(encoding="utf-8").replace("  - sno-b.yaml\n", "  - sno-b.yaml\n  - sno-z.yaml\n"), encoding="utf-8")
    line = [i + 1 for i, l in enumerate(kust.read_text(encoding="utf-8").splitlines()) if "sno-z" in l][0]
    message = _problems(repo)
    assert "siteconfig/kustomization.yaml:%d: generators[2]: invalid value 'sno-z.yaml'" % line in message


def test_a_workers_file_problem_and_an_incomplete_profile(repo, tmp_path):
    (repo / "policygenerator" / "acm-group-du-sno-pg-ranGen.yaml").write_text(
        (repo / "policygenerator" / "acm-group-du-sno-pg-ranGen.yaml").read_text(encoding="utf-8").replace(
            "source-crs/PerformanceProfile-SetSelector.yaml", "source-crs/Other.yaml"), encoding="utf-8")
    workers = tmp_path / "workers.yml"
    workers.write_text("clusters:\n  sno-c:\n    - {hostName: w.example.com, credentials: s, bootMACAddress: '3c:fd:fe:b1:30:10'}\n",
                       encoding="utf-8")
    message = _problems(repo, {"workers_file": str(workers)})
    assert "%s:3: clusters.sno-c.workers[0].bootMACAddress" % workers in message and "clusterinstance/sno-c.yaml" in message
    assert "%s:2: clusters.sno-c.worker_policy" % workers in message and "reserved_cpus, isolated_cpus, hugepages" in message


# ------------------------------------------------------------------------------------------------ hub

class FakeHub(object):
    def __init__(self, items):
        self.items = items

    def list(self, api_version, kind):
        assert (api_version, kind) == fleet.MANAGED_CLUSTER
        return self.items, "1"


def _mc(name, labels, available, claims=()):
    return {"metadata": {"name": name, "labels": labels},
            "status": {"conditions": [{"type": "ManagedClusterConditionAvailable", "status": available}],
                       "clusterClaims": [{"name": k, "value": v} for k, v in claims]}}


def test_hub_labels_availability_and_version(repo, tmp_path):
    workers = tmp_path / "workers.yml"
    entry = "  %s:\n    - {hostName: %s-w0, credentials: s, bootMACAddress: '00:00:00:00:00:0%d'}\n"
    workers.write_text("clusters:\n" + "".join(entry % (n, n, i) for i, n in enumerate(["sno-a", "sno-b", "sno-c"])), encoding="utf-8")
    hub = FakeHub([_mc("sno-a", {"region": "eu-west", "openshiftVersion": "4.18.3", "sites": "sno-a"}, "True"),
                   _mc("sno-b", {"region": "eu-west"}, "Unknown", claims=[("version.openshift.io", "4.17.9")])])
    result = fleet.read_fleet(str(repo), str(repo), {"workers_file": str(workers), "label_groups": ["region", "openshiftVersion"]}, hub_client=hub)
    groups, hosts = result["groups"], result["hosts"]
    assert groups["sno_clusters"] == ["sno-a"]
    assert groups["ztp_hub_available"] == ["sno-a"]
    assert groups["ztp_hub_unavailable"] == ["sno-b"]
    assert groups["ztp_hub_missing"] == ["sno-c"]
    assert groups["label_region_eu_west"] == ["sno-a", "sno-b"]
    assert groups["label_openshiftVersion_4_18_3"] == ["sno-a"]
    assert "label_sites_sno_a" not in groups
    assert (hosts["sno-a"]["ztp_hub_available"], hosts["sno-a"]["ztp_hub_version"]) == (True, "4.18.3")
    assert (hosts["sno-b"]["ztp_hub_available"], hosts["sno-b"]["ztp_hub_version"]) == (False, "4.17.9")
    assert hosts["sno-c"]["ztp_hub_available"] is None


def test_hub_vars_are_jmespath_over_the_managed_cluster(repo):
    claims = [("platform.open-cluster-management.io", "BareMetal"), ("region.open-cluster-management.io", "eu-west-1")]
    hub = FakeHub([_mc("sno-a", {"region": "eu-west"}, "True", claims=claims)])
    hub_vars = {"ztp_platform": "status.clusterClaims[?name=='platform.open-cluster-management.io'].value | [0]",
                "ztp_claims": "status.clusterClaims[].name", "ztp_missing": "status.nothing.here"}
    hosts = fleet.read_fleet(str(repo), str(repo), {"hub_vars": hub_vars}, hub_client=hub)["hosts"]
    assert hosts["sno-a"]["ztp_platform"] == "BareMetal"
    assert hosts["sno-a"]["ztp_claims"] == ["platform.open-cluster-management.io", "region.open-cluster-management.io"]
    assert hosts["sno-a"]["ztp_missing"] is None
    # a cluster the hub does not know gets the variables, unset
    assert hosts["sno-b"]["ztp_platform"] is None and hosts["sno-b"]["ztp_hub_available"] is None


@pytest.mark.parametrize("hub_vars, named", [
    ({"ztp_bad": "status.clusterClaims[?name=="}, "hub_vars.ztp_bad"),
    ({"not a name": "metadata.name"}, "not a name"),
    (["metadata.name"], "hub_vars"),
])
def test_bad_hub_vars_are_named_before_the_hub_is_read(repo, hub_vars, named):
    class NoHub(object):
        def list(self, *args):
            raise AssertionError("the hub must not be read")

    with pytest.raises(fleet.FleetError) as error:
        fleet.read_fleet(str(repo), str(repo), {"hub_vars": hub_vars}, hub_client=NoHub())
    assert named in str(error.value) and "the inventory configuration" in str(error.value)


def test_hub_labels_bind_templates_git_does_not_know(repo):
    path = repo / "policygentemplates" / "sno-b-site.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('sites: "sno-b"', 'sites: "sno-b"\n    region: "eu"'), encoding="utf-8")
    with pytest.raises(fleet.FleetError):
        fleet.read_fleet(str(repo), str(repo), {})
    result = fleet.read_fleet(str(repo), str(repo), {"label_groups": ["*"]}, hub_client=FakeHub([_mc("sno-b", {"region": "eu"}, "True")]))
    assert result["hosts"]["sno-b"]["ztp_site_policies"] == ["sno-b-config-policy"]
    assert result["groups"]["label_sites_sno_b"] == ["sno-b"]
    assert result["groups"]["label_group_du_sno"] == ["sno-a", "sno-b"]


def test_two_group_templates_warn_once_and_the_first_is_used(repo):
    group = (repo / "policygentemplates" / "group-du-sno-ranGen.yaml").read_text(encoding="utf-8")
    (repo / "policygentemplates" / "group-two.yaml").write_text(group.replace('name: "group-du-sno"', 'name: "group-two"'), encoding="utf-8")
    kust = repo / "policygentemplates" / "kustomization.yaml"
    kust.write_text(kust.read_text(encoding="utf-8").replace("  - sno-a-site.yaml\n", "  - sno-a-site.yaml\n  - group-two.yaml\n"),
                    encoding="utf-8")
    result = fleet.read_fleet(str(repo), str(repo), {})
    assert len(result["warnings"]) == 1 and "group-du-sno (policygentemplates/group-du-sno-ranGen.yaml), group-two" in result["warnings"][0]
    assert result["hosts"]["sno-a"]["ztp_group_policy_path"] == "policygentemplates/group-du-sno-ranGen.yaml"
    assert result["hosts"]["sno-b"]["ztp_group_policies"] == ["group-du-sno-config-policy"]
