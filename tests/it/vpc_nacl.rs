//! `vpc.nacl-admin-ports` end to end: the default network ACL every VPC starts with (all inbound
//! traffic allowed, rule 100), and ACLs built with the SDK behind mamori's back, closed with deny
//! entries on opt-in, reported with the exact commands otherwise; nothing deleted.

use aws_sdk_ec2::types::{NetworkAclEntry, PortRange, RuleAction};
use mamori::aws::AccessMode;
use mamori::report::{Status, Verb};

use crate::controls::assert_converges_with;
use crate::harness::{baseline_file, standard_baseline, Account};

const CONTROL: &str = "vpc.nacl-admin-ports";
const OPTED_IN: &str = "version: 1\nname: t\nregions: [us-east-1]\nvpc:\n  nacl_admin_ports:\n    deny_open_admin_ports: true\n";

/// A network ACL in a new VPC with `entries` (rule number, protocol, ports, source, allow) inbound.
async fn acl_with(account: &Account, entries: &[(i32, &str, Option<(i32, i32)>, &str, bool)]) -> String {
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let acl = ec2.create_network_acl().vpc_id(&vpc).send().await.unwrap().network_acl.unwrap().network_acl_id.unwrap();
    for (rule_number, protocol, ports, source, allow) in entries {
        let request = ec2
            .create_network_acl_entry()
            .network_acl_id(&acl)
            .egress(false)
            .rule_number(*rule_number)
            .protocol(*protocol)
            .set_port_range(ports.map(|(from, to)| PortRange::builder().from(from).to(to).build()))
            .rule_action(if *allow { RuleAction::Allow } else { RuleAction::Deny });
        let request = if source.contains(':') { request.ipv6_cidr_block(*source) } else { request.cidr_block(*source) };
        request.send().await.unwrap();
    }
    acl
}

/// The inbound entries of `acl`, as `(rule, action, protocol, from port, source)`, by rule number.
async fn inbound(account: &Account, acl: &str) -> Vec<(i32, String, String, Option<i32>, String)> {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2("us-east-1");
    let described = ec2.describe_network_acls().network_acl_ids(acl).send().await.unwrap();
    let source = |e: &NetworkAclEntry| e.cidr_block().or(e.ipv6_cidr_block()).unwrap_or_default().to_string();
    let mut entries: Vec<_> = described.network_acls()[0]
        .entries()
        .iter()
        .filter(|e| e.egress() == Some(false))
        .map(|e| {
            let action = e.rule_action().map(|a| a.as_str().to_string()).unwrap_or_default();
            (e.rule_number().unwrap(), action, e.protocol().unwrap_or_default().to_string(), e.port_range().and_then(|r| r.from()), source(e))
        })
        .collect();
    entries.sort();
    entries
}

fn row(rule: i32, action: &str, protocol: &str, port: Option<i32>, source: &str) -> (i32, String, String, Option<i32>, String) {
    (rule, action.into(), protocol.into(), port, source.into())
}

#[tokio::test]
async fn world_open_admin_ports_are_closed_by_deny_entries_just_ahead_on_opt_in() {
    let account = Account::fresh().await;
    // SSH from the office range first (rule 50), then everything from everywhere, both families.
    let acl = acl_with(&account, &[(50, "6", Some((22, 22)), "10.0.0.0/8", true), (100, "-1", None, "0.0.0.0/0", true), (101, "-1", None, "::/0", true)]).await;
    let (_dir, baseline) = baseline_file(OPTED_IN);

    let plan = account.run(Verb::Plan, &baseline, &[CONTROL]).await;
    let resources: Vec<&str> = plan.report.changes.iter().flatten().map(|c| c.resource.as_str()).collect();
    assert!(resources.contains(&format!("network-acl/{acl}").as_str()), "{resources:?}");
    let apply = assert_converges_with(&account, &baseline, CONTROL, &[]).await;
    let writes = apply.calls.mutating_sent();
    assert!(writes.iter().all(|c| c.operation == "CreateNetworkAclEntry"), "nothing but added entries: {writes:?}");

    let expected = vec![
        row(50, "allow", "6", Some(22), "10.0.0.0/8"),
        row(92, "deny", "17", Some(3389), "::/0"),
        row(93, "deny", "17", Some(22), "::/0"),
        row(94, "deny", "6", Some(3389), "::/0"),
        row(95, "deny", "6", Some(22), "::/0"),
        row(96, "deny", "17", Some(3389), "0.0.0.0/0"),
        row(97, "deny", "17", Some(22), "0.0.0.0/0"),
        row(98, "deny", "6", Some(3389), "0.0.0.0/0"),
        row(99, "deny", "6", Some(22), "0.0.0.0/0"),
        row(100, "allow", "-1", None, "0.0.0.0/0"),
        row(101, "allow", "-1", None, "::/0"),
    ];
    let entries: Vec<_> = inbound(&account, &acl).await.into_iter().filter(|e| e.0 < 32767).collect();
    assert_eq!(entries, expected, "denies between rule 50 (which keeps letting the office in) and the open rules; nothing removed");
}

