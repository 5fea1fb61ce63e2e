"""testhub/build-generators.sh reports a failed build so that the test suite fails with the build's error.

A fake shared folder with a generator source that does not compile, and a private cache: the script exits 1 and
prints the compiler's message, ``status.json`` keeps it, and ``testhub.generators.ensure_built()`` raises it (the
generator tests turn that into a failure, never a skip). Without the sources the script exits 3.

Run: python -m pytest -q tests/integration_py/test_generators_build.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from testhub import generators as gen  # noqa: E402  pylint: disable=wrong-import-position

SCRIPT = os.path.join(REPO, "testhub", "build-generators.sh")


def _broken_sources(root) -> str:
    shared = root / "shared"
    main = shared / "generators" / "cnf-features-deploy" / "ztp" / "siteconfig-generator" / "main.go"
    main.parent.mkdir(parents=True)
    (shared / "generators" / "cnf-features-deploy" / "go.mod").write_text("module example.invalid/cnf\n\ngo 1.24\n")
    main.write_text("package main\n\nfunc main() { notDefinedAnywhere() }\n")
    return str(shared)


def test_failed_build_is_reported(tmp_path, monkeypatch):
    shared, cache = _broken_sources(tmp_path), str(tmp_path / "cache")
    env = dict(os.environ, ZTP_SHARED_DIR=shared, ZTP_CACHE=cache)
    proc = subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 1
    assert "building cnf failed" in proc.stderr and "undefined: notDefinedAnywhere" in proc.stderr
    with open(os.path.join(cache, "generators", "status.json"), encoding="utf-8") as handle:
        state = json.load(handle)
    assert state["built"] is False and "undefined: notDefinedAnywhere" in state["error"]
    monkeypatch.setenv("ZTP_SHARED_DIR", shared)
    monkeypatch.setenv("ZTP_CACHE", cache)
    assert gen.sources_present()
    with pytest.raises(gen.GeneratorUnavailable, match="notDefinedAnywhere"):
        gen.ensure_built()
    with pytest.raises(gen.GeneratorUnavailable, match="notDefinedAnywhere"):
        gen.binary("siteconfig-generator")


def test_missing_sources_exit_3(tmp_path):
    env = dict(os.environ, ZTP_SHARED_DIR=str(tmp_path / "none"), ZTP_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3 and "no generator sources" in proc.stderr
