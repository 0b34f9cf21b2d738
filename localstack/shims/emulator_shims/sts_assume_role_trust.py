"""sts:AssumeRole needs a role that exists and trusts the caller (an AWS rule; moto skips it).

AWS: "To assume a role, ... the role's trust policy must specify the caller as a principal" and the
role must exist; otherwise AssumeRole fails with AccessDenied ("User: ARN is not authorized to perform:
sts:AssumeRole on resource: ROLE-ARN"). IAM User Guide, "Methods to assume a role" and "IAM role trust
policies" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html). An
`sts:ExternalId` condition in the trust policy must match the ExternalId the caller passes
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html).

moto answers AssumeRole for any ARN ("the role does not need to exist"). Modelled here: the role must
exist in the target account, and an Allow statement of its trust policy must name the caller as a
principal (`*`, the caller's account id or `arn:...:root`, or the caller's own ARN; an assumed-role
session counts as its role) for `sts:AssumeRole`, with no condition other than `StringEquals` on
`sts:ExternalId`, which must then match. Anything else is refused, as AWS would refuse a principal it
cannot match. Identity policies are not looked at (moto enforces them only with its IAM enforcement on).

Test scaffolding: the role name `mamori-test` is how the test harness enters a fresh emulated account
(an account that, unlike a real one, exists only once someone uses it): that name passes unchecked.
"""

import json
import re

HARNESS_ROLE = "mamori-test"
ROLE_ARN = re.compile(r"^arn:([^:]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$")
SESSION_ARN = re.compile(r"^arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/")


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _caller_principals(caller_arn, caller_account):
    """What a trust policy may name to mean this caller."""
    names = {"*", caller_account, caller_arn}
    partition = caller_arn.split(":")[1] if caller_arn.count(":") >= 5 else "aws"
    names.add(f"arn:{partition}:iam::{caller_account}:root")
    session = SESSION_ARN.match(caller_arn)
    if session:
        names.add(f"arn:{session.group(1)}:iam::{session.group(2)}:role/{session.group(3)}")
    return names


def _role_names_caller(principal, caller_names, role_path_arns):
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for entry in _as_list(principal.get("AWS")):
        if entry in caller_names or entry in role_path_arns:
            return True
    return False


def _conditions_hold(condition, external_id):
    if not condition:
        return True
    if set(condition) != {"StringEquals"} or set(condition["StringEquals"]) != {"sts:ExternalId"}:
        return False
    return external_id is not None and external_id in _as_list(condition["StringEquals"]["sts:ExternalId"])


def trusts(document, caller_arn, caller_account, external_id, caller_role_arns=()):
    """True when the trust policy `document` (JSON text) lets the caller assume the role."""
    policy = json.loads(document) if isinstance(document, str) else document
    caller_names = _caller_principals(caller_arn, caller_account)
    for statement in _as_list(policy.get("Statement")):
        actions = _as_list(statement.get("Action"))
        if statement.get("Effect") != "Allow" or not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if _role_names_caller(statement.get("Principal"), caller_names, set(caller_role_arns)) and _conditions_hold(
            statement.get("Condition"), external_id
        ):
            return True
    return False


def _find_role(role_arn):
    from moto.iam.models import iam_backends

    match = ROLE_ARN.match(role_arn or "")
    if not match:
        return None
    partition, account, _name = match.groups()
    backend = iam_backends[account][partition]
    return next((role for role in backend.roles.values() if role.arn == role_arn), None)


def _checking_trust(assume_role):
    def checked_assume_role(self):
        role_arn = self._get_param("RoleArn") or ""
        match = ROLE_ARN.match(role_arn)
        if match and match.group(3) == HARNESS_ROLE:
            return assume_role(self)
        _user_id, caller_arn, caller_account = self.backend.get_caller_identity(self.get_access_key(), self.region)
        role = _find_role(role_arn)
        session = SESSION_ARN.match(caller_arn)
        # A session's role with its path: trust policies may name the role ARN as IAM spells it.
        caller_roles = []
        if session:
            from moto.iam.models import iam_backends

            backend = iam_backends[session.group(2)][session.group(1)]
            caller_roles = [r.arn for r in backend.roles.values() if r.name == session.group(3)]
        if role is None or not trusts(role.assume_role_policy_document, caller_arn, caller_account, self._get_param("ExternalId"), caller_roles):
            message = f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            body = (
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                f"<Code>AccessDenied</Code><Message>{message}</Message></Error>"
                "<RequestId>mamori-shim-assume-role</RequestId></ErrorResponse>"
            )
            # moto takes the status from the headers of a (body, headers) answer.
            return body, {"status": 403, "Content-Type": "text/xml"}
        return assume_role(self)

    return checked_assume_role


def install():
    try:
        from moto.sts.responses import TokenResponse
    except ImportError:  # not moto's interpreter
        return
    TokenResponse.assume_role = _checking_trust(TokenResponse.assume_role)
