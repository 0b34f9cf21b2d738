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
//! - **interface endpoints** for the baseline's services (default `ssm, ssmmessages, ec2messages, kms,
//!   monitoring, logs`) with private DNS on, in one subnet per availability zone the service is offered
//!   in, preferring private subnets (no route to an internet gateway), with the endpoint security group
//!   as their only group. An existing endpoint for the service is reused and corrected (subnets, security
//!   group, private DNS), never duplicated; a subnet it already uses in a zone is kept when it qualifies.
//! - the **endpoint security group** `mamori-vpc-endpoints`: inbound tcp 443 from each CIDR block of the
//!   VPC and nothing else (other inbound rules on this group, mamori's own, are revoked). Its outbound
//!   rules are left as they are: an interface endpoint never initiates connections.
//! - the VPC attributes `enableDnsSupport` and `enableDnsHostnames` on, without which AWS refuses
//!   private DNS on an interface endpoint.
//! - optionally (`s3_endpoint_policy`, off by default), the S3 gateway endpoint's policy set to a
//!   template: `vpc-s3-endpoint-own-account` (`aws:ResourceAccount`) or
//!   `vpc-s3-endpoint-own-organization` (`aws:ResourceOrgID`), the exfiltration guard, both keeping the
//!   AWS buckets SSM Agent and the package repositories need. The policy is replaced, not merged: an
//!   endpoint policy is an allow-list, and a merged allow-all would keep everything open.
//!
//! Service names come from `ec2:DescribeVpcEndpointServices` (the service whose name ends in
//! `.<region>.<short name>`, owned by Amazon, of the right type), never built from a template, so
//! other partitions work. One finding per VPC and component: `vpc-…/dns`,
//! `vpc-…/security-group/mamori-vpc-endpoints`, `vpc-…/gateway/s3`, `vpc-…/interface/<service>`.
//!
//! Reads per region: one `DescribeVpcs`; when a VPC is in scope, one each of
//! `DescribeVpcEndpointServices`, `DescribeVpcEndpoints`, `DescribeSubnets`, `DescribeRouteTables`,
//! `DescribeSecurityGroups` (more only past a page), plus two `DescribeVpcAttribute` per VPC.
//!
//! Nothing here deletes an endpoint, a route or a subnet association of a gateway endpoint. The S3
//! gateway endpoint ids of the VPCs in scope are published (see [`Facts::s3_gateway_endpoints`]) for
//! `vpc.s3-bucket-vpce-only`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, IpPermission, ServiceType, VpcEndpointType};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, SubnetPreference, VpcEndpoints, VpcScope};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use crate::inventory::security_groups::writes;
use crate::inventory::security_groups::rules::{Direction, Peer, Rule};
use crate::inventory::vpc_networks::{cidr_blocks, filter, FILTER_VALUES};

/// Name of the endpoint security group mamori creates (one per VPC).
pub const SECURITY_GROUP: &str = "mamori-vpc-endpoints";

static META: ControlMeta = ControlMeta {
    id: "vpc.endpoints",
    source: file!(),
    title: "VPC endpoints: S3 gateway on every route table, interface endpoints with private DNS, 443 from the VPC only",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &["EC2.10", "EC2.57"],
    depends_on: &[],
};

pub struct VpcEndpointsControl;

/// Every VPC in scope in one region, by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EndpointsState {
    pub vpcs: BTreeMap<String, VpcState>,
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subnet {
    pub id: String,
    pub zone: String,
    /// No route to an internet gateway.
    pub private: bool,
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
}

/// The endpoint security group; `group_id` is `None` until it exists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecurityGroup {
    pub group_id: Option<String>,
    pub ingress: BTreeSet<Rule>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Gateway {
    pub endpoint_id: Option<String>,
    pub route_tables: BTreeSet<String>,
    /// The endpoint policy, normalized and without its `Version` (which `DescribeVpcEndpoints` does not
    /// return on AWS); only read (and shown) when the baseline sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// In a desired state: the full document to write (with its `Version`). Not compared.
    #[serde(skip)]
    pub policy_text: Option<String>,
}

impl PartialEq for Gateway {
    fn eq(&self, other: &Gateway) -> bool {
        (&self.endpoint_id, &self.route_tables, &self.policy) == (&other.endpoint_id, &other.route_tables, &other.policy)
    }
}

