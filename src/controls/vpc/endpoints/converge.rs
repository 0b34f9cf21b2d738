//! Making one VPC match its desired endpoint setup, component by component.
//!
//! Each component is written on its own (the DNS attributes, the endpoint security group, the S3
//! gateway endpoint, each interface endpoint), and one that fails does not stop the others: a
//! conflict or a full subnet for one service must not leave the other services without their
//! endpoints. Every failure is returned, naming its component. Only what differs is written; nothing
//! is deleted: no endpoint, no route, no gateway's route table association, and no inbound rule of the
//! endpoint security group unless the desired state drops it (the baseline's `revoke_other_ingress`).
//!
//! Every `CreateVpcEndpoint` carries the client token of its intent (the VPC and the service, see
//! [`crate::aws::client_token`]), so that the SDK's retry of a create whose answer was lost returns
//! the endpoint the first attempt made instead of making a second one
//! (<https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>).
//!
//! An endpoint policy is written whole (with `ModifyVpcEndpoint`'s `PolicyDocument`), and only where
//! the desired state holds one that differs.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{AttributeBooleanValue, IpPermission, VpcEndpointType};

use crate::aws::{AwsError, NameCall};
use crate::inventory::security_groups::rules::Rule;
use crate::inventory::security_groups::writes;

use super::{policy_document, Interface, VpcState, SECURITY_GROUP};

/// The client token of the endpoint for a service (by its full name) in the VPC being written.
pub type ClientToken<'a> = dyn Fn(&str) -> String + Sync + 'a;

/// Writes what differs between `observed` and `desired` in `vpc_id`; returns each component's failure.
pub async fn vpc(client: &aws_sdk_ec2::Client, token: &ClientToken<'_>, vpc_id: &str, observed: &VpcState, desired: &VpcState) -> Vec<String> {
    let mut failures = Vec::new();
    if let Err(e) = dns(client, vpc_id, observed).await {
        failures.push(format!("{vpc_id}/dns: {e}"));
    }
    let group_id = match security_group(client, vpc_id, observed, desired).await {
        Ok(id) => Some(id),
        Err(e) => {
            failures.push(format!("{vpc_id}/security-group/{SECURITY_GROUP}: {e}"));
            None
        }
    };
    if let Err(e) = s3_gateway(client, token, vpc_id, observed, desired).await {
        failures.push(format!("{vpc_id}/gateway/s3: {e}"));
    }
    for (short, wanted) in &desired.interfaces {
        let current = observed.interfaces.get(short).cloned().unwrap_or_default();
        if *wanted == current {
            continue;
        }
        let component = format!("interface/{short}");
        let Some(group_id) = &group_id else {
            failures.push(format!("{vpc_id}/{component}: not written, the endpoint security group could not be made"));
            continue;
        };
        if wanted.subnets.is_empty() {
            // Never create an endpoint nowhere, nor strip an existing one of all its subnets.
            failures.push(format!("{vpc_id}/{component}: no subnet of the VPC can hold its network interface (see the zone findings)"));
            continue;
        }
        let service = &observed.services[short].name;
        if let Err(e) = interface(client, &token(service), vpc_id, service, &current, wanted, group_id).await {
            failures.push(format!("{vpc_id}/{component}: {e}"));
        }
    }
    failures
}

async fn dns(client: &aws_sdk_ec2::Client, vpc_id: &str, observed: &VpcState) -> Result<(), AwsError> {
    let on = || AttributeBooleanValue::builder().value(true).build();
    if !observed.dns.enable_dns_support {
        client.modify_vpc_attribute().vpc_id(vpc_id).enable_dns_support(on()).send().await.named("ec2:ModifyVpcAttribute")?;
    }
    if !observed.dns.enable_dns_hostnames {
        client.modify_vpc_attribute().vpc_id(vpc_id).enable_dns_hostnames(on()).send().await.named("ec2:ModifyVpcAttribute")?;
    }
    Ok(())
}

