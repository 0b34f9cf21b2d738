//! The S3 rules of AWS that the emulator shim models on moto (`localstack/shims/emulator_shims/s3_*.py`),
//! each on its own, with plain SDK calls: the shim refuses what AWS refuses, and lets through what AWS
//! lets through. The end-to-end tests of `logs.bucket` and `logs.bucket-mfa-delete` rest on them.
//! moto only (LocalStack serves S3 with its own provider, which the shims leave alone).

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus,
    LifecycleRule, LifecycleRuleFilter, MfaDelete, NoncurrentVersionTransition, TransitionStorageClass, VersioningConfiguration,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mamori::aws::AccessMode;

use crate::harness::{repo, Account};

/// The status and error code of a failed call.
fn refusal<E: ProvideErrorMetadata>(error: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>) -> (u16, Option<String>) {
    (error.raw_response().map(|r| r.status().as_u16()).unwrap_or(0), error.code().map(str::to_string))
}

fn versioning(mfa_delete: bool) -> VersioningConfiguration {
    let builder = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled);
    if mfa_delete { builder.mfa_delete(MfaDelete::Enabled) } else { builder }.build()
}

fn noncurrent_rule() -> BucketLifecycleConfiguration {
    let rule = LifecycleRule::builder()
        .id("r")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_transitions(NoncurrentVersionTransition::builder().noncurrent_days(90).storage_class(TransitionStorageClass::Glacier).build())
        .build()
        .unwrap();
    BucketLifecycleConfiguration::builder().rules(rule).build().unwrap()
}

#[tokio::test]
async fn mfa_delete_and_a_lifecycle_configuration_refuse_each_other() {
    let account = Account::fresh().await;
    // The rules under test here are S3's, not its eventual consistency: reads see writes at once.
    account.propagation_delay(0);
    let s3 = account.root().aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let bucket = format!("lifecycle-{}", account.id);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_lifecycle_configuration().bucket(&bucket).lifecycle_configuration(noncurrent_rule()).send().await.unwrap();
    let mfa = format!("arn:aws:iam::{}:mfa/root-account-mfa-device 123456", account.id);

    let refused = s3.put_bucket_versioning().bucket(&bucket).mfa(&mfa).versioning_configuration(versioning(true)).send().await.unwrap_err();
    assert_eq!(refusal(refused), (409, Some("InvalidBucketState".into())), "no MFA Delete on a bucket with a lifecycle configuration");

    s3.delete_bucket_lifecycle().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_versioning().bucket(&bucket).mfa(&mfa).versioning_configuration(versioning(true)).send().await.expect("without one it is accepted");
    let refused = s3.put_bucket_lifecycle_configuration().bucket(&bucket).lifecycle_configuration(noncurrent_rule()).send().await.unwrap_err();
    assert_eq!(refusal(refused), (409, Some("InvalidBucketState".into())), "no lifecycle configuration on an MFA Delete bucket");
}

/// The shipped template's lock statement for `bucket`.
fn lock_policy(bucket: &str) -> String {
    let text = std::fs::read_to_string(repo().join("templates/log-bucket-policy.json")).unwrap().replace("{partition}", "aws").replace("{bucket}", bucket);
    let template: serde_json::Value = serde_json::from_str(&text).unwrap();
    let lock = mamori::policy::statement_with_sid(&template, "MamoriLogBucketLock").unwrap();
    serde_json::json!({"Version": "2012-10-17", "Statement": [lock]}).to_string()
}

