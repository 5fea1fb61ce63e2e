"""Install verification at fleet scale with the install path as a real hub runs it (appends to benchmarks/RESULTS.md).

    python -m benchmarks.install_bench [--clusters 500] [--speed 3000] [--error-share 0.05] [--out benchmarks/RESULTS.md]

A test hub with its audit log gets N single-node clusters (namespace, ManagedCluster, InfraEnv) and one day-2 worker
BareMetalHost each, as ArgoCD renders them, on BMC drivers without virtual media so that the baremetal-operator's
provisioning capacity limit (20) holds them back (``operationalStatus: delayed``); a share of the hosts gets a transient
BMC error (two failed attempts, then the operator's backoff clears it). One ``ztp.sno_expand.ztp_install_wait`` task
(the default verdict rules, the worker MachineConfigPool wait on) waits for all of them. Reported: every verdict (no
false failure, no false stall), the delayed and recovered hosts seen, the wait's wall time and the requests of the
collection's user in the hub audit log while it waited: per second at the simulator's pace, the most in one minute, and
per simulated second (the requests over the simulated duration, plus the watches' timed reopening), which is what a
real hub would see when the simulator kept pace with its clock (at a low enough speed for the machine).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from benchmarks.bench import audit_events, projected_rate, requests_of

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT_BASE = 25400
BMH = ("metal3.io/v1alpha1", "BareMetalHost")
INFRAENV = ("agent-install.openshift.io/v1beta1", "InfraEnv")
MC = ("cluster.open-cluster-management.io/v1", "ManagedCluster")
COLLECTION_USER = "testhub-admin"


def name_of(index: int) -> str:
    return "inst-%04d" % index


def create(api, gvk, body):
    res = api.resources.get(api_version=gvk[0], kind=gvk[1])
    try:
        res.create(body=body, namespace=body["metadata"].get("namespace"))
    except Exception as exc:  # pylint: disable=broad-except
        if getattr(exc, "status", None) != 409:
            raise


def fleet(api, count: int) -> list[dict]:
    """The clusters and one worker each; returns the nodes of the wait."""
    nodes = []
    for index in range(count):
        name = name_of(index)
        create(api, ("v1", "Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        create(api, MC, {"apiVersion": MC[0], "kind": MC[1], "metadata": {"name": name, "labels": {"name": name}},
                         "spec": {"hubAcceptsClient": True}})
        create(api, INFRAENV, {"apiVersion": INFRAENV[0], "kind": INFRAENV[1], "metadata": {"name": name, "namespace": name},
                               "spec": {"clusterRef": {"name": name, "namespace": name}, "pullSecretRef": {"name": "ps"}}})
        host = name + "-worker-0"
        create(api, ("v1", "Secret"), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": host + "-bmc", "namespace": name},
                                       "stringData": {"username": "admin", "password": "secret"}})
        create(api, BMH, {
            "apiVersion": BMH[0], "kind": BMH[1],
            "metadata": {"name": host, "namespace": name, "labels": {"infraenvs.agent-install.openshift.io": name},
                         "annotations": {"bmac.agent-install.openshift.io/role": "worker",
                                         "bmac.agent-install.openshift.io/hostname": host, "inspect.metal3.io": "disabled"}},
            "spec": {"online": True, "bootMode": "UEFI", "bootMACAddress": "b4:96:91:%02x:%02x:01" % (index // 256, index % 256),
                     "automatedCleaningMode": "disabled",
                     "bmc": {"address": "redfish://10.%d.%d.10/redfish/v1/Systems/1" % (index // 250, index % 250),
                             "credentialsName": host + "-bmc"}}})
        nodes.append({"cluster": name, "host": host})
    return nodes


def set_settings(api, **values):
    configmaps = api.resources.get(api_version="v1", kind="ConfigMap")
    current = configmaps.get(name="hub-simulator", namespace="ztp-simulator").to_dict()
    config = yaml.safe_load(current["data"]["config.yaml"]) or {}
    config.update(values)
    configmaps.patch(name="hub-simulator", namespace="ztp-simulator", body={"data": {"config.yaml": yaml.safe_dump(config)}})


def run_wait(hub, nodes, workdir, timeout, mcp=True):
    out = os.path.join(workdir, "result.json")
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "wait", "ztp.sno_expand.ztp_install_wait": {"nodes": nodes, "timeout": timeout, "fail_fast": False,
                                                             "wait_for_mcp": mcp},
         "register": "waited", "ignore_errors": True},
        {"name": "keep", "ansible.builtin.copy": {"content": "{{ waited | to_json }}", "dest": out}}]}]
    playbook = os.path.join(workdir, "wait.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump(play, handle)
    env = dict(os.environ)
    env.update(hub.env)
    env.update({"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"), "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
                "ANSIBLE_NOCOLOR": "1"})
    started = time.time()
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
                           playbook], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout + 300, check=False)
    ended = time.time()
    with open(os.path.join(workdir, "wait.log"), "w", encoding="utf-8") as handle:
        handle.write(proc.stdout)
    with open(out, encoding="utf-8") as handle:
        return json.load(handle), started, ended


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--speed", type=float, default=3000)
    parser.add_argument("--error-share", type=float, default=0.05)
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "RESULTS.md"))
    parser.add_argument("--keep", action="store_true", help="keep the hub's run directory")
    parser.add_argument("--no-mcp", action="store_true", help="wait without the worker MachineConfigPool (no views)")
    args = parser.parse_args(argv)

    from testhub.hubctl import Hub, free_port_base  # pylint: disable=import-outside-toplevel

    root = tempfile.mkdtemp(prefix="install-bench-")
    hub = Hub(os.path.join(root, "hub"), port_base=free_port_base(PORT_BASE), simulator=True, audit=True, speed=args.speed)
    hub.start()
    try:
        api = hub.api()
        erring = set(range(0, args.clusters, max(1, round(1 / args.error_share)))) if args.error_share > 0 else set()
        set_settings(api, speed=args.speed, provisioningLimit=20,
                     faults=[{"kind": "bmc-error", "cluster": name_of(i), "count": 2} for i in sorted(erring)])
        made = time.time()
        nodes = fleet(api, args.clusters)
        print("fleet of %d made in %.1f s" % (args.clusters, time.time() - made), flush=True)
        result, started, ended = run_wait(hub, nodes, root, args.timeout, mcp=not args.no_mcp)
        events = audit_events(hub.audit_log)
        requests = requests_of(events, COLLECTION_USER, started, ended)
        by_verb = {}
        for event in events:
            if event["user"] == COLLECTION_USER and started <= event["received"] <= ended and event["stage"] == "ResponseComplete":
                key = "%s %s" % (event["verb"], event["resource"])
                by_verb[key] = by_verb.get(key, 0) + 1
        rows = result.get("nodes") or []
        ready = sum(1 for n in rows if n["ready"])
        failed = [n for n in rows if n["failed"]]
        delayed = sum(1 for n in rows if any(s["stage"].endswith("(delayed)") for s in n["stages"]))
        recovered = sum(1 for n in rows if any(s["stage"].endswith("cleared") for s in n["stages"]))
        erring_seen = sum(1 for n in rows if any("registration error" in s["stage"] for s in n["stages"]))
        mcp = sum(1 for n in rows if n["stages"] and n["stages"][-1]["stage"] == "MachineConfigPool worker Updated")
        mcp = mcp if not args.no_mcp else "not waited for"
        wall = ended - started
        watches = sum(v for k, v in by_verb.items() if k.startswith("watch "))
        simulated = wall * args.speed
        projected = projected_rate(requests, watches, wall, args.speed) if simulated else None
        summary = {"clusters": args.clusters, "ready": ready, "failed": len(failed), "delayed": delayed, "recovered": recovered,
                   "erring_seen": erring_seen, "erring": len(erring), "mcp_last": mcp, "wall": round(wall, 1),
                   "requests": requests, "rate": round(requests / wall, 3) if wall else None, "by_verb": by_verb,
                   "simulated": round(simulated), "projected": round(projected, 3) if projected is not None else None,
                   "peak_minute": peak_per_minute(events, started, ended, args.speed),
                   "first_failures": [n["error"] for n in failed[:3]]}
        print(json.dumps(summary, indent=1), flush=True)
        append(args, summary)
        return 0 if ready == args.clusters and not failed and (summary["projected"] or 0) <= 2 else 1
    finally:
        hub.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def peak_per_minute(events, started, ended, speed):
    """The most requests of the collection received in any simulated minute of the wait (60 / speed s of wall time)."""
    stamps = sorted(set((e["received"], e["id"]) for e in events
                        if e["user"] == COLLECTION_USER and started <= e["received"] <= ended))
    peak = first = 0
    for last, (stamp, _id) in enumerate(stamps):
        while stamps[first][0] < stamp - 60.0 / speed:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def append(args, s):
    load = os.getloadavg()
    title = "## Install verification with the real install path (%s), %s, %d CPUs" % (
        datetime.datetime.now().isoformat(timespec="seconds"), platform.machine(), os.cpu_count() or 0)
    lines = ["", title, "",
             "`python -m benchmarks.install_bench --clusters %d --speed %g --error-share %g%s`: %d clusters with one day-2 worker each "
             "on a BMC driver without virtual media, the provisioning capacity limit at 20, %d hosts (%g %%) with a transient BMC "
             "error (two failed attempts, then recovery after the operator's backoff), one `ztp_install_wait` for all of them "
             "with the default verdict rules%s." % (
                 args.clusters, args.speed, args.error_share, " --no-mcp" if args.no_mcp else "", args.clusters, s["erring"],
                 100 * args.error_share, "" if args.no_mcp else " and the worker MachineConfigPool wait"), "",
             "| clusters | ready | failed | seen delayed | seen with a BMC error / recovered | pool Updated last | wait (s) | "
             "requests of `testhub-admin` | requests/s at %gx | most in one simulated minute | simulated wait (s) | "
             "requests/s per simulated second |" % args.speed,
             "|---|---|---|---|---|---|---|---|---|---|---|---|",
             "| %d | %d | %d | %d | %d / %d | %s | %.1f | %d | %.3f | %d | %d | %.3f |" % (
                 s["clusters"], s["ready"], s["failed"], s["delayed"], s["erring_seen"], s["recovered"], s["mcp_last"], s["wall"],
                 s["requests"], s["rate"] or 0, s["peak_minute"], s["simulated"], s["projected"] or 0), "",
             "Requests by verb and resource: %s. Load average at the end: %.2f %.2f %.2f." % (
                 ", ".join("%s %d" % (k, v) for k, v in sorted(s["by_verb"].items())) or "none", load[0], load[1], load[2]), "",
             "Targets: every verdict right (no false failure, no false stall): %s; hub load while waiting <= 2 requests/s "
             "per simulated second: %s (%.3f/s; per second of wall time at %gx: %.3f/s). The simulated figures hold for a "
             "real hub only when the simulator kept pace (the simulated wait close to the install wave's modelled length)." % (
                 "met" if s["ready"] == s["clusters"] and not s["failed"] else "NOT met: %s" % "; ".join(s["first_failures"]),
                 "met" if (s["projected"] or 0) <= 2 else "NOT met", s["projected"] or 0, args.speed, s["rate"] or 0), ""]
    with open(args.out, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
