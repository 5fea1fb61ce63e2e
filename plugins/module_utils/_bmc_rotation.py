# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""BMC credential rotation: write the BMC Secrets of a batch on the hub, then check that each BareMetalHost uses them.

How the baremetal-operator (metal3-io/baremetal-operator) handles a BMC Secret, which the judges below follow:

- Every reconcile of a host reads its Secret and claims it: the label ``environment.metal3.io: baremetal`` (only
  labelled Secrets are in the operator's cache and watched) and an owner reference to the host
  (pkg/secretutils/secret_manager.go claimSecret; pkg/secretutils/label.go). That update bumps the Secret's
  resourceVersion, and the operator records the version it read after it.
- A Secret change reaches a host through ``Owns(&corev1.Secret{}, builder.MatchEveryOwner)``
  (internal/controller/metal3.io/baremetalhost_controller.go SetupWithManager). Before commit 232b7f07 ("Trigger
  reconcile on Secret change", the fix of issue #1346) the operator only matched controller owner references, which
  it no longer sets on BMC Secrets: an updated Secret was ignored until something else reconciled the host.
- ``ensureRegistered`` re-registers a host whose ``status.goodCredentials`` does not ``Match`` the Secret (name,
  namespace and resourceVersion; apis/metal3.io/v1alpha1/baremetalhost_types.go CredentialsStatus.Match), after
  recording the version it tries in ``status.triedCredentials`` (registerHost). Success stores the version in
  ``status.goodCredentials.credentialsVersion``; a BMC that refuses them gives ``operationalStatus: error``,
  ``errorType: registration error`` with ironic's message.
- A detached host (annotation ``baremetalhost.metal3.io/detached``, set by assisted-service once a ZTP node is
  installed) skips registration entirely (host_state_machine.go checkDetachedHost before ensureRegistered): its
  credentials are stored but cannot be verified until it is attached again.
- Any change of a host's annotations passes the operator's update filter (updateEventHandler) and reconciles it; this
  is the remedy for an ignored Secret change: the next reconcile claims the Secret again and re-registers the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, raise_if_any
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import MANAGED_BY, MANAGED_BY_LABEL, HubError, ident

BMH_API = "metal3.io/v1alpha1"
ENVIRONMENT_LABEL = "environment.metal3.io"
ENVIRONMENT_VALUE = "baremetal"
DETACHED_ANNOTATION = "baremetalhost.metal3.io/detached"
REGISTRATION_ERROR = "registration error"
# The remedy: an annotation change reconciles the host (updateEventHandler lets annotation changes through).
REFRESH_ANNOTATION = "ztp-sno-expand/bmc-credentials-refresh"

# Verdicts of one host.
VERIFIED = "verified"          # goodCredentials matches the Secret as it is now
DETACHED = "detached"          # stored; the operator does not register detached hosts
REJECTED = "rejected"          # the BMC refused the credentials (registration error on the version tried)
PENDING = "pending"            # the operator has not used the new version yet
IGNORED = "ignored"            # still pending after ignore_timeout: the operator did not see the Secret change
MISSING = "missing"            # no BareMetalHost
WOULD_CHANGE = "would-change"  # check mode: the Secret differs (nothing written)
DONE = (VERIFIED, DETACHED, REJECTED, MISSING)


def module_args():
    """The options of ztp_bmc_credentials besides kubernetes.core's auth options."""
    return dict(
        credentials=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
            cluster=dict(type="str", required=True),
            namespace=dict(type="str"),
            bmh=dict(type="str"),
            host=dict(type="str"),
            secret=dict(type="str", no_log=False),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            inventory_host=dict(type="str"),
        )),
        hosts=dict(type="list", elements="str", default=[]),
        timeout=dict(type="int", default=600),
        ignore_timeout=dict(type="int", default=120),
        remedy=dict(type="bool", default=True),
        poll_interval=dict(type="float", default=5.0),
        fail_on_error=dict(type="bool", default=True),
    )


# ---- pure judges ---------------------------------------------------------------------------------------------

def b64(value):
    return base64.b64encode(to_bytes(value, errors="surrogate_or_strict")).decode("ascii")


def secret_values(secret):
    """``(username, password)`` of a BMC Secret (``data``, base64), None for a key that is absent."""
    data = (secret or {}).get("data") or {}
    out = []
    for key in ("username", "password"):
        raw = data.get(key)
        if raw is None:
            out.append(None)
            continue
        try:
            out.append(to_text(base64.b64decode(raw), errors="surrogate_or_strict"))
        except (TypeError, ValueError):
            out.append(None)
    return tuple(out)


