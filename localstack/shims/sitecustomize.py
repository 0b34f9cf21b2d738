"""Closes the emulator gaps mamori's tests hit, and nothing else. Test harness only.

`emulator.py` puts this directory on PYTHONPATH when it starts moto server or LocalStack, so Python
imports this module at start-up in the emulator's process (and only there). Both engines serve EC2
from moto's code (LocalStack through its moto fork), which implements ec2:ModifyEbsDefaultKmsKeyId (it
resolves the key and stores its ARN, as AWS does) but not its read-back:

  ec2:GetEbsDefaultKmsKeyId
      moto: HTTP 500; LocalStack: "action has not been implemented". Added here: returns the ARN that
      ModifyEbsDefaultKmsKeyId stored; when none was set, `alias/aws/ebs`, AWS's answer for an account
      that uses the AWS managed key.

  ec2:ModifyEbsDefaultKmsKeyId on LocalStack
      LocalStack serves KMS from its own provider, so moto's EC2 cannot find a LocalStack key and fails
      with HTTP 500. Added here: when moto's KMS does not know the key and it is given as a key ARN,
      the ARN is stored as given (AWS would store that same ARN).

  s3:GetBucketVersioning on moto
      moto wraps the answer in a <GetBucketVersioningResponse> root instead of S3's
      <VersioningConfiguration>, which the Rust SDK rejects, and never reports MFADelete. Replaced
      here: the S3 document, with <MfaDelete> once PutBucketVersioning set it.

  s3:PutBucketVersioning with <MfaDelete> on moto
      moto ignores MfaDelete. Added here: as on AWS, changing it requires the x-amz-mfa header
      ("SERIAL CODE", which moto cannot check) and is refused without it; the value is then kept for
      GetBucketVersioning. This is what lets a test prove the root MFA Delete flow end to end.
  iam:GetCredentialReport on LocalStack
      LocalStack's own IAM provider writes the user rows with `writerow` after its loop instead of
      inside it: the report holds only the last user, and an account without users fails with HTTP 500
      ("cannot access local variable 'row'"). Fixed here: its row builder is run once per user and the
      rows are joined under one header and its `<root_account>` row.

  IAM key and user ages (test scaffolding, not a gap in an API)
      moto stamps every user and access key with the current time and has no way to backdate one, so
      the rules "unused for N days" and "older than N days" could not be exercised end to end. Added
      here: a user created with a path `/mamori-test-aged-<N>-days/` gets its creation date, and
      each access key and console password created for it gets its creation date, moved N days into
      the past (moto's and LocalStack's IAM each store them their own way; both are covered). Users with any
      other path are untouched; AWS itself has no such path convention and mamori knows nothing of it.
  ec2:ModifyVpcEndpoint PrivateDnsEnabled (both engines)
      moto applies the subnet, security-group, route-table and policy parameters but drops
      PrivateDnsEnabled, so an interface endpoint created without private DNS can never be corrected.
      Added here: after moto's own handling, a PrivateDnsEnabled parameter sets the endpoint's flag, as
      AWS does. Nothing else of the call changes.

  ec2:ModifyVpcEndpoint Add/RemoveSecurityGroupIds on LocalStack
      LocalStack answers ModifyVpcEndpoint with its own handler, which applies route tables, subnets,
      policy and private DNS but drops the security-group parameters. Added here: after LocalStack's
      handler, the groups are added to / removed from the endpoint, as AWS does. The handler is
      patched when LocalStack imports its EC2 provider (an import hook: the module is not imported at
      interpreter start).

  ec2:GetInstanceMetadataDefaults / ec2:ModifyInstanceMetadataDefaults
      moto: HTTP 500 (not implemented). Added here: the account-level IMDS defaults (HttpTokens,
      HttpPutResponseHopLimit, HttpEndpoint, InstanceMetadataTags) are stored on the EC2 backend, which
      moto keeps per account and region, as AWS does. `no-preference` clears a setting, and
      GetInstanceMetadataDefaults returns only the settings that are set (AWS omits the others).
      Only the defaults are stored: like moto's other settings, they do not change how RunInstances
      launches instances.

  The root user on moto (GetAccountSummary, the credential report, ListVirtualMFADevices)
      moto models no root user: its report has no `<root_account>` row (AWS always writes one),
      GetAccountSummary always says AccountMFAEnabled 0 and has no AccountPasswordPresent, and the root
      user's MFA device never appears. AWS offers no API to enrol the root user's MFA (only the console
      can), so a test or the demo needs a stand-in for that console step. Added here: a root user per
      account (password set, except in a member account created by organizations:CreateAccount, whose
      root starts without one, as on AWS; no MFA; no access keys; never signed in) that the three
      reads report as AWS does, and one emulator-only action that plays the root user's console steps:
      `Action=MamoriEmulatorRootConsole` on the IAM endpoint, with `Mfa=virtual|hardware|none`,
      `AccessKey=true|false`, `Password=true|false`, `SignedInDaysAgo=N`. A virtual device is listed as
      `arn:aws:iam::ACCOUNT:mfa/root-account-mfa-device`, assigned to `arn:aws:iam::ACCOUNT:root`.
      `emulator.py root-console` sends it. AWS has no such action; mamori never sends it.

mamori itself has no emulator special case for these calls. Remove an entry once the pinned emulator
implements it.
"""

