//! Finding one CloudWatch Logs group by its exact name.
//!
//! `logs:DescribeLogGroups` takes a name prefix, not a name, and pages its answer: a group whose name
//! others extend (`/app` and `/app/web`) can be on a later page. [`find`] reads the pages until the
//! exact name shows up. The trail's log group (`logs.trail`, `logs.alarms`) and the session-log group
//! (`ssm.session-preferences`) are looked up this way; it never writes.

use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::aws::{AwsError, NameCall};

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
