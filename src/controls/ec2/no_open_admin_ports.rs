//! `ec2.no-open-admin-ports`: no security group lets the whole internet reach SSH (22), RDP (3389) or
//! every port. Session Manager replaces inbound administration.
//!
//! Every security group of the region is one finding. An ingress rule is "open" when its source is
//! `0.0.0.0/0` or `::/0` and it covers port 22 or 3389 over TCP or UDP, or all traffic (protocol `-1`).
//! The fix is opt-in (`revoke_open_admin_ports: true`): `apply` then revokes exactly the open
//! protocol/port/world-source combinations it observed — a rule's other sources, other rules, egress
//! and the group itself stay as they are. Without the opt-in the finding is `manual` with the exact
//! revoke command. Nothing here deletes a security group.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::security_groups::writes;
use crate::least_privilege::{Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "ec2.no-open-admin-ports",
    source: file!(),
    title: "No security group opens 22, 3389 or all ports to 0.0.0.0/0 or ::/0",
    fix: Fix::Optional,
    scope: Scope::Regional,
    cis_v5: &["5.3", "5.4"],
    fsbp: &["EC2.13", "EC2.14", "EC2.53", "EC2.54"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["ec2:DescribeSecurityGroups"]),
    ],
    shared: &[],
    apply: &[
        writes::REVOKE_INGRESS.when(|baseline| baseline.open_admin_ports.as_ref().is_some_and(|o| o.revoke)),
    ],
};

/// The remote administration ports (SSH, RDP).
pub const ADMIN_PORTS: [i32; 2] = [22, 3389];
const WORLD_V4: &str = "0.0.0.0/0";
const WORLD_V6: &str = "::/0";
const RESOURCE_PREFIX: &str = "security-group/";

pub struct NoOpenAdminPorts;

/// One ingress permission open to the world on an administration port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OpenRule {
    /// `tcp`, `udp`, `-1` (all traffic), or a protocol number, as EC2 reports it.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// `0.0.0.0/0` or `::/0`.
    pub source: String,
}

/// Open rules by security group id (every group of the region; an empty list = compliant).
pub type OpenRules = BTreeMap<String, Vec<OpenRule>>;

/// True when a permission of `protocol` over `from..=to` reaches an administration port. Missing
/// ports (or protocol `-1`) mean every port; `-1` as a port bound means the same.
pub fn reaches_admin_port(protocol: &str, from: Option<i32>, to: Option<i32>) -> bool {
    match protocol {
        "-1" | "all" => true,
        "tcp" | "6" | "udp" | "17" => {
            let from = from.filter(|p| *p >= 0).unwrap_or(0);
            let to = to.filter(|p| *p >= 0).unwrap_or(65535);
            ADMIN_PORTS.iter().any(|port| (from..=to).contains(port))
        }
        _ => false,
    }
}

/// The world-open administration rules of one group's ingress permissions.
pub fn open_rules(permissions: &[IpPermission]) -> Vec<OpenRule> {
    let mut open = Vec::new();
    for permission in permissions {
        let protocol = permission.ip_protocol().unwrap_or("-1");
        if !reaches_admin_port(protocol, permission.from_port(), permission.to_port()) {
            continue;
        }
        let v4 = permission.ip_ranges().iter().filter_map(|r| r.cidr_ip()).filter(|c| *c == WORLD_V4);
        let v6 = permission.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).filter(|c| *c == WORLD_V6);
        for source in v4.chain(v6) {
            open.push(OpenRule {
                protocol: protocol.to_string(),
                from_port: permission.from_port(),
                to_port: permission.to_port(),
                source: source.to_string(),
            });
        }
    }
    open.sort();
    open.dedup();
    open
}

/// The permission that revokes exactly `rule`.
fn revocation(rule: &OpenRule) -> IpPermission {
    let builder = IpPermission::builder().ip_protocol(&rule.protocol).set_from_port(rule.from_port).set_to_port(rule.to_port);
    if rule.source == WORLD_V6 {
        builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(WORLD_V6).build()).build()
    } else {
        builder.ip_ranges(IpRange::builder().cidr_ip(WORLD_V4).build()).build()
    }
}

