"""Bucket configuration reads lag behind writes (an AWS rule, moto).

  "Bucket configurations have an eventual consistency model": a configuration just written may not
  be what the next read returns.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel

  Modelled here: after a write of a bucket's versioning, encryption, policy, Block Public Access,
  logging, lifecycle or Object Lock configuration, reads of that configuration return what they
  returned before the write (the document, or the "not found" error) until the propagation delay
  (see propagation_delay.py; off unless set) has passed since the write. Writes close together keep
  the oldest view. The write itself takes effect at once, as on AWS.
"""

import copy
import time

from emulator_shims import propagation_delay

# The sub-resources (query string keys) whose reads lag behind their writes.
SUBRESOURCES = ("versioning", "encryption", "policy", "publicAccessBlock", "logging", "lifecycle", "object-lock")


def _subresource(querystring):
    return next((name for name in SUBRESOURCES if name in querystring and not (name == "policy" and "policyStatus" in querystring)), None)


def _read(self, bucket_name, name):
    """What a read of `name` answers now: ("ok", response) or ("error", exception)."""
    try:
        return "ok", self._mamori_stale_get(bucket_name, {name: [""]})
    except Exception as error:  # an S3 "not found" error is an answer too
        return "error", error


def _remembering_the_old_view(put):
    def bucket_response_put(self, request, bucket_name, querystring):
        name = _subresource(querystring)
        if name and propagation_delay.seconds(self.current_account):
            try:
                bucket = self.backend.get_bucket(bucket_name)
            except Exception:
                bucket = None
            if bucket is not None:
                views = bucket.__dict__.setdefault("mamori_stale_views", {})
                if name not in views or not propagation_delay.is_young(views[name][0], self.current_account):
                    views[name] = (time.time(), _read(self, bucket_name, name))
        return put(self, request, bucket_name, querystring)

    return bucket_response_put


def _answering_the_old_view(get):
    def bucket_response_get(self, bucket_name, querystring):
        name = _subresource(querystring)
        if name:
            try:
                bucket = self.backend.get_bucket(bucket_name)
            except Exception:
                bucket = None
            view = getattr(bucket, "mamori_stale_views", {}).get(name)
            if view and propagation_delay.is_young(view[0], self.current_account):
                kind, answer = view[1]
                if kind == "error":
                    raise answer
                return copy.deepcopy(answer)
        return get(self, bucket_name, querystring)

    return bucket_response_get


def install():
    try:
        from moto.s3.responses import S3Response
    except ImportError:  # not moto's interpreter
        return
    S3Response._mamori_stale_get = S3Response._bucket_response_get
    S3Response._bucket_response_get = _answering_the_old_view(S3Response._bucket_response_get)
    S3Response._bucket_response_put = _remembering_the_old_view(S3Response._bucket_response_put)
