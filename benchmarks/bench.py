"""Fleet-scale benchmarks of ztp.sno_expand on the local test hub (``make bench``); writes benchmarks/RESULTS.md.

    python -m benchmarks.bench [--sizes 1,50,500] [--full-sizes 1,50,500] [--out benchmarks/RESULTS.md]

1. Git phase: ``benchmarks/playbooks/git_phase.yml`` (validate, write worker policies, add nodes, kustomizations,
   one commit, one push) against the floor: a plain Python loop doing the same round-trip edits with ruamel.yaml
   and one ``git commit``.
2-5. ``playbooks/expand_sno.yml`` on a fleet with the simulator at its fastest setting: wall time, profile per task,
   API requests of ``testhub-admin`` (audit log) while waiting for installs, a polling baseline measured on the same
   hub, the reaction time of the waits, the peak RSS of the ``ansible-playbook`` process tree over two identical runs.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import io
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
PORT_BASE = 24000
FAST_SPEED = 6000
# what the install wait watches: the install objects, and the ManagedClusterViews of the worker pools (the wait ends
# when each cluster's pool has rolled out, which the simulator writes into the views)
WATCH_RESOURCES = ("preprovisioningimages", "baremetalhosts", "agents", "managedclusterinfos", "managedclusterviews")


# ------------------------------------------------------------------------------------------------ helpers

def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        mem_kb = int(handle.readline().split()[1])
    ansible = subprocess.run(["ansible", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    return {"cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1), "cpu": cpu,
            "python": platform.python_version(), "ansible": ansible, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "kernel": platform.release()}


def load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes: its private pages plus its share of the pages it shares."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory(root_pid: int) -> dict:
    """Memory of ``root_pid`` and all its descendants, in bytes: ``rss`` (sum of the resident sets; the pages the
    forked workers share with the main process count once per process), ``pss`` (each shared page split between
    the processes sharing it: what the tree really occupies) and ``main`` (the resident set of ``root_pid``)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * page
    out, todo = {"rss": 0, "pss": 0, "main": rss.get(root_pid, 0)}, [root_pid]
    while todo:
        pid = todo.pop()
        out["rss"] += rss.get(pid, 0)
        out["pss"] += _pss(pid)
        todo.extend(children.get(pid, []))
    return out


