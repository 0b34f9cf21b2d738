//! The read-only guard: a write attempted on a read-only connection is refused in the process and
//! never reaches the emulator.

use mamori::aws::AccessMode;

use crate::harness::Account;

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
