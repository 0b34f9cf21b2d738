//! The audit trail end to end: log buckets, the lock, MFA Delete, the trail. On moto every control
//! converges (MFA Delete in the root user's step, played with the shim's root access key) and the
//! shim enforces what AWS enforces on the buckets (the lock's Deny, ExpectedBucketOwner, the region
//! redirect, no MFA Delete beside a lifecycle rule); on LocalStack, which lacks CloudTrail, the
//! buckets converge and `logs.trail` is a clear `error`.

use mamori::app::Outcome;
use mamori::aws::{AccessMode, Mfa};
use mamori::report::{Action, Status, Verb};

use crate::harness::{emulator, propagated, standard_baseline, standard_baseline_with_subscriber, Account, Engine};

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

    let s3_reads = verify.calls.sent().iter().filter(|c| c.service == "S3").count();
    assert_eq!(s3_reads, 13, "audit bucket 8 reads (HeadBucket with the expected owner first), access-log bucket 5: {:?}", verify.calls.by_operation());

    let again = account.run(Verb::Apply, &baseline, &["logs"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "a converged apply costs what a verify costs");

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
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(audit_bucket(&account)).send().await.unwrap_err();
    assert_eq!(lifecycle.as_service_error().and_then(|e| e.meta().code()), Some("NoSuchLifecycleConfiguration"), "no rule: MFA Delete follows");
    let access_finding = verify.report.finding("logs.bucket").into_iter().find(|f| f.resource == access).unwrap().clone();
    let why = "SSE-S3 (AES256), not SSE-KMS, by design";
    assert!(access_finding.message.contains(why) && access_finding.message.contains("s3_bucket_kms_encryption"), "{}", access_finding.message);
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

/// The root user's step, mamori's MFA code path: `apply --mfa` with the root user's credentials.
fn root_mfa(account: &Account) -> Mfa {
    Mfa::parse(&format!("arn:aws:iam::{}:mfa/root-account-mfa-device 123456", account.id)).unwrap()
}

/// S3 writes of a run, in order.
fn s3_writes(outcome: &Outcome) -> Vec<String> {
    outcome.calls.mutating_sent().iter().filter(|c| c.service == "S3").map(|c| c.operation.clone()).collect()
}

/// The audit bucket's policy, read back behind mamori's back.
async fn audit_policy(account: &Account) -> serde_json::Value {
    let s3 = account.aws(AccessMode::ReadOnly).await.s3("us-east-1");
    let policy = s3.get_bucket_policy().bucket(audit_bucket(account)).send().await.unwrap();
    serde_json::from_str(policy.policy().unwrap()).unwrap()
}

/// The lock statement the shipped template writes for `account`.
fn template_lock(account: &Account) -> serde_json::Value {
    let text = std::fs::read_to_string(crate::harness::repo().join("templates/log-bucket-policy.json"))
        .unwrap()
        .replace("{partition}", "aws")
        .replace("{bucket}", &audit_bucket(account));
    mamori::policy::statement_with_sid(&serde_json::from_str(&text).unwrap(), "MamoriLogBucketLock").unwrap()
}

/// Replaces the audit bucket's lock with the lock an earlier release wrote (it allowed fewer actions),
/// as `who` (the root user on moto, where the shim enforces the lock as AWS does).
async fn put_earlier_lock(account: &Account, who: &Account) {
    let mut policy = audit_policy(account).await;
    for statement in policy["Statement"].as_array_mut().unwrap() {
        if statement["Sid"] == "MamoriLogBucketLock" {
            let earlier = ["s3:RestoreObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention", "s3:PutInventoryConfiguration"];
            statement["NotAction"].as_array_mut().unwrap().retain(|a| !earlier.contains(&a.as_str().unwrap()));
        }
    }
    let s3 = who.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    s3.put_bucket_policy().bucket(audit_bucket(account)).policy(policy.to_string()).send().await.unwrap();
    propagated().await;
}

/// moto only: the root user is played with the shim's root access key, and the shim enforces the lock
/// as AWS does (LocalStack never reports MFADelete; scripts/test.sh skips this test there).
#[tokio::test]
async fn mfa_delete_is_turned_on_in_the_root_users_step_through_the_lock() {
    let account = Account::fresh().await;
    converge(&account).await;
    let only = ["logs.bucket-mfa-delete"];

    // An administrator's credentials: the lock denies the change to everyone but the root user.
    let admin = account.run_with_mfa(Verb::Apply, &standard_baseline(), &only, root_mfa(&account)).await;
    let finding = &admin.report.finding("logs.bucket-mfa-delete")[0];
    assert_eq!(finding.status, Status::Error, "{finding:?}");
    assert!(finding.message.contains("root user's credentials"), "{}", finding.message);
    assert!(s3_writes(&admin).is_empty(), "nothing is sent that the lock refuses: {:?}", s3_writes(&admin));

    let root = account.root();
    let step = root.run_with_mfa(Verb::Apply, &standard_baseline(), &only, root_mfa(&account)).await;
    assert_eq!(statuses(&step, "logs.bucket-mfa-delete"), [Status::Pass], "{:#?}", step.report);
    assert_eq!(s3_writes(&step), ["PutBucketPolicy", "PutBucketVersioning", "PutBucketPolicy"], "lift, enable, lock again");
    assert!(step.calls.sent().iter().all(|c| !c.operation.starts_with("Delete")), "the lock is replaced, never deleted");
    let lock = mamori::policy::statement_with_sid(&audit_policy(&account).await, "MamoriLogBucketLock");
    assert_eq!(lock, Some(template_lock(&account)), "the lock is back");

    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    let versioning = account.aws(AccessMode::ReadOnly).await.s3("us-east-1").get_bucket_versioning().bucket(audit_bucket(&account)).send().await.unwrap();
    assert_eq!(versioning.mfa_delete().map(|m| m.as_str()), Some("Enabled"));
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

/// An account mamori hardened before MFA Delete and the lifecycle rule were told apart: locked, with
/// mamori's lifecycle rule and an earlier release's lock. The plan says what happens; only the root
/// user's step can change the bucket, and it reaches MFA Delete without losing an object. moto only.
#[tokio::test]
async fn an_account_hardened_by_an_earlier_release_reaches_mfa_delete_without_losing_data() {
    let account = Account::fresh().await;
    let standard = std::fs::read_to_string(standard_baseline()).unwrap();
    let earlier = standard
        .replace("    access_log_policy: access-log-bucket-policy\n", "    access_log_policy: access-log-bucket-policy\n    noncurrent_version_transition_days: 90\n")
        .replace("  bucket_mfa_delete:\n    enabled: true\n", "  bucket_mfa_delete:\n    enabled: false\n");
    assert!(earlier.contains("noncurrent_version_transition_days: 90") && earlier.contains("bucket_mfa_delete:\n    enabled: false"), "{earlier}");
    let (_dir, earlier) = crate::harness::baseline_file(&earlier);
    let admin = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let bucket = audit_bucket(&account);
    admin.create_bucket().bucket(&bucket).send().await.unwrap();
    let enabled = aws_sdk_s3::types::VersioningConfiguration::builder().status(aws_sdk_s3::types::BucketVersioningStatus::Enabled).build();
    admin.put_bucket_versioning().bucket(&bucket).versioning_configuration(enabled).send().await.unwrap();
    for i in 0..3 {
        admin.put_object().bucket(&bucket).key("AWSLogs/digest.json.gz").body(vec![b'0' + i; 10].into()).send().await.unwrap();
    }
    let hardened = account.run(Verb::Apply, &earlier, &["logs.bucket"]).await;
    assert_eq!(statuses(&hardened, "logs.bucket"), [Status::Pass, Status::Pass], "{:#?}", hardened.report);
    let root = account.root();
    put_earlier_lock(&account, &root).await;

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    let finding = plan.report.finding("logs.bucket").into_iter().find(|f| f.resource.contains("audit")).unwrap().clone();
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.message.contains("noncurrent_versions: \"GLACIER after 90 days\" → null"), "{}", finding.message);
    assert!(finding.message.contains("mamori-noncurrent-versions is removed") && finding.message.contains("Nothing is expired"), "{}", finding.message);
    let steps = finding.remediation.clone().unwrap_or_default();
    assert!(steps.contains("--mfa") && steps.contains("put-bucket-policy"), "{steps}");
    let admin_apply = account.run(Verb::Apply, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    assert!(admin_apply.calls.mutating_sent().is_empty(), "a locked bucket gets no write: {:?}", admin_apply.calls.mutating_sent());

    let step = root.run_with_mfa(Verb::Apply, &standard_baseline(), &["logs.bucket-mfa-delete"], root_mfa(&account)).await;
    assert_eq!(statuses(&step, "logs.bucket"), [Status::Pass, Status::Pass], "{:#?}", step.report);
    assert_eq!(statuses(&step, "logs.bucket-mfa-delete"), [Status::Pass], "{:#?}", step.report);
    let deletes: Vec<String> = step.calls.sent().iter().filter(|c| c.operation.starts_with("Delete")).map(|c| c.operation.clone()).collect();
    assert_eq!(deletes, ["DeleteBucketLifecycle"], "a configuration goes, nothing else");
    let lifecycle = admin.get_bucket_lifecycle_configuration().bucket(&bucket).send().await.unwrap_err();
    assert_eq!(lifecycle.as_service_error().and_then(|e| e.meta().code()), Some("NoSuchLifecycleConfiguration"));
    let versions = admin.list_object_versions().bucket(&bucket).send().await.unwrap();
    assert_eq!(versions.versions().len(), 3, "every version is still there");
    let lock = mamori::policy::statement_with_sid(&audit_policy(&account).await, "MamoriLogBucketLock");
    assert_eq!(lock, Some(template_lock(&account)), "this release's lock replaced the earlier one");

    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

/// A lock of another release (another mamori version, or a user's own template) is the lock: it is
/// found by its Sid, reported manual, and sent no write (AWS would deny it, on every run). On moto the
/// shim enforces it and the root user's step replaces it; LocalStack enforces no bucket policy.
#[tokio::test]
async fn a_lock_of_another_release_is_recognised_by_its_sid_and_left_alone() {
    let account = Account::fresh().await;
    converge(&account).await;
    let moto = emulator().engine == Engine::Moto;
    let root = moto.then(|| account.root());
    put_earlier_lock(&account, root.as_ref().unwrap_or(&account)).await;

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.bucket"]).await;
    let finding = plan.report.finding("logs.bucket").into_iter().find(|f| f.resource.contains("audit")).unwrap().clone();
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.message.contains("policy_has_baseline_statements: false → true"), "{}", finding.message);
    assert!(finding.remediation.as_deref().unwrap_or_default().contains("put-bucket-policy"), "{finding:?}");
    assert!(plan.report.changes.iter().flatten().all(|c| !c.resource.contains("audit")), "nothing planned on a locked bucket");

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.bucket"]).await;
    assert!(apply.calls.mutating_sent().is_empty(), "apply leaves a locked bucket alone: {:?}", apply.calls.mutating_sent());
    assert_eq!(apply.report.exit_code(), 2);

    if let Some(root) = root {
        let step = root.run_with_mfa(Verb::Apply, &standard_baseline(), &["logs.bucket"], root_mfa(&account)).await;
        assert_eq!(statuses(&step, "logs.bucket"), [Status::Pass, Status::Pass], "{:#?}", step.report);
        assert_eq!(s3_writes(&step), ["PutBucketPolicy", "PutBucketPolicy"], "lift, then this release's lock");
        assert_eq!(mamori::policy::statement_with_sid(&audit_policy(&account).await, "MamoriLogBucketLock"), Some(template_lock(&account)));
    }
}

/// Bucket names are global and mamori's are predictable: a bucket of the audit bucket's name that
/// another account created first is never read as ours, written to, or named as the trail's
/// destination. On moto the shim refuses ExpectedBucketOwner as AWS does, on HeadBucket too, and the
/// finding says whose the bucket is; LocalStack ignores it on HeadBucket but refuses the reads after.
#[tokio::test]
async fn a_bucket_of_the_predictable_name_in_another_account_is_an_error() {
    let account = Account::fresh().await;
    let squatter = Account::fresh().await.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    squatter.create_bucket().bucket(audit_bucket(&account)).send().await.unwrap();

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    let finding = apply.report.finding("logs.bucket")[0].clone();
    assert_eq!(finding.status, Status::Error, "{finding:?}");
    let expected: &[&str] = if emulator().engine == Engine::Moto {
        &["belongs to another AWS account", "logs.bucket.name", "ExpectedBucketOwner"]
    } else {
        &["AccessDenied"]
    };
    for expected in expected {
        assert!(finding.message.contains(expected), "{expected}: {}", finding.message);
    }
    assert!(s3_writes(&apply).is_empty(), "nothing is written to it: {:?}", s3_writes(&apply));
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "CreateTrail"), "the trail is held back");
    assert_eq!(apply.report.exit_code(), 1);
    let policy = squatter.get_bucket_policy().bucket(audit_bucket(&account)).send().await.unwrap_err();
    assert_eq!(policy.as_service_error().and_then(|e| e.meta().code()), Some("NoSuchBucketPolicy"));
}

