"""baremetal-operator's handling of BMC credentials Secrets, called by ``metal3.BareMetalOperator`` for every host on
every tick, before the host's state handler (as ``ensureRegistered`` runs before the state handlers in
host_state_machine.go). See docs/testhub.md "BMC credentials" for the upstream lines each behaviour follows.

- Claim: the host's Secret gets the label ``environment.metal3.io: baremetal`` and an owner reference to the host
  (secret_manager.go claimSecret); the update bumps the Secret's resourceVersion, the version the operator records.
- Initial registration: once a host has left ``registering`` (or was installed on day 1), ``status.goodCredentials``
  and ``status.triedCredentials`` name the Secret at its current version.
- Rotation: a Secret whose version differs from ``triedCredentials`` is tried (``triedCredentials`` set at once); after
  ``delays.bmh_registering`` simulated seconds the simulated BMC accepts it (``goodCredentials`` moves to the version,
  a registration error clears) or refuses it (``operationalStatus: error``, ``errorType: registration error`` with
  ironic's message, retried with the operator's backoff). While the host re-registers its state does not advance.
- Detached hosts (``baremetalhost.metal3.io/detached``) are never registered: their Secret is claimed, nothing else.
- Fault ``bmc-password`` (``cluster``, ``host``, ``password``): the simulated BMC's own password; any other is refused.
  Without it the BMC accepts any non-empty password.
- Fault ``bmc-secret-ignored`` (``cluster``, ``host``): the operator does not see Secret changes
  (metal3-io/baremetal-operator issue 1346): a changed Secret is left alone until the host itself changes (its
  annotations, labels or generation: any update that passes updateEventHandler reconciles it).
"""

from __future__ import annotations

import base64
import json

from .core import now_stamp

BMH_API = "metal3.io/v1alpha1"
ENVIRONMENT_LABEL = "environment.metal3.io"
ENVIRONMENT_VALUE = "baremetal"
DETACHED = "baremetalhost.metal3.io/detached"
REGISTRATION_ERROR = "registration error"
STATE_KEY = "bmc_credentials_state"


def _decode(secret: dict, key: str) -> str:
    raw = ((secret or {}).get("data") or {}).get(key)
    if raw is None:
        return ((secret or {}).get("stringData") or {}).get(key) or ""
    try:
        # credentialsFromSecret trims spaces (baremetalhost_controller.go)
        return base64.b64decode(raw).decode("utf-8", "replace").strip()
    except ValueError:
        return ""


def _rv(obj: dict) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def _block(secret: dict) -> dict:
    meta = secret["metadata"]
    return {"credentials": {"name": meta["name"], "namespace": meta["namespace"]}, "credentialsVersion": _rv(secret)}


def _matches(block: dict, secret: dict) -> bool:
    """CredentialsStatus.Match (baremetalhost_types.go)."""
    ref = (block or {}).get("credentials") or {}
    meta = secret["metadata"]
    return (ref.get("name") == meta["name"] and ref.get("namespace") == meta["namespace"]
            and str((block or {}).get("credentialsVersion") or "") == _rv(secret))


def _trigger(bmh: dict) -> str:
    """What of a host, when it changes, reconciles it although Secret events are lost (updateEventHandler: generation,
    finalizers, annotations; labels are part of the object too)."""
    meta = bmh["metadata"]
    return json.dumps([meta.get("generation"), meta.get("annotations") or {}, meta.get("labels") or {},
                       meta.get("finalizers") or []], sort_keys=True)


def claim(sim, secret: dict, bmh: dict) -> dict:
    """secret_manager.go claimSecret: label and (non-controller) owner reference, one update when either is missing."""
    meta = secret["metadata"]
    labels = dict(meta.get("labels") or {})
    owners = list(meta.get("ownerReferences") or [])
    uid = bmh["metadata"].get("uid")
    patch = {}
    if labels.get(ENVIRONMENT_LABEL) != ENVIRONMENT_VALUE:
        patch.setdefault("metadata", {})["labels"] = {ENVIRONMENT_LABEL: ENVIRONMENT_VALUE}
    if uid and not any(o.get("uid") == uid for o in owners):
        owners.append({"apiVersion": BMH_API, "kind": "BareMetalHost", "name": bmh["metadata"]["name"], "uid": uid})
        patch.setdefault("metadata", {})["ownerReferences"] = owners
    if not patch:
        return secret
    return sim.patch(secret, patch) or secret


