//! `vpc.endpoints` and `vpc.s3-bucket-vpce-only` end to end: VPCs are built with the SDK behind
//! mamori's back (two availability zones, a public and a private subnet in each, a public and the main
//! route table), selected by a tag so the emulator's default VPCs stay out of the way, then reconciled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification, VpcEndpointType};
use mamori::app::Outcome;
use mamori::aws::AccessMode;
use mamori::report::{Status, Verb};
use serde_json::Value;

use crate::harness::{baseline_file, Account};

const TAG: &str = "mamori-test";

/// A VPC as the tests build it.
pub(crate) struct TestVpc {
    pub(crate) id: String,
    public: Vec<String>,
    pub(crate) private: Vec<String>,
    route_tables: BTreeSet<String>,
}

fn tagged(kind: ResourceType, value: &str) -> TagSpecification {
    TagSpecification::builder().resource_type(kind).tags(Tag::builder().key(TAG).value(value).build()).build()
}

/// A VPC with two zones, a public and a private subnet in each; the public subnets use a route table
/// with a route to an internet gateway, the private ones the main route table.
pub(crate) async fn build_vpc(account: &Account, region: &str, name: &str) -> TestVpc {
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2(region);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").tag_specifications(tagged(ResourceType::Vpc, name)).send().await.unwrap();
    let id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let igw = ec2.create_internet_gateway().send().await.unwrap().internet_gateway.unwrap().internet_gateway_id.unwrap();
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&id).send().await.unwrap();
    let public_table = ec2.create_route_table().vpc_id(&id).send().await.unwrap().route_table.unwrap().route_table_id.unwrap();
    ec2.create_route().route_table_id(&public_table).destination_cidr_block("0.0.0.0/0").gateway_id(&igw).send().await.unwrap();
    let (mut public, mut private) = (Vec::new(), Vec::new());
    for (i, zone) in ["a", "b"].iter().enumerate() {
        for (j, is_public) in [true, false].iter().enumerate() {
            let cidr = format!("10.0.{}.0/24", i * 2 + j);
            let subnet = ec2.create_subnet().vpc_id(&id).cidr_block(cidr).availability_zone(format!("{region}{zone}")).send().await.unwrap();
            let subnet_id = subnet.subnet.unwrap().subnet_id.unwrap();
            if *is_public {
                ec2.associate_route_table().route_table_id(&public_table).subnet_id(&subnet_id).send().await.unwrap();
                public.push(subnet_id);
            } else {
                private.push(subnet_id);
            }
        }
    }
    let tables = ec2.describe_route_tables().filters(Filter::builder().name("vpc-id").values(&id).build()).send().await.unwrap();
    let route_tables: BTreeSet<String> = tables.route_tables().iter().filter_map(|t| t.route_table_id()).map(str::to_string).collect();
    assert_eq!(route_tables.len(), 2, "main and public route table");
    TestVpc { id, public, private, route_tables }
}

/// A baseline with `vpc.endpoints` over the VPCs tagged `mamori-test: <selector>`, plus `extra` lines
/// under `vpc:`.
pub(crate) fn baseline(selector: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    baseline_file(&format!(
        "version: 1\nname: vpc-test\nregions: [us-east-1]\nvpc:\n  endpoints:\n    vpcs:\n      tags: {{{TAG}: {selector}}}\n{extra}"
    ))
}

fn assert_vpc_findings_pass(outcome: &Outcome, control: &str) {
    let findings = outcome.report.finding(control);
    assert!(!findings.is_empty(), "no finding for {control}");
    for finding in findings {
        assert_eq!(finding.status, Status::Pass, "{finding:#?}");
    }
}

/// The security groups named `mamori-vpc-endpoints` in `vpc`.
pub(crate) async fn endpoint_groups(account: &Account, vpc: &str) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2("us-east-1");
    let groups = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(Filter::builder().name("group-name").values("mamori-vpc-endpoints").build())
        .send()
        .await
        .unwrap();
    groups.security_groups().to_vec()
}

/// Endpoints of `vpc`, live ones only.
pub(crate) async fn endpoints(account: &Account, region: &str, vpc: &str) -> Vec<aws_sdk_ec2::types::VpcEndpoint> {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2(region);
    let all = ec2.describe_vpc_endpoints().send().await.unwrap();
    all.vpc_endpoints().iter().filter(|e| e.vpc_id() == Some(vpc)).cloned().collect()
}

async fn service_name(account: &Account, region: &str, short: &str, kind: &str) -> String {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2(region);
    let services = ec2.describe_vpc_endpoint_services().send().await.unwrap();
    services
        .service_details()
        .iter()
        .find(|d| {
            d.service_name().is_some_and(|n| n.ends_with(&format!(".{region}.{short}")))
                && d.service_type().iter().any(|t| t.service_type().map(|t| t.as_str()) == Some(kind))
        })
        .and_then(|d| d.service_name())
        .unwrap()
        .to_string()
}

