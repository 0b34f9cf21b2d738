//! The audit trail end to end: log buckets, the lock, MFA Delete, the trail. On moto every control
//! converges (MFA Delete through the harness shim); on LocalStack, which lacks CloudTrail, the buckets
//! converge and `logs.trail` is a clear `error`.

use mamori::app::Outcome;
use mamori::aws::{AccessMode, Mfa};
use mamori::report::{Action, Status, Verb};

use crate::harness::{emulator, standard_baseline, standard_baseline_with_subscriber, Account, Engine};

pub fn statuses(outcome: &Outcome, control: &str) -> Vec<Status> {
    outcome.report.finding(control).iter().map(|f| f.status).collect()
}

fn audit_bucket(account: &Account) -> String {
    format!("mamori-audit-{}-us-east-1", account.id)
}

/// The status of `control`'s finding on `resource`.
pub fn status_of(outcome: &Outcome, control: &str, resource: &str) -> Status {
    let findings = outcome.report.finding(control);
    findings.iter().find(|f| f.resource == resource).unwrap_or_else(|| panic!("no {control} finding on {resource}: {findings:#?}")).status
}

/// On moto: a fresh account. `None` on LocalStack, which has no CloudTrail.
pub async fn fresh_on_moto() -> Option<Account> {
    match emulator().engine {
        Engine::Moto => Some(Account::fresh().await),
        Engine::LocalStack => None,
    }
}

/// On moto: a fresh account with the `logs` group converged. `None` on LocalStack.
pub async fn converged_on_moto() -> Option<Account> {
    let account = fresh_on_moto().await?;
    converge(&account).await;
    Some(account)
}

/// Converges the `logs` group (MFA Delete stays manual) and returns the apply's outcome.
pub async fn converge(account: &Account) -> Outcome {
    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    assert_eq!(statuses(&apply, "logs.bucket"), [Status::Pass, Status::Pass], "{:#?}", apply.report);
    apply
}

