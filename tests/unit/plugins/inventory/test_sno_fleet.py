# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sno_fleet inventory plugin loaded by Ansible's InventoryManager (in process)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.ztp.sno_expand.plugins.inventory import sno_fleet

SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "testhub", "gitops-seed")


def _collections_root():
    """The folder that holds ansible_collections/ (a checkout's .collections, or ansible-test's copy)."""
    path = os.path.abspath(sno_fleet.__file__)
    for _level in range(6):
        path = os.path.dirname(path)
    return path


# Ansible's collection loader must be set up before anything of ansible_collections is imported, which this test
# process has done already: the inventory is read by a fresh Python process with Ansible's InventoryManager.
SCRIPT = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
plugin = inventory_loader.get("ztp.sno_expand.sno_fleet")
if sys.argv[3] == "verify":
    print(json.dumps(plugin.verify_file(sys.argv[2])))
    sys.exit(0)
from ansible.inventory.data import InventoryData
data = InventoryData()
try:
    plugin.parse(data, DataLoader(), sys.argv[2], cache=sys.argv[3] == "cache")
    if getattr(plugin, "_cache", None):
        plugin.update_cache_if_changed()  # as InventoryManager does after each source
except AnsibleError as error:
    sys.stderr.write("ERROR %s: %s" % (type(error).__name__, error))
    sys.exit(3)
groups = dict((n, sorted(h.name for h in g.get_hosts())) for n, g in data.groups.items())
hosts = dict((n, h.get_vars()) for n, h in data.hosts.items())
print(json.dumps({"groups": groups, "hosts": hosts}, default=str))
"""


def _run(path, mode):
    env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="auto")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, _collections_root(), str(path), mode], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, check=False, timeout=300)
    if proc.returncode == 3:
        raise AssertionError(proc.stderr)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Parsed(object):
    """The inventory one parse of the plugin made."""

    def __init__(self, result):
        self.result = result

    def hosts(self):
        return sorted(self.result["hosts"])

    def host_vars(self, name):
        return self.result["hosts"][name]

    def groups(self):
        return self.result["groups"]


def _inventory(fleet_dir, config, name="fleet.sno_fleet.yml", cache=True):
    path = fleet_dir / name
    path.write_text("plugin: ztp.sno_expand.sno_fleet\nrepo: repo\n" + config, encoding="utf-8")
    return Parsed(_run(path, "cache" if cache else "nocache"))


@pytest.fixture
def fleet_dir(tmp_path):
    shutil.copytree(SEED, str(tmp_path / "repo"))
    (tmp_path / "workers.yml").write_text(
        "clusters:\n  sno-b:\n    - {hostName: sno-b-worker-0.ran.example.com, credentials: sno-b-w0, bootMACAddress: 'b4:96:91:5c:20:20'}\n",
        encoding="utf-8")
    return tmp_path


def test_verify_file_wants_the_plugin_suffix(tmp_path):
    for name, expected in (("x.sno_fleet.yml", True), ("sno_fleet.yaml", True), ("hosts.yml", False), ("x.k8s.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: ztp.sno_expand.sno_fleet\n", encoding="utf-8")
        assert _run(path, "verify") is expected, name


def test_hosts_groups_and_constructed_options(fleet_dir):
    inventory = _inventory(fleet_dir, """\
workers_file: workers.yml
compose:
  ansible_connection: "'local'"
  ztp_site: ztp_cluster_labels.sites
groups:
  policy_generator: ztp_worker_policy.format == 'policygenerator'
keyed_groups:
  - key: ztp_cluster_format
    prefix: format
""")
    assert inventory.hosts() == ["sno-a", "sno-b", "sno-c"]
    groups = inventory.groups()
    assert groups["sno_clusters"] == ["sno-b"]
    assert groups["ztp_with_workers"] == ["sno-b"]
    assert groups["ztp_sno"] == ["sno-a", "sno-b", "sno-c"]
    assert groups["policy_generator"] == ["sno-c"]
    assert groups["format_siteconfig_v2"] == ["sno-a", "sno-b"]
    assert groups["format_clusterinstance"] == ["sno-c"]
    b = inventory.host_vars("sno-b")
    assert b["ansible_connection"] == "local"
    assert b["ztp_site"] == "sno-b"
    assert b["ztp_cluster_file"] == "siteconfig/sno-b.yaml"
    assert b["ztp_workers"][0]["bmcCredentialsName"] == {"name": "sno-b-w0"}
    assert b["ztp_worker_policy"]["name"] == "sno-b-workers"
    assert "ztp_workers" not in inventory.host_vars("sno-a")


def test_strict_fails_on_a_bad_compose_expression(fleet_dir):
    with pytest.raises(AssertionError) as err:
        _inventory(fleet_dir, "strict: true\ncompose:\n  broken: no_such_variable.attribute\n", name="strict.sno_fleet.yml")
    assert "no_such_variable" in str(err.value)
    lenient = _inventory(fleet_dir, "compose:\n  broken: no_such_variable.attribute\n", name="lenient.sno_fleet.yml")
    assert "broken" not in lenient.host_vars("sno-a")


def test_repository_errors_fail_the_source(fleet_dir):
    kust = fleet_dir / "repo" / "siteconfig" / "kustomization.yaml"
    kust.write_text(kust.read_text(encoding="utf-8").replace("  - sno-b.yaml\n", "  - sno-b.yaml\n  - gone.yaml\n"), encoding="utf-8")
    with pytest.raises(AssertionError) as err:
        _inventory(fleet_dir, "", name="bad.sno_fleet.yml")
    assert "AnsibleParserError" in str(err.value)
    assert "siteconfig/kustomization.yaml:8: generators[2]: invalid value 'gone.yaml'" in str(err.value)


def test_cache_serves_the_second_read(fleet_dir):
    config = "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (fleet_dir / "cache")
    first = _inventory(fleet_dir, config)
    assert first.host_vars("sno-a")["ztp_site_policies"] == ["sno-a-config-policy"]
    assert os.listdir(str(fleet_dir / "cache"))
    site = fleet_dir / "repo" / "policygentemplates" / "sno-a-site.yaml"
    site.write_text(site.read_text(encoding="utf-8").replace('name: "sno-a"\n', 'name: "sno-a-renamed"\n', 1), encoding="utf-8")
    cached = _inventory(fleet_dir, config)
    assert cached.host_vars("sno-a")["ztp_site_policies"] == ["sno-a-config-policy"]
    refreshed = _inventory(fleet_dir, config, cache=False)   # --flush-cache: read again and store
    assert refreshed.host_vars("sno-a")["ztp_site_policies"] == ["sno-a-renamed-config-policy"]
    assert _inventory(fleet_dir, config).host_vars("sno-a")["ztp_site_policies"] == ["sno-a-renamed-config-policy"]


def test_a_changed_workers_file_is_never_served_from_the_cache(fleet_dir):
    config = "workers_file: workers.yml\ncache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (fleet_dir / "cache")
    assert _inventory(fleet_dir, config).groups()["sno_clusters"] == ["sno-b"]
    (fleet_dir / "workers.yml").write_text(
        "clusters:\n  sno-a:\n    - {hostName: sno-a-worker-0.ran.example.com, credentials: sno-a-w0, bootMACAddress: '0c:42:a1:8a:00:20'}\n",
        encoding="utf-8")
    again = _inventory(fleet_dir, config)
    assert again.groups()["sno_clusters"] == ["sno-a"]
    assert again.host_vars("sno-a")["ztp_workers"][0]["bmcCredentialsName"] == {"name": "sno-a-w0"}
