//! The EBS pillar: volumes encrypted at rest by default.
//!
//! Controls of the `ebs` group:
//! - `ebs.default-encryption` ([`default_encryption`]): EBS encryption by default in every baseline region, with the baseline key as the default key.

pub mod default_encryption;
