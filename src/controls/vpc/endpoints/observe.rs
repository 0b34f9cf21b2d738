//! Reading one region for `vpc.endpoints`: the VPCs in scope and, for those this account owns, their
//! CIDR blocks, route tables, subnets, DNS attributes, endpoint security group, endpoints, the
//! endpoint services the region offers, and (only where a service still lacks private DNS) the
//! private hosted zones associated with them. Read-only.
//!
//! A VPC shared into this account by another (its `OwnerId` is not the caller's account) is only
//! listed: a participant can change neither its attributes nor its route tables nor its endpoints
//! ("Share your VPC with other accounts", Amazon VPC User Guide), so nothing else of it is read.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ServiceDetail, ServiceType, Vpc, VpcEndpointType};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use crate::aws::{AwsError, NameCall};
use crate::baseline::VpcScope;
use crate::engine::{Context, Target};
use crate::inventory::organization;
use crate::inventory::security_groups::rules::{Direction, Rule};
use crate::inventory::vpc_networks::{cidr_blocks, describe_vpcs, filter, in_filter_batches};

use super::{comparable_policy, private_dns, settings, Dns, EndpointsState, Gateway, Interface, SecurityGroup, Service, Subnet, VpcState, SECURITY_GROUP};

/// Endpoint states that no longer route anything.
fn is_gone(state: Option<&aws_sdk_ec2::types::State>) -> bool {
    state.is_some_and(|s| matches!(s.as_str().to_ascii_lowercase().as_str(), "deleting" | "deleted" | "rejected" | "failed" | "expired"))
}

async fn in_scope_vpcs(client: &aws_sdk_ec2::Client, scope: &VpcScope) -> Result<Vec<Vpc>, AwsError> {
    let tag_filters: Vec<Filter> = scope.tags.iter().map(|(k, v)| filter(&format!("tag:{k}"), [v.clone()])).collect();
    let mut vpcs = if scope.ids.is_empty() {
        describe_vpcs(client, tag_filters).await?
    } else {
        in_filter_batches("vpc-id", &scope.ids, |by_id| describe_vpcs(client, [tag_filters.clone(), vec![by_id]].concat())).await?
    };
    vpcs.retain(|vpc| {
        let id = vpc.vpc_id().unwrap_or_default();
        !vpc.is_default().unwrap_or(false) || scope.include_default_vpc || scope.ids.iter().any(|i| i == id)
    });
    vpcs.sort_by(|a, b| a.vpc_id().cmp(&b.vpc_id()));
    vpcs.dedup_by(|a, b| a.vpc_id() == b.vpc_id());
    Ok(vpcs)
}

