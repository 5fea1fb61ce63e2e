"""Make ``ansible_collections.ztp.sno_expand`` importable when pytest runs from a plain checkout."""

from __future__ import annotations

import os
import sys

_LINKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".collections")
if os.path.isdir(_LINKS) and _LINKS not in sys.path:
    sys.path.insert(0, _LINKS)
