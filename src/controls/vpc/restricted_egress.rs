//! `vpc.restricted-egress`: the security groups the baseline names send traffic only to S3 and to
//! their own VPC.
//!
//! The field report's sensitive environment may reach only its own S3 buckets, through VPC endpoints.
//! For each group of `vpc.restricted_egress.security_groups` found in a region, the wanted egress is
//! tcp 443 and tcp 80 (SSM Agent looks up S3's region over HTTP) to the region's S3 prefix list (the
//! AWS-managed `com.amazonaws.<region>.s3`, found by that suffix in `ec2:DescribePrefixLists`, so other
//! partitions work) and to each CIDR block of the group's VPC (where the interface endpoints are).
//! Each group is two findings:
//!
//! - `security-group/sg-…/allowed-egress`: the wanted rules it has; `apply` authorizes exactly the
//!   missing ones (`AuthorizeSecurityGroupEgress`).
//! - `security-group/sg-…/other-egress`: every other egress rule (AWS's default `all traffic to
//!   0.0.0.0/0`, say). Revoking is opt-in (`revoke_other_egress: true`): `apply` then revokes exactly
//!   the rules it observed, after the wanted rules are in place, so a group never loses its path to the
//!   endpoints. Without the opt-in the finding is `manual`, with the revoke command of each rule.
//!
//! Rules compare one peer at a time and exactly: a wider rule (`tcp 0-65535` to the VPC) does not stand
//! in for a wanted one, it is an other rule. Nothing here touches ingress or deletes a group.
//!
//! A group id exists in one region only. Each region looks its named groups up with one
//! `DescribeSecurityGroups` filtered on `group-id` (which returns the existing ones, no error), through
//! the run's memo; the home region also awaits the other regions' lookups (the same memo entries, no
//! extra call) and reports each id found in no region of the run once, `manual`. A region where a named
//! group exists adds one `DescribePrefixLists` and one `DescribeVpcs` (memoized: not read again after
//! `apply`); a region without one costs its lookup only.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, SecurityGroup};
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, RegionName, RestrictedEgress};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use crate::inventory::security_groups::writes;
use crate::inventory::security_groups::rules::{Direction, Peer, Rule};
use crate::inventory::vpc_networks::{cidr_blocks, describe_vpcs, in_filter_batches};
use crate::least_privilege::{Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "vpc.restricted-egress",
    source: file!(),
    title: "Named security groups send traffic only on tcp 443/80 to the S3 prefix list and their VPC",
    fix: Fix::Optional,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["ec2:DescribeSecurityGroups", "ec2:DescribePrefixLists"]),
    ],
    shared: &[crate::inventory::vpc_networks::READS],
    apply: &[
        writes::AUTHORIZE_EGRESS,
        writes::REVOKE_EGRESS.when(|baseline| baseline.restricted_egress.as_ref().is_some_and(|r| r.revoke_other_egress)),
    ],
};

/// The ports allowed out: HTTPS, and HTTP, which SSM Agent uses to look up S3's region.
pub const PORTS: [i32; 2] = [443, 80];
const RESOURCE_PREFIX: &str = "security-group/";
const ALLOWED: &str = "allowed-egress";
const OTHER: &str = "other-egress";
const SETTINGS_KEY: &str = "vpc.restricted_egress";

pub struct RestrictedEgressControl;

/// One region.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EgressState {
    /// The named groups that exist in this region, by id.
    pub groups: BTreeMap<String, GroupEgress>,
    /// Named ids found in no region of the run; only the home region holds them, so each is reported once.
    pub missing: BTreeSet<String>,
}

/// One group: what it should let out (an input, from its VPC and the region's S3 prefix list) and what
/// it lets out (desired: exactly `wanted`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupEgress {
    pub wanted: BTreeSet<Rule>,
    pub egress: BTreeSet<Rule>,
}

impl GroupEgress {
    /// The wanted rules the group has.
    pub fn allowed(&self) -> BTreeSet<Rule> {
        self.egress.intersection(&self.wanted).cloned().collect()
    }

    /// Its rules that are not wanted.
    pub fn other(&self) -> BTreeSet<Rule> {
        self.egress.difference(&self.wanted).cloned().collect()
    }

    /// The wanted rules it lacks.
    pub fn missing(&self) -> BTreeSet<Rule> {
        self.wanted.difference(&self.egress).cloned().collect()
    }
}

