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
import socket
import ssl
import subprocess
import tempfile
import time

from ansible.module_utils.basic import env_fallback
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import MASK, ZtpError, ZtpInputError
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import URL_USERINFO as _URL_USERINFO
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_edit as yaml_edit
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files

DEFAULT_TIMEOUT = 300
# Seconds to wait for a remote host to answer (ssh ConnectTimeout and keep-alives, the low-speed limit of http);
# the environment variable or the modules' connect_timeout option overrides it.
DEFAULT_CONNECT_TIMEOUT = 30
CONNECT_TIMEOUT_ENV = "ZTP_GIT_CONNECT_TIMEOUT"
# Tokens shorter than this are masked only where they stand alone (not every such letter of a message).
SHORT_TOKEN = 8
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


class GitError(ZtpError):
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
    target (``yaml_files.write_target``), and Git tracks the link and the target as two files.
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
        if not secret:
            continue
        if len(secret) >= SHORT_TOKEN:
            text = text.replace(secret, MASK)
        else:
            # a short token masked everywhere would mask every such letter of the message: only where it stands alone
            text = re.sub(r"(?<![A-Za-z0-9._~+/=-])%s(?![A-Za-z0-9._~+/=-])" % re.escape(secret), MASK, text)

    def mask_password(match):
        user, sep, _password = match.group(2).partition(":")
        return match.group(1) + (user + ":" + MASK if sep else user) + "@"

    return _URL_USERINFO.sub(mask_password, text)


def connect_timeout_setting(value=None):
    """Seconds to wait for a remote host to answer: ``value``, else ``ZTP_GIT_CONNECT_TIMEOUT``, else 30."""
    field = "connect_timeout"
    if value is None:
        raw = os.environ.get(CONNECT_TIMEOUT_ENV)
        if raw is None or not raw.strip():
            return DEFAULT_CONNECT_TIMEOUT
        field, value = CONNECT_TIMEOUT_ENV, raw
    try:
        seconds = int(str(value).strip())
    except ValueError:
        seconds = 0
    if isinstance(value, bool) or not 1 <= seconds <= 3600:
        raise ZtpInputError(field, value, "a whole number of seconds from 1 to 3600 to wait for the Git remote host to "
                                          "answer (default %d)" % DEFAULT_CONNECT_TIMEOUT)
    return seconds


def remote_host(url):
    """The host of a repository URL (``git.example.com`` of ``git@git.example.com:org/repo.git``), or the URL's path
    for a local repository."""
    if not isinstance(url, str):
        return str(url)
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^/@]*@)?(\[[^\]]*\]|[^/:]*)", url)
    if match:
        return match.group(1) or url
    if _SCP_LIKE.match(url) and "/" not in url.split(":", 1)[0]:
        return url.split(":", 1)[0].rpartition("@")[2]
    return url


