//! `verify --security-hub` on moto: the findings are imported into Security Hub of the account and
//! region they belong to; a second run updates them in place (same ids, no duplicate) and archives a
//! finding that was fixed in between; more than 100 findings go in batches of 100, counted from the
//! call log; where Security Hub is not enabled the export fails clearly (exit 1) and mamori does not
//! enable it; the import is the one write the read-only guard lets `verify` send, and the policy for
//! `verify --security-hub` grants exactly it. The emulator rule that Security Hub answers only where
//! it is enabled (`securityhub_subscription.py`) is tested on its own.

use std::collections::BTreeSet;

use aws_sdk_securityhub::types::AwsSecurityFinding;
use mamori::aws::AccessMode;
use mamori::fleet::AccountSelection;
use mamori::report::{asff, Finding, References, Report, Status, Summary, Verb};
use mamori::security_hub::{self, ImportError, BATCH_LIMIT};

use crate::harness::{baseline_file, mamori, stderr, Account, Organization};

const BASELINE: &str = "version: 1\nname: t\nregions: [us-east-1]\nebs:\n  default_encryption: {}\niam:\n  password_policy: {}\n";

/// Security Hub of `account` in `region`, with write access (the test's own, not mamori's).
async fn security_hub(account: &Account, region: &str) -> aws_sdk_securityhub::Client {
    account.aws(AccessMode::ReadWrite).await.security_hub_import(region)
}

async fn enable(account: &Account, region: &str) {
    security_hub(account, region).await.enable_security_hub().send().await.unwrap();
}

/// Every finding Security Hub holds for `account` in `region`, page by page. Read on a thread of its
/// own with a large stack: the SDK's debug-build deserializer of `GetFindings` (ASFF has hundreds of
/// nested shapes) needs more than a test thread's 2 MiB.
async fn imported(account: &Account, region: &str) -> Vec<AwsSecurityFinding> {
    let client = security_hub(account, region).await;
    let read = async move {
        let mut findings = Vec::new();
        let mut token = None;
        loop {
            let page = client.get_findings().max_results(100).set_next_token(token).send().await.unwrap();
            findings.extend(page.findings().iter().cloned());
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_string()),
                None => return findings,
            }
        }
    };
    let reader = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(read))
        .unwrap();
    reader.join().unwrap()
}

fn import_calls(outcome: &mamori::app::Outcome) -> usize {
    outcome.calls.sent().iter().filter(|c| c.operation == "BatchImportFindings").count()
}

