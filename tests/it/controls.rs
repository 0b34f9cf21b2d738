//! Every control end to end on a fresh account: `plan` shows the change → `apply` → `verify` passes →
//! a second `apply` makes zero mutating calls → `verify` makes zero mutating calls. Calls are counted
//! by the client layer's interceptor, and the account's state is also checked directly with the SDK.

use std::collections::BTreeSet;

use mamori::app::Outcome;
use mamori::aws::AccessMode;
use mamori::report::{Action, Status, Verb};

use crate::harness::{standard_baseline, Account, FULLY_AUTOMATIC};

/// Operation names (`kms:CreateKey`) of the calls an outcome sent.
fn operations(outcome: &Outcome) -> BTreeSet<String> {
    outcome.calls.sent().iter().map(|c| c.name()).collect()
}

pub(crate) fn assert_all_pass(outcome: &Outcome, control: &str) {
    let findings = outcome.report.finding(control);
    assert!(!findings.is_empty(), "no finding for {control}");
    for finding in findings {
        assert_eq!(finding.status, Status::Pass, "{control}: {finding:?}");
    }
}

/// The whole cycle for `control`; returns the first apply's outcome for control-specific checks.
async fn assert_converges(account: &Account, control: &str, regions: &[&str]) -> Outcome {
    assert_converges_with(account, &standard_baseline(), control, regions).await
}

/// [`assert_converges`] with another baseline file.
pub(crate) async fn assert_converges_with(account: &Account, baseline: &std::path::Path, control: &str, regions: &[&str]) -> Outcome {
    let baseline = baseline.to_path_buf();
    let only = [control];

    let plan = account.run_in(Verb::Plan, &baseline, &only, regions).await;
    assert_eq!(plan.report.exit_code(), 2, "plan on a fresh account shows drift: {:#?}", plan.report);
    let planned: Vec<_> = plan.report.changes.iter().flatten().filter(|c| c.control == control).collect();
    assert!(!planned.is_empty(), "plan lists a change for {control}");
    assert!(plan.calls.mutating_sent().is_empty(), "plan sent writes: {:?}", plan.calls.mutating_sent());

    let apply = account.run_in(Verb::Apply, &baseline, &only, regions).await;
    assert_eq!(apply.report.exit_code(), 0, "apply converges: {:#?}", apply.report);
    assert!(!apply.calls.mutating_sent().is_empty(), "apply made changes");
    assert!(apply.report.changes.iter().flatten().any(|c| c.control == control));

    let verify = account.run_in(Verb::Verify, &baseline, &only, regions).await;
    assert_eq!(verify.report.exit_code(), 0, "verify passes after apply: {:#?}", verify.report);
    assert_all_pass(&verify, control);
    assert!(verify.calls.mutating_sent().is_empty(), "verify sent writes");
    assert!(verify.calls.records().iter().all(|c| !c.refused), "verify attempted writes: {:?}", verify.calls.records());

    let again = account.run_in(Verb::Apply, &baseline, &only, regions).await;
    assert_eq!(again.report.exit_code(), 0);
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert_eq!(again.report.changes.as_deref(), Some(&[][..]), "second apply changed nothing");
    assert!(operations(&again).is_subset(&operations(&verify)), "a converged apply only reads what verify reads");
    assert!(again.calls.sent().len() <= verify.calls.sent().len(), "a converged apply costs no more than verify");

    let verify_again = account.run_in(Verb::Verify, &baseline, &only, regions).await;
    assert_eq!(verify_again.report.exit_code(), 0);
    assert!(verify_again.calls.mutating_sent().is_empty());
    apply
}

