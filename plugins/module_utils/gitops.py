# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Git checkout and publish for the GitOps repository.

- ``checkout()`` clones the repository or brings a clean working copy up to date with the remote branch
  (fetch and fast-forward only).
- ``publish()`` commits exactly the given paths, pushes, and when the remote moved meanwhile fetches,
  rebases and pushes again. It never force-pushes: every push refspec is a plain ``src:dst``.

Credentials never reach a command line, a URL, the Git configuration or a message: an https token is
handed to Git through a ``GIT_ASKPASS`` helper that reads it from the environment of the Git process,
an ssh key through ``GIT_SSH_COMMAND``. Every text taken from Git's output is scrubbed of the token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from ansible.module_utils.basic import env_fallback
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import MASK, ZtpInputError
from ansible_collections.ztp.sno_expand.plugins.module_utils.errors import URL_USERINFO as _URL_USERINFO
from ansible_collections.ztp.sno_expand.plugins.module_utils.yaml_edit import file_lock

DEFAULT_TIMEOUT = 300
TOKEN_ENV = "ZTP_GIT_ASKPASS_TOKEN"
USERNAME_ENV = "ZTP_GIT_ASKPASS_USERNAME"

ASKPASS_SCRIPT = """#!/bin/sh
# Answers Git's credential prompts from the environment of the Git process.
case "$1" in
  [Uu]sername*) printf '%s\\n' "$ZTP_GIT_ASKPASS_USERNAME" ;;
  *) printf '%s\\n' "$ZTP_GIT_ASKPASS_TOKEN" ;;
esac
"""

# Environment variables that would point Git at another repository, index or credential prompt.
_INHERITED_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND",
                       "GIT_NAMESPACE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                       "GIT_CEILING_DIRECTORIES", "GIT_PREFIX", "GIT_QUARANTINE_PATH")

_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+(?:\[[^\]]*\])?:(?!//).+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")

# Push rejections that mean "the remote branch moved": fetch, rebase and push again.
_RETRYABLE_PUSH = ("fetch first", "non-fast-forward", "cannot lock ref", "failed to update ref",
                   "incorrect old value")


class GitError(Exception):
    """A Git operation failed. ``details`` are returned with the failure (never secrets)."""

    def __init__(self, msg, **details):
        self.msg = msg
        self.details = details
        super(GitError, self).__init__(msg)


class GitResult(object):
    def __init__(self, args, rc, out, err):
        self.args = args
        self.rc = rc
        self.out = out
        self.err = err


# ----------------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------------

def url_credentials(repo):
    """The passwords or tokens written into a repository URL (``https://user:TOKEN@host/...``), for a module's
    ``no_log_values``: the URL is refused, but Ansible shows the module's arguments at ``-vvv``."""
    if not isinstance(repo, str):
        return []
    return [m.group(2).partition(":")[2] for m in _URL_USERINFO.finditer(repo) if m.group(2).partition(":")[2]]


def repo_url_kind(repo):
    """Return ``ssh``, ``https``, ``http``, ``git``, ``file`` or ``local`` for a repository URL or path.

    Raises ``ZtpInputError`` for anything else, for URLs carrying credentials and for Git's
    ``transport::address`` forms (which can run commands).
    """
    expected_forms = ("an ssh URL (git@host:org/repo.git or ssh://host/org/repo.git), an https://, http:// or "
                      "git:// URL, a file:// URL or a local path")
    if not isinstance(repo, str) or not repo.strip():
        raise ZtpInputError("repo", repo, "a repository URL: " + expected_forms)
    if repo != repo.strip() or any(ord(c) < 32 for c in repo) or repo.startswith("-"):
        raise ZtpInputError("repo", repo, "a repository URL without spaces, control characters or a leading '-'")
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", repo)
    if match:
        scheme = match.group(1).lower()
        userinfo = _URL_USERINFO.match(repo)
        if userinfo and ":" in userinfo.group(2):
            raise ZtpInputError("repo", _URL_USERINFO.sub(r"\1" + MASK + "@", repo),
                                "a URL without a password or token in it; pass the token with the 'token' option "
                                "(or the ZTP_GIT_TOKEN environment variable)")
        if scheme in ("ssh", "git+ssh", "ssh+git"):
            return "ssh"
        if scheme in ("https", "http", "git", "file"):
            return scheme
        raise ZtpInputError("repo", repo, expected_forms)
    if "::" in repo.split("/", 1)[0]:
        raise ZtpInputError("repo", repo, expected_forms + " (Git remote helpers such as 'ext::' are not accepted)")
    if not repo.startswith(("/", ".", "~")) and _SCP_LIKE.match(repo) and "/" not in repo.split(":", 1)[0]:
        return "ssh"
    return "local"


def resolve_paths(toplevel, paths):
    """Return the given paths relative to the working-copy root (``toplevel``), in order, without repeats.

    Relative paths are taken relative to the root. Paths outside the working copy or inside ``.git`` are
    input errors. A symbolic link to a file of the working copy brings its target too: the edits write the
    target (``yaml_edit.write_target``), and Git tracks the link and the target as two files.
    """
    if isinstance(paths, str) or not isinstance(paths, (list, tuple)):
        raise ZtpInputError("paths", paths, "a list of file paths relative to the repository root")
    if not paths:
        raise ZtpInputError("paths", paths, "at least one file path relative to the repository root")
    root = os.path.realpath(toplevel)
    result = []
    for index, path in enumerate(paths):
        field = "paths[%d]" % index
        if not isinstance(path, str) or not path.strip():
            raise ZtpInputError(field, path, "a non-empty file path")
        full = path if os.path.isabs(path) else os.path.join(root, path)
        # Resolve symlinked folders, keep a symlinked file itself (Git tracks the link).
        full = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(full))), os.path.basename(full))
        rel = os.path.relpath(full, root)
        if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
            raise ZtpInputError(field, path, "a path inside the working copy %s" % root)
        if rel.split(os.sep)[0] == ".git":
            raise ZtpInputError(field, path, "a path outside the .git folder")
        for candidate in [rel] + _link_target(full, root):
            candidate = candidate.replace(os.sep, "/")
            if candidate not in result:
                result.append(candidate)
    return result


