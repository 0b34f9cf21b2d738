//! Creates that AWS cannot make idempotent (`kms:CreateKey` has no client token): sent once per
//! attempt, and never sent again before mamori has looked whether the last attempt took effect.
//!
//! The SDK retries a call whose answer was lost (a connection reset after the request reached AWS, a
//! timeout, a 5xx) by sending it again: harmless for a read or for a create with a client token (see
//! [`super::client_token`]), a duplicate for `CreateKey`, measured as two baseline keys after one run
//! with the first answer lost. So such a create is sent with the SDK's retry turned off
//! ([`without_sdk_retry`]) and [`create`] does the retrying itself: after a failure that may have
//! reached AWS ([`may_have_taken_effect`]) it waits, asks the caller to find the resource by what the
//! create stamps on it atomically (a tag), adopts it when found, and sends the create again only when
//! it is not. The pause before looking covers AWS's eventual consistency (a new KMS key may take a few
//! seconds to be listed: <https://docs.aws.amazon.com/kms/latest/developerguide/accessing-kms.html#programming-eventual-consistency>).
//!
//! Errors are judged by their AWS error code and HTTP status, never by their message. This module
//! never logs a request's parameters.

use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};

use super::AwsError;

/// How many times a non-idempotent create is sent at most, with a look for its resource between two.
pub const ATTEMPTS: u32 = 4;

/// The pause before the first look for the resource of a failed attempt; doubled before each next one.
pub const FIRST_PAUSE: Duration = Duration::from_secs(1);


/// The retry configuration of a non-idempotent create: one attempt, the caller decides what follows.
pub fn without_sdk_retry() -> RetryConfig {
    RetryConfig::disabled()
}

/// True when a failed create may be worth another attempt: no answer at all (the connection dropped,
/// a timeout: the request may have reached AWS), a 5xx, or one of the throttling or transient error
/// codes the SDK's own retry classifies as retryable.
pub fn may_have_taken_effect(error: &AwsError) -> bool {
    error.status.is_none_or(|status| status >= 500 || status == 429) || error.code.as_deref().is_some_and(|code| THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code))
}

/// Sends `send` (one attempt, SDK retry off) until it succeeds, fails for good, or [`ATTEMPTS`] are
/// spent; after each retryable failure, `find` looks for what an earlier attempt may have created and
/// its answer is adopted when it finds something. Returns the created (or found) resource.
pub async fn create<T, S, SF, F, FF>(operation: &str, mut send: S, mut find: F) -> Result<T, AwsError>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<T, AwsError>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, AwsError>>,
{
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        let error = match send().await {
            Ok(created) => return Ok(created),
            Err(error) if attempt < ATTEMPTS && may_have_taken_effect(&error) => error,
            Err(error) => return Err(error),
        };
        tracing::warn!(operation, code = error.code.as_deref().unwrap_or("no answer"), attempt, "a create failed in a way that may have taken effect: looking for its resource before sending it again");
        tokio::time::sleep(pause).await;
        pause *= 2;
        if let Some(found) = find().await? {
            tracing::info!(operation, "adopted what an earlier attempt created");
            return Ok(found);
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn failed(code: Option<&str>, status: Option<u16>) -> AwsError {
        AwsError { operation: "kms:CreateKey".into(), code: code.map(str::to_string), message: "x".into(), request_id: None, status }
    }

    #[test]
    fn lost_answers_5xx_and_throttling_may_have_taken_effect_and_refusals_did_not() {
        for error in [failed(None, None), failed(Some("KMSInternalException"), Some(500)), failed(Some("ThrottlingException"), Some(400)), failed(None, Some(503))] {
            assert!(may_have_taken_effect(&error), "{error:?}");
        }
        for error in [failed(Some("AccessDeniedException"), Some(400)), failed(Some("MalformedPolicyDocumentException"), Some(400)), failed(Some("LimitExceeded"), Some(400))] {
            assert!(!may_have_taken_effect(&error), "{error:?}");
        }
    }

    #[tokio::test]
    async fn a_lost_answer_is_followed_by_a_look_and_what_it_finds_is_adopted() {
        let sent = Cell::new(0);
        let looked = Cell::new(0);
        let created = create(
            "kms:CreateKey",
            || {
                sent.set(sent.get() + 1);
                async { Err::<&str, _>(failed(None, None)) }
            },
            || {
                looked.set(looked.get() + 1);
                async { Ok(Some("key-from-the-lost-answer")) }
            },
        )
        .await;
        assert_eq!(created.unwrap(), "key-from-the-lost-answer");
        assert_eq!((sent.get(), looked.get()), (1, 1), "the create is never sent twice when the first one took effect");
    }

    #[tokio::test]
    async fn a_create_that_did_not_take_effect_is_sent_again_and_a_refusal_is_not() {
        let sent = Cell::new(0);
        let created = create(
            "kms:CreateKey",
            || {
                sent.set(sent.get() + 1);
                let answer = if sent.get() < 3 { Err(failed(Some("ThrottlingException"), Some(400))) } else { Ok("new-key") };
                async move { answer }
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!((created.unwrap(), sent.get()), ("new-key", 3));

        let sent = Cell::new(0);
        let refused = create(
            "kms:CreateKey",
            || {
                sent.set(sent.get() + 1);
                async { Err::<&str, _>(failed(Some("AccessDeniedException"), Some(400))) }
            },
            || async { Ok(None) },
        )
        .await;
        assert!(refused.is_err());
        assert_eq!(sent.get(), 1);
    }
}
