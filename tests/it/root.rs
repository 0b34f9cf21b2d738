//! The root posture controls (`root.access-keys`, `root.mfa`, `root.recent-use`) end to end on moto.
//!
//! AWS offers no API for the root user's own steps (enrolling MFA happens in the console), so the
//! tests play them with the emulator shim's root-console action ([`Account::root_console`]): a fresh
//! account's root user has a password, no MFA, no keys and has never signed in. Every finding here is
//! `manual`, so `apply` must never send a write for them, and each must clear once the root user has
//! done its part. The fresh-account test runs on both engines; the others need the moto shim, since
//! LocalStack has no stand-in for the root user's console.

use std::collections::BTreeMap;

use mamori::app::Outcome;
use mamori::report::{Status, Verb};

use crate::harness::{baseline_file, repo, standard_baseline, Account};

const ROOT: &[&str] = &["root"];

fn statuses(outcome: &Outcome) -> BTreeMap<String, Status> {
    outcome.report.findings.iter().map(|f| (f.control.clone(), f.status)).collect()
}

fn expect(pairs: &[(&str, Status)]) -> BTreeMap<String, Status> {
    pairs.iter().map(|(control, status)| (control.to_string(), *status)).collect()
}

fn message<'a>(outcome: &'a Outcome, control: &str) -> &'a str {
    &outcome.report.finding(control)[0].message
}

/// A fresh account: root has no keys and has not been used, but no MFA. Both engines.
async fn fresh_account_with_root_reported() -> Account {
    use Status::{Manual, Pass};
    let account = Account::fresh().await;
    let baseline = standard_baseline();

    let verify = account.run(Verb::Verify, &baseline, ROOT).await;
    assert_eq!(statuses(&verify), expect(&[("root.access-keys", Pass), ("root.mfa", Manual), ("root.recent-use", Pass)]));
    assert_eq!(verify.report.exit_code(), 2);
    let steps = verify.report.finding("root.mfa")[0].remediation.clone().unwrap_or_default();
    assert!(steps.contains("Assign MFA device") && steps.contains(&account.id), "{steps}");
    assert_eq!(
        verify.calls.by_operation(),
        [("IAM:GenerateCredentialReport", 1), ("IAM:GetAccountSummary", 1), ("IAM:GetCredentialReport", 1), ("STS:GetCallerIdentity", 1)]
            .into_iter()
            .map(|(op, n)| (op.to_string(), n))
            .collect(),
        "one summary and one report for three controls"
    );

    let plan = account.run(Verb::Plan, &baseline, ROOT).await;
    assert!(plan.report.changes.as_ref().is_none_or(Vec::is_empty), "nothing here is mamori's to change: {:?}", plan.report.changes);
    let apply = account.run(Verb::Apply, &baseline, ROOT).await;
    assert!(apply.calls.mutating_sent().is_empty(), "apply wrote: {:?}", apply.calls.mutating_sent());
    assert_eq!(apply.report.exit_code(), 2, "manual findings stay");
    account
}

#[tokio::test]
async fn a_fresh_root_user_needs_mfa_and_apply_never_writes() {
    fresh_account_with_root_reported().await;
}

#[tokio::test]
async fn the_root_findings_clear_once_the_root_user_acts() {
    use Status::{Manual, Pass};
    let account = fresh_account_with_root_reported().await;
    let baseline = standard_baseline();

    // The root user signs in, enrols an authenticator app and (wrongly) creates an access key.
    account.root_console(&[("mfa", "virtual"), ("signed-in-days-ago", "0"), ("access-key", "true")]);
    let verify = account.run(Verb::Verify, &baseline, ROOT).await;
    assert_eq!(statuses(&verify), expect(&[("root.access-keys", Manual), ("root.mfa", Pass), ("root.recent-use", Manual)]));
    assert!(message(&verify, "root.recent-use").contains("console sign-in on"), "{}", message(&verify, "root.recent-use"));
    assert!(verify.report.finding("root.access-keys")[0].remediation.as_deref().is_some_and(|s| s.contains("delete")));
    assert_eq!(verify.calls.by_operation().get("IAM:ListVirtualMFADevices"), Some(&1), "read once MFA is on");

    // The key is deleted; days later the sign-in has left the one-day window.
    account.root_console(&[("access-key", "false"), ("signed-in-days-ago", "3")]);
    let verify = account.run(Verb::Verify, &baseline, ROOT).await;
    assert_eq!(statuses(&verify), expect(&[("root.access-keys", Pass), ("root.mfa", Pass), ("root.recent-use", Pass)]));
    assert_eq!(verify.report.exit_code(), 0);
}

#[tokio::test]
async fn the_strict_baseline_wants_a_hardware_device_for_root() {
    let account = Account::fresh().await;
    let strict = repo().join("baselines/strict.yaml");
    account.root_console(&[("mfa", "virtual")]);
    let verify = account.run(Verb::Verify, &strict, &["root.mfa"]).await;
    let finding = &verify.report.finding("root.mfa")[0];
    assert_eq!(finding.status, Status::Manual);
    assert!(finding.message.contains("hardware"), "{}", finding.message);
    assert!(finding.remediation.as_deref().is_some_and(|s| s.contains("FIDO security key")));

    account.root_console(&[("mfa", "hardware")]);
    let verify = account.run(Verb::Verify, &strict, &["root.mfa"]).await;
    assert_eq!(verify.report.finding("root.mfa")[0].status, Status::Pass);
}

const CENTRALLY_MANAGED: &str = r#"
version: 1
name: central-root
regions: [us-east-1]
root:
  mfa:
    centrally_managed: true
"#;

#[tokio::test]
async fn a_member_root_the_organization_manages_passes_with_the_reason_and_only_then() {
    let management = Account::fresh().await;
    let organizations = management.aws(mamori::aws::AccessMode::ReadWrite).await.organizations();
    let org = organizations.create_organization().send().await.unwrap().organization.unwrap().id.unwrap();
    let created = organizations.create_account().account_name("project").email("project@example.com").send().await.unwrap();
    let member_id = created.create_account_status.unwrap().account_id.unwrap();
    let member = management.member(&member_id).await;
    let (_dir, declared) = baseline_file(CENTRALLY_MANAGED);

    // A member account created by the organization: its root user has no password and no keys.
    let verify = member.run(Verb::Verify, &declared, &["root.mfa"]).await;
    let finding = &verify.report.finding("root.mfa")[0];
    assert_eq!(finding.status, Status::Pass, "{finding:?}");
    assert!(finding.message.contains(&org) && finding.message.contains("centrally"), "{}", finding.message);

    // Without the baseline's word, the same root user needs MFA.
    let standard = member.run(Verb::Verify, &standard_baseline(), &["root.mfa"]).await;
    assert_eq!(standard.report.finding("root.mfa")[0].status, Status::Manual);

    // Someone recovered the root password: nothing central protects it any more.
    member.root_console(&[("password", "true")]);
    let verify = member.run(Verb::Verify, &declared, &["root.mfa"]).await;
    let finding = &verify.report.finding("root.mfa")[0];
    assert_eq!(finding.status, Status::Manual);
    assert!(finding.remediation.as_deref().is_some_and(|s| s.contains("assume-root")), "{finding:?}");

    // The management account's own root is never managed centrally.
    management.root_console(&[("password", "false")]);
    let verify = management.run(Verb::Verify, &declared, &["root.mfa"]).await;
    assert_eq!(verify.report.finding("root.mfa")[0].status, Status::Manual);
}
