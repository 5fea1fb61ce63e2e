"""Tests of the filters over hub objects and install results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

from ansible_collections.ztp.sno_expand.plugins.filter import batch

# imports the filter plugins with kubernetes.core and the kubernetes client made unimportable
WITHOUT_KUBERNETES = """
import sys
class Blocked(object):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'kubernetes' or name.startswith('ansible_collections.kubernetes'):
            raise ImportError('not installed here: ' + name)
sys.meta_path.insert(0, Blocked())
import ansible_collections.ztp.sno_expand.plugins.filter.batch
import ansible_collections.ztp.sno_expand.plugins.filter.cpuset
import ansible_collections.ztp.sno_expand.plugins.filter.replacement
import ansible_collections.ztp.sno_expand.plugins.filter.workload_partitioning
"""


def test_policy_compliance_per_cluster_and_table():
    policies = [
        {"metadata": {"name": "p1"}, "status": {"status": [{"clustername": "a", "compliant": "Compliant"},
                                                           {"clustername": "b", "compliant": "NonCompliant"}]}},
        {"metadata": {"name": "p2"}, "status": {"status": [{"clustername": "a"}]}},
        {"metadata": {"name": "p3"}},
    ]
    assert batch.ztp_policy_compliance(policies, "a") == {"p1": "Compliant", "p2": "Pending", "p3": "NotBound"}
    assert batch.ztp_policy_compliance(policies, "b") == {"p1": "NonCompliant", "p2": "NotBound", "p3": "NotBound"}
    assert batch.ztp_policy_compliance(policies) == {"a": {"p1": "Compliant", "p2": "Pending"}, "b": {"p1": "NonCompliant"}}


def test_node_summary_keeps_the_cause():
    node = {"cluster": "a", "host": "w0", "state": "failed", "ready": False, "error": "BareMetalHost w0: registration error",
            "durations": {"image": 3.0}}
    assert batch.ztp_node_summary(node) == {"cluster": "a", "host": "w0", "state": "failed", "ready": False,
                                            "cause": "BareMetalHost w0: registration error", "seconds": {"image": 3.0}}


def test_the_filters_load_without_kubernetes_core():
    """galaxy-importer runs ansible-doc without kubernetes.core: a filter file that loads the hub client has no
    documentation there, and fails for users who have the collection without kubernetes.core."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", WITHOUT_KUBERNETES], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
