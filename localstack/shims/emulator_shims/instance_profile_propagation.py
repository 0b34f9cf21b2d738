"""EC2 refuses an instance profile IAM has just created (an AWS rule, moto).

  IAM is eventually consistent, and EC2 sees a new instance profile late: associating it answers
  `InvalidParameterValue` ("Value (NAME) for parameter iamInstanceProfile.name is invalid. Invalid
  IAM Instance Profile name") until it has propagated.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_iam-ec2.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency

  Modelled here: AssociateIamInstanceProfile with a profile (by name or ARN) younger than the
  propagation delay (see propagation_delay.py; off unless set) is refused with that error.
"""

from emulator_shims import propagation_delay


def _profile_created(account, region, name, arn):
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    backend = iam_backends[account][get_partition(region)]
    for profile in backend.instance_profiles.values():
        if profile.name == name or (arn and profile.arn == arn):
            return profile.create_date
    return None


def _named(response):
    return response._get_param("IamInstanceProfile.Name"), response._get_param("IamInstanceProfile.Arn")


def _young(response):
    name, arn = _named(response)
    return propagation_delay.is_young(_profile_created(response.current_account, response.region, name, arn), response.current_account)


def _invalid(response):
    from moto.ec2.exceptions import EC2ClientError

    name, arn = _named(response)
    return EC2ClientError(
        "InvalidParameterValue",
        f"Value ({name or arn}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
    )


def install():
    try:
        from moto.ec2.responses.iam_instance_profiles import IamInstanceProfiles
    except ImportError:  # not moto's interpreter
        return
    IamInstanceProfiles.associate_iam_instance_profile = propagation_delay.refusing_when(
        IamInstanceProfiles.associate_iam_instance_profile, _young, _invalid
    )
