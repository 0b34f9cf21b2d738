"""The root user on moto (GetAccountSummary, the credential report, ListVirtualMFADevices).

moto models no root user: its report has no `<root_account>` row (AWS always writes one),
GetAccountSummary always says AccountMFAEnabled 0 and has no AccountPasswordPresent, and the root
user's MFA device never appears. AWS offers no API to enrol the root user's MFA (only the console can),
so a test or the demo needs a stand-in for that console step. Added here: a root user per account
(password set, except in a member account created by organizations:CreateAccount, whose root starts
without one, as on AWS; no MFA; no access keys; never signed in) that the three reads report as AWS
does, and one emulator-only action that plays the root user's console steps:
`Action=MamoriEmulatorRootConsole` on the IAM endpoint, with `Mfa=virtual|hardware|none`,
`AccessKey=true|false`, `Password=true|false`, `SignedInDaysAgo=N`. A virtual device is listed as
`arn:aws:iam::ACCOUNT:mfa/root-account-mfa-device`, assigned to `arn:aws:iam::ACCOUNT:root`.
`emulator.py root-console` sends it. AWS has no such action; mamori never sends it.

The root user's access key is a real credential on the emulator: `AccessKey=true` answers its id,
`AKIAROOT<ACCOUNT>` (any secret is accepted, as moto checks none). Requests signed with it land in that
account and `sts:GetCallerIdentity` answers `arn:aws:iam::ACCOUNT:root`, as AWS does for the root
user, so a test or the demo can act as the root user (the MFA Delete step, say), and the S3 rule
shims can tell the root user from everyone else (`root_account_of`). `AccessKey=false` deletes it.
"""

from datetime import timedelta

ROOT_USER = "<root_account>"
ROOT_MFA_DEVICE = "root-account-mfa-device"
ROOT_KEY_PREFIX = "AKIAROOT"

# Root access keys in use: key id -> account id.
_ROOT_KEYS = {}


def root_account_of(access_key):
    """The account whose root user holds `access_key`, or None when it is not a root key."""
    return _ROOT_KEYS.get(access_key)


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


def _mamori_emulator_root_console(self):
    from moto.core.utils import utcnow

    backend = self.backend
    root = _root(backend)
    mfa = self._get_param("Mfa")
    if mfa is not None:
        if mfa not in ("none", "virtual", "hardware"):
            return "<Error><Code>ValidationError</Code><Message>Mfa: none, virtual or hardware</Message></Error>", {"status": 400}
        root["mfa"] = mfa
        backend.mamori_root_device = _root_virtual_device(backend) if mfa == "virtual" else None
        if backend.mamori_root_device is not None:
            backend.mamori_root_device.enable_date = utcnow()
    for param, field in (("AccessKey", "access_key"), ("Password", "password")):
        value = self._get_param(param)
        if value is not None:
            root[field] = value == "true"
    key_id = ROOT_KEY_PREFIX + backend.account_id
    if root["access_key"]:
        _ROOT_KEYS[key_id] = backend.account_id
    else:
        _ROOT_KEYS.pop(key_id, None)
    days = self._get_param("SignedInDaysAgo")
    if days is not None:
        root["signed_in"] = utcnow() - timedelta(days=int(days))
    access_key = f"<AccessKeyId>{key_id}</AccessKeyId>" if root["access_key"] else ""
    return f"<MamoriEmulatorRootConsoleResponse>{access_key}</MamoriEmulatorRootConsoleResponse>"


def _root_key_account(get_account_id_from):
    def account_of(access_key):
        return root_account_of(access_key) or get_account_id_from(access_key)

    return account_of


def _root_caller_identity(get_caller_identity):
    def caller_identity(self, access_key_id, region):
        account = root_account_of(access_key_id)
        if account is not None:
            from moto.utilities.utils import get_partition

            return account, f"arn:{get_partition(region)}:iam::{account}:root", account
        return get_caller_identity(self, access_key_id, region)

    return caller_identity


def install():
    try:
        import moto.iam.models as iam_models
        from moto.iam.models import AccountSummary, IAMBackend
        from moto.sts.models import STSBackend

        from emulator_shims.emulator_actions import add_iam_action
    except ImportError:  # not an emulator's interpreter
        return
    iam_models.get_account_id_from = _root_key_account(iam_models.get_account_id_from)
    STSBackend.get_caller_identity = _root_caller_identity(STSBackend.get_caller_identity)
    AccountSummary.summary_map = _root_summary(AccountSummary.summary_map)
    IAMBackend.get_credential_report = _with_root_row(IAMBackend.get_credential_report)
    IAMBackend.list_virtual_mfa_devices = _listing_root_device(IAMBackend.list_virtual_mfa_devices)
    add_iam_action(ROOT_CONSOLE_ACTION, _mamori_emulator_root_console)
