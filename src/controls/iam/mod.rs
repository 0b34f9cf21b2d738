//! IAM hygiene: the password policy and the state of every IAM user's credentials and policies.
//!
//! Controls of the `iam` group:
//! - `iam.password-policy` ([`password_policy`]): the account password policy at least as strict as the baseline, never weakened.
//! - `iam.console-mfa` ([`console_mfa`]): every user with a console password has MFA.
//! - `iam.unused-credentials` ([`unused_credentials`]): no password or active access key unused for N days.
//! - `iam.access-key-rotation` ([`access_key_rotation`]): no active access key older than N days.
//! - `iam.no-admin-keys` ([`no_admin_keys`]): no administrator holds an active access key.
//! - `iam.no-star-policies` ([`no_star_policies`]): no customer policy allows `*` on `*`.

pub mod access_key_rotation;
pub mod console_mfa;
pub mod no_admin_keys;
pub mod no_star_policies;
pub mod password_policy;
pub mod unused_credentials;