import re
from datetime import timedelta

AWS_MANAGED_EBS_KEY = "alias/aws/ebs"
AGED_PATH = re.compile(r"/mamori-test-aged-(\d+)-days/")


def _get_ebs_default_kms_key_id(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    stored = getattr(self.ec2_backend, "default_kms_key_id", "") or AWS_MANAGED_EBS_KEY
    return ActionResult({"KmsKeyId": stored})


IMDS_DEFAULT_SETTINGS = ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags")


def _imds_defaults(backend):
    if not hasattr(backend, "mamori_imds_defaults"):
        backend.mamori_imds_defaults = {}
    return backend.mamori_imds_defaults


def _get_instance_metadata_defaults(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    return ActionResult({"AccountLevel": dict(_imds_defaults(self.ec2_backend))})


def _modify_instance_metadata_defaults(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    defaults = _imds_defaults(self.ec2_backend)
    for name in IMDS_DEFAULT_SETTINGS:
        value = self._get_param(name)
        if value is None:
            continue
        if str(value) in ("no-preference", "-1"):
            defaults.pop(name, None)
        elif name == "HttpPutResponseHopLimit":
            defaults[name] = int(value)
        else:
            defaults[name] = value
    return ActionResult({"Return": True})


def _accepting_foreign_key_arns(modify):
    def modify_ebs_default_kms_key_id(self, kms_key_id):
        try:
            return modify(self, kms_key_id)
        except KeyError:
            if not (kms_key_id or "").startswith("arn:") or ":key/" not in kms_key_id:
                raise
            self.default_kms_key_id = kms_key_id
            return kms_key_id

    return modify_ebs_default_kms_key_id


_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _get_bucket_versioning(self):
    bucket = self.backend.get_bucket(self.bucket_name)
    status = self.backend.get_bucket_versioning(self.bucket_name)
    mfa_delete = getattr(bucket, "mamori_mfa_delete", None)
    body = f'<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="{_S3_NS}">'
    if status:
        body += f"<Status>{status}</Status>"
    if mfa_delete:
        body += f"<MfaDelete>{mfa_delete}</MfaDelete>"
    body += "</VersioningConfiguration>"
    self.data["Action"] = "GetBucketVersioning"
    return 200, {"Content-Type": "application/xml"}, body


def _recording_mfa_delete(bucket_put):
    import re

    def _bucket_response_put(self, request, bucket_name, querystring):
        if "versioning" in querystring:
            body = self.body.decode("utf-8") if isinstance(self.body, bytes) else (self.body or "")
            wanted = re.search(r"<MfaDelete>([A-Za-z]+)</MfaDelete>", body)
            if wanted:
                if not request.headers.get("x-amz-mfa", "").strip():
                    error = ("<Error><Code>AccessDenied</Code><Message>Mfa Authentication must be used for this "
                             "request</Message></Error>")
                    return 403, {"Content-Type": "application/xml"}, error
                self.backend.get_bucket(bucket_name).mamori_mfa_delete = wanted.group(1)
        return bucket_put(self, request, bucket_name, querystring)

    return _bucket_response_put
def _age(user):
    match = AGED_PATH.search(getattr(user, "path", None) or "")
    return timedelta(days=int(match.group(1))) if match else None


def _ageing_user_init(init):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        age = _age(self)
        if age:
            self.create_date -= age

    return __init__


def _ageing_create_access_key(create):
    def create_access_key(self, *args, **kwargs):
        key = create(self, *args, **kwargs)
        age = _age(self)
        if age:
            key.create_date -= age
        return key

    return create_access_key


def _one_report_row_per_user(generate):
    import types

    placeholder = types.SimpleNamespace(
        user={"Arn": "", "CreateDate": None}, login_profile=None, mfa_devices=[], access_keys={}, signing_certificates={}
    )

    def _generate_credential_report_csv(self, store, account_id, partition):
        users = list(store.USERS.items())
        head, rows = [], []
        for name, entity in users or [("", placeholder)]:
            lines = generate(self, types.SimpleNamespace(USERS={name: entity}), account_id, partition).decode("utf-8")
            lines = lines.splitlines(keepends=True)
            head = lines[:2]  # the header and the root row
            if users:
                rows.extend(lines[2:])
        return "".join(head + rows).encode("utf-8")

    return _generate_credential_report_csv


def _ageing_localstack(create, age_what):
    def wrapper(self, context, user_name=None, *args, **kwargs):
        response = create(self, context, user_name, *args, **kwargs)
        entity = self._get_store(context).USERS.get(user_name)
        match = entity is not None and AGED_PATH.search(entity.user.get("Path") or "")
        if match:
            age_what(entity, response, timedelta(days=int(match.group(1))))
        return response

    return wrapper


def _age_user(entity, _response, age):
    entity.user["CreateDate"] -= age


def _age_new_key(entity, response, age):
    entity.access_keys[response["AccessKey"]["AccessKeyId"]].access_key["CreateDate"] -= age


def _age_login_profile(entity, _response, age):
    entity.login_profile["CreateDate"] -= age


def _close_localstack_iam_gaps():
    try:
        from localstack.services.iam.provider import IamProvider
    except ImportError:  # not LocalStack's interpreter
        return
    IamProvider._generate_credential_report_csv = _one_report_row_per_user(IamProvider._generate_credential_report_csv)
    IamProvider.create_user = _ageing_localstack(IamProvider.create_user, _age_user)
    IamProvider.create_access_key = _ageing_localstack(IamProvider.create_access_key, _age_new_key)
    IamProvider.create_login_profile = _ageing_localstack(IamProvider.create_login_profile, _age_login_profile)


def _close_iam_gaps():
    _close_localstack_iam_gaps()
    try:
        from moto.iam.models import User
    except ImportError:  # not an emulator's interpreter
        return
    User.__init__ = _ageing_user_init(User.__init__)
    User.create_access_key = _ageing_create_access_key(User.create_access_key)


def _modify_vpc_endpoint_with_private_dns(modify):
    def modify_vpc_endpoint(self):
        result = modify(self)
        private_dns = self._get_bool_param("PrivateDnsEnabled")
        if private_dns is not None:
            endpoint = self.ec2_backend.get_vpc_end_point(self._get_param("VpcEndpointId"))
            endpoint.private_dns_enabled = private_dns
        return result

    return modify_vpc_endpoint


def _modify_vpc_endpoint_with_security_groups(modify):
    import functools

    @functools.wraps(modify)
    def modify_vpc_endpoint(self, context, vpc_endpoint_id, *args, **kwargs):
        result = modify(self, context, vpc_endpoint_id, *args, **kwargs)
        from localstack.services.ec2.models import get_ec2_backend

        endpoint = get_ec2_backend(context.account_id, context.region).vpc_end_points.get(vpc_endpoint_id)
        add = kwargs.get("add_security_group_ids") or []
        remove = kwargs.get("remove_security_group_ids") or []
        if endpoint is not None and (add or remove):
            kept = [g for g in endpoint.security_group_ids if g not in remove]
            endpoint.security_group_ids = kept + [g for g in add if g not in kept]
        return result

    return modify_vpc_endpoint


def _patch_localstack_ec2_provider(module):
    provider = module.Ec2Provider
    provider.modify_vpc_endpoint = _modify_vpc_endpoint_with_security_groups(provider.modify_vpc_endpoint)


class _PatchAfterImport:
    """A meta-path finder that runs a patch right after one module has been executed."""

    patches = {"localstack.services.ec2.provider": _patch_localstack_ec2_provider}

    def find_spec(self, fullname, path, target=None):
        import sys

        patch = self.patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                original = spec.loader.exec_module

                def exec_module(module):
                    original(module)
                    patch(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


def _close_gaps():
    try:
        from moto.ec2.models.elastic_block_store import EBSBackend
        from moto.ec2.responses.settings import Settings
        from moto.ec2.responses.vpcs import VPCs
    except ImportError:  # not an emulator's interpreter
        return
    if not hasattr(Settings, "get_ebs_default_kms_key_id"):
        Settings.get_ebs_default_kms_key_id = _get_ebs_default_kms_key_id
    if not hasattr(Settings, "get_instance_metadata_defaults"):
        Settings.get_instance_metadata_defaults = _get_instance_metadata_defaults
    if not hasattr(Settings, "modify_instance_metadata_defaults"):
        Settings.modify_instance_metadata_defaults = _modify_instance_metadata_defaults
    EBSBackend.modify_ebs_default_kms_key_id = _accepting_foreign_key_arns(EBSBackend.modify_ebs_default_kms_key_id)
    VPCs.modify_vpc_endpoint = _modify_vpc_endpoint_with_private_dns(VPCs.modify_vpc_endpoint)
    _close_s3_gaps()


def _close_s3_gaps():
    try:
        from moto.s3.responses import S3Response
    except ImportError:
        return
    # LocalStack serves S3 with its own provider; these patches only matter to moto server.
    S3Response.get_bucket_versioning = _get_bucket_versioning
    S3Response._bucket_response_put = _recording_mfa_delete(S3Response._bucket_response_put)


ROOT_USER = "<root_account>"
ROOT_MFA_DEVICE = "root-account-mfa-device"


def _root(backend):
    """The account's root user as the shim models it, created on first use."""
    root = getattr(backend, "mamori_root", None)
    if root is None:
        try:
            from moto.organizations.models import organizations_backends

            member = backend.account_id in organizations_backends.master_accounts
        except ImportError:
            member = False
        root = {"password": not member, "mfa": "none", "access_key": False, "signed_in": None, "created": None}
        backend.mamori_root = root
    return root


def _root_summary(summary_map):
    def mapped(self):
        values = dict(summary_map.fget(self))
        root = _root(self._iam_backend)
        values["AccountMFAEnabled"] = int(root["mfa"] != "none")
        values["AccountAccessKeysPresent"] = int(root["access_key"])
        values["AccountPasswordPresent"] = int(root["password"])
        return values

    return property(mapped)


def _report_date(at):
    return at.strftime("%Y-%m-%dT%H:%M:%S+00:00") if at else None


def _with_root_row(get_report):
    def get_credential_report(self):
        report = get_report(self)
        from moto.core.utils import utcnow

        root = _root(self)
        created = root["created"] or utcnow() - timedelta(days=400)
        key = root["access_key"]
        row = [
            ROOT_USER,
            f"arn:aws:iam::{self.account_id}:root",
            _report_date(created),
            "not_supported",
            _report_date(root["signed_in"]) or "no_information",
            "not_supported",
            "not_supported",
            "true" if root["mfa"] != "none" else "false",
            "true" if key else "false",
            _report_date(created) if key else "N/A",
            "N/A", "N/A", "N/A",
            "false", "N/A", "N/A", "N/A", "N/A",
            "false", "N/A", "false", "N/A",
        ]
        head, _, users = report.partition("\n")
        return head + "\n" + ",".join(row) + "\n" + users

    return get_credential_report


def _root_virtual_device(backend):
    import types

    from moto.core.utils import utcnow
    from moto.iam.models import VirtualMfaDevice

    device = VirtualMfaDevice(backend.account_id, backend.region_name, "/" + ROOT_MFA_DEVICE)
    arn = f"arn:aws:iam::{backend.account_id}:root"
    device.user = types.SimpleNamespace(
        arn=arn, name="root", user_name="root", id=backend.account_id, user_id=backend.account_id, path="/", create_date=utcnow()
    )
    device.user_attribute = {"Arn": arn, "UserId": backend.account_id, "UserName": "root", "Path": "/"}
    return device


def _listing_root_device(list_devices):
    def list_virtual_mfa_devices(self, assignment_status, marker, max_items):
        devices, next_marker = list_devices(self, assignment_status, marker, max_items)
        device = getattr(self, "mamori_root_device", None)
        if device is not None and assignment_status in ("Assigned", "Any") and next_marker is None:
            devices = list(devices) + [device]
        return devices, next_marker

    return list_virtual_mfa_devices


ROOT_CONSOLE_ACTION = "MamoriEmulatorRootConsole"


def _parsing_root_console(parse):
    """AWS's service model has no such action: its form parameters are taken as they come."""

    def parse_parameters(self, request):
        if self._get_action() != ROOT_CONSOLE_ACTION:
            return parse(self, request)
        self.params = {key: value for key, value in request.values.items()}

    return parse_parameters


def _mamori_emulator_root_console(self):
    from moto.core.utils import utcnow

    backend = self.backend
    root = _root(backend)
    mfa = self._get_param("Mfa")
    if mfa is not None:
        if mfa not in ("none", "virtual", "hardware"):
            return 400, {}, "<Error><Code>ValidationError</Code><Message>Mfa: none, virtual or hardware</Message></Error>"
        root["mfa"] = mfa
        backend.mamori_root_device = _root_virtual_device(backend) if mfa == "virtual" else None
        if backend.mamori_root_device is not None:
            backend.mamori_root_device.enable_date = utcnow()
    for param, field in (("AccessKey", "access_key"), ("Password", "password")):
        value = self._get_param(param)
        if value is not None:
            root[field] = value == "true"
    days = self._get_param("SignedInDaysAgo")
    if days is not None:
        root["signed_in"] = utcnow() - timedelta(days=int(days))
    return "<MamoriEmulatorRootConsoleResponse/>"


def _model_the_root_user():
    try:
        from moto.iam.models import AccountSummary, IAMBackend
        from moto.iam.responses import IamResponse
    except ImportError:  # not an emulator's interpreter
        return
    AccountSummary.summary_map = _root_summary(AccountSummary.summary_map)
    IAMBackend.get_credential_report = _with_root_row(IAMBackend.get_credential_report)
    IAMBackend.list_virtual_mfa_devices = _listing_root_device(IAMBackend.list_virtual_mfa_devices)
    IamResponse.mamori_emulator_root_console = _mamori_emulator_root_console
    IamResponse.parse_parameters = _parsing_root_console(IamResponse.parse_parameters)


_close_gaps()
_close_iam_gaps()
__import__("sys").meta_path.insert(0, _PatchAfterImport())
_model_the_root_user()
