# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contents of the two workload-partitioning files written by a MachineConfig.

``/etc/crio/crio.conf.d/01-workload-partitioning`` (CRI-O, TOML) and
``/etc/kubernetes/openshift-workload-pinning`` (kubelet, JSON) pin management workloads to the reserved
CPU set. The texts are byte for byte those of the upstream ZTP templates (``workload/crio.conf`` and
``workload/kubelet.conf``), so that the base64 data URLs equal the ones in the upstream examples. The
CPU set must equal ``PerformanceProfile.spec.cpu.reserved`` of the same pool; it is written in
canonical form.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.ztp.sno_expand.plugins.module_utils import _cpuset as cpuset_utils
from ansible_collections.ztp.sno_expand.plugins.module_utils._errors import ZtpInputError

CRIO_PATH = "/etc/crio/crio.conf.d/01-workload-partitioning"
KUBELET_PATH = "/etc/kubernetes/openshift-workload-pinning"
DATA_URL_PREFIX = "data:text/plain;charset=utf-8;base64,"

_CRIO_TEMPLATE = (
    "[crio.runtime.workloads.management]\n"
    "activation_annotation = \"target.workload.openshift.io/management\"\n"
    "annotation_prefix = \"resources.workload.openshift.io\"\n"
    "resources = { \"cpushares\" = 0, \"cpuset\" = \"%s\" }\n"
)
_KUBELET_TEMPLATE = (
    "{\n"
    "  \"management\": {\n"
    "    \"cpuset\": \"%s\"\n"
    "  }\n"
    "}\n"
)


def _reserved(cpuset, field):
    text = cpuset_utils.format(cpuset, field)
    if not text:
        raise ZtpInputError(field, cpuset, "a non-empty CPU set (the reserved CPUs of the PerformanceProfile)")
    return text


def crio_conf(cpuset, field="cpuset"):
    """CRI-O workload-partitioning drop-in that pins management workloads to ``cpuset``."""
    return _CRIO_TEMPLATE % _reserved(cpuset, field)


def kubelet_pinning(cpuset, field="cpuset"):
    """Kubelet ``openshift-workload-pinning`` JSON that pins management workloads to ``cpuset``."""
    return _KUBELET_TEMPLATE % _reserved(cpuset, field)


def data_url(text):
    """``data:text/plain;charset=utf-8;base64,...`` URL of ``text`` (UTF-8), as Ignition expects."""
    if not isinstance(text, str):
        raise ZtpInputError("text", text, "a string to encode")
    return DATA_URL_PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii")
