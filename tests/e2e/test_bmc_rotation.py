"""BMC credential rotation (playbooks/rotate_bmc_credentials.yml) against the test hub's simulated baremetal-operator.

One hub for the whole story, to keep it fast: check mode, a rotation verified on a registered host (and stored on the
detached master), a second run that changes nothing, a BMC that refuses the password, and an operator that ignores
the Secret change until the remedy (metal3-io/baremetal-operator issue 1346).
"""

from __future__ import annotations

import base64
import os
import re
import time

BMH = ("metal3.io/v1alpha1", "BareMetalHost")
PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "playbooks",
                        "rotate_bmc_credentials.yml")
MASTER = "sno-a-master-0.ran.example.com"
SPARE = "sno-a-worker-9.ran.example.com"
SPARE_SECRET = "sno-a-worker-9-bmc-secret"
REFRESH = "ztp-sno-expand/bmc-credentials-refresh"


def _resource(fleet, api_version, kind):
    return fleet.hub.api().resources.get(api_version=api_version, kind=kind)


def _get(fleet, api_version, kind, name, namespace="sno-a"):
    return _resource(fleet, api_version, kind).get(name=name, namespace=namespace).to_dict()


def _secret(fleet, name):
    try:
        return _get(fleet, "v1", "Secret", name)
    except Exception:  # pylint: disable=broad-except
        return None


def _password(secret):
    return base64.b64decode(secret["data"]["password"]).decode()


def _wait(predicate, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.5)


def _add_spare_host(fleet):
    """A registered, not detached host (a worker being added): the operator verifies its credentials."""
    _resource(fleet, "v1", "Secret").create(namespace="sno-a", body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": SPARE_SECRET, "namespace": "sno-a"},
        "stringData": {"username": "admin", "password": "factory-password"}})
    _resource(fleet, *BMH).create(namespace="sno-a", body={
        "apiVersion": BMH[0], "kind": BMH[1], "metadata": {"name": SPARE, "namespace": "sno-a"},
        "spec": {"online": False, "bootMACAddress": "0c:42:a1:8a:00:99",
                 "bmc": {"address": "redfish-virtualmedia+https://[2001:db8:a::199]/redfish/v1/Systems/1",
                         "credentialsName": SPARE_SECRET}}})

    def registered():
        bmh = _get(fleet, *BMH, SPARE)
        good = (bmh.get("status") or {}).get("goodCredentials") or {}
        return bmh if good.get("credentialsVersion") == _get(fleet, "v1", "Secret", SPARE_SECRET)["metadata"]["resourceVersion"] else None
    return _wait(registered, "the spare host's initial goodCredentials")


def _rotate(fleet, password, *args):
    extra = {"bmc_rotation_nodes": [{"hostName": MASTER}, {"hostName": SPARE}], "bmc_rotation_ignore_timeout": 4,
             "bmc_rotation_timeout": 120}
    return fleet.play_file(PLAYBOOK, "--limit", "sno-a", *args, extra_vars=extra, env=fleet.env(ZTP_DEMO_BMC_PASSWORD=password))


def test_rotation_check_mode_idempotence_refusal_and_ignored_secret(fleet):
    spare = _add_spare_host(fleet)
    assert spare["status"]["goodCredentials"]["credentials"] == {"name": SPARE_SECRET, "namespace": "sno-a"}
    before = _get(fleet, "v1", "Secret", SPARE_SECRET)
    master_secret_before = _secret(fleet, "sno-a-bmc-secret")

    # (d) check mode writes nothing, and says what would change without showing a value
    checked = _rotate(fleet, "rotated-1", "--check", "--diff")
    assert checked.rc == 0, checked.output
    assert f"Secret sno-a/{SPARE_SECRET} would be updated" in checked.output, checked.output
    assert "+password: <new value>" in checked.output, checked.output
    assert "rotated-1" not in checked.output and "factory-password" not in checked.output
    assert _get(fleet, "v1", "Secret", SPARE_SECRET)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert _secret(fleet, "sno-a-bmc-secret") == master_secret_before

    # (a) the rotation: the registered host is verified on the Secret's new version, the detached master stored
    rotated = _rotate(fleet, "rotated-1")
    assert rotated.rc == 0, rotated.output
    # the batch ends with the summary of every playbook of the collection
    assert re.search(r"sno-a: done, BMC credentials of [2-9] host\(s\) rotated", " ".join(rotated.output.split())), rotated.output
    assert rotated.changed("sno-a") >= 1
    assert "rotated-1" not in rotated.output
    secret = _get(fleet, "v1", "Secret", SPARE_SECRET)
    assert _password(secret) == "rotated-1"
    spare = _get(fleet, *BMH, SPARE)
    assert spare["status"]["goodCredentials"]["credentialsVersion"] == secret["metadata"]["resourceVersion"]
    assert REFRESH not in (spare["metadata"].get("annotations") or {})  # no remedy was needed
    assert _password(_get(fleet, "v1", "Secret", "sno-a-bmc-secret")) == "rotated-1"
    assert f"BareMetalHost sno-a/{MASTER} is detached" in rotated.output, rotated.output
    assert f"BareMetalHost sno-a/{SPARE} uses Secret sno-a/{SPARE_SECRET}" in rotated.output, rotated.output

    # ... and again: nothing to write, nothing to wait for
    again = _rotate(fleet, "rotated-1")
    assert again.rc == 0, again.output
    assert again.changed("sno-a") == 0, again.output
    assert _get(fleet, "v1", "Secret", SPARE_SECRET)["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]

    # (c) the BMC refuses the new password: the host is named with the operator's registration error and the fix
    fleet.set_simulator(faults=[{"kind": "bmc-password", "cluster": "sno-a", "host": SPARE, "password": "rotated-2"}])
    refused = _rotate(fleet, "not-the-bmc-password")
    assert refused.rc != 0
    assert refused.failed_hosts() == ["sno-a"], refused.output
    assert f"sno-a/{SPARE}: BareMetalHost sno-a/{SPARE}: registration error" in refused.output, refused.output
    assert "returned code 401" in refused.output and "check the BMC user and password" in refused.output
    assert "not-the-bmc-password" not in refused.output
    spare = _get(fleet, *BMH, SPARE)
    assert spare["status"]["errorType"] == "registration error" and spare["status"]["operationalStatus"] == "error"

    # (b) the operator ignores the Secret change (issue 1346) until the host is annotated; then the right password is
    # verified and the registration error clears
    fleet.set_simulator(faults=[{"kind": "bmc-password", "cluster": "sno-a", "host": SPARE, "password": "rotated-2"},
                                {"kind": "bmc-secret-ignored", "cluster": "sno-a", "host": SPARE}])
    started = time.monotonic()
    remedied = _rotate(fleet, "rotated-2")
    assert remedied.rc == 0, remedied.output
    assert time.monotonic() - started >= 4  # the remedy waits for the ignore timeout
    assert "remedy applied" in remedied.output, remedied.output
    spare = _get(fleet, *BMH, SPARE)
    secret = _get(fleet, "v1", "Secret", SPARE_SECRET)
    assert spare["metadata"]["annotations"][REFRESH]
    assert spare["status"]["goodCredentials"]["credentialsVersion"] == secret["metadata"]["resourceVersion"]
    assert spare["status"].get("errorType") in (None, "") and spare["status"]["operationalStatus"] == "OK"
    assert _password(secret) == "rotated-2"
