"""AWX job slicing on one controller: N copies of ``playbooks/expand_sno.yml`` at once, each on a slice of the fleet
inventory and in its own working copy, against one test hub and one Git remote.

    python -m benchmarks.slices --clusters 100 --slices 1,2,4 [--out benchmarks/RESULTS.md]

``ZTP_TALM=real`` runs TALM's own manager on the hub (built from its source, see ``docs/testhub.md``), the model
otherwise; the table names which one ran.

For each slice count a fresh hub gets a fleet of ``--clusters`` single-node clusters (``benchmarks/fleet.py``); the
slices are disjoint host lists given to ``--limit``. Recorded: wall time until the last slice ends, the speed-up over
one slice, every slice's exit status and failed hosts, the commits that reached the remote and whether every cluster
ended with its worker Ready. On one 2-core machine the copies share the CPU; AWX runs slices on separate execution
nodes, so the speed-up here is a lower bound of the coordination cost, not of what slicing gives.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time

import yaml

from benchmarks import bench, fleet

RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def ready_workers(hub, names) -> int:
    mci = hub.api("hub").resources.get(api_version="internal.open-cluster-management.io/v1beta1", kind="ManagedClusterInfo")
    wanted = set("%s-worker-0.ran.example.com" % n for n in names)
    ready = 0
    for info in mci.get().to_dict().get("items") or []:
        for node in (info.get("status") or {}).get("nodeList") or []:
            if node.get("name") in wanted and any(c.get("type") == "Ready" and c.get("status") == "True"
                                                  for c in node.get("conditions") or []):
                ready += 1
    return ready


def remote_commits(git_url: str) -> list[str]:
    clone = tempfile.mkdtemp()
    subprocess.run(["git", "clone", "-q", git_url, clone], check=True)
    return subprocess.run(["git", "-C", clone, "log", "--format=%s"], stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines()


def run_slices(root: str, n: int, k: int, index: int, env: dict) -> dict:
    from testhub.hubctl import Hub  # pylint: disable=import-outside-toplevel
    base = os.path.join(root, "slices-%d" % k)
    os.makedirs(base)
    hub = Hub(os.path.join(base, "hub"), port_base=bench.PORT_BASE + 10 * (index + 1), simulator=True,
              speed=bench.FAST_SPEED).start()
    try:
        names = fleet.push_fleet(hub.git_url, os.path.join(base, "fleet"), n)
        cm = hub.api("hub").resources.get(api_version="v1", kind="ConfigMap")
        conf = yaml.safe_load(cm.get(name="hub-simulator", namespace="ztp-simulator").data["config.yaml"]) or {}
        conf.update(spokes=fleet.simulator_spokes(names), speed=bench.FAST_SPEED)
        cm.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": yaml.safe_dump(conf)}})
        bench.settle(hub, n)
        before = len(remote_commits(hub.git_url))
        config = fleet.write_inventory(os.path.join(base, "inventory"), names, os.path.join(base, "checkout"))
        run_env = dict(env, **hub.env, ANSIBLE_CONFIG=os.path.join(bench.REPO, "ansible.cfg"))
        procs = []
        start = time.time()
        for s in range(k):
            hosts = names[s::k]
            limit = os.path.join(base, "slice-%d.txt" % s)
            with open(limit, "w", encoding="utf-8") as handle:
                handle.write("\n".join(hosts) + "\n")
            log = open(os.path.join(base, "slice-%d.log" % s), "w", encoding="utf-8")  # pylint: disable=consider-using-with
            procs.append((subprocess.Popen(  # pylint: disable=consider-using-with
                ["ansible-playbook", "-i", config, "playbooks/expand_sno.yml", "--limit", "@" + limit,
                 "-e", "ztp_gitops_workdir=%s" % os.path.join(base, "checkout-%d" % s)],
                cwd=bench.REPO, env=run_env, stdout=log, stderr=subprocess.STDOUT), log, hosts))
        slices = []
        for proc, log, hosts in procs:
            proc.wait()
            log.close()
            with open(log.name, encoding="utf-8") as handle:
                text = handle.read()
            failed = [h for h, unreachable, fails in RECAP.findall(text) if int(unreachable) or int(fails)]
            slices.append({"hosts": len(hosts), "rc": proc.returncode, "failed": failed, "end": time.time() - start})
        wall = max(s["end"] for s in slices)
        time.sleep(2)
        commits = remote_commits(hub.git_url)
        return {"k": k, "n": n, "wall": wall, "slices": slices, "commits": len(commits) - before,
                "ready": ready_workers(hub, names), "load": bench.load(), "talm": hub.talm}
    finally:
        hub.stop()


def report(rows: list[dict], info: dict) -> list[str]:
    one = next((r["wall"] for r in rows if r["k"] == 1), None)
    lines = ["## Job slicing on one controller (%s), %s CPU(s)" % (info["date"], info["cores"]), "",
             "`python -m benchmarks.slices`: N copies of `playbooks/expand_sno.yml` at once on disjoint slices of a fleet "
             "inventory (`--limit`), each with its own working copy, one test hub and one Git remote (simulator speed "
             "%d). Every slice pushes its commits by rebasing onto the others'; the slices' worker policy entries meet "
             "in one `kustomization.yaml` and are merged entry by entry. The copies share this machine's cores, so the "
             "speed-up is what is left after the coordination cost on one machine; AWX runs slices on separate "
             "execution nodes." % bench.FAST_SPEED, "",
             "| clusters | slices | wall until the last slice ends (s) | speed-up | exit statuses | failed hosts "
             "| commits on the remote | workers Ready | TALM | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %d | %d | %.1f | %s | %s | %d | %d | %d of %d | %s | %s |" % (
            r["n"], r["k"], r["wall"], "%.2f" % (one / r["wall"]) if one else "-",
            ", ".join(str(s["rc"]) for s in r["slices"]), sum(len(s["failed"]) for s in r["slices"]),
            r["commits"], r["ready"], r["n"], r["talm"], r["load"]))
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--slices", default="1,2,4")
    parser.add_argument("--out", default=os.path.join(bench.REPO, "benchmarks", "RESULTS.md"))
    args = parser.parse_args(argv)
    info = bench.machine()
    root = tempfile.mkdtemp(prefix="ztp-slices-")
    rows = []
    for index, k in enumerate(int(x) for x in args.slices.split(",") if x):
        row = run_slices(root, args.clusters, k, index, dict(os.environ))
        print("slices=%d wall %.1fs rc %s commits %d ready %d/%d" % (
            k, row["wall"], [s["rc"] for s in row["slices"]], row["commits"], row["ready"], row["n"]), flush=True)
        rows.append(row)
    with open(args.out, "a", encoding="utf-8") as handle:
        handle.write("\n" + "\n".join(report(rows, info)))
    print("work folder: %s" % root)


if __name__ == "__main__":
    main()
