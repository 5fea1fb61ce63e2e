# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the module-level integration tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import subprocess
import time

import pytest


def free_port():
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class GitDaemonRemote(object):
    """A ``git daemon`` with push enabled, serving bare repositories from ``base``."""

    def __init__(self, base, port):
        self.base = base
        self.port = port

    def url(self, name):
        return "git://127.0.0.1:%d/%s" % (self.port, name)

    def path(self, name):
        return os.path.join(self.base, name)


@pytest.fixture
def git_daemon_remote(tmp_path):
    """Start ``git daemon --enable=receive-pack`` on a free loopback port; stop it at the end."""
    base = tmp_path / "daemon"
    base.mkdir()
    last_error = ""
    for _attempt in range(5):
        port = free_port()
        proc = subprocess.Popen(
            ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", "--base-path=%s" % base,
             "--listen=127.0.0.1", "--port=%d" % port, str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline and proc.poll() is None and not _port_open(port):
            time.sleep(0.05)
        if proc.poll() is None and _port_open(port):
            break
        proc.kill()
        last_error = proc.communicate()[1].decode("utf-8", "replace")
    else:
        pytest.fail("git daemon did not start: %s" % last_error)
    try:
        yield GitDaemonRemote(str(base), port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
