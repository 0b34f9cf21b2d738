"""A retried CreateVpcEndpoint with the same client token creates nothing new (an AWS rule).

  ec2:CreateVpcEndpoint with ClientToken
      EC2 makes a create idempotent by its client token: "If you repeat a request that has already
      completed successfully using the same client token and the same parameters, the retry succeeds
      without performing any further actions", and the same token with other parameters is refused
      with `IdempotentParameterMismatch` ("Ensuring idempotency in Amazon EC2 API requests",
      https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html; `ClientToken` of
      https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html). moto stores
      the token but creates a second endpoint for every retry. Modelled here in moto's backend, which
      LocalStack's EC2 uses for endpoints too: a token seen before in the account and region answers
      the endpoint it created when the VPC, service and type are the same, and is refused otherwise.
"""


def _same_intent(endpoint, vpc_id, service_name, endpoint_type):
    return (
        endpoint.vpc_id == vpc_id
        and endpoint.service_name == service_name
        and (endpoint.vpc_endpoint_type or "gateway").lower() == (endpoint_type or "gateway").lower()
    )


def _create_idempotently(create):
    def create_vpc_endpoint(self, vpc_id, service_name, endpoint_type, *args, **kwargs):
        token = kwargs.get("client_token")
        if token:
            for endpoint in self.vpc_end_points.values():
                if getattr(endpoint, "client_token", None) != token:
                    continue
                if _same_intent(endpoint, vpc_id, service_name, endpoint_type):
                    return endpoint
                from moto.ec2.exceptions import EC2ClientError

                raise EC2ClientError(
                    "IdempotentParameterMismatch",
                    f"The client token {token} was used before in a request with other parameters",
                )
        return create(self, vpc_id, service_name, endpoint_type, *args, **kwargs)

    return create_vpc_endpoint


def install():
    try:
        from moto.ec2.models.vpcs import VPCBackend
    except ImportError:  # not an emulator's interpreter
        return
    VPCBackend.create_vpc_endpoint = _create_idempotently(VPCBackend.create_vpc_endpoint)
