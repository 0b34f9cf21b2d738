//! Account-wide S3 settings.
//!
//! Controls of the `s3` group:
//! - `s3.account-public-access-block` ([`account_public_access_block`]): the four account-level Block Public Access settings on.

pub mod account_public_access_block;
