//! `vpc.endpoints` as a pure function of what it observed: the desired state, the findings' parts, and
//! the statuses the engine gives them (shared VPCs and private DNS conflicts skipped, zones without a
//! usable subnet manual, the rest fixable).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::baseline::{SubnetPreference, VpcScope};
use crate::engine::testing::offline;
use crate::policy::evaluate::{evaluate, Policies};
use crate::policy::request::{Principal, Request};
use crate::engine::Reconciler;
use crate::report::Status;

fn subnet(id: &str, zone: &str, private: bool) -> Subnet {
    Subnet { id: id.into(), zone: zone.into(), private, ipv4: true, free_ipv4: 250 }
}

fn service(name: &str) -> Service {
    let short = name.rsplit('.').next().unwrap_or(name);
    Service { name: name.into(), zones: BTreeSet::from(["az-a".to_string(), "az-b".to_string()]), private_dns_name: Some(format!("{short}.us-east-1.amazonaws.com")), policy_supported: true }
}

fn vpc() -> VpcState {
    VpcState {
        cidrs: vec!["10.0.0.0/16".into(), "2001:db8::/56".into()],
        route_tables: BTreeSet::from(["rtb-1".to_string(), "rtb-2".to_string()]),
        subnets: vec![subnet("subnet-1", "az-a", false), subnet("subnet-2", "az-a", true), subnet("subnet-3", "az-b", false), subnet("subnet-4", "az-b", true)],
        dns: Dns { enable_dns_support: true, enable_dns_hostnames: false },
        security_group: SecurityGroup::default(),
        s3_gateway: Gateway { endpoint_id: Some("vpce-s3".into()), route_tables: BTreeSet::from(["rtb-1".to_string()]), policy: None },
        other_s3_gateways: vec![],
        interfaces: BTreeMap::new(),
        services: BTreeMap::from([("s3".to_string(), service("svc.s3")), ("ssm".to_string(), service("svc.ssm")), ("kms".to_string(), service("svc.kms"))]),
        dns_conflicts: BTreeMap::new(),
        unusable_zones: BTreeMap::new(),
    }
}

fn settings(preference: SubnetPreference) -> VpcEndpoints {
    VpcEndpoints { scope: VpcScope::default(), interface_services: vec!["ssm".into()], subnets: preference, endpoint_policy: None, revoke_other_ingress: false }
}

fn rules(texts: &[&str]) -> BTreeSet<Rule> {
    texts.iter().map(|t| t.parse().unwrap()).collect()
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
    assert_eq!(ssm.subnets, BTreeSet::from(["subnet-2".to_string(), "subnet-4".to_string()]), "private subnets, one per zone");
    assert_eq!(ssm.security_groups, BTreeSet::from([SECURITY_GROUP.to_string()]));
    assert_eq!(desired_vpc(&desired, &settings(SubnetPreference::PreferPrivate), None), desired, "desired is a fixed point");
}

#[test]
fn inbound_rules_the_baseline_does_not_own_are_kept_unless_it_says_otherwise() {
    let mut observed = vpc();
    observed.security_group = SecurityGroup {
        group_id: Some("sg-1".into()),
        ingress: rules(&["tcp 443 from 10.0.0.0/16", "tcp 443 from 10.1.0.0/16", "tcp 443 from 192.168.0.0/16"]),
    };
    let kept = desired_vpc(&observed, &settings(SubnetPreference::PreferPrivate), None);
    assert_eq!(
        kept.security_group.ingress,
        rules(&["tcp 443 from 10.0.0.0/16", "tcp 443 from 2001:db8::/56", "tcp 443 from 10.1.0.0/16", "tcp 443 from 192.168.0.0/16"]),
        "the peered VPC's and the on-premises range's rules stay; the missing IPv6 block is added"
    );
    let revoking = VpcEndpoints { revoke_other_ingress: true, ..settings(SubnetPreference::PreferPrivate) };
    let owned_only = desired_vpc(&observed, &revoking, None);
    assert_eq!(owned_only.security_group.ingress, rules(&["tcp 443 from 10.0.0.0/16", "tcp 443 from 2001:db8::/56"]));
}

/// A built-in endpoint policy template, rendered for account 123456789012 of organization
/// o-exampleorgid in us-east-1.
fn template(name: &str) -> Value {
    let text = crate::baseline::template::find(name, &[]).unwrap();
    serde_json::from_str(&crate::baseline::Vars::SAMPLE.for_organization("o-exampleorgid").render(&text)).unwrap()
}

