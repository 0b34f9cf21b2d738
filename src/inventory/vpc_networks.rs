//! What the VPC controls read the same way about a VPC's network: EC2 filters (and how many values one
//! may hold, with the batching that follows from it), `DescribeVpcs` with filters, and the CIDR blocks
//! a VPC owns.
//!
//! Only [`describe_vpcs`] sends a call (a read); the rest builds filters and reads answers.

use std::future::Future;

use aws_sdk_ec2::types::{Filter, Vpc};

use crate::aws::{AwsError, NameCall};
use crate::least_privilege::Grant;

/// The IAM actions of this read (the VPCs of a region), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["ec2:DescribeVpcs"]),
];

/// EC2 accepts at most 200 values in one filter.
pub const FILTER_VALUES: usize = 200;

/// An EC2 filter `name` = any of `values`.
pub fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().collect())).build()
}

/// The items `read` returns for each batch of `values` (at most [`FILTER_VALUES`] each), in order:
/// `read` gets the filter `name` = one batch and sends the call.
pub async fn in_filter_batches<T, F, Fut>(name: &str, values: &[String], read: F) -> Result<Vec<T>, AwsError>
where
    F: Fn(Filter) -> Fut,
    Fut: Future<Output = Result<Vec<T>, AwsError>>,
{
    let mut all = Vec::new();
    for batch in values.chunks(FILTER_VALUES) {
        all.extend(read(filter(name, batch.iter().cloned())).await?);
    }
    Ok(all)
}

/// Every VPC `DescribeVpcs` returns with `filters` (none: every VPC), all pages.
pub async fn describe_vpcs(client: &aws_sdk_ec2::Client, filters: Vec<Filter>) -> Result<Vec<Vpc>, AwsError> {
    client
        .describe_vpcs()
        .set_filters((!filters.is_empty()).then_some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .named("ec2:DescribeVpcs")
}

/// The IPv4 and IPv6 CIDR blocks associated with `vpc` (blocks being disassociated, or whose
/// association failed, left out), sorted. A VPC without an association set gives its primary block.
pub fn cidr_blocks(vpc: &Vpc) -> Vec<String> {
    let associated = |state: Option<&str>| state.is_none_or(|s| s == "associated");
    let mut blocks: Vec<String> = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|a| associated(a.cidr_block_state().and_then(|s| s.state()).map(|s| s.as_str())))
        .filter_map(|a| a.cidr_block().map(str::to_string))
        .collect();
    if blocks.is_empty() {
        blocks.extend(vpc.cidr_block().map(str::to_string));
    }
    blocks.extend(
        vpc.ipv6_cidr_block_association_set()
            .iter()
            .filter(|a| associated(a.ipv6_cidr_block_state().and_then(|s| s.state()).map(|s| s.as_str())))
            .filter_map(|a| a.ipv6_cidr_block().map(str::to_string)),
    );
    blocks.sort();
    blocks.dedup();
    blocks
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{VpcCidrBlockAssociation, VpcCidrBlockState, VpcCidrBlockStateCode, VpcIpv6CidrBlockAssociation};

    use super::*;

    fn v4(block: &str, state: VpcCidrBlockStateCode) -> VpcCidrBlockAssociation {
        VpcCidrBlockAssociation::builder().cidr_block(block).cidr_block_state(VpcCidrBlockState::builder().state(state).build()).build()
    }

    #[test]
    fn only_associated_blocks_of_both_families_count() {
        let vpc = Vpc::builder()
            .cidr_block("10.0.0.0/16")
            .cidr_block_association_set(v4("10.1.0.0/16", VpcCidrBlockStateCode::Associated))
            .cidr_block_association_set(v4("10.0.0.0/16", VpcCidrBlockStateCode::Associated))
            .cidr_block_association_set(v4("10.9.0.0/16", VpcCidrBlockStateCode::Disassociating))
            .ipv6_cidr_block_association_set(VpcIpv6CidrBlockAssociation::builder().ipv6_cidr_block("2001:db8::/56").build())
            .build();
        assert_eq!(cidr_blocks(&vpc), ["10.0.0.0/16", "10.1.0.0/16", "2001:db8::/56"]);
        assert_eq!(cidr_blocks(&Vpc::builder().cidr_block("172.31.0.0/16").build()), ["172.31.0.0/16"]);
    }
}
