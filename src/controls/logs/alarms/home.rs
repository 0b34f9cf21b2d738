//! Where the account's CloudTrail events land in CloudWatch Logs, and so where its alarms belong.
//!
//! mamori's own trail delivers to the baseline's log group in the home region. An organization trail
//! delivers the events of every account to one log group of the account that runs it
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html>): a
//! member account never receives them in a group of its own, so demanding filters there would demand
//! a group that nothing writes to, and filters on an empty group alarm on nothing. In the management
//! account, an organization trail mamori does not manage (AWS Control Tower's) delivers to its own
//! group there, which is where the filters go. Pure.

use aws_sdk_cloudtrail::types::Trail;

use crate::inventory::trails;

/// Where the alarms on the account's events belong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Home {
    /// A log group of this account and region receives the events: the filters and alarms go there.
    Here(String),
    /// The organization trail `trail` delivers the events to a log group of another account (or
    /// region), `log_group`, or to none.
    Elsewhere { trail: String, log_group: Option<String> },
}

/// Where the alarms belong, given the organization trail that records the account instead of
/// mamori's own (`None`: mamori's own trail, delivering to `own_group`).
pub fn home(recorder: Option<&Trail>, account_id: &str, region: &str, own_group: &str) -> Home {
    let Some(trail) = recorder else { return Home::Here(own_group.to_string()) };
    let group = trail.cloud_watch_logs_log_group_arn().filter(|arn| !arn.is_empty());
    let local = group.filter(|arn| trails::arn_account(arn) == Some(account_id) && trails::arn_region(arn) == Some(region));
    match local.and_then(trails::log_group_name) {
        Some(name) => Home::Here(name.to_string()),
        None => Home::Elsewhere { trail: trail.trail_arn().unwrap_or_default().to_string(), log_group: group.map(str::to_string) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG_TRAIL: &str = "arn:aws:cloudtrail:us-east-1:999999999999:trail/org";

    fn org_trail(log_group: Option<&str>) -> Trail {
        Trail::builder().trail_arn(ORG_TRAIL).is_organization_trail(true).set_cloud_watch_logs_log_group_arn(log_group.map(str::to_string)).build()
    }

    #[test]
    fn mamoris_own_trail_delivers_to_the_baseline_group() {
        assert_eq!(home(None, "111111111111", "us-east-1", "/mamori/cloudtrail"), Home::Here("/mamori/cloudtrail".into()));
    }

    #[test]
    fn a_member_recorded_by_the_organization_trail_has_no_group_of_its_own() {
        let group = "arn:aws:logs:us-east-1:999999999999:log-group:/org/cloudtrail:*";
        let found = home(Some(&org_trail(Some(group))), "111111111111", "us-east-1", "/mamori/cloudtrail");
        assert_eq!(found, Home::Elsewhere { trail: ORG_TRAIL.into(), log_group: Some(group.into()) });
        let blind = home(Some(&org_trail(None)), "111111111111", "us-east-1", "/mamori/cloudtrail");
        assert_eq!(blind, Home::Elsewhere { trail: ORG_TRAIL.into(), log_group: None });
    }

    #[test]
    fn the_management_account_puts_the_alarms_on_the_organization_trails_group() {
        let group = "arn:aws:logs:us-east-1:999999999999:log-group:aws-controltower/CloudTrailLogs:*";
        let found = home(Some(&org_trail(Some(group))), "999999999999", "us-east-1", "/mamori/cloudtrail");
        assert_eq!(found, Home::Here("aws-controltower/CloudTrailLogs".into()));
        let other_region = home(Some(&org_trail(Some(group))), "999999999999", "eu-west-1", "/mamori/cloudtrail");
        assert!(matches!(other_region, Home::Elsewhere { .. }), "a group in another region is not this run's home region");
    }
}
