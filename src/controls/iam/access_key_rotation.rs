//! `iam.access-key-rotation`: no active access key older than N days (baseline `max_age_days`,
//! default 90).
//!
//! Observed from the run's credential report ([`credential_report::keys_older_than`]: a key's age is
//! its creation, which AWS reports as "last rotated"); users it flags are confirmed live. Always
//! `manual`: rotating a key means handing a new secret to whatever uses the old one, which only its
//! owner can do. mamori never creates, deactivates or deletes a key for this control.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::credential_report::{self, format_date, keys_older_than, CredentialRow, Epoch};
use crate::inventory::iam_authorization::{self, Confirm};
use crate::least_privilege::Access;

static META: ControlMeta = ControlMeta {
    id: "iam.access-key-rotation",
    source: file!(),
    title: "No active access key older than N days",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &["1.13"],
    fsbp: &["IAM.3"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::credential_report::READS, crate::inventory::iam_authorization::READS],
    apply: &[],
};

pub struct AccessKeyRotation;

/// A user's active keys that are overdue for rotation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OverdueKeys {
    /// `KEY_ID (created YYYY-MM-DD)`.
    pub active_keys_older_than_max_age: Vec<String>,
}

fn overdue(row: &CredentialRow, now: Epoch, days: i64) -> OverdueKeys {
    let describe = |slot: usize| {
        let key = &row.keys[slot];
        format!("{} (created {})", key.name(slot), key.last_rotated.map(format_date).unwrap_or_default())
    };
    OverdueKeys { active_keys_older_than_max_age: keys_older_than(row, now, days).into_iter().map(describe).collect() }
}

fn max_age_days(baseline: &Baseline) -> i64 {
    baseline.access_key_rotation.as_ref().map_or(90, |r| r.max_age_days)
}

#[async_trait]
impl Control for AccessKeyRotation {
    /// Users with an active key, by name.
    type State = BTreeMap<String, OverdueKeys>;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.access_key_rotation.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "users-with-access-keys".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        let (report, now, days) = (credential_report::read(ctx.aws).await?, credential_report::now(), max_age_days(ctx.baseline));
        let mut users = BTreeMap::new();
        for row in report.users.iter().filter(|row| row.keys.iter().any(|k| k.active)) {
            let mut found = overdue(row, now, days);
            if found != OverdueKeys::default() {
                found = overdue(&iam_authorization::confirm(ctx.aws, row, Confirm { keys: true, ..Confirm::default() }).await?, now, days);
            }
            users.insert(row.user.clone(), found);
        }
        Ok(users)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, _facts: &Facts) -> Self::State {
        observed.keys().map(|user| (user.clone(), OverdueKeys::default())).collect()
    }

    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        iam_authorization::parts_or_empty("user/", observed, desired, &self.resource(ctx, target))
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let user = part.resource.strip_prefix("user/")?;
        let days = max_age_days(ctx.baseline);
        Some(format!(
            "Rotate each access key of {user} older than {days} days: `aws iam create-access-key --user-name {user}` \
             (a user holds at most two keys), give the new key to whatever uses the old one, check the old key's last \
             use (`aws iam get-access-key-last-used --access-key-id OLD_KEY_ID`) until it stops, then \
             `aws iam update-access-key --user-name {user} --access-key-id OLD_KEY_ID --status Inactive`, and delete it \
             once nothing broke. Better: replace the key with an IAM role (instance profile, IAM Identity Center)."
        ))
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Self::State, _desired: &Self::State) -> Result<(), ControlError> {
        Err(ControlError::Precondition("key rotation is manual: the key's owner must hand the new secret to its users".into()))
    }
}
