"""ModifyVpcEndpoint parameters the emulators drop (an emulator gap).

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
"""

from .localstack_ec2 import localstack_vpc_endpoint, wrap_localstack_ec2_provider


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
    def modify_vpc_endpoint(self, context, vpc_endpoint_id, *args, **kwargs):
        result = modify(self, context, vpc_endpoint_id, *args, **kwargs)
        endpoint = localstack_vpc_endpoint(context, vpc_endpoint_id)
        add = kwargs.get("add_security_group_ids") or []
        remove = kwargs.get("remove_security_group_ids") or []
        if endpoint is not None and (add or remove):
            kept = [g for g in endpoint.security_group_ids if g not in remove]
            endpoint.security_group_ids = kept + [g for g in add if g not in kept]
        return result

    return modify_vpc_endpoint


def install():
    wrap_localstack_ec2_provider("modify_vpc_endpoint", _modify_vpc_endpoint_with_security_groups)
    try:
        from moto.ec2.responses.vpcs import VPCs
    except ImportError:  # not an emulator's interpreter
        return
    VPCs.modify_vpc_endpoint = _modify_vpc_endpoint_with_private_dns(VPCs.modify_vpc_endpoint)