def _link_target(full, root):
    """``[target relative to root]`` when ``full`` is a symbolic link to a file inside the working copy, else []."""
    if not os.path.islink(full):
        return []
    target = os.path.realpath(full)
    rel = os.path.relpath(target, root)
    if rel.startswith(".." + os.sep) or rel.split(os.sep)[0] == ".git" or not os.path.isfile(target):
        return []
    return [rel]


# ----------------------------------------------------------------------------------------------------
# running git
# ----------------------------------------------------------------------------------------------------

def scrub(text, secrets):
    """Replace every secret and every password in URLs in ``text`` with ``********``."""
    if not text:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)

    def mask_password(match):
        user, sep, _password = match.group(2).partition(":")
        return match.group(1) + (user + ":" + MASK if sep else user) + "@"

    return _URL_USERINFO.sub(mask_password, text)


def ssh_command(ssh_key_file=None, known_hosts_file=None, accept_new_host_keys=False):
    """Return the ``GIT_SSH_COMMAND`` value for the given key and host-key options, or None."""
    if not (ssh_key_file or known_hosts_file or accept_new_host_keys):
        return None
    parts = ["ssh"]
    if ssh_key_file:
        parts += ["-i", os.path.abspath(os.path.expanduser(ssh_key_file)), "-o", "IdentitiesOnly=yes"]
    parts += ["-o", "BatchMode=yes"]
    if known_hosts_file:
        parts += ["-o", "UserKnownHostsFile=" + os.path.abspath(os.path.expanduser(known_hosts_file))]
    if accept_new_host_keys:
        parts += ["-o", "StrictHostKeyChecking=accept-new"]
    elif known_hosts_file:
        parts += ["-o", "StrictHostKeyChecking=yes"]
    return " ".join(shlex.quote(p) for p in parts)


