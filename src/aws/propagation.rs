//! Eventual consistency after a create: the calls AWS refuses until something mamori has just made
//! has propagated, retried with a bounded backoff; and the pauses the engine takes before it believes
//! a read-back that still shows drift.
//!
//! AWS services see each other's writes late. CloudTrail refuses a CloudWatch Logs delivery role IAM
//! created seconds ago (`InvalidCloudWatchLogsRoleArnException`); KMS may answer `NotFoundException`
//! for a key it has just created; EC2 refuses an instance profile IAM has just created
//! (`InvalidParameterValue`). [`PROPAGATION_ERRORS`] lists, in one place, each such answer AWS
//! documents, by operation and error code, with the page that documents it; [`send`] sends one call
//! and, when it fails with one of them, sends it again after 1 s, 2 s, 4 s, ... (at most 20 s apart)
//! until it succeeds, fails otherwise, or [`PROPAGATION_BUDGET`] is spent. Errors are matched by
//! their AWS error code only, never by their message.
//!
//! Every operation of the table must be sent through [`send`] (a unit test holds the sources to it),
//! so no control carries a retry loop of its own. Only the operations listed are retried: the same
//! code elsewhere keeps its meaning (`NotFoundException` from `kms:DescribeKey` says the alias does not
//! exist, and is an answer, not a delay). The SDK's own retry (throttling, 5xx) runs inside each
//! attempt as usual.
//!
//! This module never logs a request's parameters: only the operation, the error code and the pause.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

use super::error::{AwsError, HttpStatus, NameCall};

/// One answer AWS documents as "not propagated yet" for one operation.
#[derive(Debug)]
pub struct PropagationError {
    /// `service:Operation`, as mamori names calls (`cloudtrail:CreateTrail`).
    pub operation: &'static str,
    /// The AWS error codes that mean "not visible yet" for this operation.
    pub codes: &'static [&'static str],
    /// The AWS page that documents the delay.
    pub documentation: &'static str,
}

const IAM_EVENTUAL_CONSISTENCY: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency";
const KMS_EVENTUAL_CONSISTENCY: &str = "https://docs.aws.amazon.com/kms/latest/developerguide/accessing-kms.html#programming-eventual-consistency";
const EC2_INSTANCE_PROFILE_PROPAGATION: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_iam-ec2.html";

/// The documented propagation answers, by operation. CloudTrail checks, at `CreateTrail` and
/// `UpdateTrail`, that it can assume the delivery role (which IAM may not have propagated), that the
/// key policy lets it encrypt and the bucket policy lets it write (both eventually consistent).
pub const PROPAGATION_ERRORS: &[PropagationError] = &[
    PropagationError {
        operation: "cloudtrail:CreateTrail",
        codes: &["InvalidCloudWatchLogsRoleArnException", "InsufficientEncryptionPolicyException", "InsufficientS3BucketPolicyException"],
        documentation: IAM_EVENTUAL_CONSISTENCY,
    },
    PropagationError {
        operation: "cloudtrail:UpdateTrail",
        codes: &["InvalidCloudWatchLogsRoleArnException", "InsufficientEncryptionPolicyException", "InsufficientS3BucketPolicyException"],
        documentation: IAM_EVENTUAL_CONSISTENCY,
    },
    PropagationError { operation: "kms:CreateAlias", codes: &["NotFoundException"], documentation: KMS_EVENTUAL_CONSISTENCY },
    PropagationError { operation: "kms:EnableKeyRotation", codes: &["NotFoundException"], documentation: KMS_EVENTUAL_CONSISTENCY },
    PropagationError { operation: "kms:PutKeyPolicy", codes: &["NotFoundException"], documentation: KMS_EVENTUAL_CONSISTENCY },
    PropagationError { operation: "iam:PutRolePolicy", codes: &["NoSuchEntity"], documentation: IAM_EVENTUAL_CONSISTENCY },
    PropagationError { operation: "iam:AddRoleToInstanceProfile", codes: &["NoSuchEntity"], documentation: IAM_EVENTUAL_CONSISTENCY },
    PropagationError {
        operation: "ec2:AssociateIamInstanceProfile",
        codes: &["InvalidParameterValue"],
        documentation: EC2_INSTANCE_PROFILE_PROPAGATION,
    },
];

/// How long [`send`] keeps retrying one call: about two minutes of pauses, what Terraform's AWS
/// provider allows IAM changes to propagate.
pub const PROPAGATION_BUDGET: Duration = Duration::from_secs(120);

/// How long the engine keeps reading back a unit that `apply` changed and that still shows drift
/// before it reports the drift.
pub const READ_BACK_BUDGET: Duration = Duration::from_secs(30);

const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(20);

/// The pauses between attempts: 1 s, 2 s, 4 s, ... at most 20 s each, while their sum stays within
/// `budget`.
pub fn pauses(budget: Duration) -> impl Iterator<Item = Duration> {
    let mut spent = Duration::ZERO;
    std::iter::successors(Some(FIRST_PAUSE), |pause| Some((*pause * 2).min(LONGEST_PAUSE))).take_while(move |pause| {
        spent += *pause;
        spent <= budget
    })
}

/// The table row of `error`, when it is a documented propagation answer of its operation.
pub fn documented_delay(error: &AwsError) -> Option<&'static PropagationError> {
    PROPAGATION_ERRORS.iter().find(|row| row.operation == error.operation && row.codes.iter().any(|code| error.is_code(code)))
}

