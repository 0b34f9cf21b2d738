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


def _checking_the_delivery_role(handler):
    def checking(self):
        from moto.core.exceptions import JsonRESTError

        role_arn = self._get_param("CloudWatchLogsRoleArn")
        if role_arn:
            created = _role_created(self.current_account, self.region, role_arn)
            if created is None or propagation_delay.is_young(created):
                raise JsonRESTError(
                    "InvalidCloudWatchLogsRoleArnException",
                    "Access denied. Verify in IAM that the role has adequate permissions.",
                )
        return handler(self)

    return checking


def install():
    try:
        from moto.cloudtrail.responses import CloudTrailResponse
    except ImportError:  # not moto's interpreter
        return
    CloudTrailResponse.create_trail = _checking_the_delivery_role(CloudTrailResponse.create_trail)
    CloudTrailResponse.update_trail = _checking_the_delivery_role(CloudTrailResponse.update_trail)
