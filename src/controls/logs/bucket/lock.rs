//! The lock of the audit bucket: the bucket-policy statement `MamoriLogBucketLock`, a `Deny` to every
//! principal of every action but those the log flow and its readers need.
//!
//! The lock is recognised by its `Sid` alone, never by its text: a lock written by another mamori
//! version, or from a user's own template, is still in force on AWS, and a bucket carrying any
//! statement of that `Sid` is treated as locked (no write is sent that the lock would refuse).
//!
//! AWS lets the bucket owner's root user replace a bucket policy that denies it ("the root principal
//! in a bucket owner's AWS account can perform the GetBucketPolicy, PutBucketPolicy, and
//! DeleteBucketPolicy API actions, even if their bucket policy explicitly denies the root principal's
//! access": S3 API Reference, PutBucketPolicy), and nobody else. So the lock is lifted only in the
//! root user's step (`apply --mfa` with the root user's credentials), by replacing the policy with the
//! same policy without the lock (never by deleting it), and put back in the same run, whatever
//! happened in between. A run interrupted in between leaves an unlocked bucket, which the next
//! `apply` locks again. This module never decides what to change under a lifted lock.

use aws_sdk_s3::Client;
use serde_json::Value;

use crate::aws::{propagation, AwsError, NameCall};
use crate::engine::{Context, ControlError};
use crate::policy;

/// The `Sid` of the template statement that locks the audit bucket.
pub const LOCK_SID: &str = "MamoriLogBucketLock";

/// True when `policy` carries a statement with the lock's `Sid`, whatever it says.
pub fn is_locked(policy: &Value) -> bool {
    policy::statement_with_sid(policy, LOCK_SID).is_some()
}

/// `policy` without its lock statement, as the text to write; fails when nothing would remain (S3
/// refuses a policy without statements, and mamori deletes no policy).
pub fn without_lock(policy: &Value) -> Result<String, String> {
    let mut document = policy.clone();
    let kept: Vec<Value> =
        policy::statements(policy).into_iter().filter(|s| s.get("Sid").and_then(Value::as_str) != Some(LOCK_SID)).collect();
    if kept.is_empty() {
        return Err(format!("the lock ({LOCK_SID}) is the only statement of the bucket policy: remove it by hand as the root user"));
    }
    document["Statement"] = Value::Array(kept);
    Ok(document.to_string())
}

/// True in the root user's step: `apply --mfa` sent with the credentials of the account's root user,
/// the only principal AWS lets replace a policy that denies it.
pub fn root_may_lift(ctx: &Context<'_>) -> bool {
    ctx.mfa.is_some() && ctx.caller.arn == format!("arn:{}:iam::{}:root", ctx.caller.partition, ctx.caller.account_id)
}

/// Runs `work` on `bucket` with its lock lifted: writes `policy` without the lock, runs `work`, then
/// writes `restored` (the policy with a lock), also when `work` failed. `work`'s error wins.
pub async fn lifted<T>(
    s3: &Client,
    bucket: &str,
    owner: &str,
    policy: &Value,
    restored: String,
    work: impl std::future::Future<Output = Result<T, ControlError>>,
) -> Result<T, ControlError> {
    let unlocked = without_lock(policy).map_err(|e| ControlError::Precondition(format!("bucket {bucket}: {e}")))?;
    put_policy(s3, bucket, owner, unlocked).await?;
    let outcome = work.await;
    let relocked = put_policy(s3, bucket, owner, restored).await;
    let value = outcome?;
    relocked?;
    Ok(value)
}