def accepted(sim, bmh: dict, secret: dict) -> bool:
    meta = bmh["metadata"]
    password = _decode(secret, "password")
    fault = sim.fault("bmc-password", cluster=meta["namespace"], host=meta["name"])
    if fault is not None and "password" in fault:
        return password == str(fault["password"])
    return bool(password and _decode(secret, "username"))


def refused_message(bmh: dict) -> str:
    """ironic's last error for a node whose BMC answers 401 (the Redfish driver's power state check when the node is
    managed), which the operator copies into errorMessage (register.go, baremetalhost_controller.go registerHost)."""
    from .metal3 import agent_name  # pylint: disable=import-outside-toplevel
    address = (((bmh.get("spec") or {}).get("bmc") or {}).get("address") or "").split("+", 1)[-1]
    return (f"Failed to get power state for node {agent_name(bmh)}. Error: Redfish exception occurred. Error: HTTP GET "
            f"{address} returned code 401. Base.1.0.GeneralError: Access denied: the credentials are invalid")


def reconcile_host(sim, bmh: dict, state: str) -> bool:
    """Credentials of one host; True while the host re-registers (its state handler does not run this tick)."""
    meta = bmh["metadata"]
    spec = bmh.get("spec") or {}
    name = (spec.get("bmc") or {}).get("credentialsName") or ""
    if not name or state in ("", "registering", "deleting", "deprovisioning"):
        return False
    secret = sim.get("v1", "Secret", name, meta["namespace"])
    if secret is None:
        return False
    status = bmh.get("status") or {}
    memory = sim.__dict__.setdefault(STATE_KEY, {})
    uid = meta.get("uid")
    good, tried = status.get("goodCredentials") or {}, status.get("triedCredentials") or {}
    if not (good.get("credentials") or {}).get("name"):
        # registered before (registering done, or installed on day 1): the credentials of that registration
        secret = claim(sim, secret, bmh)
        sim.write_status(bmh, {"goodCredentials": _block(secret), "triedCredentials": _block(secret)})
        memory.pop(uid, None)
        return False
    if _matches(tried, secret) and _matches(good, secret) and status.get("errorType") != REGISTRATION_ERROR:
        memory.pop(uid, None)
        return False
    if DETACHED in (meta.get("annotations") or {}) or status.get("operationalStatus") == "detached":
        # checkDetachedHost returns before ensureRegistered: a detached host is not registered again
        claim(sim, secret, bmh)
        return False
    if not _matches(tried, secret):
        if sim.fault("bmc-secret-ignored", cluster=meta["namespace"], host=meta["name"]) is not None:
            seen = memory.setdefault(("ignoring", uid), _trigger(bmh))
            if seen == _trigger(bmh):
                return False  # no event reached the host: nothing happens
        memory.pop(("ignoring", uid), None)
        # ensureRegistered: claim the Secret, record the version tried, register again
        secret = claim(sim, secret, bmh)
        sim.write_status(bmh, {"triedCredentials": _block(secret), "lastUpdated": now_stamp()})
        memory[uid] = {"since": sim.clock.now(), "version": _rv(secret), "refused": False}
        sim.log.info("metal3: %s/%s new credentials detected (Secret %s version %s)", meta["namespace"], meta["name"], name, _rv(secret))
        return True
    record = memory.get(uid)
    if record is None or record.get("version") != _rv(secret):
        record = memory[uid] = {"since": sim.clock.now(), "version": _rv(secret), "refused": False}
    count = status.get("errorCount") or 0
    wait = sim.delay("bmh_registering")
    if record["refused"]:
        from .metal3 import backoff  # pylint: disable=import-outside-toplevel
        wait = backoff(count)
    if sim.clock.now() - record["since"] < wait:
        return True
    record["since"] = sim.clock.now()
    if accepted(sim, bmh, secret):
        sim.log.info("metal3: %s/%s BMC access validated with Secret %s version %s", meta["namespace"], meta["name"], name, _rv(secret))
        update = {"goodCredentials": _block(secret), "lastUpdated": now_stamp()}
        if status.get("errorType") == REGISTRATION_ERROR:
            # clearError (registerHost): the error goes, the count stays until the next state
            update.update({"operationalStatus": "OK", "errorType": None, "errorMessage": ""})
        sim.write_status(bmh, update)
        memory.pop(uid, None)
        return False
    sim.log.info("metal3: %s/%s BMC refused the credentials of Secret %s", meta["namespace"], meta["name"], name)
    record["refused"] = True
    sim.write_status(bmh, {"operationalStatus": "error", "errorType": REGISTRATION_ERROR, "errorMessage": refused_message(bmh),
                           "errorCount": count + 1, "lastUpdated": now_stamp()})
    return True