#[tokio::test]
async fn the_audit_trail_converges_on_a_fresh_account() {
    let account = Account::fresh().await;
    let baseline = standard_baseline();
    let moto = emulator().engine == Engine::Moto;

    let plan = account.run(Verb::Plan, &baseline, &["logs"]).await;
    assert_eq!(plan.report.exit_code(), if moto { 2 } else { 1 }, "drift, or (LocalStack) the trail's error");
    let planned: Vec<(&str, &str, Action)> =
        plan.report.changes.iter().flatten().map(|c| (c.control.as_str(), c.resource.as_str(), c.action)).collect();
    let audit = format!("bucket/{}", audit_bucket(&account));
    let access = format!("bucket/mamori-access-logs-{}-us-east-1", account.id);
    assert!(planned.contains(&("logs.bucket", audit.as_str(), Action::Create)), "{planned:?}");
    assert!(planned.contains(&("logs.bucket", access.as_str(), Action::Create)), "{planned:?}");
    if moto {
        assert!(planned.contains(&("logs.trail", "trail/mamori-trail", Action::Create)), "{planned:?}");
    }
    assert_eq!(statuses(&plan, "logs.bucket-mfa-delete"), [Status::Manual]);
    assert!(plan.calls.mutating_sent().is_empty());

    let apply = converge(&account).await;
    let s3_writes: Vec<String> = apply.calls.mutating_sent().iter().filter(|c| c.service == "S3").map(|c| c.operation.clone()).collect();
    assert_eq!(s3_writes.last().map(String::as_str), Some("PutBucketPolicy"), "the lock is written last: {s3_writes:?}");

    let verify = account.run(Verb::Verify, &baseline, &["logs"]).await;
    assert_eq!(statuses(&verify, "logs.bucket"), [Status::Pass, Status::Pass]);
    let mfa = &verify.report.finding("logs.bucket-mfa-delete")[0];
    assert_eq!(mfa.status, Status::Manual);
    let steps = mfa.remediation.as_deref().unwrap_or_default();
    assert!(steps.contains(&format!("aws s3api put-bucket-versioning --bucket {}", audit_bucket(&account))), "{steps}");
    assert!(steps.contains("mamori apply --only logs.bucket-mfa-delete --mfa"), "{steps}");
    if moto {
        assert_eq!(statuses(&verify, "logs.trail"), [Status::Pass; 3], "the trail, its delivery and its log group: {:#?}", verify.report.finding("logs.trail"));
        let alarms = verify.report.finding("logs.alarms");
        assert_eq!(alarms.len(), 17, "the topic, its subscribers and fifteen CIS alarms");
        for finding in alarms {
            let expected = if finding.resource.ends_with("/subscribers") { Status::Manual } else { Status::Pass };
            assert_eq!(finding.status, expected, "{finding:#?}");
        }
        let subscribers = &verify.report.finding("logs.alarms").into_iter().find(|f| f.resource.ends_with("/subscribers")).unwrap().clone();
        assert!(subscribers.remediation.as_deref().unwrap_or_default().contains("aws sns subscribe --topic-arn"), "{subscribers:?}");
        assert_eq!(verify.report.exit_code(), 2, "only the manual steps are left: MFA Delete and a confirmed subscriber");
    } else {
        assert!(statuses(&verify, "logs.alarms").iter().all(|s| *s != Status::Pass), "no log group without the trail");
        let trail = &verify.report.finding("logs.trail")[0];
        assert_eq!(trail.status, Status::Error);
        assert!(trail.message.contains("cloudtrail is not available at this endpoint"), "{}", trail.message);
    }
    assert!(verify.calls.mutating_sent().is_empty());
    assert!(verify.calls.repeated().is_empty(), "verify repeats no call: {:?}", verify.calls.repeated());

    let again = account.run(Verb::Apply, &baseline, &["logs"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());

    // What was written, read back behind mamori's back.
    let aws = account.aws(AccessMode::ReadOnly).await;
    let s3 = aws.s3("us-east-1");
    let policy = s3.get_bucket_policy().bucket(audit_bucket(&account)).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let lock = mamori::policy::statements(&policy).into_iter().find(|s| s["Sid"] == "MamoriLogBucketLock").expect("the lock statement");
    assert_eq!(lock["Effect"], "Deny");
    assert!(lock["NotAction"].as_array().unwrap().iter().any(|a| a == "s3:PutObject"), "the log flow may still write");
    let versioning = s3.get_bucket_versioning().bucket(audit_bucket(&account)).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    if moto {
        let filters = aws.logs("us-east-1").describe_metric_filters().log_group_name("/mamori/cloudtrail").send().await.unwrap();
        assert_eq!(filters.metric_filters().len(), 15);
        let alarms = aws.cloudwatch("us-east-1").describe_alarms().alarm_name_prefix("mamori-cis-").send().await.unwrap();
        let topic = format!("arn:aws:sns:us-east-1:{}:mamori-security-alarms", account.id);
        assert_eq!(alarms.metric_alarms().len(), 15);
        assert!(alarms.metric_alarms().iter().all(|a| a.alarm_actions() == [topic.clone()]), "every alarm notifies the topic");
        let attributes = aws.sns("us-east-1").get_topic_attributes().topic_arn(&topic).send().await.unwrap();
        assert!(attributes.attributes().unwrap()["KmsMasterKeyId"].starts_with("arn:aws:kms:"), "the topic is encrypted with the baseline key");
    }
}

/// moto only: the harness shim makes moto read MFA Delete back; LocalStack accepts the header but never
/// reports MFADelete (scripts/test.sh skips this test there).
#[tokio::test]
async fn mfa_delete_is_turned_on_with_the_operators_mfa_code() {
    let account = Account::fresh().await;
    converge(&account).await;
    let mfa = Mfa::parse(&format!("arn:aws:iam::{}:mfa/root-account-mfa-device 123456", account.id)).unwrap();
    let with_mfa = account.run_with_mfa(Verb::Apply, &standard_baseline(), &["logs.bucket-mfa-delete"], mfa).await;
    assert_eq!(statuses(&with_mfa, "logs.bucket-mfa-delete"), [Status::Pass], "{:#?}", with_mfa.report);
    assert!(with_mfa.calls.mutating_sent().iter().any(|c| c.operation == "PutBucketVersioning"));

    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    let versioning = account.aws(AccessMode::ReadOnly).await.s3("us-east-1").get_bucket_versioning().bucket(audit_bucket(&account)).send().await.unwrap();
    assert_eq!(versioning.mfa_delete().map(|m| m.as_str()), Some("Enabled"));
}

#[tokio::test]
async fn a_locked_bucket_is_reported_manual_and_left_alone() {
    let account = Account::fresh().await;
    converge(&account).await;
    // Behind mamori's back (moto does not enforce bucket policies): the audit bucket loses its lifecycle rule.
    let s3 = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    s3.delete_bucket_lifecycle().bucket(audit_bucket(&account)).send().await.unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.bucket"]).await;
    let finding = plan.report.finding("logs.bucket").into_iter().find(|f| f.resource.contains("audit")).unwrap().clone();
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.remediation.as_deref().unwrap_or_default().contains("delete-bucket-policy"), "{finding:?}");
    assert!(plan.report.changes.iter().flatten().all(|c| !c.resource.contains("audit")), "nothing planned on a locked bucket");

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.bucket"]).await;
    assert!(apply.calls.mutating_sent().is_empty(), "apply leaves a locked bucket alone: {:?}", apply.calls.mutating_sent());
    assert_eq!(apply.report.exit_code(), 2);
}

