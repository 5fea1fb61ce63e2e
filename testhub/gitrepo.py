"""The GitOps repository of the test hub: a bare repository seeded from `testhub/gitops-seed/`, served by `git daemon`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEED_DIR = os.path.join(HERE, "gitops-seed")
REPO_NAME = "ztp-gitops.git"
BRANCH = "main"

# Fixed identity and date: the same seed content always gives the same commit id.
SEED_ENV = {
    "GIT_AUTHOR_NAME": "ZTP GitOps",
    "GIT_AUTHOR_EMAIL": "ztp-gitops@example.com",
    "GIT_AUTHOR_DATE": "2025-01-15T09:00:00+00:00",
    "GIT_COMMITTER_NAME": "ZTP GitOps",
    "GIT_COMMITTER_EMAIL": "ztp-gitops@example.com",
    "GIT_COMMITTER_DATE": "2025-01-15T09:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}
SEED_MESSAGE = "Initial ZTP GitOps content: sites sno-a, sno-b, sno-c and their policies\n"


def _git(*args: str, cwd: str | None = None, extra_env: dict | None = None) -> str:
    env = dict(os.environ)
    env.update(extra_env or {})
    proc = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=" + BRANCH, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def bare_path(git_dir: str) -> str:
    return os.path.join(git_dir, REPO_NAME)


def seed(git_dir: str) -> bool:
    """Create `<git_dir>/ztp-gitops.git` from the seed folder unless it exists. Returns True when created."""
    bare = bare_path(git_dir)
    if os.path.exists(os.path.join(bare, "HEAD")):
        return False
    os.makedirs(git_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=git_dir, prefix=".seed-") as work:
        tree = os.path.join(work, "tree")
        shutil.copytree(SEED_DIR, tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for root, dirs, files in os.walk(tree):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        env = dict(SEED_ENV)
        _git("init", "-q", "-b", BRANCH, cwd=tree, extra_env=env)
        _git("add", "-A", cwd=tree, extra_env=env)
        _git("commit", "-q", "--no-verify", "-m", SEED_MESSAGE, cwd=tree, extra_env=env)
        tmp_bare = os.path.join(work, REPO_NAME)
        _git("clone", "-q", "--bare", tree, tmp_bare, extra_env=env)
        # Pushes from several checkouts in parallel must never rewrite history.
        _git("config", "receive.denyNonFastForwards", "true", cwd=tmp_bare)
        _git("config", "receive.denyDeletes", "true", cwd=tmp_bare)
        os.replace(tmp_bare, bare)
    return True


def head_commit(git_dir: str) -> str:
    return _git("rev-parse", BRANCH, cwd=bare_path(git_dir)).strip()


def daemon_argv(git_dir: str, port: int) -> list[str]:
    return ["git", "daemon", "--reuseaddr", f"--base-path={git_dir}", "--export-all", "--enable=receive-pack",
            "--listen=127.0.0.1", f"--port={port}", "--informative-errors", git_dir]


def url(port: int) -> str:
    return f"git://127.0.0.1:{port}/{REPO_NAME}"


def reachable(port: int) -> bool:
    """True when `git ls-remote` through the daemon lists the branch."""
    try:
        out = _git("ls-remote", url(port), BRANCH)
    except RuntimeError:
        return False
    return bool(out.strip())