#[tokio::test]
async fn without_the_opt_in_an_open_acl_is_manual_with_the_commands_and_nothing_is_written() {
    let account = Account::fresh().await;
    let acl = acl_with(&account, &[(100, "6", Some((0, 65535)), "0.0.0.0/0", true)]).await;
    let before = inbound(&account, &acl).await;

    let verify = account.run(Verb::Verify, &standard_baseline(), &[CONTROL]).await;
    assert_eq!(verify.report.exit_code(), 2);
    let finding = verify.report.finding(CONTROL).into_iter().find(|f| f.resource == format!("network-acl/{acl}")).expect("a finding for the ACL");
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.message.contains("tcp 22 from 0.0.0.0/0 (rule 100)") && finding.message.contains("tcp 3389"), "{}", finding.message);
    let steps = finding.remediation.as_deref().unwrap();
    assert!(steps.contains(&format!("--network-acl-id {acl} --ingress --rule-number 99 --protocol 6 --port-range From=22,To=22 --cidr-block 0.0.0.0/0 --rule-action deny")), "{steps}");
    assert!(steps.contains("deny_open_admin_ports: true"), "{steps}");
    assert_eq!(finding.references.cis_v5, ["5.2"]);
    assert_eq!(finding.references.fsbp, ["EC2.21"]);
    let defaults: Vec<_> = verify.report.finding(CONTROL).into_iter().filter(|f| f.resource != finding.resource).collect();
    assert!(!defaults.is_empty() && defaults.iter().all(|f| f.status == Status::Manual), "AWS's default ACLs let everything in: {defaults:#?}");

    let apply = account.run(Verb::Apply, &standard_baseline(), &[CONTROL]).await;
    assert_eq!(apply.report.exit_code(), 2);
    assert!(apply.calls.mutating_sent().is_empty(), "detect-only: {:?}", apply.calls.mutating_sent());
    assert_eq!(inbound(&account, &acl).await, before);
}

#[tokio::test]
async fn an_acl_with_no_free_rule_number_ahead_of_its_open_entry_stays_manual() {
    let account = Account::fresh().await;
    let acl = acl_with(&account, &[(1, "-1", None, "0.0.0.0/0", true)]).await;
    let (_dir, baseline) = baseline_file(OPTED_IN);
    let apply = account.run(Verb::Apply, &baseline, &[CONTROL]).await;
    assert_eq!(apply.report.exit_code(), 2, "{:#?}", apply.report);
    let finding = apply.report.finding(CONTROL).into_iter().find(|f| f.resource == format!("network-acl/{acl}")).unwrap();
    assert_eq!(finding.status, Status::Manual);
    assert!(finding.remediation.as_deref().is_some_and(|r| r.contains("no free rule number between 0 and 1")), "{finding:?}");
    let others = apply.report.finding(CONTROL).into_iter().filter(|f| f.resource != finding.resource).collect::<Vec<_>>();
    assert!(others.iter().all(|f| f.status == Status::Pass), "the default ACL is closed all the same: {others:#?}");
    assert_eq!(inbound(&account, &acl).await.iter().filter(|e| e.0 < 32767).count(), 1, "nothing written to it");
}
