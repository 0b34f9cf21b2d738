//! Reading EC2 instances for the controls that look at each instance (`ec2.imdsv2`,
//! `ec2.instance-roles`, `ec2.embedded-keys`).
//!
//! It owns listing the instances of one region, page by page, once per run: the listing goes through
//! the run's memo, so the controls that need it share one `DescribeInstances` per region; a control
//! that changes an instance calls [`forget_instances`]. It never changes an instance and never reads anything but
//! `DescribeInstances`.

use aws_sdk_ec2::types::{Filter, Instance};

use crate::aws::{AwsError, NameCall};
use crate::baseline::RegionName;
use crate::engine::Context;
use crate::least_privilege::Grant;

/// The IAM actions of this read (the instances of a region), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["ec2:DescribeInstances"]),
];

/// The states listed: every instance that exists and is not shutting down or terminated.
const LISTED_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

fn key(region: &RegionName) -> String {
    format!("ec2:DescribeInstances/{region}")
}

/// Every instance of `region` in one of `states` (a subset of the listed ones), all pages.
pub async fn instances_in(ctx: &Context<'_>, region: &RegionName, states: &[&str]) -> Result<Vec<Instance>, AwsError> {
    let client = ctx.aws.ec2(region.as_str());
    let all: Vec<Instance> = ctx
        .aws
        .memo()
        .get_or_read(&key(region), move || async move {
            let filter =
                Filter::builder().name("instance-state-name").set_values(Some(LISTED_STATES.iter().map(|s| s.to_string()).collect())).build();
            let pages: Vec<_> =
                client.describe_instances().filters(filter).into_paginator().send().try_collect().await.named("ec2:DescribeInstances")?;
            Ok(pages.into_iter().flat_map(|page| page.reservations.unwrap_or_default()).flat_map(|r| r.instances.unwrap_or_default()).collect())
        })
        .await?;
    let in_state = |instance: &Instance| instance.state().and_then(|s| s.name()).is_some_and(|name| states.contains(&name.as_str()));
    Ok(all.into_iter().filter(in_state).collect())
}

/// Forgets the run's listing of `region` after a write changed an instance.
pub fn forget_instances(ctx: &Context<'_>, region: &RegionName) {
    ctx.aws.memo().forget(&key(region));
}