class Git(object):
    """Runs ``git`` with a fixed environment, credentials and a timeout.

    Use as a context manager when a token is given: the askpass helper lives in a private temporary
    folder that is removed on exit.
    """

    def __init__(self, cwd=None, token=None, username="git", ssh_key_file=None, known_hosts_file=None,
                 accept_new_host_keys=False, timeout=DEFAULT_TIMEOUT, author_name=None, author_email=None):
        self.cwd = cwd
        self.token = token or None
        self.username = username or "git"
        self.ssh = ssh_command(ssh_key_file, known_hosts_file, accept_new_host_keys)
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.author_name = author_name
        self.author_email = author_email
        self._askpass_dir = None

    def __enter__(self):
        if self.token and self._askpass_dir is None:
            self._askpass_dir = tempfile.mkdtemp(prefix="ztp-git-askpass-")
            os.chmod(self._askpass_dir, 0o700)
            fd = os.open(self.askpass_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
            with os.fdopen(fd, "w") as handle:
                handle.write(ASKPASS_SCRIPT)
        return self

    def __exit__(self, *exc):
        if self._askpass_dir:
            shutil.rmtree(self._askpass_dir, ignore_errors=True)
            self._askpass_dir = None

    @property
    def askpass_path(self):
        return os.path.join(self._askpass_dir, "askpass.sh") if self._askpass_dir else None

    def scrub(self, text):
        return scrub(text, [self.token])

    def environment(self):
        env = dict(os.environ)
        for name in _INHERITED_GIT_VARS:
            env.pop(name, None)
        env.update({"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0",
                    "GIT_LITERAL_PATHSPECS": "1", "GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true",
                    "GIT_MERGE_AUTOEDIT": "no"})
        if self.author_name:
            env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = self.author_name
        if self.author_email:
            env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = self.author_email
        if self.token:
            if not self._askpass_dir:
                self.__enter__()
            env["GIT_ASKPASS"] = self.askpass_path
            env[TOKEN_ENV] = self.token
            env[USERNAME_ENV] = self.username
        if self.ssh:
            env["GIT_SSH_COMMAND"] = self.ssh
        return env

    def command(self, args):
        cmd = ["git", "-c", "core.quotePath=false"]
        if self.token:
            # Credential helpers from the user's configuration would answer before the askpass helper.
            cmd += ["-c", "credential.helper="]
        return cmd + list(args)

    def run(self, *args, **kwargs):
        """Run ``git args``; raise ``GitError`` on a non-zero exit unless ``check=False``."""
        check = kwargs.pop("check", True)
        cwd = kwargs.pop("cwd", self.cwd)
        env_update = kwargs.pop("env", None)
        env = self.environment()
        if env_update:
            env.update(env_update)
        cmd = self.command(args)
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise GitError("cannot run git: %s" % exc)
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise GitError("git %s timed out after %s seconds" % (args[0], self.timeout))
        result = GitResult(list(args), proc.returncode, out.decode("utf-8", "replace"),
                           self.scrub(err.decode("utf-8", "replace")))
        result.out = self.scrub(result.out)
        if check and result.rc != 0:
            raise GitError("git %s failed (exit %d): %s" % (args[0], result.rc, (result.err or result.out).strip()))
        return result

    def out(self, *args, **kwargs):
        return self.run(*args, **kwargs).out.strip()


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()


# ----------------------------------------------------------------------------------------------------
# locking
# ----------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def repo_lock(repo_dir):
    """Exclusive lock on a working copy, held by one publish or checkout at a time (see ``file_lock``)."""
    with file_lock(os.path.realpath(repo_dir)):
        yield


# ----------------------------------------------------------------------------------------------------
# helpers on a working copy
# ----------------------------------------------------------------------------------------------------

def rev(git, ref):
    """The commit id of ``ref`` or None."""
    result = git.run("rev-parse", "--verify", "-q", ref + "^{commit}", check=False)
    return result.out.strip() if result.rc == 0 else None


def current_branch(git):
    result = git.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
    return result.out.strip() if result.rc == 0 else None


def rebase_in_progress(git):
    for name in ("rebase-merge", "rebase-apply"):
        if os.path.exists(git.out("rev-parse", "--git-path", name)):
            return True
    return False


def tracked_changes(git):
    """Tracked files with uncommitted changes (staged or not), as ``XY path`` lines."""
    out = git.run("status", "--porcelain=v1", "-z", "--untracked-files=no").out
    return [entry for entry in out.split("\0") if entry]


def commits_between(git, base, head):
    """One-line descriptions of the commits in ``head`` that are not in ``base``."""
    out = git.out("log", "--format=%h %s", "%s..%s" % (base, head))
    return out.splitlines() if out else []


def remote_branch_head(git, repo, branch):
    """The commit id of ``branch`` on ``repo`` (``git ls-remote``), or None when the branch does not exist."""
    out = git.out("ls-remote", "--heads", "--", repo, "refs/heads/" + branch)
    for line in out.splitlines():
        sha, _sep, ref = line.partition("\t")
        if ref == "refs/heads/" + branch:
            return sha
    return None


def fetch_branch(git, remote, branch):
    # The '+' lets the remote-tracking ref follow the remote even if it was rewritten there; this is a
    # fetch into refs/remotes/, never a push.
    git.run("fetch", "--no-tags", "--", remote,
            "+refs/heads/%s:refs/remotes/%s/%s" % (branch, remote, branch))


def is_ancestor(git, older, newer):
    """Whether commit ``older`` is ``newer`` or one of its ancestors."""
    return git.run("merge-base", "--is-ancestor", older, newer, check=False).rc == 0


def _recover_hint(dest, kept):
    return ("%s To recover, remove %s (save any work in it first) or use another working copy folder (dest; "
            "ztp_gitops_workdir in the playbooks), then run again" % (kept, dest))


def check_shared_history(git, repo, dest, branch, local_head, remote_head, last_fetched,
                         kept="Nothing was changed or pushed."):
    """Raise ``GitError`` (one line) when the working copy's history no longer meets the remote branch's.

    ``last_fetched`` is the remote branch as this working copy last saw it (``refs/remotes/origin/<branch>``
    before the fetch), ``remote_head`` the remote branch now; both commits must be present locally. Two cases
    are caught: no common ancestor at all (another repository now answers at that URL), and commits of the
    local branch that are not on the remote while the remote branch no longer contains what was fetched
    before (the remote repository was re-created or its branch rewritten). Rebasing in either case would
    replay commits that were already published somewhere else, so nothing is done.
    """
    shallow = git.run("rev-parse", "--is-shallow-repository", check=False).out.strip() == "true"
    if not shallow and git.run("merge-base", local_head, remote_head, check=False).rc != 0:
        raise GitError("%s shares no history with branch '%s' of %s: the remote repository was re-created or its "
                       "history rewritten since this working copy was made. %s"
                       % (dest, branch, git.scrub(repo), _recover_hint(dest, kept)),
                       dest=dest, local_head=local_head, remote_head=remote_head)
    if is_ancestor(git, local_head, remote_head):
        return
    if last_fetched and last_fetched != remote_head and not is_ancestor(git, last_fetched, remote_head):
        lost = commits_between(git, remote_head, local_head)
        raise GitError("branch '%s' of %s was rewritten or the repository re-created since %s last fetched it: it "
                       "was at %s and is now at %s, which does not contain it, so the working copy's %d commit(s) "
                       "not on the remote (%s) cannot be brought up to date. %s"
                       % (branch, git.scrub(repo), dest, last_fetched[:12], remote_head[:12], len(lost),
                          "; ".join(lost[:5]) + ("; ..." if len(lost) > 5 else ""), _recover_hint(dest, kept)),
                       dest=dest, local_commits=lost, local_head=local_head, remote_head=remote_head,
                       last_fetched=last_fetched)


def _checked_history(git, repo, dest, branch, local_head, remote_head, last_fetched, tracking, **kwargs):
    """``check_shared_history``; when it fails, the remote-tracking ref is put back where it was before the fetch,
    so that the next run still knows what this working copy had seen and fails the same way."""
    try:
        check_shared_history(git, repo, dest, branch, local_head, remote_head, last_fetched, **kwargs)
    except GitError:
        if last_fetched and rev(git, tracking) != last_fetched:
            git.run("update-ref", tracking, last_fetched, check=False)
        raise


def check_branch_name(git, branch, field="branch"):
    if not isinstance(branch, str) or not branch or git.run("check-ref-format", "--branch", branch,
                                                            check=False).rc != 0 or branch.startswith("-"):
        raise ZtpInputError(field, branch, "a valid Git branch name, for example main")


def _normalize_url(url):
    url = url.strip().rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    if url.startswith("file://"):
        url = url[len("file://"):]
    if url.startswith(("/", ".", "~")):
        url = os.path.realpath(os.path.expanduser(url))
        if url.endswith(".git"):
            url = url[:-4]
    return url


# ----------------------------------------------------------------------------------------------------
# checkout
# ----------------------------------------------------------------------------------------------------

def checkout(git, repo, dest, branch="main", depth=None, allow_local_changes=False, check_mode=False):
    """Clone ``repo`` into ``dest`` or bring the working copy in ``dest`` up to date with ``branch``.

    Returns ``{changed, before, after, branch, cloned, local_commits, local_changes, detached_head}``.
    A detached HEAD is switched back to ``branch`` (``detached_head`` is then its commit id) only when every
    commit of it is on a branch, a remote branch or a tag; otherwise ``GitError`` names its commits.
    """
    repo_url_kind(repo)
    check_branch_name(git, branch)
    if depth is not None and (not isinstance(depth, int) or depth < 1):
        raise ZtpInputError("depth", depth, "a positive number of commits")
    if not isinstance(dest, str) or not dest:
        raise ZtpInputError("dest", dest, "the folder of the working copy")
    dest = os.path.abspath(os.path.expanduser(dest))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ZtpInputError("dest", dest, "a folder (this is a file)")
    result = {"changed": False, "before": None, "after": None, "branch": branch, "cloned": False,
              "local_commits": [], "local_changes": [], "detached_head": None}

    with repo_lock(dest):
        if os.path.isdir(dest) and os.listdir(dest):
            return _update(git, repo, dest, branch, allow_local_changes, check_mode, result)
        if check_mode:
            after = remote_branch_head(git, repo, branch)
            if after is None:
                raise GitError("branch '%s' does not exist on the remote repository" % branch, branch=branch)
            result.update(changed=True, after=after, cloned=True)
            return result
        parent = os.path.dirname(dest)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        args = ["clone", "--branch", branch]
        if depth:
            args += ["--depth", str(depth)]
        git.run(*(args + ["--", repo, dest]), cwd=parent)
        result.update(changed=True, after=rev(Git(cwd=dest), "HEAD"), cloned=True)
        return result


def _update(git, repo, dest, branch, allow_local_changes, check_mode, result):
    local = Git(cwd=dest)
    top = local.run("rev-parse", "--show-toplevel", check=False)
    if top.rc != 0 or os.path.realpath(top.out.strip()) != os.path.realpath(dest):
        raise GitError("%s exists, is not empty and is not the root of a Git working copy; remove it or choose "
                       "another dest" % dest, dest=dest)
    origin = local.run("remote", "get-url", "origin", check=False)
    if origin.rc != 0 or _normalize_url(origin.out) != _normalize_url(repo):
        raise GitError("%s is a working copy of %s, not of %s; remove it or choose another dest"
                       % (dest, local.scrub(origin.out.strip()) or "no 'origin' remote", repo), dest=dest)
    if rebase_in_progress(local):
        raise GitError("a rebase is in progress in %s; finish it (git rebase --continue) or abort it "
                       "(git rebase --abort) first" % dest, dest=dest)

    before = rev(local, "HEAD")
    result["before"] = before
    tracking = "refs/remotes/origin/" + branch
    last_fetched = rev(local, tracking)
    if check_mode:
        remote_head = remote_branch_head(git, repo, branch)
    else:
        git.cwd = dest
        fetch_branch(git, "origin", branch)
        remote_head = rev(local, tracking)
    if remote_head is None:
        raise GitError("branch '%s' does not exist on the remote repository" % branch, branch=branch)

    changes = tracked_changes(local)
    on_branch = current_branch(local)
    local_head = rev(local, "refs/heads/" + branch)
    known = rev(local, remote_head) is not None
    if local_head and known:
        _checked_history(local, repo, dest, branch, local_head, remote_head, last_fetched, tracking)
    ahead = commits_between(local, remote_head, local_head) if (local_head and known) else []
    result.update(local_commits=ahead, local_changes=changes)

    if on_branch != branch and changes:
        raise GitError("%s is on %s with uncommitted changes in tracked files (%s); cannot switch to branch '%s'. "
                       "Commit, publish or discard them first"
                       % (dest, on_branch or "a detached HEAD", ", ".join(c[3:] for c in changes), branch),
                       dest=dest, local_changes=changes)
    if on_branch is None:
        _check_detached_head(local, dest, branch, before)
        result["detached_head"] = before
    if (ahead or changes) and not allow_local_changes:
        problems = []
        if ahead:
            problems.append("%d local commit(s) not on the remote: %s" % (len(ahead), "; ".join(ahead)))
        if changes:
            problems.append("uncommitted changes in tracked files: %s" % ", ".join(c[3:] for c in changes))
        raise GitError("%s has %s. Publish them (ztp_gitops_publish), discard them, or set allow_local_changes: "
                       "true to keep them and rebase them onto origin/%s" % (dest, " and ".join(problems), branch),
                       dest=dest, local_commits=ahead, local_changes=changes)

    if check_mode:
        result["after"] = remote_head if not ahead else local_head
        result["changed"] = on_branch != branch or (result["after"] != before)
        return result

    if on_branch != branch:
        if local_head:
            local.run("checkout", "-q", branch)
        else:
            local.run("checkout", "-q", "-b", branch, "--track", "origin/" + branch)
    if ahead:
        _rebase(local, tracking, dest, branch)
    elif changes:
        merged = local.run("merge", "-q", "--ff-only", "--autostash", tracking, check=False)
        if merged.rc != 0:
            raise GitError("cannot fast-forward %s to origin/%s with the local changes kept: %s"
                           % (dest, branch, merged.err.strip()), dest=dest, local_changes=changes)
    else:
        local.run("merge", "-q", "--ff-only", tracking)
    result["after"] = rev(local, "HEAD")
    result["changed"] = result["after"] != before or on_branch != branch
    return result


def _check_detached_head(local, dest, branch, head):
    """Raise ``GitError`` when the detached HEAD ``head`` holds commits that no branch, remote branch or tag
    contains: switching to ``branch`` would leave them on no branch (found again only in the reflog)."""
    if not head:
        return
    out = local.out("log", "--format=%h %s", head, "--not", "--branches", "--remotes", "--tags")
    orphans = out.splitlines() if out else []
    if not orphans:
        return
    short = orphans[0].split(" ", 1)[0]
    raise GitError(
        "%s is on a detached HEAD at %s with %d commit(s) that are on no branch (%s); switching to branch '%s' would "
        "leave them on no branch. Nothing was changed. To keep them, in %s run 'git branch <name> %s' (or "
        "'git switch -c <name>'), then publish or merge that branch; to drop them, run 'git switch %s'; then run "
        "this again" % (dest, short, len(orphans), "; ".join(orphans[:5]) + ("; ..." if len(orphans) > 5 else ""),
                        branch, dest, short, branch),
        dest=dest, local_commits=orphans, detached_head=head)


def _rebase(local, upstream, repo_dir, branch):
    """Rebase the current branch onto ``upstream``; on a conflict abort and raise ``GitError``."""
    head = rev(local, "HEAD")
    rebased = local.run("rebase", "-q", "--autostash", upstream, check=False)
    if rebased.rc == 0:
        return
    conflicts = local.out("diff", "--name-only", "--diff-filter=U").splitlines()
    local.run("rebase", "--abort", check=False)
    subject = local.out("log", "-1", "--format=%s", head)
    if not conflicts:
        raise GitError("rebasing onto %s failed in %s: %s. The rebase was aborted; the local commit %s (%s) is "
                       "kept on branch '%s'" % (upstream, repo_dir, (rebased.err or rebased.out).strip(), head[:12],
                                                subject, branch),
                       commit=head)
    raise GitError(
        "the remote branch '%s' changed the same lines as the local commit %s (%s) in: %s. The rebase was "
        "aborted and nothing was pushed: the local commit is kept on branch '%s' of %s. To resolve: in %s run "
        "'git pull --rebase', fix the conflicts in those files, 'git add' them, 'git rebase --continue', then "
        "run this again (or reset the working copy to the remote branch and redo the edits)"
        % (branch, head[:12], subject, ", ".join(conflicts), branch, repo_dir, repo_dir),
        commit=head, conflicts=conflicts)


# ----------------------------------------------------------------------------------------------------
# publish
# ----------------------------------------------------------------------------------------------------

_STATUS_NAMES = {"A": "added", "D": "deleted", "M": "modified", "T": "modified", "R": "modified",
                 "C": "added", "U": "unmerged"}


def path_status(git, rel_paths):
    """``{path: added|modified|deleted}`` for the files under ``rel_paths`` that differ from HEAD."""
    out = git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--",
                  *rel_paths).out
    status = {}
    for entry in out.split("\0"):
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code == "??":
            status[path] = "added"
        elif "D" in code:
            status[path] = "deleted"
        elif "U" in code or code in ("AA", "DD"):
            status[path] = "unmerged"
        else:
            status[path] = _STATUS_NAMES.get(code[0].strip() or code[1], "modified")
    return dict(sorted(status.items()))


