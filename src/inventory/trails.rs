//! The CloudTrail trails this account can see, and which of them records the account.
//!
//! `cloudtrail:DescribeTrails` with shadow trails lists the account's own trails and the multi-region
//! and organization trails that reach its region; a member account sees its organization's trail there
//! (read-only, with the management account's ARN). `logs.trail` needs the list to find its own trail
//! or the organization trail that records the account instead, and `logs.alarms` to know which log
//! group the account's events land in; the run's memo makes that one call. [`organization_trail`] is
//! the pure rule. Nothing here writes.

use aws_sdk_cloudtrail::types::Trail;

use super::organization::{OrgPosition, Organization};
use crate::aws::{AwsError, NameCall};
use crate::engine::{Context, Target};
use crate::least_privilege::Grant;

/// The IAM actions of this read (the trails the account sees), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["cloudtrail:DescribeTrails"]),
];

fn key(target: &Target) -> String {
    format!("cloudtrail:DescribeTrails/{}", target.region)
}

/// The trails visible in `target`'s region, shadow trails included (read once per run). In a run
/// over an organization, a member also sees the organization trail the management account reported
/// ([`crate::fleet::Layout`]): AWS lists it there as a shadow trail, but a member may not be shown it
/// (emulators never do), and what records the member is the management account's to say.
pub async fn read(ctx: &Context<'_>, target: &Target) -> Result<Vec<Trail>, AwsError> {
    let cloudtrail = ctx.aws.cloudtrail(target.region.as_str());
    let mut trails = ctx
        .aws
        .memo()
        .get_or_read(&key(target), move || async move {
            let out = cloudtrail.describe_trails().include_shadow_trails(true).send().await.named("cloudtrail:DescribeTrails")?;
            Ok(out.trail_list().to_vec())
        })
        .await?;
    if let Some(organization_trail) = ctx.layout.and_then(|layout| layout.trail_for_member(&ctx.caller.account_id)) {
        if !trails.iter().any(|t| t.trail_arn() == Some(organization_trail.arn())) {
            trails.push(organization_trail.trail.clone());
        }
    }
    Ok(trails)
}

/// Forgets the run's read of the trails after a write created or changed one.
pub fn forget(ctx: &Context<'_>, target: &Target) {
    ctx.aws.memo().forget(&key(target));
}

/// The ARN of mamori's own trail (the baseline's trail name) in `target`'s region.
pub fn own_arn(ctx: &Context<'_>, target: &Target) -> String {
    format!("arn:{}:cloudtrail:{}:{}:trail/{}", ctx.caller.partition, target.region, ctx.caller.account_id, ctx.baseline.trail_name)
}

/// The organization trail that records this account instead of mamori's own trail (`own_arn`), if
/// any: an organization trail that is not mamori's, seen from an account of an organization. In a
/// member account it is the trail the management account (or a delegated administrator) runs; in the
/// management account it is an organization trail of another name (AWS Control Tower's
/// `aws-controltower-BaselineCloudTrail`, say). Such a trail is reported, never duplicated: a second
/// organization trail would bill every management event twice in every account.
pub fn organization_trail<'a>(trails: &'a [Trail], organization: &Organization, own_arn: &str) -> Option<&'a Trail> {
    if organization.position == OrgPosition::Standalone {
        return None;
    }
    trails.iter().find(|t| t.is_organization_trail() == Some(true) && t.trail_arn().is_some_and(|arn| arn != own_arn))
}

/// The account id in an ARN.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// The region in an ARN.
pub fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

/// The log group name in a CloudWatch Logs log group ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`).
pub fn log_group_name(arn: &str) -> Option<&str> {
    let name = arn.split_once(":log-group:")?.1;
    Some(name.strip_suffix(":*").unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail(arn: &str, organization: bool) -> Trail {
        Trail::builder().trail_arn(arn).is_organization_trail(organization).build()
    }

    fn organization(position: OrgPosition) -> Organization {
        Organization { position, id: Some("o-abc".into()), management_account: Some("999999999999".into()), all_features: true }
    }

    const OWN: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/mamori-trail";

    #[test]
    fn a_member_is_recorded_by_its_organizations_trail() {
        let trails = [trail("arn:aws:cloudtrail:us-east-1:111111111111:trail/local", false), trail("arn:aws:cloudtrail:us-east-1:999999999999:trail/org", true)];
        let found = organization_trail(&trails, &organization(OrgPosition::Member), OWN).and_then(|t| t.trail_arn());
        assert_eq!(found, Some("arn:aws:cloudtrail:us-east-1:999999999999:trail/org"));
    }

    #[test]
    fn the_management_account_finds_an_organization_trail_of_another_name() {
        let control_tower = "arn:aws:cloudtrail:us-east-1:999999999999:trail/aws-controltower-BaselineCloudTrail";
        let own = "arn:aws:cloudtrail:us-east-1:999999999999:trail/mamori-trail";
        let trails = [trail(own, true), trail(control_tower, true)];
        let found = organization_trail(&trails, &organization(OrgPosition::Management), own).and_then(|t| t.trail_arn());
        assert_eq!(found, Some(control_tower));
        assert!(organization_trail(&trails[..1], &organization(OrgPosition::Management), own).is_none(), "its own trail is mamori's");
    }

    #[test]
    fn account_trails_and_standalone_accounts_have_no_organization_trail() {
        let account_trail = [trail("arn:aws:cloudtrail:us-east-1:999999999999:trail/acct", false)];
        assert!(organization_trail(&account_trail, &organization(OrgPosition::Member), OWN).is_none());
        let org = [trail("arn:aws:cloudtrail:us-east-1:999999999999:trail/org", true)];
        assert!(organization_trail(&org, &Organization::default(), OWN).is_none());
    }

    #[test]
    fn arn_parts() {
        let group = "arn:aws:logs:eu-west-1:999999999999:log-group:aws-controltower/CloudTrailLogs:*";
        assert_eq!(log_group_name(group), Some("aws-controltower/CloudTrailLogs"));
        assert_eq!(log_group_name("arn:aws:logs:eu-west-1:1:log-group:/a/b"), Some("/a/b"));
        assert_eq!((arn_account(group), arn_region(group)), (Some("999999999999"), Some("eu-west-1")));
        assert_eq!(log_group_name("arn:aws:s3:::bucket"), None);
    }
}
