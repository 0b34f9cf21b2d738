//! The read-only guard: a write attempted on a read-only connection is refused in the process and
//! never reaches the emulator, and its exact list of reads holds every read a `verify` sends.

use std::collections::BTreeSet;

use mamori::aws::reads::{is_listed_read, READ_OPERATIONS};
use mamori::aws::AccessMode;
use mamori::report::Verb;

use crate::harness::{standard_baseline, Account};

#[tokio::test]
async fn a_write_in_read_only_mode_is_refused_before_it_is_sent() {
    let account = Account::fresh().await;
    let read_only = account.aws(AccessMode::ReadOnly).await;
    let error = read_only.ec2("us-east-1").enable_ebs_encryption_by_default().send().await.expect_err("refused");
    let chain = aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
    assert!(chain.contains("read-only"), "{chain}");

    let records = read_only.calls().records();
    assert_eq!(records.len(), 1);
    assert!(records[0].refused && records[0].mutating && records[0].operation == "EnableEbsEncryptionByDefault");
    assert!(read_only.calls().sent().is_empty());

    // The emulator never saw it: the setting is still off.
    let read_write = account.aws(AccessMode::ReadWrite).await;
    let state = read_write.ec2("us-east-1").get_ebs_encryption_by_default().send().await.unwrap();
    assert_eq!(state.ebs_encryption_by_default(), Some(false));
}

#[tokio::test]
async fn reads_pass_the_guard() {
    let account = Account::fresh().await;
    let read_only = account.aws(AccessMode::ReadOnly).await;
    read_only.ec2("us-east-1").get_ebs_encryption_by_default().send().await.expect("a read is allowed");
    assert_eq!(read_only.calls().sent().len(), 1);
}

/// Reads that AWS names like reads but that create state: the guard refuses them in read-only runs.
#[tokio::test]
async fn reads_that_create_state_are_refused_in_read_only_runs() {
    let account = Account::fresh().await;
    let read_only = account.aws(AccessMode::ReadOnly).await;
    let token = read_only.sts().get_federation_token().name("auditor").send().await;
    assert!(token.is_err(), "GetFederationToken issues credentials: refused");
    let import = read_only
        .kms("us-east-1")
        .get_parameters_for_import()
        .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
        .wrapping_algorithm(aws_sdk_kms::types::AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(aws_sdk_kms::types::WrappingKeySpec::Rsa2048)
        .send()
        .await;
    assert!(import.is_err(), "GetParametersForImport creates an import token: refused");
    let records = read_only.calls().records();
    let refused: Vec<String> = records.iter().filter(|r| r.refused).map(|r| r.name()).collect();
    assert_eq!(refused, ["STS:GetFederationToken", "KMS:GetParametersForImport"]);
    assert!(read_only.calls().sent().is_empty(), "neither reached the emulator");
}

/// Every operation a `verify` or `plan` of the standard baseline sends, on a fresh account and on a
/// converged one, is on the guard's exact list of reads, and none is refused.
#[tokio::test]
async fn the_read_list_covers_every_read_of_a_recorded_verify_and_plan() {
    let account = Account::fresh().await;
    let mut recorded = BTreeSet::new();
    let mut record = |outcome: &mamori::app::Outcome| {
        let refused: Vec<String> = outcome.calls.records().iter().filter(|r| r.refused).map(|r| r.name()).collect();
        assert!(refused.is_empty(), "a read-only run had operations refused (unlisted reads?): {refused:?}");
        recorded.extend(outcome.calls.sent().iter().map(|r| (r.service.clone(), r.operation.clone())));
    };
    record(&account.run(Verb::Verify, &standard_baseline(), &[]).await);
    record(&account.run(Verb::Plan, &standard_baseline(), &[]).await);
    account.run(Verb::Apply, &standard_baseline(), &[]).await;
    record(&account.run(Verb::Verify, &standard_baseline(), &[]).await);
    record(&account.run(Verb::Plan, &standard_baseline(), &[]).await);
    let unlisted: Vec<_> = recorded.iter().filter(|(s, o)| !is_listed_read(s, o)).collect();
    assert!(unlisted.is_empty(), "read-only runs sent operations missing from the list: {unlisted:?}");
    let never_sent: Vec<_> = READ_OPERATIONS.iter().filter(|(s, o)| !recorded.contains(&(s.to_string(), o.to_string()))).collect();
    eprintln!("{} operations recorded; listed reads these runs did not need: {never_sent:?}", recorded.len());
}