#[async_trait]
impl Control for NoOpenAdminPorts {
    type State = OpenRules;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.open_admin_ports.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        format!("{RESOURCE_PREFIX}*")
    }

    fn fix(&self, baseline: &Baseline) -> Fix {
        match &baseline.open_admin_ports {
            Some(settings) if settings.revoke => Fix::Automatic,
            _ => Fix::Manual,
        }
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<OpenRules, AwsError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let pages: Vec<_> = client.describe_security_groups().into_paginator().send().try_collect().await.named("ec2:DescribeSecurityGroups")?;
        Ok(pages
            .iter()
            .flat_map(|page| page.security_groups())
            .filter_map(|group| Some((group.group_id()?.to_string(), open_rules(group.ip_permissions()))))
            .collect())
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &OpenRules, _facts: &Facts) -> OpenRules {
        observed.keys().map(|id| (id.clone(), Vec::new())).collect()
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &OpenRules, desired: &OpenRules) -> Vec<Part> {
        Part::by_key(RESOURCE_PREFIX, observed, desired)
    }

    fn manual_steps(&self, _ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let group = part.resource.strip_prefix(RESOURCE_PREFIX)?;
        Some(format!(
            "replace SSH/RDP from the internet with Session Manager, then revoke the world-open rules: \
             aws ec2 describe-security-group-rules --region {region} --filters Name=group-id,Values={group} \
             and aws ec2 revoke-security-group-ingress --region {region} --group-id {group} --security-group-rule-ids <the rule ids open to 0.0.0.0/0 or ::/0 on 22/3389/all>; \
             or set ec2.no_open_admin_ports.revoke_open_admin_ports: true and run mamori apply --only ec2.no-open-admin-ports",
            region = target.region
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &OpenRules, _desired: &OpenRules) -> Result<(), ControlError> {
        if !ctx.baseline.open_admin_ports.as_ref().is_some_and(|settings| settings.revoke) {
            return Ok(());
        }
        let client = ctx.aws.ec2(target.region.as_str());
        for (group_id, rules) in observed.iter().filter(|(_, rules)| !rules.is_empty()) {
            writes::revoke_ingress(&client, group_id, rules.iter().map(revocation).collect()).await?;
            tracing::info!(region = %target.region, group = %group_id, rules = rules.len(), "revoked world-open administration rules");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(protocol: &str, from: Option<i32>, to: Option<i32>, v4: &[&str], v6: &[&str]) -> IpPermission {
        IpPermission::builder()
            .ip_protocol(protocol)
            .set_from_port(from)
            .set_to_port(to)
            .set_ip_ranges(Some(v4.iter().map(|c| IpRange::builder().cidr_ip(*c).build()).collect()))
            .set_ipv6_ranges(Some(v6.iter().map(|c| Ipv6Range::builder().cidr_ipv6(*c).build()).collect()))
            .build()
    }

    #[test]
    fn admin_ports_all_traffic_and_wide_ranges_are_recognised() {
        assert!(reaches_admin_port("tcp", Some(22), Some(22)));
        assert!(reaches_admin_port("tcp", Some(3000), Some(4000)));
        assert!(reaches_admin_port("udp", Some(3389), Some(3389)));
        assert!(reaches_admin_port("-1", None, None));
        assert!(reaches_admin_port("tcp", None, None));
        assert!(!reaches_admin_port("tcp", Some(443), Some(443)));
        assert!(!reaches_admin_port("tcp", Some(23), Some(3388)));
        assert!(!reaches_admin_port("icmp", Some(-1), Some(-1)));
    }

    #[test]
    fn only_world_sources_on_admin_ports_are_open() {
        let permissions = [
            permission("tcp", Some(22), Some(22), &["10.0.0.0/8", "0.0.0.0/0"], &["::/0"]),
            permission("tcp", Some(443), Some(443), &["0.0.0.0/0"], &[]),
            permission("tcp", Some(3389), Some(3389), &["203.0.113.0/24"], &[]),
            permission("-1", None, None, &[], &["::/0"]),
        ];
        let open = open_rules(&permissions);
        let described: Vec<(&str, Option<i32>, &str)> = open.iter().map(|r| (r.protocol.as_str(), r.from_port, r.source.as_str())).collect();
        assert_eq!(described, [("-1", None, "::/0"), ("tcp", Some(22), "0.0.0.0/0"), ("tcp", Some(22), "::/0")]);
    }

    #[test]
    fn a_revocation_names_exactly_the_world_source() {
        let rule = OpenRule { protocol: "tcp".into(), from_port: Some(22), to_port: Some(22), source: WORLD_V4.into() };
        let permission = revocation(&rule);
        assert_eq!(permission.ip_ranges().len(), 1);
        assert_eq!(permission.ip_ranges()[0].cidr_ip(), Some(WORLD_V4));
        assert!(permission.ipv6_ranges().is_empty());
    }
}
