//! The root user as IAM reports it live, read once per run: what the `root.*` controls share.
//!
//! `iam:GetAccountSummary` says, at the moment of the call, whether the root user has MFA
//! (`AccountMFAEnabled`), access keys (`AccountAccessKeysPresent`) and a password
//! (`AccountPasswordPresent`). The credential report says the same with up to four hours of delay, so
//! the verdicts on keys and MFA come from the summary: a root user who just deleted a key or enrolled
//! a device sees `verify` pass at once. Whether the device is virtual comes from
//! `iam:ListVirtualMFADevices` (assigned devices whose user is `arn:...:root`); an MFA the summary
//! reports with no virtual device assigned to root is a hardware device (FIDO security key or
//! hardware TOTP token). Both reads go through the run's [`crate::aws::Memo`]. Nothing here writes:
//! AWS offers no API to change the root user's MFA, and its keys are the root user's to delete.

use aws_sdk_iam::types::{AssignmentStatusType, SummaryKeyType};
use serde::Serialize;

use crate::aws::{Aws, AwsError, NameCall};
use crate::least_privilege::Grant;

/// The IAM actions of this read (the root user's MFA, keys and password), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["iam:GetAccountSummary", "iam:ListVirtualMFADevices"]),
];

/// What `iam:GetAccountSummary` says about the root user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootSummary {
    pub mfa_enabled: bool,
    pub access_keys_present: bool,
    /// `None` when the summary does not say (AWS always does; older emulators do not).
    pub password_present: Option<bool>,
}

/// The root user's MFA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootMfa {
    None,
    /// A virtual (authenticator app) device is assigned to the root user.
    Virtual,
    /// MFA is on and no virtual device is assigned to root: a FIDO security key or a hardware token.
    Hardware,
}

impl RootMfa {
    /// Classifies the root user's MFA from "MFA is on" and "a virtual device is assigned to root". A
    /// root user with a virtual device and a hardware one counts as virtual: the weaker device opens
    /// the account too.
    pub fn classify(mfa_enabled: bool, virtual_device_assigned: bool) -> RootMfa {
        match (mfa_enabled, virtual_device_assigned) {
            (false, _) => RootMfa::None,
            (true, true) => RootMfa::Virtual,
            (true, false) => RootMfa::Hardware,
        }
    }
}

/// The root user's entries of the account summary (read on first use, shared by the run).
pub async fn summary(aws: &Aws) -> Result<RootSummary, AwsError> {
    let iam = aws.iam();
    aws.memo()
        .get_or_read("iam:GetAccountSummary", move || async move {
            let out = iam.get_account_summary().send().await.named("iam:GetAccountSummary")?;
            let map = out.summary_map().ok_or_else(|| AwsError::malformed("iam:GetAccountSummary", "no SummaryMap"))?;
            let flag = |key: SummaryKeyType| map.get(&key).map(|value| *value > 0);
            Ok(RootSummary {
                mfa_enabled: flag(SummaryKeyType::AccountMfaEnabled).unwrap_or(false),
                access_keys_present: flag(SummaryKeyType::AccountAccessKeysPresent).unwrap_or(false),
                password_present: flag(SummaryKeyType::AccountPasswordPresent),
            })
        })
        .await
}

/// The root user's MFA: the summary, plus `iam:ListVirtualMFADevices` when MFA is on.
pub async fn mfa(aws: &Aws) -> Result<RootMfa, AwsError> {
    if !summary(aws).await?.mfa_enabled {
        return Ok(RootMfa::None);
    }
    let iam = aws.iam();
    let virtual_device = aws
        .memo()
        .get_or_read("iam:ListVirtualMFADevices/Assigned", move || async move {
            let devices: Vec<_> = iam
                .list_virtual_mfa_devices()
                .assignment_status(AssignmentStatusType::Assigned)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .named("iam:ListVirtualMFADevices")?;
            Ok(devices.iter().any(|device| device.user().is_some_and(|user| is_root_arn(user.arn()))))
        })
        .await?;
    Ok(RootMfa::classify(true, virtual_device))
}

/// `arn:PARTITION:iam::ACCOUNT:root`.
fn is_root_arn(arn: &str) -> bool {
    arn.starts_with("arn:") && arn.ends_with(":root") && arn.split(':').nth(2) == Some("iam")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_is_virtual_when_any_virtual_device_is_assigned_to_root() {
        assert_eq!(RootMfa::classify(false, false), RootMfa::None);
        assert_eq!(RootMfa::classify(false, true), RootMfa::None, "a device listed but MFA off: none");
        assert_eq!(RootMfa::classify(true, true), RootMfa::Virtual);
        assert_eq!(RootMfa::classify(true, false), RootMfa::Hardware);
    }

    #[test]
    fn only_the_root_arn_is_root() {
        assert!(is_root_arn("arn:aws:iam::123456789012:root"));
        assert!(is_root_arn("arn:aws-cn:iam::123456789012:root"));
        assert!(!is_root_arn("arn:aws:iam::123456789012:user/root"));
        assert!(!is_root_arn("arn:aws:sts::123456789012:root"));
    }
}
