//! A bucket's region and default encryption, read once per run: Session Manager's log bucket is
//! checked by `ssm.session-preferences` (does it exist, is it encrypted) and by `ec2.instance-roles`
//! (which KMS key S3 asks for on an instance role's behalf).
//!
//! `s3:GetBucketLocation` answers from any region; `s3:GetBucketEncryption` is then asked in the
//! bucket's own region. It never writes.

use crate::aws::{Aws, AwsError, NameCall};

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
pub async fn read(aws: &Aws, home_region: &str, bucket: &str) -> Result<BucketEncryption, AwsError> {
    let home = aws.s3(home_region);
    let bucket = bucket.to_string();
    aws.memo()
        .get_or_read(&format!("s3:GetBucketLocation+GetBucketEncryption/{bucket}"), move || async move {
            let region = match home.get_bucket_location().bucket(&bucket).send().await.named("s3:GetBucketLocation") {
                Ok(out) => bucket_region(out.location_constraint().map(|c| c.as_str())),
                Err(e) if e.is_code("NoSuchBucket") => return Ok(BucketEncryption { exists: false, region: None, encrypted: false, kms_key: None }),
                Err(e) => return Err(e),
            };
            let s3 = aws_sdk_s3::Client::from_conf(home.config().to_builder().region(aws_types::region::Region::new(region.clone())).build());
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

/// A bucket's region from its location constraint: none is `us-east-1`, the legacy `EU` is
/// `eu-west-1`.
pub fn bucket_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(region) => region.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_regions_come_from_location_constraints() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("")), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("ap-northeast-1")), "ap-northeast-1");
    }
}
