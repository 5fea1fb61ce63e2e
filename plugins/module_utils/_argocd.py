# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting until ArgoCD has synced a pushed commit, before anything on the hub is judged on it.

ArgoCD compares an Application with Git every three minutes (or at once on the refresh annotation), renders it
(the SiteConfig and PolicyGenTemplate plugins), then syncs. Until then the hub still shows the old content: a
ClusterGroupUpgrade created meanwhile finds the old policies compliant and remediates nothing. And when rendering
fails, only the Application says why (``ComparisonError`` ``Failed to load target state: ...``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ztp.sno_expand.plugins.module_utils import _gitops as gitops
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpError, ZtpInputError, mask_url_credentials
from ansible_collections.ztp.sno_expand.plugins.module_utils._hub import HubError

APP_API = "argoproj.io/v1alpha1"
# ArgoCD compares an Application with Git at once when it carries this annotation, then removes it
# (controller/appcontroller.go needRefreshAppStatus; pkg/apis/application/v1alpha1 AnnotationKeyRefresh)
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
DEFAULT_NAMESPACE = "openshift-gitops"
BRANCH_REVISIONS = ("", "HEAD")


class SyncError(ZtpError):
    """An Application failed on the pushed commit, or did not sync it in time."""


class LazyHub(object):
    """The hub client, made at the first read: a client that cannot be made fails that read (``HubError``), which
    the wait turns into a skipped Application."""

    def __init__(self, make):
        self._make = make
        self._hub = None

    def _client(self):
        if self._hub is None:
            self._hub = self._make()
        return self._hub

    def get(self, *args, **kwargs):
        return self._client().get(*args, **kwargs)

    def patch(self, *args, **kwargs):
        return self._client().patch(*args, **kwargs)


def module_args():
    return dict(
        applications=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            namespace=dict(type="str", default=DEFAULT_NAMESPACE),
        )),
        revision=dict(type="str", required=True),
        repo=dict(type="str", required=True),
        branch=dict(type="str", default="main"),
        repo_dir=dict(type="path"),
        refresh=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=2.0),
    )


def check_params(params):
    revision = params.get("revision") or ""
    if len(revision) < 7 or any(c not in "0123456789abcdef" for c in revision.lower()):
        raise ZtpInputError("revision", revision, "the full commit id of the pushed commit (ztp_gitops_publish's commit)")
    if params.get("wait_timeout") is None or params["wait_timeout"] < 0:
        raise ZtpInputError("wait_timeout", params.get("wait_timeout"), "seconds, 0 or more")
    if not params.get("poll_interval") or params["poll_interval"] <= 0:
        raise ZtpInputError("poll_interval", params.get("poll_interval"), "seconds, more than 0")


def revision_checker(revision, repo_dir=None):
    """``is_ours(other)``: whether ``other`` is the pushed ``revision`` or a later commit that contains it.

    With the working copy the push came from, a commit it has is judged by ancestry; a commit it does not have was
    pushed after it (the remote branch only moves forward, and the working copy held every commit up to the push), so
    it contains the push. Without a working copy only the pushed commit itself counts."""
    known = {}

    def is_ours(other):
        if other == revision:
            return True
        if not repo_dir:
            return False
        if other not in known:
            git = gitops.Git(cwd=repo_dir)
            if gitops.rev(git, other) is None:
                known[other] = True
            else:
                known[other] = gitops.is_ancestor(git, revision, other)
        return known[other]

    return is_ours


def tracked_sources(app, repo, branch):
    """Indexes of the Application's sources that track ``branch`` of ``repo`` (``spec.source`` is index 0), and
    why none does."""
    spec = app.get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    wanted = gitops.normalize_repo_url(repo)
    found, other = [], []
    for index, source in enumerate(sources):
        if gitops.normalize_repo_url(source.get("repoURL")) != wanted:
            other.append(source.get("repoURL"))
            continue
        target = source.get("targetRevision") or ""
        if target in BRANCH_REVISIONS or target in (branch, "refs/heads/" + branch):
            found.append(index)
        else:
            other.append("%s at %s" % (source.get("repoURL"), target))
    return found, other


