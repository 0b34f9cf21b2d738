//! `vpc.restricted-egress` end to end: security groups built with the SDK behind mamori's back (AWS's
//! default egress, all traffic to 0.0.0.0/0), restricted to S3's prefix list and their VPC, their
//! other egress revoked only on opt-in; named ids that exist nowhere, or in another region.

use std::collections::BTreeSet;

use mamori::app::Outcome;
use mamori::aws::AccessMode;
use mamori::inventory::security_groups::rules::{Direction, Rule};
use mamori::report::{Status, Verb};

use crate::harness::{baseline_file, Account};

const CONTROL: &str = "vpc.restricted-egress";
const ALL_TRAFFIC: &str = "all traffic to 0.0.0.0/0";

/// A VPC (10.0.0.0/16) and security groups `names` in it; returns their ids in order.
async fn groups_in_new_vpc(account: &Account, region: &str, names: &[&str]) -> Vec<String> {
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2(region);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let mut ids = Vec::new();
    for name in names {
        let group = ec2.create_security_group().group_name(*name).description("mamori test").vpc_id(&vpc).send().await.unwrap();
        ids.push(group.group_id.unwrap());
    }
    ids
}

/// The egress rules of `group`, as findings write them.
async fn egress(account: &Account, region: &str, group: &str) -> BTreeSet<String> {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2(region);
    let described = ec2.describe_security_groups().group_ids(group).send().await.unwrap();
    described.security_groups()[0]
        .ip_permissions_egress()
        .iter()
        .flat_map(|p| Rule::from_permission(Direction::Outbound, p))
        .map(String::from)
        .collect()
}

async fn s3_prefix_list(account: &Account, region: &str) -> String {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2(region);
    let lists = ec2.describe_prefix_lists().send().await.unwrap();
    let s3 = lists.prefix_lists().iter().find(|l| l.prefix_list_name() == Some(&format!("com.amazonaws.{region}.s3"))).expect("the S3 prefix list");
    s3.prefix_list_id().unwrap().to_string()
}

fn baseline(regions: &str, groups: &[&str], revoke: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    baseline_file(&format!(
        "version: 1\nname: egress-test\nregions: [{regions}]\nvpc:\n  restricted_egress:\n    security_groups: [{}]\n    revoke_other_egress: {revoke}\n",
        groups.join(", ")
    ))
}

fn status_of(outcome: &Outcome, resource: &str) -> Status {
    let findings = outcome.report.finding(CONTROL);
    findings.iter().find(|f| f.resource == resource).unwrap_or_else(|| panic!("no finding {resource} in {findings:#?}")).status
}

fn mutating(outcome: &Outcome) -> Vec<String> {
    outcome.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect()
}

