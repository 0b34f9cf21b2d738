"""The EC2 declarative policy type of AWS Organizations (an emulator gap, moto).

  organizations:CreatePolicy / EnablePolicyType / AttachPolicy / ListPolicies with DECLARATIVE_POLICY_EC2
      moto knows the service control, resource control, tag, backup and AI opt-out policy types, and
      answers `InvalidInputException` for `DECLARATIVE_POLICY_EC2`. Added here: the type is accepted
      like the others (created, enabled on the root, attached to the root, an OU or an account, listed),
      with an ARN of AWS's form (`arn:aws:organizations::MASTER:policy/o-…/declarative_policy_ec2/p-…`).
      What such a policy enforces is modelled by the shims of the attributes it covers
      (`imds_defaults_declarative_policy.py`).
"""

DECLARATIVE_POLICY_EC2 = "DECLARATIVE_POLICY_EC2"
ARN_FORMAT = "arn:{0}:organizations::{1}:policy/{2}/declarative_policy_ec2/{3}"


def _accepting_declarative_policies(init):
    def __init__(self, organization, **kwargs):
        if kwargs.get("Type") != DECLARATIVE_POLICY_EC2:
            return init(self, organization, **kwargs)
        # Built as a tag policy (same shape), then given its own type and ARN.
        init(self, organization, **{**kwargs, "Type": "TAG_POLICY"})
        self.type = DECLARATIVE_POLICY_EC2
        self._arn_format = ARN_FORMAT

    return __init__


def install():
    try:
        from moto.organizations.models import FakePolicy, FakeRoot
    except ImportError:  # not an emulator's interpreter
        return
    for model in (FakePolicy, FakeRoot):
        if DECLARATIVE_POLICY_EC2 not in model.SUPPORTED_POLICY_TYPES:
            model.SUPPORTED_POLICY_TYPES = [*model.SUPPORTED_POLICY_TYPES, DECLARATIVE_POLICY_EC2]
    FakePolicy.__init__ = _accepting_declarative_policies(FakePolicy.__init__)
