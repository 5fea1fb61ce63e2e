# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _workers_file as workers_file
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError

YAML_FILE = """\
# comment line 1
defaults:
  bootMode: UEFI
clusters:
  sno-a:
    worker_policy:
      reserved_cpus: "0-3"
    workers:
      - hostName: sno-a-worker-0.example.com
        bmcAddress: redfish-virtualmedia+https://10.0.0.101/redfish/v1/Systems/1
        credentials: sno-a-worker-0-bmc
        bootMACAddress: "0c:42:a1:8a:00:20"
        nodeNetwork:
          config:
            interfaces:
              - name: eno1
                ipv4: {enabled: true, address: [{ip: 10.0.0.20, prefix-length: 24}]}
      - hostName: sno-a-worker-1.example.com
        bmcAddress: redfish-virtualmedia+https://10.0.0.102/redfish/v1/Systems/1
        bmcCredentialsName: {name: sno-a-worker-1-bmc}
        bootMACAddress: "0c:42:a1:8a:00:21"
        bootMode: UEFISecureBoot
  sno-b:
    - hostName: sno-b-worker-0.example.com
      bmcAddress: redfish-virtualmedia+https://10.0.1.101/redfish/v1/Systems/1
      credentials: sno-b-worker-0-bmc
      bootMACAddress: "0c:42:a1:8b:00:20"
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_yaml_workers_with_defaults_credentials_reference_and_lines(tmp_path):
    path = _write(tmp_path, "workers.yml", YAML_FILE)
    entries, errors = workers_file.read(path)
    assert errors == []
    assert sorted(entries) == ["sno-a", "sno-b"]
    a = entries["sno-a"]
    assert a.line == 5
    assert a.worker_lines == [9, 18]
    assert a.worker_policy == {"reserved_cpus": "0-3"}
    first, second = a.workers
    assert first["bmcCredentialsName"] == {"name": "sno-a-worker-0-bmc"}
    assert "credentials" not in first
    assert first["role"] == "worker" and first["bootMode"] == "UEFI"
    assert second["bootMode"] == "UEFISecureBoot"
    assert second["bmcCredentialsName"] == {"name": "sno-a-worker-1-bmc"}
    # a plain list under the cluster is its workers
    assert entries["sno-b"].workers[0]["bmcCredentialsName"] == {"name": "sno-b-worker-0-bmc"}
    assert entries["sno-b"].worker_lines == [24]


def test_passwords_are_refused_without_echo(tmp_path):
    text = YAML_FILE.replace("        credentials: sno-a-worker-0-bmc\n",
                             "        credentials: sno-a-worker-0-bmc\n        password: hunter2-secret\n")
    entries, errors = workers_file.read(_write(tmp_path, "w.yml", text))
    assert len(errors) == 1
    message = str(errors[0])
    assert "hunter2" not in message
    assert "w.yml:12" in message and "workers[0].password" in message and "credentials: <secret name>" in message
    assert "password" not in entries["sno-a"].workers[0]


def test_missing_credentials_reference_and_extra_keys(tmp_path):
    text = YAML_FILE.replace("        credentials: sno-a-worker-0-bmc\n", "").replace(
        "bmcCredentialsName: {name: sno-a-worker-1-bmc}", "bmcCredentialsName: {name: x, username: adminuser77}")
    _entries, errors = workers_file.read(_write(tmp_path, "w.yml", text))
    messages = "\n".join(str(e) for e in errors)
    assert "w.yml:9: workers[0].credentials" in messages
    assert "remove the key(s) username" in messages and "adminuser77" not in messages


def test_broken_yaml_names_file_and_line(tmp_path):
    path = _write(tmp_path, "w.yml", "clusters:\n  sno-a:\n    workers: [\n      - a\n")
    with pytest.raises(ZtpInputError) as err:
        workers_file.read(path)
    assert "w.yml:" in str(err.value) and "valid YAML" in str(err.value)
    assert str(err.value).split("w.yml:")[1].split(":")[0].isdigit()


def test_unknown_keys_name_line(tmp_path):
    text = "clusters:\n  sno-a:\n    worker: []\n    worker_policy: {reserved: 1}\n"
    _entries, errors = workers_file.read(_write(tmp_path, "w.yml", text))
    messages = [str(e) for e in errors]
    assert any("w.yml:3: clusters.sno-a.worker:" in m for m in messages)
    assert any("w.yml:4: clusters.sno-a.worker_policy.reserved:" in m for m in messages)
    assert any("clusters.sno-a.workers" in m and "at least one worker" in m for m in messages)


CSV_FILE = """\
cluster,hostName,bootMACAddress,bmcAddress,credentials,ip,prefixLength,gateway,dns
sno-a,sno-a-worker-0.example.com,0c:42:a1:8a:00:20,redfish-virtualmedia+https://10.0.0.101/x,sno-a-w0-bmc,10.0.0.20,24,10.0.0.1,10.0.0.1
sno-c,sno-c-worker-0.example.com,3c:fd:fe:b1:30:20,redfish-virtualmedia+https://[2001:db8::1]/x,sno-c-w0-bmc,2001:db8::20,,2001:db8::1,
"""


def test_csv_rows_become_node_entries(tmp_path):
    entries, errors = workers_file.read(_write(tmp_path, "w.csv", CSV_FILE))
    assert errors == []
    a = entries["sno-a"].workers[0]
    assert entries["sno-a"].worker_lines == [2]
    assert a["bmcCredentialsName"] == {"name": "sno-a-w0-bmc"} and a["role"] == "worker" and a["bootMode"] == "UEFI"
    config = a["nodeNetwork"]["config"]
    assert config["interfaces"][0]["ipv4"]["address"] == [{"ip": "10.0.0.20", "prefix-length": 24}]
    assert config["interfaces"][0]["ipv6"] == {"enabled": False}
    assert config["routes"]["config"][0]["destination"] == "0.0.0.0/0"
    assert config["dns-resolver"]["config"]["server"] == ["10.0.0.1"]
    c = entries["sno-c"].workers[0]
    assert c["nodeNetwork"]["config"]["interfaces"][0]["ipv6"]["address"] == [{"ip": "2001:db8::20", "prefix-length": 64}]
    assert c["nodeNetwork"]["config"]["routes"]["config"][0]["destination"] == "::/0"
    assert workers_file.node_ips(c) == ["2001:db8::20"]


def test_csv_refuses_password_column_and_names_bad_rows(tmp_path):
    with pytest.raises(ZtpInputError) as err:
        workers_file.read(_write(tmp_path, "w.csv", "cluster,hostName,password\nsno-a,h,pw\n"))
    assert "w.csv:1" in str(err.value) and "pw" not in str(err.value).replace("password", "")
    text = CSV_FILE + "sno-a,sno-a-worker-1.example.com,,redfish://x,ref,not-an-ip,,,\n" + \
        "sno-a,sno-a-worker-2.example.com,0c:42:a1:8a:00:22,redfish://x,ref,not-an-ip,,,\n"
    _entries, errors = workers_file.read(_write(tmp_path, "w2.csv", text))
    messages = [str(e) for e in errors]
    assert any(m.startswith("w2.csv".join([str(tmp_path) + "/", ":4"])) and "bootMACAddress" in m for m in messages), messages
    assert any(":5: ip: invalid value 'not-an-ip'" in m for m in messages), messages


def _fleet(tmp_path, text):
    path = _write(tmp_path, "w.yml", text)
    entries, errors = workers_file.read(path)
    assert errors == []
    return path, entries


SNO_A_NODES = [
    {"hostName": "sno-a-master-0.example.com", "role": "master", "bootMACAddress": "0c:42:a1:8a:00:10",
     "nodeNetwork": {"config": {"interfaces": [{"ipv4": {"address": [{"ip": "10.0.0.10"}]}}]}}},
    {"hostName": "sno-a-worker-9.example.com", "role": "worker", "bootMACAddress": "0c:42:a1:8a:00:99"},
]
REPO_CLUSTERS = {
    "sno-a": ("siteconfig/sno-a.yaml", 15, SNO_A_NODES, True),
    "sno-b": ("siteconfig/sno-b.yaml", 15, [{"hostName": "sno-b-master-0.example.com", "bootMACAddress": "0c:42:a1:8b:00:10"}], True),
    "mno": ("siteconfig/mno.yaml", 9, [], False),
}


def test_fleet_checks_pass_and_accept_a_worker_already_in_the_repository(tmp_path):
    text = YAML_FILE.replace("sno-a-worker-1.example.com", "sno-a-worker-9.example.com").replace('"0c:42:a1:8a:00:21"', '"0C:42:A1:8A:00:99"')
    path, entries = _fleet(tmp_path, text)
    assert workers_file.check_fleet(path, entries, REPO_CLUSTERS) == []


def test_fleet_checks_name_every_duplicate_and_unknown_cluster(tmp_path):
    text = YAML_FILE + """\
  sno-x:
    - {hostName: x.example.com, credentials: r, bootMACAddress: "00:00:00:00:00:01"}
  mno:
    - {hostName: m.example.com, credentials: r, bootMACAddress: "00:00:00:00:00:02"}
