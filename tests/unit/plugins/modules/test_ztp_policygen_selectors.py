# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.ztp.sno_expand.plugins.modules import ztp_policygen_selectors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SHARED = os.environ.get("ZTP_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
UPSTREAM_EXAMPLES = os.path.join(SHARED, "ztp-reference", "examples")
WORKER = {"node-role.kubernetes.io/worker": ""}


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            ztp_policygen_selectors.main()
    return json.loads(capsys.readouterr().out)


def upstream_copy(tmp_path, relative):
    source = os.path.join(UPSTREAM_EXAMPLES, relative)
    if not os.path.isfile(source):
        pytest.skip("upstream examples not found (set ZTP_SHARED_DIR)")
    target = tmp_path / os.path.basename(relative)
    shutil.copy(source, str(target))
    return target


def changed_lines(before, after):
    """Lines removed from ``before`` and lines added in ``after`` (order kept)."""
    import difflib
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_group_pgt(tmp_path, capsys):
    path = upstream_copy(tmp_path, "policygentemplates/group-du-sno-ranGen.yaml")
    before = path.read_text()
    result = run(capsys, path=str(path))
    assert result["changed"]
    after = path.read_text()
    removed, added = changed_lines(before, after)
    # SR-IOV: the existing SriovOperatorConfigForSNO.yaml entry only changes its complianceType
    assert removed == ["      complianceType: musthave"]
    assert added[0] == "      complianceType: mustonlyhave"
    # PTP: a new entry (quoting of plain strings is left to the text splicer)
    assert [line.replace('"config-policy"', "config-policy") for line in added[1:]] == [
        "    - fileName: PtpOperatorConfig.yaml",
        "      policyName: config-policy",
        "      complianceType: mustonlyhave",
        "      spec:",
        "        daemonNodeSelector:",
        "          node-role.kubernetes.io/worker: \"\"",
    ]
    for line in before.splitlines():
        if line.lstrip().startswith("#"):
            assert line in after
    entries = dict((e["fileName"], e) for e in yaml.safe_load(after)["spec"]["sourceFiles"])
    assert entries["SriovOperatorConfigForSNO.yaml"]["spec"]["configDaemonNodeSelector"] == WORKER
    assert entries["PtpOperatorConfig.yaml"]["complianceType"] == "mustonlyhave"
    assert [(c["selector"], c["action"]) for c in result["changed_entries"]] == [("ptp", "added"), ("sriov", "updated")]
    # the root policy the hub gets: <PolicyGenTemplate name>-<policyName>
    name = yaml.safe_load(before)["metadata"]["name"]
    assert result["policies"] == [name + "-config-policy"]

    again = run(capsys, path=str(path))
    # the policy still carries the override when the file is already right
    assert not again["changed"] and again["changed_entries"] == [] and again["policies"] == [name + "-config-policy"]
    assert path.read_text() == after


def test_group_policygenerator(tmp_path, capsys):
    path = upstream_copy(tmp_path, "acmpolicygenerator/acm-group-du-sno-ranGen.yaml")
    before = path.read_text()
    result = run(capsys, path=str(path))
    after = path.read_text()
    removed, added = changed_lines(before, after)
    assert removed == ["      complianceType: musthave"]
    assert added == [
        "      complianceType: mustonlyhave",
        "    - path: source-crs/PtpOperatorConfig.yaml",
        "      complianceType: mustonlyhave",
        "      patches:",
        "      - spec:",
        "          daemonNodeSelector:",
        "            $patch: replace",
        "            node-role.kubernetes.io/worker: \"\"",
    ]
    assert result["changed_entries"][0]["policy"] == "group-du-sno-latest-config-policy"
    assert result["policies"] == ["group-du-sno-latest-config-policy"]
    assert not run(capsys, path=str(path))["changed"]


def test_each_selector_independently(tmp_path, capsys):
    path = upstream_copy(tmp_path, "policygentemplates/group-du-sno-ranGen.yaml")
    before = path.read_text()
    result = run(capsys, path=str(path), ptp=False)
    assert [c["selector"] for c in result["changed_entries"]] == ["sriov"]
    assert "PtpOperatorConfig.yaml" not in path.read_text()
    path.write_text(before)
    result = run(capsys, path=str(path), sriov=False)
    assert [c["selector"] for c in result["changed_entries"]] == ["ptp"]
    assert "complianceType: musthave\n" in path.read_text()


def test_telco_reference_layout(tmp_path, capsys):
    path = upstream_copy(tmp_path, "policygentemplates/telco-reference-release-4.20/group-du-sno-ranGen.yaml")
    result = run(capsys, path=str(path))
    sources = [c["source"] for c in result["changed_entries"]]
    assert sources == ["ptp-operator/PtpOperatorConfig.yaml", "sriov-operator/SriovOperatorConfigForSNO.yaml"]


def test_check_mode_and_master_selector_replaced(tmp_path, capsys):
    path = tmp_path / "group.yaml"
    text = (
        "apiVersion: ran.openshift.io/v1\n"
        "kind: PolicyGenTemplate\n"
        "metadata:\n"
        "  name: \"group-du-sno\"\n"
        "  namespace: \"ztp-group\"\n"
        "spec:\n"
        "  mcp: \"master\"\n"
        "  sourceFiles:\n"
        "    # PTP daemons\n"
        "    - fileName: PtpOperatorConfig.yaml\n"
        "      policyName: \"config-policy\"\n"
        "      spec:\n"
        "        daemonNodeSelector:\n"
        "          node-role.kubernetes.io/master: \"\"   # old\n"
        "    - fileName: SriovOperatorConfig.yaml\n"
        "      policyName: \"config-policy\"\n"
    )
    path.write_text(text)
    result = run(capsys, path=str(path), _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and path.read_text() == text
    assert result["diff"]["before"] == text
    data = yaml.safe_load(result["diff"]["after"])
    ptp, sriov = data["spec"]["sourceFiles"]
    assert ptp == {"fileName": "PtpOperatorConfig.yaml", "policyName": "config-policy", "complianceType": "mustonlyhave",
                   "spec": {"daemonNodeSelector": WORKER}}
    assert sriov["spec"] == {"configDaemonNodeSelector": WORKER} and sriov["complianceType"] == "mustonlyhave"
    assert "# PTP daemons" in result["diff"]["after"]


def test_policygenerator_missing_policy(tmp_path, capsys):
    path = tmp_path / "pg.yaml"
    path.write_text("apiVersion: policy.open-cluster-management.io/v1\nkind: PolicyGenerator\nmetadata:\n  name: g\n"
                    "policyDefaults:\n  namespace: ztp-group\npolicies:\n- name: g-other\n  manifests:\n  - path: source-crs/a.yaml\n")
    result = run(capsys, path=str(path))
    assert result["failed"] and "policy_name: invalid value 'config-policy'" in result["msg"] and "g-other" in result["msg"]


def test_not_a_policy_file(tmp_path, capsys):
    path = tmp_path / "k.yaml"
    path.write_text("generators:\n- a.yaml\n")
    result = run(capsys, path=str(path))
    assert result["failed"] and "PolicyGenTemplate" in result["msg"]
    result = run(capsys, path=str(tmp_path / "missing.yaml"))
    assert result["failed"] and "existing group" in result["msg"]
