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

  IAM key and user ages (test scaffolding, not a gap in an API)
      moto stamps every user and access key with the current time and has no way to backdate one, so
      the rules "unused for N days" and "older than N days" could not be exercised end to end. Added
      here: a user created with a path `/mamori-test-aged-<N>-days/` gets its creation date, and
      each access key created for it gets its creation date, moved N days into the past. Users with any
      other path are untouched; AWS itself has no such path convention and mamori knows nothing of it.

mamori itself has no emulator special case for these calls. Remove an entry once the pinned emulator
implements it.
"""

import re
from datetime import timedelta

AWS_MANAGED_EBS_KEY = "alias/aws/ebs"
AGED_PATH = re.compile(r"/mamori-test-aged-(\d+)-days/")


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


def _age(user):
    match = AGED_PATH.search(getattr(user, "path", None) or "")
    return timedelta(days=int(match.group(1))) if match else None


def _ageing_user_init(init):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        age = _age(self)
        if age:
            self.create_date -= age

    return __init__


def _ageing_create_access_key(create):
    def create_access_key(self, *args, **kwargs):
        key = create(self, *args, **kwargs)
        age = _age(self)
        if age:
            key.create_date -= age
        return key

    return create_access_key


def _close_iam_gaps():
    try:
        from moto.iam.models import User
    except ImportError:  # not an emulator's interpreter
        return
    User.__init__ = _ageing_user_init(User.__init__)
    User.create_access_key = _ageing_create_access_key(User.create_access_key)


def _close_gaps():
    try:
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.responses.settings import Settings
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_ebs_default_kms_key_id"):
        Settings.get_ebs_default_kms_key_id = _get_ebs_default_kms_key_id
    EBSBackend.modify_ebs_default_kms_key_id = _accepting_foreign_key_arns(EBSBackend.modify_ebs_default_kms_key_id)


_close_gaps()
_close_iam_gaps()