def run_playbook(args: list[str], env: dict, times_file: str, log_file: str) -> dict:
    """Run ansible-playbook; return wall time, rc, peak RSS of its process tree and the task times."""
    env = dict(env, ZTP_BENCH_TIMES=times_file, ANSIBLE_CALLBACKS_ENABLED="bench_timer",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(REPO, "benchmarks", "callback_plugins"),
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    start = time.time()
    with open(log_file, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(["ansible-playbook", *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = {"rss": 0, "pss": 0, "main": 0}
        while proc.poll() is None:
            now = tree_memory(proc.pid)
            peak = {key: max(value, now[key]) for key, value in peak.items()}
            time.sleep(0.2)
    wall = time.time() - start
    tasks = {}
    if os.path.exists(times_file):
        with open(times_file, encoding="utf-8") as handle:
            tasks = json.load(handle)
    return {"wall": wall, "rc": proc.returncode, "peak_rss": peak["rss"], "peak_pss": peak["pss"], "peak_main_rss": peak["main"],
            "tasks": tasks.get("tasks", []), "start": start,
            "end": start + wall, "log": log_file}


def git(*args, cwd):
    return fleet.git(*args, cwd=cwd)


# ------------------------------------------------------------------------------------------------ 1. Git phase

def floor_run(git_url: str, workdir: str, names: list[str]) -> float:
    """Plain Python: ruamel.yaml round-trip edits of the same files, one commit (no Ansible)."""
    from ruamel.yaml import YAML  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen  # pylint: disable=import-outside-toplevel
    git("clone", "-q", git_url, workdir, cwd=os.path.dirname(workdir))
    start = time.time()
    rt = YAML(typ="rt")
    rt.width = 4096
    kust = os.path.join(workdir, "policygentemplates", "kustomization.yaml")
    entries = []
    for name in names:
        hv = fleet.host_vars(name)  # the values the inventory plugin derives for the cluster
        path = os.path.join(workdir, hv["ztp_cluster_file"])
        with open(path, encoding="utf-8") as handle:
            docs = list(rt.load_all(handle.read()))
        docs[0]["spec"]["clusters"][0]["nodes"].extend(copy.deepcopy(hv["ztp_workers"]))
        out = io.StringIO()
        rt.dump_all(docs, out)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(out.getvalue())
        wp = hv["ztp_worker_policy"]
        params = dict(wp, path=os.path.join(workdir, wp["path"]), policy_name="config-policy", source_cr_layout="flat",
                      extra_tuned=None, allow_non_ztp_namespace=False)
        with open(params["path"], "w", encoding="utf-8") as handle:
            handle.write(policygen.render(policygen.worker_document(policygen.validate_worker(params))))
        entries.append(os.path.basename(wp["path"]))
    with open(kust, encoding="utf-8") as handle:
        data = rt.load(handle.read())
    data["generators"].extend(entries)
    out = io.StringIO()
    rt.dump(data, out)
    with open(kust, "w", encoding="utf-8") as handle:
        handle.write(out.getvalue())
    git("add", "-A", ".", cwd=workdir)
    git("commit", "-q", "-m", "floor", cwd=workdir)
    return time.time() - start


def git_phase(root: str, sizes: list[int], env: dict) -> list[dict]:
    from testhub.hubctl import Hub  # pylint: disable=import-outside-toplevel
    hub = Hub(os.path.join(root, "hub-git"), port_base=PORT_BASE, simulator=False).start()
    rows = []
    try:
        for n in sizes:
            base = os.path.join(root, "git-%d" % n)
            os.makedirs(base)
            names = fleet.push_fleet(hub.git_url, os.path.join(base, "fleet"), n)
            inv = os.path.join(base, "inventory")
            config = fleet.write_inventory(inv, names, os.path.join(base, "checkout"))
            floor = floor_run(hub.git_url, os.path.join(base, "floor"), names)
            run_env = dict(env, **hub.env)
            res = run_playbook(["-i", config, "benchmarks/playbooks/git_phase.yml"], run_env,
                               os.path.join(base, "times.json"), os.path.join(base, "playbook.log"))
            log = git("log", "--format=%s", "-3", cwd=os.path.join(base, "checkout"))
            rows.append({"n": n, "floor": floor, "wall": res["wall"], "rc": res["rc"], "ratio": res["wall"] / floor,
                         "last_commit": log.splitlines()[0] if log else "", "tasks": res["tasks"], "load": load()})
            print("git phase n=%d floor %.1fs collection %.1fs rc=%d" % (n, floor, res["wall"], res["rc"]), flush=True)
    finally:
        hub.stop()
    return rows


# ------------------------------------------------------------------------------------------------ 2-5. full playbook

def audit_events(path: str) -> list[dict]:
    events = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("stage") not in ("ResponseComplete", "ResponseStarted"):
                continue
            stamp = event.get("stageTimestamp") or event.get("requestReceivedTimestamp")
            when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            received = event.get("requestReceivedTimestamp") or stamp
            events.append({"user": (event.get("user") or {}).get("username"), "verb": event.get("verb"),
                           "resource": (event.get("objectRef") or {}).get("resource"), "stage": event.get("stage"),
                           "namespace": (event.get("objectRef") or {}).get("namespace"), "at": when,
                           "received": datetime.datetime.fromisoformat(received.replace("Z", "+00:00")).timestamp(),
                           "id": event.get("auditID")})
    return events


def requests_of(events, user, start, end):
    """Requests of ``user`` received in [start, end] (a watch counts once)."""
    seen = set()
    for event in events:
        if event["user"] == user and start <= event["received"] <= end:
            seen.add(event["id"])
    return len(seen)


def watches_of(events, user, start, end):
    """Watch requests of ``user`` received in [start, end]."""
    return len(set(e["id"] for e in events if e["user"] == user and e["verb"] == "watch" and start <= e["received"] <= end))


# the collection's waits reopen a watch stream after 290 s at most (1800 s with more than 20 streams:
# plugins/module_utils/_install_watch.py), with a list at worst; the shorter period is taken
WATCH_REOPEN_SECONDS = 290


def projected_rate(requests, watches, wall, speed):
    """Requests per second of the hub's real pace. The waits' requests follow the installs' events, not a timer, so at
    real pace the same requests spread over the simulated duration (``wall * speed``); only the reopening of the watch
    streams is timed, which is added on top (a watch and a list per stream)."""
    simulated = wall * speed
    return requests / simulated + 2.0 * watches / WATCH_REOPEN_SECONDS if simulated else 0.0


def wait_tasks(tasks):
    return [t for t in tasks if t["action"].endswith("ztp_install_wait") and t["end"]]


WAITING_ACTIONS = ("ztp_install_wait", "ztp_cgu", "ztp_argocd_sync")


def own_time(run, view_waits=0.0):
    """Wall time of a playbook run minus the time its tasks spent waiting on the hub's controllers (the
    ClusterGroupUpgrade waits, the install and render waits, the waits for ArgoCD to sync a pushed commit, and
    ``view_waits``, the waits for the spokes' view agent to answer the selector reads): the playbook's own work."""
    waiting = sum(t["end"] - t["start"] for t in run["tasks"]
                  if t["end"] and t["action"].endswith(WAITING_ACTIONS))
    return run["wall"] - waiting - view_waits


def view_answer_waits(events, tasks):
    """Seconds the selector reads (``ztp_daemon_selectors_info`` through the hub) waited for the view agent: per task,
    from the playbook's last view create to the simulator's last answer in a view (audit log). Creating and deleting
    the views stays the playbook's own time."""
    total = 0.0
    for task in tasks:
        if not task["end"] or not task["action"].endswith("ztp_daemon_selectors_info"):
            continue
        inside = [e for e in events if e["resource"] == "managedclusterviews" and e["stage"] == "ResponseComplete"
                  and task["start"] <= e["at"] <= task["end"]]
        creates = [e["at"] for e in inside if e["user"] == "testhub-admin" and e["verb"] == "create"]
        answers = [e["at"] for e in inside if e["user"] == "hub-simulator" and e["verb"] in ("patch", "update")]
        if creates and answers:
            total += max(0.0, max(answers) - max(creates))
    return total


def reaction_times(events, tasks, clusters):
    """Per install wait: end of the task minus the last simulator write to a watched object of the batch."""
    out = []
    for task in wait_tasks(tasks):
        writes = [e["at"] for e in events if e["user"] == "hub-simulator" and e["verb"] in ("patch", "update", "create")
                  and e["resource"] in WATCH_RESOURCES and e["namespace"] in clusters
                  and task["start"] <= e["at"] <= task["end"] and e["stage"] == "ResponseComplete"]
        if writes:
            out.append({"task": task["name"], "reaction": task["end"] - max(writes)})
    return out


def baseline_polling(hub, names: list[str], seconds: float) -> float:
    """One GET per watched object per cluster every 30 s (what a k8s_info poll per host would do, without its
    discovery requests), run for ``seconds``; returns the start time."""
    from kubernetes import client as k8s  # pylint: disable=import-outside-toplevel
    api = k8s.CustomObjectsApi(hub.api_client("hub"))
    paths = [("metal3.io", "v1alpha1", "preprovisioningimages"), ("metal3.io", "v1alpha1", "baremetalhosts"),
             ("agent-install.openshift.io", "v1beta1", "agents"), ("internal.open-cluster-management.io", "v1beta1", "managedclusterinfos")]
    start = time.time()
    gap = 30.0 / (len(names) * len(paths))
    i = 0
    while time.time() - start < seconds:
        name = names[(i // len(paths)) % len(names)]
        group, version, plural = paths[i % len(paths)]
        try:
            api.list_namespaced_custom_object(group, version, name, plural, limit=1)
        except Exception:  # pylint: disable=broad-except
            pass
        i += 1
        delay = start + i * gap - time.time()
        if delay > 0:
            time.sleep(delay)
    return start


def settle(hub, count: int, timeout: float = 900) -> float:
    """Wait until the simulator has finished day 1 of the fleet: ``count`` ManagedClusters, each with a
    ManagedClusterInfo that lists its node. Returns the seconds it took."""
    api = hub.api("hub")
    mc = api.resources.get(api_version="cluster.open-cluster-management.io/v1", kind="ManagedCluster")
    mci = api.resources.get(api_version="internal.open-cluster-management.io/v1beta1", kind="ManagedClusterInfo")
    start = time.time()
    while time.time() - start < timeout:
        day1_done = sum(1 for i in mci.get().to_dict().get("items") or [] if (i.get("status") or {}).get("nodeList"))
        if len(mc.get().items) >= count and day1_done >= count:
            time.sleep(5)
            return time.time() - start
        time.sleep(3)
    raise RuntimeError("the simulator did not finish day 1 of %d clusters in %d s" % (count, timeout))


def full_run(root: str, n: int, index: int, env: dict, runs: int, baseline_seconds: float) -> dict:
    from testhub.hubctl import Hub  # pylint: disable=import-outside-toplevel
    base = os.path.join(root, "full-%d" % n)
    os.makedirs(base)
    hub = Hub(os.path.join(base, "hub"), port_base=PORT_BASE + 10 * (index + 1), simulator=True, audit=True,
              speed=FAST_SPEED).start()
    try:
        names = fleet.push_fleet(hub.git_url, os.path.join(base, "fleet"), n)
        cm = hub.api("hub").resources.get(api_version="v1", kind="ConfigMap")
        conf = yaml.safe_load(cm.get(name="hub-simulator", namespace="ztp-simulator").data["config.yaml"]) or {}
        conf["spokes"] = fleet.simulator_spokes(names)
        conf["speed"] = FAST_SPEED
        cm.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": yaml.safe_dump(conf)}})
        settled = settle(hub, n)
        inv = os.path.join(base, "inventory")
        config = fleet.write_inventory(inv, names, os.path.join(base, "checkout"))
        run_env = dict(env, **hub.env)
        results = []
        for r in range(runs):
            res = run_playbook(["-i", config, "playbooks/expand_sno.yml"], run_env,
                               os.path.join(base, "times-%d.json" % r), os.path.join(base, "playbook-%d.log" % r))
            res["load"] = load()
            results.append(res)
            with open(os.path.join(base, "run-%d.json" % r), "w", encoding="utf-8") as handle:
                json.dump({k: v for k, v in res.items() if k != "tasks"}, handle)
            print("full n=%d run %d: %.1fs rc=%d peak RSS %.0f MiB PSS %.0f MiB main %.0f MiB" % (
                n, r, res["wall"], res["rc"], res["peak_rss"] / 2 ** 20, res["peak_pss"] / 2 ** 20, res["peak_main_rss"] / 2 ** 20), flush=True)
        base_start = baseline_polling(hub, names, baseline_seconds) if baseline_seconds else None
        time.sleep(2)
        events = audit_events(hub.audit_log)
        first = results[0]
        waits = wait_tasks(first["tasks"])
        wait_time = sum(t["end"] - t["start"] for t in waits)
        wait_requests = sum(requests_of(events, "testhub-admin", t["start"], t["end"]) for t in waits)
        out = {"n": n, "settle": settled, "runs": results, "wait_time": wait_time, "wait_requests": wait_requests,
               "wait_watches": sum(watches_of(events, "testhub-admin", t["start"], t["end"]) for t in waits),
               "total_requests": requests_of(events, "testhub-admin", first["start"], first["end"]),
               "reactions": reaction_times(events, first["tasks"], set(names)),
               "view_waits": view_answer_waits(events, first["tasks"])}
        if base_start:
            out["baseline_requests"] = requests_of(events, "testhub-admin", base_start, base_start + baseline_seconds)
            out["baseline_seconds"] = baseline_seconds
        return out
    finally:
        hub.stop()


def install_wave(root: str, n: int, env: dict) -> dict:
    """The simulator alone at fleet scale: ``n`` workers added at once (the Git phase playbook plus their BMC Secrets),
    then the time until every cluster's ManagedClusterInfo lists its worker Ready (read once a second)."""
    from testhub.hubctl import Hub  # pylint: disable=import-outside-toplevel
    base = os.path.join(root, "wave-%d" % n)
    os.makedirs(base)
    hub = Hub(os.path.join(base, "hub"), port_base=PORT_BASE + 90, simulator=True, audit=True, speed=FAST_SPEED).start()
    try:
        names = fleet.push_fleet(hub.git_url, os.path.join(base, "fleet"), n)
        api = hub.api("hub")
        cm = api.resources.get(api_version="v1", kind="ConfigMap")
        conf = yaml.safe_load(cm.get(name="hub-simulator", namespace="ztp-simulator").data["config.yaml"]) or {}
        conf.update(spokes=fleet.simulator_spokes(names), speed=FAST_SPEED)
        cm.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": yaml.safe_dump(conf)}})
        mci = api.resources.get(api_version="internal.open-cluster-management.io/v1beta1", kind="ManagedClusterInfo")

        def ready_workers():
            done = set()
            for item in mci.get().to_dict().get("items") or []:
                for node in (item.get("status") or {}).get("nodeList") or []:
                    if "worker-0" in node.get("name", "") and any(c.get("type") == "Ready" and c.get("status") == "True"
                                                                  for c in node.get("conditions") or []):
                        done.add(item["metadata"]["name"])
            return done

        day1 = settle(hub, n)
        inv = os.path.join(base, "inventory")
        config = fleet.write_inventory(inv, names, os.path.join(base, "checkout"))
        secrets = api.resources.get(api_version="v1", kind="Secret")
        for name in names:
            secrets.create(namespace=name, body={"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                                 "metadata": {"name": "%s-worker-0-bmc-secret" % name, "namespace": name},
                                                 "stringData": {"username": "admin", "password": "secret"}})
        res = run_playbook(["-i", config, "benchmarks/playbooks/git_phase.yml"], dict(env, **hub.env),
                           os.path.join(base, "times.json"), os.path.join(base, "playbook.log"))
        pushed = time.time()
        seen, marks = set(), {}
        while time.time() - pushed < 1200 and len(seen) < n:
            seen = ready_workers()
            for frac in (0.01, 0.5, 1.0):
                if frac not in marks and len(seen) >= max(1, int(frac * n)):
                    marks[frac] = time.time() - pushed
            time.sleep(1)
        events = audit_events(hub.audit_log)
        sim_requests = requests_of(events, "hub-simulator", pushed, time.time())
        return {"n": n, "day1": day1, "git_wall": res["wall"], "git_rc": res["rc"], "ready": len(seen),
                "first": marks.get(0.01), "half": marks.get(0.5), "all": marks.get(1.0), "sim_requests": sim_requests,
                "window": time.time() - pushed, "load": load()}
    finally:
        hub.stop()


def wave_report(info, row, out_path):
    """Append the install-wave section to ``out_path``."""
    def sec(value):
        return "%.1f" % value if value is not None else "not reached"
    lines = ["## Later run (%s), same machine: simulator alone, %d installs at once" % (info["date"], row["n"]), "",
             "The Git phase playbook adds one worker to each of %d clusters in one push, their BMC Secrets are created; "
             "then each cluster's ManagedClusterInfo is read once a second until it lists its worker Ready "
             "(simulator speed %d). Seconds after the push:" % (row["n"], FAST_SPEED), "",
             "| clusters | ArgoCD day 1 of the fleet (s) | Git phase (s) | first worker Ready | half | all | workers Ready | "
             "simulator requests after the push | load avg |", "|---|---|---|---|---|---|---|---|---|",
             "| %d | %.1f | %.1f | %s | %s | %s | %d | %d | %s |" % (
                 row["n"], row["day1"], row["git_wall"], sec(row["first"]), sec(row["half"]), sec(row["all"]),
                 row["ready"], row["sim_requests"], row["load"]), ""]
    with open(out_path, encoding="utf-8") as handle:
        previous = handle.read().rstrip("\n")
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join([previous, ""] + lines))
    print("\n".join(lines))


def rows_from(base: str, n: int, bench_log: str | None = None) -> dict:
    """The result row of size ``n`` rebuilt from the files of a kept work folder ``base`` (``full-<n>``): finished
    runs (``run-<r>.json``, or the bench's printed line in ``bench_log``), their task times and the hub audit log.
    For a report while a long run is still going (its later runs and the polling baseline are left out)."""
    results = []
    printed = {}
    if bench_log and os.path.exists(bench_log):
        with open(bench_log, encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if line.startswith("full n=%d run " % n) and len(parts) >= 9:
                    printed[int(parts[3].rstrip(":"))] = {"wall": float(parts[4].rstrip("s")), "rc": int(parts[5].split("=")[1]),
                                                          "peak_rss": float(parts[8]) * 2 ** 20, "load": "(not recorded)"}
    r = 0
    while True:
        path = os.path.join(base, "run-%d.json" % r)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                res = json.load(handle)
        elif r in printed:
            res = printed[r]
        else:
            break
        with open(os.path.join(base, "times-%d.json" % r), encoding="utf-8") as handle:
            res["tasks"] = json.load(handle).get("tasks", [])
        starts = [t["start"] for t in res["tasks"]]
        res.setdefault("start", min(starts) if starts else 0.0)
        res.setdefault("end", res["start"] + res["wall"])
        results.append(res)
        r += 1
    if not results:
        raise RuntimeError("no finished run in %s" % base)
    events = audit_events(os.path.join(base, "hub", "hub-audit.log"))
    names = [fleet.cluster_name(i + 1) for i in range(n)]
    first = results[0]
    waits = wait_tasks(first["tasks"])
    return {"n": n, "partial": True, "runs": results, "wait_time": sum(t["end"] - t["start"] for t in waits),
            "wait_requests": sum(requests_of(events, "testhub-admin", t["start"], t["end"]) for t in waits),
            "wait_watches": sum(watches_of(events, "testhub-admin", t["start"], t["end"]) for t in waits),
            "total_requests": requests_of(events, "testhub-admin", first["start"], first["end"]),
            "reactions": reaction_times(events, first["tasks"], set(names)),
            "view_waits": view_answer_waits(events, first["tasks"])}


# ------------------------------------------------------------------------------------------------ report

def profile(tasks, top=12):
    by_name = {}
    for task in tasks:
        if task["end"]:
            key = task["name"]  # Ansible names role tasks "<role> : <task>" already
            by_name[key] = by_name.get(key, 0.0) + task["end"] - task["start"]
    return sorted(by_name.items(), key=lambda kv: -kv[1])[:top]


def _mib(value) -> str:
    return "%.0f" % (value / 2 ** 20) if value else "-"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(info, git_rows, full_rows, out_path, append=False):
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`python -m benchmarks.bench`); numbers of one run on the machine below. "
             "The machine is shared: the load average is recorded with each measurement.", "",
             "| machine | |", "|---|---|",
             "| cores | %s |" % info["cores"], "| memory | %s GiB |" % info["memory_gib"], "| CPU | %s |" % info["cpu"],
             "| kernel | %s |" % info["kernel"], "| Python | %s |" % info["python"], "| Ansible | %s |" % info["ansible"],
             "| date | %s |" % info["date"], ""]
    targets = []
    if git_rows:
        lines += ["## 1. Git phase (validate, worker policies, nodes, kustomizations, one commit, one push)", "",
                  "Collection: `ansible-playbook benchmarks/playbooks/git_phase.yml` (whole process: start-up, inventory, "
                  "checkout, one `ztp_gitops_batch` task, one publish). Floor: a plain Python loop doing the same edits "
                  "with ruamel.yaml round-trip load/dump and one `git commit`, no Ansible.", "",
                  "| clusters | collection (s) | floor (s) | ratio | per cluster (ms) | rc | load avg |", "|---|---|---|---|---|---|---|"]
        for row in git_rows:
            lines.append("| %d | %.1f | %.1f | %.2f | %.0f | %d | %s |" % (
                row["n"], row["wall"], row["floor"], row["ratio"], 1000 * row["wall"] / row["n"], row["rc"], row["load"]))
        big = [r for r in git_rows if r["n"] == max(x["n"] for x in git_rows)][0]
        targets.append(("1. Git phase at %d clusters <= 60 s and <= 3x floor" % big["n"],
                        "%.1f s, %.2fx" % (big["wall"], big["ratio"]), verdict(big["rc"] == 0 and big["wall"] <= 60 and big["ratio"] <= 3)))
        lines.append("")
    if full_rows:
        lines += ["## 5. Full playbook (`playbooks/expand_sno.yml`), simulator speed %d" % FAST_SPEED, "",
                  "Memory of the `ansible-playbook` process tree at its peak: RSS summed over the processes (pages the "
                  "forked workers share with the main process count once per process), PSS (shared pages split between the "
                  "processes: what the tree occupies), and the RSS of the main process alone.", "",
                  "| clusters | run | wall (s) | per cluster (s) | peak RSS sum (MiB) | peak PSS (MiB) | main process RSS (MiB) | rc | load avg |",
                  "|---|---|---|---|---|---|---|---|---|"]
        if any(row.get("partial") for row in full_rows):
            lines[-2:-2] = ["Reported from the kept work folder while the benchmark was still running (`--report-from`): "
                            "runs not finished then and the polling baseline are not included.", ""]
        for row in full_rows:
            for i, res in enumerate(row["runs"]):
                lines.append("| %d | %d | %.1f | %.2f | %.0f | %s | %s | %d | %s |" % (
                    row["n"], i + 1, res["wall"], res["wall"] / row["n"], res["peak_rss"] / 2 ** 20, _mib(res.get("peak_pss")),
                    _mib(res.get("peak_main_rss")), res["rc"], res["load"]))
        lines.append("")
        big = max(full_rows, key=lambda r: r["n"])
        lines += ["### Where the time goes at %d clusters (first run, top tasks, seconds)" % big["n"], "",
                  "| task | seconds |", "|---|---|"]
        lines += ["| %s | %.1f |" % (name.replace("|", "/"), sec) for name, sec in profile(big["runs"][0]["tasks"])]
        lines += ["", "## 2. Hub API load while waiting for installs", "",
                  "Requests of user `testhub-admin` in the hub audit log while the `ztp_install_wait` tasks ran (a watch "
                  "counts once). Baseline: one GET per watched object (PreprovisioningImage, BareMetalHost, Agent, "
                  "ManagedClusterInfo) per cluster every 30 s, run on the same hub after the playbook (a real "
                  "`k8s_info` poll costs more: discovery requests per call).",
                  "The target is judged at the hub's real pace: the waits' requests follow the installs' events, so the "
                  "same requests spread over the simulated duration (waiting time x speed %d), plus a watch and a list per "
                  "watch stream every %d s (`benchmarks.bench.projected_rate`). Requests per second of wall time depend on "
                  "how fast this machine runs the compressed installs; requests per cluster do not." % (
                      FAST_SPEED, WATCH_REOPEN_SECONDS), "",
                  "| clusters | waiting (s) | requests | of which watches | per cluster | requests/s of wall time | "
                  "requests/s at real pace | whole run requests | baseline requests/s |", "|---|---|---|---|---|---|---|---|---|"]
        for row in full_rows:
            rate = row["wait_requests"] / row["wait_time"] if row["wait_time"] else 0.0
            row["projected"] = projected_rate(row["wait_requests"], row.get("wait_watches", 0), row["wait_time"], FAST_SPEED)
            base = ("%.1f (%d in %d s)" % (row["baseline_requests"] / row["baseline_seconds"], row["baseline_requests"],
                                           row["baseline_seconds"])) if "baseline_requests" in row else "-"
            lines.append("| %d | %.1f | %d | %d | %.2f | %.2f | %.3f | %d | %s |" % (
                row["n"], row["wait_time"], row["wait_requests"], row.get("wait_watches", 0), row["wait_requests"] / row["n"],
                rate, row["projected"], row["total_requests"], base))
        targets.append(("2. API load while waiting at %d clusters <= 2 requests/s at the hub's real pace" % big["n"],
                        "%.3f/s (%.2f requests per cluster)" % (big["projected"], big["wait_requests"] / big["n"]),
                        verdict(big["projected"] <= 2 and big["runs"][0]["rc"] == 0)))
        lines += ["", "## 3. Reaction time of the waits", "",
                  "End of each `ztp_install_wait` task minus the last write of the simulator to a watched object of the "
                  "batch (audit log `stageTimestamp`).", "", "| clusters | waits (s) | median (s) |", "|---|---|---|"]
        for row in full_rows:
            values = [r["reaction"] for r in row["reactions"]]
            med = statistics.median(values) if values else float("nan")
            row["reaction_median"] = med
            lines.append("| %d | %s | %.2f |" % (row["n"], ", ".join("%.2f" % v for v in values), med))
        for row in full_rows:
            if row["n"] in (1, big["n"]):
                targets.append(("3. reaction median at %d cluster(s) <= 2 s" % row["n"], "%.2f s" % row["reaction_median"],
                                verdict(row["reaction_median"] <= 2)))
        lines += ["", "## 4. Memory", ""]
        measure = "peak_pss" if all(r.get("peak_pss") for r in big["runs"]) else "peak_rss"
        label = "PSS" if measure == "peak_pss" else "RSS"
        peaks = [r[measure] / 2 ** 20 for r in big["runs"]]
        lines.append("Peak %s of the `ansible-playbook` process tree at %d clusters: %s MiB (RSS sum: %s MiB)." % (
            label, big["n"], ", ".join("run %d: %.0f" % (i + 1, p) for i, p in enumerate(peaks)),
            ", ".join("%.0f" % (r["peak_rss"] / 2 ** 20) for r in big["runs"])))
        if len(peaks) > 1:
            growth = peaks[1] - peaks[0]
            lines.append("Second identical run: %+.0f MiB (%s)." % (growth, label))
            targets.append(("4. no memory growth over a second run at %d clusters" % big["n"], "%+.0f MiB %s" % (growth, label),
                            verdict(growth <= 0.05 * peaks[0])))
        lines.append("")
        lines += ["## 6. The playbook's own time", "",
                  "Wall time minus the time spent in the ClusterGroupUpgrade waits (`ztp_cgu`), the render and install "
                  "waits (`ztp_install_wait`), the waits for ArgoCD to sync a pushed commit (`ztp_argocd_sync`), and the "
                  "waits of the selector reads for the spokes' view agent to answer (from the playbook's last "
                  "ManagedClusterView create to the simulator's last answer, audit log), first run.", "",
                  "| clusters | wall (s) | waiting (s) | of which view answers (s) | own time (s) |",
                  "|---|---|---|---|---|"]
        for row in full_rows:
            first = row["runs"][0]
            mine = own_time(first, row.get("view_waits", 0.0))
            cells = (row["n"], first["wall"], first["wall"] - mine, row.get("view_waits", 0.0), mine)
            lines.append("| %d | %.1f | %.1f | %.1f | %.1f |" % cells)
        lines.append("")
        targets.append(("5. full playbook at %d clusters" % big["n"], "%.1f s (%.2f s per cluster)" % (
            big["runs"][0]["wall"], big["runs"][0]["wall"] / big["n"]), "reported" if big["runs"][0]["rc"] == 0 else "FAILED"))
        big_own = own_time(big["runs"][0], big.get("view_waits", 0.0))
        targets.append(("6. playbook's own time at %d clusters <= 60 s" % big["n"], "%.1f s" % big_own,
                        verdict(big_own <= 60)))
    lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % t for t in targets]
    lines.append("")
    if append:
        lines = append_to(out_path, info, lines)
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


APPEND_MARK = "<!-- appended run -->"


def append_to(out_path, info, lines):
    """The earlier report of ``out_path`` (up to a previous appended run) followed by this run's sections, one heading
    level down, under a heading with this run's date and load."""
    previous = ""
    if os.path.exists(out_path):
        with open(out_path, encoding="utf-8") as handle:
            previous = handle.read().split(APPEND_MARK)[0].rstrip("\n")
    body = lines[lines.index("| date | %s |" % info["date"]) + 1:]
    body = [("#" + line) if line.startswith("#") else line for line in body]
    return [previous, "", APPEND_MARK, "## Later run (%s), same machine: the sizes below" % info["date"], ""] + body


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,50,500")
    parser.add_argument("--full-sizes", default="1,50,500")
    parser.add_argument("--runs", type=int, default=2, help="identical full runs at the largest size (memory)")
    parser.add_argument("--baseline-seconds", type=float, default=60)
    parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "RESULTS.md"))
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--append", action="store_true", help="add this run's sections to the existing --out file")
    parser.add_argument("--report-from", help="write the report of a kept full-<n> folder of a run still going")
    parser.add_argument("--bench-log", help="with --report-from: the output of that run (its printed run lines)")
    parser.add_argument("--install-wave", type=int, default=0, help="only: the simulator with this many installs at once")
    args = parser.parse_args(argv)
    info = machine()
    if args.install_wave:
        root = tempfile.mkdtemp(prefix="ztp-bench-")
        paths = [REPO, os.path.join(REPO, ".collections"), os.environ.get("PYTHONPATH", "")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
        env.pop("ANSIBLE_CONFIG", None)
        try:
            wave_report(info, install_wave(root, args.install_wave, env), args.out)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        return
    if args.report_from:
        n = int(os.path.basename(os.path.normpath(args.report_from)).split("-")[1])
        report(info, [], [rows_from(args.report_from, n, args.bench_log)], args.out, args.append)
        return
    root = tempfile.mkdtemp(prefix="ztp-bench-")
    paths = [REPO, os.path.join(REPO, ".collections"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    env.pop("ANSIBLE_CONFIG", None)
    git_sizes = [int(x) for x in args.sizes.split(",") if x]
    full_sizes = [int(x) for x in args.full_sizes.split(",") if x]
    try:
        git_rows = git_phase(root, git_sizes, env) if git_sizes else []
        if git_rows or not args.append:
            report(info, git_rows, [], args.out, args.append)
        full_rows = []
        for i, n in enumerate(full_sizes):
            biggest = n == max(full_sizes)
            full_rows.append(full_run(root, n, i, env, args.runs if biggest else 1, args.baseline_seconds if biggest else 0))
            # written after each size, so that a long run leaves the sizes done so far
            report(info, git_rows, full_rows, args.out, args.append)
    finally:
        if args.keep:
            print("work folder:", root)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
