"""An organization trail needs the management account, all features and trusted access (AWS rule, moto).

AWS (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-an-organizational-trail-prepare.html,
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html): CreateTrail and
UpdateTrail with IsOrganizationTrail=true are refused unless the caller is an organization's
management account (OrganizationsNotInUseException outside an organization,
NotOrganizationMasterAccountException from a member), the organization has all features enabled
(OrganizationNotInAllFeaturesModeException) and CloudTrail has trusted access in Organizations
(CloudTrailAccessNotEnabledException). moto creates an organization trail anywhere.

Here, as on AWS, those four refusals, checked before the trail is created or changed.
"""

import inspect

from .moto_responses import aws_error

SERVICE = "cloudtrail.amazonaws.com"


def _organization(account_id, partition):
    """(the organization, whether `account_id` is its management account), or (None, False)."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[account_id][partition]
    if backend.org is not None:
        return backend, True
    if account_id in organizations_backends.master_accounts:
        management, partition = organizations_backends.master_accounts[account_id]
        return organizations_backends[management][partition], False
    return None, False


def refusal(account_id, partition):
    """(error code, message) when `account_id` may not run an organization trail, else None."""
    backend, management = _organization(account_id, partition)
    if backend is None:
        return "OrganizationsNotInUseException", "This account is not a member of an organization."
    if not management:
        return "NotOrganizationMasterAccountException", "The account making the request is not the management account of its organization."
    if backend.org.feature_set != "ALL":
        return "OrganizationNotInAllFeaturesModeException", "The organization does not have all features enabled."
    if not any(service.get("ServicePrincipal") == SERVICE for service in backend.services):
        return "CloudTrailAccessNotEnabledException", "Trusted access between CloudTrail and Organizations is not enabled."
    return None


def _partition(region):
    from moto.utilities.utils import get_partition

    return get_partition(region)


def _checking_init(init):
    signature = inspect.signature(init)

    def __init__(self, *args, **kwargs):
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("is_org_trail"):
            reason = refusal(arguments["account_id"], _partition(arguments["region_name"]))
            if reason:
                raise aws_error(*reason)
        init(self, *args, **kwargs)

    return __init__


def _checking_update(update):
    def checked(self, *args, **kwargs):
        if kwargs.get("is_organization_trail"):
            reason = refusal(self.account_id, self.partition)
            if reason:
                raise aws_error(*reason)
        return update(self, *args, **kwargs)

    return checked


def install():
    try:
        from moto.cloudtrail.models import Trail
    except ImportError:  # not moto's interpreter
        return
    Trail.__init__ = _checking_init(Trail.__init__)
    Trail.update = _checking_update(Trail.update)