/// S3 answers a bucket of another region with a redirect the SDK does not follow: an audit bucket of
/// that name in another region is a clear error naming it and its region. On moto the shim answers as
/// AWS does (301 naming the region); LocalStack answers 200 naming it, and the error is the same.
#[tokio::test]
async fn an_audit_bucket_in_another_region_is_a_clear_error() {
    let account = Account::fresh().await;
    let configuration = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
        .build();
    let s3 = account.aws(AccessMode::ReadWrite).await.s3("eu-west-1");
    s3.create_bucket().bucket(audit_bucket(&account)).create_bucket_configuration(configuration).send().await.unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.bucket", "logs.bucket-mfa-delete"]).await;
    for control in ["logs.bucket", "logs.bucket-mfa-delete"] {
        let finding = &plan.report.finding(control)[0];
        assert_eq!(finding.status, Status::Error, "{finding:?}");
        let expected = format!("bucket {} is in eu-west-1, not in the home region us-east-1", audit_bucket(&account));
        assert!(finding.message.contains(&expected), "{}", finding.message);
    }
    let heads = plan.calls.by_operation().get("S3:HeadBucket").copied();
    // The audit bucket is located once per run for both controls (on moto: the home region's redirect,
    // then the owner asked in eu-west-1); the access-log bucket, read at the same time, once.
    if emulator().engine == Engine::Moto {
        assert_eq!(heads, Some(3), "the audit bucket located once per run (2 calls), the access-log bucket once");
    } else {
        assert_eq!(heads, Some(2), "each bucket located once per run");
    }
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
