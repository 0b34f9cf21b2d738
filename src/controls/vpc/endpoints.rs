//! `vpc.endpoints`: private network paths to AWS in every VPC in scope.
//!
//! In each baseline region, for each VPC in scope (every non-default VPC unless the baseline selects
//! by `ids` or `tags`; default VPCs only with `include_default_vpc: true` or by id, because their
//! subnets are all public by design and endpoints there would be billed in every region without giving
//! any workload a private path):
//!
//! - an **S3 gateway endpoint** on every route table of the VPC. An existing S3 gateway endpoint,
//!   created by anyone, is reused and extended with the missing route tables; route tables already on it
//!   are never removed and no second endpoint is created. A route table already served by another S3
//!   gateway endpoint of the VPC counts as covered (AWS allows one S3 route per table).
//! - **interface endpoints** for the baseline's services (default `ssm, ssmmessages, ec2messages, ec2,
//!   kms, monitoring, logs`) with private DNS on, in one subnet per availability zone the service is
//!   offered in, chosen among the subnets that can hold an endpoint network interface ([`subnets`]:
//!   an IPv4 range and a free IPv4 address, private ones preferred), with the endpoint security group
//!   as their only group. An existing endpoint for the service is reused and corrected (subnets,
//!   security group, private DNS), never duplicated. A zone where no subnet qualifies is a `manual`
//!   finding of its own, `vpc-…/zone/<zone>`, naming each subnet's reason.
//! - the **endpoint security group** `mamori-vpc-endpoints`: inbound tcp 443 from each CIDR block of the
//!   VPC. Inbound rules someone added to it (a peered VPC, an on-premises range) are kept, unless the
//!   baseline sets `revoke_other_ingress: true`. Its outbound rules are left as they are: an interface
//!   endpoint never initiates connections.
//! - the VPC attributes `enableDnsSupport` and `enableDnsHostnames` on, without which AWS refuses
//!   private DNS on an interface endpoint.
//! - the **data perimeter** (`endpoint_policy`): with `own-account` or `own-organization`, every
//!   endpoint whose service supports endpoint policies gets the policy of a template that allows only
//!   principals of the account (`aws:PrincipalAccount`) or of its organization (`aws:PrincipalOrgID`,
//!   the organization's id read once per run from `organizations:DescribeOrganization`), so a
//!   credential of another account cannot move data through the VPC; the S3 gateway endpoint's policy
//!   also allows only the account's (organization's) buckets (`aws:ResourceAccount`,
//!   `aws:ResourceOrgID`) and the AWS buckets SSM Agent and the package repositories read
//!   (`templates/vpc-endpoint-*.json`, `templates/vpc-s3-endpoint-*.json`). Whether a service supports
//!   endpoint policies is read from `VpcEndpointPolicySupported` of `DescribeVpcEndpointServices` in
//!   each region ("Control access to VPC endpoints using endpoint policies", AWS PrivateLink Guide:
//!   a service without support allows full access, and takes no policy); see
//!   [`crate::baseline::endpoint_services`] for what that answers for the default services. The
//!   policy is replaced, not merged: an endpoint policy is an allow-list, and a merged allow-all would
//!   keep everything open. A policy someone else wrote is replaced only when the baseline sets
//!   `endpoint_policy` (not `keep`), and the plan shows it before and after. With `keep`, no endpoint
//!   policy is read or written.
//!
//! Two cases are `skipped`, with the reason, and never written: a VPC another account shares into this
//! one (`vpc-…`, "owned by account N": only the owner can change it, and the owner's run covers it),
//! and a service whose private DNS name a private hosted zone of someone else's already answers in the
//! VPC ([`private_dns`]: centralised endpoints; AWS would refuse the endpoint). Every other service of
//! that VPC is still made: components are written one by one and a failing one stops no other.
//!
//! Service names come from `ec2:DescribeVpcEndpointServices` (the service whose name ends in
//! `.<region>.<short name>`, owned by Amazon, of the right type), never built from a template, so
//! other partitions work. One finding per VPC and component: `vpc-…/dns`,
//! `vpc-…/security-group/mamori-vpc-endpoints`, `vpc-…/gateway/s3`, `vpc-…/interface/<service>`.
//!
//! Reads per region ([`observe`]): one `DescribeVpcs`; when a VPC this account owns is in scope, one
//! each of `DescribeVpcEndpointServices`, `DescribeVpcEndpoints`, `DescribeSubnets`,
//! `DescribeRouteTables`, `DescribeSecurityGroups` (more only past a page), plus two
//! `DescribeVpcAttribute` per owned VPC, plus one `route53:ListHostedZonesByVPC` per VPC where a
//! service still lacks an endpoint with private DNS (none in a converged VPC).
//!
//! Nothing here deletes an endpoint, a route or a subnet association of a gateway endpoint. The S3
//! gateway endpoint ids of the VPCs in scope are published (see [`Facts::s3_gateway_endpoints`]) for
//! `vpc.s3-bucket-vpce-only`.