impl Eq for Gateway {}

/// An endpoint policy as compared: normalized, without `Version`.
fn comparable_policy(policy: &Value) -> Value {
    let mut policy = crate::policy::normalize(policy);
    if let Value::Object(map) = &mut policy {
        map.remove("Version");
    }
    policy
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub endpoint_id: Option<String>,
    pub private_dns: bool,
    pub subnets: BTreeSet<String>,
    /// Group ids; in a desired state, [`SECURITY_GROUP`] stands for the group still to be created.
    pub security_groups: BTreeSet<String>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a VpcEndpoints {
    ctx.baseline.vpc_endpoints.as_ref().expect("the engine only runs enabled controls")
}

/// The desired state of one VPC, from what it is made of; `s3_policy` is the rendered S3 endpoint
/// policy when the baseline sets one. Pure.
pub fn desired_vpc(observed: &VpcState, settings: &VpcEndpoints, s3_policy: Option<&Value>) -> VpcState {
    let group_ref = observed.security_group.group_id.clone().unwrap_or_else(|| SECURITY_GROUP.to_string());
    let covered_elsewhere: BTreeSet<&String> = observed.other_s3_gateways.iter().flat_map(|g| &g.route_tables).collect();
    let mut gateway_tables = observed.s3_gateway.route_tables.clone();
    gateway_tables.extend(observed.route_tables.iter().filter(|t| !covered_elsewhere.contains(t)).cloned());
    let interfaces = settings
        .interface_services
        .iter()
        .map(|short| {
            let current = observed.interfaces.get(short).cloned().unwrap_or_default();
            let zones = observed.services.get(short).map(|s| &s.zones);
            let subnets = choose_subnets(&observed.subnets, zones, &current.subnets, settings.subnets);
            let wanted = Interface {
                endpoint_id: current.endpoint_id.clone(),
                private_dns: true,
                subnets,
                security_groups: BTreeSet::from([group_ref.clone()]),
            };
            (short.clone(), wanted)
        })
        .collect();
    VpcState {
        dns: Dns { enable_dns_support: true, enable_dns_hostnames: true },
        security_group: SecurityGroup {
            group_id: observed.security_group.group_id.clone(),
            ingress: observed.cidrs.iter().map(|c| Rule::tcp(Direction::Inbound, 443, Peer::cidr(c))).collect(),
        },
        s3_gateway: Gateway {
            endpoint_id: observed.s3_gateway.endpoint_id.clone(),
            route_tables: gateway_tables,
            policy: s3_policy.map(comparable_policy),
            policy_text: s3_policy.map(Value::to_string),
        },
        interfaces,
        ..observed.clone()
    }
}

/// One subnet per availability zone (of `zones`, when the service lists them), by `preference`; a
/// subnet `current` already uses is kept when it qualifies, otherwise the lowest id wins.
pub fn choose_subnets(subnets: &[Subnet], zones: Option<&BTreeSet<String>>, current: &BTreeSet<String>, preference: SubnetPreference) -> BTreeSet<String> {
    let mut by_zone: BTreeMap<&str, Vec<&Subnet>> = BTreeMap::new();
    for subnet in subnets.iter().filter(|s| zones.is_none_or(|z| z.is_empty() || z.contains(&s.zone))) {
        by_zone.entry(&subnet.zone).or_default().push(subnet);
    }
    let mut chosen = BTreeSet::new();
    for candidates in by_zone.values() {
        let private: Vec<&&Subnet> = candidates.iter().filter(|s| s.private).collect();
        let eligible: Vec<&&Subnet> = match preference {
            SubnetPreference::PreferPrivate if !private.is_empty() => private,
            SubnetPreference::PrivateOnly => private,
            _ => candidates.iter().collect(),
        };
        let pick = eligible.iter().find(|s| current.contains(&s.id)).or_else(|| eligible.iter().min_by(|a, b| a.id.cmp(&b.id)));
        if let Some(subnet) = pick {
            chosen.insert(subnet.id.clone());
        }
    }
    chosen
}

fn vpc_parts(vpc_id: &str, observed: &VpcState, desired: &VpcState) -> Vec<Part> {
    let mut parts = vec![
        Part {
            resource: format!("{vpc_id}/dns"),
            observed: json!(observed.dns),
            desired: json!(desired.dns),
            action: Action::Update,
            fix: None,
        },
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
        parts.push(Part {
            resource: format!("{vpc_id}/interface/{short}"),
            observed: json!(current),
            desired: json!(wanted),
            action: if current.endpoint_id.is_some() { Action::Update } else { Action::Create },
            fix: None,
        });
    }
    parts
}

/// Endpoint states that no longer route anything.
fn is_gone(state: Option<&aws_sdk_ec2::types::State>) -> bool {
    state.is_some_and(|s| matches!(s.as_str().to_ascii_lowercase().as_str(), "deleting" | "deleted" | "rejected" | "failed" | "expired"))
}

async fn in_scope_vpcs(client: &aws_sdk_ec2::Client, scope: &VpcScope) -> Result<Vec<aws_sdk_ec2::types::Vpc>, AwsError> {
    let mut filters: Vec<Filter> = scope.tags.iter().map(|(k, v)| filter(&format!("tag:{k}"), [v.clone()])).collect();
    let batches: Vec<Option<&[String]>> =
        if scope.ids.is_empty() { vec![None] } else { scope.ids.chunks(FILTER_VALUES).map(Some).collect() };
    let mut vpcs = Vec::new();
    for batch in batches {
        let mut batch_filters = filters.clone();
        if let Some(ids) = batch {
            batch_filters.push(filter("vpc-id", ids.iter().cloned()));
        }
        let found: Vec<_> = client
            .describe_vpcs()
            .set_filters((!batch_filters.is_empty()).then_some(batch_filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .named("ec2:DescribeVpcs")?;
        vpcs.extend(found);
    }
    filters.clear();
    vpcs.retain(|vpc| {
        let id = vpc.vpc_id().unwrap_or_default();
        !vpc.is_default().unwrap_or(false) || scope.include_default_vpc || scope.ids.iter().any(|i| i == id)
    });
    vpcs.sort_by(|a, b| a.vpc_id().cmp(&b.vpc_id()));
    vpcs.dedup_by(|a, b| a.vpc_id() == b.vpc_id());
    Ok(vpcs)
}

async fn endpoint_services(client: &aws_sdk_ec2::Client) -> Result<Vec<aws_sdk_ec2::types::ServiceDetail>, AwsError> {
    let mut details = Vec::new();
    let mut token = None;
    loop {
        let out = client.describe_vpc_endpoint_services().set_next_token(token).send().await.named("ec2:DescribeVpcEndpointServices")?;
        details.extend(out.service_details().iter().cloned());
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(details),
        }
    }
}

/// The Amazon service whose name ends in `.<region>.<short>`, of `kind`.
fn find_service(details: &[aws_sdk_ec2::types::ServiceDetail], region: &str, short: &str, kind: &ServiceType) -> Option<Service> {
    let suffix = format!(".{region}.{short}");
    details
        .iter()
        .filter(|d| d.owner().is_none_or(|o| o == "amazon"))
        .filter(|d| d.service_type().iter().any(|t| t.service_type() == Some(kind)))
        .find(|d| d.service_name().is_some_and(|n| n.ends_with(&suffix)))
        .map(|d| Service { name: d.service_name().unwrap_or_default().to_string(), zones: d.availability_zones().iter().cloned().collect() })
}

fn unavailable(region: &str, what: String) -> AwsError {
    AwsError {
        operation: "ec2:DescribeVpcEndpointServices".into(),
        code: None,
        message: format!("{what} is not offered in {region}"),
        request_id: None,
        status: None,
    }
}

async fn dns_attributes(client: &aws_sdk_ec2::Client, vpc_id: String) -> Result<(String, Dns), AwsError> {
    use aws_sdk_ec2::types::VpcAttributeName;
    let read = |attribute: VpcAttributeName| client.describe_vpc_attribute().vpc_id(&vpc_id).attribute(attribute).send();
    let (support, hostnames) = futures::try_join!(
        async { read(VpcAttributeName::EnableDnsSupport).await.named("ec2:DescribeVpcAttribute") },
        async { read(VpcAttributeName::EnableDnsHostnames).await.named("ec2:DescribeVpcAttribute") },
    )?;
    let dns = Dns {
        enable_dns_support: support.enable_dns_support().and_then(|v| v.value()).unwrap_or(false),
        enable_dns_hostnames: hostnames.enable_dns_hostnames().and_then(|v| v.value()).unwrap_or(false),
    };
    Ok((vpc_id, dns))
}

async fn observe_region(ctx: &Context<'_>, target: &Target) -> Result<EndpointsState, AwsError> {
    let region = target.region.as_str();
    let settings = settings(ctx);
    let client = ctx.aws.ec2(region);
    let vpcs = in_scope_vpcs(&client, &settings.scope).await?;
    if vpcs.is_empty() {
        return Ok(EndpointsState::default());
    }
    let ids: Vec<String> = vpcs.iter().filter_map(|v| v.vpc_id()).map(str::to_string).collect();
    let by_vpc = |ids: &[String]| filter("vpc-id", ids.iter().cloned());
    let subnets = async {
        let mut all = Vec::new();
        for batch in ids.chunks(FILTER_VALUES) {
            let found: Vec<_> =
                client.describe_subnets().filters(by_vpc(batch)).into_paginator().items().send().try_collect().await.named("ec2:DescribeSubnets")?;
            all.extend(found);
        }
        Ok::<_, AwsError>(all)
    };
    let route_tables = async {
        let mut all = Vec::new();
        for batch in ids.chunks(FILTER_VALUES) {
            let found: Vec<_> = client
                .describe_route_tables()
                .filters(by_vpc(batch))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .named("ec2:DescribeRouteTables")?;
            all.extend(found);
        }
        Ok::<_, AwsError>(all)
    };
    let groups = async {
        let mut all = Vec::new();
        for batch in ids.chunks(FILTER_VALUES) {
            let found: Vec<_> = client
                .describe_security_groups()
                .filters(by_vpc(batch))
                .filters(filter("group-name", [SECURITY_GROUP.to_string()]))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .named("ec2:DescribeSecurityGroups")?;
            all.extend(found);
        }
        Ok::<_, AwsError>(all)
    };
    // Not filtered by VPC: a filter EC2 documents but emulators lack; one listing serves every VPC.
    let endpoints = async {
        let all: Result<Vec<_>, _> = client.describe_vpc_endpoints().into_paginator().items().send().try_collect().await.named("ec2:DescribeVpcEndpoints");
        all
    };
    let dns = stream::iter(ids.clone()).map(|id| dns_attributes(&client, id)).buffer_unordered(8).try_collect::<BTreeMap<String, Dns>>();
    let (services, endpoints, subnets, route_tables, groups, dns) =
        futures::try_join!(endpoint_services(&client), endpoints, subnets, route_tables, groups, dns)?;

    let mut offered = BTreeMap::new();
    offered.insert(
        "s3".to_string(),
        find_service(&services, region, "s3", &ServiceType::Gateway).ok_or_else(|| unavailable(region, "the S3 gateway endpoint service".into()))?,
    );
    for short in &settings.interface_services {
        let service = find_service(&services, region, short, &ServiceType::Interface)
            .ok_or_else(|| unavailable(region, format!("the interface endpoint service `{short}`")))?;
        offered.insert(short.clone(), service);
    }

    let mut state = EndpointsState::default();
    for vpc in &vpcs {
        let vpc_id = vpc.vpc_id().unwrap_or_default();
        let cidrs = cidr_blocks(vpc);

        let tables: Vec<_> = route_tables.iter().filter(|t| t.vpc_id() == Some(vpc_id)).collect();
        let public_table = |table: &aws_sdk_ec2::types::RouteTable| table.routes().iter().any(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-")));
        let main_public = tables.iter().find(|t| t.associations().iter().any(|a| a.main() == Some(true))).is_some_and(|t| public_table(t));
        let mut vpc_subnets: Vec<Subnet> = subnets
            .iter()
            .filter(|s| s.vpc_id() == Some(vpc_id))
            .map(|s| {
                let id = s.subnet_id().unwrap_or_default().to_string();
                let explicit = tables.iter().find(|t| t.associations().iter().any(|a| a.subnet_id() == Some(id.as_str())));
                let public = explicit.map_or(main_public, |t| public_table(t));
                Subnet { id, zone: s.availability_zone().unwrap_or_default().to_string(), private: !public }
            })
            .collect();
        vpc_subnets.sort_by(|a, b| a.id.cmp(&b.id));

        let group = groups.iter().find(|g| g.vpc_id() == Some(vpc_id) && g.group_name() == Some(SECURITY_GROUP));
        let security_group = group.map_or_else(SecurityGroup::default, |g| SecurityGroup {
            group_id: g.group_id().map(str::to_string),
            ingress: g.ip_permissions().iter().flat_map(|p| Rule::from_permission(Direction::Inbound, p)).collect(),
        });

        let mut live: Vec<_> = endpoints.iter().filter(|e| e.vpc_id() == Some(vpc_id) && !is_gone(e.state())).collect();
        live.sort_by(|a, b| a.vpc_endpoint_id().cmp(&b.vpc_endpoint_id()));
        let s3_name = &offered["s3"].name;
        let mut s3_gateways = live
            .iter()
            .filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway) && e.service_name() == Some(s3_name.as_str()))
            .map(|e| Gateway {
                endpoint_id: e.vpc_endpoint_id().map(str::to_string),
                route_tables: e.route_table_ids().iter().cloned().collect(),
                policy: None,
                policy_text: None,
            });
        let read_policy = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<Value>(t).ok()).map(|p| comparable_policy(&p));
        let mut s3_gateway = s3_gateways.next().unwrap_or_default();
        if settings.s3_endpoint_policy.is_some() {
            let current = live.iter().find(|e| e.vpc_endpoint_id().map(str::to_string) == s3_gateway.endpoint_id && s3_gateway.endpoint_id.is_some());
            s3_gateway.policy = current.and_then(|e| read_policy(e.policy_document()));
        }
        let other_s3_gateways: Vec<Gateway> = s3_gateways.collect();

        let mut interfaces = BTreeMap::new();
        for short in &settings.interface_services {
            let name = &offered[short].name;
            let mut candidates: Vec<_> = live
                .iter()
                .filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Interface) && e.service_name() == Some(name.as_str()))
                .collect();
            // Reuse the one closest to the baseline: private DNS on first, then the oldest id.
            candidates.sort_by_key(|e| (e.private_dns_enabled() != Some(true), e.vpc_endpoint_id().map(str::to_string)));
            let interface = candidates.first().map_or_else(Interface::default, |e| Interface {
                endpoint_id: e.vpc_endpoint_id().map(str::to_string),
                private_dns: e.private_dns_enabled() == Some(true),
                subnets: e.subnet_ids().iter().cloned().collect(),
                security_groups: e.groups().iter().filter_map(|g| g.group_id()).map(str::to_string).collect(),
            });
            interfaces.insert(short.clone(), interface);
        }

        state.vpcs.insert(
            vpc_id.to_string(),
            VpcState {
                cidrs,
                route_tables: tables.iter().filter_map(|t| t.route_table_id()).map(str::to_string).collect(),
                subnets: vpc_subnets,
                dns: dns.get(vpc_id).cloned().unwrap_or(Dns { enable_dns_support: false, enable_dns_hostnames: false }),
                security_group,
                s3_gateway,
                other_s3_gateways,
                interfaces,
                services: offered.clone(),
            },
        );
    }
    Ok(state)
}

