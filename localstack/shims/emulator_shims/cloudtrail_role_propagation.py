"""CloudTrail refuses a CloudWatch Logs delivery role IAM has not propagated (an AWS rule, moto).

  CloudTrail checks, when a trail is created or updated with CloudWatch Logs delivery, that it can
  assume the delivery role; a role IAM created moments ago is not visible to it yet ("Changes that I
  make are not always immediately visible", IAM eventual consistency), and CloudTrail answers
  `InvalidCloudWatchLogsRoleArnException` ("This exception is thrown when the provided role is not
  valid").
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html#API_CreateTrail_Errors

  Modelled here: CreateTrail and UpdateTrail with a CloudWatchLogsRoleArn naming a role that does not
  exist, or that is younger than the propagation delay (see propagation_delay.py), are refused with
  that error. moto checks neither.
"""

from emulator_shims import propagation_delay


def _role_created(account, region, role_arn):
    """The role's creation time, or None when IAM does not know it."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    backend = iam_backends[account][get_partition(region)]
    name = role_arn.rsplit("/", 1)[-1]
    for role in backend.roles.values():
        if role.name == name:
            return role.create_date
    return None


def _unusable_role(response):
    role_arn = response._get_param("CloudWatchLogsRoleArn")
    if not role_arn:
        return False
    created = _role_created(response.current_account, response.region, role_arn)
    return created is None or propagation_delay.is_young(created, response.current_account)


def _invalid_role(_response):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("InvalidCloudWatchLogsRoleArnException", "Access denied. Verify in IAM that the role has adequate permissions.")


def install():
    try:
        from moto.cloudtrail.responses import CloudTrailResponse
    except ImportError:  # not moto's interpreter
        return
    for name in ("create_trail", "update_trail"):
        setattr(CloudTrailResponse, name, propagation_delay.refusing_when(getattr(CloudTrailResponse, name), _unusable_role, _invalid_role))