def secret_matches(secret, username, password):
    """Whether the Secret already holds exactly these credentials."""
    return secret is not None and secret_values(secret) == (username, password)


def secret_body(namespace, name, username, password):
    """A new BMC Secret (only when none exists: an existing one is patched, keeping the operator's label, owner
    references and finalizer)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
            "data": {"username": b64(username), "password": b64(password)}}


def secret_patch(username, password):
    return {"data": {"username": b64(username), "password": b64(password)}}


def resource_version(obj):
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def credentials_match(block, secret):
    """CredentialsStatus.Match (baremetalhost_types.go): the status block names this Secret at its current
    resourceVersion."""
    block = block or {}
    ref = block.get("credentials") or {}
    meta = (secret or {}).get("metadata") or {}
    if not ref or not meta:
        return False
    return (ref.get("name") == meta.get("name") and ref.get("namespace") == meta.get("namespace")
            and str(block.get("credentialsVersion") or "") == resource_version(secret))


def good_version(bmh):
    return str((((bmh or {}).get("status") or {}).get("goodCredentials") or {}).get("credentialsVersion") or "")


def registration_error(bmh):
    """The operator's message when the host is in ``registration error``, else ''."""
    status = (bmh or {}).get("status") or {}
    if status.get("operationalStatus") == "error" and status.get("errorType") == REGISTRATION_ERROR:
        return status.get("errorMessage") or REGISTRATION_ERROR
    return ""


def is_detached(bmh):
    status = (bmh or {}).get("status") or {}
    annotations = ((bmh or {}).get("metadata") or {}).get("annotations") or {}
    return DETACHED_ANNOTATION in annotations or status.get("operationalStatus") == "detached"


def secret_unwatched(secret, bmh):
    """Why the operator would not see a change of this Secret (no watch event reaches the host), or ''."""
    if secret is None:
        return ""
    meta = secret.get("metadata") or {}
    reasons = []
    if (meta.get("labels") or {}).get(ENVIRONMENT_LABEL) != ENVIRONMENT_VALUE:
        reasons.append("it has no label %s=%s (the operator caches and watches only labelled Secrets)"
                       % (ENVIRONMENT_LABEL, ENVIRONMENT_VALUE))
    uid = ((bmh or {}).get("metadata") or {}).get("uid")
    if uid and not any(ref.get("uid") == uid for ref in meta.get("ownerReferences") or []):
        reasons.append("it has no owner reference to the BareMetalHost (a Secret event reaches only its owners)")
    return "; ".join(reasons)


def judge(bmh, secret, waited, ignore_timeout):
    """``(verdict, message)`` of one host against its Secret as they are now; ``waited``: seconds since the Secret
    was written (or since the wait began)."""
    if bmh is None:
        return MISSING, "no BareMetalHost"
    name = ident(bmh)
    if is_detached(bmh):
        return DETACHED, ("BareMetalHost %s is detached: the Secret is stored, but the baremetal-operator does not register "
                          "detached hosts, so it verifies the credentials only once the host is attached again" % name)
    if credentials_match((bmh.get("status") or {}).get("goodCredentials"), secret):
        return VERIFIED, "BareMetalHost %s uses Secret %s version %s" % (name, ident(secret), resource_version(secret))
    tried = (bmh.get("status") or {}).get("triedCredentials")
    error = registration_error(bmh)
    # an operator without triedCredentials (very old) is judged by the error alone
    if error and (not tried or credentials_match(tried, secret)):
        return REJECTED, ("BareMetalHost %s: registration error with the credentials of Secret %s: %s"
                          % (name, ident(secret), error))
    if tried and credentials_match(tried, secret):
        return PENDING, "BareMetalHost %s is registering with the new credentials" % name
    if waited >= ignore_timeout:
        return IGNORED, ("BareMetalHost %s did not take Secret %s version %s within %d s (goodCredentials version %s): the "
                         "baremetal-operator did not see the change (metal3-io/baremetal-operator issue 1346)"
                         % (name, ident(secret), resource_version(secret), ignore_timeout, good_version(bmh) or "none"))
    return PENDING, "BareMetalHost %s has not used the new credentials yet" % name


def refresh_value(secret, now=None):
    """The remedy annotation's value: the Secret version and the time, so that every remedy changes the annotation
    (an unchanged value would not reconcile the host)."""
    return "%s-%d" % (resource_version(secret) or "none", int(time.time() if now is None else now))


