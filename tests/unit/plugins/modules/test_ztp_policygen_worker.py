# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.ztp.sno_expand.plugins.modules import ztp_policygen_worker

KUSTOMIZATION = """\
generators:
# This is common to all RAN deployments
- common-ranGen.yaml
# site policies
- example-sno-site.yaml

resources:
- ns.yaml
"""


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            ztp_policygen_worker.main()
    return json.loads(capsys.readouterr().out)


def worker_args(folder, **changes):
    args = dict(
        path=os.path.join(str(folder), "example-sno-workers.yaml"), name="example-sno-workers",
        namespace="ztp-site", binding_rules={"sites": "example-sno"}, reserved_cpus="0-3",
        isolated_cpus="4-47", cpu_count=48, hugepages={"default_size": "1G", "pages": [{"size": "1G", "count": 32}]},
    )
    args.update(changes)
    return args


def test_creates_file_and_kustomization_entry(tmp_path, capsys):
    (tmp_path / "kustomization.yaml").write_text(KUSTOMIZATION)
    result = run(capsys, **worker_args(tmp_path))
    assert result["changed"] and result["kustomization_changed"]
    assert result["policies"] == ["example-sno-workers-config-policy"]
    document = yaml.safe_load((tmp_path / "example-sno-workers.yaml").read_text())
    assert document["kind"] == "PolicyGenTemplate" and document["spec"]["mcp"] == "worker"
    kustomization = (tmp_path / "kustomization.yaml").read_text()
    assert kustomization == KUSTOMIZATION.replace("- example-sno-site.yaml\n", "- example-sno-site.yaml\n- example-sno-workers.yaml\n")
    assert [d["after_header"] for d in result["diff"]] == [result["path"], result["kustomization_path"]]

    again = run(capsys, **worker_args(tmp_path))
    assert not again["changed"] and not again["kustomization_changed"] and again["diff"] == []
    assert (tmp_path / "kustomization.yaml").read_text().count("example-sno-workers.yaml") == 1


def test_check_mode_writes_nothing(tmp_path, capsys):
    result = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **worker_args(tmp_path))
    assert result["changed"] and result["kustomization_changed"]
    assert "kind: PolicyGenTemplate" in result["diff"][0]["after"]
    assert result["diff"][1]["after"] == "generators:\n- example-sno-workers.yaml\n"
    assert os.listdir(str(tmp_path)) == []


def test_creates_missing_kustomization_and_can_skip_it(tmp_path, capsys):
    result = run(capsys, **worker_args(tmp_path))
    assert (tmp_path / "kustomization.yaml").read_text() == "generators:\n- example-sno-workers.yaml\n"
    other = tmp_path / "other"
    other.mkdir()
    result = run(capsys, kustomization=False, **worker_args(other))
    assert result["changed"] and not result["kustomization_changed"]
    assert not (other / "kustomization.yaml").exists()


def test_hand_edit_keeps_comments_and_reports_diff(tmp_path, capsys):
    run(capsys, **worker_args(tmp_path))
    path = tmp_path / "example-sno-workers.yaml"
    text = path.read_text().replace("  mcp: \"worker\"\n", "  # worker pool\n  mcp: \"worker\"\n")
    text = text.replace('isolated: "4-47"', 'isolated: "4-40"  # tuned by hand')
    path.write_text(text)
    result = run(capsys, **worker_args(tmp_path))
    assert result["changed"] and not result["kustomization_changed"]
    after = path.read_text()
    assert "# worker pool" in after and 'isolated: "4-47"  # tuned by hand' in after
    assert result["diff"][0]["before"] == text


def test_policygenerator(tmp_path, capsys):
    result = run(capsys, **worker_args(tmp_path, format="policygenerator", source_cr_layout="directory"))
    document = yaml.safe_load((tmp_path / "example-sno-workers.yaml").read_text())
    assert document["kind"] == "PolicyGenerator"
    assert document["policies"][0]["name"] == result["policies"][0] == "example-sno-workers-config-policy"


def test_input_errors_fail_before_writing(tmp_path, capsys):
    result = run(capsys, **worker_args(tmp_path, namespace="example-sno", isolated_cpus="2-47"))
    assert result["failed"] and not result["changed"]
    assert "2 input error(s)" in result["msg"]
    assert "namespace: invalid value 'example-sno'" in result["msg"] and "policy-app-project" in result["msg"]
    assert "CPUs 2-3 are in both" in result["msg"]
    assert os.listdir(str(tmp_path)) == []


def test_missing_folder(tmp_path, capsys):
    result = run(capsys, **worker_args(tmp_path / "nope"))
    assert result["failed"] and "does not exist" in result["msg"]
