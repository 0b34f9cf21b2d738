"""CloudTrail refuses a bucket whose policy does not let it write (AWS rule, moto).

AWS (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html):
to deliver log files CloudTrail needs a bucket policy that allows the service principal
`cloudtrail.amazonaws.com` `s3:GetBucketAcl` on the bucket and `s3:PutObject` on
`BUCKET/[PREFIX/]AWSLogs/ACCOUNT_ID/*` with the ACL `bucket-owner-full-control` (an organization trail
also writes under `AWSLogs/ORGANIZATION_ID/`), optionally conditioned on the trail's ARN
(`aws:SourceArn`) or account (`aws:SourceAccount`). CreateTrail and UpdateTrail refuse a bucket whose
policy does not, with InsufficientS3BucketPolicyException
(https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html). moto checks only
that the bucket exists.

Here, as on AWS, CreateTrail and UpdateTrail (when it names a bucket) evaluate the bucket's policy for
those two requests, with CloudTrail's request context (the trail's ARN, account and organization, TLS,
the ACL): an explicit Deny wins, then an Allow is needed. Supported: Principal/NotPrincipal,
Action/NotAction and Resource/NotResource with wildcards, and the String*, Arn* and Bool condition
operators (with IfExists and the ForAnyValue/ForAllValues prefixes). An unknown operator makes an
Allow not apply and a Deny apply: the shim errs on AWS refusing.
"""

import fnmatch
import json

from .moto_responses import aws_error

SERVICE = "cloudtrail.amazonaws.com"


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern, text, case_sensitive=True):
    """IAM wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    if not case_sensitive:
        pattern, text = pattern.lower(), text.lower()
    translated = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(text, translated)


def _principal_matches(statement):
    def names_cloudtrail(principal):
        if principal == "*":
            return True
        if isinstance(principal, dict):
            return "*" in _as_list(principal.get("AWS")) or SERVICE in _as_list(principal.get("Service"))
        return False

    if "NotPrincipal" in statement:
        return not names_cloudtrail(statement["NotPrincipal"])
    return names_cloudtrail(statement.get("Principal"))


def _listed(statement, key, value, case_sensitive):
    positive = _as_list(statement.get(key))
    negative = _as_list(statement.get("Not" + key))
    if key in statement:
        return any(_wildcard(p, value, case_sensitive) for p in positive)
    if "Not" + key in statement:
        return not any(_wildcard(p, value, case_sensitive) for p in negative)
    return False


_OPERATORS = {
    "StringEquals": lambda wanted, actual: wanted == actual,
    "StringEqualsIgnoreCase": lambda wanted, actual: wanted.lower() == actual.lower(),
    "StringLike": lambda wanted, actual: _wildcard(wanted, actual),
    "ArnEquals": lambda wanted, actual: wanted == actual,
    "ArnLike": lambda wanted, actual: _wildcard(wanted, actual),
    "Bool": lambda wanted, actual: str(wanted).lower() == str(actual).lower(),
}
_NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator, key, wanted, context, unknown):
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        operator = operator.removeprefix(prefix)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    negated = operator in _NEGATIONS
    test = _OPERATORS.get(_NEGATIONS.get(operator, operator))
    if test is None:
        return unknown
    actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    if actual is None:
        return if_exists or negated
    matched = any(test(w, actual) for w in _as_list(wanted))
    return not matched if negated else matched


def _conditions_hold(statement, context, unknown):
    return all(
        _condition_holds(operator, key, wanted, context, unknown)
        for operator, pairs in (statement.get("Condition") or {}).items()
        for key, wanted in pairs.items()
    )


def allows(policy, action, resource, context):
    """Whether `policy` lets CloudTrail's service principal do `action` on `resource` in `context`."""
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        deny = statement.get("Effect") == "Deny"
        if not (
            _principal_matches(statement)
            and _listed(statement, "Action", action, case_sensitive=False)
            and _listed(statement, "Resource", resource, case_sensitive=True)
            and _conditions_hold(statement, context, unknown=deny)
        ):
            continue
        if deny:
            return False
        allowed = True
    return allowed


def _organization_id(account_id, partition):
    try:
        from moto.organizations.models import organizations_backends
    except ImportError:
        return None
    backend = organizations_backends[account_id][partition]
    if backend.org is None and account_id in organizations_backends.master_accounts:
        management, partition = organizations_backends.master_accounts[account_id]
        backend = organizations_backends[management][partition]
    return backend.org.id if backend.org else None


def refusal(policy_text, bucket, prefix, trail_arn, account_id, organization_id, organization_trail):
    """Why CloudTrail could not deliver into `bucket` under this policy, or None when it could."""
    if not policy_text:
        return f"Incorrect S3 bucket policy is detected for bucket: {bucket}"
    policy = json.loads(policy_text)
    partition = trail_arn.split(":")[1]
    context = {
        "aws:SourceArn": trail_arn,
        "aws:SourceAccount": account_id,
        "aws:SecureTransport": "true",
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    if organization_id:
        context["aws:SourceOrgID"] = organization_id
    region = trail_arn.split(":")[3]
    base = f"arn:{partition}:s3:::{bucket}/" + (f"{prefix.strip('/')}/" if prefix else "")
    owners = [account_id] + ([f"{organization_id}/{account_id}"] if organization_trail and organization_id else [])
    requests = [("s3:GetBucketAcl", f"arn:{partition}:s3:::{bucket}")]
    requests += [("s3:PutObject", f"{base}AWSLogs/{owner}/CloudTrail/{region}/probe.json.gz") for owner in owners]
    for action, resource in requests:
        if not allows(policy, action, resource, context):
            return f"Incorrect S3 bucket policy is detected for bucket: {bucket} ({SERVICE} may not {action} on {resource})"
    return None


def _check(trail):
    """Refuses, as AWS does, a trail whose bucket policy does not let CloudTrail deliver."""
    from moto.s3.models import s3_backends

    bucket = s3_backends[trail.account_id][trail.partition].get_bucket(trail.bucket_name)
    policy = bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy
    organization = _organization_id(trail.account_id, trail.partition)
    reason = refusal(policy, trail.bucket_name, trail.s3_key_prefix, trail.arn, trail.account_id, organization, trail.is_org_trail)
    if reason:
        raise aws_error("InsufficientS3BucketPolicyException", reason)


def _creating_checked(create_trail, check):
    def create(self, name, bucket_name, *args, **kwargs):
        trail = create_trail(self, name, bucket_name, *args, **kwargs)
        try:
            check(trail)
        except Exception:
            del self.trails[name]
            raise
        return trail

    return create


def _updating_checked(update_trail, check):
    def update(self, name, s3_bucket_name, *args, **kwargs):
        trail = self.get_trail(name)
        before = dict(trail.__dict__)
        updated = update_trail(self, name, s3_bucket_name, *args, **kwargs)
        if s3_bucket_name is not None:
            try:
                check(updated)
            except Exception:
                trail.__dict__.update(before)
                raise
        return updated

    return update


def install():
    try:
        from moto.cloudtrail.models import CloudTrailBackend
    except ImportError:  # not moto's interpreter
        return
    CloudTrailBackend.create_trail = _creating_checked(CloudTrailBackend.create_trail, _check)
    CloudTrailBackend.update_trail = _updating_checked(CloudTrailBackend.update_trail, _check)
