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
