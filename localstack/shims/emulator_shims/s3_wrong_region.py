"""A request for a bucket sent to another region's endpoint is redirected, not served (an AWS rule;
moto only).

moto serves every bucket from every region. S3 serves a bucket only at its own region's endpoint:
elsewhere it answers HTTP 301 with the bucket's region in the `x-amz-bucket-region` header (HeadBucket:
"the bucket's Region ... x-amz-bucket-region"; a HEAD request has no body) or a `PermanentRedirect`
error naming the endpoint to use (S3 API Reference, HeadBucket:
https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html, and "Making requests",
https://docs.aws.amazon.com/AmazonS3/latest/API/RESTRedirect.html). The AWS SDK for Rust does not
follow such redirects. Modelled here: a request on an existing bucket signed for a region other than
the bucket's gets that answer; CreateBucket (which names the region in its body) and
GetBucketLocation (which S3 answers wherever it is sent: it is how a client learns the region) are
left to moto.
"""

from . import s3_requests


def _redirect(request):
    region = request.bucket.region_name
    if not request.signing_region or request.signing_region == region or request.action in ("s3:CreateBucket", "s3:GetBucketLocation"):
        return None
    headers = {"x-amz-bucket-region": region}
    if request.method == "HEAD":
        return 301, headers, ""
    return s3_requests.error(
        301, "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future "
        "requests to this endpoint.",
        headers, Endpoint=f"s3.{region}.amazonaws.com", Bucket=request.bucket.name,
    )


def install():
    s3_requests.add_rule(_redirect, order=10)
