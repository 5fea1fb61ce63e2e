# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait for ArgoCD to sync a pushed commit (ztp_argocd_sync) against a scripted hub, and its revision check
against a real Git repository."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _argocd as argocd

PUSHED = "a" * 40
OLDER = "b" * 40
REPO = "https://git.example.com/ran/ztp-gitops.git"


def app(name="policies", revision=OLDER, status="Synced", conditions=None, operation=None, automated=True,
        repo=REPO, target="main", sources=None, revisions=None):
    spec = {"syncPolicy": {"automated": {"prune": True}} if automated else {}}
    if sources is not None:
        spec["sources"] = sources
    else:
        spec["source"] = {"repoURL": repo, "path": "site-policies", "targetRevision": target}
    sync = {"status": status}
    if revisions is not None:
        sync["revisions"] = revisions
    else:
        sync["revision"] = revision
    obj = {"metadata": {"name": name, "namespace": "openshift-gitops"}, "spec": spec, "status": {"sync": sync}}
    if conditions:
        obj["status"]["conditions"] = conditions
    if operation:
        obj["status"]["operationState"] = operation
    return obj


class ScriptedHub(object):
    """Each read of an Application returns the next state of its script (the last one stays)."""

    def __init__(self, scripts):
        self.scripts = dict((name, list(states)) for name, states in scripts.items())
        self.reads = {}
        self.patches = []
        self.refuse_patch = set()

    def patch(self, api_version, kind, name, namespace, patch):
        assert (api_version, kind, namespace) == (argocd.APP_API, "Application", "openshift-gitops")
        if name in self.refuse_patch:
            raise argocd.HubError('cannot patch Application openshift-gitops/%s: applications.argoproj.io "%s" is '
                                  'forbidden: User "ztp" cannot patch resource "applications"' % (name, name))
        self.patches.append((name, patch, self.reads.get(name, 0)))

    def get(self, api_version, kind, name, namespace=None):
        assert (api_version, kind, namespace) == (argocd.APP_API, "Application", "openshift-gitops")
        states = self.scripts.get(name)
        if not states:
            return None
        self.reads[name] = self.reads.get(name, 0) + 1
        return states.pop(0) if len(states) > 1 else states[0]


def params(names=("clusters", "policies"), timeout=60):
    return {"applications": [{"name": n, "namespace": "openshift-gitops"} for n in names], "revision": PUSHED,
            "repo": REPO, "branch": "main", "repo_dir": None, "wait_timeout": timeout, "poll_interval": 2.0}


def wait(hub, p=None, is_ours=None, events=None):
    """The wait on a simulated clock: sleeping moves it on."""
    elapsed = [0.0]

    def sleep(seconds):
        elapsed[0] += seconds

    return argocd.wait_synced(hub, p or params(), is_ours or argocd.revision_checker(PUSHED),
                              on_progress=events.extend if events is not None else None, clock=lambda: elapsed[0], sleep=sleep)


def test_waits_until_every_application_has_synced_the_pushed_commit():
    hub = ScriptedHub({
        "clusters": [app("clusters"), app("clusters", revision=PUSHED)],
        "policies": [app(), app(), app(revision=PUSHED, status="OutOfSync", operation={"phase": "Running"}),
                     app(revision=PUSHED)],
    })
    events = []
    result = wait(hub, events=events)
    assert [a["state"] for a in result["applications"]] == ["synced", "synced"]
    assert result["skipped"] == [] and result["waited"] == 4.0
    assert hub.reads == {"clusters": 2, "policies": 4}  # one read to select, then one per poll until synced
    lines = [argocd.progress_line(e) for e in events]
    assert "ArgoCD openshift-gitops/policies: OutOfSync at %s, sync running" % PUSHED[:12] in lines
    assert lines[-1] == "ArgoCD openshift-gitops/policies: Synced at %s" % PUSHED[:12]


