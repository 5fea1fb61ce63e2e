# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile Git situations (issue 15), with real Git remotes and real module processes: races between an edit and a
checkout, kills at the N-th rename, remotes that do not answer, server hooks that refuse a push, staged changes
across a rebase and uncommitted changes that conflict with the remote.

Each refusal leaves the files byte-identical and names the file or host, the field, the value and the fix; no
secret appears in any output, in Git history or in diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO_ROOT, ".collections")
MODULES = "ansible_collections.ztp.sno_expand.plugins.modules."
FAULT = "ZTP_SNO_EXPAND_TEST_FAULT"
TOKEN = "glpat-HOSTILE0token0never0shown0abc987"
SECRET = "S3cr3t-Pa55w0rd-hostile"

SITE = """\
apiVersion: ran.openshift.io/v1
kind: SiteConfig
metadata:
  name: sites
  namespace: sites
spec:
  clusters:
  - clusterName: sno-a   # the SNO
    nodes:
    - hostName: sno-a-master
      role: master
      bmcAddress: ipmi://10.0.0.10
      bmcCredentialsName:
        name: sno-a-master-bmc
      bootMACAddress: "AA:BB:CC:00:00:01"
  - clusterName: sno-b
    nodes:
    - hostName: sno-b-master
      role: master
      bmcAddress: ipmi://10.0.0.20
      bmcCredentialsName:
        name: sno-b-master-bmc
      bootMACAddress: "AA:BB:CC:00:00:03"
"""
WORKER = {
    "hostName": "sno-a-worker-0",
    "role": "worker",
    "bmcAddress": "redfish-virtualmedia+https://10.0.0.11/redfish/v1/Systems/1",
    "bmcCredentialsName": {"name": "sno-a-worker-0-bmc"},
    "bootMACAddress": "AA:BB:CC:00:00:02",
}
LINES = "".join("line%d: value%d\n" % (i, i) for i in range(1, 11))


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def git(cwd, *args, **kwargs):
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME="Colleague",
               GIT_AUTHOR_EMAIL="colleague@example.com", GIT_COMMITTER_NAME="Colleague",
               GIT_COMMITTER_EMAIL="colleague@example.com")
    result = subprocess.run(["git"] + list(args), cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if result.returncode != 0 and kwargs.get("check", True):
        raise AssertionError("git %s: %s" % (" ".join(args), result.stderr))
    return result.stdout.rstrip("\n")


def write(folder, name, text):
    path = os.path.join(str(folder), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def read(folder, name):
    with open(os.path.join(str(folder), name), "rb") as handle:
        return handle.read()


def make_remote(base, files=None):
    """A bare repository seeded with ``files`` ({name: text}); returns its path."""
    bare = os.path.join(str(base), "gitops.git")
    git(base, "init", "-q", "--bare", "-b", "main", bare)
    seed = bare + ".seed"
    git(base, "clone", "-q", bare, seed)
    for name, text in (files or {"clusters/site.yaml": SITE, "clusters/sno-a.yaml": LINES,
                                 "clusters/sno-b.yaml": LINES, "kustomization.yaml": "resources: []\n"}).items():
        write(seed, name, text)
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "main")
    return bare


def colleague_pushes(bare, tmp_path, name, text, message="colleague's change"):
    """Another person clones the remote, changes ``name`` and pushes."""
    clone = os.path.join(str(tmp_path), "colleague-%s" % uuid.uuid4().hex[:8])
    git(tmp_path, "clone", "-q", bare, clone)
    write(clone, name, text)
    git(clone, "commit", "-q", "-am", message)
    git(clone, "push", "-q", "origin", "main")
    return git(clone, "rev-parse", "HEAD")


def module_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([COLLECTIONS] + [p for p in [env.get("PYTHONPATH")] if p])
    for name in ("ZTP_GIT_TOKEN", FAULT, "ZTP_LOCK_TIMEOUT", "ZTP_GIT_CONNECT_TIMEOUT"):
        env.pop(name, None)
    env.update(extra or {})
    return env


def start_module(name, args, tmp_path, env=None):
    argfile = os.path.join(str(tmp_path), "args-%s.json" % uuid.uuid4().hex)
    with open(argfile, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    return subprocess.Popen([sys.executable, "-m", MODULES + name, argfile], env=module_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def finish_module(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    try:
        result = json.loads(out)
    except ValueError:
        raise AssertionError("module printed no JSON (exit %s):\n%s\n%s" % (proc.returncode, out, err))
    return result, out + err


def run_module(name, args, tmp_path, env=None, timeout=120):
    return finish_module(start_module(name, args, tmp_path, env), timeout)


def checkout(bare, dest, tmp_path, **extra):
    result, raw = run_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest), **extra), tmp_path)
    assert not result.get("failed"), raw
    return result


def publish(dest, paths, tmp_path, **extra):
    args = dict(repo_dir=str(dest), paths=paths, commit_message="add workers", author_name="ZTP",
                author_email="ztp@example.com")
    args.update(extra)
    return run_module("ztp_gitops_publish", args, tmp_path)


def wait_for(path, proc=None, timeout=60):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            raise AssertionError("the process ended before reaching %s: %s" % (path, proc.communicate()))
        if time.monotonic() > deadline:
            raise AssertionError("%s did not appear" % path)
        time.sleep(0.05)


def stashes(dest):
    return git(dest, "stash", "list")


def work_tree_bytes(dest):
    """{path: bytes} of the files of the working copy (without .git)."""
    found = {}
    for root, dirs, names in os.walk(str(dest)):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(dest))] = handle.read()
    return found