pub mod converge;
pub mod observe;
pub mod private_dns;
pub mod subnets;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::AwsError;
use crate::baseline::{Baseline, VpcEndpoints};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use crate::inventory::security_groups::rules::{Direction, Peer, Rule};
use crate::least_privilege::{arn, Access, Grant};

/// Name of the endpoint security group mamori creates (one per VPC).
pub const SECURITY_GROUP: &str = "mamori-vpc-endpoints";

static META: ControlMeta = ControlMeta {
    id: "vpc.endpoints",
    source: file!(),
    title: "VPC endpoints: S3 gateway on every route table, interface endpoints with private DNS, 443 from the VPC",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &["EC2.10", "EC2.57"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&[
            "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcEndpointServices", "ec2:DescribeVpcEndpoints",
            "route53:ListHostedZonesByVPC",
        ]),
        Grant::on(&["ec2:DescribeVpcAttribute"], &[arn::VPC]),
    ],
    shared: &[crate::inventory::vpc_networks::READS, crate::inventory::organization::READS],
    apply: &[
        Grant::on(&["ec2:CreateSecurityGroup"], &[arn::SECURITY_GROUP, arn::VPC]),
        Grant::on(&["ec2:CreateVpcEndpoint"], &[arn::VPC, arn::VPC_ENDPOINT, arn::ROUTE_TABLE, arn::SECURITY_GROUP, arn::SUBNET]),
        Grant::on(&["ec2:ModifyVpcEndpoint"], &[arn::VPC_ENDPOINT, arn::ROUTE_TABLE, arn::SECURITY_GROUP, arn::SUBNET]),
        Grant::on(&["ec2:ModifyVpcAttribute"], &[arn::VPC]),
        Grant::on(&["route53:AssociateVPCWithHostedZone"], &[arn::HOSTED_ZONE]),
        crate::inventory::security_groups::writes::AUTHORIZE_INGRESS,
        crate::inventory::security_groups::writes::REVOKE_INGRESS.when(|baseline| baseline.vpc_endpoints.as_ref().is_some_and(|v| v.revoke_other_ingress)),
    ],
};

pub struct VpcEndpointsControl;

/// Every VPC in scope in one region.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EndpointsState {
    /// The VPCs this account owns, by id.
    pub vpcs: BTreeMap<String, VpcState>,
    /// VPCs another account shares into this one, with their owner's account id.
    pub shared: BTreeMap<String, String>,
    /// The account's organization (`o-…`), read only for `endpoint_policy: own-organization`.
    pub organization_id: Option<String>,
}

