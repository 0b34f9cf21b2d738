//! Session Manager, which replaces SSH.
//!
//! Controls of the `ssm` group:
//! - `ssm.session-preferences` ([`session_preferences`]): the account's Session Manager preferences: KMS-encrypted sessions, encrypted session logs, timeouts.

pub mod session_preferences;
