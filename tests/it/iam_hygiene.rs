//! The IAM hygiene controls on a seeded legacy account: an administrator user with an access key
//! (directly, and through a group whose customer policy allows `*` on `*`), a console user without
//! MFA, an application user with an ordinary policy, and users whose credentials are months old
//! (created under the emulator shim's `/mamori-test-aged-<N>-days/` path, the only way to age them on
//! moto). `verify` must report each problem with the right id and status, the opt-in fixes must
//! converge, and nothing may be deleted.

use std::collections::BTreeMap;

use mamori::app::Outcome;
use mamori::aws::{AccessMode, Aws};
use mamori::report::{Status, Verb};

use crate::harness::{baseline_file, standard_baseline, Account};

const STAR: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
const S3_READ: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::data/*"}]}"#;
const AGED: &str = "/mamori-test-aged-100-days/";

/// What the account holds, counted: nothing of it may disappear.
#[derive(Debug, PartialEq, Eq)]
struct Inventory {
    users: usize,
    keys: usize,
    policies: usize,
    groups: usize,
}

async fn inventory(aws: &Aws) -> Inventory {
    let iam = aws.iam();
    let users = iam.list_users().send().await.unwrap();
    let mut keys = 0;
    for user in users.users() {
        keys += iam.list_access_keys().user_name(user.user_name()).send().await.unwrap().access_key_metadata().len();
    }
    Inventory {
        users: users.users().len(),
        keys,
        policies: iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send().await.unwrap().policies().len(),
        groups: iam.list_groups().send().await.unwrap().groups().len(),
    }
}

/// Seeds the legacy account; returns the secret of the administrator's access key.
async fn seed(aws: &Aws, account: &Account) -> String {
    let iam = aws.iam();
    let user = |name: &'static str, path: &'static str| iam.create_user().user_name(name).path(path).send();
    let key = |name: &'static str| iam.create_access_key().user_name(name).send();

    user("admin-direct", "/").await.unwrap();
    iam.attach_user_policy().user_name("admin-direct").policy_arn("arn:aws:iam::aws:policy/AdministratorAccess").send().await.unwrap();
    let admin_key = key("admin-direct").await.unwrap().access_key.unwrap();

    let star = iam.create_policy().policy_name("everything").policy_document(STAR).send().await.unwrap().policy.unwrap().arn.unwrap();
    iam.create_group().group_name("ops").send().await.unwrap();
    iam.attach_group_policy().group_name("ops").policy_arn(&star).send().await.unwrap();
    user("admin-via-group", "/").await.unwrap();
    iam.add_user_to_group().group_name("ops").user_name("admin-via-group").send().await.unwrap();
    key("admin-via-group").await.unwrap();

    user("console-bob", "/").await.unwrap();
    iam.create_login_profile().user_name("console-bob").password("Correct-Horse-9!").send().await.unwrap();

    let s3_read = iam.create_policy().policy_name("s3-read").policy_document(S3_READ).send().await.unwrap().policy.unwrap().arn.unwrap();
    // A role whose inline policy allows everything.
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    iam.create_role().role_name("ops-admin").assume_role_policy_document(trust).send().await.unwrap();
    iam.put_role_policy().role_name("ops-admin").policy_name("all").policy_document(STAR).send().await.unwrap();
    user("app-carol", "/").await.unwrap();
    iam.attach_user_policy().user_name("app-carol").policy_arn(&s3_read).send().await.unwrap();
    key("app-carol").await.unwrap();

    // Created 100 days ago, never used: an unused key older than 90 days, and an unused password.
    user("idle-dave", AGED).await.unwrap();
    key("idle-dave").await.unwrap();
    user("idle-erin", AGED).await.unwrap();
    iam.create_login_profile().user_name("idle-erin").password("Correct-Horse-9!").send().await.unwrap();
    let _ = (account, star);
    admin_key.secret_access_key
}

fn status_of(outcome: &Outcome, control: &str) -> BTreeMap<String, Status> {
    outcome.report.finding(control).iter().map(|f| (f.resource.clone(), f.status)).collect()
}

fn expect(pairs: &[(&str, Status)]) -> BTreeMap<String, Status> {
    pairs.iter().map(|(r, s)| (r.to_string(), *s)).collect()
}

#[tokio::test]
async fn verify_reports_each_identity_problem_of_a_legacy_account() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    let secret = seed(&aws, &account).await;
    let before = inventory(&aws).await;

    let verify = account.run(Verb::Verify, &standard_baseline(), &["iam"]).await;
    assert!(!serde_json::to_string(&verify.report).unwrap().contains(&secret), "a secret key reached the report");
    assert_eq!(verify.report.exit_code(), 2, "{:#?}", verify.report);
    assert!(verify.calls.mutating_sent().is_empty());
    assert!(verify.calls.records().iter().all(|c| !c.refused), "verify attempted writes");
    use Status::*;
    assert_eq!(status_of(&verify, "iam.console-mfa"), expect(&[("user/console-bob", Manual), ("user/idle-erin", Manual)]));
    assert_eq!(
        status_of(&verify, "iam.no-admin-keys"),
        expect(&[("user/admin-direct", Manual), ("user/admin-via-group", Manual)]),
        "app-carol holds a key but is no administrator"
    );
    assert_eq!(
        status_of(&verify, "iam.no-star-policies"),
        expect(&[("policy/everything", Manual), ("policy/s3-read", Pass), ("role/ops-admin/inline/all", Manual)])
    );
    assert_eq!(
        status_of(&verify, "iam.unused-credentials"),
        expect(&[
            ("user/admin-direct", Pass),
            ("user/admin-via-group", Pass),
            ("user/app-carol", Pass),
            ("user/console-bob", Pass),
            ("user/idle-dave", Manual),
            ("user/idle-erin", Manual),
        ])
    );
    assert_eq!(
        status_of(&verify, "iam.access-key-rotation"),
        expect(&[("user/admin-direct", Pass), ("user/admin-via-group", Pass), ("user/app-carol", Pass), ("user/idle-dave", Manual)])
    );

    let admin = &verify.report.finding("iam.no-admin-keys")[0];
    let through = admin.actual.as_ref().unwrap()["administrator_through"].to_string();
    assert!(through.contains("AdministratorAccess"), "{through}");
    let via_group = &verify.report.finding("iam.no-admin-keys")[1];
    assert!(via_group.actual.as_ref().unwrap()["administrator_through"].to_string().contains("group ops: policy everything"));
    for finding in verify.report.findings.iter().filter(|f| f.status == Manual) {
        assert!(finding.remediation.as_deref().is_some_and(|s| s.len() > 40), "manual steps for {finding:?}");
    }
    let star = verify.report.finding("iam.no-star-policies").into_iter().find(|f| f.status == Manual).unwrap();
    assert!(star.remediation.as_ref().unwrap().contains(&format!("arn:aws:iam::{}:policy/everything", account.id)));

    let calls = verify.calls.by_operation();
    eprintln!("verify --only iam on the legacy account: {calls:?}");
    assert_eq!(calls.get("IAM:GenerateCredentialReport"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("IAM:GetCredentialReport"), Some(&1), "the report is read once for four controls: {calls:?}");
    assert_eq!(calls.get("IAM:GetAccountAuthorizationDetails"), Some(&1), "{calls:?}");
    assert!(verify.calls.repeated().is_empty(), "no call repeated with identical parameters: {:?}", verify.calls.repeated());

    let apply = account.run(Verb::Apply, &standard_baseline(), &["iam"]).await;
    assert_eq!(apply.report.exit_code(), 2, "manual findings stay");
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.name()).collect();
    assert_eq!(writes, ["IAM:UpdateAccountPasswordPolicy"], "without opt-in, apply touches no user");
    assert_eq!(inventory(&aws).await, before);
}

#[tokio::test]
async fn opt_in_fixes_deactivate_and_remove_logins_and_converge_without_deleting() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    seed(&aws, &account).await;
    let before = inventory(&aws).await;
    let (_dir, baseline) = baseline_file(
        "version: 1\nname: opt-in\nregions: [us-east-1]\niam:\n  console_mfa:\n    remove_login_without_mfa: true\n  unused_credentials:\n    max_unused_days: 45\n    disable_unused: true\n",
    );

    let plan = account.run(Verb::Plan, &baseline, &["iam"]).await;
    assert_eq!(plan.report.exit_code(), 2);
    let mut planned: Vec<(String, String)> =
        plan.report.changes.iter().flatten().map(|c| (c.control.clone(), c.resource.clone())).collect();
    planned.sort();
    assert_eq!(
        planned,
        [
            ("iam.console-mfa".to_string(), "user/console-bob".to_string()),
            ("iam.console-mfa".into(), "user/idle-erin".into()),
            ("iam.unused-credentials".into(), "user/idle-dave".into()),
            ("iam.unused-credentials".into(), "user/idle-erin".into()),
        ]
    );

    let apply = account.run(Verb::Apply, &baseline, &["iam"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.name()).collect();
    assert!(writes.iter().all(|w| w == "IAM:UpdateAccessKey" || w == "IAM:DeleteLoginProfile"), "only deactivation and login removal: {writes:?}");
    assert_eq!(writes.iter().filter(|w| *w == "IAM:UpdateAccessKey").count(), 1, "idle-dave's key: {writes:?}");
    // console-bob and idle-erin; idle-erin's password is also unused, and both controls may remove it
    // (the second finds it gone, which counts as done).
    assert!((2..=3).contains(&writes.iter().filter(|w| *w == "IAM:DeleteLoginProfile").count()), "{writes:?}");

    let iam = aws.iam();
    let dave = iam.list_access_keys().user_name("idle-dave").send().await.unwrap();
    assert_eq!(dave.access_key_metadata()[0].status(), Some(&aws_sdk_iam::types::StatusType::Inactive), "deactivated, not deleted");
    for user in ["console-bob", "idle-erin"] {
        let login = iam.get_login_profile().user_name(user).send().await;
        assert!(login.is_err_and(|e| e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception())), "{user} has no password");
    }
    assert_eq!(inventory(&aws).await, before, "no user, key, policy or group deleted");

    let verify = account.run(Verb::Verify, &baseline, &["iam"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    let again = account.run(Verb::Apply, &baseline, &["iam"]).await;
    assert_eq!(again.report.exit_code(), 0);
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert!(again.calls.repeated().is_empty(), "{:?}", again.calls.repeated());
}

#[tokio::test]
async fn an_account_without_users_passes_with_one_read_of_the_report() {
    let account = Account::fresh().await;
    let (_dir, baseline) = baseline_file(
        "version: 1\nname: t\nregions: [us-east-1]\niam:\n  console_mfa: {}\n  unused_credentials: {}\n  access_key_rotation: {}\n  no_admin_keys: {}\n  no_star_policies: {}\n",
    );
    let verify = account.run(Verb::Verify, &baseline, &["iam"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    assert_eq!(verify.report.summary.pass, 5, "one passing finding per control: {:#?}", verify.report.findings);
    let calls = verify.calls.by_operation();
    assert_eq!(calls.get("IAM:GetCredentialReport"), Some(&1), "{calls:?}");
    assert!(!calls.contains_key("IAM:ListAccessKeys"), "no per-user call on a clean account: {calls:?}");
}

/// With `disable_unused` on, mamori running as an IAM user whose own key looks unused (last-used data
/// lags behind use) never deactivates it, nor any other key or the password of its caller, and says so.
#[tokio::test]
async fn the_callers_own_keys_are_never_deactivated() {
    let account = Account::fresh().await;
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.create_user().user_name("operator").path(AGED).send().await.unwrap();
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    iam.put_user_policy().user_name("operator").policy_name("all").policy_document(policy).send().await.unwrap();
    let own = iam.create_access_key().user_name("operator").send().await.unwrap().access_key.unwrap();
    let spare = iam.create_access_key().user_name("operator").send().await.unwrap().access_key.unwrap();
    iam.create_user().user_name("idle-dave").path(AGED).send().await.unwrap();
    iam.create_access_key().user_name("idle-dave").send().await.unwrap();
    let (_dir, baseline) = baseline_file("version: 1\nname: t\nregions: [us-east-1]\niam:\n  unused_credentials:\n    disable_unused: true\n");

    let operator = account.with_access_key(&own.access_key_id, &own.secret_access_key);
    let apply = operator.run(Verb::Apply, &baseline, &["iam.unused-credentials"]).await;
    assert_eq!(status_of(&apply, "iam.unused-credentials"), expect(&[("user/idle-dave", Status::Pass), ("user/operator", Status::Manual)]));
    let finding = apply.report.finding("iam.unused-credentials").into_iter().find(|f| f.resource == "user/operator").unwrap();
    assert!(finding.remediation.as_deref().is_some_and(|s| s.contains("mamori runs as operator")), "{finding:?}");
    let deactivated = apply.calls.mutating_sent().iter().filter(|c| c.operation == "UpdateAccessKey").count();
    assert_eq!(deactivated, 1, "idle-dave's key only: {:?}", apply.calls.mutating_sent());
    let keys = iam.list_access_keys().user_name("operator").send().await.unwrap();
    for key in keys.access_key_metadata() {
        assert_eq!(key.status(), Some(&aws_sdk_iam::types::StatusType::Active), "{:?} of the caller stays active", key.access_key_id());
    }
    assert_eq!(keys.access_key_metadata().len(), 2, "{spare:?}");
}