fn perimeter(scope: &str) -> PerimeterPolicies {
    PerimeterPolicies {
        interface: comparable_policy(&template(&format!("vpc-endpoint-own-{scope}"))),
        s3: comparable_policy(&template(&format!("vpc-s3-endpoint-own-{scope}"))),
    }
}

#[test]
fn the_perimeter_policy_is_wanted_where_the_service_takes_one_and_replaces_anothers() {
    let mut observed = vpc();
    observed.services.get_mut("kms").unwrap().policy_supported = false;
    let default_policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]});
    observed.interfaces.insert(
        "ssm".into(),
        Interface { endpoint_id: Some("vpce-ssm".into()), policy: Some(default_policy.clone()), ..Interface::default() },
    );
    observed.s3_gateway.policy = Some(default_policy.clone());
    let both = VpcEndpoints { interface_services: vec!["ssm".into(), "kms".into()], ..settings(SubnetPreference::Any) };
    let keep = desired_vpc(&observed, &both, None);
    assert_eq!(keep.s3_gateway.policy, Some(default_policy.clone()), "keep: a policy is never replaced");
    assert_eq!(keep.interfaces["ssm"].policy, Some(default_policy.clone()));

    let own = perimeter("account");
    let desired = desired_vpc(&observed, &both, Some(&own));
    assert_eq!(desired.s3_gateway.policy.as_ref(), Some(&own.s3));
    assert_eq!(desired.interfaces["ssm"].policy.as_ref(), Some(&own.interface));
    assert_eq!(desired.interfaces["kms"].policy, None, "a service without endpoint policy support takes none");
    assert_eq!(desired_vpc(&desired, &both, Some(&own)), desired, "desired is a fixed point");

    // The plan shows the policy someone else wrote, and the one that replaces it.
    let parts = vpc_parts("vpc-1", &observed, &desired, SubnetPreference::Any);
    let ssm = parts.iter().find(|p| p.resource == "vpc-1/interface/ssm").unwrap();
    assert_eq!((&ssm.observed["policy"], &ssm.desired["policy"]), (&default_policy, &own.interface));
    assert_eq!((&parts[2].observed["policy"], &parts[2].desired["policy"]), (&default_policy, &own.s3));
    assert!(policy_document(&own.s3).contains("\"Version\":\"2012-10-17\""), "Version is not compared, but it is written");
}

/// Whether `policy`, as an endpoint policy, lets `request` through. An endpoint policy is a gate of
/// its own (the identity and resource policies are judged apart), so it is evaluated as the resource
/// policy of the principal's own account with no identity policy: only a statement of the endpoint
/// policy can then allow.
fn endpoint_allows(policy: &Value, request: &Request) -> bool {
    let account = request.principal.account().unwrap_or_default().to_string();
    evaluate(&Policies::resource(policy, &account), request).is_allowed()
}

const ORG: &str = "o-exampleorgid";

fn role(account: &str) -> Principal {
    Principal::aws(&format!("arn:aws:iam::{account}:role/app"))
}

/// A request of `principal` (of organization `org`, when in one) for `action` on `resource`, a
/// resource of `owner` (of organization `owner_org`).
fn request(principal: Principal, org: Option<&str>, action: &str, resource: &str, owner: &str, owner_org: Option<&str>) -> Request {
    let mut request = Request::new(principal, action, resource).with("aws:ResourceAccount", owner);
    if let Some(org) = org {
        request = request.with("aws:PrincipalOrgID", org);
    }
    if let Some(org) = owner_org {
        request = request.with("aws:ResourceOrgID", org);
    }
    request
}