/// tcp 443 and 80 to the S3 prefix list and to each of `cidrs`. Pure.
pub fn wanted_rules(s3_prefix_list: &str, cidrs: &[String]) -> BTreeSet<Rule> {
    let peers = std::iter::once(Peer::PrefixList(s3_prefix_list.to_string())).chain(cidrs.iter().map(|c| Peer::cidr(c)));
    peers.flat_map(|peer| PORTS.map(|port| Rule::tcp(Direction::Outbound, port, peer.clone()))).collect()
}

fn settings<'a>(ctx: &Context<'a>) -> &'a RestrictedEgress {
    ctx.baseline.restricted_egress.as_ref().expect("the engine only runs enabled controls")
}

fn rules_value(rules: &BTreeSet<Rule>) -> Value {
    json!({ "egress": rules })
}

/// The two findings of one group. `allowed-egress` is always fixable; `other-egress` takes the
/// control's fix (opt-in).
fn group_parts(group_id: &str, group: &GroupEgress) -> Vec<Part> {
    vec![
        Part {
            resource: format!("{RESOURCE_PREFIX}{group_id}/{ALLOWED}"),
            observed: rules_value(&group.allowed()),
            desired: rules_value(&group.wanted),
            action: Action::Update,
            fix: Some(Fix::Automatic),
        },
        Part {
            resource: format!("{RESOURCE_PREFIX}{group_id}/{OTHER}"),
            observed: rules_value(&group.other()),
            desired: rules_value(&BTreeSet::new()),
            action: Action::Update,
            fix: None,
        },
    ]
}

fn missing_group_part(group_id: &str) -> Part {
    Part {
        resource: format!("{RESOURCE_PREFIX}{group_id}"),
        observed: json!({ "exists": false }),
        desired: json!({ "exists": true }),
        action: Action::Update,
        fix: Some(Fix::Manual),
    }
}

fn groups_key(region: &RegionName) -> String {
    format!("ec2:DescribeSecurityGroups/{region}/{SETTINGS_KEY}")
}

/// The named groups that exist in `region`, read once per run (until [`Control::apply`] forgets it).
async fn named_groups(ctx: &Context<'_>, region: &RegionName) -> Result<Vec<SecurityGroup>, AwsError> {
    let client = ctx.aws.ec2(region.as_str());
    let ids = settings(ctx).security_groups.clone();
    ctx.aws
        .memo()
        .get_or_read(&groups_key(region), move || async move {
            let ec2 = &client;
            in_filter_batches("group-id", &ids, |by_id| async move {
                ec2.describe_security_groups().filters(by_id).into_paginator().items().send().try_collect().await.named("ec2:DescribeSecurityGroups")
            })
            .await
        })
        .await
}

/// Named ids found in no region of the run. Empty when a region could not be read: its own finding
/// is then an error, and an id might live there.
async fn missing_everywhere(ctx: &Context<'_>) -> BTreeSet<String> {
    let lookups = futures::future::join_all(ctx.baseline.regions.iter().map(|region| named_groups(ctx, region))).await;
    let Ok(found) = lookups.into_iter().collect::<Result<Vec<_>, _>>() else {
        return BTreeSet::new();
    };
    let existing: BTreeSet<&str> = found.iter().flatten().filter_map(|g| g.group_id()).collect();
    settings(ctx).security_groups.iter().filter(|id| !existing.contains(id.as_str())).cloned().collect()
}

/// The id of the region's AWS-managed S3 prefix list.
async fn s3_prefix_list(ctx: &Context<'_>, region: &RegionName) -> Result<String, AwsError> {
    let client = ctx.aws.ec2(region.as_str());
    let suffix = format!(".{region}.s3");
    let region = region.to_string();
    ctx.aws
        .memo()
        .get_or_read(&format!("ec2:DescribePrefixLists/{region}"), move || async move {
            let lists: Vec<_> = client.describe_prefix_lists().into_paginator().items().send().try_collect().await.named("ec2:DescribePrefixLists")?;
            lists
                .iter()
                .find(|l| l.prefix_list_name().is_some_and(|n| n.ends_with(&suffix)))
                .and_then(|l| l.prefix_list_id())
                .map(str::to_string)
                .ok_or_else(|| AwsError {
                    operation: "ec2:DescribePrefixLists".into(),
                    code: None,
                    message: format!("no S3 prefix list (com.amazonaws{suffix}) in {region}"),
                    request_id: None,
                    status: None,
                })
        })
        .await
}

