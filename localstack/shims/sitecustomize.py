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

  ec2:ModifyVpcEndpoint Add/RemoveSecurityGroupIds on LocalStack
      LocalStack answers ModifyVpcEndpoint with its own handler, which applies route tables, subnets,
      policy and private DNS but drops the security-group parameters. Added here: after LocalStack's
      handler, the groups are added to / removed from the endpoint, as AWS does. The handler is
      patched when LocalStack imports its EC2 provider (an import hook: the module is not imported at
      interpreter start).

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


def _modify_vpc_endpoint_with_security_groups(modify):
    import functools

    @functools.wraps(modify)
    def modify_vpc_endpoint(self, context, vpc_endpoint_id, *args, **kwargs):
        result = modify(self, context, vpc_endpoint_id, *args, **kwargs)
        from localstack.services.ec2.models import get_ec2_backend

        endpoint = get_ec2_backend(context.account_id, context.region).vpc_end_points.get(vpc_endpoint_id)
        add = kwargs.get("add_security_group_ids") or []
        remove = kwargs.get("remove_security_group_ids") or []
        if endpoint is not None and (add or remove):
            kept = [g for g in endpoint.security_group_ids if g not in remove]
            endpoint.security_group_ids = kept + [g for g in add if g not in kept]
        return result

    return modify_vpc_endpoint


def _patch_localstack_ec2_provider(module):
    provider = module.Ec2Provider
    provider.modify_vpc_endpoint = _modify_vpc_endpoint_with_security_groups(provider.modify_vpc_endpoint)


class _PatchAfterImport:
    """A meta-path finder that runs a patch right after one module has been executed."""

    patches = {"localstack.services.ec2.provider": _patch_localstack_ec2_provider}

    def find_spec(self, fullname, path, target=None):
        import sys

        patch = self.patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                original = spec.loader.exec_module

                def exec_module(module):
                    original(module)
                    patch(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


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
__import__("sys").meta_path.insert(0, _PatchAfterImport())