def temporaries(dest):
    return sorted(p for p in work_tree_bytes(dest) if ".ztp-tmp-" in p)


@pytest.fixture
def repo(tmp_path):
    """(bare remote, working copy checked out by the module)."""
    bare = make_remote(tmp_path)
    dest = tmp_path / "work"
    checkout(bare, dest, tmp_path)
    return bare, dest


def add_worker_args(dest, **node_changes):
    node = dict(WORKER)
    node.update(node_changes)
    return dict(path=str(dest / "clusters" / "site.yaml"), cluster="sno-a", node=node)


# --------------------------------------------------------------------------------------------------
# 2. an edit and a checkout of the same working copy, in two processes, never interleave
# --------------------------------------------------------------------------------------------------

def test_checkout_waits_for_an_edit_in_progress(repo, tmp_path):
    """The edit has read the file (before the colleague's change is merged) and is planning: the checkout must wait
    for it, or the edit, written after the merge, reverts the colleague's change."""
    bare, dest = repo
    colleague_text = SITE.replace("name: sno-b-master-bmc", "name: sno-b-master-bmc-rotated")
    colleague_pushes(bare, tmp_path, "clusters/site.yaml", colleague_text)
    release = str(tmp_path / "release-edit")
    editor = start_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path,
                          env={FAULT: "edit-read:1:wait=%s" % release})
    wait_for(release + ".reached", editor)
    checker = start_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest), allow_local_changes=True), tmp_path)
    time.sleep(1.5)
    assert checker.poll() is None, "the checkout did not wait for the edit holding the working copy's lock"
    write(tmp_path, "release-edit", "")
    edited, raw_edit = finish_module(editor)
    assert not edited.get("failed") and edited["changed"], raw_edit
    checked, raw_checkout = finish_module(checker)
    assert not checked.get("failed"), raw_checkout
    text = read(dest, "clusters/site.yaml").decode()
    assert "sno-b-master-bmc-rotated" in text and "sno-a-worker-0" in text
    assert stashes(dest) == "" and "<<<<<<<" not in text
    published, raw = publish(dest, ["clusters/site.yaml"], tmp_path)
    assert not published.get("failed") and published["pushed"], raw
    remote_text = git(bare, "show", "main:clusters/site.yaml")
    assert "sno-b-master-bmc-rotated" in remote_text and "sno-a-worker-0" in remote_text


def test_edit_waits_for_a_checkout_in_progress(repo, tmp_path):
    bare, dest = repo
    colleague_text = SITE.replace("# the SNO", "# the SNO, rack 7")
    colleague_pushes(bare, tmp_path, "clusters/site.yaml", colleague_text)
    release = str(tmp_path / "release-checkout")
    checker = start_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest)), tmp_path,
                           env={FAULT: "checkout-locked:1:wait=%s" % release})
    wait_for(release + ".reached", checker)
    editor = start_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path)
    time.sleep(1.5)
    assert editor.poll() is None, "the edit did not wait for the checkout holding the working copy's lock"
    write(tmp_path, "release-checkout", "")
    checked, raw_checkout = finish_module(checker)
    assert not checked.get("failed") and checked["changed"], raw_checkout
    edited, raw_edit = finish_module(editor)
    assert not edited.get("failed") and edited["changed"], raw_edit
    text = read(dest, "clusters/site.yaml").decode()
    assert "# the SNO, rack 7" in text and "sno-a-worker-0" in text


