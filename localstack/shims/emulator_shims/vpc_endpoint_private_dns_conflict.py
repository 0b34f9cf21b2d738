"""An interface endpoint's private DNS cannot clash with a private hosted zone of the VPC (an AWS rule).

  ec2:CreateVpcEndpoint / ec2:ModifyVpcEndpoint with PrivateDnsEnabled=true
      AWS implements an interface endpoint's private DNS with a private hosted zone named after the
      service (`ssm.us-east-1.amazonaws.com`) that it associates with the VPC (`PrivateDnsEnabled`,
      https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html), and a VPC
      cannot be associated with two private hosted zones of the same name (`ConflictingDomainExists`,
      https://docs.aws.amazon.com/Route53/latest/APIReference/API_AssociateVPCWithHostedZone.html).
      So when a private hosted zone of that name is already associated with the VPC (centralised
      endpoints), AWS refuses the endpoint: `InvalidParameter`, "private-dns-enabled cannot be set
      because there is already a conflicting DNS domain for NAME in the VPC VPC". Both emulators create
      it. Modelled here: the refusal, for a zone of the same account (the emulators keep Route 53 per
      account), on CreateVpcEndpoint (both engines: LocalStack's EC2 creates endpoints in moto's
      backend) and on ModifyVpcEndpoint turning private DNS on (moto's handler; LocalStack's own
      handler through an import hook).
"""

from .localstack_ec2 import check_before_localstack_modify_vpc_endpoint


def _private_dns_name(account_id, region, service_name):
    from moto.ec2.models.vpcs import VPCBackend

    for service in VPCBackend._collect_default_endpoint_services(account_id, region):
        if service.get("ServiceName") == service_name:
            return service.get("PrivateDnsName")
    return None


def _normalized(name):
    return (name or "").rstrip(".").lower()


def refuse_conflicting_private_dns(account_id, region, vpc_id, service_name):
    """Raises EC2's InvalidParameter when a private hosted zone named like the service's private DNS
    name is associated with the VPC."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.route53.models import route53_backends
    from moto.utilities.utils import get_partition

    name = _normalized(_private_dns_name(account_id, region, service_name)).removeprefix("*.")
    if not name:
        return
    backend = route53_backends[account_id][get_partition(region)]
    for zone in backend.zones.values():
        associated = any(vpc.get("vpc_id") == vpc_id for vpc in getattr(zone, "vpcs", []) or [])
        if zone.private_zone and associated and _normalized(zone.name) == name:
            raise EC2ClientError(
                "InvalidParameter",
                f"private-dns-enabled cannot be set because there is already a conflicting DNS domain for {name} in the VPC {vpc_id}",
            )


def _create_refusing_conflicts(create):
    def create_vpc_endpoint(self, vpc_id, service_name, endpoint_type, *args, **kwargs):
        if (endpoint_type or "").lower() == "interface" and kwargs.get("private_dns_enabled"):
            refuse_conflicting_private_dns(self.account_id, self.region_name, vpc_id, service_name)
        return create(self, vpc_id, service_name, endpoint_type, *args, **kwargs)

    return create_vpc_endpoint


def _moto_modify_refusing_conflicts(modify):
    def modify_vpc_endpoint(self):
        if self._get_bool_param("PrivateDnsEnabled"):
            endpoint = self.ec2_backend.get_vpc_end_point(self._get_param("VpcEndpointId"))
            refuse_conflicting_private_dns(self.current_account, self.region, endpoint.vpc_id, endpoint.service_name)
        return modify(self)

    return modify_vpc_endpoint


def _refuse_on_localstack_modify(context, endpoint, request):
    if request.get("private_dns_enabled") and endpoint is not None:
        refuse_conflicting_private_dns(context.account_id, context.region, endpoint.vpc_id, endpoint.service_name)


def install():
    check_before_localstack_modify_vpc_endpoint(_refuse_on_localstack_modify)
    try:
        from moto.ec2.models.vpcs import VPCBackend
        from moto.ec2.responses.vpcs import VPCs
    except ImportError:  # not an emulator's interpreter
        return
    VPCBackend.create_vpc_endpoint = _create_refusing_conflicts(VPCBackend.create_vpc_endpoint)
    VPCs.modify_vpc_endpoint = _moto_modify_refusing_conflicts(VPCs.modify_vpc_endpoint)