/// One VPC: what it is made of (CIDRs, route tables, subnets, available services: inputs, copied into
/// the desired state) and its endpoint setup (compared).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VpcState {
    pub cidrs: Vec<String>,
    pub route_tables: BTreeSet<String>,
    pub subnets: Vec<Subnet>,
    pub dns: Dns,
    pub security_group: SecurityGroup,
    pub s3_gateway: Gateway,
    /// Other S3 gateway endpoints of the VPC (created by someone else): their route tables count as
    /// covered, and their ids are published too.
    pub other_s3_gateways: Vec<Gateway>,
    /// One entry per interface service of the baseline.
    pub interfaces: BTreeMap<String, Interface>,
    /// Endpoint services offered in the region, by short name (`s3` is the gateway service).
    pub services: BTreeMap<String, Service>,
    /// Services whose private DNS name someone else's private hosted zone already holds in this VPC.
    pub dns_conflicts: BTreeMap<String, private_dns::Conflict>,
    /// In a desired state: zones where some service's endpoint can have no network interface.
    pub unusable_zones: BTreeMap<String, subnets::UnusableZone>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subnet {
    pub id: String,
    pub zone: String,
    /// No route to an internet gateway.
    pub private: bool,
    /// Has an IPv4 range (an IPv6-only subnet has none).
    pub ipv4: bool,
    /// Free IPv4 addresses (`AvailableIpAddressCount`).
    pub free_ipv4: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dns {
    pub enable_dns_support: bool,
    pub enable_dns_hostnames: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub zones: BTreeSet<String>,
    /// The name private DNS answers for (`ssm.us-east-1.amazonaws.com`), when the service has one.
    pub private_dns_name: Option<String>,
    /// The service takes an endpoint policy (`VpcEndpointPolicySupported`).
    pub policy_supported: bool,
}

/// The endpoint security group; `group_id` is `None` until it exists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecurityGroup {
    pub group_id: Option<String>,
    pub ingress: BTreeSet<Rule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Gateway {
    pub endpoint_id: Option<String>,
    pub route_tables: BTreeSet<String>,
    /// The endpoint policy as compared ([`comparable_policy`]); only read (and shown) when the baseline
    /// sets `endpoint_policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

/// The policy language version every endpoint policy is written with.
const POLICY_VERSION: &str = "2012-10-17";

/// An endpoint policy as compared: normalized, without `Version` (which `DescribeVpcEndpoints` does
/// not return on AWS).
fn comparable_policy(policy: &Value) -> Value {
    let mut policy = crate::policy::normalize(policy);
    if let Value::Object(map) = &mut policy {
        map.remove("Version");
    }
    policy
}

/// The document to write for a compared policy: the same, with its `Version`.
pub fn policy_document(policy: &Value) -> String {
    let mut document = policy.clone();
    if let Value::Object(map) = &mut document {
        map.insert("Version".into(), Value::from(POLICY_VERSION));
    }
    document.to_string()
}

/// The rendered endpoint policies of the baseline's data perimeter, as compared.
#[derive(Clone, Debug, PartialEq)]
pub struct PerimeterPolicies {
    /// For every interface endpoint whose service supports endpoint policies.
    pub interface: Value,
    /// For the S3 gateway endpoint.
    pub s3: Value,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub endpoint_id: Option<String>,
    pub private_dns: bool,
    pub subnets: BTreeSet<String>,
    /// Group ids; in a desired state, [`SECURITY_GROUP`] stands for the group still to be created.
    pub security_groups: BTreeSet<String>,
    /// The endpoint policy as compared; only read (and shown) when the baseline sets `endpoint_policy`
    /// and the service supports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a VpcEndpoints {
    ctx.baseline.vpc_endpoints.as_ref().expect("the engine only runs enabled controls")
}

/// The desired state of one VPC, from what it is made of; `perimeter` holds the endpoint policies when
/// the baseline sets `endpoint_policy`. Pure.
pub fn desired_vpc(observed: &VpcState, settings: &VpcEndpoints, perimeter: Option<&PerimeterPolicies>) -> VpcState {
    let group_ref = observed.security_group.group_id.clone().unwrap_or_else(|| SECURITY_GROUP.to_string());
    let covered_elsewhere: BTreeSet<&String> = observed.other_s3_gateways.iter().flat_map(|g| &g.route_tables).collect();
    let mut gateway_tables = observed.s3_gateway.route_tables.clone();
    gateway_tables.extend(observed.route_tables.iter().filter(|t| !covered_elsewhere.contains(t)).cloned());

    // A service whose private DNS name someone else's zone holds stays as it is (skipped).
    let current = |short: &String| observed.interfaces.get(short).cloned().unwrap_or_default();
    let blocked = |short: &String| observed.dns_conflicts.contains_key(short) && !current(short).private_dns;
    let placed: Vec<&String> = settings.interface_services.iter().filter(|short| !blocked(short)).collect();
    let currents: Vec<(&String, Interface)> = placed.iter().map(|short| (*short, current(short))).collect();
    let requests: Vec<subnets::Request> = currents
        .iter()
        .map(|(short, interface)| subnets::Request {
            service: short.as_str(),
            zones: observed.services.get(*short).map(|s| &s.zones),
            current: &interface.subnets,
        })
        .collect();
    let plan = subnets::plan(&observed.subnets, &requests, settings.subnets);
    let interfaces = settings
        .interface_services
        .iter()
        .map(|short| {
            let current = current(short);
            let takes_policy = observed.services.get(short).is_some_and(|s| s.policy_supported);
            let wanted = match plan.subnets.get(short) {
                Some(subnets) => Interface {
                    endpoint_id: current.endpoint_id.clone(),
                    private_dns: true,
                    subnets: subnets.clone(),
                    security_groups: BTreeSet::from([group_ref.clone()]),
                    policy: perimeter.filter(|_| takes_policy).map(|p| p.interface.clone()).or(current.policy),
                },
                None => current,
            };
            (short.clone(), wanted)
        })
        .collect();

    let mut ingress: BTreeSet<Rule> = observed.cidrs.iter().map(|c| Rule::tcp(Direction::Inbound, 443, Peer::cidr(c))).collect();
    if !settings.revoke_other_ingress {
        ingress.extend(observed.security_group.ingress.iter().cloned());
    }
    VpcState {
        dns: Dns { enable_dns_support: true, enable_dns_hostnames: true },
        security_group: SecurityGroup { group_id: observed.security_group.group_id.clone(), ingress },
        s3_gateway: Gateway {
            endpoint_id: observed.s3_gateway.endpoint_id.clone(),
            route_tables: gateway_tables,
            policy: perimeter.map(|p| p.s3.clone()).or_else(|| observed.s3_gateway.policy.clone()),
        },
        interfaces,
        unusable_zones: plan.unusable_zones,
        ..observed.clone()
    }
}

/// The finding of a VPC another account owns: nothing of it is evaluated.
fn shared_part(vpc_id: &str, owner: &str) -> Part {
    let state = json!({ "owned_by": owner });
    Part { resource: vpc_id.to_string(), observed: state.clone(), desired: state, action: Action::Update, fix: None }
}

fn vpc_parts(vpc_id: &str, observed: &VpcState, desired: &VpcState, preference: crate::baseline::SubnetPreference) -> Vec<Part> {
    let mut parts = vec![
        Part { resource: format!("{vpc_id}/dns"), observed: json!(observed.dns), desired: json!(desired.dns), action: Action::Update, fix: None },
        Part {
            resource: format!("{vpc_id}/security-group/{SECURITY_GROUP}"),
            observed: json!(observed.security_group),
            desired: json!(desired.security_group),
            action: if observed.security_group.group_id.is_some() { Action::Update } else { Action::Create },
            fix: None,
        },
        Part {
            resource: format!("{vpc_id}/gateway/s3"),
            observed: json!(observed.s3_gateway),
            desired: json!(desired.s3_gateway),
            action: if observed.s3_gateway.endpoint_id.is_some() { Action::Update } else { Action::Create },
            fix: None,
        },
    ];
    for (short, wanted) in &desired.interfaces {
        let current = observed.interfaces.get(short).cloned().unwrap_or_default();
        let (mut observed_value, mut desired_value) = (json!(current), json!(wanted));
        if let Some(conflict) = observed.dns_conflicts.get(short).filter(|_| !current.private_dns) {
            observed_value["private_dns_served_by"] = json!(conflict);
            desired_value["private_dns_served_by"] = json!(conflict);
        }
        parts.push(Part {
            resource: format!("{vpc_id}/interface/{short}"),
            observed: observed_value,
            desired: desired_value,
            action: if current.endpoint_id.is_some() { Action::Update } else { Action::Create },
            fix: None,
        });
    }
    for (zone, unusable) in &desired.unusable_zones {
        parts.push(
            Part {
                resource: format!("{vpc_id}/zone/{zone}"),
                observed: json!({ "endpoint_subnet": null, "subnets": unusable.subnets, "services": unusable.services }),
                desired: json!({ "endpoint_subnet": subnets::wanted(preference), "subnets": unusable.subnets, "services": unusable.services }),
                action: Action::Update,
                fix: None,
            }
            .with_fix(Fix::Manual),
        );
    }
    parts
}

#[async_trait]
impl Control for VpcEndpointsControl {
    type State = EndpointsState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.vpc_endpoints.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "vpcs".into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<EndpointsState, AwsError> {
        observe::region(ctx, target).await
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &EndpointsState, _facts: &Facts) -> EndpointsState {
        let settings = settings(ctx);
        let organization_id = observed.organization_id.as_deref().unwrap_or_default();
        let vars = ctx.vars(&target.region).for_organization(organization_id);
        let perimeter = settings.endpoint_policy.as_ref().map(|policy| PerimeterPolicies {
            interface: comparable_policy(&ctx.baseline.templates.render(&policy.interface_template, &vars)),
            s3: comparable_policy(&ctx.baseline.templates.render(&policy.s3_template, &vars)),
        });
        EndpointsState {
            vpcs: observed.vpcs.iter().map(|(id, vpc)| (id.clone(), desired_vpc(vpc, settings, perimeter.as_ref()))).collect(),
            shared: observed.shared.clone(),
            organization_id: observed.organization_id.clone(),
        }
    }

    fn parts(&self, ctx: &Context<'_>, _target: &Target, observed: &EndpointsState, desired: &EndpointsState) -> Vec<Part> {
        if observed.vpcs.is_empty() && observed.shared.is_empty() {
            return vec![Part { resource: "(no VPC in scope)".into(), observed: Value::Null, desired: Value::Null, action: Action::Update, fix: None }];
        }
        let preference = settings(ctx).subnets;
        let owned = observed.vpcs.iter().flat_map(|(id, vpc)| vpc_parts(id, vpc, &desired.vpcs[id], preference));
        let shared = observed.shared.iter().map(|(id, owner)| shared_part(id, owner));
        owned.chain(shared).collect()
    }

    fn skip_reason(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        if let Some(owner) = part.observed.get("owned_by").and_then(Value::as_str) {
            return Some(format!(
                "owned by account {owner}, which shares it into this account: only the owner can change its attributes, route tables and endpoints, and the owner's run covers it"
            ));
        }
        let conflict: private_dns::Conflict = serde_json::from_value(part.observed.get("private_dns_served_by")?.clone()).ok()?;
        Some(format!(
            "private DNS for {} is already answered in this VPC by private hosted zone {} of account {} (centralised endpoints): AWS refuses an endpoint with private DNS here, so none is created; the zone's owner provides the path",
            conflict.name, conflict.hosted_zone, conflict.owner
        ))
    }

    fn manual_steps(&self, _ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let (vpc_id, zone) = part.resource.split_once("/zone/")?;
        Some(format!(
            "the endpoints of {vpc_id} have no network interface in {zone} (instances there reach them in other zones): free IPv4 addresses in one of its private subnets, \
             or add one (aws ec2 create-subnet --region {region} --vpc-id {vpc_id} --availability-zone {zone} --cidr-block <a free range of the VPC>), then run mamori apply --only vpc.endpoints",
            region = target.region
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &EndpointsState, desired: &EndpointsState) -> Result<(), ControlError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let mut failures = Vec::new();
        for (id, vpc) in &observed.vpcs {
            if desired.vpcs.get(id) != Some(vpc) {
                let token = |service: &str| ctx.aws.client_token(&["ec2:CreateVpcEndpoint", target.region.as_str(), id, service]);
                failures.extend(converge::vpc(&client, &token, id, vpc, &desired.vpcs[id]).await);
            }
        }
        // One component that fails does not stop the others; every failure is reported.
        match failures.is_empty() {
            true => Ok(()),
            false => Err(ControlError::Precondition(failures.join("; "))),
        }
    }

    fn publish(&self, target: &Target, observed: &EndpointsState, facts: &mut Facts) {
        let ids: Vec<String> = observed
            .vpcs
            .values()
            .flat_map(|vpc| std::iter::once(&vpc.s3_gateway).chain(&vpc.other_s3_gateways))
            .filter_map(|g| g.endpoint_id.clone())
            .collect();
        facts.s3_gateway_endpoints.insert(target.region.clone(), ids);
    }
}

#[cfg(test)]
mod tests;
