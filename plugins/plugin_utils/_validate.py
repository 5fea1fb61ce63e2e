# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate an action plugin's arguments against the DOCUMENTATION of its module file (the pattern of
ansible.utils' ``AnsibleArgSpecValidator``), so that the documented options and the accepted ones cannot drift."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

import yaml

SPEC_KEYS = ("type", "elements", "default", "choices", "required", "no_log", "aliases")


def options_to_spec(options):
    """The ``options`` of a DOCUMENTATION block as an argument spec (``suboptions`` become ``options``)."""
    spec = {}
    for name, doc in (options or {}).items():
        entry = dict((key, doc[key]) for key in SPEC_KEYS if key in doc)
        entry.setdefault("type", "str")
        if doc.get("suboptions"):
            entry["options"] = options_to_spec(doc["suboptions"])
        spec[name] = entry
    return spec


def module_spec(module_name):
    """Argument spec from ``plugins/modules/<module_name>.py``'s DOCUMENTATION."""
    module = importlib.import_module("ansible_collections.ztp.sno_expand.plugins.modules.%s" % module_name)
    return options_to_spec(yaml.safe_load(module.DOCUMENTATION).get("options"))


def validate_against_docs(action, module_name, **constraints):
    """The task's arguments of ``action`` checked against the module's documented options; returns them."""
    dummy, args = action.validate_argument_spec(argument_spec=module_spec(module_name), **constraints)
    return args