def synced_revisions(app, indexes):
    """The revisions ArgoCD last compared for the given sources (``status.sync.revision`` or ``revisions``)."""
    sync = (app.get("status") or {}).get("sync") or {}
    if (app.get("spec") or {}).get("sources"):
        revisions = sync.get("revisions") or []
        return [revisions[i] if i < len(revisions) else None for i in indexes]
    return [sync.get("revision")]


def error_conditions(app):
    """``type: message`` of the Application's error conditions (ComparisonError, SyncError, InvalidSpecError, ...)."""
    return ["%s: %s" % (c.get("type"), c.get("message") or "") for c in (app.get("status") or {}).get("conditions") or []
            if str(c.get("type") or "").endswith("Error")]


def judge(app, indexes, is_ours):
    """``(state, text)`` of one Application against the pushed commit.

    ``is_ours(revision)`` says whether a revision is the pushed commit or a later one that contains it (another run
    may push on top while this one waits). States: ``synced`` (the commit, or a later one, is compared and Synced),
    ``failed`` (ArgoCD compared it and reports an error, or its sync operation failed), ``waiting``."""
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    revisions = synced_revisions(app, indexes)
    ours = bool(revisions) and all(r and is_ours(r) for r in revisions)
    shown = ", ".join((r or "none")[:12] for r in revisions)
    errors = error_conditions(app)
    operation = status.get("operationState") or {}
    op_revision = ((operation.get("syncResult") or {}).get("revision")
                   or ((operation.get("operation") or {}).get("sync") or {}).get("revision"))
    if ours and errors:
        return "failed", "compared %s and reports %s" % (shown, "; ".join(errors))
    if operation.get("phase") in ("Failed", "Error") and op_revision and is_ours(op_revision):
        return "failed", "sync of %s %s: %s" % (op_revision[:12], operation.get("phase"), operation.get("message") or "")
    if ours and sync.get("status") == "Synced":
        return "synced", "Synced at %s" % shown
    if ours:
        automated = "automated" in ((app.get("spec") or {}).get("syncPolicy") or {})
        text = "%s at %s" % (sync.get("status") or "no sync status", shown)
        if operation.get("phase") == "Running":
            text += ", sync running"
        elif not automated:
            text += " (no automated sync policy: sync it, e.g. `argocd app sync %s`)" % app["metadata"]["name"]
        return "waiting", text
    text = "%s at %s, not yet the pushed commit" % (sync.get("status") or "no sync status", shown)
    if errors:
        text += "; %s" % "; ".join(errors)
    return "waiting", text


def run(hub, params, is_ours, check_mode=False, on_progress=None):
    """The module's work: ask for a refresh and wait (with ``wait_timeout`` 0, or in check mode, look once)."""
    return wait_synced(hub, params, is_ours, on_progress=on_progress, once=check_mode or not params["wait_timeout"],
                       refresh=params.get("refresh", True) and not check_mode)