/// The full cycle on one region's VPCs: plan → apply → verify → apply again (no write) → verify.
async fn converge(account: &Account, baseline: &std::path::Path, only: &[&str], regions: &[&str]) -> (Outcome, Outcome, Outcome) {
    let plan = account.run_in(Verb::Plan, baseline, only, regions).await;
    assert_eq!(plan.report.exit_code(), 2, "{:#?}", plan.report);
    assert!(plan.calls.mutating_sent().is_empty());
    let apply = account.run_in(Verb::Apply, baseline, only, regions).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let verify = account.run_in(Verb::Verify, baseline, only, regions).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    assert!(verify.calls.records().iter().all(|c| !c.mutating), "verify attempted writes");
    let again = account.run_in(Verb::Apply, baseline, only, regions).await;
    assert_eq!(again.report.exit_code(), 0, "{:#?}", again.report);
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert_eq!(again.report.changes.as_deref(), Some(&[][..]));
    (apply, verify, again)
}

#[tokio::test]
async fn a_two_zone_vpc_gets_gateway_interface_endpoints_and_the_security_group() {
    let account = Account::fresh().await;
    let vpc = build_vpc(&account, "us-east-1", "two-zones").await;
    let (_dir, path) = baseline("two-zones", "");
    let (apply, verify, _) = converge(&account, &path, &["vpc.endpoints"], &[]).await;
    assert_vpc_findings_pass(&verify, "vpc.endpoints");
    let resources: BTreeSet<&str> = apply.report.finding("vpc.endpoints").iter().map(|f| f.resource.as_str()).collect();
    let expected: BTreeSet<String> = ["dns", "security-group/mamori-vpc-endpoints", "gateway/s3"]
        .iter()
        .map(|r| r.to_string())
        .chain(["ssm", "ssmmessages", "ec2messages", "ec2", "kms", "monitoring", "logs"].iter().map(|s| format!("interface/{s}")))
        .map(|r| format!("{}/{r}", vpc.id))
        .collect();
    assert_eq!(resources, expected.iter().map(String::as_str).collect(), "one finding per VPC component");

    let all = endpoints(&account, "us-east-1", &vpc.id).await;
    let gateways: Vec<_> = all.iter().filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway)).collect();
    assert_eq!(gateways.len(), 1, "one S3 gateway endpoint");
    assert_eq!(gateways[0].service_name().unwrap(), service_name(&account, "us-east-1", "s3", "Gateway").await);
    let tables: BTreeSet<String> = gateways[0].route_table_ids().iter().cloned().collect();
    assert_eq!(tables, vpc.route_tables, "on both route tables");

    let groups = endpoint_groups(&account, &vpc.id).await;
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    let inbound: Vec<String> = group
        .ip_permissions()
        .iter()
        .map(|p| {
            let sources: Vec<&str> = p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).collect();
            format!("{:?} {:?}-{:?} from {}", p.ip_protocol(), p.from_port(), p.to_port(), sources.join(","))
        })
        .collect();
    assert_eq!(inbound, [r#"Some("tcp") Some(443)-Some(443) from 10.0.0.0/16"#], "exactly one inbound rule per VPC CIDR");

    let interfaces: Vec<_> = all.iter().filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Interface)).collect();
    assert_eq!(interfaces.len(), 7);
    let private: BTreeSet<String> = vpc.private.iter().cloned().collect();
    for endpoint in interfaces {
        assert_eq!(endpoint.private_dns_enabled(), Some(true), "{endpoint:?}");
        assert_eq!(endpoint.subnet_ids().iter().cloned().collect::<BTreeSet<_>>(), private, "private subnets, one per zone");
        let groups: Vec<&str> = endpoint.groups().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(groups, [group.group_id().unwrap()]);
    }
    assert!(vpc.public.iter().all(|s| !private.contains(s)));
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2("us-east-1");
    let hostnames = ec2.describe_vpc_attribute().vpc_id(&vpc.id).attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames).send().await.unwrap();
    assert_eq!(hostnames.enable_dns_hostnames().and_then(|v| v.value()), Some(true), "private DNS needs DNS hostnames");
}

/// Sent calls of `outcome` by operation, as a sorted list for the report.
fn counts(outcome: &Outcome) -> BTreeMap<String, usize> {
    outcome.calls.by_operation()
}

