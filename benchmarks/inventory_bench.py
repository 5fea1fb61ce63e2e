"""Benchmark of the ztp.sno_expand.sno_fleet inventory plugin on a generated fleet repository.

    python -m benchmarks.inventory_bench [--clusters 3500] [--workers 500] [--runs 3] [--append benchmarks/RESULTS.md]

The repository is the one of the fleet benchmarks (``benchmarks/fleet.py``: per cluster a SiteConfig and a site
PolicyGenTemplate, the seed's group templates and its ClusterInstance cluster), with a workers file for the first
``--workers`` clusters. Each measurement runs in a new Python process, so nothing is warm but the operating system's
file cache:

- read: the plugin's own work (``fleet_inventory.read_fleet``: scan, bind, derive, workers file checks);
- parse, cold: Ansible's ``InventoryManager`` with the plugin and ``cache: false`` (read plus Ansible storing every
  host variable); parse, cached: the same with ``cache: true`` after a first run filled the ``jsonfile`` cache;
- ``ansible-inventory --graph``, cold and cached: the command-line wall time, Python and Ansible start included.

Targets: parse, cold <= 10 s; parse, cached <= 1 s.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

from benchmarks import fleet

REPO = fleet.REPO_ROOT
COLLECTIONS = os.path.join(REPO, ".collections")
BIN = os.path.dirname(sys.executable)

READ = """
import sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.ztp.sno_expand.plugins.module_utils import _fleet_inventory as fleet_inventory
start, cpu = time.perf_counter(), time.process_time()
result = fleet_inventory.read_fleet(sys.argv[2], sys.argv[3], {"workers_file": "workers.yml"})
print(time.perf_counter() - start, time.process_time() - cpu, len(result["hosts"]))
"""

PARSE = """
import sys, time
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
start, cpu = time.perf_counter(), time.process_time()
inventory = InventoryManager(loader=DataLoader(), sources=[sys.argv[2]])
print(time.perf_counter() - start, time.process_time() - cpu, len(inventory.hosts))
"""


def write_fleet(dest: str, clusters: int, workers: int) -> None:
    """The repository (``dest/gitops``), a workers file for the first ``workers`` clusters, two plugin configurations."""
    names = fleet.write_repo(os.path.join(dest, "gitops"), clusters)
    entries = {}
    for name in names[:workers]:
        worker = dict(fleet.host_vars(name)["ztp_workers"][0])
        worker["credentials"] = worker.pop("bmcCredentialsName")["name"]
        entries[name] = {"workers": [worker]}
    with open(os.path.join(dest, "workers.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"clusters": entries}, handle)
    base = "plugin: ztp.sno_expand.sno_fleet\nrepo: gitops\nworkers_file: workers.yml\n"
    with open(os.path.join(dest, "cold.sno_fleet.yml"), "w", encoding="utf-8") as handle:
        handle.write(base)
    with open(os.path.join(dest, "cached.sno_fleet.yml"), "w", encoding="utf-8") as handle:
        handle.write(base + "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 0\n"
                     % os.path.join(dest, "cache"))


def _env(dest: str) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOME=os.path.join(dest, "ansible-home"),
               ANSIBLE_LOCAL_TEMP=os.path.join(dest, "ansible-tmp"), ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    for key in ("ZTP_GITOPS_REPO", "ZTP_WORKERS_FILE"):
        env.pop(key, None)
    return env


def _python(dest: str, script: str, *args: str) -> tuple[float, float, int]:
    proc = subprocess.run([sys.executable, "-c", script] + list(args), cwd=dest, env=_env(dest), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    seconds, cpu, hosts = proc.stdout.split()[-3:]
    return float(seconds), float(cpu), int(hosts)


def _cli(dest: str, config: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", config, "--graph"], cwd=dest, env=_env(dest),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return time.perf_counter() - start


def measure(dest: str, runs: int) -> dict:
    cold_cfg = os.path.join(dest, "cold.sno_fleet.yml")
    cached_cfg = os.path.join(dest, "cached.sno_fleet.yml")
    out = dict((key, []) for key in ("read", "parse_cold", "parse_cached", "read_cpu", "parse_cold_cpu", "parse_cached_cpu",
                                     "cli_cold", "cli_cached"))
    hosts = 0
    for _run in range(runs):
        for key, script, argv in (("read", READ, (os.path.join(dest, "gitops"), dest)), ("parse_cold", PARSE, (cold_cfg,))):
            seconds, cpu, hosts = _python(dest, script, COLLECTIONS, *argv)
            out[key].append(seconds)
            out[key + "_cpu"].append(cpu)
        shutil.rmtree(os.path.join(dest, "cache"), ignore_errors=True)
        _python(dest, PARSE, COLLECTIONS, cached_cfg)  # fills the cache
        seconds, cpu, hosts = _python(dest, PARSE, COLLECTIONS, cached_cfg)
        out["parse_cached"].append(seconds)
        out["parse_cached_cpu"].append(cpu)
        out["cli_cold"].append(_cli(dest, cold_cfg))
        out["cli_cached"].append(_cli(dest, cached_cfg))
    out["hosts"] = hosts
    return out


def _load() -> str:
    try:
        return " ".join("%.2f" % x for x in os.getloadavg())
    except OSError:
        return "?"


def report(result: dict, clusters: int, workers: int) -> str:
    def cell(key):
        values = result[key]
        cpu = result.get(key + "_cpu")
        text = "%.2f" % statistics.median(values)
        if cpu:
            text += " (CPU %.2f)" % statistics.median(cpu)
        runs = ", ".join("%.2f" % v for v in values)
        return text, runs, statistics.median(values)

    rows = [("read (plugin's own work)", "read", None), ("parse, cold (InventoryManager, cache off)", "parse_cold", 10.0),
            ("parse, cached (second read, jsonfile cache)", "parse_cached", 1.0),
            ("`ansible-inventory --graph`, cold", "cli_cold", None), ("`ansible-inventory --graph`, cached", "cli_cached", None)]
    lines = ["", "## Inventory plugin (%s)" % datetime.datetime.now().replace(microsecond=0).isoformat(), "",
             "`python -m benchmarks.inventory_bench --clusters %d --workers %d`: `ztp.sno_expand.sno_fleet` on a generated repository "
             "of %d clusters (%d hosts: the generated SiteConfig clusters and the seed's ClusterInstance cluster; %d SiteConfig "
             "and %d site PolicyGenTemplate files) with a workers file for %d of them. Each figure is a new Python process. "
             "%d CPU(s), Python %s, load average at the end %s."
             % (clusters, workers, clusters, result["hosts"], clusters, clusters, workers, os.cpu_count() or 0,
                platform.python_version(), _load()), "",
             "| measurement | median wall (CPU) s | runs, wall (s) | target (wall) |", "|---|---|---|---|"]
    for label, key, target in rows:
        text, runs, median = cell(key)
        verdict = "" if target is None else ("<= %g s: %s" % (target, "met" if median <= target else "NOT met"))
        lines.append("| %s | %s | %s | %s |" % (label, text, runs, verdict))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--clusters", type=int, default=3500)
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--append", help="append the result section to this Markdown file")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args()
    dest = tempfile.mkdtemp(prefix="ztp-inventory-bench-")
    try:
        write_fleet(dest, args.clusters, args.workers)
        result = measure(dest, args.runs)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    text = report(result, args.clusters, args.workers)
    print(text)
    if args.json:
        print(json.dumps(result))
    if args.append:
        with open(args.append, "a", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
