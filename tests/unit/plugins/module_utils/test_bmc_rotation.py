# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _bmc_rotation as br
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, ZtpInputErrors

PARAMS = {"timeout": 60, "ignore_timeout": 10, "remedy": True, "poll_interval": 1.0}


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(rv="10", password="old", username="admin", labelled=True, owner="uid-1"):
    meta = {"name": "w0-bmc", "namespace": "sno-a", "resourceVersion": rv,
            "labels": {br.ENVIRONMENT_LABEL: br.ENVIRONMENT_VALUE} if labelled else {},
            "ownerReferences": [{"uid": owner}] if owner else []}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": {"username": b64(username), "password": b64(password)}}


def block(rv, name="w0-bmc"):
    return {"credentials": {"name": name, "namespace": "sno-a"}, "credentialsVersion": rv}


def bmh(good="10", tried=None, error="", detached=False, uid="uid-1"):
    status = {"operationalStatus": "error" if error else "OK", "provisioning": {"state": "available"}}
    if good:
        status["goodCredentials"] = block(good)
    if tried:
        status["triedCredentials"] = block(tried)
    if error:
        status.update(errorType="registration error", errorMessage=error)
    meta = {"name": "w0", "namespace": "sno-a", "uid": uid, "annotations": {}}
    if detached:
        meta["annotations"][br.DETACHED_ANNOTATION] = "assisted-service-controller"
    return {"apiVersion": br.BMH_API, "kind": "BareMetalHost", "metadata": meta,
            "spec": {"bmc": {"credentialsName": "w0-bmc", "address": "redfish://bmc"}}, "status": status}


# ---- judges ----

def test_secret_values_and_match():
    assert br.secret_values(secret()) == ("admin", "old")
    assert br.secret_matches(secret(), "admin", "old")
    assert not br.secret_matches(secret(), "admin", "new")
    assert not br.secret_matches(None, "admin", "old")
    assert br.secret_values({"data": {"password": "%%%not-base64"}}) == (None, None)


def test_credentials_match_follows_the_operator_match():
    assert br.credentials_match(block("10"), secret("10"))
    assert not br.credentials_match(block("9"), secret("10"))
    assert not br.credentials_match(block("10", name="other"), secret("10"))
    assert not br.credentials_match({"credentialsVersion": "10"}, secret("10"))  # no reference: never a match
    assert not br.credentials_match(None, secret("10"))


def test_judge_verified_pending_rejected_ignored_detached_missing():
    assert br.judge(bmh(good="11"), secret("11"), 0, 10)[0] == br.VERIFIED
    assert br.judge(bmh(good="10", tried="10"), secret("11"), 3, 10)[0] == br.PENDING
    assert br.judge(bmh(good="10", tried="11"), secret("11"), 99, 10)[0] == br.PENDING  # registering with it
    verdict, message = br.judge(bmh(good="10", tried="11", error="401 denied"), secret("11"), 0, 10)
    assert verdict == br.REJECTED and "sno-a/w0" in message and "401 denied" in message
    # an error on the old version tried is not a verdict on the new one
    assert br.judge(bmh(good="10", tried="10", error="old trouble"), secret("11"), 3, 10)[0] == br.PENDING
    verdict, message = br.judge(bmh(good="10", tried="10"), secret("11"), 10, 10)
    assert verdict == br.IGNORED and "issue 1346" in message and "version 11" in message
    assert br.judge(bmh(good="10", detached=True), secret("11"), 99, 10)[0] == br.DETACHED
    assert br.judge(None, secret("11"), 0, 10)[0] == br.MISSING


def test_secret_unwatched_names_label_and_owner():
    assert br.secret_unwatched(secret(), bmh()) == ""
    text = br.secret_unwatched(secret(labelled=False, owner=None), bmh())
    assert br.ENVIRONMENT_LABEL in text and "owner reference" in text
    assert "owner reference" in br.secret_unwatched(secret(owner="someone-else"), bmh())


def test_registration_error_only_for_that_error_type():
    assert br.registration_error(bmh(error="boom")) == "boom"
    other = bmh()
    other["status"].update(operationalStatus="error", errorType="inspection error", errorMessage="x")
    assert br.registration_error(other) == ""


# ---- input ----

