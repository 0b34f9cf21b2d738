"""A bucket policy's unconditional Deny applies to every S3 request, the root user's included (an AWS
rule; moto only).

moto evaluates bucket policies for a few object operations only, and lets every configuration change
through. AWS evaluates an explicit Deny of a bucket policy for every request on the bucket, whoever
sends it, with one exception: "the root principal in a bucket owner's AWS account can perform the
GetBucketPolicy, PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket policy
explicitly denies the root principal's access" (S3 API Reference, PutBucketPolicy and
DeleteBucketPolicy: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html; S3 User
Guide, "Bucket policies for Amazon S3"). Modelled here, narrowly: a statement with `"Effect": "Deny"`,
`Principal` `*` (or `{"AWS": "*"}`) and no `Condition` (mamori's lock, `MamoriLogBucketLock`) refuses
every request whose IAM action it names (`Action`, or everything but `NotAction`, wildcards allowed)
on a resource it names, with 403 AccessDenied, except those three actions sent by the bucket owner's
root user (its access key from `root_user.py`). Statements with conditions (TLS only, endpoint only)
are not evaluated: the emulator does not know the transport or the network path.
"""

import json
import re

from . import s3_requests
from .root_user import root_account_of

ROOT_ALWAYS = {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}


def _listed(value):
    return value if isinstance(value, list) else [value]


def _matches(patterns, value):
    return any(re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), value, re.IGNORECASE) for p in _listed(patterns))


def _everyone(principal):
    return principal == "*" or (isinstance(principal, dict) and _listed(principal.get("AWS")) == ["*"])


def denying_statement(policy, action, resource):
    """The Sid (or index) of the unconditional Deny-to-everyone statement of `policy` that names `action`
    on `resource`, or None."""
    statements = _listed(policy.get("Statement", []))
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Deny" or "Condition" in statement or not _everyone(statement.get("Principal")):
            continue
        if "NotAction" in statement:
            named = not _matches(statement["NotAction"], action)
        else:
            named = _matches(statement.get("Action", []), action)
        if named and _matches(statement.get("Resource", []), resource):
            return statement.get("Sid", str(index))
    return None


def _enforce(request):
    if not request.bucket.policy:
        return None
    policy = json.loads(request.bucket.policy.decode() if isinstance(request.bucket.policy, bytes) else request.bucket.policy)
    statement = denying_statement(policy, request.action, request.resource)
    if statement is None:
        return None
    if request.action in ROOT_ALWAYS and root_account_of(request.access_key) == request.bucket.account_id:
        return None
    return s3_requests.error(
        403, "AccessDenied",
        f"not authorized to perform: {request.action} on resource: \"{request.resource}\" with an explicit deny in a "
        f"resource-based policy (statement {statement})",
    )


def install():
    s3_requests.add_rule(_enforce, order=30)