#[tokio::test]
async fn existing_buckets_keep_their_objects() {
    let account = Account::fresh().await;
    let s3 = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let bucket = audit_bucket(&account);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    for i in 0..3 {
        s3.put_object().bucket(&bucket).key(format!("AWSLogs/old-{i}.json.gz")).body(vec![b'x'; 10].into()).send().await.unwrap();
    }
    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.bucket"]).await;
    let audit_change = plan.report.changes.iter().flatten().find(|c| c.resource.contains("audit")).expect("a change on the audit bucket");
    assert_eq!(audit_change.action, Action::Update, "the existing bucket is adopted");

    converge(&account).await;
    let versions = s3.list_object_versions().bucket(&bucket).send().await.unwrap();
    assert_eq!(versions.versions().len(), 3, "every object is still there");
    assert!(!apply_deleted_anything(&account).await);
}

/// Whether any apply of the `logs` group would send a delete (it must not: it is converged and the
/// control has no delete call at all).
async fn apply_deleted_anything(account: &Account) -> bool {
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    again.calls.sent().iter().any(|c| c.operation.starts_with("Delete"))
}

#[tokio::test]
async fn a_weakened_trail_is_updated_in_place() {
    if emulator().engine != Engine::Moto {
        return assert_trail_unavailable().await;
    }
    let account = Account::fresh().await;
    converge(&account).await;
    let cloudtrail = account.aws(AccessMode::ReadWrite).await.cloudtrail("us-east-1");
    let arn = format!("arn:aws:cloudtrail:us-east-1:{}:trail/mamori-trail", account.id);
    cloudtrail.stop_logging().name(&arn).send().await.unwrap();
    cloudtrail.update_trail().name(&arn).enable_log_file_validation(false).send().await.unwrap();
    let logs = account.aws(AccessMode::ReadWrite).await.logs("us-east-1");
    logs.delete_metric_filter().log_group_name("/mamori/cloudtrail").filter_name("mamori-cis-root-usage").send().await.unwrap();

    let alarms_plan = account.run(Verb::Plan, &standard_baseline(), &["logs.alarms"]).await;
    let restored = alarms_plan.report.changes.iter().flatten().filter(|c| c.control == "logs.alarms").collect::<Vec<_>>();
    assert_eq!(restored.len(), 1, "only the deleted filter: {restored:?}");
    assert_eq!((restored[0].resource.as_str(), restored[0].action), ("alarm/mamori-cis-root-usage", Action::Update));

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.trail"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.control == "logs.trail").expect("a trail change");
    assert_eq!((change.resource.as_str(), change.action), ("trail/mamori-trail", Action::Update));
    assert_eq!(change.after["logging"], true);
    assert_eq!(change.after["log_file_validation"], true);

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.trail", "logs.alarms"]).await;
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "CreateTrail" || c.operation == "DeleteTrail"));
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail", "logs.alarms"]).await;
    assert_eq!(statuses(&verify, "logs.trail"), [Status::Pass; 3]);
    assert_eq!(status_of(&verify, "logs.alarms", "alarm/mamori-cis-root-usage"), Status::Pass, "the filter is back");
    let trails = cloudtrail.describe_trails().send().await.unwrap();
    assert_eq!(trails.trail_list().len(), 1);
    assert_eq!(trails.trail_list()[0].trail_arn(), Some(arn.as_str()), "same trail, same ARN");
    assert_eq!(trails.trail_list()[0].log_file_validation_enabled(), Some(true));
}

