"""Opt-in regions are disabled until the account enables them (an AWS rule moto lets through).

AWS enables the regions launched before March 20, 2019 in every account; a region launched later is
an opt-in region, disabled until the account enables it ("Enable or disable AWS Regions in your
account", https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html). A call
signed for a disabled region fails with a generic authentication error, and
`ec2:DescribeRegions` reports the region's `OptInStatus` as `not-opted-in`, listing it only with
`AllRegions` or when named in `RegionNames`
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html). moto serves every
region to every account, and its DescribeRegions ignores `AllRegions`, marks some opt-in regions
`opt-in-not-required` and lists the China and GovCloud regions in the commercial partition.

Modelled here, per account:
  - every call moto dispatches through its common handler, signed for an opt-in region the account
    has not enabled, is refused as AWS refuses it: EC2 with HTTP 401 `AuthFailure`, JSON-protocol
    services with HTTP 400 `UnrecognizedClientException`, the others with HTTP 403
    `InvalidClientTokenId`. (moto's S3 handler does not go through it, so S3 is not refused.)
  - `ec2:DescribeRegions` answers from that state, for the partition of the region it is called in.
  - `account:EnableRegion` and `account:GetRegionOptStatus`, which moto lacks (a gap), enable a
    region (at once; AWS takes minutes to hours, `ENABLING` in between) and read its status
    (`ENABLED_BY_DEFAULT`, `ENABLED`, `DISABLED`). `emulator.py enable-region` sends the first.
"""

OPT_IN_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
    "me-central-1", "me-south-1", "mx-central-1",
})


def _enabled(account_id):
    """The opt-in regions `account_id` has enabled, kept on its account backend (reset with moto)."""
    from moto.account.models import account_backends

    backend = account_backends[account_id]["aws"]
    if not hasattr(backend, "mamori_enabled_regions"):
        backend.mamori_enabled_regions = set()
    return backend.mamori_enabled_regions


def _disabled(account_id, region):
    return region in OPT_IN_REGIONS and region not in _enabled(account_id)


def _refusal(response):
    """What AWS answers to a call signed for a region the account has not enabled."""
    if response.service_name == "ec2":
        body = (
            "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided "
            "access credentials</Message></Error></Errors><RequestID>mamori-region-opt-in</RequestID></Response>"
        )
        return 401, {"Content-Type": "text/xml"}, body
    if response.headers.get("X-Amz-Target"):
        body = '{"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."}'
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, body
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token "
        "included in the request is invalid.</Message></Error><RequestId>mamori-region-opt-in</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml"}, body


def _refusing_disabled_regions(call_action):
    def refused_or_called(self):
        if self.service_name != "account" and _disabled(self.current_account, self.region):
            return _refusal(self)
        return call_action(self)

    return refused_or_called


def _partition_regions(region):
    from boto3 import Session

    from moto.utilities.utils import get_partition

    return Session().get_available_regions("ec2", partition_name=get_partition(region))


def _describe_regions(self):
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    names = self._get_param("RegionNames", [])
    all_regions = str(self._get_param("AllRegions", "false")).lower() == "true"
    regions = []
    for name in _partition_regions(self.region):
        if names and name not in names:
            continue
        status = "opt-in-not-required" if name not in OPT_IN_REGIONS else ("not-opted-in" if _disabled(self.current_account, name) else "opted-in")
        if status == "not-opted-in" and not (all_regions or names):
            continue
        suffix = "amazonaws.com.cn" if name.startswith("cn-") else "amazonaws.com"
        regions.append({"RegionName": name, "Endpoint": f"ec2.{name}.{suffix}", "OptInStatus": status})
    return ActionResult({"Regions": regions})


def _account_id(self):
    return self._get_param("AccountId") or self.current_account


def _enable_region(self):
    from moto.core.responses import EmptyResult

    region = self._get_param("RegionName")
    if region in OPT_IN_REGIONS:
        _enabled(_account_id(self)).add(region)
    return EmptyResult()


def _get_region_opt_status(self):
    from moto.core.responses import ActionResult

    region = self._get_param("RegionName")
    if region not in OPT_IN_REGIONS:
        status = "ENABLED_BY_DEFAULT"
    else:
        status = "DISABLED" if _disabled(_account_id(self), region) else "ENABLED"
    return ActionResult({"RegionName": region, "RegionOptStatus": status})


def install():
    try:
        import localstack  # noqa: F401  LocalStack embeds moto but answers these calls itself: moto server only

        return
    except ImportError:
        pass
    try:
        from moto.account import urls as account_urls
        from moto.account.responses import AccountResponse
        from moto.core.responses import BaseResponse
        from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions
    except ImportError:  # not moto's interpreter
        return
    BaseResponse.call_action = _refusing_disabled_regions(BaseResponse.call_action)
    AvailabilityZonesAndRegions.describe_regions = _describe_regions
    AccountResponse.enable_region = _enable_region
    AccountResponse.get_region_opt_status = _get_region_opt_status
    for operation in ("enableRegion", "getRegionOptStatus"):
        account_urls.url_paths["{0}/" + operation + "$"] = AccountResponse.dispatch