#[tokio::test]
async fn kms_baseline_key_converges() {
    let account = Account::fresh().await;
    let apply = assert_converges(&account, "kms.baseline-key", &[]).await;
    assert!(apply.report.changes.iter().flatten().any(|c| c.control == "kms.baseline-key" && c.action == Action::Create));

    let kms = account.aws(AccessMode::ReadOnly).await.kms("us-east-1");
    let key = kms.describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap();
    assert!(kms.get_key_rotation_status().key_id(key.key_id()).send().await.unwrap().key_rotation_enabled());
    let policy = kms.get_key_policy().key_id(key.key_id()).policy_name("default").send().await.unwrap();
    assert!(policy.policy().unwrap().contains(&format!("arn:aws:iam::{}:root", account.id)), "root administers the key");
    let tags = kms.list_resource_tags().key_id(key.key_id()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.tag_key() == "mamori:baseline-key" && t.tag_value() == "mamori-baseline"));
}

/// The key policy as AWS holds it, and a writer for it (behind mamori's back).
async fn key_policy(account: &Account) -> (aws_sdk_kms::Client, String, serde_json::Value) {
    let kms = account.aws(AccessMode::ReadWrite).await.kms("us-east-1");
    let key = kms.describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap().key_id().to_string();
    let text = kms.get_key_policy().key_id(&key).policy_name("default").send().await.unwrap().policy.unwrap();
    (kms, key, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn a_key_policy_that_cuts_cloudwatch_off_the_alarm_topic_is_reported() {
    let account = Account::fresh().await;
    let apply = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);

    // Someone drops the CloudWatch statement: a template statement is missing, apply puts it back.
    let (kms, key, policy) = key_policy(&account).await;
    let mut cut = policy.clone();
    cut["Statement"].as_array_mut().unwrap().retain(|s| s["Sid"] != "MamoriCloudWatchAlarmsPublishToEncryptedTopic");
    kms.put_key_policy().key_id(&key).policy_name("default").policy(cut.to_string()).send().await.unwrap();
    let verify = account.run(Verb::Verify, &standard_baseline(), &["kms.baseline-key"]).await;
    let finding = &verify.report.finding("kms.baseline-key")[0];
    assert_eq!(finding.status, Status::Fail, "{finding:?}");
    let denied = finding.actual.as_ref().unwrap()["service_access_denied"].to_string();
    assert!(denied.contains("cloudwatch.amazonaws.com kms:GenerateDataKey") && denied.contains("no statement allows it"), "{denied}");
    let fixed = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(fixed.report.exit_code(), 0, "{:#?}", fixed.report);
    assert_eq!(fixed.calls.mutating_sent().iter().map(|c| c.operation.as_str()).collect::<Vec<_>>(), ["PutKeyPolicy"]);

    // Someone adds a Deny for CloudWatch: every template statement is there, only a human can decide.
    // (Its actions leave out kms:DescribeKey: moto applies a key policy's Deny to DescribeKey whatever
    // its Principal, which AWS does not.)
    let (kms, key, policy) = key_policy(&account).await;
    let mut denying = policy.clone();
    denying["Statement"].as_array_mut().unwrap().push(serde_json::json!(
        {"Sid": "NoCloudWatch", "Effect": "Deny", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}));
    kms.put_key_policy().key_id(&key).policy_name("default").policy(denying.to_string()).send().await.unwrap();
    let verify = account.run(Verb::Verify, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(verify.report.exit_code(), 2, "{:#?}", verify.report);
    let finding = &verify.report.finding("kms.baseline-key")[0];
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.message.contains("denied by the statement NoCloudWatch"), "{}", finding.message);
    assert!(finding.remediation.as_deref().is_some_and(|steps| steps.contains("aws kms put-key-policy")), "{finding:?}");
    let again = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "a foreign Deny is not removed by mamori: {:?}", again.calls.mutating_sent());
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "judging the policy costs no call");
}