def test_check_params_fills_bmh_and_namespace_and_rejects_conflicts():
    entries = br.check_params(dict(PARAMS, credentials=[{"cluster": "sno-a", "host": "w0", "username": "u", "password": "p"}]))
    assert entries[0]["bmh"] == "w0" and entries[0]["namespace"] == "sno-a"
    with pytest.raises(ZtpInputError):
        br.check_params(dict(PARAMS, credentials=[{"cluster": "sno-a", "username": "u", "password": "p"}]))
    with pytest.raises((ZtpInputError, ZtpInputErrors)) as info:
        br.check_params(dict(PARAMS, credentials=[{"cluster": "sno-a", "host": "w0", "username": "u", "password": "p1"},
                                                  {"cluster": "sno-a", "host": "w0", "username": "u", "password": "p2"}]))
    assert "p1" not in str(info.value) and "p2" not in str(info.value)
    with pytest.raises(ZtpInputError):
        br.check_params(dict(PARAMS, ignore_timeout=0, credentials=[]))


def test_entries_from_request_per_host_credentials_first():
    request = {"cluster": "sno-a", "namespace": None, "host": "inv-a", "username": "admin", "password": "shared",
               "credentials": {"w1": {"username": "root", "password": "own"}},
               "nodes": [{"hostName": "m0", "role": "master"}, {"hostName": "w1", "bmcCredentialsName": {"name": "w1-bmc"}},
                         {"hostName": "m0"}]}
    entries, problems = br.entries_from_request(request)
    assert problems == []
    assert [(e["bmh"], e["username"], e["password"], e.get("secret")) for e in entries] == [
        ("m0", "admin", "shared", None), ("w1", "root", "own", "w1-bmc")]
    assert entries[0]["inventory_host"] == "inv-a" and entries[0]["namespace"] == "sno-a"
    dummy, problems = br.entries_from_request(dict(request, username="", password="", credentials={}))
    assert len(problems) == 2 and "bmc_rotation_password" in problems[0]
    dummy, problems = br.entries_from_request(dict(request, nodes=[]))
    assert "bmc_rotation_nodes is empty" in problems[0]


# ---- the run, against a fake hub ----