/// True once a fresh read of `bucket`'s policy shows the lock, read again after each pause of
/// [`propagation::pauses`] within [`propagation::READ_BACK_BUDGET`].
///
/// For a settings write the bucket refused (`AccessDenied`) although the observation showed no lock:
/// an earlier `apply` may have put the lock (its last write, after every setting) and been stopped
/// before it could read it back, and S3 may still answer the policy as it was before, since "bucket
/// configurations have an eventual consistency model"
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel>). Found
/// by killing `apply` after each of its writes: right after the lock's write, the next run re-sent
/// settings the lock already refuses.
pub async fn put_since_observed(s3: &Client, bucket: &str, owner: &str) -> Result<bool, AwsError> {
    for pause in std::iter::once(std::time::Duration::ZERO).chain(propagation::pauses(propagation::READ_BACK_BUDGET)) {
        tokio::time::sleep(pause).await;
        if policy(s3, bucket, owner).await?.is_some_and(|policy| is_locked(&policy)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `bucket`'s policy as JSON, read now (`s3:GetBucketPolicy` on a bucket of `owner`); `None` when it
/// has none, or none that parses (S3 stores only valid JSON: then there is no lock to honour).
pub async fn policy(s3: &Client, bucket: &str, owner: &str) -> Result<Option<Value>, AwsError> {
    match s3.get_bucket_policy().bucket(bucket).expected_bucket_owner(owner).send().await.named("s3:GetBucketPolicy") {
        Ok(out) => Ok(out.policy().and_then(|text| serde_json::from_str::<Value>(text).ok())),
        Err(error) if error.is_code("NoSuchBucketPolicy") => Ok(None),
        Err(error) => Err(error),
    }
}

/// `s3:PutBucketPolicy` on a bucket of `owner`.
pub async fn put_policy(s3: &Client, bucket: &str, owner: &str, text: String) -> Result<(), ControlError> {
    s3.put_bucket_policy().bucket(bucket).expected_bucket_owner(owner).policy(text).send().await.named("s3:PutBucketPolicy")?;
    Ok(())
}

/// The root user's procedure for a change the lock forbids, `then` being what mamori does once the
/// lock is lifted.
pub fn root_procedure(bucket: &str, serial: &str, then: &str) -> String {
    format!(
        "The bucket policy's lock ({LOCK_SID}) forbids this change to everyone, mamori included; only the root user can lift \
         it (AWS always lets the bucket owner's root user replace the bucket policy). As the root user, with the root user's \
         credentials and MFA device: mamori apply --only logs.bucket --mfa \"{serial} CODE\" (mamori replaces the policy with the same \
         policy without {LOCK_SID}, {then}, and writes the lock again, last, in the same run). By hand instead: 1) aws s3api \
         get-bucket-policy --bucket {bucket} --query Policy --output text > policy.json  2) remove the statement {LOCK_SID} \
         from policy.json and aws s3api put-bucket-policy --bucket {bucket} --policy file://policy.json  3) mamori apply \
         --only logs.bucket (it fixes the bucket and writes the lock again, last)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The lock statement of the shipped template, with the bucket `b`.
    fn shipped_lock() -> Value {
        let text = include_str!("../../../../templates/log-bucket-policy.json").replace("{partition}", "aws").replace("{bucket}", "b");
        let template: Value = serde_json::from_str(&text).unwrap();
        policy::statement_with_sid(&template, LOCK_SID).expect("the template carries the lock")
    }

    /// Whether an unconditional Deny with `NotAction` denies `action` (IAM wildcards, case-insensitive).
    fn denies(lock: &Value, action: &str) -> bool {
        let allowed = lock["NotAction"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_ascii_lowercase()).any(|pattern| {
            let action = action.to_ascii_lowercase();
            match pattern.strip_suffix('*') {
                Some(prefix) => action.starts_with(prefix),
                None => action == pattern,
            }
        });
        !allowed
    }

    #[test]
    fn the_lock_lets_the_log_flow_and_its_readers_through_and_nothing_that_deletes_or_reconfigures() {
        let lock = shipped_lock();
        assert_eq!((lock["Effect"].as_str(), lock.get("Condition")), (Some("Deny"), None));
        for allowed in [
            "s3:PutObject", // CloudTrail, Session Manager
            "s3:GetBucketAcl",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:AbortMultipartUpload",
            "s3:RestoreObject",       // versions tiered to Glacier before the lifecycle rule went
            "s3:PutObjectLegalHold",  // adds protection (a hold lifted still leaves deletes denied)
            "s3:PutObjectRetention",  // extends retention; shortening needs s3:BypassGovernanceRetention
            "s3:PutInventoryConfiguration",
            "s3:PutBucketTagging",
            "s3:PutMetricsConfiguration",
        ] {
            assert!(!denies(&lock, allowed), "{allowed} must stay allowed");
        }
        for denied in [
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:DeleteBucket",
            "s3:PutBucketVersioning",
            "s3:PutLifecycleConfiguration",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketLogging",
            "s3:PutBucketObjectLockConfiguration",
            "s3:PutBucketAcl",
            "s3:PutObjectAcl",
            "s3:PutBucketOwnershipControls",
            "s3:PutReplicationConfiguration",
            "s3:PutBucketNotification",
            "s3:BypassGovernanceRetention",
        ] {
            assert!(denies(&lock, denied), "{denied} must be denied");
        }
    }

    #[test]
    fn any_statement_with_the_locks_sid_is_the_lock() {
        let older = json!({"Statement": [{"Sid": LOCK_SID, "Effect": "Deny", "Principal": "*", "NotAction": ["s3:Get*"], "Resource": "*"}]});
        assert!(is_locked(&older), "a lock of another mamori version is still the lock");
        let mut same_text_other_sid = shipped_lock();
        same_text_other_sid["Sid"] = json!("Theirs");
        assert!(!is_locked(&json!({"Statement": [same_text_other_sid]})), "the Sid, not the text, makes the lock");
        assert!(!is_locked(&json!({})));
    }

    #[test]
    fn lifting_keeps_every_other_statement_and_never_leaves_an_empty_policy() {
        let policy = json!({"Version": "2012-10-17", "Id": "keep", "Statement": [{"Sid": "Tls", "Effect": "Deny"}, shipped_lock()]});
        let unlocked: Value = serde_json::from_str(&without_lock(&policy).unwrap()).unwrap();
        assert_eq!(unlocked, json!({"Version": "2012-10-17", "Id": "keep", "Statement": [{"Sid": "Tls", "Effect": "Deny"}]}));
        assert!(without_lock(&json!({"Statement": shipped_lock()})).unwrap_err().contains("only statement"));
    }
}
