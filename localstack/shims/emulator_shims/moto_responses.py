"""Helpers for the shims that answer through moto's request handlers (not a shim of its own).

`aws_error(code, message)` is the error a JSON-protocol service (CloudTrail) answers with: raised in a
handler or a backend method, moto turns it into AWS's HTTP 400 body with that code. (Emulator-only
actions on the query-protocol services are served by `emulator_actions.py`.)
"""


def aws_error(code, message):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def install():
    """Nothing to install: other shims use these helpers."""
