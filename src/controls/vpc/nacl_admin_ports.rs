//! `vpc.nacl-admin-ports`: no network ACL lets the internet in on SSH (22) or RDP (3389).
//!
//! CIS v5 5.2 asks that no network ACL allow ingress from `0.0.0.0/0` to the remote administration
//! ports over TCP, UDP or all protocols; Security Hub EC2.21 asks the same (for TCP, and leaving default
//! ACLs out), with `::/0` too. Every network ACL of the region is one finding, `network-acl/acl-…`,
//! default ACLs included: AWS's default ACL allows all inbound traffic, so every VPC starts with one
//! that fails, as CIS and Prowler count it. An ACL is read as AWS evaluates it, rule by rule
//! ([`rules`]): what counts is the first entry from the whole internet that covers the port.
//!
//! Detect-only by default (`manual`, with the exact commands): an ACL belongs to a network design, and
//! closing SSH in it may cut off the team that uses it. With `deny_open_admin_ports: true` `apply` adds,
//! for each open port, a `deny` entry just below the `allow` that opens it (`CreateNetworkAclEntry`),
//! so every entry that decided other traffic keeps deciding it. Nothing is deleted or replaced; when no
//! rule number is free there, the finding stays `manual` and says so. ACLs another account owns (a
//! shared VPC's) are `skipped`: only their owner can change them.
//!
//! Reads per region: one `DescribeNetworkAcls` (more only past a page).

pub mod rules;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ec2::types::{NetworkAcl, PortRange, RuleAction};
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use rules::{Deny, Entry, Family, OpenPort};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "vpc.nacl-admin-ports",
    source: file!(),
    title: "No network ACL lets 0.0.0.0/0 or ::/0 in on 22 or 3389",
    fix: Fix::Optional,
    scope: Scope::Regional,
    cis_v5: &["5.2"],
    fsbp: &["EC2.21"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["ec2:DescribeNetworkAcls"]),
    ],
    shared: &[],
    apply: &[
        Grant::on(&["ec2:CreateNetworkAclEntry"], &[arn::NETWORK_ACL]).when(|baseline| baseline.nacl_admin_ports.as_ref().is_some_and(|n| n.deny_open_admin_ports)),
    ],
};

const RESOURCE_PREFIX: &str = "network-acl/";
const SETTINGS_KEY: &str = "vpc.nacl_admin_ports.deny_open_admin_ports";

pub struct NaclAdminPorts;

/// Every network ACL of one region, by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NaclState {
    pub acls: BTreeMap<String, Acl>,
}

/// One network ACL: its inbound entries (an input) and what they let the internet reach (compared).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Acl {
    pub vpc: String,
    /// Another account's id when that account owns the ACL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    #[serde(skip)]
    pub entries: Vec<Entry>,
    pub open_to_internet: BTreeSet<OpenPort>,
}

/// The deny entries that would close `acl`, as `apply` would add them (or why it cannot).
fn closing_plan(acl: &Acl) -> Result<Vec<Deny>, String> {
    rules::closing_denies(&acl.entries, &acl.open_to_internet)
}

/// The closing plan as findings show it (on both sides: it explains, it is not compared).
fn plan_value(acl: &Acl) -> Value {
    match closing_plan(acl) {
        Ok(denies) => json!(denies),
        Err(no_room) => json!({ "no_room": no_room }),
    }
}

/// The CLI command that adds `deny` to `acl_id`.
fn create_command(region: &str, acl_id: &str, deny: &Deny) -> String {
    let source = match deny.family {
        Family::V4 => format!("--cidr-block {}", deny.family.world()),
        Family::V6 => format!("--ipv6-cidr-block {}", deny.family.world()),
    };
    format!(
        "aws ec2 create-network-acl-entry --region {region} --network-acl-id {acl_id} --ingress --rule-number {} --protocol {} --port-range From={port},To={port} {source} --rule-action deny",
        deny.rule_number,
        deny.transport.number(),
        port = deny.port,
    )
}

/// The inbound entries of `acl` in the form [`rules`] reads (the `*` rule included: it denies).
fn entries_of(acl: &NetworkAcl) -> Vec<Entry> {
    acl.entries()
        .iter()
        .filter(|e| e.egress() == Some(false))
        .filter_map(|e| {
            let (family, source) = match (e.cidr_block(), e.ipv6_cidr_block()) {
                (Some(v4), _) => (Family::V4, v4),
                (None, Some(v6)) => (Family::V6, v6),
                (None, None) => return None,
            };
            Some(Entry {
                rule_number: e.rule_number()?,
                protocol: e.protocol().unwrap_or("-1").to_string(),
                ports: e.port_range().and_then(|r| Some((r.from()?, r.to()?))),
                family,
                source: source.to_string(),
                allow: e.rule_action() == Some(&RuleAction::Allow),
            })
        })
        .collect()
}

fn deny_opted_in(baseline: &Baseline) -> bool {
    baseline.nacl_admin_ports.as_ref().is_some_and(|settings| settings.deny_open_admin_ports)
}

