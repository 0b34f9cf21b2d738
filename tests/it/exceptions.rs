//! Accepted risks end to end on a fresh account: an active exception makes its finding `excepted`
//! (compliant for the exit code) and `apply` leaves the resource exactly as it was, counted from the
//! call log, while the rest is fixed; one exception among several resources of one control keeps only
//! that resource; an expired exception shows the real status and says when it expired; an exception
//! that matches nothing is a stale warning. The dates are built from today, so the tests do not age.

use mamori::aws::AccessMode;
use mamori::report::{Status, Verb, WarningKind};

use crate::ec2_ssm::launch;
use crate::harness::{baseline_file, in_days, mamori, stdout, Account};

const CONTROLS: &str = "version: 1\nname: t\nregions: [us-east-1]\nebs:\n  default_encryption: {}\niam:\n  password_policy: {}\n";

/// A baseline with the password policy and EBS encryption by default, and `exceptions` (YAML list
/// items) appended.
fn with_exceptions(exceptions: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    baseline_file(&format!("{CONTROLS}exceptions:\n{exceptions}"))
}

#[tokio::test]
async fn an_accepted_risk_is_excepted_and_apply_leaves_it_exactly_as_it_was() {
    let account = Account::fresh().await;
    let expires = in_days(30);
    let (_dir, baseline) = with_exceptions(&format!(
        "  - control: iam.password-policy\n    accounts: [\"{}\"]\n    regions: [global]\n    resources: [\"account-setting/password-*\"]\n    reason: the identity provider enforces passwords\n    owner: identity-team\n    expires: {expires}\n    ticket: SEC-7\n",
        account.id
    ));

    let plan = account.run(Verb::Plan, &baseline, &[]).await;
    let planned: Vec<&str> = plan.report.changes.iter().flatten().map(|c| c.control.as_str()).collect();
    assert_eq!(planned, ["ebs.default-encryption"], "the excepted change is not planned");
    let excepted = &plan.report.finding("iam.password-policy")[0];
    assert_eq!(excepted.status, Status::Excepted, "{excepted:?}");
    assert_eq!(plan.report.summary.excepted, 1);

    let apply = account.run(Verb::Apply, &baseline, &[]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.name().to_ascii_lowercase()).collect();
    assert!(writes.iter().any(|w| w == "ec2:enableebsencryptionbydefault"), "the other finding is fixed: {writes:?}");
    assert!(writes.iter().all(|w| !w.starts_with("iam:")), "not one write to the excepted resource: {writes:?}");
    let iam = account.aws(AccessMode::ReadOnly).await.iam();
    let policy = iam.get_account_password_policy().send().await;
    assert!(policy.is_err_and(|e| e.as_service_error().is_some_and(|e| e.is_no_such_entity_exception())), "the account still has no password policy");

    let verify = account.run(Verb::Verify, &baseline, &[]).await;
    assert_eq!(verify.report.exit_code(), 0, "an accepted risk is compliant: {:#?}", verify.report);
    let finding = &verify.report.finding("iam.password-policy")[0];
    let exception = finding.exception.as_ref().expect("the finding carries its exception");
    assert_eq!((finding.status, exception.owner.as_str(), exception.expires.as_str(), exception.ticket.as_deref()), (Status::Excepted, "identity-team", expires.as_str(), Some("SEC-7")));
    assert!(finding.message.contains(&format!("accepted risk until {expires}, owner identity-team: the identity provider enforces passwords (ticket SEC-7)")), "{}", finding.message);
    assert!(verify.report.warnings.is_empty(), "{:?}", verify.report.warnings);

    let again = account.run(Verb::Apply, &baseline, &[]).await;
    assert!(again.calls.mutating_sent().is_empty(), "a second apply writes nothing: {:?}", again.calls.mutating_sent());
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "a converged apply costs what verify costs");

    let text = stdout(&mamori(&["verify", "--output", "text", "--baseline", baseline.to_str().unwrap()], &account.env()));
    assert!(text.contains("Accepted risks") && text.contains("owner identity-team"), "{text}");
}

