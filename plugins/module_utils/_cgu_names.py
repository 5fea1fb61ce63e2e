# -*- coding: utf-8 -*-
# Copyright: ztp.sno_expand contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClusterGroupUpgrade names TALM can work with. Pure functions without the hub client, so that the controller-side
batch planning (and the filters built on it) can use them wherever ``kubernetes.core`` is not installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# TALM names the Placement of each managed policy <cgu>-<policy>-placement-<5 random characters>
# (controllers/policy.go:289 ensureBatchPlacement, controllers/utils/common.go:61 NewSafeResourceName, which truncates
# only at 253), and the placement controller labels the PlacementDecision with the Placement's name (ocm
# pkg/placement/controllers/scheduling/scheduling_controller.go:502). The API server refuses a label value over 63
# characters, so with a longer name no cluster is ever decided and the CGU never remediates.
LABEL_VALUE_MAX = 63
PLACEMENT_NAME_EXTRA = len("-") + len("-placement-") + 5


def placement_name_length(name, policy):
    """The length of the Placement name TALM derives for ``policy`` in the CGU ``name``."""
    return len(name) + PLACEMENT_NAME_EXTRA + len(policy)


def fits_talm_placements(name, policies):
    """Whether every Placement TALM makes for ``policies`` in the CGU ``name`` can get its PlacementDecision."""
    return all(placement_name_length(name, p) <= LABEL_VALUE_MAX for p in policies or [])