#[tokio::test]
async fn two_vpcs_in_two_regions_are_handled_in_one_run() {
    let account = Account::fresh().await;
    let regions = ["us-east-1", "eu-west-1"];
    let east = build_vpc(&account, "us-east-1", "pair").await;
    let west = build_vpc(&account, "eu-west-1", "pair").await;
    let (_dir, path) = baseline("pair", "");
    let (apply, verify, again) = converge(&account, &path, &["vpc"], &regions).await;
    let regions_seen: BTreeSet<&str> = verify.report.finding("vpc.endpoints").iter().map(|f| f.region.as_str()).collect();
    assert_eq!(regions_seen, BTreeSet::from(regions));
    for (region, vpc) in [("us-east-1", &east), ("eu-west-1", &west)] {
        let all = endpoints(&account, region, &vpc.id).await;
        assert_eq!(all.len(), 8, "{region}: one gateway and seven interface endpoints");
    }
    assert!(again.calls.repeated().is_empty(), "no call repeated with identical parameters: {:?}", again.calls.repeated());
    eprintln!("two VPCs in two regions: apply (fresh) {:?}", counts(&apply));
    eprintln!("two VPCs in two regions: verify --only vpc {:?} = {} calls", counts(&verify), verify.calls.sent().len());
    eprintln!("two VPCs in two regions: converged apply {:?} = {} calls", counts(&again), again.calls.sent().len());

    // One more VPC in one region: what a VPC adds to a run.
    build_vpc(&account, "us-east-1", "pair").await;
    account.run_in(Verb::Apply, &path, &["vpc"], &regions).await;
    let verify3 = account.run_in(Verb::Verify, &path, &["vpc"], &regions).await;
    assert_eq!(verify3.report.exit_code(), 0, "{:#?}", verify3.report);
    eprintln!("three VPCs: verify --only vpc {:?} = {} calls", counts(&verify3), verify3.calls.sent().len());
    assert_eq!(verify3.calls.sent().len(), verify.calls.sent().len() + 2, "a VPC costs two reads (its DNS attributes)");
}

#[tokio::test]
async fn existing_endpoints_are_extended_and_corrected_not_duplicated() {
    let account = Account::fresh().await;
    let vpc = build_vpc(&account, "us-east-1", "existing").await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let main_table = vpc.route_tables.iter().next().unwrap().clone();
    let s3 = service_name(&account, "us-east-1", "s3", "Gateway").await;
    let gateway = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc.id)
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .service_name(&s3)
        .route_table_ids(&main_table)
        .send()
        .await
        .unwrap()
        .vpc_endpoint
        .unwrap();
    let ssm_name = service_name(&account, "us-east-1", "ssm", "Interface").await;
    let ssm = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc.id)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .service_name(&ssm_name)
        .subnet_ids(&vpc.private[0])
        .private_dns_enabled(false)
        .send()
        .await
        .unwrap()
        .vpc_endpoint
        .unwrap();

    let (_dir, path) = baseline("existing", "");
    let plan = account.run_in(Verb::Plan, &path, &["vpc.endpoints"], &[]).await;
    let changes = plan.report.changes.clone().unwrap();
    let gateway_change = changes.iter().find(|c| c.resource.ends_with("/gateway/s3")).expect("gateway change");
    assert_eq!(gateway_change.action, mamori::report::Action::Update, "the existing gateway is reused");
    let ssm_change = changes.iter().find(|c| c.resource.ends_with("/interface/ssm")).expect("ssm change");
    assert_eq!(ssm_change.action, mamori::report::Action::Update);
    assert_eq!(ssm_change.before["private_dns"], Value::Bool(false));

    let (apply, _, _) = converge(&account, &path, &["vpc.endpoints"], &[]).await;
    let creates = apply.calls.sent().iter().filter(|c| c.operation == "CreateVpcEndpoint").count();
    assert_eq!(creates, 6, "only the six missing interface endpoints are created");

    let all = endpoints(&account, "us-east-1", &vpc.id).await;
    let gateways: Vec<_> = all.iter().filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway)).collect();
    assert_eq!(gateways.len(), 1, "still one gateway endpoint");
    assert_eq!(gateways[0].vpc_endpoint_id(), gateway.vpc_endpoint_id());
    assert_eq!(gateways[0].route_table_ids().iter().cloned().collect::<BTreeSet<_>>(), vpc.route_tables, "extended to both route tables");
    let ssms: Vec<_> = all.iter().filter(|e| e.service_name() == Some(ssm_name.as_str())).collect();
    assert_eq!(ssms.len(), 1, "the ssm endpoint is not duplicated");
    assert_eq!(ssms[0].vpc_endpoint_id(), ssm.vpc_endpoint_id());
    assert_eq!(ssms[0].private_dns_enabled(), Some(true), "private DNS corrected");
    assert_eq!(ssms[0].subnet_ids().iter().cloned().collect::<BTreeSet<_>>(), vpc.private.iter().cloned().collect(), "second zone added");
    assert_eq!(ssms[0].groups().len(), 1, "the endpoint security group attached");
}

