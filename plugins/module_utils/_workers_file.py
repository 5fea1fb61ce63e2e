# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workers file of a fleet run: which new worker nodes go to which cluster.

YAML (``clusters: {<cluster>: {workers: [...], worker_policy: {...}}}``, plus optional ``defaults`` merged into
every worker) or CSV (one row per worker, for hardware kept in spreadsheets). A worker names its BMC
credentials by reference only (``credentials: <hub Secret name>``, or the upstream ``bmcCredentialsName``);
user names and passwords are refused without being echoed.

``parse`` returns ``{cluster: ClusterWorkers}``; ``check_fleet`` checks the whole fleet at once (unknown
clusters, host names, boot MACs and IP addresses used twice, in the file or by a node of another cluster in
the repository). Every error names the file, the line, the field, the value and the fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import csv
import io
import ipaddress
import os

from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_load as yaml_load
from ansible_collections.ztp.sno_expand.plugins.module_utils import _yaml_files as yaml_files
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError, is_secret_key

try:
    import yaml as _pyyaml
    _ComposeLoader = getattr(_pyyaml, "CSafeLoader", None) or _pyyaml.SafeLoader
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    _pyyaml = None
    _ComposeLoader = None

CSV_COLUMNS = ("cluster", "hostName", "bootMACAddress", "bmcAddress", "credentials", "bootMode", "role",
               "interface", "ip", "prefixLength", "gateway", "dns", "rootDeviceHint")
CSV_REQUIRED = ("cluster", "hostName", "bootMACAddress", "bmcAddress", "credentials")
CLUSTER_KEYS = ("workers", "worker_policy")
WORKER_POLICY_KEYS = ("path", "format", "name", "namespace", "binding_rules", "reserved_cpus", "isolated_cpus", "cpu_count",
                      "hugepages", "realtime_kernel", "extra_tuned", "source_cr_layout", "policy_name", "kustomization",
                      "allow_non_ztp_namespace")
CREDENTIAL_KEYS_REFUSED = ("username", "user", "password", "bmcUsername", "bmcPassword")
CREDENTIALS_HELP = ("a reference to the hub Secret that holds the BMC user name and password "
                    "(credentials: <secret name>); the Secret's contents come from ztp_bmc_credentials or "
                    "ztp_bmc_username/ztp_bmc_password (Ansible Vault or an AWX credential), never from this file")


class ClusterWorkers(object):
    """New workers of one cluster, with the line of each in the workers file."""

    def __init__(self, cluster, line):
        self.cluster = cluster
        self.line = line
        self.workers = []
        self.worker_lines = []
        self.worker_policy = {}


# ------------------------------------------------------------------------------------------------ lines

