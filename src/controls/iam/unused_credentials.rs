//! `iam.unused-credentials`: no console password or active access key unused for more than N days
//! (baseline `max_unused_days`, default 45).
//!
//! Observed from the run's credential report with [`credential_report::unused_password`] and
//! [`credential_report::unused_keys`] ("never used" counts from when the credential was set); users it
//! flags are confirmed live, last-use dates included (`iam:GetAccessKeyLastUsed`, `iam:GetUser`), so a
//! key used since the report was built is neither reported nor deactivated. Findings are `manual` unless the baseline opts in to `disable_unused`:
//! then `apply` deactivates each unused key (`iam:UpdateAccessKey` to `Inactive`; a key is never
//! deleted, so it can be switched back on) and removes an unused console password. Users are never
//! deleted.
//!
//! Never the caller's own credentials: when mamori runs with an IAM user's access key, that user's
//! keys and password are reported `manual`, saying why, and `apply` leaves them alone. Last-used data
//! lags behind use (AWS updates it within hours), so the very key of the run can look unused, and
//! deactivating it would cut mamori, and the operator behind it, off mid-run.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::credential_report::{self, unused_keys, unused_password, CredentialRow, Epoch};
use crate::inventory::iam_authorization::{self, Confirm};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "iam.unused-credentials",
    source: file!(),
    title: "No password or access key unused for N days",
    fix: Fix::Optional,
    scope: Scope::Account,
    cis_v5: &["1.11"],
    fsbp: &["IAM.8", "IAM.22"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::credential_report::READS, crate::inventory::iam_authorization::READS],
    apply: &[
        Grant::on(&["iam:UpdateAccessKey", "iam:DeleteLoginProfile"], &[arn::IAM_USER]).when(|baseline| baseline.unused_credentials.as_ref().is_some_and(|u| u.disable_unused)),
    ],
};

pub struct UnusedCredentials;

/// A user's unused credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Unused {
    pub unused_console_password: bool,
    /// Active keys unused for too long, by id (by report slot when not confirmed).
    pub unused_active_keys: Vec<String>,
}

fn unused(row: &CredentialRow, now: Epoch, days: i64) -> Unused {
    Unused {
        unused_console_password: unused_password(row, now, days),
        unused_active_keys: unused_keys(row, now, days).into_iter().map(|slot| row.keys[slot].name(slot)).collect(),
    }
}

fn max_unused_days(baseline: &Baseline) -> i64 {
    baseline.unused_credentials.as_ref().map_or(45, |u| u.max_unused_days)
}

#[async_trait]
impl Control for UnusedCredentials {
    /// Users with a console password or an active key, by name.
    type State = BTreeMap<String, Unused>;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.unused_credentials.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "users-with-credentials".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        let (report, now, days) = (credential_report::read(ctx.aws).await?, credential_report::now(), max_unused_days(ctx.baseline));
        let mut users = BTreeMap::new();
        for row in report.users.iter().filter(|row| row.password_enabled || row.keys.iter().any(|k| k.active)) {
            let mut found = unused(row, now, days);
            if found != Unused::default() {
                let live = Confirm { keys: !found.unused_active_keys.is_empty(), password: found.unused_console_password, last_use: true, ..Confirm::default() };
                found = unused(&iam_authorization::confirm(ctx.aws, row, live).await?, now, days);
            }
            users.insert(row.user.clone(), found);
        }
        Ok(users)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, _facts: &Facts) -> Self::State {
        observed.keys().map(|user| (user.clone(), Unused::default())).collect()
    }

    /// The caller's own user is `manual` whatever the baseline opts in to.
    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        let caller = ctx.caller.iam_user().map(|user| format!("user/{user}"));
        iam_authorization::parts_or_empty("user/", observed, desired, &self.resource(ctx, target))
            .into_iter()
            .map(|part| if Some(&part.resource) == caller.as_ref() { part.with_fix(Fix::Manual) } else { part })
            .collect()
    }

    fn fix(&self, baseline: &Baseline) -> Fix {
        match baseline.unused_credentials.as_ref().is_some_and(|u| u.disable_unused) {
            true => Fix::Automatic,
            false => Fix::Manual,
        }
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let user = part.resource.strip_prefix("user/")?;
        let days = max_unused_days(ctx.baseline);
        if ctx.caller.iam_user() == Some(user) {
            return Some(format!(
                "mamori runs as {user} (one of these keys is the one it is using): it never deactivates its caller's own keys or \
                 password, since last-used data lags behind use. Check with `aws iam get-access-key-last-used --access-key-id KEY_ID` \
                 which key is idle for more than {days} days, then deactivate it from another identity: `aws iam update-access-key \
                 --user-name {user} --access-key-id KEY_ID --status Inactive`."
            ));
        }
        Some(format!(
            "Credentials of {user} unused for more than {days} days. Confirm with the owner that they are not needed, then \
             deactivate each unused key: `aws iam update-access-key --user-name {user} --access-key-id KEY_ID --status Inactive`, \
             and remove an unused console password: `aws iam delete-login-profile --user-name {user}`. A user no one needs \
             any more is removed by hand after review. (Or set iam.unused_credentials.disable_unused: true and run mamori apply: \
             it deactivates keys and removes passwords, never deletes.)"
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, _target: &Target, observed: &Self::State, _desired: &Self::State) -> Result<(), ControlError> {
        // The caller's own user is never touched (see the module documentation).
        for (user, found) in observed.iter().filter(|(user, _)| ctx.caller.iam_user() != Some(user.as_str())) {
            for key in &found.unused_active_keys {
                if key.starts_with("access_key_") {
                    return Err(ControlError::Precondition(format!("the id of {user}'s {key} is unknown: cannot deactivate it")));
                }
                iam_authorization::deactivate_access_key(ctx.aws, user, key).await?;
            }
            if found.unused_console_password {
                iam_authorization::remove_console_password(ctx.aws, user).await?;
            }
        }
        Ok(())
    }
}