#[test]
fn the_interface_perimeter_lets_in_the_own_account_or_organization_and_refuses_outsiders() {
    let default_policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]});
    let parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/app";
    let own = request(role("123456789012"), Some(ORG), "ssm:GetParameter", parameter, "123456789012", Some(ORG));
    let sibling = request(role("210987654321"), Some(ORG), "ssm:GetParameter", parameter, "123456789012", Some(ORG));
    let stolen = request(role("999988887777"), Some("o-otherorg0000"), "kms:Decrypt", "arn:aws:kms:us-east-1:999988887777:key/1", "999988887777", None);
    let standalone = request(role("999988887777"), None, "logs:PutLogEvents", "*", "999988887777", None);
    assert!(endpoint_allows(&default_policy, &stolen), "AWS's default endpoint policy lets anyone through");

    let account = template("vpc-endpoint-own-account");
    assert!(endpoint_allows(&account, &own));
    assert!(!endpoint_allows(&account, &sibling), "own-account: another account of the organization is refused");
    assert!(!endpoint_allows(&account, &stolen) && !endpoint_allows(&account, &standalone));

    let organization = template("vpc-endpoint-own-organization");
    assert!(endpoint_allows(&organization, &own) && endpoint_allows(&organization, &sibling));
    assert!(!endpoint_allows(&organization, &stolen), "a credential of another organization is refused");
    assert!(!endpoint_allows(&organization, &standalone), "a principal in no organization is refused");
}

#[test]
fn the_s3_perimeter_keeps_data_in_the_own_buckets_and_reaches_the_aws_repository_buckets() {
    let object = |bucket: &str| format!("arn:aws:s3:::{bucket}/key");
    for scope in ["account", "organization"] {
        let policy = template(&format!("vpc-s3-endpoint-own-{scope}"));
        let own = |action: &str, bucket: &str, owner: &str, owner_org: Option<&str>| {
            endpoint_allows(&policy, &request(role("123456789012"), Some(ORG), action, &object(bucket), owner, owner_org))
        };
        assert!(own("s3:PutObject", "my-data", "123456789012", Some(ORG)), "{scope}: the own bucket");
        assert!(!own("s3:PutObject", "exfiltration", "999988887777", Some("o-otherorg0000")), "{scope}: another organization's bucket is refused");
        assert!(!own("s3:PutObject", "exfiltration", "999988887777", None), "{scope}: a standalone account's bucket is refused");
        // The AWS-owned buckets of SSM Agent and of the Amazon Linux repositories, owned outside any
        // organization of the customer's.
        for bucket in ["amazon-ssm-us-east-1", "aws-ssm-us-east-1", "al2023-repos-us-east-1-de612dc2", "amazonlinux-2-repos-us-east-1", "amazonlinux.us-east-1.amazonaws.com"] {
            assert!(own("s3:GetObject", bucket, "000000000000", None), "{scope}: {bucket}");
            assert!(!own("s3:PutObject", bucket, "000000000000", None), "{scope}: {bucket} is read, never written");
        }
        let outsider = request(role("999988887777"), Some("o-otherorg0000"), "s3:GetObject", &object("amazon-ssm-us-east-1"), "000000000000", None);
        assert!(!endpoint_allows(&policy, &outsider), "{scope}: an outside principal is refused, even for AWS's buckets");
        let outsider_to_us = request(role("999988887777"), Some("o-otherorg0000"), "s3:GetObject", &object("my-data"), "123456789012", Some(ORG));
        assert!(!endpoint_allows(&policy, &outsider_to_us), "{scope}: an outside principal is refused the own buckets too");
    }
    let sibling_bucket = request(role("123456789012"), Some(ORG), "s3:GetObject", &object("shared"), "210987654321", Some(ORG));
    assert!(!endpoint_allows(&template("vpc-s3-endpoint-own-account"), &sibling_bucket));
    assert!(endpoint_allows(&template("vpc-s3-endpoint-own-organization"), &sibling_bucket));
}

#[test]
fn route_tables_on_another_s3_gateway_count_as_covered() {
    let mut observed = vpc();
    observed.other_s3_gateways.push(Gateway { endpoint_id: Some("vpce-other".into()), route_tables: BTreeSet::from(["rtb-2".to_string()]), policy: None });
    let desired = desired_vpc(&observed, &settings(SubnetPreference::PreferPrivate), None);
    assert_eq!(desired.s3_gateway.route_tables, BTreeSet::from(["rtb-1".to_string()]));
}

