//! Entering a member account: credentials from `sts:AssumeRole`, renewed before they expire.
//!
//! [`AssumedRole::enter`] assumes the baseline's role (`organization.role_name`, with its external id,
//! session name and duration) in one account, with the caller's own connection, so that the call is
//! guarded and recorded like every other. A refusal (no such role, a trust policy that does not trust
//! the caller, an SCP) comes back as an [`AwsError`] that keeps STS's error code, and the account is
//! reported with it. The credentials it returns are handed to the SDK as a provider, which every client
//! of the account (one per service and region) asks: the session is handed out while it is fresh, and
//! the role is assumed anew only when it is within [`RENEW_BEFORE`] of its expiry, so an account costs
//! one `AssumeRole` per session however many clients it has, and a long run never uses an expired
//! session. Credentials are never logged: the provider's `Debug` shows the role only.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;

use crate::aws::{Aws, AwsError, Caller, NameCall};
use crate::baseline::Organization;

/// How long before its expiry a session counts as spent (the SDK asks again well before that).
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// The role of one account, assumed with the caller's connection.
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
    external_id: Option<String>,
    duration_seconds: i32,
    /// The current session: the one [`AssumedRole::enter`] obtained, then each renewal.
    session: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole").field("role_arn", &self.role_arn).field("session_name", &self.session_name).finish_non_exhaustive()
    }
}

impl AssumedRole {
    /// Assumes the role in `account_id` once (the error names STS's code when it is refused) and
    /// returns the provider and who the session is.
    pub async fn enter(caller: &Aws, partition: &str, account_id: &str, settings: &Organization, verb: &str) -> Result<(AssumedRole, Caller), AwsError> {
        let role = AssumedRole {
            sts: caller.sts(),
            role_arn: format!("arn:{partition}:iam::{account_id}:role/{}", settings.role_name),
            session_name: settings.session_name.render(verb),
            external_id: settings.external_id.clone(),
            duration_seconds: settings.session_duration_seconds,
            session: Mutex::new(None),
        };
        let (credentials, session_arn) = role.assume().await?;
        *role.session.lock().expect("credentials lock") = Some(credentials);
        let caller = Caller { account_id: account_id.to_string(), partition: partition.to_string(), arn: session_arn };
        Ok((role, caller))
    }

    async fn assume(&self) -> Result<(Credentials, String), AwsError> {
        const OP: &str = "sts:AssumeRole";
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.external_id.clone())
            .duration_seconds(self.duration_seconds)
            .send()
            .await
            .named(OP)?;
        let c = out.credentials().ok_or_else(|| AwsError::malformed(OP, "no credentials"))?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let credentials = Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_string()), expiry, "mamori-assume-role");
        let session_arn = out.assumed_role_user().map(|u| u.arn().to_string()).unwrap_or_else(|| self.role_arn.clone());
        Ok((credentials, session_arn))
    }

    /// The session while it is fresh; otherwise a new one, kept for the next ask.
    async fn credentials(&self) -> provider::Result {
        let current = self.session.lock().expect("credentials lock").clone();
        if let Some(credentials) = current.filter(|c| still_fresh(c.expiry(), SystemTime::now())) {
            return Ok(credentials);
        }
        let (credentials, _) = self.assume().await.map_err(CredentialsError::provider_error)?;
        *self.session.lock().expect("credentials lock") = Some(credentials.clone());
        Ok(credentials)
    }
}

/// Whether credentials expiring at `expiry` may still be handed out at `now`: not within
/// [`RENEW_BEFORE`] of their expiry (a session without an expiry never expires).
fn still_fresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_none_or(|at| at > now + RENEW_BEFORE)
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.credentials())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn credentials_are_renewed_before_they_expire_not_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(still_fresh(None, now), "a session without an expiry");
        assert!(still_fresh(Some(now + RENEW_BEFORE + Duration::from_secs(60)), now));
        assert!(!still_fresh(Some(now + RENEW_BEFORE - Duration::from_secs(1)), now), "about to expire: assumed again");
        assert!(!still_fresh(Some(now - Duration::from_secs(1)), now), "expired: assumed again");
    }
}