def test_comparison_error_on_the_pushed_commit_fails_with_the_applications_own_text():
    message = ("Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown "
               "desc = plugin PolicyGenTemplate: open source-crs/PtpOperatorConfigTypo.yaml: no such file or directory")
    hub = ScriptedHub({"policies": [app(), app(revision=PUSHED, status="Unknown",
                                               conditions=[{"type": "ComparisonError", "message": message}])]})
    with pytest.raises(argocd.SyncError) as err:
        wait(hub, params(("policies",)))
    text = str(err.value)
    assert "openshift-gitops/policies failed on commit %s" % PUSHED[:12] in text
    assert "ComparisonError: " + message in text


def test_an_error_of_an_older_revision_is_only_reported_while_waiting():
    old_error = [{"type": "ComparisonError", "message": "old breakage"}]
    hub = ScriptedHub({"policies": [app(status="Unknown", conditions=old_error), app(status="Unknown", conditions=old_error),
                                    app(revision=PUSHED)]})
    events = []
    result = wait(hub, params(("policies",)), events=events)
    assert result["applications"][0]["state"] == "synced"
    assert "not yet the pushed commit; ComparisonError: old breakage" in events[0]["message"]


def test_failed_sync_operation_of_the_pushed_commit_fails():
    operation = {"phase": "Failed", "message": "one or more objects failed to apply, reason: admission webhook denied",
                 "syncResult": {"revision": PUSHED}}
    hub = ScriptedHub({"clusters": [app("clusters", revision=PUSHED, status="OutOfSync", operation=operation)]})
    with pytest.raises(argocd.SyncError) as err:
        wait(hub, params(("clusters",)))
    assert "sync of %s Failed: one or more objects failed to apply, reason: admission webhook denied" % PUSHED[:12] \
        in str(err.value)


def test_timeout_names_each_application_its_revision_and_how_to_sync_a_manual_one():
    hub = ScriptedHub({"clusters": [app("clusters", revision=PUSHED)],
                       "policies": [app(revision=PUSHED, status="OutOfSync", automated=False)]})
    with pytest.raises(argocd.SyncError) as err:
        wait(hub, params(timeout=10))
    text = str(err.value)
    assert "did not sync commit %s within 10 s" % PUSHED[:12] in text
    assert "openshift-gitops/policies is OutOfSync at %s (no automated sync policy: sync it, e.g. `argocd app sync " \
           "policies`)" % PUSHED[:12] in text
    assert "clusters is" not in text  # synced, so not named


def test_applications_that_are_absent_or_track_another_repository_or_branch_are_skipped():
    hub = ScriptedHub({"clusters": [app("clusters", repo="https://git.example.com/ran/other.git")],
                       "policies": [app(target="release-4.20")]})
    p = params(("clusters", "policies", "missing"))
    result = wait(hub, p)
    assert result["applications"] == []
    assert [(s["name"], s["reason"].split(",")[0]) for s in result["skipped"]] == [
        ("clusters", "tracks https://git.example.com/ran/other.git"),
        ("policies", "tracks %s at release-4.20" % REPO), ("missing", "not found")]


def test_multi_source_application_is_judged_on_the_sources_of_the_repository():
    sources = [{"repoURL": "https://charts.example.com", "targetRevision": "1.2.3", "chart": "x"},
               {"repoURL": "ssh://git@git.example.com/ran/ztp-gitops", "targetRevision": "HEAD", "path": "site-policies"}]
    hub = ScriptedHub({"policies": [app(sources=sources, revisions=["1.2.3", OLDER]),
                                    app(sources=sources, revisions=["1.2.3", PUSHED])]})
    result = wait(hub, params(("policies",)))
    assert result["applications"][0]["state"] == "synced"


def test_applications_that_cannot_be_read_are_skipped_with_a_warning():
    def no_client():
        raise argocd.HubError("cannot create the hub client: Invalid kube-config file. No configuration found.")

    result = wait(argocd.LazyHub(no_client), params(("policies",)))
    assert result["applications"] == []
    assert result["skipped"][0]["reason"].startswith("cannot be read: cannot create the hub client")
    assert "was not waited for: openshift-gitops/policies cannot be read" in result["warnings"][0]


