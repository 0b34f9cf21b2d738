//! The organization layout a multi-account run reconciles: which account holds the audit bucket,
//! which runs the organization trail, and which trail covers the members.
//!
//! The layout field reports recommend (and AWS Control Tower builds): the management account runs one
//! organization trail for every account, a dedicated log-archive account holds the locked audit
//! bucket that trail delivers to, and every member gets the rest of the baseline. [`Layout`] is read
//! once per run from the management account, before any member is entered, and handed to every
//! account's controls: a member cannot see the management account's trail itself (AWS shows it to
//! members only as a shadow trail, and not at all on emulators), so "covered by the organization trail"
//! is decided from the management account's read. [`Placement`] says where a control runs.

use crate::aws::{Aws, AwsError, NameCall};
use crate::baseline::Baseline;

/// The organization as a multi-account run sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// `o-...`.
    pub organization_id: String,
    pub management_account: String,
    /// `organization.log_archive_account`, when the baseline uses the organization layout.
    pub log_archive_account: Option<String>,
    /// The ARN of the organization trail of the baseline's name that the management account runs in
    /// the home region, when it exists.
    pub organization_trail: Option<String>,
}

impl Layout {
    /// Reads the organization and its trail with the management account's connection (`aws`).
    /// `organizations:DescribeOrganization` and `cloudtrail:DescribeTrails`: two calls per run.
    pub async fn read(aws: &Aws, baseline: &Baseline) -> Result<Layout, AwsError> {
        let organization = aws.organizations().describe_organization().send().await.named("organizations:DescribeOrganization")?;
        let organization = organization.organization().ok_or_else(|| AwsError::malformed("organizations:DescribeOrganization", "no organization"))?;
        let mut layout = Layout {
            organization_id: organization.id().unwrap_or_default().to_string(),
            management_account: organization.master_account_id().unwrap_or_default().to_string(),
            log_archive_account: baseline.organization.log_archive_account.clone(),
            organization_trail: None,
        };
        layout.organization_trail = read_organization_trail(aws, baseline, &layout.management_account).await?;
        Ok(layout)
    }

    /// Reads the organization trail again (after the management account's `apply` made it).
    pub async fn refresh_trail(&mut self, aws: &Aws, baseline: &Baseline) -> Result<(), AwsError> {
        self.organization_trail = read_organization_trail(aws, baseline, &self.management_account).await?;
        Ok(())
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

async fn read_organization_trail(aws: &Aws, baseline: &Baseline, management_account: &str) -> Result<Option<String>, AwsError> {
    let cloudtrail = aws.cloudtrail(baseline.home_region().as_str());
    let trails = cloudtrail.describe_trails().include_shadow_trails(false).send().await.named("cloudtrail:DescribeTrails")?;
    Ok(trails
        .trail_list()
        .iter()
        .filter(|t| t.is_organization_trail() == Some(true))
        .filter_map(|t| t.trail_arn())
        .find(|arn| arn.split(':').nth(4) == Some(management_account) && arn.ends_with(&format!(":trail/{}", baseline.trail_name)))
        .map(str::to_string))
}
