//! What unit tests of the engine and of controls need to assess states without AWS: a connection that
//! is never used (its endpoint is a port nothing listens on), a baseline parsed from text, and a
//! caller. Test code only.

use std::path::Path;

use crate::aws::{AccessMode, Aws, Caller, ConnectOptions};
use crate::baseline::Baseline;

/// A connection, the baseline `yaml` and the caller of account 123456789012, for tests that never call
/// AWS.
pub(crate) async fn offline(yaml: &str) -> (Aws, Baseline, Caller) {
    let options = ConnectOptions { endpoint_url: Some("http://127.0.0.1:9".into()), ..Default::default() };
    let aws = Aws::connect(&options, AccessMode::ReadWrite, "us-east-1").await;
    let baseline = Baseline::parse(Path::new("t.yaml"), yaml).expect("a valid test baseline");
    let caller = Caller { account_id: "123456789012".into(), partition: "aws".into(), arn: "arn:aws:iam::123456789012:root".into() };
    (aws, baseline, caller)
}
