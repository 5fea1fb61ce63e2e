# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of module_utils/gitops.py against real Git repositories on local disk (no network)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import shutil
import stat
import subprocess

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _gitops as gitops
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError
from ansible_collections.ztp.sno_expand.plugins.module_utils._gitops import Git, GitError

TOKEN = "ghp_FAKE0token0for0tests0only0123456789"
BASE_YAML = "".join("line%d: value%d\n" % (i, i) for i in range(1, 11))


def git(cwd, *args, **kwargs):
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME="Tester",
               GIT_AUTHOR_EMAIL="tester@example.com", GIT_COMMITTER_NAME="Tester",
               GIT_COMMITTER_EMAIL="tester@example.com")
    result = subprocess.run(["git"] + list(args), cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if kwargs.get("check", True) and result.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), result.stderr))
    return result.stdout.rstrip("\n")


def clone(remote, dest):
    git(os.path.dirname(str(dest)), "clone", "-q", str(remote), str(dest))
    return dest


def write(repo, name, text):
    path = os.path.join(str(repo), name)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write(text)


def commit_and_push(repo, name, text, message):
    write(repo, name, text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    git(repo, "pull", "-q", "--rebase")
    git(repo, "push", "-q", "origin", "HEAD:main")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def remote(tmp_path):
    """A bare remote with reflogs on, seeded with one commit."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(bare, "config", "core.logAllRefUpdates", "always")
    seed = clone(bare, tmp_path / "seed")
    write(seed, "clusters/sno-a.yaml", BASE_YAML)
    write(seed, "clusters/sno-b.yaml", BASE_YAML)
    write(seed, "README.md", "seed\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def work(remote, tmp_path):
    return clone(remote, tmp_path / "work")


def new_git(**kwargs):
    kwargs.setdefault("author_name", "ZTP")
    kwargs.setdefault("author_email", "ztp@example.com")
    kwargs.setdefault("timeout", 60)
    return Git(**kwargs)


def do_publish(work, paths, message="publish", **kwargs):
    kwargs.setdefault("backoff", 0)
    with new_git() as g:
        return gitops.publish(g, str(work), paths, message, **kwargs)


# --------------------------------------------------------------------------------------------------
# input checks and helpers
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, kind", [
    ("git@github.com:org/repo.git", "ssh"),
    ("ssh://git@host:2222/org/repo.git", "ssh"),
    ("https://git.example.com/org/repo.git", "https"),
    ("http://127.0.0.1:8080/repo.git", "http"),
    ("git://127.0.0.1:9418/repo.git", "git"),
    ("file:///srv/git/repo.git", "file"),
    ("/srv/git/repo.git", "local"),
    ("./repo", "local"),
    ("https://user@git.example.com/org/repo.git", "https"),
])
def test_repo_url_kinds(url, kind):
    assert gitops.repo_url_kind(url) == kind


@pytest.mark.parametrize("url", ["", " https://x/y.git", "-uhttps://x", "ext::sh -c touch% /tmp/pwned",
                                 "fd::3", "ftp://host/repo.git", "https://x/y\n.git"])
def test_repo_url_rejected(url):
    with pytest.raises(ZtpInputError):
        gitops.repo_url_kind(url)


def test_repo_url_with_token_rejected_without_echoing_it():
    with pytest.raises(ZtpInputError) as exc:
        gitops.repo_url_kind("https://user:%s@git.example.com/org/repo.git" % TOKEN)
    assert TOKEN not in str(exc.value)
    assert "token" in str(exc.value)


REMOTE_URL = "https://git.example.com/ran/ztp-gitops.git"


@pytest.mark.parametrize("url", ["https://git.example.com/ran/ztp-gitops", "ssh://git@GIT.example.com:22/ran/ztp-gitops.git",
                                 "git@git.example.com:ran/ztp-gitops.git", "https://user@git.example.com/ran/ztp-gitops/"])
def test_repository_urls_naming_the_same_repository_match(url):
    assert gitops.normalize_repo_url(url) == gitops.normalize_repo_url(REMOTE_URL)


def test_other_repositories_do_not_match():
    assert gitops.normalize_repo_url("https://git.example.com/ran/ztp-gitops-lab") != gitops.normalize_repo_url(REMOTE_URL)


def test_local_paths_naming_the_same_repository_match(tmp_path):
    repo = tmp_path / "ztp.git"
    repo.mkdir()
    (tmp_path / "link").symlink_to(repo)
    spellings = [str(repo), "file://" + str(repo), str(repo) + "/", str(tmp_path / "link"), str(tmp_path / "ztp")]
    assert {gitops.normalize_repo_url(url) for url in spellings} == {str(tmp_path.resolve() / "ztp")}
    assert gitops.normalize_repo_url(str(tmp_path / "other.git")) != gitops.normalize_repo_url(str(repo))


def test_resolve_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    assert gitops.resolve_paths(str(tmp_path), ["a.yaml", str(tmp_path / "sub" / "b.yaml"), "./a.yaml",
                                                "sub/../c.yaml"]) == ["a.yaml", "sub/b.yaml", "c.yaml"]
    for bad in (["../outside.yaml"], [str(tmp_path.parent / "x")], [".git/config"], [""], "a.yaml", []):
        with pytest.raises(ZtpInputError):
            gitops.resolve_paths(str(tmp_path), bad)


def test_scrub_token_and_url_passwords():
    text = "fatal: https://bob:%s@host/x.git and %s again" % (TOKEN, TOKEN)
    scrubbed = gitops.scrub(text, [TOKEN])
    assert TOKEN not in scrubbed
    assert "bob:********@host" in scrubbed


def test_ssh_command(tmp_path):
    key = tmp_path / "my key"
    known = tmp_path / "known_hosts"
    cmd = gitops.ssh_command(str(key), str(known))
    assert shlex.split(cmd) == ["ssh", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                                "-o", "UserKnownHostsFile=%s" % known, "-o", "StrictHostKeyChecking=yes"]
    assert "StrictHostKeyChecking=accept-new" in gitops.ssh_command(str(key), accept_new_host_keys=True)
    assert gitops.ssh_command() is None
    env = Git(ssh_key_file=str(key), token=None).environment()
    assert env["GIT_SSH_COMMAND"] == gitops.ssh_command(str(key), connect_timeout=30)
    assert shlex.split(env["GIT_SSH_COMMAND"]) == [
        "ssh", "-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=30", "-o", "ServerAliveCountMax=2",
        "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]


def test_askpass_helper_is_private_and_token_only_in_child_environment(tmp_path):
    with Git(token=TOKEN, username="bot") as g:
        helper = g.askpass_path
        env = g.environment()
        cmd = g.command(["ls-remote", "https://127.0.0.1:1/x.git"])
        assert stat.S_IMODE(os.stat(os.path.dirname(helper)).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(helper).st_mode) == 0o700
        with open(helper) as handle:
            assert TOKEN not in handle.read()
        assert env["GIT_ASKPASS"] == helper
        assert env[gitops.TOKEN_ENV] == TOKEN
        assert TOKEN not in " ".join(cmd)
        assert "credential.helper=" in cmd
        answer = subprocess.run([helper, "Password for 'https://bot@host': "], env=env, stdout=subprocess.PIPE,
                                universal_newlines=True, check=True).stdout
        assert answer == TOKEN + "\n"
        answer = subprocess.run([helper, "Username for 'https://host': "], env=env, stdout=subprocess.PIPE,
                                universal_newlines=True, check=True).stdout
        assert answer == "bot\n"
    assert not os.path.exists(helper)


def test_token_not_in_errors_for_unreachable_https(tmp_path):
    with Git(token=TOKEN, timeout=30) as g:
        with pytest.raises(GitError) as exc:
            gitops.checkout(g, "https://127.0.0.1:1/x.git", str(tmp_path / "dest"))
    assert TOKEN not in str(exc.value) and TOKEN not in repr(exc.value.details)
    assert not (tmp_path / "dest").exists() or not os.listdir(str(tmp_path / "dest"))


def test_git_output_is_scrubbed(tmp_path):
    with Git(token=TOKEN) as g:
        g.run("init", "-q", str(tmp_path))
        with pytest.raises(GitError) as exc:
            g.run("show", TOKEN, cwd=str(tmp_path))
    assert TOKEN not in exc.value.msg
    assert gitops.MASK in exc.value.msg


# --------------------------------------------------------------------------------------------------
# publish
# --------------------------------------------------------------------------------------------------

def test_publish_commits_exactly_the_given_paths(work, remote):
    write(work, "clusters/sno-a.yaml", BASE_YAML + "extra: 1\n")
    write(work, "clusters/new.yaml", "new: true\n")
    os.remove(os.path.join(str(work), "README.md"))
    write(work, "clusters/sno-b.yaml", BASE_YAML + "dirty: true\n")      # dirty, not published
    write(work, "staged.yaml", "staged: true\n")
    git(work, "add", "staged.yaml")                                        # staged, not published
    write(work, "untracked.yaml", "x: 1\n")

    result = do_publish(work, ["clusters/sno-a.yaml", os.path.join(str(work), "clusters/new.yaml"), "README.md"])

    assert result["changed"] and result["pushed"] and result["attempts"] == 1
    assert result["files"] == ["README.md", "clusters/new.yaml", "clusters/sno-a.yaml"]
    assert result["file_status"] == {"README.md": "deleted", "clusters/new.yaml": "added",
                                     "clusters/sno-a.yaml": "modified"}
    assert result["commit"] == result["remote_commit"] == git(remote, "rev-parse", "main")
    committed = git(remote, "show", "--name-status", "--format=", "main").splitlines()
    assert sorted(committed) == ["A\tclusters/new.yaml", "D\tREADME.md", "M\tclusters/sno-a.yaml"]
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn", "main") == "ZTP <ztp@example.com>|ZTP"
    status = git(work, "status", "--porcelain").splitlines()
    assert sorted(status) == [" M clusters/sno-b.yaml", "?? untracked.yaml", "A  staged.yaml"]


def test_publish_of_a_symlinked_file_commits_its_edited_target(work, remote):
    """Edits write the target of a link (the link stays a link), so publishing the link must publish the target."""
    write(work, "sites/sno-a.yaml", BASE_YAML)
    os.symlink("../sites/sno-a.yaml", os.path.join(str(work), "clusters", "sno-a-link.yaml"))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "link")
    git(work, "push", "-q", "origin", "main")
    write(work, "sites/sno-a.yaml", BASE_YAML + "worker: added\n")

    result = do_publish(work, ["clusters/sno-a-link.yaml"])

    assert result["changed"] and result["pushed"]
    assert result["files"] == ["sites/sno-a.yaml"]
    assert git(remote, "show", "main:sites/sno-a.yaml").endswith("worker: added")
    assert git(remote, "cat-file", "-p", "main:clusters/sno-a-link.yaml") == "../sites/sno-a.yaml"


def test_publish_nothing_to_commit_is_unchanged(work, remote):
    before = git(remote, "rev-parse", "main")
    write(work, "other.yaml", "x: 1\n")
    result = do_publish(work, ["clusters/sno-a.yaml", "missing.yaml"])
    assert not result["changed"] and not result["pushed"]
    assert result["files"] == [] and result["attempts"] == 0
    assert git(remote, "rev-parse", "main") == before


def test_publish_check_mode_reports_files_and_diff(work, remote):
    before_local = git(work, "rev-parse", "HEAD")
    index_before = git(work, "status", "--porcelain")
    write(work, "clusters/sno-a.yaml", BASE_YAML.replace("value3", "changed3"))
    write(work, "clusters/new.yaml", "new: true\n")
    result = do_publish(work, ["clusters"], check_mode=True, diff=True)
    assert result["changed"] and not result["pushed"]
    assert result["file_status"] == {"clusters/new.yaml": "added", "clusters/sno-a.yaml": "modified"}
    assert "-line3: value3\n+line3: changed3" in result["diff"]
    assert "+++ b/clusters/new.yaml" in result["diff"] and "+new: true" in result["diff"]
    assert git(work, "rev-parse", "HEAD") == before_local
    assert git(remote, "rev-parse", "main") == before_local
    assert index_before == "" and git(work, "diff", "--cached", "--name-only") == ""


def test_publish_rebases_when_remote_moved(work, remote, tmp_path):
    other = clone(remote, tmp_path / "other")
    theirs = commit_and_push(other, "clusters/sno-b.yaml", BASE_YAML + "theirs: 1\n", "theirs")
    write(work, "clusters/sno-a.yaml", BASE_YAML + "ours: 1\n")
    result = do_publish(work, ["clusters/sno-a.yaml"], message="ours")
    assert result["pushed"] and result["attempts"] == 2
    log = git(remote, "log", "--format=%P|%s", "main").splitlines()
    assert [line.split("|")[1] for line in log] == ["ours", "theirs", "seed"]
    assert all(len(line.split("|")[0].split()) <= 1 for line in log)          # no merge commits
    assert git(remote, "rev-parse", "main~1") == theirs


def test_publish_never_forces(work, remote, tmp_path, monkeypatch):
    calls = []
    real_run = Git.run

    def recording_run(self, *args, **kwargs):
        calls.append(list(args))
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Git, "run", recording_run)
    other = clone(remote, tmp_path / "other")
    commit_and_push(other, "clusters/sno-b.yaml", BASE_YAML + "theirs: 1\n", "theirs")
    write(work, "clusters/sno-a.yaml", BASE_YAML + "ours: 1\n")
    assert do_publish(work, ["clusters/sno-a.yaml"])["pushed"]
    pushes = [c for c in calls if c[0] == "push"]
    assert len(pushes) == 2
    for push in pushes:
        assert not any(a in ("-f", "--force", "--force-with-lease", "--mirror") or a.startswith("+")
                       or a.startswith("--force") for a in push)


def test_publish_conflict_keeps_local_commit_and_remote(work, remote, tmp_path):
    other = clone(remote, tmp_path / "other")
    theirs = commit_and_push(other, "clusters/sno-a.yaml", BASE_YAML.replace("value5", "theirs5"), "theirs")
    write(work, "clusters/sno-a.yaml", BASE_YAML.replace("value5", "ours5"))
    write(work, "clusters/sno-b.yaml", BASE_YAML + "dirty: 1\n")           # unrelated dirty file survives
    with pytest.raises(GitError) as exc:
        do_publish(work, ["clusters/sno-a.yaml"], message="ours")
    msg = exc.value.msg
    assert "clusters/sno-a.yaml" in msg and "same lines" in msg and "git pull --rebase" in msg
    assert exc.value.details["conflicts"] == ["clusters/sno-a.yaml"]
    assert git(remote, "rev-parse", "main") == theirs                           # remote untouched
    local = git(work, "rev-parse", "main")
    assert exc.value.details["commit"] == local
    assert git(work, "log", "-1", "--format=%s", "main") == "ours"             # local commit kept
    assert "ours5" in git(work, "show", "main:clusters/sno-a.yaml")
    assert not os.path.exists(os.path.join(str(work), ".git", "rebase-merge"))
    assert git(work, "status", "--porcelain") == " M clusters/sno-b.yaml"


KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

generators:
  # Applies to every RAN cluster
  - common-ranGen.yaml
  - group-du-sno-ranGen.yaml

resources:
  - ns.yaml
"""


def test_publish_combines_kustomization_entries_added_by_two_runs(work, remote, tmp_path):
    # two runs on disjoint clusters (AWX job slices) each list their worker policy file at the end of the same list
    commit_and_push(work, "policygentemplates/kustomization.yaml", KUSTOMIZATION, "kustomization")
    other = clone(remote, tmp_path / "other")
    theirs = KUSTOMIZATION.replace("  - group-du-sno-ranGen.yaml\n", "  - group-du-sno-ranGen.yaml\n  - sno-b-workers.yaml\n")
    commit_and_push(other, "policygentemplates/kustomization.yaml", theirs, "theirs")
    write(work, "clusters/sno-a.yaml", BASE_YAML + "ours: 1\n")
    write(work, "policygentemplates/kustomization.yaml",
          KUSTOMIZATION.replace("  - group-du-sno-ranGen.yaml\n", "  - group-du-sno-ranGen.yaml\n  - sno-a-workers.yaml\n"))
    result = do_publish(work, ["clusters/sno-a.yaml", "policygentemplates/kustomization.yaml"], message="ours")
    assert result["pushed"]
    merged = git(remote, "show", "main:policygentemplates/kustomization.yaml") + "\n"
    assert merged == KUSTOMIZATION.replace("  - group-du-sno-ranGen.yaml\n",
                                           "  - group-du-sno-ranGen.yaml\n  - sno-b-workers.yaml\n  - sno-a-workers.yaml\n")
    assert git(remote, "log", "--format=%s", "main").splitlines()[:2] == ["ours", "theirs"]
    assert "ours: 1" in git(remote, "show", "main:clusters/sno-a.yaml")
    assert not os.path.exists(os.path.join(str(work), ".git", "rebase-merge"))


def test_publish_keeps_a_kustomization_conflict_it_cannot_combine(work, remote, tmp_path):
    commit_and_push(work, "policygentemplates/kustomization.yaml", KUSTOMIZATION, "kustomization")
    other = clone(remote, tmp_path / "other")
    theirs = commit_and_push(other, "policygentemplates/kustomization.yaml",
                             KUSTOMIZATION.replace("kind: Kustomization", "kind: Component"), "theirs")
    write(work, "policygentemplates/kustomization.yaml", KUSTOMIZATION.replace("kind: Kustomization", "kind: Other"))
    with pytest.raises(GitError) as exc:
        do_publish(work, ["policygentemplates/kustomization.yaml"], message="ours")
    assert exc.value.details["conflicts"] == ["policygentemplates/kustomization.yaml"]
    assert git(remote, "rev-parse", "main") == theirs


@pytest.mark.parametrize("ours, upstream, expected", [
    # both added entries: upstream's first, then ours, once each
    ({"generators": ["a.yaml", "c.yaml"]}, {"generators": ["a.yaml", "b.yaml"]}, {"generators": ["a.yaml", "b.yaml", "c.yaml"]}),
    ({"generators": ["a.yaml", "b.yaml"]}, {"generators": ["a.yaml", "b.yaml"]}, {"generators": ["a.yaml", "b.yaml"]}),
    # ours removed an entry, upstream added one
    ({"generators": []}, {"generators": ["a.yaml", "b.yaml"]}, {"generators": ["b.yaml"]}),
    # a list ours created
    ({"generators": ["a.yaml"], "resources": ["ns.yaml"]}, {"generators": ["a.yaml", "b.yaml"]},
     {"generators": ["a.yaml", "b.yaml"], "resources": ["ns.yaml"]}),
    # a scalar ours changed and upstream did not
    ({"generators": ["a.yaml"], "namespace": "x"}, {"generators": ["a.yaml", "b.yaml"]},
     {"generators": ["a.yaml", "b.yaml"], "namespace": "x"}),
])
def test_merge_kustomization(ours, upstream, expected):
    import yaml
    base = {"generators": ["a.yaml"]}
    text = gitops.merge_kustomization(yaml.safe_dump(base), "# kept\n" + yaml.safe_dump(upstream), yaml.safe_dump(ours))
    assert yaml.safe_load(text) == expected and text.startswith("# kept\n")


def test_merge_kustomization_refuses_a_choice():
    assert gitops.merge_kustomization("namespace: a\n", "namespace: b\n", "namespace: c\n") is None
    assert gitops.merge_kustomization("generators: [a]\n", "generators: x\n", "generators: [a, b]\n") is None
    assert gitops.merge_kustomization("a: 1\n", "- not a mapping\n", "a: 2\n") is None


def test_publish_retries_exhausted(work, remote, tmp_path, monkeypatch):
    other = clone(remote, tmp_path / "other")
    real_rebase = gitops._rebase
    moves = []

    def rebase_then_remote_moves(*args):
        real_rebase(*args)
        moves.append(commit_and_push(other, "moving-%d.yaml" % len(moves), "n: %d\n" % len(moves), "move"))

    monkeypatch.setattr(gitops, "_rebase", rebase_then_remote_moves)
    commit_and_push(other, "moving-start.yaml", "n: 0\n", "move")
    write(work, "clusters/sno-a.yaml", BASE_YAML + "ours: 1\n")
    with pytest.raises(GitError) as exc:
        do_publish(work, ["clusters/sno-a.yaml"], message="ours", retries=2)
    assert "rejected 3 time(s)" in exc.value.msg and "retries: 2" in exc.value.msg
    assert "kept on branch 'main'" in exc.value.msg
    assert exc.value.details["attempts"] == 3
    assert git(work, "log", "-1", "--format=%s", "main") == "ours"
    assert "ours" not in git(remote, "log", "--format=%s", "main").splitlines()


def test_publish_pushes_pending_commit_on_rerun(work, remote):
    write(work, "clusters/sno-a.yaml", BASE_YAML + "ours: 1\n")
    result = do_publish(work, ["clusters/sno-a.yaml"], push=False)
    assert result["changed"] and not result["pushed"]
    assert git(remote, "rev-parse", "main") != result["commit"]
    check = do_publish(work, ["clusters/sno-a.yaml"], check_mode=True)
    assert check["changed"] and len(check["pending_commits"]) == 1
    again = do_publish(work, ["clusters/sno-a.yaml"])
    assert again["changed"] and again["pushed"] and again["files"] == []
    assert git(remote, "rev-parse", "main") == result["commit"]
    assert not do_publish(work, ["clusters/sno-a.yaml"])["changed"]


def test_publish_input_errors(work, tmp_path):
    with pytest.raises(ZtpInputError):
        do_publish(work, ["../elsewhere.yaml"])
    with pytest.raises(ZtpInputError):
        do_publish(work, ["a.yaml"], message=" ")
    with pytest.raises(ZtpInputError):
        do_publish(str(tmp_path / "nope"), ["a.yaml"])
    with pytest.raises(ZtpInputError):
        do_publish(work, ["a.yaml"], remote="upstream")
    write(work, ".gitignore", "*.log\n")
    write(work, "debug.log", "x\n")
    with pytest.raises(ZtpInputError) as exc:
        do_publish(work, ["debug.log"])
    assert "ignored" in str(exc.value)
    git(work, "checkout", "-q", "-b", "feature")
    with pytest.raises(GitError) as exc:
        do_publish(work, ["README.md"])
    assert "not on branch 'main'" in exc.value.msg


# --------------------------------------------------------------------------------------------------
# checkout
# --------------------------------------------------------------------------------------------------

def do_checkout(remote, dest, **kwargs):
    with new_git() as g:
        return gitops.checkout(g, str(remote), str(dest), **kwargs)


def test_checkout_clones_then_fast_forwards(remote, tmp_path):
    dest = tmp_path / "co"
    check = do_checkout(remote, dest, check_mode=True)
    assert check["changed"] and check["cloned"] and not dest.exists()
    result = do_checkout(remote, dest)
    assert result["changed"] and result["before"] is None
    assert result["after"] == git(remote, "rev-parse", "main") == check["after"]
    assert not do_checkout(remote, dest)["changed"]

    other = clone(remote, tmp_path / "other")
    new = commit_and_push(other, "x.yaml", "x: 1\n", "x")
    write(dest, "untracked.yaml", "kept\n")
    check = do_checkout(remote, dest, check_mode=True)
    assert check["changed"] and check["after"] == new and git(dest, "rev-parse", "HEAD") == result["after"]
    updated = do_checkout(remote, dest)
    assert updated["changed"] and updated["before"] == result["after"] and updated["after"] == new
    assert (dest / "untracked.yaml").read_text() == "kept\n"


def test_checkout_shallow_clone_and_update(remote, tmp_path):
    dest = tmp_path / "co"
    do_checkout("file://%s" % remote, dest, depth=1)
    assert git(dest, "rev-parse", "--is-shallow-repository") == "true"
    other = clone(remote, tmp_path / "other")
    new = commit_and_push(other, "x.yaml", "x: 1\n", "x")
    assert do_checkout("file://%s" % remote, dest)["after"] == new


def test_checkout_refuses_local_commits_and_changes(remote, tmp_path):
    dest = tmp_path / "co"
    do_checkout(remote, dest)
    write(dest, "clusters/sno-a.yaml", BASE_YAML + "local: 1\n")
    with pytest.raises(GitError) as exc:
        do_checkout(remote, dest)
    assert "uncommitted changes in tracked files: clusters/sno-a.yaml" in exc.value.msg
    assert "allow_local_changes" in exc.value.msg

    git(dest, "commit", "-q", "-am", "local work")
    with pytest.raises(GitError) as exc:
        do_checkout(remote, dest)
    assert "1 local commit(s) not on the remote" in exc.value.msg and "local work" in exc.value.msg

    other = clone(remote, tmp_path / "other")
    new = commit_and_push(other, "x.yaml", "x: 1\n", "x")
    result = do_checkout(remote, dest, allow_local_changes=True)
    assert result["changed"] and git(dest, "rev-parse", "HEAD~1") == new
    assert git(dest, "log", "-1", "--format=%s") == "local work"


def test_checkout_refuses_a_detached_head_holding_a_commit(remote, tmp_path):
    """Issue 15 item 4: a commit made on a detached HEAD is never left on no branch."""
    dest = tmp_path / "co"
    do_checkout(remote, dest)
    git(dest, "checkout", "-q", "--detach")
    write(dest, "clusters/sno-a.yaml", BASE_YAML + "detached: 1\n")
    git(dest, "commit", "-q", "-am", "work on a detached head")
    head = git(dest, "rev-parse", "HEAD")
    short = git(dest, "rev-parse", "--short", "HEAD")
    for check_mode in (True, False):
        with pytest.raises(GitError) as exc:
            do_checkout(remote, dest, check_mode=check_mode)
        msg = exc.value.msg
        assert "detached HEAD" in msg and "%s work on a detached head" % short in msg
        assert "git branch <name> %s" % short in msg and "Nothing was changed" in msg
        assert exc.value.details["local_commits"] == ["%s work on a detached head" % short]
        assert git(dest, "rev-parse", "HEAD") == head
        assert git(dest, "symbolic-ref", "-q", "HEAD", check=False) == ""
    # with allow_local_changes too: the commit is still on no branch
    with pytest.raises(GitError):
        do_checkout(remote, dest, allow_local_changes=True)
    assert git(dest, "rev-parse", "HEAD") == head

    # the recovery the message gives, then the checkout switches back
    git(dest, "branch", "saved", short)
    result = do_checkout(remote, dest)
    assert result["changed"] and result["detached_head"] == head and result["local_commits"] == []
    assert git(dest, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(dest, "rev-parse", "saved") == head


def test_checkout_switches_back_from_a_detached_head_on_the_remote_branch(remote, tmp_path):
    dest = tmp_path / "co"
    first = do_checkout(remote, dest)
    assert first["detached_head"] is None
    other = clone(remote, tmp_path / "other")
    new = commit_and_push(other, "x.yaml", "x: 1\n", "x")
    git(dest, "checkout", "-q", "--detach")
    result = do_checkout(remote, dest)
    assert result["changed"] and result["detached_head"] == first["after"] and result["after"] == new
    assert git(dest, "symbolic-ref", "--short", "HEAD") == "main"
    assert not do_checkout(remote, dest)["changed"]


def test_checkout_refuses_other_repository(remote, tmp_path):
    dest = tmp_path / "co"
    do_checkout(remote, dest)
    with pytest.raises(GitError) as exc:
        do_checkout(tmp_path / "elsewhere.git", dest)
    assert "is a working copy of" in exc.value.msg
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "file").write_text("x")
    with pytest.raises(GitError) as exc:
        do_checkout(remote, tmp_path / "plain")
    assert "not the root of a Git working copy" in exc.value.msg


def test_checkout_missing_branch(remote, tmp_path):
    with pytest.raises(GitError):
        do_checkout(remote, tmp_path / "co", branch="nope")
    with pytest.raises(GitError) as exc:
        do_checkout(remote, tmp_path / "co2", branch="nope", check_mode=True)
    assert "does not exist" in exc.value.msg
    with pytest.raises(ZtpInputError):
        do_checkout(remote, tmp_path / "co3", branch="bad..name")


# --------------------------------------------------------------------------------------------------
# remotes re-created or rewritten under an existing working copy
# --------------------------------------------------------------------------------------------------

def recreate(remote, pristine):
    """Put a re-created repository at the remote's path: a copy of ``pristine`` (the remote as it was seeded)."""
    shutil.rmtree(str(remote))
    shutil.copytree(str(pristine), str(remote))


def assert_one_line(msg, *words):
    assert "\n" not in msg, msg
    for word in words:
        assert word in msg, (word, msg)


def test_checkout_refuses_a_recreated_remote_with_the_same_seed(remote, tmp_path):
    """The demo's case: a new test hub seeds the same first commit at the same URL as the old one."""
    pristine = tmp_path / "pristine.git"
    shutil.copytree(str(remote), str(pristine))
    dest = tmp_path / "co"
    do_checkout(remote, dest)
    for name in ("one", "two"):
        write(dest, "clusters/%s.yaml" % name, "n: %s\n" % name)
        assert do_publish(dest, ["clusters/%s.yaml" % name], message="published " + name)["pushed"]
    head = git(dest, "rev-parse", "HEAD")
    recreate(remote, pristine)

    for kwargs in ({}, {"allow_local_changes": True}, {"check_mode": True}):
        with pytest.raises(GitError) as exc:
            do_checkout(remote, dest, **kwargs)
        assert_one_line(exc.value.msg, "branch 'main' of %s was rewritten or the repository re-created" % remote,
                        "since %s last fetched it" % dest, "2 commit(s)", "published one", "published two",
                        "Nothing was changed or pushed", "remove %s" % dest, "ztp_gitops_workdir")
        assert exc.value.details["local_commits"] and exc.value.details["last_fetched"] == head
        assert git(dest, "rev-parse", "HEAD") == head and git(dest, "status", "--porcelain") == ""
    assert git(remote, "log", "--format=%s", "main") == "seed"

    shutil.rmtree(str(dest))
    assert do_checkout(remote, dest)["cloned"]


def test_checkout_refuses_a_rewritten_branch_but_follows_one_that_still_contains_it(remote, tmp_path):
    dest, lagging = tmp_path / "co", tmp_path / "lagging"
    do_checkout(remote, dest)
    do_checkout(remote, lagging)
    other = clone(remote, tmp_path / "other")
    dropped = commit_and_push(other, "x.yaml", "x: 1\n", "later dropped")
    assert do_checkout(remote, dest)["after"] == dropped
    git(lagging, "fetch", "-q", "origin")          # it saw 'later dropped' on the remote but never merged it
    # Someone rewrites the branch: 'later dropped' is replaced by another commit (a forced push).
    git(other, "reset", "-q", "--hard", "HEAD~1")
    write(other, "y.yaml", "y: 1\n")
    git(other, "add", "y.yaml")
    git(other, "commit", "-q", "-m", "replacement")
    git(other, "push", "-q", "--force", "origin", "HEAD:main")
    with pytest.raises(GitError) as exc:
        do_checkout(remote, dest, allow_local_changes=True)
    assert_one_line(exc.value.msg, "was rewritten", "1 commit(s)", "later dropped")
    assert git(dest, "rev-parse", "HEAD") == dropped

    # A working copy that only lags behind a rewritten branch is simply brought up to date.
    assert git(lagging, "rev-parse", "origin/main") == dropped
    result = do_checkout(remote, lagging)
    assert result["changed"] and result["after"] == git(remote, "rev-parse", "main")


def test_checkout_refuses_a_remote_with_unrelated_history(remote, tmp_path):
    dest = tmp_path / "co"
    do_checkout(remote, dest)
    head = git(dest, "rev-parse", "HEAD")
    shutil.rmtree(str(remote))
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    fresh = clone(remote, tmp_path / "fresh")
    write(fresh, "README.md", "another repository\n")
    git(fresh, "add", "-A")
    git(fresh, "commit", "-q", "-m", "another seed")
    git(fresh, "push", "-q", "origin", "main")
    for kwargs in ({}, {"allow_local_changes": True}):
        with pytest.raises(GitError) as exc:
            do_checkout(remote, dest, **kwargs)
        assert_one_line(exc.value.msg, "%s shares no history with branch 'main' of %s" % (dest, remote),
                        "re-created", "remove %s" % dest)
        assert git(dest, "rev-parse", "HEAD") == head


def test_publish_refuses_to_replay_commits_onto_a_recreated_remote(remote, work, tmp_path):
    pristine = tmp_path / "pristine.git"
    shutil.copytree(str(remote), str(pristine))
    write(work, "clusters/sno-a.yaml", BASE_YAML + "first: 1\n")
    assert do_publish(work, ["clusters/sno-a.yaml"], message="first")["pushed"]
    recreate(remote, pristine)
    other = clone(remote, tmp_path / "other")
    theirs = commit_and_push(other, "clusters/sno-b.yaml", BASE_YAML + "theirs: 1\n", "theirs")
    write(work, "clusters/sno-a.yaml", BASE_YAML + "first: 1\nsecond: 1\n")
    with pytest.raises(GitError) as exc:
        do_publish(work, ["clusters/sno-a.yaml"], message="second")
    local = git(work, "rev-parse", "HEAD")
    assert_one_line(exc.value.msg, "was rewritten or the repository re-created", "Nothing was pushed",
                    "the local commit %s is kept" % local[:12], "first", "second")
    assert git(remote, "rev-parse", "main") == theirs
    assert git(work, "log", "--format=%s", "-2") == "second\nfirst"
