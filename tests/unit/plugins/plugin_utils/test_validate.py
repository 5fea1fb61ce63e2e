# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugins validate their arguments against their module's DOCUMENTATION: what is documented is what is
accepted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _policygen as policygen
from ansible_collections.ztp.sno_expand.plugins.plugin_utils import _validate as validate

ACTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "plugins", "action")


def _normalised(spec):
    out = {}
    for name, entry in (spec or {}).items():
        entry = dict(entry)
        entry.setdefault("type", "str")
        if "options" in entry:
            entry["options"] = _normalised(entry["options"])
        out[name] = entry
    return out


def test_documented_options_become_the_spec():
    spec = validate.module_spec("ztp_gitops_batch")
    assert spec["repo_dir"] == {"type": "path", "required": True}
    assert spec["hosts"] == {"type": "list", "elements": "str"}
    assert spec["policies"] == {"type": "bool", "default": True}
    worker = validate.module_spec("ztp_policygen_worker")
    assert worker["hugepages"]["options"]["pages"]["options"]["count"] == {"type": "int", "required": True}


def test_the_worker_policy_spec_the_batch_checks_with_is_the_documented_one():
    assert _normalised(policygen.WORKER_ARGUMENT_SPEC) == _normalised(validate.module_spec("ztp_policygen_worker"))


@pytest.mark.parametrize("name", sorted(f[:-3] for f in os.listdir(ACTIONS) if f.endswith(".py") and f != "__init__.py"))
def test_no_action_plugin_keeps_a_spec_of_its_own(name):
    action = importlib.import_module("ansible_collections.ztp.sno_expand.plugins.action.%s" % name)
    own = getattr(action, "ARGUMENT_SPEC", None)
    if own is None:
        return
    # a spec imported from the module or module_utils must still be the documented one
    assert _normalised(own) == _normalised(validate.module_spec(name)), name