#[tokio::test]
async fn ebs_default_encryption_converges_with_the_baseline_key() {
    let account = Account::fresh().await;
    let apply = assert_converges(&account, "ebs.default-encryption", &[]).await;
    // The dependency was applied too, first.
    assert_all_pass(&apply, "kms.baseline-key");

    let aws = account.aws(AccessMode::ReadOnly).await;
    let ec2 = aws.ec2("us-east-1");
    assert_eq!(ec2.get_ebs_encryption_by_default().send().await.unwrap().ebs_encryption_by_default(), Some(true));
    let key_arn = aws.kms("us-east-1").describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    assert_eq!(ec2.get_ebs_default_kms_key_id().send().await.unwrap().kms_key_id(), Some(key_arn.as_str()));
}

#[tokio::test]
async fn s3_account_public_access_block_converges() {
    let account = Account::fresh().await;
    assert_converges(&account, "s3.account-public-access-block", &[]).await;

    let s3control = account.aws(AccessMode::ReadOnly).await.s3control("us-east-1");
    let out = s3control.get_public_access_block().account_id(&account.id).send().await.unwrap();
    let pab = out.public_access_block_configuration().unwrap();
    assert_eq!(
        (pab.block_public_acls(), pab.ignore_public_acls(), pab.block_public_policy(), pab.restrict_public_buckets()),
        (Some(true), Some(true), Some(true), Some(true))
    );
}

#[tokio::test]
async fn iam_password_policy_converges() {
    let account = Account::fresh().await;
    assert_converges(&account, "iam.password-policy", &[]).await;

    let iam = account.aws(AccessMode::ReadOnly).await.iam();
    let policy = iam.get_account_password_policy().send().await.unwrap().password_policy.unwrap();
    assert_eq!(policy.minimum_password_length(), Some(14));
    assert_eq!(policy.password_reuse_prevention(), Some(24));
    assert!(policy.require_symbols() && policy.require_numbers() && policy.require_uppercase_characters());
}

#[tokio::test]
async fn a_stricter_password_policy_is_never_weakened() {
    let account = Account::fresh().await;
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.update_account_password_policy()
        .minimum_password_length(20)
        .max_password_age(30)
        .require_symbols(true)
        .send()
        .await
        .unwrap();
    let plan = account.run(Verb::Plan, &standard_baseline(), &["iam.password-policy"]).await;
    let change = &plan.report.changes.as_ref().unwrap()[0];
    assert_eq!(change.action, Action::Update);
    assert!(change.after.get("minimum_length").is_none(), "the stricter length is not touched: {change:?}");

    account.run(Verb::Apply, &standard_baseline(), &["iam.password-policy"]).await;
    let policy = iam.get_account_password_policy().send().await.unwrap().password_policy.unwrap();
    assert_eq!(policy.minimum_password_length(), Some(20), "kept the stricter minimum length");
    assert_eq!(policy.max_password_age(), Some(30), "kept the stricter maximum age");
    assert_eq!(policy.password_reuse_prevention(), Some(24), "raised what was weaker");
}

#[tokio::test]
async fn an_interrupted_key_creation_is_adopted_not_duplicated() {
    let account = Account::fresh().await;
    // The state an apply leaves when it dies between CreateKey and CreateAlias: a tagged key, no alias.
    let kms = account.aws(AccessMode::ReadWrite).await.kms("us-east-1");
    let tag = aws_sdk_kms::types::Tag::builder().tag_key("mamori:baseline-key").tag_value("mamori-baseline").build().unwrap();
    let orphan = kms.create_key().tags(tag).send().await.unwrap().key_metadata.unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["kms.baseline-key"]).await;
    let change = &plan.report.changes.as_ref().unwrap()[0];
    assert_eq!(change.action, Action::Update, "the orphaned key is found again: {change:?}");

    let apply = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "CreateKey"), "no second key");
    let keys = kms.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1, "still exactly one key");
    let aliased = kms.describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap();
    assert_eq!(aliased.key_id(), orphan.key_id(), "the alias now names the orphaned key");
}

/// A key with mamori's baseline-key tag, as `CreateKey` makes it, without an alias.
async fn tagged_key(kms: &aws_sdk_kms::Client) -> aws_sdk_kms::types::KeyMetadata {
    let tag = aws_sdk_kms::types::Tag::builder().tag_key("mamori:baseline-key").tag_value("mamori-baseline").build().unwrap();
    kms.create_key().tags(tag).send().await.unwrap().key_metadata.unwrap()
}

