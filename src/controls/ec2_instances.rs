//! Reading EC2 instances for the controls that look at each instance (`ec2.imdsv2`, ...).
//!
//! It owns listing the instances of one region, page by page, and nothing else: it never changes an
//! instance and never reads anything but `DescribeInstances`.

use aws_sdk_ec2::types::{Filter, Instance};

use crate::aws::{AwsError, NameCall};

/// Every instance of the region in one of `states` (`running`, `stopped`, ...), all pages.
pub async fn instances_in(client: &aws_sdk_ec2::Client, states: &[&str]) -> Result<Vec<Instance>, AwsError> {
    let filter = Filter::builder().name("instance-state-name").set_values(Some(states.iter().map(|s| s.to_string()).collect())).build();
    let pages: Vec<_> = client.describe_instances().filters(filter).into_paginator().send().try_collect().await.named("ec2:DescribeInstances")?;
    Ok(pages.into_iter().flat_map(|page| page.reservations.unwrap_or_default()).flat_map(|r| r.instances.unwrap_or_default()).collect())
}