def test_check_mode_looks_once_without_waiting():
    hub = ScriptedHub({"policies": [app()]})
    result = argocd.run(hub, params(("policies",)), argocd.revision_checker(PUSHED), check_mode=True)
    assert result["applications"][0]["state"] == "waiting"
    assert hub.patches == []  # nothing was pushed: no refresh asked


def test_refresh_is_asked_of_each_tracking_application_before_the_wait():
    hub = ScriptedHub({"clusters": [app("clusters", repo="https://git.example.com/ran/other.git")],
                       "policies": [app(), app(revision=PUSHED)]})
    result = argocd.run(hub, params(("clusters", "policies", "missing")), argocd.revision_checker(PUSHED))
    assert result["applications"][0]["state"] == "synced"
    # the one that tracks the pushed branch, after the read that selects it and before the wait reads it again
    assert hub.patches == [("policies", {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}, 1)]
    assert "warnings" not in result


def test_a_refused_refresh_is_a_warning_and_the_wait_goes_on():
    hub = ScriptedHub({"clusters": [app("clusters"), app("clusters", revision=PUSHED)],
                       "policies": [app(), app(revision=PUSHED)]})
    hub.refuse_patch.add("clusters")
    result = argocd.run(hub, params(), argocd.revision_checker(PUSHED))
    assert [a["state"] for a in result["applications"]] == ["synced", "synced"]
    assert [name for name, dummy, dummy in hub.patches] == ["policies"]
    assert len(result["warnings"]) == 1
    assert "could not be asked to compare commit %s at once" % PUSHED[:12] in result["warnings"][0]
    assert "openshift-gitops/clusters (cannot patch Application" in result["warnings"][0]


def test_no_refresh_option_asks_nothing():
    hub = ScriptedHub({"policies": [app(revision=PUSHED)]})
    p = params(("policies",))
    p["refresh"] = False
    argocd.run(hub, p, argocd.revision_checker(PUSHED))
    assert hub.patches == []


def test_wait_timeout_zero_asks_the_refresh_and_looks_once_without_failing():
    hub = ScriptedHub({"policies": [app()]})
    result = argocd.run(hub, params(("policies",), timeout=0), argocd.revision_checker(PUSHED))
    assert result["applications"][0]["state"] == "waiting"
    assert [name for name, dummy, dummy in hub.patches] == ["policies"]
    assert hub.reads == {"policies": 2}


def test_credentials_in_a_repository_url_are_not_shown():
    hub = ScriptedHub({"clusters": [app("clusters", repo="https://git.example.com/ran/other.git")]})
    p = params(("clusters",))
    p["repo"] = "https://deploy:s3cr3t@git.example.com/ran/ztp-gitops.git"
    reason = wait(hub, p)["skipped"][0]["reason"]
    assert "s3cr3t" not in reason and "deploy:********@git.example.com" in reason


@pytest.mark.parametrize("revision", ["", "main", "a" * 6, "z" * 40])
def test_revision_must_be_a_commit_id(revision):
    p = params()
    p["revision"] = revision
    with pytest.raises(argocd.ZtpInputError) as err:
        argocd.check_params(p)
    assert "revision" in str(err.value)


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()


def test_revision_check_knows_older_later_and_unknown_commits(tmp_path):
    repo = str(tmp_path)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "older")
    older = _git(repo, "rev-parse", "HEAD")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "pushed")
    pushed = _git(repo, "rev-parse", "HEAD")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "later")
    later = _git(repo, "rev-parse", "HEAD")
    is_ours = argocd.revision_checker(pushed, repo)
    assert is_ours(pushed) and is_ours(later)
    assert not is_ours(older)
    assert is_ours("c" * 40)  # not in the working copy: pushed after it, on top of it
    assert not argocd.revision_checker(pushed)(later)  # without the working copy only the commit itself counts
