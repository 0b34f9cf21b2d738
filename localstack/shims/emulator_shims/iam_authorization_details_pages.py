"""GetAccountAuthorizationDetails in pages of MaxItems (AWS rule, moto).

AWS (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html):
"MaxItems: ... If you do not include this parameter, the number of items defaults to 100. Note that IAM
might return fewer results, even when there are more results available. In that case, the IsTruncated
response element returns true and Marker contains a value to include in the subsequent call that tells
the service where to continue from." moto answers every user, group, role and policy in one page with
`IsTruncated` false, so a reader that stops at the first page looks complete on moto and misses users,
roles and policies on AWS as soon as an account holds more than 100 of them.

Here the entities come in AWS's order (users, groups, roles, then managed policies) at most MaxItems
(default 100) to a page, with `IsTruncated` and an opaque `Marker` while more remain.
"""

from base64 import b64decode, b64encode

DEFAULT_MAX_ITEMS = 100
LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
BACKEND_LISTS = ("users", "groups", "roles", "managed_policies")


def _offset(marker):
    return int(b64decode(marker).decode().removeprefix("mamori-offset-")) if marker else 0


def _paged(self):
    from moto.core.responses import ActionResult

    details = self.backend.get_account_authorization_details(self._get_param("Filter", []))
    entities = [(name, item) for name, key in zip(LISTS, BACKEND_LISTS) for item in details[key]]
    start = _offset(self._get_param("Marker"))
    max_items = self._get_int_param("MaxItems", DEFAULT_MAX_ITEMS)
    page = entities[start : start + max_items]
    result = {name: [item for list_name, item in page if list_name == name] for name in LISTS}
    truncated = start + max_items < len(entities)
    result["IsTruncated"] = truncated
    if truncated:
        result["Marker"] = b64encode(f"mamori-offset-{start + max_items}".encode()).decode()
    return ActionResult(result)


def install():
    try:
        from moto.iam.responses import IamResponse
    except ImportError:  # not moto's interpreter
        return
    IamResponse.get_account_authorization_details = _paged
