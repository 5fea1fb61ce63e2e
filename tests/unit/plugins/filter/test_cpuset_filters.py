# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.ztp.sno_expand.plugins.filter import cpuset as cpuset_filters
from ansible_collections.ztp.sno_expand.plugins.filter import workload_partitioning as wp_filters

FILTER_DIR = os.path.dirname(os.path.abspath(cpuset_filters.__file__))


def _filters():
    found = dict(cpuset_filters.FilterModule().filters())
    found.update(wp_filters.FilterModule().filters())
    return found


def test_filters():
    f = _filters()
    assert f["cpuset_parse"](" 0-3, 8") == [0, 1, 2, 3, 8]
    assert f["cpuset_format"]([7, 4, 5, 6, 10]) == "4-7,10"
    assert f["cpuset_union"]("0-3", "4-47") == "0-47"
    assert f["cpuset_difference"]("0-47", "0-3") == "4-47"
    assert f["cpuset_complement"]("0-1,52-53", 64) == "2-51,54-63"
    assert f["cpuset_overlap"]("0-3", "2-5") == "2-3"
    assert f["cpuset_overlap"]("0-3", "4-5") == ""
    assert f["ztp_data_url"]("hello\n") == "data:text/plain;charset=utf-8;base64,aGVsbG8K"
    assert f["ztp_data_url"](f["ztp_workload_pinning"]("0-3")).endswith("ewogICJtYW5hZ2VtZW50IjogewogICAgImNwdXNldCI6ICIwLTMiCiAgfQp9Cg==")
    assert 'cpuset" = "0-3"' in f["ztp_crio_workload_conf"]("0-3")


def test_tagged_inputs_are_normalised():
    tagged = pytest.importorskip("ansible._internal._datatag._tags")
    origin = tagged.Origin(path="/inventory/host_vars/sno.yml", line_num=3)
    value = origin.tag("0-3")
    count = origin.tag(8)
    f = _filters()
    assert cpuset_filters.plain(value).__class__ is str
    assert f["cpuset_complement"](value, count) == "4-7"
    assert f["cpuset_parse"]([origin.tag(1), origin.tag(0)]) == [0, 1]
    assert f["ztp_crio_workload_conf"](value) == f["ztp_crio_workload_conf"]("0-3")


@pytest.mark.parametrize("name, args, message", [
    ("cpuset_parse", ("3-1",), "cpuset_parse input: invalid value '3-1'"),
    ("cpuset_format", ("x",), "cpuset_format input"),
    ("cpuset_union", ("0-3", "-1"), "negative"),
    ("cpuset_difference", ("0-3", "a"), "is not a CPU number"),
    ("cpuset_complement", ("0-8", 4), "outside 0-3"),
    ("cpuset_complement", ("0", 0), "cpu_count"),
    ("cpuset_overlap", ("0,,1", "1"), "empty item"),
    ("ztp_crio_workload_conf", ("",), "non-empty"),
    ("ztp_workload_pinning", ("1-",), "is not a CPU number"),
    ("ztp_data_url", (3,), "a string"),
])
def test_filter_errors(name, args, message):
    with pytest.raises(AnsibleFilterError) as error:
        _filters()[name](*args)
    assert message in str(error.value)


def test_every_filter_has_documentation():
    for name in _filters():
        with open(os.path.join(FILTER_DIR, name + ".yml")) as handle:
            doc = yaml.safe_load(handle)
        assert doc["DOCUMENTATION"]["name"] == name
        assert str(doc["DOCUMENTATION"]["version_added"]) == "0.1.0"
        assert doc["DOCUMENTATION"]["short_description"]
        assert "_input" in doc["DOCUMENTATION"]["options"]
        assert doc["DOCUMENTATION"]["positional"].split(",")[0].strip() == "_input"
        assert "_value" in doc["RETURN"]
        assert doc["EXAMPLES"].strip()
