"""The shipped AWX survey must match the roles' argument specs."""

from __future__ import annotations

import importlib.util
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _generator():
    spec = importlib.util.spec_from_file_location("awx_survey", os.path.join(REPO, "hack", "awx_survey.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_survey_file_is_current():
    with open(os.path.join(REPO, "docs", "awx", "survey.json"), encoding="utf-8") as handle:
        shipped = json.load(handle)
    assert shipped == _generator().build(REPO), "docs/awx/survey.json is stale: run python hack/awx_survey.py > docs/awx/survey.json"


def test_survey_offers_the_disruption_opt_in_as_a_choice_defaulting_to_no():
    questions = {q["variable"]: q for q in _generator().build(REPO)["spec"]}
    opt_in = questions["selector_checks_allow_disruption"]
    assert opt_in["type"] == "multiplechoice"
    assert opt_in["default"] == "false"
    assert "node_addition_cluster_file" not in questions  # per-cluster data stays in the inventory


def test_secret_options_are_password_questions():
    questions = {q["variable"]: q for q in _generator().build(REPO)["spec"]}
    assert questions["node_addition_bmc_password"]["type"] == "password"


def test_job_template_example_names_only_known_variables():
    import yaml  # pylint: disable=import-outside-toplevel

    with open(os.path.join(REPO, "docs", "awx", "job-template.yml"), encoding="utf-8") as handle:
        template = yaml.safe_load(handle)
    with open(os.path.join(REPO, "docs", "user-guide.md"), encoding="utf-8") as handle:
        guide = handle.read()
    questions = {q["variable"] for q in _generator().build(REPO)["spec"]}
    unknown = [name for name in template.get("extra_vars") or {} if name not in questions and "`%s`" % name not in guide]
    assert not unknown, "docs/awx/job-template.yml sets variables neither the survey nor the user guide knows: %s" % unknown
    assert template["job_slice_count"] >= 1
    assert template["extra_vars"]["ztp_selector_override_scope"] in ("bound", "batch")
