"""The S3 request as the S3 rule shims judge it (a helper, not a shim of its own).

moto answers S3 requests path-style through `S3Response._bucket_response` (a bucket) and
`S3Response._key_response` (an object). `add_rule(rule, order)` puts a check in front of both: before
moto acts, every rule is called, lowest `order` first, with a `Request` (bucket, key, the IAM action
the request is authorized as, the caller's access key, the region it was signed for, headers, body)
and returns `None` to let it through or a `(status, headers, body)` answer that S3 would give
instead. A request for a bucket that does not exist goes through untouched: moto answers it.

The IAM action of each request follows the S3 User Guide, "Required permissions for Amazon S3 API
operations" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
a DELETE of a configuration is authorized as its Put action (DeleteBucketLifecycle needs
s3:PutLifecycleConfiguration), a HEAD of a bucket as s3:ListBucket.
"""

import re

# Requests on a bucket, by subresource (the query key): the action of a GET, a PUT and a DELETE.
_BUCKET_SUBRESOURCES = [
    ("location", "GetBucketLocation", None, None),
    ("versioning", "GetBucketVersioning", "PutBucketVersioning", None),
    ("policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    ("policyStatus", "GetBucketPolicyStatus", None, None),
    ("acl", "GetBucketAcl", "PutBucketAcl", None),
    ("tagging", "GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    ("logging", "GetBucketLogging", "PutBucketLogging", None),
    ("lifecycle", "GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    ("encryption", "GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    ("publicAccessBlock", "GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    ("object-lock", "GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    ("notification", "GetBucketNotification", "PutBucketNotification", None),
    ("replication", "GetReplicationConfiguration", "PutReplicationConfiguration", "PutReplicationConfiguration"),
    ("versions", "ListBucketVersions", None, None),
    ("uploads", "ListBucketMultipartUploads", None, None),
    ("ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    ("cors", "GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    ("website", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    ("inventory", "GetInventoryConfiguration", "PutInventoryConfiguration", "PutInventoryConfiguration"),
    ("metrics", "GetMetricsConfiguration", "PutMetricsConfiguration", "PutMetricsConfiguration"),
    ("analytics", "GetAnalyticsConfiguration", "PutAnalyticsConfiguration", "PutAnalyticsConfiguration"),
    ("accelerate", "GetAccelerateConfiguration", "PutAccelerateConfiguration", None),
    ("requestPayment", "GetBucketRequestPayment", "PutBucketRequestPayment", None),
    ("intelligent-tiering", "GetIntelligentTieringConfiguration", "PutIntelligentTieringConfiguration",
     "PutIntelligentTieringConfiguration"),
]

# (method, subresource) -> action, for requests on a bucket; `None`: no subresource.
_BUCKET_ACTIONS = {
    method: {sub: actions[column] for sub, *actions in _BUCKET_SUBRESOURCES if actions[column]}
    for column, method in enumerate(("GET", "PUT", "DELETE"))
}
_BUCKET_ACTIONS["GET"][None] = "ListBucket"
_BUCKET_ACTIONS["PUT"][None] = "CreateBucket"
_BUCKET_ACTIONS["DELETE"][None] = "DeleteBucket"
_BUCKET_ACTIONS["HEAD"] = {None: "ListBucket"}
_BUCKET_ACTIONS["POST"] = {"delete": "DeleteObject", None: "PutObject"}

# The same for requests on an object; `versionId` turns some actions into their *Version form.
_KEY_ACTIONS = {
    "GET": {"acl": "GetObjectAcl", "tagging": "GetObjectTagging", "retention": "GetObjectRetention",
            "legal-hold": "GetObjectLegalHold", "uploadId": "ListMultipartUploadParts",
            "attributes": "GetObjectAttributes", None: "GetObject"},
    "HEAD": {None: "GetObject"},
    "PUT": {"acl": "PutObjectAcl", "tagging": "PutObjectTagging", "retention": "PutObjectRetention",
            "legal-hold": "PutObjectLegalHold", None: "PutObject"},
    "DELETE": {"uploadId": "AbortMultipartUpload", "tagging": "DeleteObjectTagging", None: "DeleteObject"},
    "POST": {"restore": "RestoreObject", "select": "GetObject", None: "PutObject"},
}
_VERSIONED = {"GetObject": "GetObjectVersion", "GetObjectAcl": "GetObjectVersionAcl",
              "GetObjectTagging": "GetObjectVersionTagging", "PutObjectAcl": "PutObjectVersionAcl",
              "PutObjectTagging": "PutObjectVersionTagging", "DeleteObject": "DeleteObjectVersion",
              "DeleteObjectTagging": "DeleteObjectVersionTagging"}

_ACCESS_KEY = re.compile(r"Credential=([A-Z0-9]{16,128})/\d{8}/([a-z0-9-]+)/")


class Request:
    """One S3 request on an existing bucket, as a rule sees it."""

    def __init__(self, bucket, key, method, query, headers, body):
        self.bucket = bucket  # moto's FakeBucket
        self.key = key  # None for a bucket request
        self.method = method
        self.query = query
        self.headers = headers
        self.body = body
        match = _ACCESS_KEY.search(headers.get("Authorization", ""))
        self.access_key = match.group(1) if match else None
        self.signing_region = match.group(2) if match else None
        self.action = "s3:" + _action(key is not None, method, query)

    @property
    def resource(self):
        arn = f"arn:{self.bucket.partition}:s3:::{self.bucket.name}"
        if self.key is not None:
            return f"{arn}/{self.key}"
        return f"{arn}/*" if self.action == "s3:DeleteObject" else arn

    def text(self):
        body = self.body or b""
        return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


def _action(on_key, method, query):
    table = (_KEY_ACTIONS if on_key else _BUCKET_ACTIONS).get(method, {})
    action = next((action for sub, action in table.items() if sub is not None and sub in query), table.get(None, method))
    if on_key and "versionId" in query:
        action = _VERSIONED.get(action, action)
    return action


def error(status, code, message, headers=None, **fields):
    """An S3 error answer."""
    extra = "".join(f"<{name}>{value}</{name}>" for name, value in fields.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>'
    return status, {"Content-Type": "application/xml", **(headers or {})}, body


_RULES = []


def add_rule(rule, order):
    """Runs `rule(request)` before moto answers any S3 request on an existing bucket."""
    _RULES.append((order, rule))
    _RULES.sort(key=lambda entry: entry[0])
    _install_hooks()


def _judge(response, bucket_name, key, request, query):
    try:
        bucket = response.backend.get_bucket(bucket_name)
    except Exception:  # no such bucket: moto answers
        return None
    judged = Request(bucket, key, request.method, query, request.headers, response.body)
    for _, rule in _RULES:
        answer = rule(judged)
        if answer is not None:
            return answer
    return None


_INSTALLED = []


def _install_hooks():
    if _INSTALLED:
        return
    try:
        from moto.s3.responses import S3Response
    except ImportError:  # not moto's interpreter
        return
    _INSTALLED.append(True)
    bucket_response, key_response = S3Response._bucket_response, S3Response._key_response

    def _bucket_response(self, request, full_url):
        bucket_name = self.parse_bucket_name_from_url(request, full_url)
        if bucket_name:
            answer = _judge(self, bucket_name, None, request, self._get_querystring(request, full_url))
            if answer is not None:
                return answer
        return bucket_response(self, request, full_url)

    def _key_response(self, request, full_url):
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
        answer = _judge(self, self.parse_bucket_name_from_url(request, full_url), self.parse_key_name(), request, query)
        if answer is not None:
            return answer
        return key_response(self, request, full_url)

    S3Response._bucket_response = _bucket_response
    S3Response._key_response = _key_response


def install():
    """Nothing of its own: the rules that use it install the hooks."""
