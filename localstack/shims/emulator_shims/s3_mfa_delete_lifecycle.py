"""MFA Delete and a lifecycle configuration cannot coexist on a bucket (an AWS rule; moto only).

moto accepts both. S3 does not: "Lifecycle configuration on MFA-enabled buckets is not supported" (S3
User Guide, "Lifecycle and other bucket configurations":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-and-other-bucket-config.html), and
enabling MFA Delete on a bucket that has a lifecycle configuration fails with `InvalidBucketState: Mfa
Authentication is not supported on a bucket with lifecycle configuration`. Modelled here, both ways:
PutBucketVersioning with `<MfaDelete>Enabled</MfaDelete>` on a bucket with lifecycle rules, and
PutBucketLifecycleConfiguration on a bucket whose MFA Delete is on (as `s3_versioning_mfa_delete.py`
records it), are refused with 409 InvalidBucketState.
"""

from . import s3_requests


def _check(request):
    if request.method != "PUT":
        return None
    if request.action == "s3:PutBucketVersioning" and "<MfaDelete>Enabled</MfaDelete>" in request.text() and request.bucket.rules:
        return s3_requests.error(409, "InvalidBucketState", "Mfa Authentication is not supported on a bucket with lifecycle configuration")
    if request.action == "s3:PutLifecycleConfiguration" and getattr(request.bucket, "mamori_mfa_delete", None) == "Enabled":
        return s3_requests.error(409, "InvalidBucketState", "Lifecycle configuration is not supported on a bucket with MFA Delete enabled")
    return None


def install():
    s3_requests.add_rule(_check, order=40)
