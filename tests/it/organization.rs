//! Runs over the accounts of an organization, end to end on moto: selection (`--org`, `--ou`,
//! `--account`, `--exclude-account`), entering each account with the baseline's role, isolation of an
//! account that cannot be entered, per-account call counts, and the emulator's AssumeRole rule.

use mamori::app::Outcome;
use mamori::aws::AccessMode;
use mamori::fleet::AccountSelection;
use mamori::report::{AccountOutcome, Status, Verb};

use crate::harness::{baseline_file, Account, Organization};

fn selection(build: impl FnOnce(&mut AccountSelection)) -> AccountSelection {
    let mut selection = AccountSelection::default();
    build(&mut selection);
    selection
}

fn reported_accounts(outcome: &Outcome) -> Vec<String> {
    outcome.report.accounts.as_ref().expect("a multi-account report lists its accounts").iter().map(|a| a.id.clone()).collect()
}

pub(crate) const EBS_ONLY: &str = r#"
version: 1
name: fleet
regions: [us-east-1]
kms: {baseline_key: {}}
ebs: {default_encryption: {}}
s3: {account_public_access_block: {}}
"#;

#[tokio::test]
async fn accounts_are_selected_by_organization_unit_account_and_exclusion() {
    let org = Organization::create(&[("a-root", "root"), ("b-workloads", "workloads"), ("c-prod", "prod"), ("d-prod", "prod")], None).await;
    let (_dir, baseline) = baseline_file(EBS_ONLY);
    let mut everyone: Vec<String> = org.accounts.values().cloned().collect();
    everyone.push(org.management.id.clone());
    everyone.sort();

    let all = org.management.run_fleet(Verb::Verify, &baseline, &[], selection(|s| s.organization = true)).await.unwrap();
    assert_eq!(reported_accounts(&all), everyone);

    let unit = org.management.run_fleet(Verb::Verify, &baseline, &[], selection(|s| s.organizational_units = vec![org.workloads.clone()])).await.unwrap();
    let mut below_workloads = vec![org.id("b-workloads"), org.id("c-prod"), org.id("d-prod")];
    below_workloads.sort();
    assert_eq!(reported_accounts(&unit), below_workloads, "--ou is recursive");

    let excluded = org
        .management
        .run_fleet(Verb::Verify, &baseline, &[], selection(|s| {
            s.organizational_units = vec![org.prod.clone()];
            s.accounts = vec![org.id("a-root")];
            s.excluded = vec![org.id("d-prod")];
        }))
        .await
        .unwrap();
    let mut expected = vec![org.id("a-root"), org.id("c-prod")];
    expected.sort();
    assert_eq!(reported_accounts(&excluded), expected);
    for account in excluded.report.accounts.as_ref().unwrap() {
        let ou = if account.id == org.id("a-root") { &org.root } else { &org.prod };
        assert_eq!(account.ou.as_ref(), Some(ou), "{account:?}");
    }
    assert!(excluded.report.findings.iter().all(|f| expected.contains(&f.account)), "every finding names one of the selected accounts");

    let unknown = org.management.run_fleet(Verb::Verify, &baseline, &[], selection(|s| s.organizational_units = vec!["ou-none-00000000".into()])).await;
    assert!(unknown.err().is_some_and(|e| e.to_string().contains("--ou ou-none-00000000")));
}

