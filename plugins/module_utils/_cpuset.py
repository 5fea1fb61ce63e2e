# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU sets in the Linux list format (``0-3,8,10-11``).

A CPU set is given as a string in that format, as a single CPU number, or as a list of CPU numbers.
``parse`` turns any of these into a sorted list of distinct CPU numbers; ``format`` turns such a list
back into the canonical string (ascending, ranges merged, ``""`` for the empty set). The set
operations accept any input form and return canonical strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata

from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError

# Highest CPU number accepted (Linux NR_CPUS is at most 8192).
MAX_CPU = 8191

_EXPECTED = ("a CPU list such as \"0-3,8,10-11\": comma-separated CPU numbers or ascending ranges "
             "\"first-last\" of non-negative integers up to %d" % MAX_CPU)
# ASCII digits only: Python's \d and int() also take the digits of other scripts (Arabic-Indic, Devanagari, fullwidth,
# ...), which the kubelet and the Performance Profile Creator do not.
_ITEM = re.compile(r"^([0-9]+)(?:[ \t]*-[ \t]*([0-9]+))?$")


def _foreign_characters(item):
    """A description of the characters of ``item`` that are not ASCII (digits of other scripts, odd dashes), or ''."""
    odd = [c for c in item if ord(c) > 127]
    if not odd:
        return ""
    return "; it holds %s: write CPU numbers with the ASCII digits 0-9 and ranges with the ASCII '-'" % ", ".join(
        "%r (U+%04X %s)" % (c, ord(c), unicodedata.name(c, "unnamed character")) for c in odd[:3])


def _check_cpu(number, field, value):
    if number > MAX_CPU:
        raise ZtpInputError(field, value, "CPU %d is above the highest supported CPU number %d" % (number, MAX_CPU))
    return number


def parse(cpuset, field="cpuset"):
    """Return the CPUs of ``cpuset`` as a sorted list of distinct integers.

    ``cpuset`` is a string (``"0-3, 8"``; blanks anywhere are ignored; ``""`` is the empty set), an int
    or a list of ints. Raise ``ZtpInputError`` naming ``field`` for anything else, for negative numbers
    and for reversed ranges.
    """
    if isinstance(cpuset, bool):
        raise ZtpInputError(field, cpuset, _EXPECTED)
    if isinstance(cpuset, int):
        if cpuset < 0:
            raise ZtpInputError(field, cpuset, "CPU numbers cannot be negative; " + _EXPECTED)
        return [_check_cpu(cpuset, field, cpuset)]
    if isinstance(cpuset, (list, tuple, set, frozenset)):
        cpus = set()
        for item in cpuset:
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise ZtpInputError(field, cpuset, "a list of non-negative CPU numbers, or " + _EXPECTED)
            cpus.add(_check_cpu(item, field, cpuset))
        return sorted(cpus)
    if not isinstance(cpuset, str):
        raise ZtpInputError(field, cpuset, _EXPECTED)
    text = cpuset.strip(" \t\n")
    if not text:
        return []
    cpus = set()
    for item in text.split(","):
        item = item.strip(" \t\n")
        if item.startswith("-"):
            raise ZtpInputError(field, cpuset, "CPU numbers cannot be negative (%r); %s" % (item, _EXPECTED))
        match = _ITEM.match(item)
        if not match:
            if not item:
                problem = "empty item between commas"
            else:
                problem = "%r is not a CPU number or range%s" % (item, _foreign_characters(item))
            raise ZtpInputError(field, cpuset, "%s; %s" % (problem, _EXPECTED))
        first = _check_cpu(int(match.group(1)), field, cpuset)
        last = first if match.group(2) is None else _check_cpu(int(match.group(2)), field, cpuset)
        if last < first:
            raise ZtpInputError(field, cpuset, "range %r is reversed (write \"%d-%d\"); %s" % (item, last, first, _EXPECTED))
        cpus.update(range(first, last + 1))
    return sorted(cpus)


def format(cpus, field="cpuset"):  # pylint: disable=redefined-builtin
    """Return the canonical string of a CPU set: ascending, consecutive CPUs merged into ranges."""
    numbers = parse(cpus, field)
    parts = []
    index = 0
    while index < len(numbers):
        first = last = numbers[index]
        while index + 1 < len(numbers) and numbers[index + 1] == last + 1:
            index += 1
            last = numbers[index]
        parts.append("%d" % first if first == last else "%d-%d" % (first, last))
        index += 1
    return ",".join(parts)


def union(first, second, field="cpuset"):
    """CPUs in ``first`` or ``second``, as a canonical string."""
    return format(set(parse(first, field)) | set(parse(second, field)))


def difference(first, second, field="cpuset"):
    """CPUs in ``first`` but not in ``second``, as a canonical string."""
    return format(set(parse(first, field)) - set(parse(second, field)))


def overlap(first, second, field="cpuset"):
    """CPUs in both ``first`` and ``second``, as a canonical string (``""`` when they are disjoint)."""
    return format(set(parse(first, field)) & set(parse(second, field)))


def complement(cpuset, cpu_count, field="cpuset"):
    """CPUs ``0`` to ``cpu_count - 1`` that are not in ``cpuset``, as a canonical string.

    Raise ``ZtpInputError`` when ``cpu_count`` is not a positive integer or ``cpuset`` holds a CPU
    outside ``0`` to ``cpu_count - 1``.
    """
    if isinstance(cpu_count, bool) or not isinstance(cpu_count, int) or cpu_count < 1 or cpu_count > MAX_CPU + 1:
        raise ZtpInputError("cpu_count", cpu_count, "a positive integer up to %d (the number of CPUs of the node)" % (MAX_CPU + 1))
    cpus = set(parse(cpuset, field))
    outside = [cpu for cpu in cpus if cpu >= cpu_count]
    if outside:
        raise ZtpInputError(field, cpuset, "CPUs %s are outside 0-%d (cpu_count is %d)" % (format(outside), cpu_count - 1, cpu_count))
    return format(set(range(cpu_count)) - cpus)