def _diff(git, status):
    """The ``git diff`` of the files in ``status`` against HEAD, new files included, without touching the index."""
    files = list(status)
    base = rev(git, "HEAD") or git.out("hash-object", "-t", "tree", "/dev/null")
    index = git.out("rev-parse", "--git-path", "index")
    tmp = tempfile.mkdtemp(prefix="ztp-git-index-")
    try:
        tmp_index = os.path.join(tmp, "index")
        if os.path.exists(os.path.join(git.cwd, index)):
            shutil.copyfile(os.path.join(git.cwd, index), tmp_index)
        env = {"GIT_INDEX_FILE": tmp_index}
        new = [f for f in files if status[f] == "added"]
        if new:
            git.run("add", "--intent-to-add", "--", *new, env=env)
        return git.run("diff", "--no-color", "--no-ext-diff", base, "--", *files, env=env).out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _push(git, remote, branch):
    """Push HEAD to ``branch``; return (ok, retryable, message). Never forces."""
    refspec = "HEAD:refs/heads/%s" % branch
    result = git.run("push", "--porcelain", "--", remote, refspec, check=False)
    if result.rc == 0:
        return True, False, ""
    text = (result.out + "\n" + result.err).strip()
    rejected = [line for line in result.out.splitlines() if line.startswith("!")]
    retryable = bool(rejected) and any(reason in text for reason in _RETRYABLE_PUSH)
    return False, retryable, text


