# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.ztp.sno_expand.plugins.module_utils import _workload_partitioning as wp
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError

# The two data URLs of the worker PolicyGenTemplate of the seed procedure text (reserved CPUs 0-3),
# also in the upstream worker examples.
SEED_CRIO = (
    "data:text/plain;charset=utf-8;base64,W2NyaW8ucnVudGltZS53b3JrbG9hZHMubWFuYWdlbWVudF0KYWN0aXZhdGlvbl9hbm5vdGF0aW9uID0g"
    "InRhcmdldC53b3JrbG9hZC5vcGVuc2hpZnQuaW8vbWFuYWdlbWVudCIKYW5ub3RhdGlvbl9wcmVmaXggPSAicmVzb3VyY2VzLndvcmtsb2FkLm9wZW5z"
    "aGlmdC5pbyIKcmVzb3VyY2VzID0geyAiY3B1c2hhcmVzIiA9IDAsICJjcHVzZXQiID0gIjAtMyIgfQo=")
SEED_KUBELET = "data:text/plain;charset=utf-8;base64,ewogICJtYW5hZ2VtZW50IjogewogICAgImNwdXNldCI6ICIwLTMiCiAgfQp9Cg=="
# group-du-sno-ranGen.yaml (commented example) for reserved 0-1,52-53.
GROUP_CRIO_B64 = (
    "W2NyaW8ucnVudGltZS53b3JrbG9hZHMubWFuYWdlbWVudF0KYWN0aXZhdGlvbl9hbm5vdGF0aW9uID0gInRhcmdldC53b3JrbG9hZC5vcGVuc2hpZnQu"
    "aW8vbWFuYWdlbWVudCIKYW5ub3RhdGlvbl9wcmVmaXggPSAicmVzb3VyY2VzLndvcmtsb2FkLm9wZW5zaGlmdC5pbyIKcmVzb3VyY2VzID0geyAiY3B1"
    "c2hhcmVzIiA9IDAsICJjcHVzZXQiID0gIjAtMSw1Mi01MyIgfQo=")
GROUP_KUBELET_B64 = "ewogICJtYW5hZ2VtZW50IjogewogICAgImNwdXNldCI6ICIwLTEsNTItNTMiCiAgfQp9Cg=="


def test_seed_base64_equality():
    assert wp.data_url(wp.crio_conf("0-3")) == SEED_CRIO
    assert wp.data_url(wp.kubelet_pinning("0-3")) == SEED_KUBELET


def test_non_contiguous_reserved_matches_upstream():
    assert wp.data_url(wp.crio_conf("0-1,52-53")) == wp.DATA_URL_PREFIX + GROUP_CRIO_B64
    assert wp.data_url(wp.kubelet_pinning("0-1,52-53")) == wp.DATA_URL_PREFIX + GROUP_KUBELET_B64


def test_contents():
    crio = wp.crio_conf("3,0-2")
    assert crio.startswith("[crio.runtime.workloads.management]\n")
    assert 'resources = { "cpushares" = 0, "cpuset" = "0-3" }\n' in crio
    assert json.loads(wp.kubelet_pinning([0, 1, 2, 3])) == {"management": {"cpuset": "0-3"}}


def test_data_url_round_trip():
    url = wp.data_url(u"h\u00e9llo\n")
    assert url.startswith("data:text/plain;charset=utf-8;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).decode("utf-8") == u"h\u00e9llo\n"


def test_rejects():
    with pytest.raises(ZtpInputError, match="non-empty"):
        wp.crio_conf("")
    with pytest.raises(ZtpInputError, match="reversed"):
        wp.kubelet_pinning("3-0", "reserved_cpus")
    with pytest.raises(ZtpInputError):
        wp.data_url(42)
