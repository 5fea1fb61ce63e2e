# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ztp_gitops_checkout and ztp_gitops_publish run as modules against real Git remotes.

Remotes are bare repositories on local disk, served over the Git protocol by ``git daemon`` (push
enabled) where the test says so. The last test runs both modules from ``ansible-playbook`` with 10 forks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import uuid

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover
    BaseHTTPRequestHandler = HTTPServer = None

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO_ROOT, ".collections")
MODULES = "ansible_collections.ztp.sno_expand.plugins.modules."
TOKEN = "glpat-FAKE0token0never0shown0abcdef123456"
BASE_YAML = "".join("line%d: value%d\n" % (i, i) for i in range(1, 11))


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def git(cwd, *args):
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME="Tester",
               GIT_AUTHOR_EMAIL="tester@example.com", GIT_COMMITTER_NAME="Tester",
               GIT_COMMITTER_EMAIL="tester@example.com")
    result = subprocess.run(["git"] + list(args), cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if result.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), result.stderr))
    return result.stdout.rstrip("\n")


def write(repo, name, text):
    path = os.path.join(str(repo), name)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write(text)


def make_remote(base, name="gitops.git"):
    """A bare repository with reflogs on, seeded with one commit; returns its path."""
    bare = os.path.join(str(base), name)
    git(base, "init", "-q", "--bare", "-b", "main", bare)
    git(bare, "config", "core.logAllRefUpdates", "always")
    git(bare, "config", "receive.denyNonFastForwards", "false")
    seed = bare + ".seed"
    git(base, "clone", "-q", bare, seed)
    write(seed, "clusters/sno-a.yaml", BASE_YAML)
    write(seed, "clusters/sno-b.yaml", BASE_YAML)
    write(seed, "kustomization.yaml", "resources: []\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "main")
    return bare


def module_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([COLLECTIONS] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("ZTP_GIT_TOKEN", None)
    env.update(extra or {})
    return env


def start_module(name, args, tmp_path, check_mode=False, diff=False, env=None):
    params = dict(args)
    if check_mode:
        params["_ansible_check_mode"] = True
    if diff:
        params["_ansible_diff"] = True
    argfile = os.path.join(str(tmp_path), "args-%s.json" % uuid.uuid4().hex)
    with open(argfile, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, handle)
    return subprocess.Popen([sys.executable, "-m", MODULES + name, argfile], env=module_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def finish_module(proc):
    out, err = proc.communicate(timeout=300)
    try:
        result = json.loads(out)
    except ValueError:
        raise AssertionError("module printed no JSON:\n%s\n%s" % (out, err))
    return result, out + err


def run_module(name, args, tmp_path, **kwargs):
    return finish_module(start_module(name, args, tmp_path, **kwargs))


def checkout(repo, dest, tmp_path, **extra):
    args = dict(repo=repo, dest=str(dest))
    args.update(extra)
    result, raw = run_module("ztp_gitops_checkout", args, tmp_path)
    assert not result.get("failed"), raw
    return result


def publish_args(repo_dir, paths, message, **extra):
    args = dict(repo_dir=str(repo_dir), paths=paths, commit_message=message, author_name="ZTP",
                author_email="ztp@example.com")
    args.update(extra)
    return args


def assert_linear_fast_forward_history(bare):
    """No merge commits, and every update of main in the remote's reflog was a fast-forward."""
    assert git(bare, "rev-list", "--merges", "main") == ""
    with open(os.path.join(bare, "logs", "refs", "heads", "main")) as handle:
        entries = [line.split()[:2] for line in handle if line.strip()]
    assert entries
    zero = "0" * 40
    for old, new in entries:
        if old != zero:
            subprocess.check_call(["git", "merge-base", "--is-ancestor", old, new], cwd=bare)
    return entries


# --------------------------------------------------------------------------------------------------
# publish over the Git protocol
# --------------------------------------------------------------------------------------------------

def test_publish_commits_exactly_the_given_paths(git_daemon_remote, tmp_path):
    bare = make_remote(git_daemon_remote.base)
    url = git_daemon_remote.url("gitops.git")
    work = tmp_path / "work"
    cloned = checkout(url, work, tmp_path)
    assert cloned["changed"] and cloned["cloned"]

    write(work, "clusters/sno-a.yaml", BASE_YAML + "worker: sno-a-worker-0\n")
    write(work, "clusters/sno-a-workers.yaml", "kind: PolicyGenerator\n")
    write(work, "clusters/sno-b.yaml", BASE_YAML + "dirty: not mine\n")
    args = publish_args(work, ["clusters/sno-a.yaml", str(work / "clusters" / "sno-a-workers.yaml")], "sno-a")
    result, raw = run_module("ztp_gitops_publish", args, tmp_path)
    assert result["changed"] and result["pushed"] and result["attempts"] == 1, raw
    assert result["files"] == ["clusters/sno-a-workers.yaml", "clusters/sno-a.yaml"]
    assert result["commit"] == result["remote_commit"] == git(bare, "rev-parse", "main")
    shown = sorted(git(bare, "show", "--name-status", "--format=", "main").splitlines())
    assert shown == ["A\tclusters/sno-a-workers.yaml", "M\tclusters/sno-a.yaml"]
    assert git(work, "status", "--porcelain") == " M clusters/sno-b.yaml"

    again, raw = run_module("ztp_gitops_publish", args, tmp_path)
    assert not again["changed"] and not again["pushed"] and again["files"] == [], raw
    assert not checkout(url, work, tmp_path, allow_local_changes=True)["changed"]


def test_publish_check_mode_reports_files_and_diff(tmp_path):
    bare = make_remote(tmp_path)
    work = tmp_path / "work"
    checkout(bare, work, tmp_path)
    before = git(bare, "rev-parse", "main")
    write(work, "clusters/sno-a.yaml", BASE_YAML.replace("value4", "worker4"))
    os.remove(str(work / "kustomization.yaml"))
    args = publish_args(work, ["clusters/sno-a.yaml", "kustomization.yaml"], "check")
    result, raw = run_module("ztp_gitops_publish", args, tmp_path, check_mode=True, diff=True)
    assert result["changed"] and not result["pushed"], raw
    assert result["file_status"] == {"clusters/sno-a.yaml": "modified", "kustomization.yaml": "deleted"}
    assert "-line4: value4\n+line4: worker4" in result["diff"]["prepared"]
    assert "deleted file mode" in result["diff"]["prepared"]
    assert git(work, "rev-parse", "HEAD") == before == git(bare, "rev-parse", "main")
    assert git(work, "diff", "--cached", "--name-only") == ""


def test_two_writers_at_the_same_time(git_daemon_remote, tmp_path):
    bare = make_remote(git_daemon_remote.base)
    url = git_daemon_remote.url("gitops.git")
    seed = git(bare, "rev-parse", "main")
    procs = []
    for name in ("one", "two"):
        work = tmp_path / name
        checkout(url, work, tmp_path)
        write(work, "clusters/%s.yaml" % name, "writer: %s\n" % name)
    # Both working copies start from the seed commit: whichever pushes second finds the remote moved.
    for name in ("one", "two"):
        args = publish_args(tmp_path / name, ["clusters/%s.yaml" % name], "writer %s" % name)
        procs.append(start_module("ztp_gitops_publish", args, tmp_path))
    results = [finish_module(proc) for proc in procs]
    for result, raw in results:
        assert result["changed"] and result["pushed"], raw
    assert sorted(r["attempts"] for r, _raw in results)[-1] >= 2

    subjects = git(bare, "log", "--format=%s", "main").splitlines()
    assert sorted(subjects[:2]) == ["writer one", "writer two"] and subjects[2:] == ["seed"]
    entries = assert_linear_fast_forward_history(bare)
    assert [new for _old, new in entries][-1] == git(bare, "rev-parse", "main")
    assert git(bare, "rev-parse", "main~2") == seed
    for name in ("one", "two"):
        assert git(bare, "show", "main:clusters/%s.yaml" % name) == "writer: %s" % name


def test_conflict_in_the_same_lines_keeps_local_commit(git_daemon_remote, tmp_path):
    bare = make_remote(git_daemon_remote.base)
    url = git_daemon_remote.url("gitops.git")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    checkout(url, mine, tmp_path)
    checkout(url, theirs, tmp_path)
    write(theirs, "clusters/sno-a.yaml", BASE_YAML.replace("value6", "theirs6"))
    result, raw = run_module("ztp_gitops_publish", publish_args(theirs, ["clusters/sno-a.yaml"], "theirs"),
                             tmp_path)
    assert result["pushed"], raw
    remote_head = git(bare, "rev-parse", "main")

    write(mine, "clusters/sno-a.yaml", BASE_YAML.replace("value6", "mine6"))
    result, raw = run_module("ztp_gitops_publish", publish_args(mine, ["clusters/sno-a.yaml"], "mine"), tmp_path)
    assert result["failed"], raw
    assert "clusters/sno-a.yaml" in result["msg"] and "same lines" in result["msg"]
    assert "nothing was pushed" in result["msg"] and "git pull --rebase" in result["msg"]
    assert result["conflicts"] == ["clusters/sno-a.yaml"]
    assert git(bare, "rev-parse", "main") == remote_head
    assert git(mine, "log", "-1", "--format=%s", "main") == "mine"
    assert result["commit"] == git(mine, "rev-parse", "main")
    assert git(mine, "status", "--porcelain") == ""
    assert_linear_fast_forward_history(bare)


def test_retries_exhausted_message(tmp_path):
    bare = make_remote(tmp_path)
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    checkout(bare, mine, tmp_path)
    checkout(bare, theirs, tmp_path)
    write(theirs, "clusters/sno-b.yaml", BASE_YAML + "theirs: 1\n")
    assert run_module("ztp_gitops_publish", publish_args(theirs, ["clusters/sno-b.yaml"], "theirs"),
                      tmp_path)[0]["pushed"]
    write(mine, "clusters/sno-a.yaml", BASE_YAML + "mine: 1\n")
    result, raw = run_module("ztp_gitops_publish",
                             publish_args(mine, ["clusters/sno-a.yaml"], "mine", retries=0), tmp_path)
    assert result["failed"] and result["attempts"] == 1, raw
    assert "rejected 1 time(s) because the remote branch kept moving (retries: 0)" in result["msg"]
    assert "run this again" in result["msg"]
    # The next run rebases the kept local commit and pushes it.
    result, raw = run_module("ztp_gitops_publish", publish_args(mine, ["clusters/sno-a.yaml"], "mine"), tmp_path)
    assert result["pushed"] and result["files"] == [], raw
    assert git(bare, "log", "--format=%s", "main").splitlines() == ["mine", "theirs", "seed"]


# --------------------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------------------

class _AuthRecorder(BaseHTTPRequestHandler):
    """Answers every request with 401 and records the Authorization headers it was sent."""

    seen = []

    def do_GET(self):
        auth = self.headers.get("Authorization")
        if auth:
            self.seen.append(auth)
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def auth_recorder():
    server = HTTPServer(("127.0.0.1", 0), _AuthRecorder)
    _AuthRecorder.seen = []
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_token_goes_through_askpass_and_never_into_output(auth_recorder, tmp_path):
    url = "http://127.0.0.1:%d/gitops.git" % auth_recorder.server_address[1]
    result, raw = run_module("ztp_gitops_checkout", dict(repo=url, dest=str(tmp_path / "co"), token=TOKEN,
                                                         username="bot", timeout=60), tmp_path)
    assert result["failed"], raw
    assert TOKEN not in raw
    expected = "Basic " + base64.b64encode(("bot:" + TOKEN).encode()).decode()
    assert expected in _AuthRecorder.seen, "the token did not reach the server through the askpass helper"


def test_token_never_in_output_for_unreachable_https(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = "https://127.0.0.1:%d/x.git" % sock.getsockname()[1]
    sock.close()
    result, raw = run_module("ztp_gitops_checkout", dict(repo=url, dest=str(tmp_path / "co"), timeout=60),
                             tmp_path, env={"ZTP_GIT_TOKEN": TOKEN})
    assert result["failed"] and TOKEN not in raw and TOKEN not in json.dumps(result)

    bare = make_remote(tmp_path)
    work = tmp_path / "work"
    checkout(bare, work, tmp_path)
    git(work, "remote", "set-url", "origin", url)
    write(work, "clusters/sno-a.yaml", BASE_YAML + "x: 1\n")
    for check_mode in (False, True):
        result, raw = run_module("ztp_gitops_publish",
                                 publish_args(work, ["clusters/sno-a.yaml"], "m", token=TOKEN, timeout=60),
                                 tmp_path, check_mode=check_mode, diff=True)
        assert TOKEN not in raw
    assert result["changed"]
    result, raw = run_module("ztp_gitops_publish", publish_args(work, ["clusters/sno-a.yaml"], "m", timeout=60),
                             tmp_path, env={"ZTP_GIT_TOKEN": TOKEN})
    assert result["failed"] and "kept on branch 'main'" in result["msg"], raw
    assert TOKEN not in raw


def test_credentials_in_the_repository_url_never_in_output(tmp_path):
    """The URL is refused, and its token stays out of the result, the message and the module's arguments
    (``invocation``, which Ansible prints at -vvv)."""
    url = "https://oauth2:%s@127.0.0.1:9/x.git" % TOKEN
    result, raw = run_module("ztp_gitops_checkout", dict(repo=url, dest=str(tmp_path / "co"), timeout=60), tmp_path)
    assert result["failed"] and "without a password or token" in result["msg"], raw
    assert TOKEN not in raw and TOKEN not in json.dumps(result)
    assert "oauth2:" in result["invocation"]["module_args"]["repo"]
    assert not os.path.exists(str(tmp_path / "co"))


def test_ssh_key_is_passed_through_git_ssh_command(tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    record = tmp_path / "ssh-args"
    fake_ssh = fake_bin / "ssh"
    fake_ssh.write_text(textwrap.dedent("""\
        #!/bin/sh
        for a in "$@"; do printf '%%s\\n' "$a"; done > %s
        echo "ssh: connect to host 127.0.0.1 port 1: Connection refused" >&2
        exit 255
        """) % record)
    fake_ssh.chmod(0o755)
    key = tmp_path / "keys dir" / "id_ed25519"
    key.parent.mkdir()
    key_text = "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEKEYMATERIAL0123\n-----END OPENSSH PRIVATE KEY-----\n"
    key.write_text(key_text)
    known = tmp_path / "known_hosts"
    known.write_text("")
    env = {"PATH": str(fake_bin) + os.pathsep + os.environ["PATH"]}
    result, raw = run_module("ztp_gitops_checkout",
                             dict(repo="ssh://git@127.0.0.1:1/org/gitops.git", dest=str(tmp_path / "co"),
                                  ssh_key_file=str(key), ssh_known_hosts_file=str(known), timeout=60),
                             tmp_path, env=env)
    assert result["failed"], raw
    args = record.read_text().splitlines()
    assert args[args.index("-i") + 1] == str(key)
    for option in ("IdentitiesOnly=yes", "BatchMode=yes", "UserKnownHostsFile=%s" % known,
                   "StrictHostKeyChecking=yes", "ConnectTimeout=30", "ServerAliveInterval=30"):
        assert args[args.index(option) - 1] == "-o"
    assert "git@127.0.0.1" in args
    assert "FAKEKEYMATERIAL" not in raw and "GIT_SSH_COMMAND" not in raw


# --------------------------------------------------------------------------------------------------
# ansible-playbook with 10 forks
# --------------------------------------------------------------------------------------------------

PLAYBOOK = """\
- name: Every host edits its own file in one shared checkout, one publish for all
  hosts: sno
  gather_facts: false
  tasks:
    - name: Check out the GitOps repository (all forks at once, one clone)
      ztp.sno_expand.ztp_gitops_checkout:
        repo: "{{ gitops_repo }}"
        dest: "{{ gitops_dir }}"
      register: checkout

    - name: Exactly one host cloned
      ansible.builtin.assert:
        that: ansible_play_hosts | map('extract', hostvars, ['checkout', 'cloned']) | select | list | length == 1
      run_once: true

    - name: Write the file of this host
      ansible.builtin.copy:
        dest: "{{ gitops_dir }}/clusters/{{ inventory_hostname }}.yaml"
        content: "cluster: {{ inventory_hostname }}\\n"
        mode: "0644"

    - name: Remember the path
      ansible.builtin.set_fact:
        ztp_changed_paths: ["clusters/{{ inventory_hostname }}.yaml"]

    - name: Publish the files of all hosts in one commit
      ztp.sno_expand.ztp_gitops_publish:
        repo_dir: "{{ gitops_dir }}"
        paths: "{{ ansible_play_hosts | map('extract', hostvars, 'ztp_changed_paths') | flatten }}"
        commit_message: "Batch {{ ansible_play_hosts | length }} clusters"
        author_name: ZTP
        author_email: ztp@example.com
      run_once: true
      register: batch

    - name: Publish again changes nothing
      ztp.sno_expand.ztp_gitops_publish:
        repo_dir: "{{ gitops_dir }}"
        paths: "{{ ansible_play_hosts | map('extract', hostvars, 'ztp_changed_paths') | flatten }}"
        commit_message: "Batch again"
      run_once: true
      register: again

    - name: Check the results
      ansible.builtin.assert:
        that:
          - batch is changed
          - batch.pushed
          - batch.files | length == 10
          - again is not changed
      run_once: true

- name: Every host publishes its own file from the same checkout at the same time
  hosts: sno
  gather_facts: false
  tasks:
    - name: Write a second file of this host
      ansible.builtin.copy:
        dest: "{{ gitops_dir }}/clusters/{{ inventory_hostname }}-node.yaml"
        content: "node: {{ inventory_hostname }}\\n"
        mode: "0644"

    - name: Publish it
      ztp.sno_expand.ztp_gitops_publish:
        repo_dir: "{{ gitops_dir }}"
        paths: ["clusters/{{ inventory_hostname }}-node.yaml"]
        commit_message: "Node of {{ inventory_hostname }}"
"""


def test_playbook_with_ten_forks_publishes_once(tmp_path):
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "ztp", "sno_expand")):
        pytest.skip("%s is missing; run hack/setup.sh" % COLLECTIONS)
    bare = make_remote(tmp_path)
    seed = git(bare, "rev-parse", "main")
    hosts = ["sno-%02d" % i for i in range(10)]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"sno": {
        "hosts": dict((h, {}) for h in hosts),
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "gitops_repo": bare, "gitops_dir": str(tmp_path / "checkout")}}}))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_FORKS="10", ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    env.pop("ZTP_GIT_TOKEN", None)
    proc = subprocess.run([playbook_bin, "-i", str(inventory), "--forks", "10", str(tmp_path / "play.yml")],
                          cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout

    log = git(bare, "log", "--format=%H %s", "%s..main" % seed).splitlines()
    batch = [line.split()[0] for line in log if line.split(" ", 1)[1] == "Batch 10 clusters"]
    assert len(batch) == 1, log
    files = git(bare, "show", "--name-only", "--format=", batch[0]).splitlines()
    assert sorted(files) == sorted("clusters/%s.yaml" % h for h in hosts)
    node_commits = [line for line in log if " Node of " in line]
    assert len(node_commits) == 10 and len(log) == 11
    for line in node_commits:
        host = line.split("Node of ")[1]
        assert git(bare, "show", "--name-only", "--format=", line.split()[0]).splitlines() == [
            "clusters/%s-node.yaml" % host]
    assert_linear_fast_forward_history(bare)
    assert git(tmp_path / "checkout", "status", "--porcelain") == ""


# --------------------------------------------------------------------------------------------------
# a new remote at the same URL (a new test hub, a re-created repository)
# --------------------------------------------------------------------------------------------------

ROLE_PLAYBOOK = """
- name: Check out with the gitops role, change one file, publish it with the role
  hosts: sno
  gather_facts: false
  tasks:
    - name: Check out
      ansible.builtin.include_role:
        name: ztp.sno_expand.gitops

    - name: Change a file
      ansible.builtin.copy:
        dest: "{{ gitops_dir }}/clusters/{{ change }}.yaml"
        content: "change: {{ change }}\\n"
        mode: "0644"

    - name: Publish
      ansible.builtin.include_role:
        name: ztp.sno_expand.gitops
        tasks_from: publish
      vars:
        gitops_paths: ["clusters/{{ change }}.yaml"]
        gitops_message: "{{ change }}"
"""


def run_role_playbook(tmp_path, url, change, env_extra):
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "ztp", "sno_expand")):
        pytest.skip("%s is missing; run hack/setup.sh" % COLLECTIONS)
    inventory = tmp_path / "role-inventory.yml"
    inventory.write_text(json.dumps({"sno": {"hosts": {"sno-a": {}}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "ztp_gitops_repo": url, "ztp_gitops_author_name": "ZTP", "ztp_gitops_author_email": "ztp@example.com"}}}))
    (tmp_path / "role-play.yml").write_text(ROLE_PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_RETRY_FILES_ENABLED="0")
    for name in ("ZTP_GIT_TOKEN", "ZTP_GITOPS_WORKDIR"):
        env.pop(name, None)
    env.update(env_extra)
    return subprocess.run([playbook_bin, "-i", str(inventory), str(tmp_path / "role-play.yml"), "-e", "change=" + change],
                          cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)


