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

from emulator_shims import pages

DEFAULT_MAX_ITEMS = 100
LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
BACKEND_LISTS = ("users", "groups", "roles", "managed_policies")


def _paged(self):
    from moto.core.responses import ActionResult

    details = self.backend.get_account_authorization_details(self._get_param("Filter", []))
    entities = [(name, item) for name, key in zip(LISTS, BACKEND_LISTS) for item in details[key]]
    page, marker = pages.page(entities, self._get_param("Marker"), self._get_int_param("MaxItems", DEFAULT_MAX_ITEMS))
    result = {name: [item for list_name, item in page if list_name == name] for name in LISTS}
    result["IsTruncated"] = marker is not None
    if marker:
        result["Marker"] = marker
    return ActionResult(result)


def install():
    try:
        from moto.iam.responses import IamResponse
    except ImportError:  # not moto's interpreter
        return
    IamResponse.get_account_authorization_details = _paged