def test_edit_gives_up_on_a_checkout_that_hangs(repo, tmp_path):
    bare, dest = repo
    release = str(tmp_path / "release-hang")
    checker = start_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest)), tmp_path,
                           env={FAULT: "checkout-locked:1:wait=%s" % release})
    try:
        wait_for(release + ".reached", checker)
        before = work_tree_bytes(dest)
        edited, raw = run_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path, env={"ZTP_LOCK_TIMEOUT": "1"})
        assert edited["failed"]
        msg = edited["msg"]
        assert str(dest) in msg and "process %d" % checker.pid in msg and "ZTP_LOCK_TIMEOUT" in msg
        assert "nothing was written" in msg
        assert work_tree_bytes(dest) == before
    finally:
        write(tmp_path, "release-hang", "")
        finish_module(checker)


# --------------------------------------------------------------------------------------------------
# 14. kills: SIGKILL at the N-th rename of real processes
# --------------------------------------------------------------------------------------------------

def test_kill_at_the_rename_of_an_edit_leaves_the_file_and_no_published_temporary(repo, tmp_path):
    bare, dest = repo
    before = work_tree_bytes(dest)
    proc = start_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path, env={FAULT: "rename:1:kill"})
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    left = temporaries(dest)
    assert len(left) == 1 and left[0].startswith(os.path.join("clusters", ".site.yaml.ztp-tmp-"))
    assert read(dest, "clusters/site.yaml") == before["clusters/site.yaml"]
    # a publish of the folder takes no temporary file (and removes it)
    published, raw = publish(dest, ["clusters"], tmp_path)
    assert not published.get("failed") and not published["changed"], raw
    assert temporaries(dest) == []
    assert ".ztp-tmp-" not in git(dest, "ls-files") and ".ztp-tmp-" not in git(bare, "log", "--all", "--stat")
    # the next run makes the edit
    edited, raw = run_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path)
    assert not edited.get("failed") and edited["changed"], raw


def test_left_over_temporary_is_removed_by_the_next_edit(repo, tmp_path):
    bare, dest = repo
    proc = start_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path, env={FAULT: "rename:1:kill"})
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL and len(temporaries(dest)) == 1
    edited, raw = run_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path)
    assert not edited.get("failed") and edited["changed"], raw
    assert temporaries(dest) == []
    assert b"sno-a-worker-0" in read(dest, "clusters/site.yaml")


WRITE_BATCH = textwrap.dedent("""\
    import json, sys
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
    texts = json.loads(sys.argv[1])
    with yaml_files.checkout_lock(next(iter(texts))):
        yaml_files.write_files(texts)
    print('written', flush=True)
""")

KUSTOMIZATION_AFTER = "resources: []\ngenerators:\n- policies/sno-a-workers.yaml\n- policies/sno-b-workers.yaml\n"


def batch_texts(dest):
    return {str(dest / "policies" / "sno-a-workers.yaml"): "kind: PolicyGenTemplate  # sno-a\n",
            str(dest / "policies" / "sno-b-workers.yaml"): "kind: PolicyGenTemplate  # sno-b\n",
            str(dest / "kustomization.yaml"): KUSTOMIZATION_AFTER}


def run_write_batch(dest, fault):
    env = module_env({FAULT: fault} if fault else None)
    os.makedirs(str(dest / "policies"), exist_ok=True)
    return subprocess.run([sys.executable, "-c", WRITE_BATCH, json.dumps(batch_texts(dest))], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                          check=False)


def assert_batch_complete(dest):
    for path, text in batch_texts(dest).items():
        with open(path) as handle:
            assert handle.read() == text
    assert temporaries(dest) == []