class LineIndex(object):
    """Line numbers (1-based) of the values of a YAML text, looked up by path ``[doc, key, index, ...]``."""

    def __init__(self, text):
        self._docs = []
        if _pyyaml is None or not text:
            return
        try:
            self._docs = list(_pyyaml.compose_all(text, Loader=_ComposeLoader))
        except _pyyaml.YAMLError:
            self._docs = []

    def line(self, path, key_line=False):
        """The line of the value at ``path`` (of its key when ``key_line``); the deepest line found otherwise."""
        if not path or not isinstance(path[0], int) or path[0] >= len(self._docs):
            return None
        node = self._docs[path[0]]
        found = node.start_mark.line + 1 if node is not None else None
        for step in path[1:]:
            if node is None:
                break
            nxt = None
            if isinstance(node, _pyyaml.MappingNode):
                for key_node, value_node in node.value:
                    if getattr(key_node, "value", None) == str(step):
                        nxt = key_node if key_line and step == path[-1] else value_node
                        break
            elif isinstance(node, _pyyaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                nxt = node.value[step]
            if nxt is None:
                break
            node = nxt
            found = node.start_mark.line + 1
        return found


def yaml_error_line(error):
    """The line (1-based) a YAML parse error points at, or None."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def where(path, line):
    return "%s:%s" % (path, line) if line else path


# ------------------------------------------------------------------------------------------------ parsing

def _locator(path, lines, wpath, line):
    """``loc(key)``: ``file:line`` of a key of one worker entry (of the entry itself for None)."""
    def loc(key):
        return where(path, lines.line(wpath + [key], key_line=True) if key else line)
    return loc


def _credentials(node, worker, errors, loc, index):
    """Turn ``credentials: <name>`` into ``bmcCredentialsName: {name: <name>}``; refuse user names and passwords."""
    for key in list(node):
        if key in CREDENTIAL_KEYS_REFUSED or (is_secret_key(key) and key != "credentials"):
            errors.append(ZtpInputError("workers[%d].%s" % (index, key), "********", "no credentials in the workers file: " + CREDENTIALS_HELP,
                                        loc(key)))
            worker.pop(key, None)
    ref = worker.pop("credentials", None)
    if ref is not None:
        if isinstance(ref, dict):
            extra = sorted(k for k in ref if k != "name")
            if extra:
                errors.append(ZtpInputError("workers[%d].credentials" % index, "keys %s" % ", ".join(extra),
                                            CREDENTIALS_HELP + "; remove the key(s) " + ", ".join(extra), loc("credentials")))
            ref = ref.get("name")
        if not isinstance(ref, str) or not ref:
            errors.append(ZtpInputError("workers[%d].credentials" % index, ref, CREDENTIALS_HELP, loc("credentials")))
        elif "bmcCredentialsName" in worker and worker["bmcCredentialsName"] != {"name": ref}:
            errors.append(ZtpInputError("workers[%d].credentials" % index, ref,
                                        "either credentials or bmcCredentialsName, not both with different names", loc("credentials")))
        else:
            worker["bmcCredentialsName"] = {"name": ref}
    bcn = worker.get("bmcCredentialsName")
    if isinstance(bcn, dict):
        extra = sorted(k for k in bcn if k != "name")
        if extra:
            errors.append(ZtpInputError("workers[%d].bmcCredentialsName" % index, "keys %s" % ", ".join(extra),
                                        CREDENTIALS_HELP + "; remove the key(s) " + ", ".join(extra), loc("bmcCredentialsName")))
            worker["bmcCredentialsName"] = {"name": bcn.get("name")}
    if "bmcCredentialsName" not in worker:
        errors.append(ZtpInputError("workers[%d].credentials" % index, None, CREDENTIALS_HELP, loc(None)))


def _load_yaml(path, text):
    try:
        docs = yaml_load.fast_load_all(text)
    except Exception as error:  # pylint: disable=broad-except
        line = yaml_error_line(error)
        raise ZtpInputError("path", path, "a valid YAML file (%s)" % " ".join(str(error).split()), where(path, line))
    docs = [d for d in docs if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ZtpInputError("path", path, "one YAML document, a mapping with the key clusters: {<cluster name>: {workers: [...]}}",
                            where(path, 1))
    return docs[0]


def parse_yaml(path, text):
    """``{cluster: ClusterWorkers}`` of a YAML workers file; ``(entries, errors)``."""
    data = _load_yaml(path, text)
    lines = LineIndex(text)
    errors = []
    unknown = sorted(k for k in data if k not in ("clusters", "defaults"))
    if unknown:
        errors.append(ZtpInputError(unknown[0], data[unknown[0]], "only the keys clusters and defaults at the top of the workers file",
                                    where(path, lines.line([0, unknown[0]], key_line=True))))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        errors.append(ZtpInputError("defaults", defaults, "a mapping of node fields given to every worker, like {role: worker, bootMode: UEFI}",
                                    where(path, lines.line([0, "defaults"]))))
        defaults = {}
    clusters = data.get("clusters")
    if not isinstance(clusters, dict):
        errors.append(ZtpInputError("clusters", clusters, "a mapping of cluster name to {workers: [...]}", where(path, lines.line([0, "clusters"]))))
        return {}, errors
    entries = {}
    for name, body in clusters.items():
        name = str(name)
        cpath = [0, "clusters", name]
        entry = ClusterWorkers(name, lines.line(cpath, key_line=True))
        entries[name] = entry
        if isinstance(body, list):
            body = {"workers": body}
        if not isinstance(body, dict):
            errors.append(ZtpInputError("clusters.%s" % name, body, "{workers: [...]} (and optionally worker_policy: {...})",
                                        where(path, entry.line)))
            continue
        for key in sorted(k for k in body if k not in CLUSTER_KEYS):
            errors.append(ZtpInputError("clusters.%s.%s" % (name, key), body[key], "only the keys workers and worker_policy",
                                        where(path, lines.line(cpath + [key], key_line=True))))
        policy = body.get("worker_policy") or {}
        if not isinstance(policy, dict):
            errors.append(ZtpInputError("clusters.%s.worker_policy" % name, policy, "a mapping of worker policy settings, like {reserved_cpus: \"0-3\"}",
                                        where(path, lines.line(cpath + ["worker_policy"]))))
            policy = {}
        for key in sorted(k for k in policy if k not in WORKER_POLICY_KEYS):
            errors.append(ZtpInputError("clusters.%s.worker_policy.%s" % (name, key), policy[key], "one of " + ", ".join(WORKER_POLICY_KEYS),
                                        where(path, lines.line(cpath + ["worker_policy", key], key_line=True))))
        entry.worker_policy = dict((k, v) for k, v in policy.items() if k in WORKER_POLICY_KEYS)
        workers = body.get("workers")
        if not isinstance(workers, list) or not workers:
            errors.append(ZtpInputError("clusters.%s.workers" % name, workers, "a list of at least one worker node entry",
                                        where(path, lines.line(cpath + ["workers"]))))
            continue
        for index, node in enumerate(workers):
            wpath = cpath + ["workers", index]
            line = lines.line(wpath)
            if not isinstance(node, dict):
                errors.append(ZtpInputError("clusters.%s.workers[%d]" % (name, index), node, "a node entry (hostName, bootMACAddress, bmcAddress, ...)",
                                            where(path, line)))
                continue
            worker = copy.deepcopy(defaults)
            worker.update(copy.deepcopy(node))
            worker.setdefault("role", "worker")

            loc = _locator(path, lines, wpath, line)
            _credentials(dict(defaults, **node), worker, errors, loc, index)
            entry.workers.append(worker)
            entry.worker_lines.append(line)
    return entries, errors


def _csv_network(row):
    ip = row.get("ip")
    if not ip:
        return None
    version = ipaddress.ip_address(ip).version
    iface = row.get("interface") or "eno1"
    prefix = int(row.get("prefixLength") or (24 if version == 4 else 64))
    family = "ipv%d" % version
    other = "ipv%d" % (10 - version)
    config_iface = {"name": iface, "type": "ethernet", "state": "up",
                    family: {"enabled": True, "dhcp": False, "address": [{"ip": ip, "prefix-length": prefix}]},
                    other: {"enabled": False}}
    if version == 6:
        config_iface[family]["autoconf"] = False
    config = {"interfaces": [config_iface]}
    if row.get("dns"):
        config["dns-resolver"] = {"config": {"server": [s.strip() for s in row["dns"].split(";") if s.strip()]}}
    if row.get("gateway"):
        config["routes"] = {"config": [{"destination": "0.0.0.0/0" if version == 4 else "::/0", "next-hop-interface": iface,
                                        "next-hop-address": row["gateway"], "table-id": 254}]}
    return {"interfaces": [{"name": iface, "macAddress": row.get("bootMACAddress")}], "config": config}


def parse_csv(path, text):
    """``{cluster: ClusterWorkers}`` of a CSV workers file (header row of ``CSV_COLUMNS``); ``(entries, errors)``."""
    errors = []
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    refused = [c for c in header if c in CREDENTIAL_KEYS_REFUSED or (is_secret_key(c) and c != "credentials")]
    if refused:
        raise ZtpInputError("column %s" % refused[0], "********", "no credentials in the workers file: " + CREDENTIALS_HELP, where(path, 1))
    if unknown:
        raise ZtpInputError("column", unknown[0], "one of the columns " + ", ".join(CSV_COLUMNS), where(path, 1))
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise ZtpInputError("header", ",".join(header), "a header row with at least the columns " + ", ".join(CSV_REQUIRED)
                            + " (missing: %s)" % ", ".join(missing), where(path, 1))
    entries = {}
    for row in reader:
        line = reader.line_num
        row = dict((k, (v or "").strip()) for k, v in row.items() if k)
        if not any(row.values()):
            continue
        bad = [c for c in CSV_REQUIRED if not row.get(c)]
        if bad:
            errors.append(ZtpInputError(bad[0], "", "a value in every row for the columns " + ", ".join(CSV_REQUIRED), where(path, line)))
            continue
        worker = {"hostName": row["hostName"], "role": row.get("role") or "worker", "bmcAddress": row["bmcAddress"],
                  "bmcCredentialsName": {"name": row["credentials"]}, "bootMACAddress": row["bootMACAddress"],
                  "bootMode": row.get("bootMode") or "UEFI"}
        if row.get("rootDeviceHint"):
            worker["rootDeviceHints"] = {"deviceName": row["rootDeviceHint"]}
        try:
            network = _csv_network(row)
        except ValueError:
            errors.append(ZtpInputError("ip", row.get("ip"), "an IPv4 or IPv6 address like 192.168.30.20 or 2001:db8::20", where(path, line)))
            continue
        if network:
            worker["nodeNetwork"] = network
        entry = entries.get(row["cluster"])
        if entry is None:
            entry = entries[row["cluster"]] = ClusterWorkers(row["cluster"], line)
        entry.workers.append(worker)
        entry.worker_lines.append(line)
    return entries, errors


def read(path):
    """Parse the workers file ``path`` (``.csv`` as CSV, anything else as YAML); ``(entries, errors)``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as error:
        raise ZtpInputError("workers_file", path, "a readable workers file (%s)" % error.strerror)
    text = yaml_files.decode_text(data, path)
    if text.startswith(yaml_files.UTF8_BOM):
        text = text[len(yaml_files.UTF8_BOM):]
    if os.path.splitext(path)[1].lower() == ".csv":
        return parse_csv(path, text)
    return parse_yaml(path, text)


# ------------------------------------------------------------------------------------------------ fleet checks

def node_ips(node):
    """Every IP address the nmstate ``nodeNetwork.config`` of a node entry gives its interfaces."""
    found = []
    config = ((node.get("nodeNetwork") or {}).get("config") or {}) if isinstance(node, dict) else {}
    for iface in config.get("interfaces") or []:
        if not isinstance(iface, dict):
            continue
        for family in ("ipv4", "ipv6"):
            fam = iface.get(family)
            for addr in (fam.get("address") or []) if isinstance(fam, dict) else []:
                if isinstance(addr, dict) and addr.get("ip"):
                    try:
                        found.append(str(ipaddress.ip_address(str(addr["ip"]))))
                    except ValueError:
                        continue
    return found


def _mac(value):
    return str(value).lower() if value else None


def check_fleet(path, entries, clusters):
    """Errors of the workers file against the fleet.

    ``clusters``: ``{name: (file, line, [existing node entries], is_sno)}`` as found in the repository; ``line`` may be a
    function of no arguments, called only for a message.
    Unknown clusters, clusters that are not single-node, and host names, boot MACs and IPs used twice (in the
    file, or by a node of another cluster or another node of the same cluster in the repository) are errors.
    """
    errors = []
    seen = {"hostName": {}, "bootMACAddress": {}, "ip": {}}
    # The repository's nodes first: a worker already added by an earlier run is the same node, not a duplicate.
    for cname in sorted(clusters):
        cfile, cline, nodes, _sno = clusters[cname]
        for node in nodes:
            if not isinstance(node, dict):
                continue
            owner = (cname, node.get("hostName"), _Place(cfile, cline))
            if node.get("hostName"):
                seen["hostName"].setdefault(str(node["hostName"]).lower(), owner)
            if node.get("bootMACAddress"):
                seen["bootMACAddress"].setdefault(_mac(node["bootMACAddress"]), owner)
            for ip in node_ips(node):
                seen["ip"].setdefault(ip, owner)
    names = sorted(clusters)
    for cname in sorted(entries, key=lambda n: entries[n].line or 0):
        entry = entries[cname]
        if cname not in clusters:
            close = [n for n in names if n.startswith(cname[:4])][:5] if cname else []
            errors.append(ZtpInputError("cluster", cname, "a cluster of the GitOps repository (%d found%s); fix the name or add the "
                                        "cluster's SiteConfig or ClusterInstance first"
                                        % (len(names), ", for example " + ", ".join(close) if close else ""), where(path, entry.line)))
            continue
        if not clusters[cname][3]:
            errors.append(ZtpInputError("cluster", cname, "a single-node OpenShift cluster: %s defines it with more than one "
                                        "control-plane node; remove it from the workers file" % clusters[cname][0], where(path, entry.line)))
        for index, worker in enumerate(entry.workers):
            line = entry.worker_lines[index]
            values = [("hostName", str(worker.get("hostName") or "").lower() or None),
                      ("bootMACAddress", _mac(worker.get("bootMACAddress")))]
            values += [("ip", ip) for ip in node_ips(worker)]
            for field, value in values:
                if value is None:
                    continue
                owner = seen[field].get(value)
                here = (cname, worker.get("hostName"), _Place(path, line))
                if owner is None:
                    seen[field][value] = here
                    continue
                in_repository = owner[2].path != path
                if field == "hostName" and owner[0] == cname and in_repository:
                    continue  # the worker is in the cluster's file already (an earlier run added it)
                if field != "hostName" and owner[0] == cname and owner[1] == worker.get("hostName") and in_repository:
                    continue
                errors.append(ZtpInputError(
                    "clusters.%s.workers[%d].%s" % (cname, index, field), value,
                    "a value used once in the fleet: %s already uses it for %s of cluster %s; give this worker its own %s"
                    % (owner[2].text(), owner[1], owner[0], field), where(path, line)))
    return errors


class _Place(object):
    """A file and a line, the line possibly computed only when a message needs it."""

    def __init__(self, path, line):
        self.path = path
        self.line = line

    def text(self):
        line = self.line() if callable(self.line) else self.line
        return where(self.path, line)
