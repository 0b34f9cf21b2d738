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

  ec2:ModifyVpcEndpoint PrivateDnsEnabled (both engines)
      moto applies the subnet, security-group, route-table and policy parameters but drops
      PrivateDnsEnabled, so an interface endpoint created without private DNS can never be corrected.
      Added here: after moto's own handling, a PrivateDnsEnabled parameter sets the endpoint's flag, as
      AWS does. Nothing else of the call changes.

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


def _modify_vpc_endpoint_with_private_dns(modify):
    def modify_vpc_endpoint(self):
        result = modify(self)
        private_dns = self._get_bool_param("PrivateDnsEnabled")
        if private_dns is not None:
            endpoint = self.ec2_backend.get_vpc_end_point(self._get_param("VpcEndpointId"))
            endpoint.private_dns_enabled = private_dns
        return result

    return modify_vpc_endpoint


def _close_gaps():
    try:
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.responses.settings import Settings
        from moto.ec2.responses.vpcs import VPCs
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_ebs_default_kms_key_id"):
        Settings.get_ebs_default_kms_key_id = _get_ebs_default_kms_key_id
    EBSBackend.modify_ebs_default_kms_key_id = _accepting_foreign_key_arns(EBSBackend.modify_ebs_default_kms_key_id)
    VPCs.modify_vpc_endpoint = _modify_vpc_endpoint_with_private_dns(VPCs.modify_vpc_endpoint)


_close_gaps()
