# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cpuset as cpuset
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError


@pytest.mark.parametrize("text, cpus", [
    ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11]),
    (" 0 - 3 , 8 ,\t10-11 ", [0, 1, 2, 3, 8, 10, 11]),
    ("5", [5]),
    ("3,1,2,2", [1, 2, 3]),
    ("0-0", [0]),
    ("", []),
    ("  ", []),
    (7, [7]),
    ([3, 1, 1], [1, 3]),
])
def test_parse(text, cpus):
    assert cpuset.parse(text) == cpus


@pytest.mark.parametrize("text, problem", [
    ("a", "is not a CPU number or range"),
    ("1-", "is not a CPU number or range"),
    ("1 2", "is not a CPU number or range"),
    ("1,,2", "empty item"),
    ("1,", "empty item"),
    ("-1", "negative"),
    ("- 1", "negative"),
    ("0,-3", "negative"),
    ("3-1", "reversed"),
    ("1-2-3", "is not a CPU number or range"),
    ("0-9000", "above the highest"),
    (-1, "negative"),
    ([1, -2], "non-negative"),
    (True, "CPU list"),
    (1.5, "CPU list"),
])
def test_parse_rejects(text, problem):
    with pytest.raises(ZtpInputError) as error:
        cpuset.parse(text, "reserved_cpus")
    assert error.value.field == "reserved_cpus"
    assert str(error.value).startswith("reserved_cpus: invalid value")
    assert problem in str(error.value)


def test_reversed_range_suggests_fix():
    with pytest.raises(ZtpInputError, match='write "1-3"'):
        cpuset.parse("3-1")


@pytest.mark.parametrize("cpus, text", [
    ([0, 1, 2, 3, 8, 10, 11], "0-3,8,10-11"),
    ([11, 10, 8, 3, 2, 1, 0], "0-3,8,10-11"),
    ([], ""),
    ([4], "4"),
    ("0,1,2,5", "0-2,5"),
    ("0-1,52-53,2-51", "0-53"),
])
def test_format(cpus, text):
    assert cpuset.format(cpus) == text


def test_set_operations():
    assert cpuset.union("0-3", "4-47") == "0-47"
    assert cpuset.union("0-1,52-53", "2-51,54-63") == "0-63"
    assert cpuset.difference("0-47", "0-3") == "4-47"
    assert cpuset.difference("0-3", "0-3") == ""
    assert cpuset.overlap("0-3", "2-5") == "2-3"
    assert cpuset.overlap("0-3", "4-47") == ""
    assert cpuset.complement("0-1,52-53", 64) == "2-51,54-63"
    assert cpuset.complement("", 4) == "0-3"
    assert cpuset.complement("0-3", 4) == ""


def test_complement_rejects():
    with pytest.raises(ZtpInputError, match="outside 0-3"):
        cpuset.complement("0-5", 4)
    for count in (0, -1, True, "8"):
        with pytest.raises(ZtpInputError) as error:
            cpuset.complement("0", count)
        assert error.value.field == "cpu_count"


def test_set_operation_errors_name_field():
    with pytest.raises(ZtpInputError) as error:
        cpuset.union("0-3", "x", "isolated_cpus")
    assert error.value.field == "isolated_cpus"