#[tokio::test]
async fn the_management_account_runs_an_organization_trail() {
    if emulator().engine != Engine::Moto {
        return assert_trail_unavailable().await;
    }
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    aws.organizations().create_organization().send().await.unwrap();
    converge(&account).await;
    let trail = &aws.cloudtrail("us-east-1").describe_trails().send().await.unwrap().trail_list()[0].clone();
    assert_eq!(trail.is_organization_trail(), Some(true));
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    let mut pages = aws.organizations().list_aws_service_access_for_organization().into_paginator().send();
    let mut principals = Vec::new();
    while let Some(page) = pages.next().await {
        principals.extend(page.unwrap().enabled_service_principals().iter().filter_map(|p| p.service_principal()).map(str::to_string));
    }
    assert_eq!(principals, ["cloudtrail.amazonaws.com"]);
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "trusted access is read to the last page, not enabled again: {:?}", again.calls.mutating_sent());
    let pages_read = again.calls.by_operation().get("Organizations:ListAWSServiceAccessForOrganization").copied().unwrap_or(0);
    assert_eq!(pages_read, 2, "Organizations answered an empty page with a token, then the principal");
    let organization = again.report.finding("logs.trail").into_iter().find(|f| f.resource.starts_with("organization/o-")).expect("the organization's finding").clone();
    assert_eq!(organization.status, Status::Pass, "{organization:?}");
}

async fn assert_trail_unavailable() {
    let account = Account::fresh().await;
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail"]).await;
    let trail = &verify.report.finding("logs.trail")[0];
    assert_eq!(trail.status, Status::Error);
    assert!(trail.message.contains("not available at this endpoint"), "{}", trail.message);
    assert_eq!(verify.report.exit_code(), 1);
}

#[tokio::test]
async fn alarm_subscriptions_from_the_baseline_are_added_once() {
    if emulator().engine != Engine::Moto {
        return assert_trail_unavailable().await;
    }
    let account = Account::fresh().await;
    let (_dir, baseline) = standard_baseline_with_subscriber();

    account.run(Verb::Apply, &baseline, &["logs"]).await;
    let topic = format!("arn:aws:sns:us-east-1:{}:mamori-security-alarms", account.id);
    let sns = account.aws(AccessMode::ReadOnly).await.sns("us-east-1");
    let subscriptions = sns.list_subscriptions_by_topic().topic_arn(&topic).send().await.unwrap();
    let listed: Vec<(&str, &str, &str)> = subscriptions
        .subscriptions()
        .iter()
        .map(|s| (s.protocol().unwrap_or_default(), s.endpoint().unwrap_or_default(), s.subscription_arn().unwrap_or_default()))
        .collect();
    assert_eq!(listed, [("email", "security@example.com", "PendingConfirmation")], "as on AWS, e-mail waits for its recipient");

    let pending = account.run(Verb::Verify, &baseline, &["logs.alarms"]).await;
    let subscribers = pending.report.finding("logs.alarms").into_iter().find(|f| f.resource.ends_with("/subscribers")).unwrap().clone();
    assert_eq!(subscribers.status, Status::Manual, "a pending subscription notifies nobody: {subscribers:?}");
    assert!(subscribers.remediation.as_deref().unwrap_or_default().contains("email:security@example.com waits for its recipient"), "{subscribers:?}");
    let again = account.run(Verb::Apply, &baseline, &["logs.alarms"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "a pending subscription is not sent again: {:?}", again.calls.mutating_sent());

    account.confirm_subscription(&topic, "security@example.com");
    let confirmed = account.run(Verb::Verify, &baseline, &["logs.alarms"]).await;
    assert_eq!(status_of(&confirmed, "logs.alarms", "topic/mamori-security-alarms/subscribers"), Status::Pass);
    assert_eq!(confirmed.report.exit_code(), 0, "{:#?}", confirmed.report);
}