#[tokio::test]
async fn findings_are_imported_then_updated_in_place_and_a_fixed_one_is_archived() {
    let account = Account::fresh().await;
    enable(&account, "us-east-1").await;
    let (_dir, baseline) = baseline_file(BASELINE);

    let first = account.verify_to_security_hub(&baseline, &[], AccountSelection::default()).await;
    assert_eq!(first.report.exit_code(), 2, "drift on a fresh account");
    assert_eq!(first.security_hub.len(), 1, "one region: the global findings go to the home region: {:?}", first.security_hub);
    let import = &first.security_hub[0];
    assert!(import.is_complete(), "{import:?}");
    assert_eq!((import.region.as_str(), import.imported), ("us-east-1", first.report.findings.len()));
    assert_eq!(import_calls(&first), 1);
    let writes: Vec<String> = first.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(writes, ["BatchImportFindings"], "the import is verify's one write");

    let held = imported(&account, "us-east-1").await;
    let ids: BTreeSet<String> = held.iter().filter_map(|f| f.id().map(str::to_string)).collect();
    let expected: BTreeSet<String> = asff::findings(&first.report).iter().map(|d| d["Id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, expected);
    let password = |findings: &[AwsSecurityFinding]| findings.iter().find(|f| f.generator_id() == Some("mamori/iam.password-policy")).cloned().expect("the password policy finding");
    let before = password(&held);
    assert_eq!(before.compliance().and_then(|c| c.status()).map(|s| s.as_str()), Some("FAILED"));
    assert_eq!(before.record_state().map(|s| s.as_str()), Some("ACTIVE"));

    let fixed = account.run(Verb::Apply, &baseline, &["iam.password-policy"]).await;
    assert_eq!(fixed.report.finding("iam.password-policy")[0].status, Status::Pass);
    let second = account.verify_to_security_hub(&baseline, &[], AccountSelection::default()).await;
    let held = imported(&account, "us-east-1").await;
    assert_eq!(held.len(), ids.len(), "updated in place: no duplicate");
    let after = password(&held);
    assert_eq!(after.id(), before.id());
    assert_eq!(after.compliance().and_then(|c| c.status()).map(|s| s.as_str()), Some("PASSED"));
    assert_eq!(after.record_state().map(|s| s.as_str()), Some("ARCHIVED"), "a fixed finding leaves the active list");
    assert_eq!(after.updated_at(), Some(second.report.generated_at.as_str()));
    assert_eq!(after.finding_provider_fields().and_then(|f| f.severity()).and_then(|s| s.label()).map(|l| l.as_str()), Some("INFORMATIONAL"));
}

/// A report of `count` failing findings of `account` in `region`.
fn report_of(account: &str, region: &str, count: usize) -> Report {
    let findings: Vec<Finding> = (0..count)
        .map(|i| Finding {
            account: account.into(),
            control: "ec2.imdsv2".into(),
            region: region.into(),
            resource: format!("instance/i-{i:017x}"),
            status: Status::Manual,
            message: "http_tokens: optional → required".into(),
            expected: None,
            actual: None,
            remediation: None,
            references: References::default(),
            exception: None,
        })
        .collect();
    Report {
        mamori_version: "0".into(),
        verb: Verb::Verify,
        baseline: "t".into(),
        account: account.into(),
        regions: vec![region.into()],
        duration_ms: 0,
        generated_at: "2026-12-02T17:00:00Z".into(),
        summary: Summary::of(&findings),
        findings,
        changes: None,
        accounts: None,
        warnings: Vec::new(),
    }
}

#[tokio::test]
async fn more_than_a_hundred_findings_go_in_batches_of_a_hundred() {
    let account = Account::fresh().await;
    enable(&account, "eu-west-1").await;
    let aws = account.aws(AccessMode::ReadOnly).await;
    let report = report_of(&account.id, "eu-west-1", 2 * BATCH_LIMIT + 50);
    let imports = security_hub::export(&aws, &report, &account.id).await;
    assert_eq!(imports.len(), 1);
    assert!(imports[0].is_complete() && imports[0].imported == 250, "{:?}", imports[0]);
    let calls = aws.calls().sent().iter().filter(|c| c.operation == "BatchImportFindings").count();
    assert_eq!(calls, 3, "250 findings: 100 + 100 + 50");
    assert_eq!(imported(&account, "eu-west-1").await.len(), 250);
}

#[tokio::test]
async fn where_security_hub_is_not_enabled_the_export_fails_clearly_and_nothing_enables_it() {
    let account = Account::fresh().await;
    let (_dir, baseline) = baseline_file(BASELINE);
    let outcome = account.verify_to_security_hub(&baseline, &[], AccountSelection::default()).await;
    let import = &outcome.security_hub[0];
    assert!(matches!(&import.error, Some(ImportError::NotEnabled { region, source, .. }) if region == "us-east-1" && source.is_code("InvalidAccessException")), "{import:?}");
    assert_eq!((import.sent, import.imported), (0, 0));
    assert!(outcome.calls.records().iter().all(|c| c.operation != "EnableSecurityHub"), "mamori never enables Security Hub");

    let run = mamori(&["verify", "--security-hub", "--output", "json", "--baseline", baseline.to_str().unwrap()], &account.env());
    let message = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "the export did not happen: {message}");
    assert!(message.contains("Security Hub is not enabled in us-east-1 of account") && message.contains("enable-security-hub"), "{message}");
    let report: Report = serde_json::from_slice(&run.stdout).expect("the audit's report is printed all the same");
    assert_eq!(report.findings.len(), outcome.report.findings.len());
}

#[tokio::test]
async fn the_emulator_refuses_findings_where_security_hub_is_not_enabled() {
    let account = Account::fresh().await;
    let client = security_hub(&account, "ap-northeast-1").await;
    let report = report_of(&account.id, "ap-northeast-1", 1);
    let finding = security_hub::convert::finding(&asff::findings(&report)[0]);
    let refused = client.batch_import_findings().findings(finding.clone()).send().await.unwrap_err();
    assert_eq!(refused.as_service_error().and_then(|e| aws_smithy_types::error::metadata::ProvideErrorMetadata::code(e)), Some("InvalidAccessException"));
    assert!(client.get_findings().send().await.is_err(), "reads too");
    enable(&account, "ap-northeast-1").await;
    let accepted = client.batch_import_findings().findings(finding).send().await.unwrap();
    assert_eq!(accepted.success_count(), Some(1));
}

#[tokio::test]
async fn the_read_only_guard_lets_the_import_through_and_nothing_else() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadOnly).await;
    let refused = aws.security_hub_import("us-east-1").enable_security_hub().send().await;
    assert!(refused.is_err());
    let ebs = aws.ec2("us-east-1").enable_ebs_encryption_by_default().send().await;
    assert!(ebs.is_err(), "the connection's other clients stay read-only");
    let refusals: Vec<String> = aws.calls().records().iter().filter(|c| c.refused).map(|c| c.operation.clone()).collect();
    assert_eq!(refusals, ["EnableSecurityHub", "EnableEbsEncryptionByDefault"], "refused before leaving the process");
    let imports = security_hub::export(&aws, &report_of(&account.id, "us-east-1", 1), &account.id).await;
    assert!(matches!(imports[0].error, Some(ImportError::NotEnabled { .. })), "the import left the process and AWS answered: {imports:?}");
}

