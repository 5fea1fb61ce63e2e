"""The fleet report of a real install watch, opened in headless Chromium.

Workers are added on the test hub (BMC Secret and BareMetalHost, as ArgoCD would render them); the hub simulator
installs them, one with the ``agent-failed`` fault. ``ztp.sno_expand.ztp_install_wait`` watches them through an
``ansible-playbook`` run, the records of the batch are built from its result, and ``ztp.sno_expand.ztp_fleet_report``
writes the report (a second playbook run, twice: the second changes nothing). Then Chromium, driven by chromedriver
through its W3C HTTP API (Python's standard library only), opens the page and the test checks what a person sees: a row
per cluster, one timeline per node of an opened cluster, the failure of the faulted node with the hub's cause text and
its troubleshooting link, search and filters, no element or script injected by a hostile cluster name, no request for
anything outside the file. A screenshot is taken (``ZTP_FLEET_REPORT_SCREENSHOT`` names a copy to keep).

Chromium and chromedriver come from ``hack/browser.sh`` (Debian's chromium and chromium-driver, installed when absent);
when no browser can be had, the test fails.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SPEED = 30  # simulated seconds per real second: an install takes about half a minute, long enough to draw
WORKERS = [("sno-a", "sno-a-worker-0.ran.example.com"), ("sno-a", "sno-a-worker-1.ran.example.com"),
           ("sno-b", "sno-b-worker-0.ran.example.com"), ("sno-c", "sno-c-worker-0.ran.example.com")]
FAULTED = ("sno-b", "sno-b-worker-0.ran.example.com")
HUB_CAUSE = "Host failed to install due to timeout while writing image to disk"  # the simulator's Agent message
HOSTILE = '<img src=x onerror="window.pwned=1">sno-x'
HOSTILE_MSG = '</script><script>window.pwned=2</script><b id="injected">bold</b>'


# ------------------------------------------------------------------------------------------------ the browser

def browser_paths() -> tuple[str, str]:
    proc = subprocess.run(["bash", os.path.join(REPO, "hack", "browser.sh")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=900, check=False)
    found = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    if proc.returncode != 0 or "chromium" not in found or "chromedriver" not in found:
        pytest.fail("no headless browser for the fleet report test (hack/browser.sh exit %d): %s"
                    % (proc.returncode, proc.stderr.strip()[-2000:]))
    return found["chromium"], found["chromedriver"]


class Browser:
    """Chromium through chromedriver's W3C WebDriver HTTP API."""

    def __init__(self, chromium: str, chromedriver: str, log_path: str):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen([chromedriver, "--port=%d" % port], stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % port
        self.session = None
        deadline = time.monotonic() + 60
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start; see %s" % log_path)
            time.sleep(0.2)
        options = {"binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                                "--hide-scrollbars", "--window-size=1400,1000", "--force-device-scale-factor=1"]}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options,
                                                 "goog:loggingPrefs": {"browser": "ALL"}}}}
        self.session = self._call("POST", "/session", caps, timeout=120)["sessionId"]

    def _call(self, method: str, path: str, body=None, timeout: float = 60):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode())["value"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError("%s %s: %s" % (method, path, exc.read().decode(errors="replace")[:2000])) from exc

    def cmd(self, method: str, path: str, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path), body)

    def open(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def js(self, script: str, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return next(iter(self.cmd("POST", "/element", {"using": "css selector", "value": css}).values()))

    def click(self, css: str) -> None:
        self.cmd("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css: str, text: str) -> None:
        self.cmd("POST", "/element/%s/value" % self.find(css), {"text": text})

    def wait(self, script: str, what: str, *args, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("the page did not show %s within %d s" % (what, timeout))
            time.sleep(0.1)

    def screenshot(self, path: str) -> bytes:
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as handle:
            handle.write(png)
        return png

    def console(self) -> list:
        return self.cmd("POST", "/se/log", {"type": "browser"})

    def close(self) -> None:
        try:
            if self.session:
                self._call("DELETE", "/session/%s" % self.session, timeout=30)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
            self.log.close()


# ------------------------------------------------------------------------------------------------ the hub side

def add_workers(fleet) -> None:
    """The objects ArgoCD renders for a new worker (BMC Secret aside, which the play creates): BareMetalHosts the
    simulated metal3 and assisted-service take through the install."""
    api = fleet.hub.api()
    secrets = api.resources.get(api_version="v1", kind="Secret")
    bmhs = api.resources.get(api_version="metal3.io/v1alpha1", kind="BareMetalHost")
    for index, (cluster, host) in enumerate(WORKERS):
        infraenvs = fleet.items("agent-install.openshift.io/v1beta1", "InfraEnv", cluster)
        assert infraenvs, "no InfraEnv in %s on the test hub" % cluster
        infraenv = next((i for i in infraenvs if i["metadata"]["name"] == cluster), infraenvs[0])["metadata"]["name"]
        secret = host.split(".")[0] + "-bmc"
        secrets.create(namespace=cluster, body={
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": secret, "namespace": cluster},
            "stringData": {"username": "admin", "password": fleet.bmc_password}})
        bmhs.create(namespace=cluster, body={
            "apiVersion": "metal3.io/v1alpha1", "kind": "BareMetalHost",
            "metadata": {"name": host, "namespace": cluster,
                         "labels": {"infraenvs.agent-install.openshift.io": infraenv},
                         "annotations": {"bmac.agent-install.openshift.io/hostname": host,
                                         "bmac.agent-install.openshift.io/role": "worker"}},
            "spec": {"online": True, "bootMACAddress": "AA:BB:CC:DD:EE:%02X" % (0x20 + index), "bootMode": "UEFI",
                     "automatedCleaningMode": "disabled",
                     "bmc": {"address": "redfish-virtualmedia+https://192.0.2.%d/redfish/v1/Systems/1" % (10 + index),
                             "credentialsName": secret, "disableCertificateVerification": True}}})


def records_of(wait: dict, batch: int) -> list[dict]:
    """The batch's records as the batch layer hands them over: one per cluster, judged on its own nodes."""
    by_cluster: dict = {}
    for node in wait["nodes"]:
        by_cluster.setdefault(node["cluster"], []).append(node)
    records = []
    for cluster, nodes in sorted(by_cluster.items()):
        failed = [n for n in nodes if not n["ready"]]
        records.append({
            "cluster": cluster, "inventory_host": cluster, "batch": batch, "ok": not failed,
            "phase": "install_verification" if failed else "done",
            "msg": "; ".join("%s/%s: %s" % (cluster, n["host"], n.get("error") or n.get("state")) for n in failed),
            "cgu": {"workers": {"name": cluster + "-workers", "namespace": "default", "state": "complete", "succeeded": True,
                                "msg": "all policies compliant"}},
            "nodes": nodes})
    return records


WAIT_PLAY = """
- name: Watch the workers' installs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait for the workers of the batch
      ztp.sno_expand.ztp_install_wait:
        nodes: "{{ report_nodes }}"
        timeout: 300
        stall_timeout: 150
        fail_fast: false
      register: wait
      ignore_errors: true

    - name: Keep the watch's result
      ansible.builtin.copy:
        content: "{{ wait | to_json }}"
        dest: "{{ report_wait_file }}"
        mode: "0600"
"""

REPORT_PLAY = """
- name: Write the fleet report
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add the batch to the fleet report
      ztp.sno_expand.ztp_fleet_report:
        path: "{{ report_path }}"
        title: Fleet report of the test hub
        batch: "{{ report_batch }}"
        clusters: "{{ report_records }}"
      register: report

    - name: Keep the module's result
      ansible.builtin.copy:
        content: "{{ report | to_json }}"
        dest: "{{ report_result_file }}"
        mode: "0600"
"""


def write_report(fleet, play: str, report_path: str, records: list, batch: int) -> dict:
    result_file = os.path.join(fleet.workdir, "report-result-%d.json" % batch)
    variables = os.path.join(fleet.workdir, "report-vars-%d.json" % batch)
    with open(variables, "w", encoding="utf-8") as handle:
        json.dump({"report_path": report_path, "report_batch": batch, "report_records": records,
                   "report_result_file": result_file}, handle)
    result = fleet.play_file(play, "-e", "@" + variables, timeout=300)
    assert result.rc == 0, result.output[-4000:]
    with open(result_file, encoding="utf-8") as handle:
        return json.load(handle)


# ------------------------------------------------------------------------------------------------ the test

def test_fleet_report_in_a_browser(fleet, tmp_path):
    chromium, chromedriver = browser_paths()
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        docs_url = yaml.safe_load(handle)["documentation"].rstrip("/")

    fleet.set_simulator(speed=SPEED, faults=[{"kind": "agent-failed", "cluster": FAULTED[0], "host": FAULTED[1]}])
    add_workers(fleet)
    wait_play = tmp_path / "wait.yml"
    wait_play.write_text(WAIT_PLAY)
    wait_file = tmp_path / "wait.json"
    nodes = [{"cluster": c, "host": h} for c, h in WORKERS]
    watched = fleet.play_file(str(wait_play), extra_vars={"report_nodes": nodes, "report_wait_file": str(wait_file)}, timeout=420)
    assert watched.rc == 0, watched.output[-4000:]
    wait = json.loads(wait_file.read_text())
    verdicts = {(n["cluster"], n["host"]): (n["ready"], n["failed"]) for n in wait["nodes"]}
    assert verdicts == {w: ((False, True) if w == FAULTED else (True, False)) for w in WORKERS}, wait.get("msg")
    faulted = next(n for n in wait["nodes"] if (n["cluster"], n["host"]) == FAULTED)
    assert HUB_CAUSE in (faulted.get("cause") or "") + (faulted.get("error") or "")
    assert all(len(n["stages"]) >= 6 for n in wait["nodes"]), [n["stages"] for n in wait["nodes"]]

    report_play = tmp_path / "report.yml"
    report_play.write_text(REPORT_PLAY)
    report_path = str(tmp_path / "artifacts" / "fleet.html")
    records = records_of(wait, 1)
    first = write_report(fleet, str(report_play), report_path, records, 1)
    assert first["changed"] and first["clusters"] == {"total": 3, "succeeded": 2, "failed": 1, "incomplete": 0}, first
    assert first["nodes"]["ready"] == 3 and first["nodes"]["failed"] == 1
    again = write_report(fleet, str(report_play), report_path, records, 1)
    assert not again["changed"] and again["written"] == [], again
    hostile = [{"cluster": HOSTILE, "ok": False, "phase": "policy_creation", "msg": HOSTILE_MSG, "nodes": [],
                "cgu": {"workers": {"name": "x", "namespace": "default", "state": "TimedOut", "succeeded": False, "msg": HOSTILE_MSG}}}]
    second = write_report(fleet, str(report_play), report_path, hostile, 2)
    assert second["changed"] and second["clusters"]["total"] == 4 and second["batches"] == 2
    assert json.loads((tmp_path / "artifacts" / "fleet.json").read_text())["summary"]["clusters"]["failed"] == 2

    browser = Browser(chromium, chromedriver, str(tmp_path / "chromedriver.log"))
    try:
        browser.open("file://" + report_path)
        browser.wait("return document.body.getAttribute('data-ready') === 'true'", "the cluster table")
        # the fleet first: counts by outcome
        assert browser.js("return document.querySelector('#count-failed .num').textContent") == "2"
        assert browser.js("return document.querySelector('#count-succeeded .num').textContent") == "2"
        assert browser.js("return document.querySelector('#count-nodes-ready .num').textContent") == "3"
        # one row per cluster, failures first
        rows = browser.js("return Array.from(document.querySelectorAll('tr.cluster-row')).map("
                          "r => [r.getAttribute('data-cluster'), r.getAttribute('data-outcome'), r.cells[0].textContent])")
        assert sorted(r[0] for r in rows) == sorted(["sno-a", "sno-b", "sno-c", HOSTILE])
        assert {r[0]: r[1] for r in rows} == {"sno-a": "succeeded", "sno-b": "failed", "sno-c": "succeeded", HOSTILE: "failed"}
        assert [r[1] for r in rows[:2]] == ["failed", "failed"]
        assert {r[0]: r[2] for r in rows}[HOSTILE] == HOSTILE, "the hostile name is shown as text"

        # opening a cluster draws one timeline per node
        browser.click("tr.cluster-row[data-cluster='sno-a']")
        timelines = browser.wait("return Array.from(document.querySelectorAll(\"tr.detail-row[data-cluster='sno-a'] div.node\"))"
                                 ".map(n => [n.getAttribute('data-host'), n.getAttribute('data-verdict'),"
                                 " n.querySelectorAll('svg.timeline').length,"
                                 " Array.from(n.querySelectorAll('svg.timeline > text')).map(t => t.textContent),"
                                 " Array.from(n.querySelectorAll('g.bar')).map(g => g.getAttribute('data-stage'))])",
                                 "the timelines of sno-a")
        assert [t[0] for t in timelines] == [h for c, h in WORKERS if c == "sno-a"]
        for host, verdict, count, labels, stages in timelines:
            assert verdict == "ready" and count == 1, host
            assert {"PreprovisioningImage", "BareMetalHost", "Agent", "Node"} <= set(labels), (host, labels)
            assert "Node Ready" in stages and "Agent Writing image to disk" in stages, (host, stages)

        # the faulted node: its failure with the hub's cause, marked on its timeline, linked to the guide
        browser.click("tr.cluster-row[data-cluster='sno-b']")
        failed = browser.wait("var n = document.querySelector(\"tr.detail-row[data-cluster='sno-b'] div.node\"); return n && "
                              "[n.getAttribute('data-host'), n.getAttribute('data-verdict'), n.querySelectorAll('svg.timeline').length,"
                              " Array.from(n.querySelectorAll('.node-error, .node-cause')).map(e => e.textContent).join(' | '),"
                              " n.querySelectorAll('svg.timeline .failure-mark').length,"
                              " Array.from(n.querySelectorAll('a.doc')).map(a => a.href)]", "the failure of sno-b")
        host, verdict, count, text, marks, links = failed
        assert (host, verdict, count) == (FAULTED[1], "failed", 1)
        assert HUB_CAUSE in text and "Agent " in text, text
        assert marks >= 1
        assert links == [docs_url + "/user-guide.md#ts-agent-failed"]
        assert browser.js("return document.querySelector(\"tr.detail-row[data-cluster='sno-b'] .cluster-msg\").textContent"
                          ".indexOf(arguments[0]) >= 0", HUB_CAUSE)
        png = browser.screenshot(str(tmp_path / "fleet-report.png"))
        assert png.startswith(b"\x89PNG") and len(png) > 20000
        keep = os.environ.get("ZTP_FLEET_REPORT_SCREENSHOT")
        if keep:
            shutil.copyfile(str(tmp_path / "fleet-report.png"), keep)

        # search and filters
        browser.type("#search", "sno-c")
        browser.wait("return document.querySelectorAll('tr.cluster-row').length === 1", "one row for the search sno-c")
        assert browser.js("return document.querySelector('tr.cluster-row').getAttribute('data-cluster')") == "sno-c"
        browser.js("var s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input'));"
                   "var o = document.getElementById('outcome'); o.value = 'failed'; o.dispatchEvent(new Event('change'));")
        browser.wait("return document.querySelectorAll('tr.cluster-row').length === 2", "the two failed clusters")
        # a link to a cluster opens it
        browser.open("file://" + report_path + "#cluster=sno-c")
        browser.wait("return document.querySelectorAll(\"tr.detail-row[data-cluster='sno-c'] svg.timeline\").length === 1",
                     "sno-c opened from its link")

        # nothing injected, nothing loaded from elsewhere, no error or policy violation
        assert browser.js("return [typeof window.pwned, document.querySelectorAll('img, #injected').length]") == ["undefined", 0]
        browser.click("tr.cluster-row[data-cluster='%s']" % HOSTILE.replace("\\", "\\\\").replace("'", "\\'"))
        assert HOSTILE_MSG in browser.wait(
            "var r = Array.from(document.querySelectorAll('tr.detail-row')).filter(r => r.getAttribute('data-cluster') === arguments[0]);"
            " var d = r.length && r[0].querySelector('.cluster-msg'); return d && d.textContent", "the hostile message", HOSTILE)
        assert browser.js("return [typeof window.pwned, document.querySelectorAll('img, #injected').length]") == ["undefined", 0]
        assert browser.js("return performance.getEntriesByType('resource').length") == 0
        problems = [e for e in browser.console() if e.get("level") == "SEVERE" or "Content Security Policy" in e.get("message", "")]
        assert not problems, problems
    finally:
        browser.close()
