//! `root.access-keys`: the root user has no access keys.
//!
//! Observed live from `iam:GetAccountSummary` (`AccountAccessKeysPresent`, see [`crate::inventory::root_user`]),
//! so the finding clears as soon as the root user deletes its last key. Always `manual`: only the root
//! user (or, for a member account under centralized root access, the management account through
//! `sts:AssumeRoot`) can delete root keys, and mamori never deletes a key.

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::root_user;
use crate::least_privilege::Access;

static META: ControlMeta = ControlMeta {
    id: "root.access-keys",
    source: file!(),
    title: "The root user has no access keys",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &["1.3"],
    fsbp: &["IAM.4"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::root_user::READS],
    apply: &[],
};

pub struct RootAccessKeys;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RootKeys {
    pub access_keys: bool,
}

#[async_trait]
impl Control for RootAccessKeys {
    type State = RootKeys;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.root_access_keys
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "root-user".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<RootKeys, AwsError> {
        Ok(RootKeys { access_keys: root_user::summary(ctx.aws).await?.access_keys_present })
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, _observed: &RootKeys, _facts: &Facts) -> RootKeys {
        RootKeys { access_keys: false }
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        let account = &ctx.caller.account_id;
        Some(format!(
            "Sign in to the console as the root user of {account} (https://console.aws.amazon.com/, \"Root user\"), open \
             Security credentials → Access keys, check each key's last use (give whatever used it an IAM role instead), \
             then deactivate and delete it. In a member account whose root credentials the organization manages, the \
             management account can do it instead: `aws sts assume-root --target-principal {account} --task-policy-arn \
             arn=arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials`, then with those credentials \
             `aws iam list-access-keys` and `aws iam delete-access-key --access-key-id KEY_ID`."
        ))
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &RootKeys, _desired: &RootKeys) -> Result<(), ControlError> {
        Err(ControlError::Precondition("only the root user can delete its access keys".into()))
    }
}
