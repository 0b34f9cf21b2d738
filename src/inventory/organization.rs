//! Where the account stands in AWS Organizations, read once per run.
//!
//! `organizations:DescribeOrganization` answers from any account: the management account, a member
//! (which sees its organization's id and management account) or a standalone account
//! (`AWSOrganizationsNotInUseException`). `logs.trail` needs it to choose between an organization
//! trail and an account trail, `root.mfa` to know whether the organization can manage the root user
//! centrally. The run's [`crate::aws::Memo`] holds the answer, so it costs one call per run at most.

use crate::aws::AwsError;
use crate::engine::Context;

/// Where the caller stands in AWS Organizations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OrgPosition {
    /// Not in an organization.
    #[default]
    Standalone,
    /// The organization's management account.
    Management,
    /// A member account.
    Member,
}

/// The caller's organization, as far as this account can see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organization {
    pub position: OrgPosition,
    /// `o-...`; `None` for a standalone account.
    pub id: Option<String>,
}

/// The caller's organization (read on first use, shared by every control of the run).
pub async fn read(ctx: &Context<'_>) -> Result<Organization, AwsError> {
    let organizations = ctx.aws.organizations();
    let account_id = ctx.caller.account_id.clone();
    ctx.aws
        .memo()
        .get_or_read("organizations:DescribeOrganization", move || async move {
            match organizations.describe_organization().send().await {
                Ok(out) => {
                    let org = out.organization();
                    let management = org.and_then(|o| o.master_account_id()) == Some(account_id.as_str());
                    Ok(Organization {
                        position: if management { OrgPosition::Management } else { OrgPosition::Member },
                        id: org.and_then(|o| o.id()).map(str::to_string),
                    })
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => Ok(Organization::default()),
                Err(e) => Err(AwsError::from_sdk("organizations:DescribeOrganization", e)),
            }
        })
        .await
}