#[tokio::test]
async fn egress_is_opened_to_s3_and_the_vpc_and_other_rules_revoked_only_on_opt_in() {
    let account = Account::fresh().await;
    let ids = groups_in_new_vpc(&account, "us-east-1", &["restricted", "bystander"]).await;
    let (group, bystander) = (&ids[0], &ids[1]);
    assert_eq!(egress(&account, "us-east-1", group).await, BTreeSet::from([ALL_TRAFFIC.to_string()]), "AWS's default egress");
    let bystander_before = egress(&account, "us-east-1", bystander).await;
    let prefix_list = s3_prefix_list(&account, "us-east-1").await;
    let wanted: BTreeSet<String> = [443, 80]
        .iter()
        .flat_map(|port| [format!("tcp {port} to {prefix_list}"), format!("tcp {port} to 10.0.0.0/16")])
        .collect();
    let allowed = format!("security-group/{group}/allowed-egress");
    let other = format!("security-group/{group}/other-egress");

    let (_dir, report_only) = baseline("us-east-1", &[group], false);
    let plan = account.run(Verb::Plan, &report_only, &[CONTROL]).await;
    assert_eq!(plan.report.exit_code(), 2, "{:#?}", plan.report);
    assert!(plan.calls.mutating_sent().is_empty());
    let changes = plan.report.changes.clone().unwrap();
    assert_eq!(changes.iter().map(|c| c.resource.as_str()).collect::<Vec<_>>(), [allowed.as_str()], "only the allowed rules are a change");
    assert_eq!(status_of(&plan, &other), Status::Manual);

    let apply = account.run(Verb::Apply, &report_only, &[CONTROL]).await;
    assert_eq!(apply.report.exit_code(), 2, "the other rule stays manual: {:#?}", apply.report);
    assert_eq!(mutating(&apply), ["AuthorizeSecurityGroupEgress"]);
    assert_eq!(status_of(&apply, &allowed), Status::Pass);
    let finding = apply.report.findings.iter().find(|f| f.resource == other).unwrap();
    assert_eq!(finding.status, Status::Manual);
    assert_eq!(finding.actual, Some(serde_json::json!({"egress": [ALL_TRAFFIC]})));
    let steps = finding.remediation.as_deref().unwrap();
    assert!(
        steps.contains(&format!("revoke-security-group-egress --region us-east-1 --group-id {group} --ip-permissions '[{{\"IpProtocol\":\"-1\",\"IpRanges\":[{{\"CidrIp\":\"0.0.0.0/0\"}}]}}]'")),
        "{steps}"
    );
    let mut expected = wanted.clone();
    expected.insert(ALL_TRAFFIC.to_string());
    assert_eq!(egress(&account, "us-east-1", group).await, expected, "the wanted rules added, the allow-all still there");
    eprintln!("restricted egress: first apply {:?} = {} calls", apply.calls.by_operation(), apply.calls.sent().len());

    let (_dir2, revoking) = baseline("us-east-1", &[group], true);
    let plan = account.run(Verb::Plan, &revoking, &[CONTROL]).await;
    assert_eq!(status_of(&plan, &other), Status::Fail, "with the opt-in, apply fixes it");
    let apply = account.run(Verb::Apply, &revoking, &[CONTROL]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    assert_eq!(mutating(&apply), ["RevokeSecurityGroupEgress"]);
    assert_eq!(egress(&account, "us-east-1", group).await, wanted, "exactly the allow-all rule revoked");
    assert_eq!(egress(&account, "us-east-1", bystander).await, bystander_before, "a group the baseline does not name is untouched");

    let verify = account.run(Verb::Verify, &revoking, &[CONTROL]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    assert!(verify.calls.records().iter().all(|c| !c.mutating), "verify attempted writes");
    let again = account.run(Verb::Apply, &revoking, &[CONTROL]).await;
    assert_eq!(again.report.exit_code(), 0, "{:#?}", again.report);
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert!(again.calls.repeated().is_empty(), "no call repeated with identical parameters: {:?}", again.calls.repeated());
    eprintln!("restricted egress: verify {:?} = {} calls", verify.calls.by_operation(), verify.calls.sent().len());
    assert_eq!(verify.calls.sent().len(), 4, "identity, the group lookup, the S3 prefix list and the VPC: {:?}", verify.calls.by_operation());
}

#[tokio::test]
async fn a_group_id_found_in_no_region_is_reported_once_and_a_group_of_another_region_is_not_missing() {
    let account = Account::fresh().await;
    let west = groups_in_new_vpc(&account, "eu-west-1", &["west"]).await.remove(0);
    let nowhere = "sg-0123456789abcdef0";
    let (_dir, path) = baseline("us-east-1, eu-west-1", &[nowhere, &west], false);

    let verify = account.run(Verb::Verify, &path, &[CONTROL]).await;
    assert_eq!(verify.report.exit_code(), 2, "{:#?}", verify.report);
    let findings = verify.report.finding(CONTROL);
    let missing: Vec<_> = findings.iter().filter(|f| f.resource == format!("security-group/{nowhere}")).collect();
    assert_eq!(missing.len(), 1, "reported once: {findings:#?}");
    assert_eq!((missing[0].region.as_str(), missing[0].status), ("us-east-1", Status::Manual), "in the home region");
    let steps = missing[0].remediation.as_deref().unwrap();
    assert!(steps.contains(&format!("security group {nowhere} does not exist in any region of this run (us-east-1, eu-west-1)")), "{steps}");
    let west_resources: BTreeSet<&str> = findings.iter().filter(|f| f.resource.contains(&west)).map(|f| f.resource.as_str()).collect();
    assert_eq!(west_resources, BTreeSet::from([format!("security-group/{west}/allowed-egress").as_str(), format!("security-group/{west}/other-egress").as_str()]));
    assert!(findings.iter().filter(|f| f.resource.contains(&west)).all(|f| f.region == "eu-west-1"));
    let calls = verify.calls.by_operation();
    assert_eq!(calls.get("EC2:DescribeSecurityGroups"), Some(&2), "one lookup per region, shared by the home region: {calls:?}");
    assert_eq!((calls.get("EC2:DescribePrefixLists"), calls.get("EC2:DescribeVpcs")), (Some(&1), Some(&1)), "only where a group exists: {calls:?}");
    assert!(verify.calls.repeated().is_empty(), "{:?}", verify.calls.repeated());

    let (_dir2, west_only) = baseline("us-east-1, eu-west-1", &[&west], false);
    let verify = account.run(Verb::Verify, &west_only, &[CONTROL]).await;
    let east: Vec<_> = verify.report.finding(CONTROL).into_iter().filter(|f| f.region == "us-east-1").collect();
    assert_eq!(east.len(), 1, "{east:#?}");
    assert_eq!((east[0].resource.as_str(), east[0].status), ("(no named security group in this region)", Status::Pass));
}

#[tokio::test]
async fn with_the_opt_in_a_fresh_group_is_opened_before_anything_is_revoked() {
    let account = Account::fresh().await;
    let group = groups_in_new_vpc(&account, "us-east-1", &["fresh"]).await.remove(0);
    let (_dir, path) = baseline("us-east-1", &[&group], true);
    let apply = account.run(Verb::Apply, &path, &[CONTROL]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    assert_eq!(mutating(&apply), ["AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress"], "authorize first, then revoke");
    assert!(!egress(&account, "us-east-1", &group).await.contains(ALL_TRAFFIC));
}
