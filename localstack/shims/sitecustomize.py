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

  ec2:GetInstanceMetadataDefaults / ec2:ModifyInstanceMetadataDefaults
      moto: HTTP 500 (not implemented). Added here: the account-level IMDS defaults (HttpTokens,
      HttpPutResponseHopLimit, HttpEndpoint, InstanceMetadataTags) are stored on the EC2 backend, which
      moto keeps per account and region, as AWS does. `no-preference` clears a setting, and
      GetInstanceMetadataDefaults returns only the settings that are set (AWS omits the others).
      Only the defaults are stored: like moto's other settings, they do not change how RunInstances
      launches instances.

mamori itself has no emulator special case for these calls. Remove an entry once the pinned emulator
implements it.
"""

AWS_MANAGED_EBS_KEY = "alias/aws/ebs"


def _get_ebs_default_kms_key_id(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    stored = getattr(self.ec2_backend, "default_kms_key_id", "") or AWS_MANAGED_EBS_KEY
    return ActionResult({"KmsKeyId": stored})


IMDS_DEFAULT_SETTINGS = ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags")


def _imds_defaults(backend):
    if not hasattr(backend, "mamori_imds_defaults"):
        backend.mamori_imds_defaults = {}
    return backend.mamori_imds_defaults


def _get_instance_metadata_defaults(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    return ActionResult({"AccountLevel": dict(_imds_defaults(self.ec2_backend))})


def _modify_instance_metadata_defaults(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    defaults = _imds_defaults(self.ec2_backend)
    for name in IMDS_DEFAULT_SETTINGS:
        value = self._get_param(name)
        if value is None:
            continue
        if str(value) in ("no-preference", "-1"):
            defaults.pop(name, None)
        elif name == "HttpPutResponseHopLimit":
            defaults[name] = int(value)
        else:
            defaults[name] = value
    return ActionResult({"Return": True})


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


def _close_gaps():
    try:
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.responses.settings import Settings
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_ebs_default_kms_key_id"):
        Settings.get_ebs_default_kms_key_id = _get_ebs_default_kms_key_id
    if not hasattr(Settings, "get_instance_metadata_defaults"):
        Settings.get_instance_metadata_defaults = _get_instance_metadata_defaults
    if not hasattr(Settings, "modify_instance_metadata_defaults"):
        Settings.modify_instance_metadata_defaults = _modify_instance_metadata_defaults
    EBSBackend.modify_ebs_default_kms_key_id = _accepting_foreign_key_arns(EBSBackend.modify_ebs_default_kms_key_id)


_close_gaps()