#[test]
fn a_service_whose_private_dns_another_zone_holds_is_left_alone_and_the_others_are_placed() {
    let mut observed = vpc();
    let conflict = private_dns::Conflict { hosted_zone: "Z1".into(), name: "ssm.us-east-1.amazonaws.com".into(), owner: "111122223333".into() };
    observed.dns_conflicts.insert("ssm".into(), conflict);
    let both = VpcEndpoints { interface_services: vec!["ssm".into(), "kms".into()], ..settings(SubnetPreference::PreferPrivate) };
    let desired = desired_vpc(&observed, &both, None);
    assert_eq!(desired.interfaces["ssm"], Interface::default(), "no endpoint is wanted where AWS would refuse it");
    assert!(desired.interfaces["kms"].private_dns && desired.interfaces["kms"].subnets.len() == 2, "the next service is still placed");
    let parts = vpc_parts("vpc-1", &observed, &desired, SubnetPreference::PreferPrivate);
    let ssm = parts.iter().find(|p| p.resource == "vpc-1/interface/ssm").unwrap();
    assert_eq!(ssm.observed["private_dns_served_by"]["hosted_zone"], "Z1");
    assert_eq!(ssm.observed, ssm.desired);
}

#[test]
fn parts_name_each_component_of_each_vpc() {
    let mut observed = vpc();
    observed.subnets.push(Subnet { id: "subnet-9".into(), zone: "az-c".into(), private: true, ipv4: false, free_ipv4: 0 });
    observed.services.get_mut("ssm").unwrap().zones.insert("az-c".into());
    let desired = desired_vpc(&observed, &settings(SubnetPreference::PreferPrivate), None);
    let parts = vpc_parts("vpc-1", &observed, &desired, SubnetPreference::PreferPrivate);
    let names: Vec<&str> = parts.iter().map(|p| p.resource.as_str()).collect();
    assert_eq!(names, ["vpc-1/dns", "vpc-1/security-group/mamori-vpc-endpoints", "vpc-1/gateway/s3", "vpc-1/interface/ssm", "vpc-1/zone/az-c"]);
    assert_eq!(parts[1].action, Action::Create);
    assert_eq!(parts[2].action, Action::Update);
    assert_eq!(parts[3].action, Action::Create);
    assert_eq!(parts[4].fix, Some(Fix::Manual), "only a human can add a subnet or free addresses");
    assert_eq!(parts[4].observed["subnets"]["subnet-9"], "IPv6-only: no IPv4 range for the endpoint's address");
}

#[tokio::test]
async fn shared_vpcs_and_private_dns_conflicts_are_skipped_with_the_reason_and_carry_no_change() {
    let (aws, baseline, caller) = offline("version: 1\nname: t\nregions: [us-east-1]\nvpc:\n  endpoints:\n    interface_services: [ssm, kms]\n").await;
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: None, regions_not_enabled: &[], layout: None };
    let target = Target { region: baseline.regions[0].clone(), account_wide: false };
    let mut owned = vpc();
    owned.dns_conflicts.insert(
        "ssm".into(),
        private_dns::Conflict { hosted_zone: "Z1".into(), name: "ssm.us-east-1.amazonaws.com".into(), owner: "111122223333".into() },
    );
    let state = EndpointsState {
        vpcs: BTreeMap::from([("vpc-own".to_string(), owned)]),
        shared: BTreeMap::from([("vpc-shared".to_string(), "444455556666".to_string())]),
        organization_id: None,
    };
    let observed: crate::engine::Observed = std::sync::Arc::new(state);
    let assessment = Reconciler::assess(&VpcEndpointsControl, &ctx, &target, &observed, &Facts::default());
    let status = |resource: &str| assessment.findings.iter().find(|f| f.resource == resource).unwrap_or_else(|| panic!("no finding for {resource}"));
    let shared = status("vpc-shared");
    assert_eq!(shared.status, Status::Skipped);
    assert!(shared.message.contains("owned by account 444455556666"), "{}", shared.message);
    let ssm = status("vpc-own/interface/ssm");
    assert_eq!(ssm.status, Status::Skipped);
    assert!(ssm.message.contains("private hosted zone Z1 of account 111122223333"), "{}", ssm.message);
    assert_eq!(status("vpc-own/interface/kms").status, Status::Fail, "the other service is still made");
    let changed: BTreeSet<&str> = assessment.changes.iter().map(|c| c.resource.as_str()).collect();
    assert!(!changed.contains("vpc-shared") && !changed.contains("vpc-own/interface/ssm"), "{changed:?}");
    assert!(changed.contains("vpc-own/interface/kms"));
    assert_eq!(ssm.references.fsbp, ["EC2.57"], "the baseline lists ssm but not ec2: only EC2.57 is cited");
}