/// The CIDR blocks of `vpc_ids`, by VPC id.
async fn vpc_cidrs(ctx: &Context<'_>, region: &RegionName, vpc_ids: Vec<String>) -> Result<BTreeMap<String, Vec<String>>, AwsError> {
    let client = ctx.aws.ec2(region.as_str());
    let key = format!("ec2:DescribeVpcs/{region}/{}", vpc_ids.join(","));
    ctx.aws
        .memo()
        .get_or_read(&key, move || async move {
            let ec2 = &client;
            let vpcs = in_filter_batches("vpc-id", &vpc_ids, |by_id| describe_vpcs(ec2, vec![by_id])).await?;
            Ok(vpcs.iter().filter_map(|vpc| Some((vpc.vpc_id()?.to_string(), cidr_blocks(vpc)))).collect())
        })
        .await
}

/// Authorizes the group's missing rules, then, when `revoke`, revokes its other rules: never the other
/// way round.
async fn apply_group(client: &aws_sdk_ec2::Client, group_id: &str, group: &GroupEgress, revoke: bool) -> Result<(), AwsError> {
    let permissions = |rules: BTreeSet<Rule>| -> Vec<IpPermission> { rules.iter().map(Rule::permission).collect() };
    let missing = group.missing();
    if !missing.is_empty() {
        writes::authorize_egress(client, group_id, permissions(missing)).await?;
    }
    let other = group.other();
    if revoke && !other.is_empty() {
        writes::revoke_egress(client, group_id, permissions(other)).await?;
    }
    Ok(())
}

