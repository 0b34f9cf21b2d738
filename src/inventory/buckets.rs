//! Where a bucket is and whose it is, read once per run: the first question before any other call
//! to a bucket mamori reads (the audit and access-log buckets, the endpoint-only data buckets, the
//! Session Manager log bucket).
//!
//! S3 serves a bucket only at its own region's endpoint; elsewhere it answers HTTP 301 with the
//! region in `x-amz-bucket-region`, a redirect the AWS SDK for Rust does not follow (S3 API Reference,
//! HeadBucket). So every bucket is located with one `s3:HeadBucket` sent to the home region: a 200
//! or a 301 names its region, a 404 says it does not exist, and the caller then sends every call to
//! that region (a bucket that must be the expected owner's and answered 301 is asked once more, there). A bucket mamori owns is asked about with `ExpectedBucketOwner` (S3 User Guide,
//! "Verifying bucket ownership with bucket owner condition"): bucket names are global and
//! mamori's are predictable, so a bucket of that name created first by another account must never be
//! read as ours, let alone written to or named as a trail's destination. S3 answers such a request
//! 403, as it answers a caller it denies; only then is `s3:ListBuckets` (prefix: the name) asked
//! whether the bucket is this account's, so the answer can say which.
//!
//! Nothing here writes, and nothing decides what a control does with a bucket it cannot use.

use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::aws::{AwsError, NameCall};
use crate::engine::Context;
use crate::least_privilege::{arn, Grant};

/// The IAM actions of this read (where a bucket is and whose: `HeadBucket`, and `ListBuckets` when S3 refuses the expected owner), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::on(&["s3:ListBucket"], &[arn::LOG_BUCKET, arn::ACCESS_LOG_BUCKET, arn::SESSION_BUCKET, arn::VPCE_BUCKET]),
    Grant::any(&["s3:ListAllMyBuckets"]),
];

/// What S3 says about a bucket name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// No bucket of that name exists.
    Missing,
    /// The bucket exists in `region` (and, when an owner was expected, belongs to it).
    Found { region: String },
    /// The bucket exists and belongs to another account than the expected owner.
    OwnedByAnotherAccount,
}

/// Where `bucket` is. `expected_owner`: the account that must own it (the caller's, for the buckets
/// mamori makes or writes to), or `None` for a bucket the baseline names and another account may own.
/// Read once per run, shared by every control that asks.
pub async fn locate(ctx: &Context<'_>, bucket: &str, expected_owner: Option<&str>) -> Result<Located, AwsError> {
    let home = ctx.baseline.home_region().to_string();
    let aws = ctx.aws.clone();
    let (bucket, owner) = (bucket.to_string(), expected_owner.map(str::to_string));
    let key = memo_key(&bucket, expected_owner);
    ctx.aws
        .memo()
        .get_or_read(&key, move || async move {
            let located = match head(&aws, &home, &bucket, owner.as_deref()).await? {
                // The redirect names the region; whether the bucket is the expected owner's is asked there.
                Answer::Redirected(region) if owner.is_some() => match head(&aws, &region, &bucket, owner.as_deref()).await? {
                    Answer::Redirected(_) => Ok(Located::Found { region }),
                    Answer::Located(located) => located,
                },
                Answer::Redirected(region) => Ok(Located::Found { region }),
                Answer::Located(located) => located,
            };
            confirm(&aws, &home, &bucket, located).await
        })
        .await
}

/// Forgets the run's answer about `bucket` after mamori created it.
pub fn forget(ctx: &Context<'_>, bucket: &str, expected_owner: Option<&str>) {
    ctx.aws.memo().forget(&memo_key(bucket, expected_owner));
}

fn memo_key(bucket: &str, expected_owner: Option<&str>) -> String {
    format!("s3:HeadBucket/{bucket}/{}", expected_owner.unwrap_or("-"))
}

enum Answer {
    Located(Result<Located, AwsError>),
    Redirected(String),
}

/// One `HeadBucket` in `region`.
async fn head(aws: &crate::aws::Aws, region: &str, bucket: &str, owner: Option<&str>) -> Result<Answer, AwsError> {
    let sent = aws.s3(region).head_bucket().bucket(bucket).set_expected_bucket_owner(owner.map(str::to_string)).send().await;
    Ok(match sent {
        Ok(out) => Answer::Located(Ok(Located::Found { region: out.bucket_region().unwrap_or(region).to_string() })),
        Err(e) => match (status(&e), bucket_region(&e)) {
            (Some(301), Some(elsewhere)) if elsewhere != region => Answer::Redirected(elsewhere),
            (Some(404), _) => Answer::Located(Ok(Located::Missing)),
            (Some(403), _) if owner.is_some() => Answer::Located(Err(AwsError::from_sdk("s3:HeadBucket", e))),
            _ => return Err(AwsError::from_sdk("s3:HeadBucket", e)),
        },
    })
}

/// A 403 to a request naming the expected owner: the bucket is another account's unless this
/// account lists it (then the caller is simply denied, and that error stands).
async fn confirm(aws: &crate::aws::Aws, home: &str, bucket: &str, located: Result<Located, AwsError>) -> Result<Located, AwsError> {
    let Err(denied) = located else { return located };
    let ours = aws.s3(home).list_buckets().prefix(bucket).send().await.named("s3:ListBuckets")?;
    if ours.buckets().iter().any(|b| b.name() == Some(bucket)) {
        Err(denied)
    } else {
        Ok(Located::OwnedByAnotherAccount)
    }
}

fn status(error: &SdkError<HeadBucketError, HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

fn bucket_region(error: &SdkError<HeadBucketError, HttpResponse>) -> Option<String> {
    error.raw_response()?.headers().get("x-amz-bucket-region").map(str::to_string)
}

/// The error a control reports for a bucket of its name that another account owns.
pub fn owned_by_another_account(bucket: &str, account_id: &str, key: &str) -> AwsError {
    AwsError {
        operation: "s3:HeadBucket".into(),
        code: Some("AccessDenied".into()),
        message: format!(
            "bucket {bucket} belongs to another AWS account: S3 refused HeadBucket with ExpectedBucketOwner={account_id} and the \
             bucket is not among this account's buckets. Bucket names are global and this one is predictable, so another account \
             may have created it first; mamori sends it nothing more. Choose a name of your own ({key}, e.g. with a random \
             suffix), check that nothing of yours writes to {bucket}, and run mamori apply again."
        ),
        request_id: None,
        status: Some(403),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_bucket_error_names_the_bucket_the_owner_and_the_key_to_change() {
        let error = owned_by_another_account("mamori-audit-1-us-east-1", "111122223333", "logs.bucket.name");
        let text = error.to_string();
        for expected in ["s3:HeadBucket failed: AccessDenied", "mamori-audit-1-us-east-1", "ExpectedBucketOwner=111122223333", "logs.bucket.name"] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
    }
}
