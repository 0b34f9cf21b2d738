//! The organization layout a multi-account run reconciles: which account holds the audit bucket,
//! which runs the organization trail, and which trail records the members.
//!
//! The layout field reports recommend (and AWS Control Tower builds): the management account runs one
//! organization trail for every account, a dedicated log-archive account holds the locked audit
//! bucket that trail delivers to, and every member gets the rest of the baseline. [`Layout`] is read
//! once per run from the management account, before any member is entered, and handed to every
//! account's controls: AWS shows the organization trail to members only as a shadow trail (and
//! emulators not at all), so the trail that records the members, its status and its event selectors
//! are read here, with the management account's credentials, and members reuse that read
//! ([`crate::inventory::trails`]). [`Placement`] says where a control runs.

use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
use aws_sdk_cloudtrail::types::Trail;

use crate::aws::{Aws, AwsError, NameCall};
use crate::baseline::Baseline;

/// The organization trail as its owner, the management account, reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganizationTrail {
    pub trail: Trail,
    pub status: GetTrailStatusOutput,
    pub selectors: GetEventSelectorsOutput,
}

impl OrganizationTrail {
    pub fn arn(&self) -> &str {
        self.trail.trail_arn().unwrap_or_default()
    }
}

/// The organization as a multi-account run sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    /// `o-...`.
    pub organization_id: String,
    pub management_account: String,
    /// `organization.log_archive_account`, when the baseline uses the organization layout.
    pub log_archive_account: Option<String>,
    /// The organization trail the management account runs in the home region (the baseline's, or
    /// another such as AWS Control Tower's), when there is one.
    pub organization_trail: Option<OrganizationTrail>,
}

impl Layout {
    /// Reads the organization and its trail with the management account's connection (`aws`):
    /// `organizations:DescribeOrganization`, `cloudtrail:DescribeTrails`, and the trail's
    /// `GetTrailStatus` and `GetEventSelectors`: four calls per run, whatever the number of members.
    pub async fn read(aws: &Aws, baseline: &Baseline) -> Result<Layout, AwsError> {
        let organization = aws.organizations().describe_organization().send().await.named("organizations:DescribeOrganization")?;
        let organization = organization.organization().ok_or_else(|| AwsError::malformed("organizations:DescribeOrganization", "no organization"))?;
        let mut layout = Layout {
            organization_id: organization.id().unwrap_or_default().to_string(),
            management_account: organization.master_account_id().unwrap_or_default().to_string(),
            log_archive_account: baseline.organization.log_archive_account.clone(),
            organization_trail: None,
        };
        layout.refresh_trail(aws, baseline).await?;
        Ok(layout)
    }

    /// Reads the organization trail again (after the management account's `apply` made or changed it).
    pub async fn refresh_trail(&mut self, aws: &Aws, baseline: &Baseline) -> Result<(), AwsError> {
        let cloudtrail = aws.cloudtrail(baseline.home_region().as_str());
        let trails = cloudtrail.describe_trails().include_shadow_trails(false).send().await.named("cloudtrail:DescribeTrails")?;
        let owned: Vec<&Trail> = trails
            .trail_list()
            .iter()
            .filter(|t| t.is_organization_trail() == Some(true) && t.trail_arn().and_then(|a| a.split(':').nth(4)) == Some(self.management_account.as_str()))
            .collect();
        let chosen = owned.iter().find(|t| t.name() == Some(baseline.trail_name.as_str())).or(owned.first());
        self.organization_trail = match chosen {
            None => None,
            Some(trail) => {
                let arn = trail.trail_arn().unwrap_or_default();
                let status = cloudtrail.get_trail_status().name(arn).send().await.named("cloudtrail:GetTrailStatus")?;
                let selectors = cloudtrail.get_event_selectors().trail_name(arn).send().await.named("cloudtrail:GetEventSelectors")?;
                Some(OrganizationTrail { trail: (*trail).clone(), status, selectors })
            }
        };
        Ok(())
    }

    /// The organization trail, as a member (any account but the management account) sees it.
    pub fn trail_for_member(&self, account: &str) -> Option<&OrganizationTrail> {
        self.organization_trail.as_ref().filter(|_| account != self.management_account)
    }

    /// Whether a control placed at `placement` runs in `account`; otherwise why not.
    pub fn skips(&self, placement: Placement, account: &str) -> Option<String> {
        match (placement, &self.log_archive_account) {
            (Placement::LogArchiveAccount, Some(archive)) if archive != account => {
                Some(format!("runs in the log-archive account {archive} (organization.log_archive_account)"))
            }
            (Placement::ManagementAccount, Some(_)) if self.management_account != account => Some(format!(
                "runs in the management account {}: the organization trail and its log group live there",
                self.management_account
            )),
            _ => None,
        }
    }
}

/// Which accounts of an organization layout run a control. Outside the organization layout (no
/// `log_archive_account`, or a single-account run) every control runs in every account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    EveryAccount,
    /// The audit bucket: only in the log-archive account.
    LogArchiveAccount,
    /// What belongs to the organization trail (its alarms): only in the management account.
    ManagementAccount,
}