#[tokio::test]
async fn an_exception_for_one_instance_keeps_that_instance_while_the_others_are_fixed() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let (kept, fixed) = (launch(&ec2).await, launch(&ec2).await);
    let (_dir, baseline) = baseline_file(&format!(
        "version: 1\nname: t\nregions: [us-east-1]\nec2:\n  imdsv2:\n    running_instances: true\nexceptions:\n  - control: ec2\n    resources: [\"instance/{kept}\"]\n    reason: vendor appliance without IMDSv2 support\n    owner: network-team\n    expires: {}\n",
        in_days(90)
    ));

    let apply = account.run(Verb::Apply, &baseline, &["ec2.imdsv2"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let modified: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).filter(|o| o == "ModifyInstanceMetadataOptions").collect();
    assert_eq!(modified.len(), 1, "one instance changed, not the excepted one");
    let tokens = |described: aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput| {
        described.reservations()[0].instances()[0].metadata_options().and_then(|o| o.http_tokens()).map(|t| t.as_str().to_string()).unwrap_or_default()
    };
    assert_eq!(tokens(ec2.describe_instances().instance_ids(&kept).send().await.unwrap()), "optional", "the excepted instance is as it was");
    assert_eq!(tokens(ec2.describe_instances().instance_ids(&fixed).send().await.unwrap()), "required");
    let statuses: Vec<(String, Status)> = apply.report.finding("ec2.imdsv2").iter().map(|f| (f.resource.clone(), f.status)).collect();
    assert!(statuses.contains(&(format!("instance/{kept}"), Status::Excepted)) && statuses.contains(&(format!("instance/{fixed}"), Status::Pass)), "{statuses:?}");
    let again = account.run(Verb::Apply, &baseline, &["ec2.imdsv2"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

#[tokio::test]
async fn an_expired_exception_shows_the_real_status_and_when_it_expired() {
    let account = Account::fresh().await;
    let expired = in_days(-1);
    let (_dir, baseline) = with_exceptions(&format!("  - control: iam\n    reason: waiting for SSO\n    owner: identity-team\n    expires: {expired}\n"));
    let verify = account.run(Verb::Verify, &baseline, &["iam.password-policy"]).await;
    assert_eq!(verify.report.exit_code(), 2, "the drift counts again: {:#?}", verify.report);
    let finding = &verify.report.finding("iam.password-policy")[0];
    assert_eq!(finding.status, Status::Fail);
    assert!(finding.message.contains(&format!("the exception for this finding expired on {expired}")), "{}", finding.message);
    assert!(finding.exception.as_ref().is_some_and(|e| e.expired));
    let kinds: Vec<WarningKind> = verify.report.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, [WarningKind::ExpiredException]);
    let apply = account.run(Verb::Apply, &baseline, &["iam.password-policy"]).await;
    assert!(apply.calls.mutating_sent().iter().any(|c| c.name().eq_ignore_ascii_case("iam:UpdateAccountPasswordPolicy")), "apply fixes it again");
}

#[tokio::test]
async fn an_exception_that_matches_nothing_is_a_stale_warning() {
    let account = Account::fresh().await;
    let (_dir, baseline) = with_exceptions(&format!(
        "  - control: ebs.default-encryption\n    regions: [\"ap-*\"]\n    reason: old region\n    owner: platform\n    expires: {}\n",
        in_days(10)
    ));
    let verify = account.run(Verb::Verify, &baseline, &[]).await;
    assert_eq!(verify.report.warnings.len(), 1, "{:?}", verify.report.warnings);
    let warning = &verify.report.warnings[0];
    assert_eq!((warning.kind, warning.exception.index), (WarningKind::StaleException, 0));
    assert_eq!(verify.report.finding("ebs.default-encryption")[0].status, Status::Fail, "a region it does not name is not excepted");
    let json: serde_json::Value = serde_json::to_value(&verify.report).unwrap();
    assert_eq!(json["warnings"][0]["kind"], "stale-exception");

    let only_iam = account.run(Verb::Verify, &baseline, &["iam"]).await;
    assert!(only_iam.report.warnings.is_empty(), "a run that does not evaluate its control says nothing about it");
}