def fix_for(verdict, entry, unwatched=""):
    """What the user does about a host that ended in ``verdict``."""
    if verdict == REJECTED:
        return ("check the BMC user and password of %s (the BMC's own account, the BMC address in the BareMetalHost), then "
                "run again with the right password; until then the operator cannot reach this BMC" % entry["bmh"])
    if verdict == IGNORED:
        return ("the remedy (annotation %s on the BareMetalHost) did not make the operator re-register it%s: restart the "
                "metal3 baremetal-operator pod, or upgrade it to a release with the fix of issue 1346 (commit 232b7f07)"
                % (REFRESH_ANNOTATION, "; the Secret: %s" % unwatched if unwatched else ""))
    if verdict == MISSING:
        return "check the cluster, namespace and host name (the BareMetalHost is named after the node's hostName)"
    return ""


# ---- input ---------------------------------------------------------------------------------------------------

def check_params(params):
    """The entries, each with ``namespace`` and ``bmh`` filled in; ZtpInputError(s) for bad ones."""
    errors = []
    entries = []
    for index, raw in enumerate(params.get("credentials") or []):
        entry = dict(raw)
        where = "credentials[%d]" % index
        entry["bmh"] = entry.get("bmh") or entry.get("host")
        if not entry["bmh"]:
            errors.append(ZtpInputError(where + ".bmh", None, "the BareMetalHost name, or host (the node's hostName)"))
            continue
        entry["namespace"] = entry.get("namespace") or entry["cluster"]
        entry["host"] = entry.get("host") or entry["bmh"]
        for field in ("username", "password"):
            if not entry.get(field):
                errors.append(ZtpInputError("%s.%s" % (where, field), "", "a non-empty string"))
        entries.append(entry)
    for field in ("timeout", "ignore_timeout"):
        if params.get(field) is not None and params[field] < 1:
            errors.append(ZtpInputError(field, params[field], "an integer >= 1"))
    if params.get("poll_interval") is not None and params["poll_interval"] <= 0:
        errors.append(ZtpInputError("poll_interval", params["poll_interval"], "a number > 0"))
    seen = {}
    for entry in entries:
        key = (entry["namespace"], entry["bmh"])
        if key in seen and (seen[key]["username"], seen[key]["password"]) != (entry["username"], entry["password"]):
            errors.append(ZtpInputError("credentials", "%s/%s" % key, "one username and password per BareMetalHost"))
        seen[key] = entry
    raise_if_any(errors)
    unique = []
    for entry in entries:
        if entry not in unique:
            unique.append(entry)
    return unique


def entries_from_request(request):
    """The credential entries of one cluster's role request (bmc_rotation role variables): one per node with a
    hostName, per-host credentials first, else the shared pair. ``(entries, problems)``."""
    cluster = request["cluster"]
    shared = (request.get("username"), request.get("password"))
    own = request.get("credentials") or {}
    entries, problems, names = [], [], []
    for node in request.get("nodes") or []:
        if not isinstance(node, dict) or not node.get("hostName"):
            problems.append("%s: every entry of bmc_rotation_nodes needs a hostName" % cluster)
            continue
        host = node["hostName"]
        if host in names:
            continue
        names.append(host)
        pair = own.get(host) or {}
        username = pair.get("username") or shared[0]
        password = pair.get("password") or shared[1]
        if not username or not password:
            problems.append("%s/%s: no BMC username and password: set bmc_rotation_username and bmc_rotation_password (or "
                            "ztp_bmc_username and ztp_bmc_password), or bmc_rotation_credentials['%s']" % (cluster, host, host))
            continue
        entry = {"cluster": cluster, "namespace": request.get("namespace") or cluster, "host": host, "bmh": host,
                 "username": username, "password": password, "inventory_host": request.get("host")}
        secret = (node.get("bmcCredentialsName") or {}).get("name") if isinstance(node.get("bmcCredentialsName"), dict) else None
        if secret:
            entry["secret"] = secret
        entries.append(entry)
    if not names and not problems:
        problems.append("%s: no nodes to rotate (bmc_rotation_nodes is empty)" % cluster)
    return entries, problems


# ---- the run -------------------------------------------------------------------------------------------------

def _host_result(entry):
    return {"cluster": entry["cluster"], "namespace": entry["namespace"], "bmh": entry["bmh"], "host": entry["host"],
            "secret": entry.get("secret"), "inventory_host": entry.get("inventory_host"), "secret_changed": False,
            "secret_created": False, "verdict": PENDING, "ok": False, "remedy_applied": False, "message": "", "fix": "",
            "credentials_version": None, "seconds": 0.0}


