//! `iam.no-admin-keys`: no user with administrator rights holds an active access key.
//!
//! A user is an administrator when a policy grants it `Allow` on every action and every resource
//! (`*` or `*:*` on `*`, see [`iam_authorization::grants_full_admin`]): an inline policy, a customer
//! managed policy or an AWS managed one (`AdministratorAccess`), attached to the user directly or to
//! one of its groups. Only users the credential report lists with an active key are examined, so an
//! account without keys costs no further read; their grants come from one
//! `iam:GetAccountAuthorizationDetails`, AWS managed policies from `iam:GetPolicy`/`GetPolicyVersion`
//! (once per policy per run). Always `manual`: a leaked administrator key is a takeover of the
//! account, and the fix (roles, short-lived credentials) is a change of how the owner works.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::credential_report::{self, active_keys};
use crate::inventory::iam_authorization::{self, Confirm};
use crate::least_privilege::Access;

static META: ControlMeta = ControlMeta {
    id: "iam.no-admin-keys",
    source: file!(),
    title: "No user with administrator rights holds an access key",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::credential_report::READS, crate::inventory::iam_authorization::READS],
    apply: &[],
};

pub struct NoAdminKeys;

/// An administrator user and its active keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdminUser {
    /// The grants that make the user an administrator.
    pub administrator_through: Vec<String>,
    pub active_access_keys: Vec<String>,
}

#[async_trait]
impl Control for NoAdminKeys {
    /// Administrator users that the credential report lists with an active key, by name.
    type State = BTreeMap<String, AdminUser>;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.no_admin_keys
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "administrators-with-access-keys".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        let report = credential_report::read(ctx.aws).await?;
        let mut users = BTreeMap::new();
        let with_keys: Vec<_> = report.users.iter().filter(|row| !active_keys(row).is_empty()).collect();
        if with_keys.is_empty() {
            return Ok(users);
        }
        let details = iam_authorization::authorization(ctx.aws).await?;
        for row in with_keys {
            let via = iam_authorization::admin_grants(ctx.aws, &details, &row.user).await?;
            if via.is_empty() {
                continue;
            }
            let row = iam_authorization::confirm(ctx.aws, row, Confirm { keys: true, ..Confirm::default() }).await?;
            let keys = active_keys(&row).into_iter().map(|slot| row.keys[slot].name(slot)).collect();
            users.insert(row.user.clone(), AdminUser { administrator_through: via, active_access_keys: keys });
        }
        Ok(users)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, _facts: &Facts) -> Self::State {
        observed
            .iter()
            .map(|(user, admin)| (user.clone(), AdminUser { active_access_keys: Vec::new(), ..admin.clone() }))
            .collect()
    }

    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        iam_authorization::parts_or_empty("user/", observed, desired, &self.resource(ctx, target))
    }

    fn manual_steps(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let user = part.resource.strip_prefix("user/")?;
        Some(format!(
            "{user} has administrator rights and an active access key. Either the key goes: move what uses it to an IAM role \
             (instance profile, IAM Identity Center or `aws sts assume-role` with MFA), then \
             `aws iam update-access-key --user-name {user} --access-key-id KEY_ID --status Inactive`; or the rights go: \
             detach the administrator policy (`aws iam detach-user-policy`, `aws iam remove-user-from-group`) and attach \
             one limited to what the key is used for."
        ))
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Self::State, _desired: &Self::State) -> Result<(), ControlError> {
        Err(ControlError::Precondition("administrator keys are removed by their owner: see the finding's steps".into()))
    }
}
