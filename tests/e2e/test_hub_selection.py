"""Every hub call of the play goes to the hub the play names, as kubernetes.core modules resolve it.

Two API servers: ``~/.kube/config`` names one (a hub with no simulator, where nothing of the play may arrive), the
play's ``environment:`` keyword names the other (the simulated hub). The BMC Secrets (kubernetes.core), the
selector reads (ManagedClusterViews), the ClusterGroupUpgrades and the install watches (controller-side action
plugins) must all reach the hub of the play.
"""

from __future__ import annotations

import json
import os
import shutil

import yaml

from testhub.hubctl import Hub, free_port_base  # pylint: disable=wrong-import-order

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _requests_by(audit_log: str, user: str) -> list[str]:
    """``verb resource`` of every request the API server audited for ``user``."""
    seen = []
    if not os.path.exists(audit_log):
        return seen
    with open(audit_log, encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            if (event.get("user") or {}).get("username") == user and event.get("stage") == "ResponseComplete":
                ref = event.get("objectRef") or {}
                seen.append("%s %s/%s" % (event.get("verb"), ref.get("namespace", ""), ref.get("resource", "")))
    return seen


def test_every_hub_call_goes_to_the_hub_of_the_plays_environment(fleet, tmp_path):
    other = Hub(run_dir=str(tmp_path / "other-hub"), port_base=free_port_base(24000, avoid=(fleet.hub.port_base,)),
                crds="auto", simulator=False, audit=True)
    other.start()
    try:
        home = tmp_path / "home"
        (home / ".kube").mkdir(parents=True)
        shutil.copy(other.hub_kubeconfig, str(home / ".kube" / "config"))
        before = len(_requests_by(other.audit_log, "testhub-admin"))

        with open(os.path.join(REPO, "playbooks", "expand_sno.yml"), encoding="utf-8") as handle:
            plays = yaml.safe_load(handle)
        plays[0]["environment"] = {"K8S_AUTH_KUBECONFIG": fleet.hub.hub_kubeconfig}
        playbook = tmp_path / "expand_sno_play_env.yml"
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")

        env = fleet.env(HOME=str(home))
        env.pop("K8S_AUTH_KUBECONFIG", None)
        env.pop("KUBECONFIG", None)
        # On the hub of ~/.kube/config no TALM answers: a CGU sent there would wait until the play's timeout.
        result = fleet.play_file(str(playbook), "--limit", "sno-a,sno-b", env=env, timeout=420)
        assert result.rc == 0, result.output[-6000:]

        arrived = _requests_by(other.audit_log, "testhub-admin")[before:]
        assert arrived == [], "requests of the play reached the hub of ~/.kube/config: %s" % arrived[:20]
        cgus = fleet.playbook_cgus()
        assert cgus, "no ClusterGroupUpgrade on the hub of the play"
        assert {s["metadata"]["name"] for s in fleet.items("v1", "Secret", "sno-b")} >= {"sno-b-worker-0-bmc-secret"}
        assert "Wait for the workers of the batch to install" in result.output
    finally:
        other.stop()