/// A foreign statement with its own spacing and key order: it must come back byte for byte.
const FOREIGN: &str = r#"{"Sid":"TheirReadAccess", "Principal" : {"AWS":"arn:aws:iam::111122223333:root"},"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::BUCKET/*"}"#;

async fn bucket_policy(account: &Account, bucket: &str) -> String {
    let s3 = account.aws(AccessMode::ReadOnly).await.s3("us-east-1");
    s3.get_bucket_policy().bucket(bucket).send().await.unwrap().policy.unwrap()
}

fn ours(policy: &str) -> Value {
    let document: Value = serde_json::from_str(policy).unwrap();
    let statements = document["Statement"].as_array().unwrap().clone();
    let ours: Vec<&Value> = statements.iter().filter(|s| s["Sid"] == "MamoriVpceOnly").collect();
    assert_eq!(ours.len(), 1, "one mamori statement: {policy}");
    ours[0].clone()
}

/// The role the tests' moto sessions belong to (`Account::fresh` assumes `mamori-test`), created under
/// `path`: moto, like AWS, answers `iam:GetRole` only for a role that exists. On LocalStack the tests
/// call as the account root, and the role is one more role.
async fn create_caller_role(account: &Account, path: &str) {
    let trust = format!(r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{}:root"}}, "Action": "sts:AssumeRole"}}]}}"#, account.id);
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.create_role().role_name("mamori-test").path(path).assume_role_policy_document(trust).send().await.unwrap();
}

#[tokio::test]
async fn data_buckets_move_to_endpoint_only_in_two_stages_keeping_foreign_statements() {
    let account = Account::fresh().await;
    create_caller_role(&account, "/").await;
    build_vpc(&account, "us-east-1", "buckets").await;
    let bucket = format!("{}-sensitive-data", account.id);
    let s3 = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let foreign = FOREIGN.replace("BUCKET", &bucket);
    s3.put_bucket_policy().bucket(&bucket).policy(format!("{{\"Version\": \"2012-10-17\",\n \"Statement\": [{foreign}]}}")).send().await.unwrap();
    crate::harness::propagated().await;

    // The break-glass principals include the test's caller (moto: the assumed role `mamori-test`;
    // LocalStack: the account root), or mamori would refuse to write the deny.
    let section = |stage: &str| {
        format!(
            "  s3_bucket_vpce_only:\n    break_glass_principals:\n      - \"arn:{{partition}}:iam::{{account_id}}:role/mamori-test\"\n      - \"arn:{{partition}}:iam::{{account_id}}:root\"\n    buckets:\n      - name: \"{{account_id}}-sensitive-data\"\n        stage: {stage}\n        source_ips: [203.0.113.0/24, 198.51.100.7/32]\n"
        )
    };

    let (_dir, stage1) = baseline("buckets", &section("allow-ip-or-vpce"));
    converge(&account, &stage1, &["vpc"], &[]).await;
    let policy = bucket_policy(&account, &bucket).await;
    assert!(policy.contains(&foreign), "stage 1 kept the foreign statement byte for byte:\n{policy}");
    let statement = ours(&policy);
    let condition = &statement["Condition"];
    assert!(condition["StringNotEquals"]["aws:SourceVpce"].to_string().contains("vpce-"), "{statement}");
    assert_eq!(condition["NotIpAddress"]["aws:SourceIp"], serde_json::json!(["198.51.100.7/32", "203.0.113.0/24"]), "both conditions in one statement");
    let break_glass = serde_json::json!([format!("arn:aws:iam::{}:role/mamori-test", account.id), format!("arn:aws:iam::{}:root", account.id)]);
    assert_eq!(condition["ArnNotLike"]["aws:PrincipalArn"], break_glass);
    let perimeter = mamori::policy::normalize(&condition["BoolIfExists"]);
    assert_eq!(perimeter, serde_json::json!({"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}), "AWS services are spared: {statement}");
    assert_eq!(statement["Effect"], "Deny");

    let (_dir2, stage2) = baseline("buckets", &section("vpce-only"));
    let (apply, verify, _) = converge(&account, &stage2, &["vpc.s3-bucket-vpce-only"], &[]).await;
    assert_vpc_findings_pass(&verify, "vpc.s3-bucket-vpce-only");
    assert_eq!(apply.calls.sent().iter().filter(|c| c.operation == "PutBucketPolicy").count(), 1);
    let policy = bucket_policy(&account, &bucket).await;
    assert!(policy.contains(&foreign), "stage 2 kept the foreign statement byte for byte:\n{policy}");
    let statement = ours(&policy);
    assert!(statement["Condition"].get("NotIpAddress").is_none(), "{statement}");
    assert!(statement["Condition"].get("StringNotEquals").is_some(), "{statement}");
}

#[tokio::test]
async fn the_deny_is_never_written_by_a_caller_that_would_lock_itself_out() {
    let account = Account::fresh().await;
    create_caller_role(&account, "/").await;
    build_vpc(&account, "us-east-1", "lockout").await;
    let bucket = format!("{}-locked", account.id);
    account.aws(AccessMode::ReadWrite).await.s3("us-east-1").create_bucket().bucket(&bucket).send().await.unwrap();
    let (_dir, path) = baseline(
        "lockout",
        "  s3_bucket_vpce_only:\n    break_glass_principals: [\"arn:{partition}:iam::{account_id}:role/BreakGlass\"]\n    buckets:\n      - name: \"{account_id}-locked\"\n",
    );
    let apply = account.run_in(Verb::Apply, &path, &["vpc"], &[]).await;
    assert_eq!(apply.report.exit_code(), 1, "{:#?}", apply.report);
    let finding = &apply.report.finding("vpc.s3-bucket-vpce-only")[0];
    assert_eq!(finding.status, Status::Error);
    assert!(finding.message.contains("not a break-glass principal"), "{}", finding.message);
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "PutBucketPolicy"), "no policy written");
    assert_vpc_findings_pass(&apply, "vpc.endpoints");
}

/// moto only (on LocalStack the tests call as the account root, which has no role): a role session is
/// compared by its role's ARN with the path, as `aws:PrincipalArn` carries it on AWS.
#[tokio::test]
async fn break_glass_principals_are_compared_with_the_callers_role_path() {
    let account = Account::fresh().await;
    build_vpc(&account, "us-east-1", "role-path").await;
    let bucket = format!("{}-role-path", account.id);
    account.aws(AccessMode::ReadWrite).await.s3("us-east-1").create_bucket().bucket(&bucket).send().await.unwrap();
    let section = |break_glass: &str| {
        format!("  s3_bucket_vpce_only:\n    break_glass_principals: [\"arn:{{partition}}:iam::{{account_id}}:role/{break_glass}\"]\n    buckets:\n      - name: \"{{account_id}}-role-path\"\n")
    };
    let (_dir, without_path) = baseline("role-path", &section("mamori-test"));
    let refused = |outcome: &Outcome, why: &str| {
        assert_eq!(outcome.report.exit_code(), 1, "{:#?}", outcome.report);
        let finding = &outcome.report.finding("vpc.s3-bucket-vpce-only")[0];
        assert_eq!(finding.status, Status::Error);
        assert!(finding.message.contains(why), "{}", finding.message);
        assert!(!outcome.calls.sent().iter().any(|c| c.operation == "PutBucketPolicy"), "no policy written");
    };

    // The role cannot be read: whether the caller is exempt cannot be confirmed.
    let apply = account.run_in(Verb::Apply, &without_path, &["vpc"], &[]).await;
    refused(&apply, "could not be read");

    // The caller's role is ops/mamori-test: a pattern without the path does not exempt it on AWS.
    create_caller_role(&account, "/ops/").await;
    let apply = account.run_in(Verb::Apply, &without_path, &["vpc"], &[]).await;
    refused(&apply, &format!("the caller arn:aws:iam::{}:role/ops/mamori-test is not a break-glass principal", account.id));
    assert_eq!(apply.calls.sent().iter().filter(|c| c.operation == "GetRole").count(), 1, "the role is read once, before the first write");

    let (_dir2, with_path) = baseline("role-path", &section("ops/mamori-test"));
    let (apply, _, again) = converge(&account, &with_path, &["vpc"], &[]).await;
    assert_eq!(apply.calls.sent().iter().filter(|c| c.operation == "PutBucketPolicy").count(), 1);
    assert!(!again.calls.sent().iter().any(|c| c.operation == "GetRole"), "a converged apply writes nothing, so reads no role");
    let statement = ours(&bucket_policy(&account, &bucket).await);
    let exempted = mamori::policy::normalize(&statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]);
    assert_eq!(exempted, serde_json::json!(format!("arn:aws:iam::{}:role/ops/mamori-test", account.id)));
}

/// The policy of every endpoint of `vpc`, by service short name (`s3` for the gateway), normalized
/// and written out again (the emulators serialize it each their own way).
async fn endpoint_policies(account: &Account, vpc: &str) -> BTreeMap<String, String> {
    let policy = |text: Option<&str>| mamori::policy::normalize(&serde_json::from_str::<Value>(text.unwrap_or("null")).unwrap()).to_string();
    endpoints(account, "us-east-1", vpc).await.iter().map(|e| (e.service_name().unwrap().rsplit('.').next().unwrap().to_string(), policy(e.policy_document()))).collect()
}

#[tokio::test]
async fn endpoint_policies_draw_the_data_perimeter_and_replace_a_policy_someone_wrote_only_when_asked() {
    let account = Account::fresh().await;
    let vpc = build_vpc(&account, "us-east-1", "perimeter").await;
    // Someone's gateway endpoint with the default (allow-all) policy, and their ssm endpoint with a
    // policy of their own.
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let s3 = service_name(&account, "us-east-1", "s3", "Gateway").await;
    let first_table = vpc.route_tables.iter().next().unwrap();
    ec2.create_vpc_endpoint().vpc_id(&vpc.id).vpc_endpoint_type(VpcEndpointType::Gateway).service_name(&s3).route_table_ids(first_table).send().await.unwrap();
    let theirs = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ssm:*","Resource":"*"}]}"#;
    let ssm = service_name(&account, "us-east-1", "ssm", "Interface").await;
    ec2.create_vpc_endpoint()
        .vpc_id(&vpc.id)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .service_name(&ssm)
        .subnet_ids(&vpc.private[0])
        .policy_document(theirs)
        .send()
        .await
        .unwrap();

    // keep (the default): every endpoint is made, and no policy is read or written.
    let (_dir, keep) = baseline("perimeter", "");
    converge(&account, &keep, &["vpc.endpoints"], &[]).await;
    let kept: Value = serde_json::from_str(&endpoint_policies(&account, &vpc.id).await["ssm"]).unwrap();
    let theirs: Value = serde_json::from_str(theirs).unwrap();
    assert_eq!(kept["Statement"], mamori::policy::normalize(&theirs["Statement"]), "keep leaves their policy");

    // own-organization in an account in no organization (or where Organizations is not available, on
    // LocalStack): an error, and nothing written.
    let on_moto = crate::harness::emulator().engine == crate::harness::Engine::Moto;
    let (_dir, organization) = baseline("perimeter", "    endpoint_policy: own-organization\n");
    let refused = account.run_in(Verb::Apply, &organization, &["vpc.endpoints"], &[]).await;
    assert_eq!(refused.report.exit_code(), 1);
    assert!(refused.calls.mutating_sent().is_empty(), "{:?}", refused.calls.mutating_sent());
    let error = refused.report.finding("vpc.endpoints").into_iter().find(|f| f.status == Status::Error).expect("an error finding");
    assert!(!on_moto || error.message.contains("belongs to none"), "{}", error.message);

    // own-account: the plan shows their policy and the one that replaces it; then it converges.
    let (_dir, own) = baseline("perimeter", "    endpoint_policy: own-account\n");
    let plan = account.run_in(Verb::Plan, &own, &["vpc.endpoints"], &[]).await;
    let changes = plan.report.changes.clone().unwrap();
    let change = changes.iter().find(|c| c.resource.ends_with("/interface/ssm")).expect("a change for ssm");
    assert_eq!(change.before["policy.Statement.Sid"], "Theirs", "{change:?}");
    assert_eq!(change.after["policy.Statement.Condition"]["StringEquals"]["aws:PrincipalAccount"], account.id.as_str(), "{change:?}");
    let (apply, verify, again) = converge(&account, &own, &["vpc.endpoints"], &[]).await;
    assert_vpc_findings_pass(&verify, "vpc.endpoints");
    let modified = apply.calls.sent().iter().filter(|c| c.operation == "ModifyVpcEndpoint").count();
    assert_eq!(modified, 8, "one policy write per endpoint: the gateway and seven interface endpoints");
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "a converged apply costs what verify costs");
    let policies = endpoint_policies(&account, &vpc.id).await;
    assert_eq!(policies.len(), 8, "{policies:?}");
    for (service, policy) in &policies {
        assert!(policy.contains(&format!("\"aws:PrincipalAccount\":\"{}\"", account.id)), "{service}: {policy}");
    }
    assert!(policies["s3"].contains(&format!("\"aws:ResourceAccount\":\"{}\"", account.id)), "{}", policies["s3"]);
    assert!(policies["s3"].contains("arn:aws:s3:::amazon-ssm-us-east-1/*"), "SSM Agent's buckets stay reachable: {}", policies["s3"]);

    // own-organization once the account is in one (moto: LocalStack has no Organizations): the
    // organization's id, read once.
    if !on_moto {
        return;
    }
    let organizations = account.aws(AccessMode::ReadWrite).await.organizations();
    let created = organizations.create_organization().feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All).send().await.unwrap();
    let organization_id = created.organization().unwrap().id().unwrap().to_string();
    let (apply, verify, _) = converge(&account, &organization, &["vpc.endpoints"], &[]).await;
    assert_eq!(apply.calls.sent().iter().filter(|c| c.operation == "ModifyVpcEndpoint").count(), 8);
    assert_eq!(verify.calls.sent().iter().filter(|c| c.operation == "DescribeOrganization").count(), 1);
    for (service, policy) in endpoint_policies(&account, &vpc.id).await {
        assert!(policy.contains(&format!("\"aws:PrincipalOrgID\":\"{organization_id}\"")), "{service}: {policy}");
    }
}

