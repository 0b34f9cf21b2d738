"""Bucket versioning and MFA Delete on moto (an emulator gap; LocalStack serves S3 with its own provider).

  s3:GetBucketVersioning
      moto wraps the answer in a <GetBucketVersioningResponse> root instead of S3's
      <VersioningConfiguration>, which the Rust SDK rejects, and never reports MFADelete. Replaced
      here: the S3 document, with <MfaDelete> once PutBucketVersioning set it.

  s3:PutBucketVersioning with <MfaDelete>
      moto ignores MfaDelete. Added here: as on AWS, changing it requires the x-amz-mfa header
      ("SERIAL CODE", which moto cannot check) and is refused without it; the value is then kept for
      GetBucketVersioning. This is what lets a test prove the root MFA Delete flow end to end.
"""

_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _get_bucket_versioning(self):
    bucket = self.backend.get_bucket(self.bucket_name)
    status = self.backend.get_bucket_versioning(self.bucket_name)
    mfa_delete = getattr(bucket, "mamori_mfa_delete", None)
    body = f'<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="{_S3_NS}">'
    if status:
        body += f"<Status>{status}</Status>"
    if mfa_delete:
        body += f"<MfaDelete>{mfa_delete}</MfaDelete>"
    body += "</VersioningConfiguration>"
    self.data["Action"] = "GetBucketVersioning"
    return 200, {"Content-Type": "application/xml"}, body


def _recording_mfa_delete(bucket_put):
    import re

    def _bucket_response_put(self, request, bucket_name, querystring):
        if "versioning" in querystring:
            body = self.body.decode("utf-8") if isinstance(self.body, bytes) else (self.body or "")
            wanted = re.search(r"<MfaDelete>([A-Za-z]+)</MfaDelete>", body)
            if wanted:
                if not request.headers.get("x-amz-mfa", "").strip():
                    error = ("<Error><Code>AccessDenied</Code><Message>Mfa Authentication must be used for this "
                             "request</Message></Error>")
                    return 403, {"Content-Type": "application/xml"}, error
                self.backend.get_bucket(bucket_name).mamori_mfa_delete = wanted.group(1)
        return bucket_put(self, request, bucket_name, querystring)

    return _bucket_response_put


def install():
    try:
        from moto.s3.responses import S3Response
    except ImportError:  # not moto's interpreter
        return
    S3Response.get_bucket_versioning = _get_bucket_versioning
    S3Response._bucket_response_put = _recording_mfa_delete(S3Response._bucket_response_put)
