"""Helpers for the shims that answer through moto's request handlers (not a shim of its own).

`aws_error(code, message)` is the error a JSON-protocol service (CloudTrail) answers with: raised in a
handler or a backend method, moto turns it into AWS's HTTP 400 body with that code.
`taking_params_as_they_come(parse, action)` lets a query-protocol handler (IAM, SNS) accept an
emulator-only action: AWS's service model does not know it, so moto's parser would refuse it; its
form parameters are taken as they come.
"""


def aws_error(code, message):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def taking_params_as_they_come(parse, action):
    def parse_parameters(self, request):
        if self._get_action() != action:
            return parse(self, request)
        self.params = {key: value for key, value in request.values.items()}

    return parse_parameters


def install():
    """Nothing to install: other shims use these helpers."""