/// Creates the group when missing and corrects its inbound rules; returns its id.
async fn security_group(client: &aws_sdk_ec2::Client, vpc_id: &str, observed: &VpcState, desired: &VpcState) -> Result<String, AwsError> {
    let group_id = match &observed.security_group.group_id {
        Some(id) => id.clone(),
        None => {
            let created = client
                .create_security_group()
                .group_name(SECURITY_GROUP)
                .description("mamori: VPC interface endpoints, tcp 443 from the VPC CIDR blocks")
                .vpc_id(vpc_id)
                .send()
                .await
                .named("ec2:CreateSecurityGroup")?;
            created.group_id().ok_or_else(|| AwsError::malformed("ec2:CreateSecurityGroup", "no group id"))?.to_string()
        }
    };
    let permissions = |rules: Vec<&Rule>| -> Vec<IpPermission> { rules.iter().map(|r| r.permission()).collect() };
    let missing: Vec<&Rule> = desired.security_group.ingress.difference(&observed.security_group.ingress).collect();
    if !missing.is_empty() {
        writes::authorize_ingress(client, &group_id, permissions(missing)).await?;
    }
    let extra: Vec<&Rule> = observed.security_group.ingress.difference(&desired.security_group.ingress).collect();
    if !extra.is_empty() {
        writes::revoke_ingress(client, &group_id, permissions(extra)).await?;
    }
    Ok(group_id)
}

async fn s3_gateway(client: &aws_sdk_ec2::Client, token: &ClientToken<'_>, vpc_id: &str, observed: &VpcState, desired: &VpcState) -> Result<(), AwsError> {
    let s3 = &observed.services["s3"].name;
    let tables_to_add: Vec<String> = desired.s3_gateway.route_tables.difference(&observed.s3_gateway.route_tables).cloned().collect();
    let policy = desired.s3_gateway.policy.as_ref().filter(|_| observed.s3_gateway.policy != desired.s3_gateway.policy).map(policy_document);
    match &observed.s3_gateway.endpoint_id {
        None => {
            client
                .create_vpc_endpoint()
                .vpc_id(vpc_id)
                .vpc_endpoint_type(VpcEndpointType::Gateway)
                .service_name(s3)
                .client_token(token(s3))
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
    Ok(())
}

async fn interface(client: &aws_sdk_ec2::Client, client_token: &str, vpc_id: &str, service: &str, current: &Interface, wanted: &Interface, group_id: &str) -> Result<(), AwsError> {
    let groups: BTreeSet<String> = wanted.security_groups.iter().map(|g| if g == SECURITY_GROUP { group_id.to_string() } else { g.clone() }).collect();
    let Some(id) = &current.endpoint_id else {
        client
            .create_vpc_endpoint()
            .vpc_id(vpc_id)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(service)
            .client_token(client_token)
            .set_subnet_ids(Some(wanted.subnets.iter().cloned().collect()))
            .set_security_group_ids(Some(groups.into_iter().collect()))
            .private_dns_enabled(wanted.private_dns)
            .set_policy_document(wanted.policy.as_ref().map(policy_document))
            .send()
            .await
            .named("ec2:CreateVpcEndpoint")?;
        return Ok(());
    };
    let add_subnets: Vec<String> = wanted.subnets.difference(&current.subnets).cloned().collect();
    let remove_subnets: Vec<String> = current.subnets.difference(&wanted.subnets).cloned().collect();
    let add_groups: Vec<String> = groups.difference(&current.security_groups).cloned().collect();
    let remove_groups: Vec<String> = current.security_groups.difference(&groups).cloned().collect();
    let dns = current.private_dns != wanted.private_dns;
    let policy = wanted.policy.as_ref().filter(|_| current.policy != wanted.policy).map(policy_document);
    if add_subnets.is_empty() && remove_subnets.is_empty() && add_groups.is_empty() && remove_groups.is_empty() && !dns && policy.is_none() {
        return Ok(());
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
        .set_policy_document(policy)
        .send()
        .await
        .named("ec2:ModifyVpcEndpoint")?;
    Ok(())
}