async fn apply_vpc(client: &aws_sdk_ec2::Client, vpc_id: &str, observed: &VpcState, desired: &VpcState) -> Result<(), ControlError> {
    if !observed.dns.enable_dns_support {
        let on = AttributeBooleanValue::builder().value(true).build();
        client.modify_vpc_attribute().vpc_id(vpc_id).enable_dns_support(on).send().await.named("ec2:ModifyVpcAttribute")?;
    }
    if !observed.dns.enable_dns_hostnames {
        let on = AttributeBooleanValue::builder().value(true).build();
        client.modify_vpc_attribute().vpc_id(vpc_id).enable_dns_hostnames(on).send().await.named("ec2:ModifyVpcAttribute")?;
    }

    let group_id = match &observed.security_group.group_id {
        Some(id) => id.clone(),
        None => {
            let created = client
                .create_security_group()
                .group_name(SECURITY_GROUP)
                .description("mamori: VPC interface endpoints, tcp 443 from the VPC CIDR blocks only")
                .vpc_id(vpc_id)
                .send()
                .await
                .named("ec2:CreateSecurityGroup")?;
            created.group_id().ok_or_else(|| AwsError::malformed("ec2:CreateSecurityGroup", "no group id"))?.to_string()
        }
    };
    let missing: Vec<&Rule> = desired.security_group.ingress.difference(&observed.security_group.ingress).collect();
    if !missing.is_empty() {
        let permissions: Vec<IpPermission> = missing.iter().map(|r| r.permission()).collect();
        writes::authorize_ingress(client, &group_id, permissions).await?;
    }
    let extra: Vec<&Rule> = observed.security_group.ingress.difference(&desired.security_group.ingress).collect();
    if !extra.is_empty() {
        let permissions: Vec<IpPermission> = extra.iter().map(|r| r.permission()).collect();
        writes::revoke_ingress(client, &group_id, permissions).await?;
    }

    let s3 = &observed.services["s3"].name;
    let tables_to_add: Vec<String> = desired.s3_gateway.route_tables.difference(&observed.s3_gateway.route_tables).cloned().collect();
    let policy = desired.s3_gateway.policy_text.clone().filter(|_| observed.s3_gateway.policy != desired.s3_gateway.policy);
    match &observed.s3_gateway.endpoint_id {
        None => {
            client
                .create_vpc_endpoint()
                .vpc_id(vpc_id)
                .vpc_endpoint_type(VpcEndpointType::Gateway)
                .service_name(s3)
                .set_route_table_ids(Some(tables_to_add))
                .set_policy_document(policy)
                .send()
                .await
                .named("ec2:CreateVpcEndpoint")?;
        }
        Some(id) if !tables_to_add.is_empty() || policy.is_some() => {
            client
                .modify_vpc_endpoint()
                .vpc_endpoint_id(id)
                .set_add_route_table_ids((!tables_to_add.is_empty()).then_some(tables_to_add))
                .set_policy_document(policy)
                .send()
                .await
                .named("ec2:ModifyVpcEndpoint")?;
        }
        Some(_) => {}
    }

    for (short, wanted) in &desired.interfaces {
        let current = observed.interfaces.get(short).cloned().unwrap_or_default();
        let groups: BTreeSet<String> =
            wanted.security_groups.iter().map(|g| if g == SECURITY_GROUP { group_id.clone() } else { g.clone() }).collect();
        let service = &observed.services[short].name;
        if wanted.subnets.is_empty() {
            // Never create an endpoint nowhere, nor strip an existing one of all its subnets.
            return Err(ControlError::Precondition(format!(
                "{vpc_id} has no subnet that qualifies for the `{short}` interface endpoint (subnets: {:?})",
                desired.subnets.iter().map(|s| &s.id).collect::<Vec<_>>()
            )));
        }
        match &current.endpoint_id {
            None => {
                client
                    .create_vpc_endpoint()
                    .vpc_id(vpc_id)
                    .vpc_endpoint_type(VpcEndpointType::Interface)
                    .service_name(service)
                    .set_subnet_ids(Some(wanted.subnets.iter().cloned().collect()))
                    .set_security_group_ids(Some(groups.into_iter().collect()))
                    .private_dns_enabled(true)
                    .send()
                    .await
                    .named("ec2:CreateVpcEndpoint")?;
            }
            Some(id) => {
                let add_subnets: Vec<String> = wanted.subnets.difference(&current.subnets).cloned().collect();
                let remove_subnets: Vec<String> = current.subnets.difference(&wanted.subnets).cloned().collect();
                let add_groups: Vec<String> = groups.difference(&current.security_groups).cloned().collect();
                let remove_groups: Vec<String> = current.security_groups.difference(&groups).cloned().collect();
                let dns = current.private_dns != wanted.private_dns;
                if add_subnets.is_empty() && remove_subnets.is_empty() && add_groups.is_empty() && remove_groups.is_empty() && !dns {
                    continue;
                }
                let non_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
                client
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(id)
                    .set_add_subnet_ids(non_empty(add_subnets))
                    .set_remove_subnet_ids(non_empty(remove_subnets))
                    .set_add_security_group_ids(non_empty(add_groups))
                    .set_remove_security_group_ids(non_empty(remove_groups))
                    .set_private_dns_enabled(dns.then_some(wanted.private_dns))
                    .send()
                    .await
                    .named("ec2:ModifyVpcEndpoint")?;
            }
        }
    }
    Ok(())
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
        observe_region(ctx, target).await
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &EndpointsState, _facts: &Facts) -> EndpointsState {
        let settings = settings(ctx);
        let s3_policy = settings.s3_endpoint_policy.as_ref().map(|name| ctx.baseline.templates.render(name, &ctx.vars(&target.region)));
        EndpointsState { vpcs: observed.vpcs.iter().map(|(id, vpc)| (id.clone(), desired_vpc(vpc, settings, s3_policy.as_ref()))).collect() }
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &EndpointsState, desired: &EndpointsState) -> Vec<Part> {
        if observed.vpcs.is_empty() {
            return vec![Part { resource: "(no VPC in scope)".into(), observed: Value::Null, desired: Value::Null, action: Action::Update, fix: None }];
        }
        observed.vpcs.iter().flat_map(|(id, vpc)| vpc_parts(id, vpc, &desired.vpcs[id])).collect()
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &EndpointsState, desired: &EndpointsState) -> Result<(), ControlError> {
        let client = ctx.aws.ec2(target.region.as_str());
        let mut results = Vec::new();
        for (id, vpc) in &observed.vpcs {
            if desired.vpcs.get(id) != Some(vpc) {
                results.push((id.clone(), apply_vpc(&client, id, vpc, &desired.vpcs[id]).await));
            }
        }
        // One VPC that fails does not stop the others; every failure is reported.
        let failures: Vec<String> = results.into_iter().filter_map(|(id, r)| r.err().map(|e| format!("{id}: {e}"))).collect();
        match failures.len() {
            0 => Ok(()),
            _ => Err(ControlError::Precondition(failures.join("; "))),
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
mod tests {
    use super::*;

    fn subnet(id: &str, zone: &str, private: bool) -> Subnet {
        Subnet { id: id.into(), zone: zone.into(), private }
    }

    fn vpc() -> VpcState {
        let service = |name: &str| Service { name: name.into(), zones: BTreeSet::from(["az-a".to_string(), "az-b".to_string()]) };
        VpcState {
            cidrs: vec!["10.0.0.0/16".into(), "2001:db8::/56".into()],
            route_tables: BTreeSet::from(["rtb-1".to_string(), "rtb-2".to_string()]),
            subnets: vec![subnet("subnet-1", "az-a", false), subnet("subnet-2", "az-a", true), subnet("subnet-3", "az-b", false), subnet("subnet-4", "az-b", true)],
            dns: Dns { enable_dns_support: true, enable_dns_hostnames: false },
            security_group: SecurityGroup::default(),
            s3_gateway: Gateway { endpoint_id: Some("vpce-s3".into()), route_tables: BTreeSet::from(["rtb-1".to_string()]), policy: None, policy_text: None },
            other_s3_gateways: vec![],
            interfaces: BTreeMap::new(),
            services: BTreeMap::from([("s3".to_string(), service("svc.s3")), ("ssm".to_string(), service("svc.ssm"))]),
        }
    }

    fn settings(preference: SubnetPreference) -> VpcEndpoints {
        VpcEndpoints { scope: VpcScope::default(), interface_services: vec!["ssm".into()], subnets: preference, s3_endpoint_policy: None }
    }

    #[test]
    fn private_subnets_are_preferred_one_per_zone() {
        let subnets = vpc().subnets;
        let none = BTreeSet::new();
        assert_eq!(choose_subnets(&subnets, None, &none, SubnetPreference::PreferPrivate), BTreeSet::from(["subnet-2".into(), "subnet-4".into()]));
        assert_eq!(choose_subnets(&subnets, None, &none, SubnetPreference::Any), BTreeSet::from(["subnet-1".into(), "subnet-3".into()]));
        let public_only = vec![subnet("subnet-1", "az-a", false), subnet("subnet-9", "az-c", true)];
        assert_eq!(choose_subnets(&public_only, None, &none, SubnetPreference::PreferPrivate), BTreeSet::from(["subnet-1".into(), "subnet-9".into()]));
        assert_eq!(choose_subnets(&public_only, None, &none, SubnetPreference::PrivateOnly), BTreeSet::from(["subnet-9".into()]));
        let zones = BTreeSet::from(["az-b".to_string()]);
        assert_eq!(choose_subnets(&subnets, Some(&zones), &none, SubnetPreference::PreferPrivate), BTreeSet::from(["subnet-4".into()]));
    }

    #[test]
    fn a_qualifying_subnet_in_use_is_kept() {
        let subnets = vec![subnet("subnet-1", "az-a", true), subnet("subnet-2", "az-a", true)];
        let current = BTreeSet::from(["subnet-2".to_string()]);
        assert_eq!(choose_subnets(&subnets, None, &current, SubnetPreference::PreferPrivate), current);
    }

    #[test]
    fn desired_extends_the_gateway_and_never_drops_a_route_table() {
        let mut observed = vpc();
        observed.s3_gateway.route_tables.insert("rtb-old".into());
        let desired = desired_vpc(&observed, &settings(SubnetPreference::PreferPrivate), None);
        assert_eq!(desired.s3_gateway.route_tables, BTreeSet::from(["rtb-1".into(), "rtb-2".into(), "rtb-old".into()]));
        assert_eq!(desired.s3_gateway.endpoint_id.as_deref(), Some("vpce-s3"));
        assert!(desired.dns.enable_dns_hostnames && desired.dns.enable_dns_support);
        let ingress: Vec<String> = desired.security_group.ingress.iter().cloned().map(String::from).collect();
        assert_eq!(ingress, ["tcp 443 from 10.0.0.0/16", "tcp 443 from 2001:db8::/56"]);
        let ssm = &desired.interfaces["ssm"];
        assert!(ssm.private_dns && ssm.endpoint_id.is_none());
        assert_eq!(ssm.security_groups, BTreeSet::from([SECURITY_GROUP.to_string()]));
        assert_eq!(desired_vpc(&desired, &settings(SubnetPreference::PreferPrivate), None), desired, "desired is a fixed point");
    }

    #[test]
    fn the_endpoint_policy_is_wanted_only_when_configured() {
        let observed = vpc();
        assert_eq!(desired_vpc(&observed, &settings(SubnetPreference::Any), None).s3_gateway.policy, None);
        let policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]});
        let desired = desired_vpc(&observed, &settings(SubnetPreference::Any), Some(&policy));
        assert_eq!(desired.s3_gateway.policy, Some(crate::policy::normalize(&policy)));
        let versioned = serde_json::json!({"Version": "2012-10-17", "Statement": policy["Statement"].clone()});
        let desired = desired_vpc(&observed, &settings(SubnetPreference::Any), Some(&versioned));
        assert_eq!(desired.s3_gateway.policy, Some(crate::policy::normalize(&policy)), "Version is not compared");
        assert!(desired.s3_gateway.policy_text.as_deref().is_some_and(|t| t.contains("2012-10-17")), "but it is written");
        let parts = vpc_parts("vpc-1", &observed, &desired);
        assert!(parts[2].observed.get("policy").is_none() && parts[2].desired.get("policy").is_some());
    }

    #[test]
    fn route_tables_on_another_s3_gateway_count_as_covered() {
        let mut observed = vpc();
        observed.other_s3_gateways.push(Gateway { endpoint_id: Some("vpce-other".into()), route_tables: BTreeSet::from(["rtb-2".to_string()]), policy: None, policy_text: None });
        let desired = desired_vpc(&observed, &settings(SubnetPreference::PreferPrivate), None);
        assert_eq!(desired.s3_gateway.route_tables, BTreeSet::from(["rtb-1".to_string()]));
    }

    #[test]
    fn parts_name_each_component_of_each_vpc() {
        let observed = vpc();
        let desired = desired_vpc(&observed, &settings(SubnetPreference::PreferPrivate), None);
        let parts = vpc_parts("vpc-1", &observed, &desired);
        let names: Vec<&str> = parts.iter().map(|p| p.resource.as_str()).collect();
        assert_eq!(names, ["vpc-1/dns", "vpc-1/security-group/mamori-vpc-endpoints", "vpc-1/gateway/s3", "vpc-1/interface/ssm"]);
        assert_eq!(parts[1].action, Action::Create);
        assert_eq!(parts[2].action, Action::Update);
        assert_eq!(parts[3].action, Action::Create);
    }
}
