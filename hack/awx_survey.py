"""Build the AWX survey of the expand_sno job template from the roles' argument specs.

AWX does not derive surveys from argument specs, so the collection ships one: every option of the phase roles
whose type a survey can carry (bool, int, str, path) and that is not per-cluster inventory data.
Usage: python hack/awx_survey.py > docs/awx/survey.json   (a unit test checks that the file is current)
"""

from __future__ import annotations

import json
import os
import sys

import yaml

ROLES = ("selector_checks", "policy_creation", "node_addition", "install_verification")
# Per-cluster values belong in the inventory, not in a job-wide survey.
PER_CLUSTER = {
    "selector_checks_cluster", "selector_checks_group_policy_path", "selector_checks_spoke_kubeconfig",
    "policy_creation_cluster", "policy_creation_worker_policy_namespace",
    "node_addition_cluster", "node_addition_cluster_file", "node_addition_worker_policy_namespace",
    "install_verification_cluster",
}
SURVEY_TYPES = {"bool": "multiplechoice", "int": "integer", "str": "text", "path": "text"}


def _text(description):
    if isinstance(description, list):
        description = " ".join(description)
    return " ".join(str(description).replace("C(", "").replace(")", "").split())


def build(repo):
    spec = [{
        "question_name": "Batch size",
        "question_description": "Clusters per batch (serial): each batch gets one commit per phase, one ClusterGroupUpgrade and one watch.",
        "required": True, "type": "integer", "variable": "ztp_batch_size", "default": 50, "min": 1, "max": 1000,
    }]
    for role in ROLES:
        with open(os.path.join(repo, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
            options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
        for name, option in options.items():
            kind = option.get("type", "str")
            if name in PER_CLUSTER or option.get("required") or kind not in SURVEY_TYPES:
                continue
            question = {
                "question_name": name.replace("_", " ").capitalize(),
                "question_description": _text(option.get("description", ""))[:500],
                "required": False,
                "type": "password" if option.get("no_log") else SURVEY_TYPES[kind],
                "variable": name,
            }
            if kind == "bool":
                question["choices"] = ["true", "false"]
                question["default"] = "true" if option.get("default") else "false"
            elif "default" in option:
                question["default"] = option["default"]
            spec.append(question)
    return {"name": "Expand single-node OpenShift clusters", "description": "ztp.sno_expand expand_sno.yml", "spec": spec}


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    json.dump(build(repo), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
