"""An interface endpoint needs a free IPv4 address in each of its subnets (an AWS rule).

  ec2:CreateVpcEndpoint (Interface) / ec2:ModifyVpcEndpoint AddSubnetIds
      An interface endpoint of IP address type IPv4 (the default) puts a network interface with an IPv4
      address in each of its subnets ("IP address types",
      https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html#aws-service-ip-address-type),
      so AWS refuses a subnet that has no IPv4 range (an IPv6-only subnet: `InvalidParameter`) or no
      free IPv4 address left (`InsufficientFreeAddressesInSubnet`, "Error codes for the Amazon EC2
      API", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). The emulators
      create the endpoint anyway. Modelled here: both refusals, for the subnets a create names and the
      subnets a modify adds, before anything is changed (moto's model, which LocalStack's EC2 uses for
      creates; LocalStack's own ModifyVpcEndpoint handler through an import hook). Endpoints of IP
      address type ipv6 or dualstack are left to the emulator.
"""

from .localstack_ec2 import check_before_localstack_modify_vpc_endpoint, localstack_ec2_backend


def refuse_subnets_without_an_ipv4_address(backend, subnet_ids, ip_address_type=None):
    """Raises what EC2 answers when one of `subnet_ids` cannot hold an IPv4 endpoint interface."""
    from moto.ec2.exceptions import EC2ClientError

    if (ip_address_type or "ipv4").lower() != "ipv4":
        return
    for subnet_id in subnet_ids or []:
        subnet = backend.get_subnet(subnet_id)
        if not subnet.cidr_block or getattr(subnet, "ipv6_native", False):
            raise EC2ClientError("InvalidParameter", f"The subnet {subnet_id} has no IPv4 address range for an endpoint of IP address type ipv4.")
        if subnet.available_ip_address_count < 1:
            raise EC2ClientError(
                "InsufficientFreeAddressesInSubnet",
                f"The specified subnet {subnet_id} does not have enough free addresses to satisfy the request.",
            )


def _create_refusing_full_subnets(create):
    def create_vpc_endpoint(self, vpc_id, service_name, endpoint_type, *args, **kwargs):
        if (endpoint_type or "").lower() == "interface":
            refuse_subnets_without_an_ipv4_address(self, kwargs.get("subnet_ids"))
        return create(self, vpc_id, service_name, endpoint_type, *args, **kwargs)

    return create_vpc_endpoint


def _modify_refusing_full_subnets(modify):
    def modify_vpc_endpoint(self, vpc_id, policy_doc, add_subnets, *args, **kwargs):
        endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[vpc_id])[0]
        if (endpoint.vpc_endpoint_type or "").lower() == "interface":
            refuse_subnets_without_an_ipv4_address(self, add_subnets)
        return modify(self, vpc_id, policy_doc, add_subnets, *args, **kwargs)

    return modify_vpc_endpoint


def _refuse_on_localstack_modify(context, endpoint, request):
    if endpoint is not None and (endpoint.vpc_endpoint_type or "").lower() == "interface":
        refuse_subnets_without_an_ipv4_address(localstack_ec2_backend(context), request.get("add_subnet_ids"))


def install():
    check_before_localstack_modify_vpc_endpoint(_refuse_on_localstack_modify)
    try:
        from moto.ec2.models.vpcs import VPCBackend
    except ImportError:  # not an emulator's interpreter
        return
    VPCBackend.create_vpc_endpoint = _create_refusing_full_subnets(VPCBackend.create_vpc_endpoint)
    VPCBackend.modify_vpc_endpoint = _modify_refusing_full_subnets(VPCBackend.modify_vpc_endpoint)
