//! Where the account stands in AWS Organizations, and which AWS services the organization trusts, read
//! once per run.
//!
//! `organizations:DescribeOrganization` answers from any account: the management account, a member
//! (which sees its organization's id, feature set and management account) or a standalone account
//! (`AWSOrganizationsNotInUseException`). `logs.trail` needs it to choose between an organization
//! trail and an account trail, `root.mfa` to know whether the organization can manage the root user
//! centrally. `organizations:ListAWSServiceAccessForOrganization` (management account only) says
//! whether a service such as CloudTrail has trusted access; it is read to the last page, because
//! Organizations "might return fewer results than the maximum even when there are more results
//! available" (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAWSServiceAccessForOrganization.html>),
//! empty pages included: stopping at the first page would report trusted access off, and `apply`
//! would enable it again on every run. The run's [`crate::aws::Memo`] holds both answers. Nothing
//! here writes.

use crate::aws::{AwsError, NameCall};
use crate::engine::Context;
use crate::least_privilege::Grant;

/// The IAM actions of this read (where the account stands in the organization, and which services it trusts), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["organizations:DescribeOrganization", "organizations:ListAWSServiceAccessForOrganization"]),
];

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
    /// The management account's id; `None` for a standalone account.
    pub management_account: Option<String>,
    /// The organization has all features enabled (`FeatureSet` `ALL`), not only consolidated billing:
    /// organization trails, trusted access and policies need it.
    pub all_features: bool,
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
                    let management_account = org.and_then(|o| o.master_account_id()).map(str::to_string);
                    let management = management_account.as_deref() == Some(account_id.as_str());
                    Ok(Organization {
                        position: if management { OrgPosition::Management } else { OrgPosition::Member },
                        id: org.and_then(|o| o.id()).map(str::to_string),
                        management_account,
                        all_features: org.and_then(|o| o.feature_set()).is_some_and(|f| f.as_str() == "ALL"),
                    })
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => Ok(Organization::default()),
                Err(e) => Err(AwsError::from_sdk("organizations:DescribeOrganization", e)),
            }
        })
        .await
}

const SERVICE_ACCESS_KEY: &str = "organizations:ListAWSServiceAccessForOrganization";

/// Whether the organization gives `service_principal` (`cloudtrail.amazonaws.com`) trusted access.
/// Management account only: every page is read, once per run.
pub async fn trusted_access(ctx: &Context<'_>, service_principal: &str) -> Result<bool, AwsError> {
    let organizations = ctx.aws.organizations();
    let enabled: Vec<String> = ctx
        .aws
        .memo()
        .get_or_read(SERVICE_ACCESS_KEY, move || async move {
            let mut pages = organizations.list_aws_service_access_for_organization().into_paginator().send();
            let mut principals = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.named(SERVICE_ACCESS_KEY)?;
                principals.extend(page.enabled_service_principals().iter().filter_map(|p| p.service_principal()).map(str::to_string));
            }
            Ok(principals)
        })
        .await?;
    Ok(enabled.iter().any(|p| p == service_principal))
}

/// Forgets the run's read of trusted access after `organizations:EnableAWSServiceAccess` changed it.
pub fn forget_trusted_access(ctx: &Context<'_>) {
    ctx.aws.memo().forget(SERVICE_ACCESS_KEY);
}
