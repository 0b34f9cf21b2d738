"""Wrapping a method of LocalStack's own EC2 provider (not a shim of its own).

LocalStack answers a few EC2 calls (ModifyVpcEndpoint, say) with handlers of its own provider instead
of moto's, and imports that provider lazily. `wrap_localstack_ec2_provider(method, wrap)` replaces
`Ec2Provider.<method>` with `wrap(original)` when the provider is imported; `localstack_vpc_endpoint`
finds an endpoint of the request's account and region, as those handlers do; and
`check_before_localstack_modify_vpc_endpoint(check)` runs `check(context, endpoint, request)` before
LocalStack's ModifyVpcEndpoint handler, so that a rule can refuse the call before anything changes.
"""

import functools

from .import_hooks import patch_after_import


def wrap_localstack_ec2_provider(method, wrap):
    """Registers `wrap(original)` as `Ec2Provider.<method>` once LocalStack imports its EC2 provider."""

    def patch(module):
        provider = module.Ec2Provider
        original = getattr(provider, method)
        setattr(provider, method, functools.wraps(original)(wrap(original)))

    patch_after_import("localstack.services.ec2.provider", patch)


def localstack_ec2_backend(context):
    """LocalStack's EC2 backend of the request's account and region."""
    from localstack.services.ec2.models import get_ec2_backend

    return get_ec2_backend(context.account_id, context.region)


def localstack_vpc_endpoint(context, vpc_endpoint_id):
    """The VPC endpoint `vpc_endpoint_id` of the request's account and region, or None."""
    return localstack_ec2_backend(context).vpc_end_points.get(vpc_endpoint_id)


def check_before_localstack_modify_vpc_endpoint(check):
    """Runs `check(context, endpoint, request)` (the endpoint or None, the handler's keyword arguments)
    before LocalStack's ModifyVpcEndpoint handler; an exception it raises refuses the call."""

    def wrap(modify):
        def modify_vpc_endpoint(self, context, vpc_endpoint_id, *args, **kwargs):
            check(context, localstack_vpc_endpoint(context, vpc_endpoint_id), kwargs)
            return modify(self, context, vpc_endpoint_id, *args, **kwargs)

        return modify_vpc_endpoint

    wrap_localstack_ec2_provider("modify_vpc_endpoint", wrap)


def install():
    """Nothing to install: other shims wrap the provider through `wrap_localstack_ec2_provider`."""
