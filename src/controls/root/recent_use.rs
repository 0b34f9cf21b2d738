//! `root.recent-use`: the root user has not signed in or used an access key within the last N days
//! (baseline `within_days`, default 1, as Prowler checks it).
//!
//! Observed from the `<root_account>` row of the run's credential report
//! ([`credential_report::root_last_use_within`]): its console sign-in and access-key last-use dates. The
//! report can be four hours old, which only delays the finding; a report without a root row is an
//! `error`, since AWS always writes one. Always `manual`: a root use needs a person to say whether it
//! was planned. The finding clears by itself once the last use is older than the window.

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::credential_report::{self, format_date, root_last_use_within, RootUseKind, ROOT_USER};
use crate::least_privilege::Access;

static META: ControlMeta = ControlMeta {
    id: "root.recent-use",
    source: file!(),
    title: "The root user was not used (console sign-in or access key) within the last N days",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &["1.6"],
    fsbp: &[],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::credential_report::READS],
    apply: &[],
};

pub struct RootRecentUse;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RootUseState {
    /// `console sign-in on 2026-11-25` or `access key used on ...`: the latest use within the window.
    pub used_within_window: Option<String>,
}

fn within_days(baseline: &Baseline) -> i64 {
    baseline.root_recent_use.as_ref().map_or(1, |r| r.within_days)
}

#[async_trait]
impl Control for RootRecentUse {
    type State = RootUseState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.root_recent_use.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "root-user".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<RootUseState, AwsError> {
        let report = credential_report::read(ctx.aws).await?;
        let root = report.root.as_ref().ok_or_else(|| AwsError::malformed("iam:GetCredentialReport", &format!("no {ROOT_USER} row")))?;
        let used = root_last_use_within(root, credential_report::now(), within_days(ctx.baseline)).map(|used| {
            let what = match used.what {
                RootUseKind::ConsoleSignIn => "console sign-in",
                RootUseKind::AccessKey => "access key used",
            };
            format!("{what} on {}", format_date(used.at))
        });
        Ok(RootUseState { used_within_window: used })
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, _observed: &RootUseState, _facts: &Facts) -> RootUseState {
        RootUseState { used_within_window: None }
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, _part: &Part) -> Option<String> {
        let days = within_days(ctx.baseline);
        Some(format!(
            "Find out who used the root user and why: `aws cloudtrail lookup-events --lookup-attributes \
             AttributeKey=Username,AttributeValue=root --max-results 20` (and the logs.alarms root-use alarm). A planned \
             root-only task (MFA enrolment, MFA Delete, closing the account) needs nothing more; this finding clears \
             {days} day(s) after the last use. Otherwise treat the root user as compromised: reset its password, \
             check its MFA devices, delete any root access key and review what the sessions did."
        ))
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &RootUseState, _desired: &RootUseState) -> Result<(), ControlError> {
        Err(ControlError::Precondition("a use of the root user needs a person to look at it".into()))
    }
}
