//! Finding one CloudWatch Logs group by its exact name.
//!
//! `logs:DescribeLogGroups` takes a name prefix, not a name, and pages its answer: a group whose name
//! others extend (`/app` and `/app/web`) can be on a later page. [`find`] reads the pages until the
//! exact name shows up. The trail's log group (`logs.trail`, `logs.alarms`) and the session-log group
//! (`ssm.session-preferences`) are looked up this way; the trail's is read once per run through the
//! run's memo ([`read`]). It never writes.

use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::aws::{AwsError, NameCall};
use crate::engine::{Context, Target};
use crate::least_privilege::Grant;

/// The IAM actions of this read (a log group by name), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["logs:DescribeLogGroups"]),
];

/// The group named `name`, if it exists.
pub async fn find(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) -> Result<Option<LogGroup>, AwsError> {
    let mut pages = logs.describe_log_groups().log_group_name_prefix(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.named("logs:DescribeLogGroups")?;
        if let Some(group) = page.log_groups().iter().find(|g| g.log_group_name() == Some(name)) {
            return Ok(Some(group.clone()));
        }
    }
    Ok(None)
}

fn key(target: &Target, name: &str) -> String {
    format!("logs:DescribeLogGroups/{}/{name}", target.region)
}

/// The group named `name` in `target`'s region, read once per run through the run's memo: the
/// trail's group is read by `logs.trail` and by `logs.alarms`.
pub async fn read(ctx: &Context<'_>, target: &Target, name: &str) -> Result<Option<LogGroup>, AwsError> {
    let logs = ctx.aws.logs(target.region.as_str());
    let owned = name.to_string();
    ctx.aws.memo().get_or_read(&key(target, name), move || async move { find(&logs, &owned).await }).await
}

/// Forgets the run's read of the group `name` after a write changed it.
pub fn forget(ctx: &Context<'_>, target: &Target, name: &str) {
    ctx.aws.memo().forget(&key(target, name));
}
