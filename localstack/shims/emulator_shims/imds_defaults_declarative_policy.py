"""Instance metadata defaults an EC2 declarative policy manages (an AWS rule, moto).

  ec2:GetInstanceMetadataDefaults / ec2:ModifyInstanceMetadataDefaults
      When an organization's EC2 declarative policy sets `instance_metadata_defaults` for an account,
      the account's defaults are the policy's, `GetInstanceMetadataDefaults` reports them with
      `ManagedBy: declarative-policy` and the policy's `exception_message`
      (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceMetadataDefaultsResponse.html),
      and the account cannot change them: "Account administrators will not be able to modify the value
      of the service attribute at the individual account level" (Declarative policy syntax and
      examples, https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_declarative_syntax.html).
      Modelled here, on top of `imds_defaults.py`: the policies of type `DECLARATIVE_POLICY_EC2`
      (`organizations_declarative_policy_type.py`) attached to the root, the OUs above the account and
      the account itself, with the type enabled on the root, are read root first, each `@@assign`
      overriding the one above it (the inheritance operators beyond `@@assign` are not modelled). With
      a policy in effect, Get answers its values, and Modify is refused with `OperationNotPermitted`
      and the policy's message (AWS documents that the call fails, not its error code; mamori reads
      `ManagedBy` and never sends it).
"""

import json

SETTINGS = {
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_endpoint": "HttpEndpoint",
    "instance_metadata_tags": "InstanceMetadataTags",
}
NO_PREFERENCE = ("no_preference", "no-preference", "-1")
DECLARATIVE_POLICY_EC2 = "DECLARATIVE_POLICY_EC2"


def _organization_of(account_id):
    """The organizations backend that holds `account_id`, or None."""
    from moto.organizations.models import organizations_backends

    master = organizations_backends.master_accounts.get(account_id)
    if master is not None:
        master_id, partition = master
        return organizations_backends[master_id][partition]
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        backend = organizations_backends[account_id][partition]
        if backend.org is not None and backend.org.master_account_id == account_id:
            return backend
    return None


def _targets_root_first(backend, account_id):
    """The account's root, its OUs from the root down, and the account."""
    account = next((a for a in backend.accounts if a.id == account_id), None)
    if account is None:
        return []
    chain = [account]
    parent = account.parent_id
    while parent is not None:
        unit = next((ou for ou in backend.ou if ou.id == parent), None)
        if unit is None:
            break
        chain.append(unit)
        parent = getattr(unit, "parent_id", None)
    return list(reversed(chain))


def effective_imds_policy(account_id):
    """(defaults, exception message) the account's EC2 declarative policies set, or None."""
    backend = _organization_of(account_id)
    if backend is None:
        return None
    targets = _targets_root_first(backend, account_id)
    root = targets[0] if targets else None
    enabled = root is not None and any(t.get("Type") == DECLARATIVE_POLICY_EC2 for t in getattr(root, "policy_types", []))
    if not enabled:
        return None
    defaults, message, managed = {}, None, False
    for target in targets:
        for policy in target.attached_policies:
            if policy.type != DECLARATIVE_POLICY_EC2:
                continue
            attributes = json.loads(policy.content or "{}").get("ec2_attributes", {})
            message = attributes.get("exception_message", {}).get("@@assign", message)
            imds = attributes.get("instance_metadata_defaults")
            if imds is None:
                continue
            managed = True
            for key, name in SETTINGS.items():
                value = imds.get(key, {}).get("@@assign")
                if value is None:
                    continue
                if str(value) in NO_PREFERENCE:
                    defaults.pop(name, None)
                else:
                    defaults[name] = int(value) if name == "HttpPutResponseHopLimit" else value
    return (defaults, message) if managed else None


def _get_honouring_policies(get):
    def get_instance_metadata_defaults(self):
        from moto.core.responses import ActionResult

        managed = effective_imds_policy(self.current_account)
        if managed is None:
            return get(self)
        self.error_on_dryrun()
        defaults, message = managed
        level = {**defaults, "ManagedBy": "declarative-policy"}
        if message:
            level["ManagedExceptionMessage"] = message
        return ActionResult({"AccountLevel": level})

    return get_instance_metadata_defaults


def _modify_refused_under_policies(modify):
    def modify_instance_metadata_defaults(self):
        from moto.ec2.exceptions import EC2ClientError

        managed = effective_imds_policy(self.current_account)
        if managed is not None:
            _, message = managed
            raise EC2ClientError(
                "OperationNotPermitted",
                message or "The instance metadata defaults of this account are managed by a declarative policy of its organization.",
            )
        return modify(self)

    return modify_instance_metadata_defaults


def install():
    try:
        from moto.ec2.responses.settings import Settings
    except ImportError:  # not an emulator's interpreter
        return
    Settings.get_instance_metadata_defaults = _get_honouring_policies(Settings.get_instance_metadata_defaults)
    Settings.modify_instance_metadata_defaults = _modify_refused_under_policies(Settings.modify_instance_metadata_defaults)
