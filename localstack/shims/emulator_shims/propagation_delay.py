"""The propagation delay the AWS-rule shims model (a helper, not a shim of its own).

AWS services see each other's new resources late (eventual consistency): the `*_propagation` shims
refuse, or answer stale, for what is younger than the delay. The delay is
`MAMORI_EMULATOR_PROPAGATION_SECONDS` in the emulator's environment (`emulator.py start
--propagation-delay N` sets it; the test harness and the demo do); unset or 0, the shims change nothing.

One account can have a delay of its own (test scaffolding, so that a test of one rule does not depend
on how fast the machine is): `Action=MamoriEmulatorPropagationDelay&Seconds=N` on the IAM endpoint, for
the account of the request, sent by `emulator.py propagation-delay`. AWS has no such action; mamori
never sends it.
"""

import os
import time
from datetime import datetime, timezone


PROPAGATION_DELAY_ACTION = "MamoriEmulatorPropagationDelay"

# Delays set for one account with the emulator-only action, by account id.
_ACCOUNT_DELAYS = {}


def seconds(account=None):
    """The delay for `account`, in seconds (0: off)."""
    if account in _ACCOUNT_DELAYS:
        return _ACCOUNT_DELAYS[account]
    try:
        return max(0.0, float(os.environ.get("MAMORI_EMULATOR_PROPAGATION_SECONDS", "0")))
    except ValueError:
        return 0.0


def is_young(created, account=None):
    """True when `created` (a Unix time, or a naive-UTC or aware datetime) is within `account`'s delay."""
    delay = seconds(account)
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


def _mamori_emulator_propagation_delay(self):
    _ACCOUNT_DELAYS[self.current_account] = max(0.0, float(self.params.get("Seconds", "0")))
    return "<MamoriEmulatorPropagationDelayResponse/>"


def install():
    """The emulator-only action; the `*_propagation` shims ask this module for the delay."""
    from emulator_shims.emulator_actions import add_iam_action

    add_iam_action(PROPAGATION_DELAY_ACTION, _mamori_emulator_propagation_delay)
