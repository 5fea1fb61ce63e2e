"""Hub simulator of the test hub: controllers standing in for ArgoCD, metal3, assisted-service and ACM.

Entry point: ``python -m testhub.simulator --hub-kubeconfig K --spoke-kubeconfig S --git-url URL``.
The framework (``core.Simulator``) calls ``reconcile()`` of every controller of ``core.controller_classes()``
once per tick. See ``docs/architecture.md`` (Hub simulator) and ``docs/ztp-objects.md``.
"""

from __future__ import annotations
