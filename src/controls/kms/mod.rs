//! The KMS pillar: the customer-managed key the rest of the baseline encrypts with.
//!
//! Controls of the `kms` group:
//! - `kms.baseline-key` ([`baseline_key`]): one customer-managed key per baseline region, found by alias (or by tag after an interrupted run), enabled, rotating, with a key policy that keeps the account root as administrator.

pub mod baseline_key;