#[async_trait]
impl Control for NaclAdminPorts {
    type State = NaclState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.nacl_admin_ports.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        format!("{RESOURCE_PREFIX}*")
    }

    fn fix(&self, baseline: &Baseline) -> Fix {
        if deny_opted_in(baseline) {
            Fix::Automatic
        } else {
            Fix::Manual
        }
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<NaclState, AwsError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let acls: Vec<NetworkAcl> =
            client.describe_network_acls().into_paginator().items().send().try_collect().await.named("ec2:DescribeNetworkAcls")?;
        let mut state = NaclState::default();
        for acl in &acls {
            let Some(id) = acl.network_acl_id() else { continue };
            let entries = entries_of(acl);
            let owner = acl.owner_id().filter(|owner| *owner != ctx.caller.account_id);
            state.acls.insert(
                id.to_string(),
                Acl {
                    vpc: acl.vpc_id().unwrap_or_default().to_string(),
                    owned_by: owner.map(str::to_string),
                    open_to_internet: rules::open_ports(&entries),
                    entries,
                },
            );
        }
        Ok(state)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &NaclState, _facts: &Facts) -> NaclState {
        let acls = observed.acls.iter().map(|(id, acl)| (id.clone(), Acl { open_to_internet: BTreeSet::new(), ..acl.clone() })).collect();
        NaclState { acls }
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &NaclState, desired: &NaclState) -> Vec<Part> {
        if observed.acls.is_empty() {
            return vec![Part { resource: "(no network ACL)".into(), observed: Value::Null, desired: Value::Null, action: Action::Update, fix: None }];
        }
        observed
            .acls
            .iter()
            .map(|(id, acl)| {
                // The plan is shown on both sides: it explains the finding, it is not compared.
                let plan = plan_value(acl);
                let mut observed = json!(acl);
                let mut wanted = json!(desired.acls[id]);
                observed["closing_entries"] = plan.clone();
                wanted["closing_entries"] = plan;
                let part = Part { resource: format!("{RESOURCE_PREFIX}{id}"), observed, desired: wanted, action: Action::Update, fix: None };
                match closing_plan(acl) {
                    Err(_) => part.with_fix(Fix::Manual),
                    Ok(_) => part,
                }
            })
            .collect()
    }

    fn skip_reason(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let owner = part.observed.get("owned_by")?.as_str()?;
        Some(format!("owned by account {owner} (a shared VPC's network ACL): only its owner can change it, and the owner's run covers it"))
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let acl_id = part.resource.strip_prefix(RESOURCE_PREFIX)?;
        let plan = part.observed.get("closing_entries")?;
        if let Some(no_room) = plan.get("no_room").and_then(Value::as_str) {
            return Some(format!(
                "{no_room}: renumber the entries of {acl_id} (aws ec2 replace-network-acl-entry) or narrow the allow entry's source, \
                 so that the internet no longer reaches 22 and 3389 (aws ec2 describe-network-acls --region {} --network-acl-ids {acl_id})",
                target.region
            ));
        }
        let denies: Vec<Deny> = serde_json::from_value(plan.clone()).ok()?;
        let commands: Vec<String> = denies.iter().map(|deny| create_command(target.region.as_str(), acl_id, deny)).collect();
        let opt_in = if deny_opted_in(ctx.baseline) { String::new() } else { format!("; or set {SETTINGS_KEY}: true and run mamori apply --only vpc.nacl-admin-ports") };
        Some(format!(
            "make sure nobody needs SSH or RDP from the internet through this ACL (Session Manager replaces both), then add deny entries just ahead of the open one: {}{opt_in}",
            commands.join(" && ")
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &NaclState, _desired: &NaclState) -> Result<(), ControlError> {
        if !deny_opted_in(ctx.baseline) {
            return Ok(());
        }
        let client = ctx.aws.ec2(target.region.as_str());
        let mut failures = Vec::new();
        for (id, acl) in observed.acls.iter().filter(|(_, acl)| acl.owned_by.is_none() && !acl.open_to_internet.is_empty()) {
            // An ACL without room ahead of its open entry is a manual finding: nothing to write.
            let Ok(denies) = closing_plan(acl) else { continue };
            let mut closed = true;
            for deny in denies {
                let request = client
                    .create_network_acl_entry()
                    .network_acl_id(id)
                    .egress(false)
                    .rule_number(deny.rule_number)
                    .protocol(deny.transport.number())
                    .port_range(PortRange::builder().from(deny.port).to(deny.port).build())
                    .rule_action(RuleAction::Deny);
                let request = match deny.family {
                    Family::V4 => request.cidr_block(deny.family.world()),
                    Family::V6 => request.ipv6_cidr_block(deny.family.world()),
                };
                if let Err(e) = request.send().await.named("ec2:CreateNetworkAclEntry") {
                    failures.push(format!("{id}: {e}"));
                    closed = false;
                    break;
                }
            }
            if closed {
                tracing::info!(region = %target.region, acl = %id, "denied the internet on the administration ports");
            }
        }
        // One ACL that fails does not stop the others; every failure is reported.
        match failures.is_empty() {
            true => Ok(()),
            false => Err(ControlError::Precondition(failures.join("; "))),
        }
    }
}