async fn endpoint_services(client: &aws_sdk_ec2::Client) -> Result<Vec<ServiceDetail>, AwsError> {
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
fn find_service(details: &[ServiceDetail], region: &str, short: &str, kind: &ServiceType) -> Option<Service> {
    let suffix = format!(".{region}.{short}");
    details
        .iter()
        .filter(|d| d.owner().is_none_or(|o| o == "amazon"))
        .filter(|d| d.service_type().iter().any(|t| t.service_type() == Some(kind)))
        .find(|d| d.service_name().is_some_and(|n| n.ends_with(&suffix)))
        .map(|d| Service {
            name: d.service_name().unwrap_or_default().to_string(),
            zones: d.availability_zones().iter().cloned().collect(),
            private_dns_name: d.private_dns_name().map(str::to_string),
            policy_supported: d.vpc_endpoint_policy_supported() == Some(true),
        })
}

fn unavailable(region: &str, what: String) -> AwsError {
    AwsError { operation: "ec2:DescribeVpcEndpointServices".into(), code: None, message: format!("{what} is not offered in {region}"), request_id: None, status: None }
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

/// An endpoint policy as `DescribeVpcEndpoints` returns it, as compared. A document that does not
/// parse is kept as its text, so it still differs from the wanted policy (and is shown in the plan).
fn read_policy(text: Option<&str>) -> Option<Value> {
    let text = text?;
    Some(serde_json::from_str::<Value>(text).map_or_else(|_| Value::from(text), |p| comparable_policy(&p)))
}

/// The account's organization id, for `endpoint_policy: own-organization`; an account in no
/// organization has no organization to draw the perimeter around, which is an error, never a policy
/// that lets nobody (or everybody) through.
async fn organization_id(ctx: &Context<'_>) -> Result<String, AwsError> {
    organization::read(ctx).await?.id.ok_or_else(|| AwsError {
        operation: "organizations:DescribeOrganization".into(),
        code: Some("AWSOrganizationsNotInUseException".into()),
        message: "endpoint_policy own-organization needs an organization, and this account belongs to none: use own-account".into(),
        request_id: None,
        status: None,
    })
}

/// The VPCs `account` owns, and those another account shares into it, with their owner's id. Pure.
pub fn split_by_owner(vpcs: Vec<Vpc>, account: &str) -> (Vec<Vpc>, BTreeMap<String, String>) {
    let (owned, shared): (Vec<Vpc>, Vec<Vpc>) = vpcs.into_iter().partition(|vpc| vpc.owner_id().is_none_or(|owner| owner == account));
    let shared = shared.iter().filter_map(|v| Some((v.vpc_id()?.to_string(), v.owner_id()?.to_string()))).collect();
    (owned, shared)
}

/// The state of every VPC in scope in `target`'s region.
pub async fn region(ctx: &Context<'_>, target: &Target) -> Result<EndpointsState, AwsError> {
    let region = target.region.as_str();
    let settings = settings(ctx);
    let client = ctx.aws.ec2(region);
    let (owned, shared) = split_by_owner(in_scope_vpcs(&client, &settings.scope).await?, &ctx.caller.account_id);
    let mut state = EndpointsState { shared, ..EndpointsState::default() };
    if owned.is_empty() {
        return Ok(state);
    }
    if settings.endpoint_policy.as_ref().is_some_and(|p| p.organization) {
        state.organization_id = Some(organization_id(ctx).await?);
    }
    let read_policies = settings.endpoint_policy.is_some();
    let ids: Vec<String> = owned.iter().filter_map(|v| v.vpc_id()).map(str::to_string).collect();
    let ec2 = &client;
    let subnets = in_filter_batches("vpc-id", &ids, |by_vpc| async move {
        ec2.describe_subnets().filters(by_vpc).into_paginator().items().send().try_collect().await.named("ec2:DescribeSubnets")
    });
    let route_tables = in_filter_batches("vpc-id", &ids, |by_vpc| async move {
        ec2.describe_route_tables().filters(by_vpc).into_paginator().items().send().try_collect().await.named("ec2:DescribeRouteTables")
    });
    let groups = in_filter_batches("vpc-id", &ids, |by_vpc| async move {
        ec2.describe_security_groups()
            .filters(by_vpc)
            .filters(filter("group-name", [SECURITY_GROUP.to_string()]))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .named("ec2:DescribeSecurityGroups")
    });
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

    for vpc in &owned {
        let vpc_id = vpc.vpc_id().unwrap_or_default();
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
                Subnet {
                    id,
                    zone: s.availability_zone().unwrap_or_default().to_string(),
                    private: !public,
                    ipv4: s.cidr_block().is_some() && s.ipv6_native() != Some(true),
                    free_ipv4: s.available_ip_address_count().unwrap_or(0),
                }
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
                policy: (read_policies && offered["s3"].policy_supported).then(|| read_policy(e.policy_document())).flatten(),
            });
        let s3_gateway = s3_gateways.next().unwrap_or_default();
        let other_s3_gateways: Vec<Gateway> = s3_gateways.map(|g| Gateway { policy: None, ..g }).collect();

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
                policy: (read_policies && offered[short].policy_supported).then(|| read_policy(e.policy_document())).flatten(),
            });
            interfaces.insert(short.clone(), interface);
        }

        state.vpcs.insert(
            vpc_id.to_string(),
            VpcState {
                cidrs: cidr_blocks(vpc),
                route_tables: tables.iter().filter_map(|t| t.route_table_id()).map(str::to_string).collect(),
                subnets: vpc_subnets,
                dns: dns.get(vpc_id).cloned().unwrap_or(Dns { enable_dns_support: false, enable_dns_hostnames: false }),
                security_group,
                s3_gateway,
                other_s3_gateways,
                interfaces,
                services: offered.clone(),
                dns_conflicts: BTreeMap::new(),
                unusable_zones: BTreeMap::new(),
            },
        );
    }

    // Only where some service still lacks an endpoint with private DNS: a converged VPC costs nothing.
    let lacking_private_dns = |vpc: &VpcState| {
        vpc.interfaces.iter().filter(|(short, interface)| !interface.private_dns && vpc.services[*short].private_dns_name.is_some()).map(|(short, _)| short.clone()).collect::<Vec<_>>()
    };
    let to_read: Vec<(String, Vec<String>)> =
        state.vpcs.iter().map(|(id, vpc)| (id.clone(), lacking_private_dns(vpc))).filter(|(_, lacking)| !lacking.is_empty()).collect();
    let zones: Vec<(String, Vec<String>, Vec<private_dns::AssociatedZone>)> = stream::iter(to_read)
        .map(|(id, lacking)| async move {
            let zones = private_dns::associated_zones(ctx, &id, region).await?;
            Ok::<_, AwsError>((id, lacking, zones))
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    for (id, lacking, zones) in zones {
        let vpc = state.vpcs.get_mut(&id).expect("read for a VPC of the state");
        vpc.dns_conflicts = private_dns::conflicts(&zones, &vpc.services, &lacking);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vpc_another_account_owns_is_set_apart_with_its_owner() {
        let vpc = |id: &str, owner: &str| Vpc::builder().vpc_id(id).owner_id(owner).cidr_block("10.0.0.0/16").build();
        let (owned, shared) = split_by_owner(vec![vpc("vpc-mine", "123456789012"), vpc("vpc-shared", "444455556666")], "123456789012");
        assert_eq!(owned.iter().filter_map(|v| v.vpc_id()).collect::<Vec<_>>(), ["vpc-mine"]);
        assert_eq!(shared, BTreeMap::from([("vpc-shared".to_string(), "444455556666".to_string())]));
    }
}