"""
    text = text.replace("sno-b-worker-0.example.com", "SNO-A-worker-0.example.com")          # host name twice in the file
    text = text.replace('"0c:42:a1:8a:00:21"', '"0c:42:a1:8b:00:10"')                        # MAC of sno-b's master
    text = text.replace("ip: 10.0.0.20", "ip: 10.0.0.10")                                     # IP of sno-a's master
    path, entries = _fleet(tmp_path, text)
    errors = workers_file.check_fleet(path, entries, REPO_CLUSTERS)
    messages = [str(e) for e in errors]
    assert len(messages) == 5, messages
    assert any(m.startswith(path + ":24: clusters.sno-b.workers[0].hostName") and path + ":9" in m for m in messages)
    assert any(m.startswith(path + ":18: clusters.sno-a.workers[1].bootMACAddress") and "siteconfig/sno-b.yaml:15" in m for m in messages)
    assert any(m.startswith(path + ":9: clusters.sno-a.workers[0].ip") and "'10.0.0.10'" in m and "sno-a-master-0" in m for m in messages)
    assert any(m.startswith(path + ":28: cluster: invalid value 'sno-x'") and "3 found" in m for m in messages)
    assert any(m.startswith(path + ":30: cluster: invalid value 'mno'") and "single-node" in m for m in messages)