@pytest.mark.parametrize("n", [1, 2, 3])
def test_kill_at_the_nth_rename_of_a_batch_is_finished_by_the_next_run(repo, tmp_path, n):
    bare, dest = repo
    killed = run_write_batch(dest, "rename:%d:kill" % n)
    assert killed.returncode == -signal.SIGKILL
    # what the killed run left: never a kustomization naming a file that does not exist (new files go first)
    kustomization = read(dest, "kustomization.yaml").decode()
    for line in kustomization.splitlines():
        if line.startswith("- "):
            assert os.path.exists(str(dest / line[2:]))
    # the next run (here: a checkout) finishes the renames before it does anything else
    checkout(bare, dest, tmp_path, allow_local_changes=True)
    assert_batch_complete(dest)
    published, raw = publish(dest, ["kustomization.yaml", "policies"], tmp_path)
    assert not published.get("failed") and published["pushed"], raw
    assert sorted(published["files"]) == ["kustomization.yaml", "policies/sno-a-workers.yaml",
                                          "policies/sno-b-workers.yaml"]


def test_kill_before_the_renames_of_a_batch_changes_nothing(repo, tmp_path):
    bare, dest = repo
    before = work_tree_bytes(dest)
    killed = run_write_batch(dest, "temporaries-written:1:kill")
    assert killed.returncode == -signal.SIGKILL
    assert len(temporaries(dest)) == 3
    published, raw = publish(dest, ["kustomization.yaml", "policies"], tmp_path)
    assert not published.get("failed") and not published["changed"], raw
    assert temporaries(dest) == [] and work_tree_bytes(dest) == before


def test_kill_at_the_rename_then_an_edit_finishes_the_batch(repo, tmp_path):
    bare, dest = repo
    killed = run_write_batch(dest, "rename:2:kill")
    assert killed.returncode == -signal.SIGKILL
    edited, raw = run_module("ztp_siteconfig_node", add_worker_args(dest), tmp_path)
    assert not edited.get("failed") and edited["changed"], raw
    assert_batch_complete(dest)


def test_batch_without_a_kill_writes_everything(repo, tmp_path):
    bare, dest = repo
    done = run_write_batch(dest, None)
    assert done.returncode == 0 and "written" in done.stdout, done.stderr
    assert_batch_complete(dest)


# --------------------------------------------------------------------------------------------------
# 11. remotes that do not answer: short, settable connection timeouts; the message names the host
# --------------------------------------------------------------------------------------------------

