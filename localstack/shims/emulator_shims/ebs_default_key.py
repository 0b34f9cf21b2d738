"""EBS default key read-back (an emulator gap, both engines).

  ec2:GetEbsDefaultKmsKeyId
      moto: HTTP 500; LocalStack: "action has not been implemented". Added here: returns the ARN that
      ModifyEbsDefaultKmsKeyId stored; when none was set, `alias/aws/ebs`, AWS's answer for an account
      that uses the AWS managed key.

  ec2:ModifyEbsDefaultKmsKeyId on LocalStack
      LocalStack serves KMS from its own provider, so moto's EC2 cannot find a LocalStack key and fails
      with HTTP 500. Added here: when moto's KMS does not know the key and it is given as a key ARN,
      the ARN is stored as given (AWS would store that same ARN).
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


def install():
    try:
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.responses.settings import Settings
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_ebs_default_kms_key_id"):
        Settings.get_ebs_default_kms_key_id = _get_ebs_default_kms_key_id
    EBSBackend.modify_ebs_default_kms_key_id = _accepting_foreign_key_arns(EBSBackend.modify_ebs_default_kms_key_id)