def ask_refresh(hub, watched):
    """Set the refresh annotation on each watched Application; returns what could not be asked, as warning text.

    Not being allowed to patch an Application only costs ArgoCD's next poll (up to 3 minutes), so it is no failure."""
    refused = []
    for item in watched:
        try:
            hub.patch(APP_API, "Application", item["name"], item["namespace"],
                      {"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}})
        except Exception as error:  # pylint: disable=broad-except
            refused.append("%s (%s)" % (item["where"], error if isinstance(error, HubError) else repr(error)))
    return refused


def wait_synced(hub, params, is_ours, on_progress=None, once=False, refresh=False, clock=time.monotonic,
                sleep=time.sleep):
    """Wait until every named Application that tracks the pushed branch has synced the pushed commit; with
    ``refresh``, first ask ArgoCD to compare each of them with Git at once.

    Applications that do not exist or track another repository or branch are listed in ``skipped``, not waited for.
    Returns ``{applications: [{name, namespace, state, message}], skipped: [...], waited}``; raises SyncError naming
    the Application and its own error text when one fails on the commit, or when ``wait_timeout`` passes."""
    revision = params["revision"]
    watched, skipped = [], []
    for entry in params["applications"]:
        namespace = entry.get("namespace") or DEFAULT_NAMESPACE
        where = "%s/%s" % (namespace, entry["name"])
        try:
            app = hub.get(APP_API, "Application", entry["name"], namespace)
        except Exception as error:  # pylint: disable=broad-except
            # no hub client, no ArgoCD on this hub, not allowed to read it, hub unreachable: the wait cannot judge, and
            # the later hub steps report a hub they cannot reach themselves
            skipped.append({"name": entry["name"], "namespace": namespace,
                            "reason": "cannot be read: %s" % (error if isinstance(error, HubError) else repr(error))})
            continue
        if app is None:
            skipped.append({"name": entry["name"], "namespace": namespace, "reason": "not found"})
            continue
        indexes, other = tracked_sources(app, params["repo"], params["branch"])
        if not indexes:
            tracked = ", ".join(str(o) for o in other) or "no source"
            skipped.append({"name": entry["name"], "namespace": namespace, "reason": mask_url_credentials(
                "tracks %s, not %s at %s" % (tracked, params["repo"], params["branch"]))})
            continue
        watched.append({"name": entry["name"], "namespace": namespace, "where": where, "indexes": indexes,
                        "state": None, "message": None})
    refused = ask_refresh(hub, watched) if refresh else []
    started = clock()
    deadline = started + params["wait_timeout"]
    while True:
        pending = []
        for item in watched:
            if item["state"] == "synced":
                continue
            app = hub.get(APP_API, "Application", item["name"], item["namespace"])
            if app is None:
                raise SyncError("ArgoCD Application %s was deleted while waiting for commit %s"
                                % (item["where"], revision[:12]))
            state, text = judge(app, item["indexes"], is_ours)
            if (state, text) != (item["state"], item["message"]) and on_progress is not None:
                on_progress([{"application": item["where"], "state": state, "message": text}])
            item["state"], item["message"] = state, text
            if state == "failed":
                raise SyncError("ArgoCD Application %s failed on commit %s: %s. Fix the cause in Git and run again; "
                                "nothing on the hub was judged on this commit." % (item["where"], revision[:12], text))
            if state != "synced":
                pending.append(item)
        if not pending or once:
            break
        if clock() >= deadline:
            raise SyncError("ArgoCD did not sync commit %s within %d s: %s. Check the Application (oc -n %s get "
                            "application %s -o yaml) and its repository access; raise ztp_argocd_sync_timeout if "
                            "ArgoCD is only slow." % (
                                revision[:12], params["wait_timeout"],
                                "; ".join("%s is %s" % (i["where"], i["message"]) for i in pending),
                                pending[0]["namespace"], pending[0]["name"]))
        sleep(min(params["poll_interval"], max(0.0, deadline - clock())))
    result = {
        "applications": [{"name": i["name"], "namespace": i["namespace"], "state": i["state"], "message": i["message"]}
                         for i in watched],
        "skipped": skipped,
        "waited": round(clock() - started, 1),
    }
    unread = ["%s/%s %s" % (s["namespace"], s["name"], s["reason"]) for s in skipped if s["reason"].startswith("cannot")]
    warnings = []
    if unread:
        warnings.append("ArgoCD's sync of commit %s was not waited for: %s. Later steps may meet the hub's old "
                        "content until ArgoCD syncs." % (revision[:12], "; ".join(unread)))
    if refused:
        warnings.append("ArgoCD could not be asked to compare commit %s at once (annotation %s): %s. It sees the "
                        "commit at its next poll, up to 3 minutes later." % (
                            revision[:12], REFRESH_ANNOTATION, "; ".join(refused)))
    if warnings:
        result["warnings"] = warnings
    return result


def progress_line(event):
    return "ArgoCD %s: %s" % (event["application"], event["message"])