#[async_trait]
impl Control for RestrictedEgressControl {
    type State = EgressState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.restricted_egress.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        format!("{RESOURCE_PREFIX}*")
    }

    fn fix(&self, baseline: &Baseline) -> Fix {
        match &baseline.restricted_egress {
            Some(settings) if settings.revoke_other_egress => Fix::Automatic,
            _ => Fix::Manual,
        }
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<EgressState, AwsError> {
        let region = &target.region;
        let found = named_groups(ctx, region).await?;
        let mut state = EgressState::default();
        if region == ctx.baseline.home_region() {
            state.missing = missing_everywhere(ctx).await;
        }
        if found.is_empty() {
            return Ok(state);
        }
        let vpc_ids: BTreeSet<String> = found.iter().filter_map(|g| g.vpc_id()).map(str::to_string).collect();
        let (prefix_list, cidrs) = futures::try_join!(s3_prefix_list(ctx, region), vpc_cidrs(ctx, region, vpc_ids.into_iter().collect()))?;
        for group in &found {
            let Some(id) = group.group_id() else { continue };
            let vpc_cidrs = group.vpc_id().and_then(|vpc| cidrs.get(vpc)).map_or(&[][..], Vec::as_slice);
            let egress = group.ip_permissions_egress().iter().flat_map(|p| Rule::from_permission(Direction::Outbound, p)).collect();
            state.groups.insert(id.to_string(), GroupEgress { wanted: wanted_rules(&prefix_list, vpc_cidrs), egress });
        }
        Ok(state)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &EgressState, _facts: &Facts) -> EgressState {
        EgressState {
            groups: observed.groups.iter().map(|(id, g)| (id.clone(), GroupEgress { wanted: g.wanted.clone(), egress: g.wanted.clone() })).collect(),
            missing: BTreeSet::new(),
        }
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &EgressState, _desired: &EgressState) -> Vec<Part> {
        let mut parts: Vec<Part> = observed.missing.iter().map(|id| missing_group_part(id)).collect();
        parts.extend(observed.groups.iter().flat_map(|(id, group)| group_parts(id, group)));
        if parts.is_empty() {
            parts.push(Part {
                resource: "(no named security group in this region)".into(),
                observed: Value::Null,
                desired: Value::Null,
                action: Action::Update,
                fix: None,
            });
        }
        parts
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let rest = part.resource.strip_prefix(RESOURCE_PREFIX)?;
        let region = &target.region;
        if let Some(group) = rest.strip_suffix(&format!("/{OTHER}")) {
            let rules: Vec<Rule> = serde_json::from_value(part.observed.get("egress")?.clone()).ok()?;
            let commands: Vec<String> = rules
                .iter()
                .map(|rule| {
                    format!(
                        "aws ec2 revoke-security-group-egress --region {region} --group-id {group} --ip-permissions '[{}]'",
                        rule.cli_permission()
                    )
                })
                .collect();
            return Some(format!(
                "once nothing in the group needs another destination, revoke each other egress rule ({}): {}; \
                 or set {SETTINGS_KEY}.revoke_other_egress: true and run mamori apply --only {}",
                rules.iter().cloned().map(String::from).collect::<Vec<_>>().join(", "),
                commands.join(" && "),
                META.id
            ));
        }
        let regions: Vec<&str> = ctx.baseline.regions.iter().map(RegionName::as_str).collect();
        Some(format!(
            "security group {rest} does not exist in any region of this run ({}): check the id \
             (aws ec2 describe-security-groups --region <its region> --group-ids {rest}), add its region to the baseline's regions, \
             or remove it from {SETTINGS_KEY}.security_groups",
            regions.join(", ")
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &EgressState, _desired: &EgressState) -> Result<(), ControlError> {
        let revoke = settings(ctx).revoke_other_egress;
        let client = ctx.aws.ec2(target.region.as_str());
        let mut failures = Vec::new();
        for (id, group) in &observed.groups {
            if let Err(error) = apply_group(&client, id, group, revoke).await {
                failures.push(format!("{id}: {error}"));
            }
        }
        ctx.aws.memo().forget(&groups_key(&target.region));
        // One group that fails does not stop the others; every failure is reported.
        match failures.len() {
            0 => Ok(()),
            _ => Err(ControlError::Precondition(failures.join("; "))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        text.parse().unwrap()
    }

    fn texts(rules: &BTreeSet<Rule>) -> Vec<String> {
        rules.iter().cloned().map(String::from).collect()
    }

    fn group(egress: &[&str]) -> GroupEgress {
        let cidrs = ["10.0.0.0/16".to_string(), "2001:db8::/56".to_string()];
        GroupEgress { wanted: wanted_rules("pl-63a5400a", &cidrs), egress: egress.iter().map(|r| rule(r)).collect() }
    }

    #[test]
    fn wanted_is_443_and_80_to_s3_and_every_vpc_block() {
        let wanted = group(&[]).wanted;
        assert_eq!(
            texts(&wanted),
            [
                "tcp 80 to 10.0.0.0/16",
                "tcp 80 to 2001:db8::/56",
                "tcp 80 to pl-63a5400a",
                "tcp 443 to 10.0.0.0/16",
                "tcp 443 to 2001:db8::/56",
                "tcp 443 to pl-63a5400a",
            ]
        );
    }

    #[test]
    fn egress_splits_into_allowed_other_and_missing() {
        let group = group(&["all traffic to 0.0.0.0/0", "tcp 443 to pl-63a5400a", "tcp 0-65535 to 10.0.0.0/16", "tcp 80 to 10.0.0.0/16"]);
        assert_eq!(texts(&group.allowed()), ["tcp 80 to 10.0.0.0/16", "tcp 443 to pl-63a5400a"]);
        assert_eq!(texts(&group.other()), ["all traffic to 0.0.0.0/0", "tcp 0-65535 to 10.0.0.0/16"], "a wider rule does not stand in");
        assert_eq!(group.missing().len(), 4);
        let converged = GroupEgress { egress: group.wanted.clone(), ..group };
        assert!(converged.other().is_empty() && converged.missing().is_empty());
    }

    #[test]
    fn each_group_is_two_findings_and_only_other_egress_waits_for_the_opt_in() {
        let parts = group_parts("sg-1", &group(&["all traffic to 0.0.0.0/0", "tcp 443 to pl-63a5400a"]));
        let names: Vec<&str> = parts.iter().map(|p| p.resource.as_str()).collect();
        assert_eq!(names, ["security-group/sg-1/allowed-egress", "security-group/sg-1/other-egress"]);
        assert_eq!(parts[0].observed, json!({"egress": ["tcp 443 to pl-63a5400a"]}));
        assert_eq!(parts[0].desired["egress"].as_array().unwrap().len(), 6);
        assert_eq!(parts[0].fix, Some(Fix::Automatic));
        assert_eq!(parts[1].observed, json!({"egress": ["all traffic to 0.0.0.0/0"]}));
        assert_eq!(parts[1].desired, json!({"egress": []}));
        assert_eq!(parts[1].fix, None, "the control's fix: automatic only with revoke_other_egress");
        assert_eq!(missing_group_part("sg-2").fix, Some(Fix::Manual));
    }
}