def _diff(namespace, name, before, after_created):
    header = "Secret %s/%s" % (namespace, name)
    if after_created:
        return {"before_header": header, "after_header": header, "before": "",
                "after": "username: <new value>\npassword: <new value>\n"}
    lines_before, lines_after = [], []
    for key, changed in zip(("username", "password"), before):
        lines_before.append("%s: %s\n" % (key, "<current value>" if changed else "<unchanged>"))
        lines_after.append("%s: %s\n" % (key, "<new value>" if changed else "<unchanged>"))
    return {"before_header": header, "after_header": header, "before": "".join(lines_before), "after": "".join(lines_after)}


def _read_hosts(hub, entries):
    """BareMetalHosts of the entries, read with one list per namespace."""
    out = {}
    for namespace in sorted(set(e["namespace"] for e in entries)):
        items, dummy = hub.list(BMH_API, "BareMetalHost", namespace=namespace)
        for item in items:
            out[(namespace, item["metadata"]["name"])] = item
    return out


def _read_secrets(hub, keys):
    out = {}
    for namespace in sorted(set(ns for ns, dummy in keys)):
        names = set(name for ns, name in keys if ns == namespace)
        if len(names) > 3:
            items, dummy = hub.list("v1", "Secret", namespace=namespace)
            for item in items:
                if item["metadata"]["name"] in names:
                    out[(namespace, item["metadata"]["name"])] = item
        else:
            for name in names:
                secret = hub.get("v1", "Secret", name, namespace)
                if secret is not None:
                    out[(namespace, name)] = secret
    return out