@pytest.fixture
def silent_server():
    """A TCP server on loopback that accepts connections and never says a word."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except socket.timeout:
                continue
            except OSError:
                return
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


@pytest.mark.parametrize("scheme", ["ssh", "http", "https"])
def test_a_host_that_does_not_answer_fails_fast_naming_it(tmp_path, silent_server, scheme):
    url = {"ssh": "ssh://git@127.0.0.1:%d/org/gitops.git", "http": "http://127.0.0.1:%d/org/gitops.git",
           "https": "https://127.0.0.1:%d/org/gitops.git"}[scheme] % silent_server
    started = time.monotonic()
    result, raw = run_module("ztp_gitops_checkout", dict(repo=url, dest=str(tmp_path / "co"), connect_timeout=2,
                                                         token=TOKEN if scheme != "ssh" else None), tmp_path)
    took = time.monotonic() - started
    assert result["failed"]
    assert took < 30, "waited %d seconds" % took
    msg = result["msg"]
    assert "127.0.0.1" in msg and "did not answer within connect_timeout (2 seconds)" in msg
    assert "check the URL" in msg and "connect_timeout" in msg
    assert TOKEN not in raw
    assert not os.path.exists(str(tmp_path / "co")) or not os.listdir(str(tmp_path / "co"))


def test_a_git_protocol_host_that_does_not_answer_hits_the_command_timeout(tmp_path, silent_server):
    url = "git://127.0.0.1:%d/gitops.git" % silent_server
    started = time.monotonic()
    result, raw = run_module("ztp_gitops_checkout", dict(repo=url, dest=str(tmp_path / "co"), timeout=3), tmp_path)
    assert result["failed"] and time.monotonic() - started < 30
    msg = result["msg"]
    assert "git clone timed out after 3 seconds waiting for 127.0.0.1" in msg
    assert "'timeout' (3 seconds" in msg and "connect_timeout" in msg


def test_connect_timeout_from_the_environment(tmp_path, silent_server):
    url = "ssh://git@127.0.0.1:%d/org/gitops.git" % silent_server
    result, raw = run_module("ztp_gitops_checkout", dict(repo=url, dest=str(tmp_path / "co")), tmp_path,
                             env={"ZTP_GIT_CONNECT_TIMEOUT": "1"})
    assert result["failed"] and "within connect_timeout (1 seconds)" in result["msg"], raw


@pytest.mark.parametrize("module", ["ztp_gitops_checkout", "ztp_gitops_publish"])
@pytest.mark.parametrize("value", [0, -5, 99999])
def test_connect_timeout_out_of_range_is_refused(repo, tmp_path, module, value):
    bare, dest = repo
    before = work_tree_bytes(dest)
    args = dict(repo=bare, dest=str(dest), connect_timeout=value) if module == "ztp_gitops_checkout" else dict(
        repo_dir=str(dest), paths=["clusters"], commit_message="x", connect_timeout=value)
    result, raw = run_module(module, args, tmp_path)
    assert result["failed"]
    assert "connect_timeout" in result["msg"] and repr(value) in result["msg"]
    assert "whole number of seconds from 1 to 3600" in result["msg"]
    assert work_tree_bytes(dest) == before


# --------------------------------------------------------------------------------------------------
# 19. a push refused by a hook of the server: say so, with what the hook said
# --------------------------------------------------------------------------------------------------

HOOK = """#!/bin/sh
echo "GL-HOOK-ERR: commit messages must name a ticket (RAN-1234: ...)" >&2
exit 1
"""


def test_push_refused_by_a_server_hook_names_the_hook_and_its_message(repo, tmp_path):
    bare, dest = repo
    hook = os.path.join(bare, "hooks", "pre-receive")
    with open(hook, "w") as handle:
        handle.write(HOOK)
    os.chmod(hook, 0o755)
    write(dest, "clusters/sno-a.yaml", LINES + "line11: value11\n")
    published, raw = publish(dest, ["clusters/sno-a.yaml"], tmp_path, token=TOKEN)
    assert published["failed"]
    msg = published["msg"]
    assert "a hook on the Git server declined it" in msg
    assert "GL-HOOK-ERR: commit messages must name a ticket (RAN-1234: ...)" in msg
    assert "fix what the hook asks for" in msg and "branch 'main'" in msg
    assert "once the remote is reachable" not in msg
    assert published["hook_declined"] is True and published["attempts"] == 1
    assert TOKEN not in raw
    # the local commit is kept
    assert git(dest, "log", "-1", "--format=%s") == "add workers"
    assert git(bare, "log", "-1", "--format=%s", "main") == "seed"


# --------------------------------------------------------------------------------------------------
# 18. a staged, unrelated change stays staged across the rebase of a publish
# --------------------------------------------------------------------------------------------------

def test_staged_change_stays_staged_after_the_rebase_of_a_publish(repo, tmp_path):
    bare, dest = repo
    write(dest, "clusters/sno-b.yaml", LINES.replace("value3", "staged3"))
    git(dest, "add", "clusters/sno-b.yaml")
    write(dest, "clusters/sno-b.yaml", LINES.replace("value3", "staged3").replace("value9", "unstaged9"))
    write(dest, "clusters/sno-a.yaml", LINES + "line11: ours\n")
    colleague_pushes(bare, tmp_path, "kustomization.yaml", "resources: [colleague.yaml]\n")
    published, raw = publish(dest, ["clusters/sno-a.yaml"], tmp_path)
    assert not published.get("failed") and published["pushed"] and published["attempts"] == 2, raw
    assert git(dest, "diff", "--cached", "--name-only") == "clusters/sno-b.yaml"
    assert git(dest, "show", ":clusters/sno-b.yaml") + "\n" == LINES.replace("value3", "staged3")
    assert read(dest, "clusters/sno-b.yaml").decode() == LINES.replace("value3", "staged3").replace(
        "value9", "unstaged9")
    assert stashes(dest) == ""
    assert git(bare, "show", "--name-only", "--format=", "main") == "clusters/sno-a.yaml"


def test_staged_change_stays_staged_after_a_checkout_with_local_changes(repo, tmp_path):
    bare, dest = repo
    write(dest, "clusters/sno-b.yaml", LINES.replace("value2", "staged2"))
    git(dest, "add", "clusters/sno-b.yaml")
    colleague_pushes(bare, tmp_path, "clusters/sno-b.yaml", LINES.replace("value8", "colleague8"))
    result = checkout(bare, dest, tmp_path, allow_local_changes=True)
    assert result["changed"]
    assert git(dest, "diff", "--cached", "--name-only") == "clusters/sno-b.yaml"
    assert read(dest, "clusters/sno-b.yaml").decode() == LINES.replace("value2", "staged2").replace(
        "value8", "colleague8")
    assert stashes(dest) == ""


# --------------------------------------------------------------------------------------------------
# 13. allow_local_changes with an uncommitted change that conflicts with the remote: refuse, change nothing
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("staged", [False, True], ids=["unstaged", "staged"])
@pytest.mark.parametrize("ahead", [False, True], ids=["no-local-commit", "local-commit"])
def test_conflicting_local_change_is_refused_and_nothing_changes(repo, tmp_path, staged, ahead):
    bare, dest = repo
    if ahead:
        write(dest, "clusters/sno-b.yaml", LINES + "line11: committed\n")
        git(dest, "commit", "-q", "-am", "local commit")
    write(dest, "clusters/sno-a.yaml", LINES.replace("value5", "mine5"))
    if staged:
        git(dest, "add", "clusters/sno-a.yaml")
    colleague_pushes(bare, tmp_path, "clusters/sno-a.yaml", LINES.replace("value5", "theirs5"))
    head = git(dest, "rev-parse", "HEAD")
    before = work_tree_bytes(dest)
    index_before = git(dest, "diff", "--cached", "--name-only")
    result, raw = run_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest), allow_local_changes=True,
                                                         token=TOKEN), tmp_path)
    assert result["failed"]
    msg = result["msg"]
    assert str(dest) in msg and "clusters/sno-a.yaml" in msg and "conflict" in msg
    assert "allow_local_changes" in msg and "Nothing was changed" in msg
    assert "Commit and publish them" in msg and "git stash" in msg
    assert result["conflicts"] == ["clusters/sno-a.yaml"]
    assert work_tree_bytes(dest) == before
    assert git(dest, "rev-parse", "HEAD") == head and stashes(dest) == ""
    assert git(dest, "diff", "--cached", "--name-only") == index_before
    assert "<<<<<<<" not in read(dest, "clusters/sno-a.yaml").decode()
    assert TOKEN not in raw


def test_non_conflicting_local_change_is_kept(repo, tmp_path):
    bare, dest = repo
    write(dest, "clusters/sno-a.yaml", LINES.replace("value1\n", "mine1\n"))
    colleague_pushes(bare, tmp_path, "clusters/sno-a.yaml", LINES.replace("value9", "theirs9"))
    result = checkout(bare, dest, tmp_path, allow_local_changes=True)
    assert result["changed"]
    assert read(dest, "clusters/sno-a.yaml").decode() == LINES.replace("value1\n", "mine1\n").replace(
        "value9", "theirs9")
    assert stashes(dest) == ""


def test_conflicting_local_change_in_check_mode_changes_nothing(repo, tmp_path):
    bare, dest = repo
    write(dest, "clusters/sno-a.yaml", LINES.replace("value5", "mine5"))
    colleague_pushes(bare, tmp_path, "clusters/sno-a.yaml", LINES.replace("value5", "theirs5"))
    before = work_tree_bytes(dest)
    head = git(dest, "rev-parse", "HEAD")
    args = dict(repo=bare, dest=str(dest), allow_local_changes=True, _ansible_check_mode=True)
    result, raw = run_module("ztp_gitops_checkout", args, tmp_path)
    assert not result.get("failed") and result["changed"], raw
    assert work_tree_bytes(dest) == before and git(dest, "rev-parse", "HEAD") == head and stashes(dest) == ""
    # the real run then refuses, still changing nothing
    result, raw = run_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest), allow_local_changes=True), tmp_path)
    assert result["failed"] and "clusters/sno-a.yaml" in result["msg"], raw
    assert work_tree_bytes(dest) == before and git(dest, "rev-parse", "HEAD") == head


# --------------------------------------------------------------------------------------------------
# 19. a short token does not mask every such letter of Git's messages
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["a", "e", "it", "Z9"])
def test_short_token_does_not_mask_the_letters_of_messages(repo, tmp_path, token):
    bare, dest = repo
    result, raw = run_module("ztp_gitops_checkout", dict(repo=bare, dest=str(dest), branch="no-such-branch",
                                                         token=token), tmp_path)
    assert result["failed"]
    msg = result["msg"]
    assert "git fetch failed (exit 128): fatal: couldn't find remote ref refs/heads/no-such-branch" in msg
    assert "********" not in msg
    assert result["invocation"]["module_args"]["token"] != token