/// Sends the call `attempt` makes (named `operation`), again after each documented propagation
/// answer, within [`PROPAGATION_BUDGET`]. `operation` must be listed in [`PROPAGATION_ERRORS`].
pub async fn send<T, E, R, F, Fut>(operation: &'static str, mut attempt: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
    SdkError<E, R>: RequestId,
{
    let named = || {
        let sent = attempt();
        async move { sent.await.named(operation) }
    };
    retry_documented_delays(operation, named, pauses(PROPAGATION_BUDGET)).await
}

/// Runs `attempt` until it succeeds, fails with an answer that is not a documented delay of
/// `operation`, or `pauses` run out (sleeping each pause between attempts).
async fn retry_documented_delays<T, F, Fut>(operation: &'static str, mut attempt: F, mut pauses: impl Iterator<Item = Duration>) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    debug_assert!(PROPAGATION_ERRORS.iter().any(|row| row.operation == operation), "{operation} is not in the propagation table");
    loop {
        let error = match attempt().await {
            Ok(output) => return Ok(output),
            Err(error) => error,
        };
        match (documented_delay(&error), pauses.next()) {
            (Some(row), Some(pause)) => {
                tracing::info!(
                    operation,
                    code = error.code.as_deref().unwrap_or_default(),
                    pause_s = pause.as_secs(),
                    documentation = row.documentation,
                    "not visible to AWS yet (eventual consistency): retrying"
                );
                tokio::time::sleep(pause).await;
            }
            (Some(_), None) => {
                return Err(AwsError {
                    message: format!("{} (still refused after {}s of retries for propagation)", error.message, PROPAGATION_BUDGET.as_secs()),
                    ..error
                })
            }
            (None, _) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn refused(operation: &str, code: &str) -> AwsError {
        AwsError { operation: operation.into(), code: Some(code.into()), message: "not there".into(), request_id: None, status: Some(400) }
    }

    /// Runs `retry_documented_delays` with zero-length pauses; returns the result and the attempts.
    async fn run(operation: &'static str, answers: Vec<Result<u8, &'static str>>, budget_pauses: usize) -> (Result<u8, AwsError>, usize) {
        let attempts = AtomicUsize::new(0);
        let result = retry_documented_delays(
            operation,
            || {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                let answer = answers.get(n).copied().unwrap_or(Ok(0));
                async move { answer.map_err(|code| refused(operation, code)) }
            },
            std::iter::repeat_n(Duration::ZERO, budget_pauses),
        )
        .await;
        (result, attempts.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_documented_propagation_answer_is_retried_until_the_call_succeeds() {
        let (result, attempts) = run("kms:CreateAlias", vec![Err("NotFoundException"), Err("NotFoundException"), Ok(7)], 9).await;
        assert_eq!((result.unwrap(), attempts), (7, 3));
    }

    #[tokio::test]
    async fn other_errors_and_other_operations_are_not_retried() {
        let (result, attempts) = run("kms:CreateAlias", vec![Err("AlreadyExistsException"), Ok(7)], 9).await;
        assert_eq!((result.unwrap_err().code.as_deref(), attempts), (Some("AlreadyExistsException"), 1));
        // NotFoundException is a propagation answer for CreateAlias only; for another listed
        // operation with other codes it is an ordinary error.
        let (result, attempts) = run("cloudtrail:CreateTrail", vec![Err("NotFoundException"), Ok(7)], 9).await;
        assert_eq!((result.unwrap_err().code.as_deref(), attempts), (Some("NotFoundException"), 1));
    }

    #[tokio::test]
    async fn retries_stop_when_the_budget_is_spent_and_the_error_says_so() {
        let (result, attempts) = run("kms:CreateAlias", vec![Err("NotFoundException"); 10], 3).await;
        let error = result.unwrap_err();
        assert_eq!((error.code.as_deref(), attempts), (Some("NotFoundException"), 4), "one attempt, then one per pause");
        assert!(error.message.contains("retries for propagation"), "{}", error.message);
    }

    #[test]
    fn pauses_double_up_to_twenty_seconds_within_the_budget() {
        let secs: Vec<u64> = pauses(PROPAGATION_BUDGET).map(|p| p.as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 20, 20, 20, 20]);
        assert!(secs.iter().sum::<u64>() <= PROPAGATION_BUDGET.as_secs());
        assert_eq!(pauses(READ_BACK_BUDGET).map(|p| p.as_secs()).collect::<Vec<_>>(), [1, 2, 4, 8]);
    }

    #[test]
    fn every_row_names_a_call_and_a_page() {
        for row in PROPAGATION_ERRORS {
            let (service, name) = row.operation.split_once(':').expect("service:Operation");
            assert!(!service.is_empty() && name.starts_with(char::is_uppercase) && !row.codes.is_empty(), "{row:?}");
            assert!(row.documentation.starts_with("https://docs.aws.amazon.com/"), "{row:?}");
        }
    }

    /// The table's operations are sent only through [`send`]: no source names one of them directly
    /// (`.named("kms:CreateAlias")`, `from_sdk("kms:CreateAlias", ...)`), which would skip the retry.
    #[test]
    fn every_listed_operation_is_sent_through_the_retry() {
        let mut offenders = Vec::new();
        let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
                continue;
            }
            if path.ends_with("aws/propagation.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for row in PROPAGATION_ERRORS {
                for direct in [format!("named(\"{}\")", row.operation), format!("from_sdk(\"{}\"", row.operation)] {
                    if text.contains(&direct) {
                        offenders.push(format!("{}: {direct}", path.display()));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "send these through aws::propagation::send: {offenders:?}");
    }
}