#[tokio::test]
async fn the_lock_binds_everyone_and_only_the_root_user_may_replace_the_policy() {
    let account = Account::fresh().await;
    // The rules under test here are S3's, not its eventual consistency: reads see writes at once.
    account.propagation_delay(0);
    let admin = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let root = account.root().aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let bucket = format!("locked-{}", account.id);
    admin.create_bucket().bucket(&bucket).send().await.unwrap();
    admin.put_bucket_versioning().bucket(&bucket).versioning_configuration(versioning(false)).send().await.unwrap();
    admin.put_object().bucket(&bucket).key("AWSLogs/log.json.gz").body(b"x".to_vec().into()).send().await.unwrap();
    admin.put_bucket_policy().bucket(&bucket).policy(lock_policy(&bucket)).send().await.unwrap();

    // What the lock lets through: the log flow and its readers.
    admin.put_object().bucket(&bucket).key("AWSLogs/next.json.gz").body(b"y".to_vec().into()).send().await.expect("PutObject stays allowed");
    admin.get_object().bucket(&bucket).key("AWSLogs/log.json.gz").send().await.expect("GetObject stays allowed");
    admin.get_bucket_policy().bucket(&bucket).send().await.expect("reading the policy stays allowed");

    let denied = (403, Some("AccessDenied".to_string()));
    for (who, s3) in [("an administrator", &admin), ("the root user", &root)] {
        let delete = s3.delete_object().bucket(&bucket).key("AWSLogs/log.json.gz").send().await.unwrap_err();
        assert_eq!(refusal(delete), denied, "{who}: DeleteObject");
        let suspend = s3.put_bucket_versioning().bucket(&bucket).versioning_configuration(versioning(false)).send().await.unwrap_err();
        assert_eq!(refusal(suspend), denied, "{who}: PutBucketVersioning");
        let lifecycle = s3.delete_bucket_lifecycle().bucket(&bucket).send().await.unwrap_err();
        assert_eq!(refusal(lifecycle), denied, "{who}: DeleteBucketLifecycle is s3:PutLifecycleConfiguration");
    }
    let replaced = admin.put_bucket_policy().bucket(&bucket).policy(lock_policy(&bucket)).send().await.unwrap_err();
    assert_eq!(refusal(replaced), denied, "an administrator cannot replace the policy");

    // The root user's exception: it may replace the policy, without the lock.
    let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "Other", "Effect": "Deny", "Principal": "*", "Action": "s3:PutBucketWebsite", "Resource": format!("arn:aws:s3:::{bucket}")}]});
    root.put_bucket_policy().bucket(&bucket).policy(open.to_string()).send().await.expect("the root user replaces the policy");
    admin.put_bucket_versioning().bucket(&bucket).versioning_configuration(versioning(false)).send().await.expect("unlocked again");
}

#[tokio::test]
async fn a_request_naming_another_owner_is_refused() {
    let account = Account::fresh().await;
    // The rules under test here are S3's, not its eventual consistency: reads see writes at once.
    account.propagation_delay(0);
    let s3 = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let bucket = format!("owned-{}", account.id);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.head_bucket().bucket(&bucket).expected_bucket_owner(&account.id).send().await.expect("the right owner");
    let head = s3.head_bucket().bucket(&bucket).expected_bucket_owner("111122223333").send().await.unwrap_err();
    assert_eq!(head.raw_response().map(|r| r.status().as_u16()), Some(403));
    let read = s3.get_bucket_versioning().bucket(&bucket).expected_bucket_owner("111122223333").send().await.unwrap_err();
    assert_eq!(refusal(read), (403, Some("AccessDenied".into())));

    // Bucket names are global: another account cannot create the same name.
    let other = Account::fresh().await.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let taken = other.create_bucket().bucket(&bucket).send().await.unwrap_err();
    assert!(taken.as_service_error().is_some_and(|e| e.is_bucket_already_exists()), "{taken:?}");
}

#[tokio::test]
async fn a_bucket_is_served_only_in_its_own_region() {
    let account = Account::fresh().await;
    // The rules under test here are S3's, not its eventual consistency: reads see writes at once.
    account.propagation_delay(0);
    let aws = account.aws(AccessMode::ReadWrite).await;
    let bucket = format!("ireland-{}", account.id);
    let configuration = CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuWest1).build();
    aws.s3("eu-west-1").create_bucket().bucket(&bucket).create_bucket_configuration(configuration).send().await.unwrap();

    let head = aws.s3("us-east-1").head_bucket().bucket(&bucket).send().await.unwrap_err();
    let response = head.raw_response().unwrap();
    assert_eq!((response.status().as_u16(), response.headers().get("x-amz-bucket-region")), (301, Some("eu-west-1")));
    let read = aws.s3("us-east-1").get_bucket_versioning().bucket(&bucket).send().await.unwrap_err();
    assert_eq!(refusal(read), (301, Some("PermanentRedirect".into())));
    let there = aws.s3("eu-west-1").head_bucket().bucket(&bucket).send().await.expect("served in its region");
    assert_eq!(there.bucket_region(), Some("eu-west-1"));
}
