//! The emulator shims' VPC endpoint rules on their own, sent straight with the SDK: the emulator
//! refuses what AWS refuses (an endpoint with private DNS where a private hosted zone of its name is
//! associated with the VPC; an interface in a subnet without a free IPv4 address or without an IPv4
//! range; a second endpoint for a client token seen before), and accepts what AWS accepts.
//! `vpc.endpoints`' own tests rely on these refusals.

use aws_sdk_ec2::types::VpcEndpointType;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mamori::aws::AccessMode;

use crate::harness::Account;

async fn vpc_with_subnet(ec2: &aws_sdk_ec2::Client, cidr: &str) -> (String, String) {
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").amazon_provided_ipv6_cidr_block(true).send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone("us-east-1a").send().await.unwrap().subnet.unwrap().subnet_id.unwrap();
    (vpc, subnet)
}

async fn interface_service(ec2: &aws_sdk_ec2::Client, short: &str) -> String {
    let services = ec2.describe_vpc_endpoint_services().send().await.unwrap();
    services.service_names().iter().find(|n| n.ends_with(&format!(".us-east-1.{short}"))).unwrap().clone()
}

#[tokio::test]
async fn an_endpoint_with_private_dns_is_refused_where_a_zone_of_its_name_is_associated() {
    use aws_sdk_route53::types::{HostedZoneConfig, Vpc, VpcRegion};
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    let ec2 = aws.ec2("us-east-1");
    let (vpc, subnet) = vpc_with_subnet(&ec2, "10.0.1.0/24").await;
    let ssm = interface_service(&ec2, "ssm").await;
    let create = |private_dns: bool| {
        ec2.create_vpc_endpoint().vpc_id(&vpc).vpc_endpoint_type(VpcEndpointType::Interface).service_name(&ssm).subnet_ids(&subnet).private_dns_enabled(private_dns).send()
    };
    aws.route53()
        .create_hosted_zone()
        .name("ssm.us-east-1.amazonaws.com")
        .caller_reference(format!("{vpc}-ssm"))
        .vpc(Vpc::builder().vpc_id(&vpc).vpc_region(VpcRegion::UsEast1).build())
        .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).comment("centralised endpoints").build())
        .send()
        .await
        .unwrap();

    let refused = create(true).await.expect_err("AWS refuses private DNS that would clash with the zone");
    assert_eq!(refused.code(), Some("InvalidParameter"));
    assert!(refused.message().is_some_and(|m| m.contains("conflicting DNS domain for ssm.us-east-1.amazonaws.com")), "{refused:?}");
    let without_dns = create(false).await.expect("an endpoint without private DNS does not clash").vpc_endpoint.unwrap();
    let enable = ec2.modify_vpc_endpoint().vpc_endpoint_id(without_dns.vpc_endpoint_id().unwrap()).private_dns_enabled(true).send().await;
    assert_eq!(enable.expect_err("turning private DNS on clashes too").code(), Some("InvalidParameter"));

    let (other_vpc, other_subnet) = vpc_with_subnet(&ec2, "10.0.2.0/24").await;
    let elsewhere =
        ec2.create_vpc_endpoint().vpc_id(&other_vpc).vpc_endpoint_type(VpcEndpointType::Interface).service_name(&ssm).subnet_ids(&other_subnet).private_dns_enabled(true).send().await;
    assert!(elsewhere.is_ok(), "a VPC the zone is not associated with is free: {elsewhere:?}");
}

#[tokio::test]
async fn an_interface_needs_a_free_ipv4_address_in_each_subnet() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let (vpc, full) = vpc_with_subnet(&ec2, "10.0.0.0/28").await;
    let free = ec2.describe_subnets().subnet_ids(&full).send().await.unwrap().subnets()[0].available_ip_address_count().unwrap();
    for _ in 0..free {
        ec2.create_network_interface().subnet_id(&full).send().await.unwrap();
    }
    let block = ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap().vpcs()[0].ipv6_cidr_block_association_set()[0].ipv6_cidr_block().unwrap().to_string();
    let ipv6_only = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .ipv6_cidr_block(block.replace("::/56", "::/64"))
        .ipv6_native(true)
        .availability_zone("us-east-1b")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap();
    assert_eq!(ipv6_only.available_ip_address_count(), Some(0), "AWS counts IPv4 addresses: an IPv6-only subnet has none");
    let roomy = ec2.create_subnet().vpc_id(&vpc).cidr_block("10.0.1.0/24").availability_zone("us-east-1c").send().await.unwrap().subnet.unwrap().subnet_id.unwrap();
    let kms = interface_service(&ec2, "kms").await;
    let create = |subnet: String| ec2.create_vpc_endpoint().vpc_id(&vpc).vpc_endpoint_type(VpcEndpointType::Interface).service_name(&kms).subnet_ids(subnet).send();

    assert_eq!(create(full.clone()).await.expect_err("no free address").code(), Some("InsufficientFreeAddressesInSubnet"));
    assert_eq!(create(ipv6_only.subnet_id().unwrap().to_string()).await.expect_err("no IPv4 range").code(), Some("InvalidParameter"));
    let endpoint = create(roomy).await.expect("a subnet with room takes the interface").vpc_endpoint.unwrap();
    let added = ec2.modify_vpc_endpoint().vpc_endpoint_id(endpoint.vpc_endpoint_id().unwrap()).add_subnet_ids(&full).send().await;
    assert_eq!(added.expect_err("adding the full subnet is refused too").code(), Some("InsufficientFreeAddressesInSubnet"));
}

#[tokio::test]
async fn a_repeated_client_token_answers_the_endpoint_it_made_and_other_parameters_are_refused() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let (vpc, subnet) = vpc_with_subnet(&ec2, "10.0.1.0/24").await;
    let (ssm, kms) = (interface_service(&ec2, "ssm").await, interface_service(&ec2, "kms").await);
    let create = |service: &str, token: &str| {
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(service)
            .subnet_ids(&subnet)
            .private_dns_enabled(false)
            .client_token(token)
            .send()
    };
    let first = create(&ssm, "token-1").await.unwrap().vpc_endpoint.unwrap().vpc_endpoint_id.unwrap();
    let retried = create(&ssm, "token-1").await.unwrap().vpc_endpoint.unwrap().vpc_endpoint_id.unwrap();
    assert_eq!(retried, first, "the retry answers the endpoint the first request made");
    let mismatch = create(&kms, "token-1").await.unwrap_err();
    assert_eq!(mismatch.code(), Some("IdempotentParameterMismatch"), "{mismatch:?}");
    let other = create(&ssm, "token-2").await.unwrap().vpc_endpoint.unwrap().vpc_endpoint_id.unwrap();
    assert_ne!(other, first, "a new token is a new request (AWS allows two endpoints for one service)");
    let listed = ec2.describe_vpc_endpoints().send().await.unwrap();
    assert_eq!(listed.vpc_endpoints().iter().filter(|e| e.vpc_id() == Some(vpc.as_str())).count(), 2);
}
