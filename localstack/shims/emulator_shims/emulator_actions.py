"""Emulator-only actions on moto's query-protocol endpoints (a helper, not a shim of its own): test
scaffolding with no AWS counterpart, sent by `emulator.py` and never by mamori.

`add_action(response_class, name, handler)` makes `Action=<name>` on that service's endpoint (IAM's
`IamResponse`, SNS's `SNSResponse`, ...) call `handler(response)` with `response.params` holding the form
parameters as they came (AWS's service model has no such action to parse them by) and
`response.current_account` the account of the request. `add_iam_action(name, handler)` is the same on
IAM.
"""

import re

# Emulator-only action names, by response class.
_ACTIONS = {}


def _parsing_emulator_actions(parse, actions):
    def parse_parameters(self, request):
        if self._get_action() not in actions:
            return parse(self, request)
        self.params = {key: value for key, value in request.values.items()}

    return parse_parameters


def add_action(response_class, name, handler):
    """Serves `Action=name` on `response_class`'s endpoint with `handler`."""
    actions = _ACTIONS.get(response_class)
    if actions is None:
        actions = _ACTIONS[response_class] = set()
        response_class.parse_parameters = _parsing_emulator_actions(response_class.parse_parameters, actions)
    actions.add(name)
    setattr(response_class, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(), handler)


def add_iam_action(name, handler):
    """Serves `Action=name` on moto's IAM endpoint with `handler`."""
    try:
        from moto.iam.responses import IamResponse
    except ImportError:  # not an emulator's interpreter
        return
    add_action(IamResponse, name, handler)


def install():
    """Nothing to install: shims add their actions with `add_action`."""
