//! The root user, locked away: controls that only report, since AWS offers no API for the root user's credentials.
//!
//! Controls of the `root` group:
//! - `root.access-keys` ([`access_keys`]): the root user has no access keys.
//! - `root.mfa` ([`mfa`]): the root user has MFA (hardware where the baseline asks), or is managed centrally by the organization.
//! - `root.recent-use` ([`recent_use`]): the root user has not signed in or used a key recently.

pub mod access_keys;
pub mod mfa;
pub mod recent_use;
