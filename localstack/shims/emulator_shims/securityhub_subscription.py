"""Security Hub answers only in a region where the account has enabled it (an AWS rule; moto only).

moto's `BatchImportFindings` and `GetFindings` accept calls in a region where `EnableSecurityHub` was
never called, and keep the findings. AWS refuses them there: "InvalidAccessException: The account
doesn't have permission to perform this action ... Account ... is not subscribed to AWS Security Hub"
(AWS Security Hub API Reference, "BatchImportFindings" and "GetFindings", Errors; "Common Errors",
https://docs.aws.amazon.com/securityhub/1.0/APIReference/CommonErrors.html; and the Security Hub User
Guide, "Enabling Security Hub": Security Hub is enabled per account and per Region). Modelled here:
both operations fail with `InvalidAccessException` until the account
enables Security Hub in that region.
"""

MESSAGE = "Account {account} is not subscribed to AWS Security Hub in {region}"


def _subscribed_only(operation):
    def guarded(self, *args, **kwargs):
        if not self.enabled:
            from moto.securityhub.exceptions import SecurityHubClientError

            # moto serializes the error with the service model's HTTP status for the code (401).
            raise SecurityHubClientError("InvalidAccessException", MESSAGE.format(account=self.account_id, region=self.region_name))
        return operation(self, *args, **kwargs)

    return guarded


def install():
    try:
        from moto.securityhub.models import SecurityHubBackend
    except ImportError:  # not an emulator's interpreter
        return
    SecurityHubBackend.batch_import_findings = _subscribed_only(SecurityHubBackend.batch_import_findings)
    SecurityHubBackend.get_findings = _subscribed_only(SecurityHubBackend.get_findings)