/// A private hosted zone named `name`, associated with `vpc` (the centralised-endpoints design: the
/// zone answers for a service's name with a hub's endpoints). Returns its id.
async fn private_zone(account: &Account, vpc: &str, name: &str) -> String {
    use aws_sdk_route53::types::{HostedZoneConfig, Vpc, VpcRegion};
    let route53 = account.aws(AccessMode::ReadWrite).await.route53();
    let zone = route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("{vpc}-{name}"))
        .vpc(Vpc::builder().vpc_id(vpc).vpc_region(VpcRegion::UsEast1).build())
        .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).comment("centralised endpoints").build())
        .send()
        .await
        .unwrap();
    zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
}

#[tokio::test]
async fn a_service_a_central_private_hosted_zone_answers_for_is_skipped_and_the_others_are_made() {
    let account = Account::fresh().await;
    let vpc = build_vpc(&account, "us-east-1", "central").await;
    let zone = private_zone(&account, &vpc.id, "ssm.us-east-1.amazonaws.com").await;
    let (_dir, path) = baseline("central", "");
    let (apply, verify, again) = converge(&account, &path, &["vpc.endpoints"], &[]).await;

    let findings = verify.report.finding("vpc.endpoints");
    let ssm = findings.iter().find(|f| f.resource == format!("{}/interface/ssm", vpc.id)).expect("a finding for ssm");
    assert_eq!(ssm.status, Status::Skipped, "{ssm:?}");
    assert!(ssm.message.contains(&format!("private hosted zone {zone}")) && ssm.message.contains("ssm.us-east-1.amazonaws.com"), "{}", ssm.message);
    assert!(findings.iter().filter(|f| f.resource != ssm.resource).all(|f| f.status == Status::Pass), "{findings:#?}");
    let ssm_name = service_name(&account, "us-east-1", "ssm", "Interface").await;
    let all = endpoints(&account, "us-east-1", &vpc.id).await;
    assert!(!all.iter().any(|e| e.service_name() == Some(ssm_name.as_str())), "no endpoint where AWS refuses it");
    let interfaces = all.iter().filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Interface)).count();
    assert_eq!(interfaces, 6, "every other service got its endpoint in the same apply");
    let creates = apply.calls.sent().iter().filter(|c| c.operation == "CreateVpcEndpoint").count();
    assert_eq!(creates, 7, "the gateway and six interface endpoints; none attempted for ssm");

    let route53_reads = |outcome: &Outcome| outcome.calls.sent().iter().filter(|c| c.operation == "ListHostedZonesByVPC").count();
    assert_eq!(route53_reads(&verify), 1, "one Route 53 read for the VPC whose ssm endpoint is missing");
    assert_eq!(route53_reads(&again), 1);
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "a converged apply costs what verify costs");
}