#[tokio::test]
async fn each_account_of_a_fleet_imports_its_own_findings_with_its_own_credentials() {
    let org = Organization::create(&[("one", "workloads"), ("two", "prod")], None).await;
    let (one, two) = (org.management.member(&org.accounts["one"]).await, org.management.member(&org.accounts["two"]).await);
    enable(&one, "us-east-1").await;
    let (_dir, baseline) = baseline_file(BASELINE);
    let selection = AccountSelection { accounts: vec![one.id.clone(), two.id.clone()], ..AccountSelection::default() };
    let outcome = org.management.verify_to_security_hub(&baseline, &["iam.password-policy"], selection).await;
    let by_account: BTreeSet<(String, bool)> = outcome.security_hub.iter().map(|i| (i.account.clone(), i.is_complete())).collect();
    assert_eq!(by_account, BTreeSet::from([(one.id.clone(), true), (two.id.clone(), false)]), "{:?}", outcome.security_hub);
    let held = imported(&one, "us-east-1").await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].aws_account_id(), Some(one.id.as_str()), "in the account the finding belongs to");
    assert!(outcome.calls_by_account[&one.id].sent().iter().any(|c| c.operation == "BatchImportFindings"), "sent with the member's own connection");
    assert!(outcome.calls.sent().iter().all(|c| c.operation != "BatchImportFindings"), "not with the management account's");
}

#[test]
fn the_policy_for_verify_with_security_hub_adds_exactly_the_import() {
    let baseline = crate::harness::standard_baseline();
    let policy = |extra: &[&str]| {
        let mut args = vec!["policy", "--verb", "verify", "--baseline", baseline.to_str().unwrap()];
        args.extend(extra);
        let output = mamori(&args, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut actions: BTreeSet<String> = BTreeSet::new();
        for statement in document["Statement"].as_array().unwrap() {
            match &statement["Action"] {
                serde_json::Value::String(action) => {
                    actions.insert(action.clone());
                }
                serde_json::Value::Array(list) => actions.extend(list.iter().map(|a| a.as_str().unwrap().to_string())),
                _ => {}
            }
        }
        actions
    };
    let (plain, with_import) = (policy(&[]), policy(&["--security-hub"]));
    let added: Vec<&String> = with_import.difference(&plain).collect();
    assert_eq!(added, ["securityhub:BatchImportFindings"]);
    assert!(plain.is_subset(&with_import));
    let (service, operation) = mamori::aws::guard::FINDINGS_IMPORT;
    assert!(mamori::aws::guard::is_mutating(service, operation), "the guard classifies it as the write it is");
    let apply = mamori(&["policy", "--verb", "apply", "--security-hub", "--baseline", baseline.to_str().unwrap()], &[]);
    assert_eq!(apply.status.code(), Some(1), "{}", stderr(&apply));
}
