//! A bucket's region and default encryption, read once per run: Session Manager's log bucket is
//! checked by `ssm.session-preferences` (does it exist, is it encrypted) and by `ec2.instance-roles`
//! (which KMS key S3 asks for on an instance role's behalf).
//!
//! The bucket is located first ([`super::buckets::locate`], without an expected owner: a session-log
//! bucket may be another account's, a central log archive), then `s3:GetBucketEncryption` is asked in
//! the bucket's own region. It never writes.

use crate::aws::{AwsError, NameCall};
use crate::engine::Context;

use super::buckets::{self, Located};
use crate::least_privilege::{arn, Grant};

/// The IAM actions of this read (a bucket's default encryption), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::on(&["s3:GetEncryptionConfiguration"], &[arn::LOG_BUCKET, arn::SESSION_BUCKET]),
];

/// What a bucket's default encryption is, as far as the controls need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketEncryption {
    pub exists: bool,
    /// The bucket's region, when it exists.
    pub region: Option<String>,
    /// A default encryption rule is set (since 2023 AWS sets SSE-S3 on every new bucket).
    pub encrypted: bool,
    /// The customer managed KMS key S3 encrypts with (`KMSMasterKeyID`: an ARN, key id or alias), when
    /// the rule names one; `None` for SSE-S3 and for the AWS managed key `aws/s3`.
    pub kms_key: Option<String>,
}

/// The bucket's encryption, read through the run's memo (the first caller sends the calls).
pub async fn read(ctx: &Context<'_>, bucket: &str) -> Result<BucketEncryption, AwsError> {
    let region = match buckets::locate(ctx, bucket, None).await? {
        Located::Found { region } => region,
        Located::Missing | Located::OwnedByAnotherAccount => return Ok(BucketEncryption { exists: false, region: None, encrypted: false, kms_key: None }),
    };
    let s3 = ctx.aws.s3(&region);
    let bucket = bucket.to_string();
    ctx.aws
        .memo()
        .get_or_read(&format!("s3:GetBucketEncryption/{bucket}"), move || async move {
            let rules = match s3.get_bucket_encryption().bucket(&bucket).send().await.named("s3:GetBucketEncryption") {
                Ok(out) => out.server_side_encryption_configuration().map(|c| c.rules().to_vec()).unwrap_or_default(),
                Err(e) if e.is_code("ServerSideEncryptionConfigurationNotFoundError") => Vec::new(),
                Err(e) => return Err(e),
            };
            let kms_key = rules
                .iter()
                .filter_map(|rule| rule.apply_server_side_encryption_by_default()?.kms_master_key_id())
                .find(|key| !key.ends_with("alias/aws/s3"))
                .map(str::to_string);
            Ok(BucketEncryption { exists: true, region: Some(region), encrypted: !rules.is_empty(), kms_key })
        })
        .await
}
