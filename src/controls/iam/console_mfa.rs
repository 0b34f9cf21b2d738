//! `iam.console-mfa`: every IAM user with a console password has MFA.
//!
//! Observed from the run's credential report; users it flags are confirmed live (see
//! [`crate::inventory::iam_authorization`]). A user without MFA is `manual` (only the user can enrol a device)
//! unless the baseline opts in to `remove_login_without_mfa`: then `apply` removes that user's console
//! password (`iam:DeleteLoginProfile`) and nothing else. The user, its keys, groups and policies stay,
//! and an administrator can give the password back once MFA is set up.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::credential_report::{self, console_without_mfa};
use crate::inventory::iam_authorization::{self, Confirm};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "iam.console-mfa",
    source: file!(),
    title: "Every IAM user with a console password has MFA",
    fix: Fix::Optional,
    scope: Scope::Account,
    cis_v5: &["1.9"],
    fsbp: &["IAM.5"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::credential_report::READS, crate::inventory::iam_authorization::READS],
    apply: &[
        Grant::on(&["iam:DeleteLoginProfile"], &[arn::IAM_USER]).when(|baseline| baseline.console_mfa.as_ref().is_some_and(|c| c.remove_login_without_mfa)),
    ],
};

pub struct ConsoleMfa;

/// A user's console access.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsoleLogin {
    pub console_password: bool,
    pub mfa: bool,
}

#[async_trait]
impl Control for ConsoleMfa {
    /// Users the credential report lists with a console password, by name.
    type State = BTreeMap<String, ConsoleLogin>;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.console_mfa.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "users-with-console-password".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        let report = credential_report::read(ctx.aws).await?;
        let mut users = BTreeMap::new();
        for row in report.users.iter().filter(|row| row.password_enabled) {
            let row = if console_without_mfa(row) {
                iam_authorization::confirm(ctx.aws, row, Confirm { password: true, mfa: true, ..Confirm::default() }).await?
            } else {
                row.clone()
            };
            users.insert(row.user.clone(), ConsoleLogin { console_password: row.password_enabled, mfa: row.mfa_active });
        }
        Ok(users)
    }

    fn desired(&self, ctx: &Context<'_>, _target: &Target, observed: &Self::State, _facts: &Facts) -> Self::State {
        let remove = ctx.baseline.console_mfa.as_ref().is_some_and(|c| c.remove_login_without_mfa);
        observed
            .iter()
            .map(|(user, login)| {
                let wanted = match (login.console_password, login.mfa, remove) {
                    (true, false, true) => ConsoleLogin { console_password: false, mfa: false },
                    (true, false, false) => ConsoleLogin { console_password: true, mfa: true },
                    _ => login.clone(),
                };
                (user.clone(), wanted)
            })
            .collect()
    }

    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        iam_authorization::parts_or_empty("user/", observed, desired, &self.resource(ctx, target))
    }

    fn fix(&self, baseline: &Baseline) -> Fix {
        match baseline.console_mfa.as_ref().is_some_and(|c| c.remove_login_without_mfa) {
            true => Fix::Automatic,
            false => Fix::Manual,
        }
    }

    fn manual_steps(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let user = part.resource.strip_prefix("user/")?;
        Some(format!(
            "{user} signs in to the console and assigns an MFA device (IAM → Users → {user} → Security credentials → \
             Assign MFA device; a FIDO security key or an authenticator app). If {user} needs no console access, an \
             administrator removes the password instead: `aws iam delete-login-profile --user-name {user}` (or set \
             iam.console_mfa.remove_login_without_mfa: true and run mamori apply)."
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, _target: &Target, observed: &Self::State, desired: &Self::State) -> Result<(), ControlError> {
        for (user, wanted) in desired {
            if !wanted.console_password && observed.get(user).is_some_and(|login| login.console_password) {
                iam_authorization::remove_console_password(ctx.aws, user).await?;
            }
        }
        Ok(())
    }
}
