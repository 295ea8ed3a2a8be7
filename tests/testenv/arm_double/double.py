"""The double's state and behaviour in one object: the store, the deployment engine, what-if and LRO timing
(Store <- DeploymentEngine <- WhatIf, Timing)."""

from __future__ import annotations

from .timing import Timing
from .whatif import WhatIf


class Double(Timing, WhatIf):
    """Everything the double holds and does; the HTTP routes call into it."""