#[tokio::test]
async fn each_account_converges_and_a_second_apply_writes_nothing_anywhere() {
    let org = Organization::create(&[("one", "workloads"), ("two", "prod")], None).await;
    let (_dir, baseline) = baseline_file(EBS_ONLY);
    let all = selection(|s| s.organization = true);

    let plan = org.management.run_fleet(Verb::Plan, &baseline, &[], all.clone()).await.unwrap();
    assert_eq!(plan.report.exit_code(), 2);
    for account in [org.id("one"), org.id("two"), org.management.id.clone()] {
        assert!(plan.report.changes.iter().flatten().any(|c| c.account == account && c.control == "ebs.default-encryption"), "{account}");
        assert!(plan.calls_by_account[&account].mutating_sent().is_empty(), "plan wrote in {account}");
    }

    let apply = org.management.run_fleet(Verb::Apply, &baseline, &[], all.clone()).await.unwrap();
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    assert!(apply.report.accounts.as_ref().unwrap().iter().all(|a| a.status == AccountOutcome::Compliant));

    let again = org.management.run_fleet(Verb::Apply, &baseline, &[], all.clone()).await.unwrap();
    assert_eq!(again.calls_by_account.len(), 3);
    // Each member is entered once, however many clients (services, regions) its run opens.
    let assumed = again.calls_by_account[&org.management.id].sent().iter().filter(|c| c.operation == "AssumeRole").count();
    assert_eq!(assumed, 2, "one AssumeRole per member account");
    for (account, calls) in &again.calls_by_account {
        assert!(calls.mutating_sent().is_empty(), "second apply wrote in {account}: {:?}", calls.mutating_sent());
    }

    // Drift in one member is found and fixed there only.
    let member = org.management.member(&org.id("two")).await;
    member.aws(AccessMode::ReadWrite).await.ec2("us-east-1").disable_ebs_encryption_by_default().send().await.unwrap();
    let verify = org.management.run_fleet(Verb::Verify, &baseline, &[], all.clone()).await.unwrap();
    let drifted: Vec<_> = verify.report.findings.iter().filter(|f| !matches!(f.status, Status::Pass | Status::Skipped)).map(|f| (f.account.clone(), f.control.clone())).collect();
    assert_eq!(drifted, [(org.id("two"), "ebs.default-encryption".to_string())]);
    let fix = org.management.run_fleet(Verb::Apply, &baseline, &[], all).await.unwrap();
    for (account, calls) in &fix.calls_by_account {
        let writes: Vec<String> = calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
        if *account == org.id("two") {
            assert_eq!(writes, ["EnableEbsEncryptionByDefault"], "{account}");
        } else {
            assert!(writes.is_empty(), "{account} was touched: {writes:?}");
        }
    }
}

#[tokio::test]
async fn an_account_that_cannot_be_entered_is_one_error_and_the_others_go_on() {
    let org = Organization::create(&[("reachable", "root"), ("no-role", "root")], Some(("no-role", "SomethingElse"))).await;
    let (_dir, baseline) = baseline_file(EBS_ONLY);
    let verify = org.management.run_fleet(Verb::Verify, &baseline, &[], selection(|s| s.organization = true)).await.unwrap();
    assert_eq!(verify.report.exit_code(), 1);
    let unreachable: Vec<_> = verify.report.findings.iter().filter(|f| f.account == org.id("no-role")).collect();
    assert_eq!(unreachable.len(), 1, "{unreachable:?}");
    assert_eq!(unreachable[0].status, Status::Error);
    assert_eq!(unreachable[0].control, mamori::fleet::ENTER_ACCOUNT);
    assert!(unreachable[0].message.contains("sts:AssumeRole") && unreachable[0].message.contains("AccessDenied"), "{}", unreachable[0].message);
    let lines = verify.report.accounts.as_ref().unwrap();
    let line = |id: &str| lines.iter().find(|a| a.id == id).unwrap();
    assert_eq!(line(&org.id("no-role")).status, AccountOutcome::Error);
    assert_eq!(line(&org.id("reachable")).status, AccountOutcome::Drift, "the other member was verified");
    assert!(verify.report.findings.iter().any(|f| f.account == org.id("reachable") && f.control == "ebs.default-encryption"));
}

#[tokio::test]
async fn the_emulator_refuses_assume_role_as_aws_does() {
    let org = Organization::create(&[("member", "root")], None).await;
    let outsider = Account::fresh().await;
    let sts = |account: &Account| {
        let account = account.connect_options();
        async move { mamori::aws::Aws::connect(&account, AccessMode::ReadOnly, "us-east-1").await.sts() }
    };
    let arn = |role: &str| format!("arn:aws:iam::{}:role/{role}", org.id("member"));
    let assume = |client: aws_sdk_sts::Client, role: String| async move {
        client.assume_role().role_arn(role).role_session_name("check").send().await.map_err(|e| mamori::aws::AwsError::from_sdk("sts:AssumeRole", e))
    };
    // The management account is trusted by the role Organizations created.
    assert!(assume(sts(&org.management).await, arn("OrganizationAccountAccessRole")).await.is_ok());
    // Another account is not named by the trust policy; a role that does not exist trusts nobody.
    let refused = assume(sts(&outsider).await, arn("OrganizationAccountAccessRole")).await.unwrap_err();
    assert_eq!(refused.code.as_deref(), Some("AccessDenied"), "{refused}");
    let missing = assume(sts(&org.management).await, arn("NoSuchRole")).await.unwrap_err();
    assert_eq!(missing.code.as_deref(), Some("AccessDenied"), "{missing}");
}
