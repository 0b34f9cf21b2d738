"""The propagation delay the AWS-rule shims model (a helper, not a shim of its own).

AWS services see each other's new resources late (eventual consistency): the `*_propagation` shims
refuse, or answer stale, for what is younger than the delay. The delay is
`MAMORI_EMULATOR_PROPAGATION_SECONDS` in the emulator's environment (`emulator.py start
--propagation-delay N` sets it; the test harness and the demo do); unset or 0, the shims change nothing.
"""

import os
import time
from datetime import datetime, timezone


def seconds():
    """The delay, in seconds (0: off)."""
    try:
        return max(0.0, float(os.environ.get("MAMORI_EMULATOR_PROPAGATION_SECONDS", "0")))
    except ValueError:
        return 0.0


def is_young(created):
    """True when `created` (a Unix time, or a naive-UTC or aware datetime) is within the delay."""
    delay = seconds()
    if not delay or created is None:
        return False
    if isinstance(created, datetime):
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        created = created.timestamp()
    return time.time() - float(created) < delay


def refusing_when(handler, refused, error):
    """`handler` (a response method) answering `error(self)` instead whenever `refused(self)`."""

    def refusing(self):
        if refused(self):
            raise error(self)
        return handler(self)

    return refusing


def install():
    """Nothing to install: the `*_propagation` shims ask this module."""
