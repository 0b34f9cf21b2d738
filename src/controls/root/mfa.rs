//! `root.mfa`: the root user has MFA, a hardware device where the baseline asks for one.
//!
//! Observed live from `iam:GetAccountSummary` and `iam:ListVirtualMFADevices` (see
//! [`crate::inventory::root_user`]). Always `manual`: AWS offers no API to enrol the root user's MFA, only the
//! console does.
//!
//! # A root user the organization manages centrally
//! With IAM centralized root access, an organization removes the root credentials of its member
//! accounts: no password, no access keys, so nobody can sign in as that root user (the management
//! account performs root-only tasks through `sts:AssumeRoot`), and MFA has nothing to protect. A member
//! account cannot see whether its organization enabled the feature (`iam:ListOrganizationsFeatures`
//! answers only the management account), so the baseline states it (`centrally_managed: true`) and
//! mamori checks what the account can show: it is a member of an organization
//! (`organizations:DescribeOrganization`) and its root user has no password and no access keys. Then the
//! finding passes and says why; otherwise the declaration changes nothing. Those two reads are made
//! only when the declaration is there and the root user has no acceptable MFA.

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::{Baseline, RootMfa as Settings};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::organization::{self, OrgPosition};
use crate::inventory::root_user::{self, RootMfa};
use crate::least_privilege::Access;

static META: ControlMeta = ControlMeta {
    id: "root.mfa",
    source: file!(),
    title: "The root user has MFA (hardware where the baseline asks); a root managed centrally by Organizations passes",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &["1.4", "1.5"],
    fsbp: &["IAM.9", "IAM.6"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::root_user::READS, crate::inventory::organization::READS],
    apply: &[],
};

pub struct RootMfaControl;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RootMfaState {
    pub mfa: bool,
    /// MFA is a hardware device (FIDO security key or hardware TOTP token), not a virtual one.
    pub hardware: bool,
    /// The organization that manages this member account's root credentials centrally, when the
    /// baseline says so and the account shows it (see the module documentation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_centrally_by: Option<String>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a Settings {
    ctx.baseline.root_mfa.as_ref().expect("the engine only runs enabled controls")
}

/// The organization's id when the baseline declares central management and the account shows it: a
/// member account whose root user has no password and no access keys.
async fn central_management(ctx: &Context<'_>) -> Result<Option<String>, AwsError> {
    let summary = root_user::summary(ctx.aws).await?;
    if summary.password_present != Some(false) || summary.access_keys_present {
        return Ok(None);
    }
    let organization = organization::read(ctx).await?;
    Ok(organization.id.filter(|_| organization.position == OrgPosition::Member))
}

#[async_trait]
impl Control for RootMfaControl {
    type State = RootMfaState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.root_mfa.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "root-user".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<RootMfaState, AwsError> {
        let mfa = root_user::mfa(ctx.aws).await?;
        let settings = settings(ctx);
        let acceptable = match mfa {
            RootMfa::None => false,
            RootMfa::Virtual => !settings.require_hardware,
            RootMfa::Hardware => true,
        };
        let managed_centrally_by = match settings.centrally_managed && !acceptable {
            true => central_management(ctx).await?,
            false => None,
        };
        Ok(RootMfaState { mfa: mfa != RootMfa::None, hardware: mfa == RootMfa::Hardware, managed_centrally_by })
    }

    fn desired(&self, ctx: &Context<'_>, _target: &Target, observed: &RootMfaState, _facts: &Facts) -> RootMfaState {
        if observed.managed_centrally_by.is_some() {
            return observed.clone();
        }
        RootMfaState { mfa: true, hardware: observed.hardware || settings(ctx).require_hardware, managed_centrally_by: None }
    }

    fn pass_reason(&self, _ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let organization = part.observed.get("managed_centrally_by")?.as_str()?;
        Some(format!(
            "the root user has no password and no access keys, and the baseline says organization {organization} manages \
             root credentials centrally (root.mfa.centrally_managed): root tasks then go through the management account \
             (sts:AssumeRoot). Confirm it there: `aws iam list-organizations-features` lists RootCredentialsManagement"
        ))
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        let account = &ctx.caller.account_id;
        let settings = settings(ctx);
        let device = match settings.require_hardware {
            true => "a hardware device: a FIDO security key or a hardware TOTP token (the baseline requires one; \
                     remove any virtual device assigned to root afterwards)",
            false => "a FIDO security key or hardware TOTP token (kept in a safe), or an authenticator app",
        };
        let mut steps = format!(
            "Sign in to the console as the root user of {account} (https://console.aws.amazon.com/, \"Root user\"), open \
             Security credentials → Multi-factor authentication (MFA) → Assign MFA device, and enrol {device}. AWS \
             offers no API for this step."
        );
        if settings.centrally_managed {
            steps += &format!(
                " The baseline says the organization manages this account's root credentials: then, instead, remove \
                 them from the management account: `aws sts assume-root --target-principal {account} --task-policy-arn \
                 arn=arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials`, and with those credentials \
                 `aws iam delete-login-profile` (and `aws iam delete-access-key --access-key-id KEY_ID` for each root key)."
            );
        }
        Some(steps)
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &RootMfaState, _desired: &RootMfaState) -> Result<(), ControlError> {
        Err(ControlError::Precondition("only the root user can enrol its MFA device, in the console".into()))
    }
}
