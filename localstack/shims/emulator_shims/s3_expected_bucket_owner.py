"""A request that names the expected bucket owner fails when another account owns the bucket (an AWS
rule; moto only).

moto ignores `x-amz-expected-bucket-owner` and, by default, serves a bucket of another account to
anyone. AWS checks it on every operation that takes `ExpectedBucketOwner`: "If the bucket is owned by
a different account, the request fails with the HTTP status code 403 Forbidden (access denied)" (S3
User Guide, "Verifying bucket ownership with bucket owner condition":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html). Modelled here: a
request whose header names an account other than the bucket's owner is refused with 403 AccessDenied
(a HEAD with no body, as S3 answers HEAD requests).
"""

from . import s3_requests


def _check(request):
    expected = request.headers.get("x-amz-expected-bucket-owner")
    if not expected or expected == request.bucket.account_id:
        return None
    if request.method == "HEAD":
        return 403, {}, ""
    return s3_requests.error(403, "AccessDenied", "Access Denied")


def install():
    s3_requests.add_rule(_check, order=20)