def ssh_command(ssh_key_file=None, known_hosts_file=None, accept_new_host_keys=False, connect_timeout=None):
    """Return the ``GIT_SSH_COMMAND`` value for the given key, host-key and timeout options, or None."""
    if not (ssh_key_file or known_hosts_file or accept_new_host_keys or connect_timeout):
        return None
    parts = ["ssh"]
    if connect_timeout:
        # the host must answer (TCP and the ssh banner) within connect_timeout, and keep answering
        parts += ["-o", "ConnectTimeout=%d" % connect_timeout, "-o", "ServerAliveInterval=%d" % connect_timeout,
                  "-o", "ServerAliveCountMax=2"]
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
                 accept_new_host_keys=False, timeout=DEFAULT_TIMEOUT, author_name=None, author_email=None,
                 connect_timeout=None):
        self.cwd = cwd
        self.token = token or None
        self.username = username or "git"
        self.connect_timeout = connect_timeout_setting(connect_timeout)
        self.ssh = ssh_command(ssh_key_file, known_hosts_file, accept_new_host_keys, self.connect_timeout)
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.remote_url = None  # named in the message when a command talking to it times out
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
        # an http(s) remote that sends less than 1 byte/s for connect_timeout seconds is given up
        cmd += ["-c", "http.lowSpeedLimit=1", "-c", "http.lowSpeedTime=%d" % self.connect_timeout]
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
        if args and args[0] in ("clone", "fetch", "push", "ls-remote"):
            self._probe(self.remote_url or _url_argument(args), args[0])
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise GitError("cannot run git: %s" % exc)
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            url = self.remote_url or _url_argument(args)
            if url:
                host = remote_host(url)
                raise GitError("git %s timed out after %s seconds waiting for %s (%s): the host does not answer or "
                               "answers too slowly. Check the URL, that %s is up and reachable from here (DNS, "
                               "firewalls, proxies), then run again; the limits are 'timeout' (%s seconds for the "
                               "command) and connect_timeout (%s seconds for the host to answer, also "
                               "ZTP_GIT_CONNECT_TIMEOUT)" % (args[0], self.timeout, host, self.scrub(scrub(url, [])), host,
                                                             self.timeout, self.connect_timeout), host=host)
            raise GitError("git %s timed out after %s seconds" % (args[0], self.timeout))
        result = GitResult(list(args), proc.returncode, out.decode("utf-8", "replace"),
                           self.scrub(err.decode("utf-8", "replace")))
        result.out = self.scrub(result.out)
        if check and result.rc != 0:
            text = (result.err or result.out).strip()
            url = self.remote_url or _url_argument(args)
            if url and re.search(r"timed out|Operation too slow|Connection timed out", text):
                host = remote_host(url)
                raise GitError("git %s failed (exit %d): %s. The host %s did not answer within connect_timeout (%s "
                               "seconds): check the URL, that %s is up and reachable from here (DNS, firewalls, "
                               "proxies), then run again; to wait longer set connect_timeout (or "
                               "ZTP_GIT_CONNECT_TIMEOUT)" % (args[0], result.rc, text, host, self.connect_timeout, host),
                               host=host)
            raise GitError("git %s failed (exit %d): %s" % (args[0], result.rc, text))
        return result

    def out(self, *args, **kwargs):
        return self.run(*args, **kwargs).out.strip()

    def _probe(self, url, command):
        """For an http(s) remote: the host must accept a connection (and a TLS handshake) within connect_timeout.
        Git has no setting for that and curl waits 300 seconds, so a host that does not answer is found here; any
        other failure is left to Git to report. Nothing is sent but the handshake; proxies are left alone."""
        match = re.match(r"^(https?)://(?:[^/@]*@)?(\[[^\]]*\]|[^/:]+)(?::([0-9]+))?", url or "")
        if not match or any(os.environ.get(name) for name in ("https_proxy", "HTTPS_PROXY", "http_proxy",
                                                              "HTTP_PROXY", "all_proxy", "ALL_PROXY")):
            return
        scheme, host, port = match.group(1), match.group(2).strip("[]"), match.group(3)
        port = int(port) if port else (443 if scheme == "https" else 80)
        if (host, port) in getattr(self, "_probed", set()):
            return
        try:
            sock = socket.create_connection((host, port), timeout=self.connect_timeout)
            try:
                if scheme == "https":
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE  # only whether it answers; Git checks the certificate
                    context.wrap_socket(sock, server_hostname=host).close()
            finally:
                sock.close()
        except socket.timeout:
            raise GitError("git %s failed: the host %s did not answer within connect_timeout (%s seconds) at %s "
                           "port %d: check the URL, that %s is up and reachable from here (DNS, firewalls, proxies), "
                           "then run again; to wait longer set connect_timeout (or ZTP_GIT_CONNECT_TIMEOUT)"
                           % (command, host, self.connect_timeout, scheme, port, host), host=host)
        except (OSError, ssl.SSLError):
            return
        self._probed = getattr(self, "_probed", set()) | set([(host, port)])


def _url_argument(args):
    """The repository URL among the arguments of a clone, fetch, push or ls-remote, if any."""
    if args and args[0] in ("clone", "ls-remote", "fetch", "push") and "--" in args:
        rest = list(args)[list(args).index("--") + 1:]
        if rest and rest[0] != "origin" and ("://" in rest[0] or ":" in rest[0] or os.sep in rest[0]):
            return rest[0]
    return None


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
    """Exclusive lock on a working copy, held by one publish, checkout or file writer at a time (see ``yaml_files.file_lock`` and
    ``yaml_files.checkout_lock``). Writes that a killed run left half done are finished, its temporary files removed."""
    with yaml_files.file_lock(os.path.realpath(repo_dir)):
        if os.path.isdir(os.path.join(repo_dir, ".git")):
            yaml_files.recover_writes(os.path.realpath(repo_dir))
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


