//! Finding one CloudWatch Logs group by its exact name.
//!
//! `logs:DescribeLogGroups` takes a name prefix, not a name, and pages its answer: a group whose name
//! others extend (`/app` and `/app/web`) can be on a later page. [`find`] reads the pages until the
//! exact name shows up. The trail's log group (`logs.trail`, `logs.alarms`) and the session-log group
//! (`ssm.session-preferences`) are looked up this way; the trail's is read once per run through the
//! run's memo ([`read_trail_log_group`]). It never writes.

use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::aws::{AwsError, NameCall};
use crate::engine::{Context, Target};

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

fn trail_log_group_key(name: &str) -> String {
    format!("logs:DescribeLogGroups/{name}")
}

/// The trail's log group in `target`'s region, read once per run through the run's memo: `logs.trail`
/// and `logs.alarms` both need it.
pub async fn read_trail_log_group(ctx: &Context<'_>, target: &Target) -> Result<Option<LogGroup>, AwsError> {
    let name = ctx.baseline.trail_log_group.clone();
    let logs = ctx.aws.logs(target.region.as_str());
    ctx.aws.memo().get_or_read(&trail_log_group_key(&name), move || async move { find(&logs, &name).await }).await
}

/// Forgets the run's read of the trail's log group after a write changed it.
pub fn forget_trail_log_group(ctx: &Context<'_>) {
    ctx.aws.memo().forget(&trail_log_group_key(&ctx.baseline.trail_log_group));
}
