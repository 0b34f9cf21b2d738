//! The KMS key behind an alias in one region, read once per run: `kms.baseline-key` finds its key this
//! way, and `ec2.instance-roles` names the baseline key of an instance's region when it judges what
//! Session Manager asks of the instance's role.
//!
//! One `kms:DescribeKey` by alias per region and run, shared; `kms.baseline-key` forgets it after an
//! `apply`, so its next observation reads the key again. It never writes.

use aws_sdk_kms::types::KeyMetadata;

use crate::aws::{Aws, AwsError};
use crate::least_privilege::{arn, Grant};

/// The IAM actions of this read (the key behind an alias), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::on(&["kms:DescribeKey"], &[arn::KMS_KEY]),
];

fn key(region: &str, alias: &str) -> String {
    format!("kms:DescribeKey/{region}/{alias}")
}

/// The key `alias` (`alias/mamori-baseline`) points at in `region`; `None` when the alias does not exist.
pub async fn described(aws: &Aws, region: &str, alias: &str) -> Result<Option<KeyMetadata>, AwsError> {
    let (kms, alias_owned) = (aws.kms(region), alias.to_string());
    aws.memo()
        .get_or_read(&key(region, alias), move || async move {
            match kms.describe_key().key_id(&alias_owned).send().await {
                Ok(out) => Ok(out.key_metadata().cloned()),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => Ok(None),
                Err(e) => Err(AwsError::from_sdk("kms:DescribeKey", e)),
            }
        })
        .await
}

/// Forgets the run's read of `alias` in `region` after a write changed the key or the alias.
pub fn forget(aws: &Aws, region: &str, alias: &str) {
    aws.memo().forget(&key(region, alias));
}