def normalize_repo_url(url):
    """A repository URL reduced to what identifies the repository, so that two spellings of one compare equal.

    A local path (``/srv/ztp.git``, ``file:///srv/ztp``, ``~/ztp``) becomes its real path without ``.git``. A remote
    URL loses its scheme, user, ``.git``, trailing slash and default port, and its host is lower case:
    ``https://git@Host/org/repo.git``, ``ssh://git@host:22/org/repo`` and ``git@host:org/repo`` are one repository."""
    url = (url or "").strip().rstrip("/")
    if url.startswith("file://"):
        url = url[len("file://"):]
    if url.startswith(("/", ".", "~")):
        url = os.path.realpath(os.path.expanduser(url))
        return url[:-4] if url.endswith(".git") else url
    if url.endswith(".git"):
        url = url[:-4]
    if "://" in url:
        url = url.split("://", 1)[1]
    elif ":" in url.split("/", 1)[0]:  # scp-like ssh: user@host:path
        url = url.replace(":", "/", 1)
    if "@" in url.split("/", 1)[0]:
        url = url.split("@", 1)[1]
    host, _sep, path = url.partition("/")
    host = host.lower()
    if host.endswith((":22", ":443", ":80")):
        host = host.rsplit(":", 1)[0]
    return host + "/" + path.strip("/") if path else host


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

    git.remote_url = repo
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
    if origin.rc != 0 or normalize_repo_url(origin.out) != normalize_repo_url(repo):
        raise GitError("%s is a working copy of %s, not of %s; remove it or choose another dest"
                       % (dest, local.scrub(origin.out.strip()) or "no 'origin' remote", repo), dest=dest)
    if rebase_in_progress(local):
        raise GitError("a rebase is in progress in %s; finish it (git rebase --continue) or abort it "
                       "(git rebase --abort) first" % dest, dest=dest)

    before = rev(local, "HEAD")
    result["before"] = before
    yaml_files.fault_point("checkout-locked")
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

    if changes and allow_local_changes:
        clash = conflicting_changes(local, changes, local_head or before, remote_head)
        if clash:
            raise GitError(
                "%s has uncommitted changes in %s that conflict with the changes of origin/%s to the same lines, so "
                "allow_local_changes cannot keep them. Nothing was changed: the working copy, its changes and the "
                "branch are as they were. Commit and publish them (ztp_gitops_publish), or move them aside (in %s run "
                "'git stash'), then run this again and re-apply them ('git stash pop') and resolve the conflicts"
                % (dest, ", ".join(clash), branch, dest), dest=dest, local_changes=changes, conflicts=clash)
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
        head = rev(local, "HEAD")
        stash = _set_aside(local)
        merged = local.run("merge", "-q", "--ff-only", tracking, check=False)
        _put_back(local, stash, dest, head)
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


STASH_MESSAGE = "ztp-sno-expand: uncommitted changes kept aside during an update of the branch"


def _changed_paths(changes):
    return [entry[3:] for entry in changes if len(entry) > 3 and entry[2] == " "]


def _blob(git, spec):
    """The text of ``<rev>:<path>`` (``:<path>`` is the index), or None when it does not exist there."""
    result = git.run("cat-file", "-p", spec, check=False)
    return result.out if result.rc == 0 else None


def _merges_cleanly(git, base, mine, theirs):
    """Whether a three-way merge of the texts ``mine`` and ``theirs`` from ``base`` has no conflict."""
    if mine == theirs or theirs == base or mine == base:
        return True
    if None in (base, mine, theirs):
        return False
    folder = tempfile.mkdtemp(prefix="ztp-git-merge-")
    try:
        names = []
        for name, text in (("mine", mine), ("base", base), ("theirs", theirs)):
            names.append(os.path.join(folder, name))
            with open(names[-1], "w", encoding="utf-8") as handle:
                handle.write(text)
        return git.run("merge-file", "-p", "-q", *names, check=False).rc == 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def conflicting_changes(git, changes, base, theirs):
    """The files whose uncommitted changes (staged or not, ``tracked_changes``) would conflict with the change from
    ``base`` to ``theirs``: checked by three-way merges of the texts, without touching the working copy."""
    conflicts = []
    if not base or not theirs or rev(git, theirs) is None:
        return conflicts  # check mode: the remote's commits are not fetched, so this is not known yet
    for path in _changed_paths(changes):
        old = _blob(git, "%s:%s" % (base, path))
        new = _blob(git, "%s:%s" % (theirs, path))
        full = os.path.join(git.cwd, path)
        versions = [_blob(git, ":" + path)]
        if os.path.isfile(full):
            with open(full, "r", encoding="utf-8", errors="replace", newline="") as handle:
                versions.append(handle.read())
        else:
            versions.append(None)
        if not all(_merges_cleanly(git, old, mine, new) for mine in versions):
            conflicts.append(path)
    return conflicts


