"""The playbook as AWX runs it (ansible-runner, AWX private data layout), and secrets kept out of every output."""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import subprocess

import ansible_runner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _secret_forms(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode()]


def test_secrets_appear_nowhere_even_at_vvvv(fleet):
    token = "tok-" + os.urandom(8).hex()
    result = fleet.play("--limit", "sno-b", "--diff", "-vvvv", env={"ZTP_GIT_TOKEN": token})
    assert result.rc == 0, result.output[-6000:]
    assert "sno-b-worker-0-bmc-secret" in result.output  # the Secret was handled in this run
    clone = os.path.join(fleet.workdir, "audit-clone")
    subprocess.run(["git", "clone", "-q", fleet.hub.git_url, clone], check=True)
    history = subprocess.run(["git", "-C", clone, "log", "-p", "--all"], stdout=subprocess.PIPE, text=True, check=True).stdout
    for secret in _secret_forms(fleet.bmc_password) + [token]:
        assert secret not in result.output
        assert secret not in history
    # the Secret on the hub does carry the password: the check above is not vacuous
    secret = fleet.hub.api().resources.get(api_version="v1", kind="Secret").get(name="sno-b-worker-0-bmc-secret", namespace="sno-b")
    assert base64.b64decode(secret.data["password"]).decode() == fleet.bmc_password


def test_ansible_runner_awx_layout_with_job_statistics_and_no_secrets_in_artifacts(fleet, tmp_path):
    private = tmp_path / "runner"
    project = private / "project"
    (project / "collections" / "ansible_collections" / "ztp").mkdir(parents=True)
    os.symlink(REPO, str(project / "collections" / "ansible_collections" / "ztp" / "sno_expand"))
    shutil.copy(os.path.join(REPO, "playbooks", "expand_sno.yml"), str(project / "expand_sno.yml"))
    shutil.copytree(os.path.join(REPO, "inventory", "demo"), str(private / "inventory"))
    password = "awx-" + os.urandom(8).hex()
    token = "tok-" + os.urandom(8).hex()
    # What the job template's credentials inject: hub and Git through the environment, BMC through extra vars.
    envvars = {"K8S_AUTH_KUBECONFIG": fleet.hub.hub_kubeconfig, "ZTP_GITOPS_REPO": fleet.hub.git_url, "ZTP_GIT_TOKEN": token,
               "ZTP_DEMO_BMC_PASSWORD": "unused", "ANSIBLE_NOCOLOR": "1", "TMPDIR": str(tmp_path)}
    extravars = {"ztp_bmc_username": "admin", "ztp_bmc_password": password,
                 "ztp_gitops_workdir": str(tmp_path / "gitops")}
    # The inventory source is the plugin configuration, as an AWX inventory source sourced from a project names it.
    run = ansible_runner.run(private_data_dir=str(private), playbook="expand_sno.yml", ident="job1", envvars=envvars,
                             inventory=str(private / "inventory" / "demo.sno_fleet.yml"), extravars=extravars,
                             cmdline="--limit sno-b -vvvv", quiet=True)
    assert run.status == "successful" and run.rc == 0, "".join(run.stdout.readlines()[-80:])

    stats = [e for e in run.events if e.get("event") == "playbook_on_stats"][-1]
    summary = stats["event_data"]["artifact_data"]["ztp_sno_expand"]["sno-b"]
    assert summary["ok"] is True and summary["phase"] == "done", summary
    assert summary["workers"][0]["host"] == "sno-b-worker-0.ran.example.com" and summary["workers"][0]["ready"] is True
    assert summary["cgu"]["workers"]["succeeded"] is True

    artifacts = glob.glob(str(private / "artifacts" / "job1" / "**" / "*"), recursive=True)
    assert any(path.endswith(".json") for path in artifacts)
    for path in artifacts:
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            for secret in _secret_forms(password):
                assert secret not in text, path
    # The token is injected as an environment variable; ansible-runner records the environment in `command`
    # (AWX masks it in its own display), so it must not reach the job events.
    for path in glob.glob(str(private / "artifacts" / "job1" / "job_events" / "*.json")):
        with open(path, encoding="utf-8") as handle:
            assert token not in json.dumps(json.load(handle)), path