#[tokio::test]
async fn inbound_rules_someone_added_to_the_endpoint_group_are_kept_unless_the_baseline_revokes_them() {
    let account = Account::fresh().await;
    let vpc = build_vpc(&account, "us-east-1", "peered").await;
    let (_dir, path) = baseline("peered", "");
    converge(&account, &path, &["vpc.endpoints"], &[]).await;

    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let group = endpoint_groups(&account, &vpc.id).await[0].group_id().unwrap().to_string();
    // A peered VPC and an on-premises range reach the endpoints too: the team added them by hand.
    let https_from = |cidr: &str| {
        aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
            .build()
    };
    ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(https_from("10.1.0.0/16")).ip_permissions(https_from("192.168.0.0/16")).send().await.unwrap();
    let sources = || async {
        let groups = ec2.describe_security_groups().group_ids(&group).send().await.unwrap();
        let mut cidrs: Vec<String> =
            groups.security_groups()[0].ip_permissions().iter().flat_map(|p| p.ip_ranges()).filter_map(|r| r.cidr_ip()).map(str::to_string).collect();
        cidrs.sort();
        cidrs
    };

    let verify = account.run(Verb::Verify, &path, &["vpc.endpoints"]).await;
    assert_eq!(verify.report.exit_code(), 0, "rules the baseline does not own are not drift: {:#?}", verify.report);
    let apply = account.run(Verb::Apply, &path, &["vpc.endpoints"]).await;
    assert!(apply.calls.mutating_sent().is_empty(), "nothing revoked: {:?}", apply.calls.mutating_sent());
    assert_eq!(sources().await, ["10.0.0.0/16", "10.1.0.0/16", "192.168.0.0/16"]);

    let (_dir2, revoking) = baseline("peered", "    revoke_other_ingress: true\n");
    let plan = account.run(Verb::Plan, &revoking, &["vpc.endpoints"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.resource.ends_with("/security-group/mamori-vpc-endpoints")).expect("the opt-in plans the revocation");
    assert_eq!(change.action, mamori::report::Action::Update);
    let apply = account.run(Verb::Apply, &revoking, &["vpc.endpoints"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(writes, ["RevokeSecurityGroupIngress"]);
    assert_eq!(sources().await, ["10.0.0.0/16"], "with the opt-in, only the VPC's own rule stays");
}

/// A VPC with an IPv6 block and three subnets: in zone a a private /28 with no free address and a
/// public /24; in zone b an IPv6-only subnet. The lowest-id private subnet of each zone cannot hold an
/// endpoint interface.
async fn crowded_vpc(account: &Account, name: &str) -> (String, String, String) {
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let created = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .tag_specifications(tagged(ResourceType::Vpc, name))
        .send()
        .await
        .unwrap();
    let id = created.vpc().unwrap().vpc_id().unwrap().to_string();
    let described = ec2.describe_vpcs().vpc_ids(&id).send().await.unwrap();
    let block = described.vpcs()[0].ipv6_cidr_block_association_set()[0].ipv6_cidr_block().unwrap().to_string();
    let igw = ec2.create_internet_gateway().send().await.unwrap().internet_gateway.unwrap().internet_gateway_id.unwrap();
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&id).send().await.unwrap();
    let public_table = ec2.create_route_table().vpc_id(&id).send().await.unwrap().route_table.unwrap().route_table_id.unwrap();
    ec2.create_route().route_table_id(&public_table).destination_cidr_block("0.0.0.0/0").gateway_id(&igw).send().await.unwrap();

    let subnet = |cidr: Option<&str>, zone: &str| {
        let request = ec2.create_subnet().vpc_id(&id).availability_zone(format!("us-east-1{zone}"));
        match cidr {
            Some(cidr) => request.cidr_block(cidr),
            None => request.ipv6_cidr_block(block.replace("::/56", "::/64")).ipv6_native(true),
        }
    };
    let full = subnet(Some("10.0.0.0/28"), "a").send().await.unwrap().subnet.unwrap();
    for _ in 0..full.available_ip_address_count().unwrap() {
        ec2.create_network_interface().subnet_id(full.subnet_id().unwrap()).send().await.unwrap();
    }
    let public = subnet(Some("10.0.1.0/24"), "a").send().await.unwrap().subnet.unwrap().subnet_id.unwrap();
    ec2.associate_route_table().route_table_id(&public_table).subnet_id(&public).send().await.unwrap();
    let ipv6_only = subnet(None, "b").send().await.unwrap().subnet.unwrap().subnet_id.unwrap();
    (id, public, ipv6_only)
}

#[tokio::test]
async fn endpoints_pass_over_full_and_ipv6_only_subnets_and_a_zone_without_room_is_reported() {
    let account = Account::fresh().await;
    let (vpc, public, ipv6_only) = crowded_vpc(&account, "crowded").await;
    let (_dir, path) = baseline("crowded", "");

    let plan = account.run(Verb::Plan, &path, &["vpc.endpoints"]).await;
    assert_eq!(plan.report.exit_code(), 2);
    let apply = account.run(Verb::Apply, &path, &["vpc.endpoints"]).await;
    assert_eq!(apply.report.exit_code(), 2, "zone b stays a manual finding: {:#?}", apply.report);
    let verify = account.run(Verb::Verify, &path, &["vpc.endpoints"]).await;
    assert_eq!(verify.report.exit_code(), 2);
    let findings = verify.report.finding("vpc.endpoints");
    let zone = findings.iter().find(|f| f.resource == format!("{vpc}/zone/us-east-1b")).expect("the zone without room is reported");
    assert_eq!(zone.status, Status::Manual);
    assert_eq!(zone.actual.as_ref().unwrap()["subnets"][&ipv6_only], "IPv6-only: no IPv4 range for the endpoint's address", "{zone:?}");
    assert!(zone.remediation.as_deref().is_some_and(|r| r.contains("create-subnet")), "{zone:?}");
    assert!(findings.iter().filter(|f| f.resource != zone.resource).all(|f| f.status == Status::Pass), "{findings:#?}");

    let interfaces: Vec<_> = endpoints(&account, "us-east-1", &vpc).await.into_iter().filter(|e| e.vpc_endpoint_type() == Some(&VpcEndpointType::Interface)).collect();
    assert_eq!(interfaces.len(), 7);
    for endpoint in &interfaces {
        assert_eq!(endpoint.subnet_ids(), [public.clone()], "the full private subnet is passed over for the public one with room: {endpoint:?}");
    }
    let again = account.run(Verb::Apply, &path, &["vpc.endpoints"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
}