def run_rotation(hub, entries, params, check_mode=False, on_event=None, sleep=time.sleep, clock=time.monotonic):
    """Write the Secrets of ``entries`` (one write per Secret), wait for every host in one poll loop, remedy ignored
    changes, and judge each host. Returns the task result (``changed``, ``hosts``, ``clusters``, ``diff``...)."""
    started = clock()
    events = []

    def event(result, what):
        line = "%s/%s %s: %s" % (result["cluster"], result["bmh"], result["verdict"], what)
        events.append(line)
        if on_event is not None:
            on_event([line])

    results = [_host_result(e) for e in entries]
    bmhs = _read_hosts(hub, entries)
    secret_of = {}
    for entry, result in zip(entries, results):
        bmh = bmhs.get((entry["namespace"], entry["bmh"]))
        if bmh is None:
            result.update(verdict=MISSING, message="BareMetalHost %s/%s does not exist" % (entry["namespace"], entry["bmh"]),
                          fix=fix_for(MISSING, entry))
            continue
        referenced = ((bmh.get("spec") or {}).get("bmc") or {}).get("credentialsName") or ""
        if entry.get("secret") and referenced and entry["secret"] != referenced:
            result.update(verdict=MISSING, message="BareMetalHost %s/%s uses Secret %s, not %s" % (
                entry["namespace"], entry["bmh"], referenced, entry["secret"]),
                fix="give the Secret the host's spec.bmc.credentialsName names, or none")
            continue
        name = entry.get("secret") or referenced
        if not name:
            result.update(verdict=MISSING, message="BareMetalHost %s/%s names no BMC Secret (spec.bmc.credentialsName)"
                          % (entry["namespace"], entry["bmh"]), fix="set spec.bmc.credentialsName through the cluster's file in Git")
            continue
        result["secret"] = name
        secret_of[id(result)] = (entry["namespace"], name)

    # one username and password per Secret (hosts may share one)
    wanted = {}
    for entry, result in zip(entries, results):
        key = secret_of.get(id(result))
        if key is None:
            continue
        pair = (entry["username"], entry["password"])
        if wanted.setdefault(key, pair) != pair:
            raise HubError("Secret %s/%s is shared by several BareMetalHosts of the batch, which were given different "
                           "credentials; give them one username and password" % key)

    secrets = _read_secrets(hub, list(wanted))
    diffs, written, created, changed = [], {}, set(), False
    for key in sorted(wanted):
        username, password = wanted[key]
        current = secrets.get(key)
        if secret_matches(current, username, password):
            continue
        before = secret_values(current)
        diffs.append(_diff(key[0], key[1], (before[0] != username, before[1] != password), current is None))
        changed = True
        if check_mode:
            written[key] = None
            created.update([key] if current is None else [])
            continue
        if current is None:
            created.add(key)
            secrets[key] = hub.create(secret_body(key[0], key[1], username, password))
        else:
            secrets[key] = hub.patch("v1", "Secret", key[1], key[0], secret_patch(username, password))
        written[key] = clock()

    waiting = []
    for entry, result in zip(entries, results):
        key = secret_of.get(id(result))
        if key is None:
            continue
        result["secret_changed"] = key in written
        result["secret_created"] = key in created
        bmh = bmhs[(entry["namespace"], entry["bmh"])]
        if check_mode:
            if key in written:
                result.update(verdict=WOULD_CHANGE, ok=True, message="Secret %s/%s would be %s; BareMetalHost %s/%s would "
                              "then be checked" % (key + ("created" if key in created else "updated", entry["namespace"], entry["bmh"])))
            else:
                verdict, message = judge(bmh, secrets.get(key), 0, params["ignore_timeout"])
                result.update(verdict=verdict, message=message, ok=verdict in (VERIFIED, DETACHED))
            continue
        waiting.append((entry, result, key))

    deadline = started + params["timeout"]
    remedied = {}
    while waiting:
        # the Secret is read again each round: the operator's claim (label, owner reference) bumps its version
        bmhs = _read_hosts(hub, [e for e, dummy, dummy2 in waiting])
        secrets.update(_read_secrets(hub, [k for dummy, dummy2, k in waiting]))
        now = clock()
        still = []
        for entry, result, key in waiting:
            bmh = bmhs.get((entry["namespace"], entry["bmh"]))
            secret = secrets.get(key)
            since = written.get(key) or started
            since = max(since, remedied.get(id(result), since))
            verdict, message = judge(bmh, secret, now - since, params["ignore_timeout"])
            previous = result["verdict"]
            result.update(verdict=verdict, message=message, seconds=round(now - started, 1),
                          credentials_version=good_version(bmh) or None)
            if verdict == IGNORED and params["remedy"] and id(result) not in remedied:
                unwatched = secret_unwatched(secret, bmh)
                hub.patch(BMH_API, "BareMetalHost", entry["bmh"], entry["namespace"],
                          {"metadata": {"annotations": {REFRESH_ANNOTATION: refresh_value(secret)}}})
                remedied[id(result)] = clock()
                result.update(remedy_applied=True, verdict=PENDING,
                              message="remedy applied: annotated the BareMetalHost so that the operator reconciles it%s"
                              % (" (%s)" % unwatched if unwatched else ""))
                event(result, result["message"])
                still.append((entry, result, key))
                continue
            if verdict != previous and verdict != PENDING:
                event(result, message)
            if verdict in DONE or verdict == IGNORED:
                result["ok"] = verdict in (VERIFIED, DETACHED)
                if not result["ok"]:
                    result["fix"] = fix_for(verdict, entry, secret_unwatched(secret, bmh))
                continue
            still.append((entry, result, key))
        waiting = still
        if not waiting:
            break
        if clock() >= deadline:
            for entry, result, key in waiting:
                result["message"] = ("%s; the wait ended after %d s (timeout)" % (result["message"], params["timeout"]))
                result["fix"] = ("run again with a longer bmc_rotation_timeout; if the host stays in registering, look at the "
                                 "BareMetalHost's events and the metal3 baremetal-operator log")
            break
        sleep(params["poll_interval"])

    for result in results:
        if result["remedy_applied"]:
            changed = True
        if result["verdict"] not in (VERIFIED, DETACHED, WOULD_CHANGE):
            result["ok"] = False
    return summarise(results, changed, diffs, events, clock() - started)


def summarise(results, changed, diffs, events, elapsed):
    clusters = {}
    for result in results:
        cluster = clusters.setdefault(result["cluster"], {"ok": True, "msg": "", "hosts": [], "inventory_host": None})
        cluster["hosts"].append(result)
        cluster["inventory_host"] = cluster["inventory_host"] or result.get("inventory_host")
        if not result["ok"]:
            cluster["ok"] = False
            text = result["message"] + (". Fix: %s" % result["fix"] if result["fix"] else "")
            cluster["msg"] = "; ".join(m for m in (cluster["msg"], "%s/%s: %s" % (result["cluster"], result["bmh"], text)) if m)
    failed = [r for r in results if not r["ok"]]
    counts = {}
    for result in results:
        counts[result["verdict"]] = counts.get(result["verdict"], 0) + 1
    out = {"changed": changed, "hosts": results, "clusters": clusters, "progress": events,
           "summary": {"total": len(results), "failed": len(failed), "verdicts": counts, "elapsed": round(elapsed, 1)},
           "diff": diffs}
    if failed:
        out["msg"] = "; ".join(c["msg"] for c in clusters.values() if not c["ok"])
    return out
