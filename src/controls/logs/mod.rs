//! The audit trail: where CloudTrail writes, the trail itself, and the alarms on what it records.
//!
//! Controls of the `logs` group:
//! - `logs.bucket` ([`bucket`]): the audit-log bucket and its access-log bucket, locked against deletion.
//! - `logs.bucket-mfa-delete` ([`bucket_mfa_delete`]): MFA Delete on the audit-log bucket (a root-only step).
//! - `logs.trail` ([`trail`]): the organization or multi-region trail, delivering to the bucket and to CloudWatch
//!   Logs, or the organization trail that already records the account, checked and never duplicated.
//! - `logs.alarms` ([`alarms`]): the CIS 4.x metric filters and alarms on the log group that receives the account's
//!   events, to an encrypted SNS topic with a confirmed subscriber.

pub mod alarms;
pub mod bucket;
pub mod bucket_mfa_delete;
pub mod trail;