def publish(git, repo_dir, paths, message, branch="main", remote="origin", retries=5, push=True,
            check_mode=False, diff=False, backoff=0.5):
    """Commit exactly ``paths`` and push them to ``branch`` of ``remote``.

    ``git`` carries the credentials, author and timeout; its ``cwd`` is set to the working-copy root.
    Returns ``{changed, commit, pushed, attempts, files, file_status, remote_commit[, diff]}``.
    Raises ``ZtpInputError`` for bad input and ``GitError`` when Git fails, with the local commit kept.
    """
    if not isinstance(repo_dir, str) or not os.path.isdir(repo_dir):
        raise ZtpInputError("repo_dir", repo_dir, "the folder of an existing Git working copy")
    if not isinstance(message, str) or not message.strip():
        raise ZtpInputError("commit_message", message, "a non-empty commit message")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ZtpInputError("retries", retries, "a number of retries, 0 or more")
    git.cwd = repo_dir
    top = git.run("rev-parse", "--show-toplevel", check=False)
    if top.rc != 0:
        raise ZtpInputError("repo_dir", repo_dir, "the folder of an existing Git working copy")
    toplevel = top.out.strip()
    git.cwd = toplevel
    rel_paths = resolve_paths(toplevel, paths)
    check_branch_name(git, branch)
    if not isinstance(remote, str) or not remote or remote.startswith("-") or (
            push and git.run("remote", "get-url", "--", remote, check=False).rc != 0):
        raise ZtpInputError("remote", remote, "the name of a configured remote of %s, for example origin" % toplevel)

    with repo_lock(toplevel):
        return _publish_locked(git, toplevel, rel_paths, message, branch, remote, retries, push, check_mode, diff,
                               backoff)


