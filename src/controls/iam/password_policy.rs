//! `iam.password-policy`: the account password policy at least as strict as the baseline.
//!
//! The desired policy is, setting by setting, the stricter of the baseline and what is there: a
//! longer minimum, a requirement on, a longer reuse history, a shorter maximum age. `apply` writes the
//! whole policy (the API replaces it), so settings the baseline does not manage (`hard_expiry`) are
//! written back unchanged. mamori never weakens a password policy.

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::{AwsError, NameCall};
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Scope, Target};
use crate::report::Action;
use crate::least_privilege::{Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "iam.password-policy",
    source: file!(),
    title: "Account password policy at least as strict as the baseline",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &["1.7", "1.8"],
    fsbp: &["IAM.7", "IAM.15", "IAM.16"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::any(&["iam:GetAccountPasswordPolicy"]),
    ],
    shared: &[],
    apply: &[
        Grant::any(&["iam:UpdateAccountPasswordPolicy"]),
    ],
};

pub struct PasswordPolicy;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PasswordPolicyState {
    /// False when the account has no password policy (AWS's defaults apply).
    pub exists: bool,
    pub minimum_length: i32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub allow_users_to_change: bool,
    pub reuse_prevention: Option<i32>,
    pub max_age_days: Option<i32>,
    /// Not managed by the baseline: kept as it is.
    pub hard_expiry: bool,
}

/// AWS's behaviour when no policy is set.
const NO_POLICY: PasswordPolicyState = PasswordPolicyState {
    exists: false,
    minimum_length: 8,
    require_uppercase: false,
    require_lowercase: false,
    require_numbers: false,
    require_symbols: false,
    allow_users_to_change: false,
    reuse_prevention: None,
    max_age_days: None,
    hard_expiry: false,
};

/// The stricter of the baseline minimums and what is observed, setting by setting.
pub fn stricter(baseline: &crate::baseline::PasswordPolicy, observed: &PasswordPolicyState) -> PasswordPolicyState {
    PasswordPolicyState {
        exists: true,
        minimum_length: baseline.minimum_length.max(observed.minimum_length),
        require_uppercase: baseline.require_uppercase || observed.require_uppercase,
        require_lowercase: baseline.require_lowercase || observed.require_lowercase,
        require_numbers: baseline.require_numbers || observed.require_numbers,
        require_symbols: baseline.require_symbols || observed.require_symbols,
        allow_users_to_change: baseline.allow_users_to_change || observed.allow_users_to_change,
        reuse_prevention: baseline.reuse_prevention.max(observed.reuse_prevention),
        max_age_days: match (baseline.max_age_days, observed.max_age_days) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        hard_expiry: observed.hard_expiry,
    }
}

#[async_trait]
impl Control for PasswordPolicy {
    type State = PasswordPolicyState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.password_policy.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "account-setting/password-policy".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<PasswordPolicyState, AwsError> {
        let policy = match ctx.aws.iam().get_account_password_policy().send().await {
            Ok(out) => out.password_policy,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => None,
            Err(e) => return Err(AwsError::from_sdk("iam:GetAccountPasswordPolicy", e)),
        };
        let Some(policy) = policy else { return Ok(NO_POLICY) };
        Ok(PasswordPolicyState {
            exists: true,
            minimum_length: policy.minimum_password_length().unwrap_or(NO_POLICY.minimum_length),
            require_uppercase: policy.require_uppercase_characters(),
            require_lowercase: policy.require_lowercase_characters(),
            require_numbers: policy.require_numbers(),
            require_symbols: policy.require_symbols(),
            allow_users_to_change: policy.allow_users_to_change_password(),
            reuse_prevention: policy.password_reuse_prevention().filter(|n| *n > 0),
            max_age_days: policy.max_password_age().filter(|n| *n > 0),
            hard_expiry: policy.hard_expiry().unwrap_or(false),
        })
    }

    fn desired(&self, ctx: &Context<'_>, _target: &Target, observed: &PasswordPolicyState, _facts: &Facts) -> PasswordPolicyState {
        stricter(ctx.baseline.password_policy.as_ref().expect("the engine only runs enabled controls"), observed)
    }

    fn action(&self, observed: &PasswordPolicyState) -> Action {
        if observed.exists {
            Action::Update
        } else {
            Action::Create
        }
    }

    async fn apply(&self, ctx: &Context<'_>, _target: &Target, _observed: &PasswordPolicyState, desired: &PasswordPolicyState) -> Result<(), ControlError> {
        ctx.aws
            .iam()
            .update_account_password_policy()
            .minimum_password_length(desired.minimum_length)
            .require_uppercase_characters(desired.require_uppercase)
            .require_lowercase_characters(desired.require_lowercase)
            .require_numbers(desired.require_numbers)
            .require_symbols(desired.require_symbols)
            .allow_users_to_change_password(desired.allow_users_to_change)
            .set_password_reuse_prevention(desired.reuse_prevention)
            .set_max_password_age(desired.max_age_days)
            .hard_expiry(desired.hard_expiry)
            .send()
            .await
            .named("iam:UpdateAccountPasswordPolicy")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> crate::baseline::PasswordPolicy {
        crate::baseline::PasswordPolicy {
            minimum_length: 14,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: false,
            allow_users_to_change: true,
            reuse_prevention: Some(24),
            max_age_days: Some(90),
        }
    }

    #[test]
    fn a_missing_policy_gets_the_baseline() {
        let desired = stricter(&baseline(), &NO_POLICY);
        assert_eq!((desired.minimum_length, desired.reuse_prevention, desired.max_age_days), (14, Some(24), Some(90)));
        assert!(desired.exists && !desired.require_symbols);
    }

    #[test]
    fn stricter_existing_settings_are_never_weakened() {
        let observed = PasswordPolicyState {
            exists: true,
            minimum_length: 20,
            require_symbols: true,
            max_age_days: Some(30),
            reuse_prevention: Some(5),
            hard_expiry: true,
            ..NO_POLICY
        };
        let desired = stricter(&baseline(), &observed);
        assert_eq!(desired.minimum_length, 20);
        assert!(desired.require_symbols && desired.hard_expiry);
        assert_eq!(desired.max_age_days, Some(30));
        assert_eq!(desired.reuse_prevention, Some(24));
        assert_eq!(stricter(&baseline(), &desired), desired, "a converged policy is a fixed point");
    }
}
