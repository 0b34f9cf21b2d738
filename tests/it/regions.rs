//! Regions and partitions end to end, on moto with the `region_opt_in` shim: an opt-in region the
//! account has not enabled is reported `skipped` with the steps and costs no call there, until the
//! account enables it; a disabled home region fails the caller's identification with the reason; a
//! `--region` of another partition is refused before any call. The shim's rule is tested on its own
//! first: moto, like AWS, now refuses a call to a region the account has not enabled. (A caller of
//! another partition cannot be played on moto, which answers every partition with the same keys: that
//! check is a unit test of `baseline::partition`.)

use std::path::Path;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use mamori::app::{AppError, Outcome};
use mamori::aws::AccessMode;
use mamori::report::{Finding, Status, Verb};

use crate::harness::{baseline_file, Account};

const OPT_IN: &str = "ap-east-1";

/// The regions `DescribeRegions` lists, with their opt-in status.
async fn described(account: &Account, all_regions: bool) -> Vec<(String, String)> {
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2("us-east-1");
    let out = ec2.describe_regions().all_regions(all_regions).send().await.expect("DescribeRegions");
    out.regions().iter().map(|r| (r.region_name().unwrap_or_default().to_string(), r.opt_in_status().unwrap_or_default().to_string())).collect()
}

#[tokio::test]
async fn the_emulator_refuses_calls_to_an_opt_in_region_until_the_account_enables_it() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadOnly).await;

    let ec2 = aws.ec2(OPT_IN).describe_vpcs().send().await.expect_err("AWS refuses a region the account has not enabled");
    assert_eq!(ec2.code(), Some("AuthFailure"), "{ec2:?}");
    let kms = aws.kms(OPT_IN).list_keys().send().await.expect_err("refused");
    assert_eq!(kms.code(), Some("UnrecognizedClientException"), "{kms:?}");
    aws.ec2("ap-northeast-1").describe_vpcs().send().await.expect("a default region is always enabled");

    assert!(!described(&account, false).await.iter().any(|(name, _)| name == OPT_IN), "listed only with AllRegions");
    let all = described(&account, true).await;
    assert!(all.contains(&(OPT_IN.to_string(), "not-opted-in".to_string())), "{all:?}");
    assert!(all.contains(&("us-east-1".to_string(), "opt-in-not-required".to_string())));
    assert!(all.iter().all(|(name, _)| !name.starts_with("cn-") && !name.starts_with("us-gov-")), "the commercial partition only: {all:?}");

    account.enable_region(OPT_IN);
    aws.ec2(OPT_IN).describe_vpcs().send().await.expect("enabled");
    assert!(described(&account, false).await.contains(&(OPT_IN.to_string(), "opted-in".to_string())));
}

fn regional_baseline(regions: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    baseline_file(&format!("version: 1\nname: regions\nregions: [{regions}]\nkms: {{baseline_key: {{}}}}\nebs:\n  default_encryption: {{enabled: true}}\n"))
}

fn count(outcome: &Outcome, operation: &str) -> usize {
    outcome.calls.sent().iter().filter(|call| call.name() == operation).count()
}

#[tokio::test]
async fn an_opt_in_region_the_account_has_not_enabled_is_skipped_with_the_steps_and_never_called() {
    let account = Account::fresh().await;
    let (_dir, both) = regional_baseline(&format!("us-east-1, {OPT_IN}"));
    let (_dir_default, default_only) = regional_baseline("us-east-1");

    let plan = account.run(Verb::Plan, &both, &[]).await;
    let skipped = configured(&plan);
    assert_eq!(skipped.iter().map(|f| f.control.as_str()).collect::<Vec<_>>(), ["ebs.default-encryption", "kms.baseline-key"]);
    for finding in &skipped {
        assert_eq!(finding.status, Status::Skipped, "{finding:#?}");
        assert!(finding.message.contains("opt-in region that this account has not enabled"), "{}", finding.message);
        assert!(finding.remediation.as_deref().is_some_and(|steps| steps.contains(&format!("aws account enable-region --region-name {OPT_IN}"))));
    }
    assert_eq!(plan.report.summary.error, 0, "no call reached {OPT_IN}: the emulator would have refused it");
    assert!(plan.report.changes.as_ref().unwrap().iter().all(|c| c.region != OPT_IN));

    let apply = account.run(Verb::Apply, &both, &[]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report.findings);
    let verify = account.run(Verb::Verify, &both, &[]).await;
    let again = account.run(Verb::Apply, &both, &[]).await;
    assert!(again.calls.mutating_sent().is_empty(), "converged: {:?}", again.calls.mutating_sent());
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "a converged apply costs what a verify costs");
    assert_eq!(count(&verify, "EC2:DescribeRegions"), 1, "one read for the run's opt-in regions");
    let default_verify = account.run(Verb::Verify, &default_only, &[]).await;
    assert_eq!(count(&default_verify, "EC2:DescribeRegions"), 0, "default regions need no read");
    assert_eq!(verify.calls.sent().len(), default_verify.calls.sent().len() + 1, "the skipped region cost nothing but that read");

    account.enable_region(OPT_IN);
    let enabled = account.run(Verb::Plan, &both, &[]).await;
    let planned = configured(&enabled);
    assert!(planned.len() == 2 && planned.iter().all(|f| f.status == Status::Fail), "once enabled, planned: {planned:#?}");
    account.run(Verb::Apply, &both, &[]).await;
    let verified = account.run(Verb::Verify, &both, &[]).await;
    assert_eq!(verified.report.exit_code(), 0, "{:#?}", verified.report.findings);
    assert!(configured(&verified).iter().all(|f| f.status == Status::Pass));
}

/// The findings in the opt-in region of the two controls the baseline configures (the other controls
/// are skipped there as everywhere: not configured).
fn configured(outcome: &Outcome) -> Vec<&Finding> {
    let controls = ["ebs.default-encryption", "kms.baseline-key"];
    outcome.report.findings.iter().filter(|f| f.region == OPT_IN && controls.contains(&f.control.as_str())).collect()
}

#[tokio::test]
async fn a_home_region_the_account_has_not_enabled_fails_to_identify_the_caller_and_says_why() {
    let account = Account::fresh().await;
    let (_dir, baseline) = regional_baseline(&format!("{OPT_IN}, us-east-1"));
    let error = account.attempt(Verb::Verify, &baseline, &[], &[], None).await.err().expect("STS refuses the disabled home region");
    assert!(matches!(error, AppError::Caller { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("InvalidClientTokenId"), "AWS's generic answer: {message}");
    assert!(message.contains(&format!("the home region {OPT_IN} is in the AWS (`aws`) partition, an opt-in region the account must have enabled")), "{message}");
}

#[tokio::test]
async fn a_region_override_of_another_partition_is_refused_before_any_call() {
    let account = Account::fresh().await;
    let (_dir, baseline) = regional_baseline("us-east-1");
    let error = account.attempt(Verb::Verify, Path::new(&baseline), &[], &["us-gov-west-1"], None).await.err().expect("refused");
    assert!(matches!(error, AppError::Region(_)), "{error}");
    assert!(error.to_string().contains("`us-gov-west-1` is in the AWS GovCloud (US) (`aws-us-gov`) partition"), "{error}");
}