class FakeHub(object):
    """Secrets and BareMetalHosts in memory; ``operator`` is called on every BMH list (one poll) to move status."""

    def __init__(self, secrets, hosts, operator=None):
        self.secrets = dict((s["metadata"]["name"], s) for s in secrets)
        self.hosts = dict((h["metadata"]["name"], h) for h in hosts)
        self.operator = operator
        self.writes = []
        self.rv = 100

    def _bump(self, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        return copy.deepcopy(obj)

    def list(self, api_version, kind, namespace=None):
        if kind == "BareMetalHost":
            if self.operator:
                self.operator(self)
            return [copy.deepcopy(h) for h in self.hosts.values()], "1"
        return [copy.deepcopy(s) for s in self.secrets.values()], "1"

    def get(self, api_version, kind, name, namespace=None):
        obj = self.secrets.get(name)
        return copy.deepcopy(obj) if obj else None

    def create(self, body):
        self.writes.append(("create", body["metadata"]["name"]))
        self.secrets[body["metadata"]["name"]] = copy.deepcopy(body)
        return self._bump(self.secrets[body["metadata"]["name"]])

    def patch(self, api_version, kind, name, namespace, patch):
        self.writes.append(("patch", kind, name))
        if kind == "Secret":
            self.secrets[name]["data"].update(patch["data"])
            return self._bump(self.secrets[name])
        self.hosts[name]["metadata"].setdefault("annotations", {}).update(patch["metadata"]["annotations"])
        return copy.deepcopy(self.hosts[name])


ENTRY = {"cluster": "sno-a", "namespace": "sno-a", "bmh": "w0", "host": "w0", "username": "admin", "password": "S3cr3t-new"}


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run(hub, check_mode=False, params=None):
    clock = Clock()
    return br.run_rotation(hub, [dict(ENTRY)], dict(PARAMS, **(params or {})), check_mode=check_mode, sleep=clock.sleep, clock=clock)


def accepting_operator(ignore=False):
    """The operator: takes the Secret's version (after its claim), unless it ignores changes and the host has no
    refresh annotation."""
    def operator(hub):
        host = hub.hosts["w0"]
        if "w0-bmc" not in hub.secrets:
            return
        current = hub.secrets["w0-bmc"]["metadata"]["resourceVersion"]
        if ignore and br.REFRESH_ANNOTATION not in host["metadata"].get("annotations", {}):
            return
        host["status"]["triedCredentials"] = block(current)
        host["status"]["goodCredentials"] = block(current)
    return operator


def test_run_writes_once_and_verifies():
    hub = FakeHub([secret("10")], [bmh(good="10", tried="10")], accepting_operator())
    result = run(hub)
    assert hub.writes == [("patch", "Secret", "w0-bmc")]
    assert result["changed"] and result["hosts"][0]["verdict"] == br.VERIFIED and result["hosts"][0]["secret_changed"]
    assert result["clusters"]["sno-a"]["ok"] and "msg" not in result
    assert "S3cr3t-new" not in repr(result) and b64("S3cr3t-new") not in repr(result)
    assert result["diff"][0]["after"] == "username: <unchanged>\npassword: <new value>\n"


def test_same_password_again_changes_nothing_and_does_not_wait():
    hub = FakeHub([secret("10", password="S3cr3t-new")], [bmh(good="10", tried="10")])
    result = run(hub)
    assert hub.writes == [] and not result["changed"] and result["hosts"][0]["verdict"] == br.VERIFIED
    assert result["summary"]["elapsed"] == 0


def test_check_mode_writes_nothing():
    hub = FakeHub([secret("10")], [bmh(good="10", tried="10")], accepting_operator())
    result = run(hub, check_mode=True)
    assert hub.writes == [] and result["changed"] and result["hosts"][0]["verdict"] == br.WOULD_CHANGE
    assert result["hosts"][0]["ok"]


def test_ignored_change_gets_the_remedy_then_is_verified():
    hub = FakeHub([secret("10")], [bmh(good="10", tried="10")], accepting_operator(ignore=True))
    result = run(hub)
    host = result["hosts"][0]
    assert host["remedy_applied"] and host["verdict"] == br.VERIFIED and host["ok"]
    assert ("patch", "BareMetalHost", "w0") in hub.writes
    assert any("remedy applied" in line for line in result["progress"])


def test_ignored_change_without_remedy_fails_with_the_fix():
    hub = FakeHub([secret("10")], [bmh(good="10", tried="10")], accepting_operator(ignore=True))
    result = run(hub, params={"remedy": False})
    host = result["hosts"][0]
    assert host["verdict"] == br.IGNORED and not host["ok"] and "issue 1346" in result["msg"]
    assert "restart the metal3 baremetal-operator pod" in host["fix"]
    assert ("patch", "BareMetalHost", "w0") not in hub.writes


def test_refused_credentials_name_the_host_and_the_fix():
    def refusing(hub):
        current = hub.secrets["w0-bmc"]["metadata"]["resourceVersion"]
        hub.hosts["w0"]["status"].update(triedCredentials=block(current), operationalStatus="error",
                                         errorType="registration error", errorMessage="HTTP 401 from the BMC")
    hub = FakeHub([secret("10")], [bmh(good="10", tried="10")], refusing)
    result = run(hub)
    assert result["hosts"][0]["verdict"] == br.REJECTED
    assert "sno-a/w0: BareMetalHost sno-a/w0: registration error" in result["msg"] and "HTTP 401" in result["msg"]
    assert "check the BMC user and password" in result["msg"] and "S3cr3t-new" not in repr(result)


def test_missing_host_and_missing_secret():
    hub = FakeHub([], [bmh(good="10", tried="10")], accepting_operator())
    result = run(hub)
    assert hub.writes[0] == ("create", "w0-bmc") and result["hosts"][0]["secret_created"]
    hub = FakeHub([secret("10")], [])
    result = run(hub)
    assert result["hosts"][0]["verdict"] == br.MISSING and "does not exist" in result["msg"] and hub.writes == []


def test_timeout_reports_pending_host():
    hub = FakeHub([secret("10")], [bmh(good="10", tried="10")],
                  lambda h: h.hosts["w0"]["status"].update(triedCredentials=block(h.secrets["w0-bmc"]["metadata"]["resourceVersion"])))
    result = run(hub, params={"timeout": 5})
    assert result["hosts"][0]["verdict"] == br.PENDING and "timeout" in result["msg"]


def test_verdicts_per_inventory_host():
    from ansible_collections.ztp.sno_expand.plugins.action.ztp_bmc_credentials import verdicts
    outcome = br.summarise([dict(br._host_result(dict(ENTRY, inventory_host="inv-a")), ok=False, message="boom", fix="do this")],
                           False, [], [], 0.0)
    out = verdicts(["inv-a", "inv-b", "inv-c"], outcome, {"inv-c": "sno-c: no nodes"})
    assert out["inv-a"] == {"ok": False, "msg": "sno-a/w0: boom. Fix: do this", "cluster": "sno-a", "rotated": []}
    assert out["inv-b"]["ok"] and not out["inv-c"]["ok"] and out["inv-c"]["msg"] == "sno-c: no nodes"
    good = br.summarise([dict(br._host_result(dict(ENTRY, inventory_host="inv-a")), ok=True, message="uses it")], False, [], [], 0.0)
    assert verdicts(["inv-a"], good, {})["inv-a"]["rotated"] == [ENTRY.get("bmh") or ENTRY.get("host")]


def test_refresh_value_changes_every_time():
    assert br.refresh_value(secret("10"), now=5) == "10-5"
    assert br.refresh_value(secret("10"), now=5) != br.refresh_value(secret("10"), now=6)
