"""Emulator-only IAM actions (a helper, not a shim of its own): test scaffolding with no AWS
counterpart, sent by `emulator.py` and never by mamori.

`add_iam_action(name, handler)` makes `Action=<name>` on the IAM endpoint call `handler(response)` with
`response.params` holding the form parameters as they came (AWS's service model has no such action to
parse them by) and `response.current_account` the account of the request.
"""

import re

_ACTIONS = {}


def _parsing_emulator_actions(parse):
    def parse_parameters(self, request):
        if self._get_action() not in _ACTIONS:
            return parse(self, request)
        self.params = {key: value for key, value in request.values.items()}

    return parse_parameters


def add_iam_action(name, handler):
    """Serves `Action=name` on moto's IAM endpoint with `handler`."""
    try:
        from moto.iam.responses import IamResponse
    except ImportError:  # not an emulator's interpreter
        return
    if not _ACTIONS:
        IamResponse.parse_parameters = _parsing_emulator_actions(IamResponse.parse_parameters)
    _ACTIONS[name] = handler
    setattr(IamResponse, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(), handler)


def install():
    """Nothing to install: shims add their actions with `add_iam_action`."""