def _ignored_untracked(git, toplevel, path):
    """Whether ``path`` exists, is not tracked and is ignored by .gitignore (so it could never be committed)."""
    if not os.path.lexists(os.path.join(toplevel, path)):
        return False
    # check-ignore does not accept literal pathspecs.
    if git.run("check-ignore", "-q", "--no-index", "--", path, check=False, env={"GIT_LITERAL_PATHSPECS": "0"}).rc:
        return False
    return git.run("ls-files", "--error-unmatch", "--", path, check=False).rc != 0


def _publish_locked(git, toplevel, rel_paths, message, branch, remote, retries, push, check_mode, diff, backoff):
    if rebase_in_progress(git):
        raise GitError("a rebase is in progress in %s; finish it (git rebase --continue) or abort it "
                       "(git rebase --abort) before publishing" % toplevel)
    on_branch = current_branch(git)
    if on_branch != branch:
        raise GitError("%s is on %s, not on branch '%s'; check out '%s' (ztp_gitops_checkout) first"
                       % (toplevel, "branch '%s'" % on_branch if on_branch else "a detached HEAD", branch, branch))
    ignored = [p for p in rel_paths if _ignored_untracked(git, toplevel, p)]
    if ignored:
        raise ZtpInputError("paths", ignored, "files that are not ignored by .gitignore (these would never be "
                                              "committed)", where=toplevel)
    status = path_status(git, rel_paths)
    unmerged = [p for p, s in status.items() if s == "unmerged"]
    if unmerged:
        raise GitError("files with unresolved merge conflicts: %s" % ", ".join(unmerged), files=unmerged)
    files = list(status)
    tracking = "refs/remotes/%s/%s" % (remote, branch)
    result = {"changed": False, "commit": rev(git, "HEAD"), "pushed": False, "attempts": 0, "files": files,
              "file_status": status, "remote_commit": rev(git, tracking)}
    if diff and files:
        result["diff"] = _diff(git, status)

    remote_head = result["remote_commit"]
    pending = [] if not push or not result["commit"] else (
        commits_between(git, remote_head, "HEAD") if remote_head else [result["commit"]])
    if check_mode:
        result["changed"] = bool(files or pending)
        result["pending_commits"] = pending
        return result
    if files:
        new = [f for f in files if status[f] == "added"]
        if new:
            git.run("add", "--", *new)
        # --only: exactly these paths, whatever else is staged in the index stays staged and uncommitted.
        git.run("commit", "-q", "--only", "--no-edit", "-m", message, "--", *files)
        result["changed"] = True
        result["commit"] = rev(git, "HEAD")
        if remote_head:
            pending = commits_between(git, remote_head, "HEAD")
        else:
            pending = [result["commit"]]
    if not push or not pending:
        return result

    result["changed"] = True
    attempts = 0
    last = ""
    while attempts <= retries:
        attempts += 1
        result["attempts"] = attempts
        ok, retryable, last = _push(git, remote, branch)
        if ok:
            git.run("update-ref", tracking, "HEAD")
            result.update(pushed=True, commit=rev(git, "HEAD"), remote_commit=rev(git, "HEAD"))
            return result
        if not retryable:
            raise GitError("pushing %s to branch '%s' of remote '%s' failed: %s. The local commit is kept on branch "
                           "'%s' of %s; run again once the remote is reachable"
                           % (result["commit"][:12], branch, remote, last, branch, toplevel),
                           commit=result["commit"], attempts=attempts, files=files)
        if attempts > retries:
            break
        time.sleep(min(backoff * (2 ** (attempts - 1)), 4) * (1 + random.random()))
        last_fetched = rev(git, tracking)
        fetch_branch(git, remote, branch)
        try:
            _checked_history(git, git.out("remote", "get-url", "--", remote), toplevel, branch, rev(git, "HEAD"),
                             rev(git, tracking), last_fetched, tracking,
                             kept="Nothing was pushed; the local commit %s is kept." % result["commit"][:12])
            _rebase(git, tracking, toplevel, branch)
        except GitError as exc:
            exc.details.update(attempts=attempts, files=files)
            raise
        result["commit"] = rev(git, "HEAD")
        result["remote_commit"] = rev(git, tracking)
    raise GitError("the push to branch '%s' of remote '%s' was rejected %d time(s) because the remote branch kept "
                   "moving (retries: %d). The local commit %s is kept on branch '%s' of %s; run this again, or raise "
                   "'retries'. Last answer from the remote: %s"
                   % (branch, remote, attempts, retries, result["commit"][:12], branch, toplevel, last),
                   commit=result["commit"], attempts=attempts, files=files)


def remote_argument_spec():
    """Options of the modules that talk to the remote (documented by the ztp.sno_expand.gitops_auth doc fragment)."""
    return dict(
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["ZTP_GIT_TOKEN"])),
        username=dict(type="str", default="git"),
        ssh_key_file=dict(type="path"),
        ssh_known_hosts_file=dict(type="path"),
        accept_new_host_keys=dict(type="bool", default=False),
        timeout=dict(type="int", default=300),
    )
