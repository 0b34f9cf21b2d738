"""Closes the emulator gaps mamori's tests hit, and nothing else. Test harness only.

`emulator.py` puts this directory on PYTHONPATH when it starts moto server or LocalStack, so Python
imports this module at start-up in the emulator's process (and only there). Both engines serve EC2
from moto's code (LocalStack through its moto fork), which implements ec2:ModifyEbsDefaultKmsKeyId (it
resolves the key and stores its ARN, as AWS does) but not its read-back:

  ec2:GetEbsDefaultKmsKeyId
      moto: HTTP 500; LocalStack: "action has not been implemented". Added here: returns the ARN that
      ModifyEbsDefaultKmsKeyId stored; when none was set, `alias/aws/ebs`, AWS's answer for an account
      that uses the AWS managed key.

  ec2:ModifyEbsDefaultKmsKeyId on LocalStack
      LocalStack serves KMS from its own provider, so moto's EC2 cannot find a LocalStack key and fails
      with HTTP 500. Added here: when moto's KMS does not know the key and it is given as a key ARN,
      the ARN is stored as given (AWS would store that same ARN).

  s3:GetBucketVersioning on moto
      moto wraps the answer in a <GetBucketVersioningResponse> root instead of S3's
      <VersioningConfiguration>, which the Rust SDK rejects, and never reports MFADelete. Replaced
      here: the S3 document, with <MfaDelete> once PutBucketVersioning set it.

  s3:PutBucketVersioning with <MfaDelete> on moto
      moto ignores MfaDelete. Added here: as on AWS, changing it requires the x-amz-mfa header
      ("SERIAL CODE", which moto cannot check) and is refused without it; the value is then kept for
      GetBucketVersioning. This is what lets a test prove the root MFA Delete flow end to end.

mamori itself has no emulator special case for these calls. Remove an entry once the pinned emulator
implements it.
"""

AWS_MANAGED_EBS_KEY = "alias/aws/ebs"


def _get_ebs_default_kms_key_id(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    stored = getattr(self.ec2_backend, "default_kms_key_id", "") or AWS_MANAGED_EBS_KEY
    return ActionResult({"KmsKeyId": stored})


def _accepting_foreign_key_arns(modify):
    def modify_ebs_default_kms_key_id(self, kms_key_id):
        try:
            return modify(self, kms_key_id)
        except KeyError:
            if not (kms_key_id or "").startswith("arn:") or ":key/" not in kms_key_id:
                raise
            self.default_kms_key_id = kms_key_id
            return kms_key_id

    return modify_ebs_default_kms_key_id


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


def _close_gaps():
    try:
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.responses.settings import Settings
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_ebs_default_kms_key_id"):
        Settings.get_ebs_default_kms_key_id = _get_ebs_default_kms_key_id
    EBSBackend.modify_ebs_default_kms_key_id = _accepting_foreign_key_arns(EBSBackend.modify_ebs_default_kms_key_id)
    _close_s3_gaps()


def _close_s3_gaps():
    try:
        from moto.s3.responses import S3Response
    except ImportError:
        return
    # LocalStack serves S3 with its own provider; these patches only matter to moto server.
    S3Response.get_bucket_versioning = _get_bucket_versioning
    S3Response._bucket_response_put = _recording_mfa_delete(S3Response._bucket_response_put)


_close_gaps()