def test_new_remote_at_the_same_url_meets_the_old_working_copy(git_daemon_remote, tmp_path):
    """Two test hubs one after the other serve the same URL with the same seed commit: the default working copy
    (keyed by the URL) of the first one must not be taken for the second one's, and when it is, the run says why in
    one line; a working copy per hub (ZTP_GITOPS_WORKDIR, as the test hub's env file sets it) keeps them apart."""
    bare = make_remote(git_daemon_remote.base)
    pristine = os.path.join(str(tmp_path), "pristine.git")
    shutil.copytree(bare, pristine)
    url = git_daemon_remote.url("gitops.git")
    home = {"HOME": str(tmp_path / "home")}

    first = run_role_playbook(tmp_path, url, "first", home)
    assert first.returncode == 0, first.stdout
    assert git(bare, "log", "--format=%s", "main").splitlines() == ["first", "seed"]
    cache = os.path.join(str(tmp_path / "home"), ".cache", "ztp-sno-expand", "gitops")
    (workdir,) = [os.path.join(cache, name) for name in os.listdir(cache)]

    shutil.rmtree(bare)                               # the next hub: a new repository at the same URL
    shutil.copytree(pristine, bare)
    again = run_role_playbook(tmp_path, url, "second", home)
    assert again.returncode != 0
    # The whole message, from what happened to how to recover, is on one line.
    lines = [line for line in again.stdout.splitlines() if "was rewritten or the repository re-created" in line]
    assert lines and all("then run again" in line for line in lines), again.stdout
    assert "remove %s" % workdir in lines[0] and "1 commit(s)" in lines[0] and "first" in lines[0], lines[0]
    assert git(bare, "log", "--format=%s", "main") == "seed"

    per_hub = dict(home, ZTP_GITOPS_WORKDIR=str(tmp_path / "hub-2" / "gitops-work"))
    second = run_role_playbook(tmp_path, url, "second", per_hub)
    assert second.returncode == 0, second.stdout
    assert git(bare, "log", "--format=%s", "main").splitlines() == ["second", "seed"]
    assert os.path.isdir(str(tmp_path / "hub-2" / "gitops-work" / ".git"))