def _set_aside(git):
    """Stash the uncommitted changes of tracked files (index and work tree); return the stash commit or None."""
    if not tracked_changes(git):
        return None
    # a stash is a commit: give it an identity when the machine's Git has none (it is never pushed)
    identity = {}
    for kind in ("AUTHOR", "COMMITTER"):
        identity["GIT_%s_NAME" % kind] = os.environ.get("GIT_%s_NAME" % kind) or git.author_name or "ztp.sno_expand"
        identity["GIT_%s_EMAIL" % kind] = (os.environ.get("GIT_%s_EMAIL" % kind) or git.author_email
                                           or "ztp-sno-expand@localhost")
    git.run("stash", "push", "-q", "-m", STASH_MESSAGE, env=identity)
    return git.out("rev-parse", "-q", "--verify", "refs/stash")


def _put_back(git, stash, repo_dir, old_head):
    """Apply the stash made by ``_set_aside`` with its index (what was staged stays staged) and drop it. When it
    would conflict with the new HEAD, nothing is applied: the stash stays and ``GitError`` says how to apply it."""
    if stash is None:
        return
    new_head = rev(git, "HEAD")
    changes = ["M  " + p for p in git.out("stash", "show", "--name-only", stash).splitlines()]
    clash = conflicting_changes_of_stash(git, stash, old_head, new_head, changes)
    if not clash:
        if git.run("stash", "apply", "-q", "--index", stash, check=False).rc == 0 or \
                git.run("stash", "apply", "-q", stash, check=False).rc == 0:
            _drop_stash(git, stash)
            return
        git.run("reset", "-q", "--hard", "HEAD", check=False)
    raise GitError("the uncommitted changes of %s (%s) conflict with the change of the remote branch and were not put "
                   "back; they are kept in the stash %s (\"%s\"), nothing of them is lost. To get them back, in %s run "
                   "'git stash pop --index', resolve the conflicts and 'git add' the files"
                   % (repo_dir, ", ".join(clash) or "several files", stash[:12], STASH_MESSAGE, repo_dir),
                   dest=repo_dir, stash=stash, conflicts=clash)


def conflicting_changes_of_stash(git, stash, old_head, new_head, changes):
    clash = []
    for path in _changed_paths(changes):
        old = _blob(git, "%s:%s" % (old_head, path))
        new = _blob(git, "%s:%s" % (new_head, path))
        mine = [_blob(git, "%s:%s" % (stash, path)), _blob(git, "%s^2:%s" % (stash, path))]
        if not all(_merges_cleanly(git, old, m, new) for m in mine):
            clash.append(path)
    return clash


def _drop_stash(git, stash):
    listing = git.out("stash", "list", "--format=%H %gd")
    for line in listing.splitlines():
        sha, _sep, ref = line.partition(" ")
        if sha == stash:
            git.run("stash", "drop", "-q", ref, check=False)
            return


KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def merge_kustomization(base, upstream, ours):
    """Text of ``upstream`` (a kustomization.yaml) with the changes ``ours`` made to ``base``, or None when they cannot
    be combined without a choice.

    Entries that ``ours`` added to or removed from a list of file names (``generators``, ``resources``, ...) are added
    to or removed from upstream's list, which keeps its own additions, order and comments; a key that ``ours`` changed
    otherwise is taken only when upstream left it as it was in ``base``."""
    try:
        docs = [yaml_load.load_documents(text) if text is not None else [{}] for text in (base, upstream, ours)]
    except Exception:  # pylint: disable=broad-except
        return None
    if any(len(d) != 1 or not isinstance(d[0], dict) for d in docs):
        return None
    old, theirs, mine = (yaml_load.plain(d[0]) for d in docs)
    text = upstream
    for key in sorted(set(old) | set(mine), key=str):
        if old.get(key) == mine.get(key):
            continue
        if _file_list(mine.get(key, [])) and _file_list(old.get(key, [])) and _file_list(theirs.get(key, [])):
            added = [e for e in mine.get(key, []) if e not in old.get(key, []) and e not in theirs.get(key, [])]
            removed = [e for e in old.get(key, []) if e not in mine.get(key, [])]
            if key not in theirs:
                if removed or not added:
                    continue
                text = yaml_edit.set_mapping_value(text, [0], key, added)
                continue
            for entry in removed:
                current = yaml_load.plain(yaml_load.load_documents(text)[0])[key]
                if entry in current:
                    text = yaml_edit.remove_sequence_item(text, [0, key], current.index(entry))
            if added:
                text = yaml_edit.append_sequence_items(text, [0, key], added)
        elif theirs.get(key) != old.get(key):
            return None
        elif key not in mine:
            text = yaml_edit.remove_mapping_key(text, [0], key)
        else:
            text = yaml_edit.set_mapping_value(text, [0], key, mine[key])
    return text