#[tokio::test]
async fn duplicate_baseline_keys_are_reported_with_the_steps_that_remove_them_and_never_touched() {
    let account = Account::fresh().await;
    let apply = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    // What a blind retry of CreateKey left behind: a second key with the same tag and no alias.
    let kms = account.aws(AccessMode::ReadWrite).await.kms("us-east-1");
    let duplicate = tagged_key(&kms).await;

    let verify = account.run(Verb::Verify, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(verify.report.exit_code(), 2, "{:#?}", verify.report);
    let findings = verify.report.finding("kms.baseline-key");
    assert_eq!(findings[0].status, Status::Pass, "the baseline key itself is fine: {:?}", findings[0]);
    let reported: Vec<_> = findings.iter().filter(|f| f.resource.contains("/duplicate/")).collect();
    assert_eq!(reported.len(), 1, "{findings:#?}");
    assert_eq!(reported[0].resource, format!("alias/mamori-baseline/duplicate/{}", duplicate.key_id()));
    assert_eq!(reported[0].status, Status::Manual);
    let steps = reported[0].remediation.as_deref().unwrap_or_default();
    assert!(steps.contains(&format!("aws kms schedule-key-deletion --region us-east-1 --key-id {} --pending-window-in-days 30", duplicate.key_id())), "{steps}");

    let again = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "mamori never disables or deletes a key: {:?}", again.calls.mutating_sent());
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len());

    // The human's step: the duplicate is scheduled for deletion, and it is no longer reported.
    kms.schedule_key_deletion().key_id(duplicate.key_id()).pending_window_in_days(30).send().await.unwrap();
    let verify = account.run(Verb::Verify, &standard_baseline(), &["kms.baseline-key"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    assert_eq!(verify.report.finding("kms.baseline-key").len(), 1);
}

#[tokio::test]
async fn of_two_orphaned_keys_the_older_is_adopted_and_the_other_reported() {
    let account = Account::fresh().await;
    let kms = account.aws(AccessMode::ReadWrite).await.kms("us-east-1");
    let older = tagged_key(&kms).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let newer = tagged_key(&kms).await;

    let apply = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "CreateKey"), "no third key");
    let aliased = kms.describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap();
    assert_eq!(aliased.key_id(), older.key_id(), "the older key is adopted");
    assert_eq!(apply.report.exit_code(), 2, "the other one waits for a human: {:#?}", apply.report);
    let reported: Vec<_> = apply.report.finding("kms.baseline-key").into_iter().filter(|f| f.status == Status::Manual).map(|f| f.resource.clone()).collect();
    assert_eq!(reported, [format!("alias/mamori-baseline/duplicate/{}", newer.key_id())]);
}

#[tokio::test]
async fn the_standard_baseline_converges_in_two_regions() {
    let account = Account::fresh().await;
    let regions = ["us-east-1", "eu-west-1"];
    let baseline = standard_baseline();
    let apply = account.run_in(Verb::Apply, &baseline, FULLY_AUTOMATIC, &regions).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let regional: BTreeSet<&str> =
        apply.report.finding("ebs.default-encryption").iter().map(|f| f.region.as_str()).collect();
    assert_eq!(regional, BTreeSet::from(regions));
    assert_eq!(apply.report.finding("iam.password-policy")[0].region, "global");

    let verify = account.run_in(Verb::Verify, &baseline, FULLY_AUTOMATIC, &regions).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    assert_eq!(verify.report.summary.pass, 6, "two regional controls in two regions plus two account-wide ones");
    let again = account.run_in(Verb::Apply, &baseline, FULLY_AUTOMATIC, &regions).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
    assert!(again.calls.repeated().is_empty(), "no call repeated with identical parameters: {:?}", again.calls.repeated());
}
