"""ListAWSServiceAccessForOrganization in short and empty pages (AWS rule, moto).

AWS (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAWSServiceAccessForOrganization.html):
"Organizations might return fewer results than the maximum even when there are more results
available. You should check NextToken after every operation to ensure that you receive all of the
results." A reader that stops at the first page can miss an enabled service. moto answers every
principal at once and ignores NextToken.

Here the answer comes as AWS may send it, at its most awkward: a first page with no principal and a
NextToken, then one principal per page, each page but the last with a NextToken. A client that follows
NextToken sees every principal; one that reads a single page sees none.
"""

import json

TOKEN_PREFIX = "mamori-page-"


def _paged(self):
    services = self.organizations_backend.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    token = self._get_param("NextToken")
    page = int(token.removeprefix(TOKEN_PREFIX)) if token else 0
    # Page 0 is empty; page N (from 1) holds the N-th principal.
    principals = [] if page == 0 else services[page - 1 : page]
    body = {"EnabledServicePrincipals": principals}
    if page < len(services):
        body["NextToken"] = f"{TOKEN_PREFIX}{page + 1}"
    return json.dumps(body, default=str)


def install():
    try:
        from moto.organizations.responses import OrganizationsResponse
    except ImportError:  # not moto's interpreter
        return
    OrganizationsResponse.list_aws_service_access_for_organization = _paged