def _file_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _merge_kustomizations(local, conflicts):
    """During a stopped rebase: resolve each conflicted kustomization file with ``merge_kustomization`` and stage it.
    False (nothing resolved) when any conflict is in another file or cannot be combined."""
    merged = {}
    for path in conflicts:
        if os.path.basename(path) not in KUSTOMIZATION_NAMES:
            return False
        stages = []
        for stage in (1, 2, 3):  # base, the upstream being rebased onto, the local commit being replayed
            shown = local.run("show", ":%d:%s" % (stage, path), check=False)
            stages.append(shown.out if shown.rc == 0 else None)
        if stages[1] is None or stages[2] is None:
            return False
        try:
            text = merge_kustomization(*stages)
        except yaml_edit.YamlEditError:
            return False
        if text is None:
            return False
        merged[path] = text
    for path, text in merged.items():
        yaml_files.atomic_write(os.path.join(local.cwd, path), text)
        local.run("add", "--", path)
    return True


def _rebase(local, upstream, repo_dir, branch):
    """Rebase the current branch onto ``upstream``; on a conflict abort and raise ``GitError``. Conflicts in
    kustomization files that ``merge_kustomization`` can combine are resolved instead.

    Uncommitted changes of tracked files are set aside and put back afterwards with the index, so that a staged
    change stays staged (``git rebase --autostash`` would unstage it)."""
    head = rev(local, "HEAD")
    stash = _set_aside(local)
    rebased = local.run("rebase", "-q", upstream, check=False)
    conflicts = local.out("diff", "--name-only", "--diff-filter=U").splitlines() if rebased.rc else []
    while rebased.rc and conflicts and _merge_kustomizations(local, conflicts):
        # runs that edit disjoint parts of a fleet (AWX job slices) list their files in the same kustomization.yaml
        rebased = local.run("rebase", "--continue", check=False, env={"GIT_EDITOR": "true"})
        conflicts = local.out("diff", "--name-only", "--diff-filter=U").splitlines() if rebased.rc else []
    if rebased.rc == 0:
        _put_back(local, stash, repo_dir, head)
        return
    local.run("rebase", "--abort", check=False)
    _put_back(local, stash, repo_dir, head)
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
        if yaml_files.is_temporary_name(path):
            continue  # a writer's temporary file (of a run that was killed), never published
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


def _hook_declined(text):
    return "hook declined" in text or "[remote rejected]" in text or "\tremote rejected" in text


def _hook_message(text):
    """The lines the server's hook printed (``remote: ...``), else the rejection line."""
    lines = [line[len("remote:"):].strip() for line in text.splitlines() if line.startswith("remote:")]
    lines = [line for line in lines if line]
    if lines:
        return " / ".join(lines)
    rejected = [line.strip() for line in text.splitlines() if "rejected" in line or "declined" in line]
    return "; ".join(rejected) or text.strip()


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

    if push and git.remote_url is None:
        git.remote_url = git.out("remote", "get-url", "--", remote)
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
        if not retryable and _hook_declined(last):
            raise GitError("the remote refused the push of %s to branch '%s' of remote '%s': a hook on the Git server "
                           "declined it, saying: %s. The local commit is kept on branch '%s' of %s. Running again "
                           "unchanged will be refused the same way: fix what the hook asks for (ask the owners of "
                           "the repository if unclear), then publish again"
                           % (result["commit"][:12], branch, remote, _hook_message(last), branch, toplevel),
                           commit=result["commit"], attempts=attempts, files=files, hook_declined=True)
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


def unmask_short_token(module):
    """Ansible masks every occurrence of a ``no_log`` value in a module's result: a token of one or a few characters
    would turn every such letter of Git's messages into ``********``. Such a token is taken out of that masking
    (``scrub`` masks it where it stands alone) and out of the module's parameters, so that it is never shown."""
    token = module.params.get("token")
    if token and len(token) < SHORT_TOKEN:
        module.no_log_values.discard(token)
        module.params["token"] = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


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
