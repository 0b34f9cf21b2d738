//! One run of `plan`, `apply` or `verify`, from a baseline path to a [`Report`].
//!
//! This is the single entry point the binary and the integration tests share: load and validate the
//! baseline, resolve `--only` and `--region` (all before any AWS call), connect with the access mode
//! the verb allows (read-only for `plan` and `verify`), learn who the caller is and check that the
//! baseline's regions are in the caller's partition, learn which opt-in regions of the run the account
//! has not enabled (see [`engine::regions`]), and run the engine: over the caller's own account, or,
//! when accounts are selected (`--org`, `--ou`, `--account`), over each of them (see [`crate::fleet`]).
//!
//! `apply` over several accounts is approved once: unless it was approved in advance (`--yes`), a
//! read-only plan of every account is shown and confirmed first, and then each account is applied only
//! if its plan is still the one that was approved (an account that changed in between is reported and
//! left alone).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::aws::{AccessMode, Aws, AwsError, CallLog, ConnectOptions, Mfa};
use crate::baseline::{partition, Baseline, BaselineError, RegionName};
use crate::controls;
use crate::engine::{self, selection, Confirm, Context, EngineError, Progress, Silent};
use crate::fleet::{self, AccountSelection, FleetRun, SelectionError};
use crate::report::{Change, Report, Verb};
use crate::security_hub::{self, RegionImport};

/// What to run.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub verb: Verb,
    pub baseline: PathBuf,
    /// `--only` names (ids or groups); empty = every control.
    pub only: Vec<String>,
    /// `--region` overrides; empty = the baseline's regions.
    pub regions: Vec<String>,
    pub connect: ConnectOptions,
    /// `apply --mfa`: for root-only changes that need an MFA code.
    pub mfa: Option<Mfa>,
    /// The accounts to cover; none selected = the caller's own account.
    pub accounts: AccountSelection,
    /// `--max-accounts-in-flight`; `None` = [`fleet::DEFAULT_ACCOUNTS_IN_FLIGHT`].
    pub max_accounts_in_flight: Option<usize>,
    /// `apply --yes`: the plan is approved in advance.
    pub approved: bool,
    /// `verify --security-hub`: send the findings to Security Hub in each account and region they
    /// belong to (see [`crate::security_hub`]).
    pub security_hub: bool,
}

/// A finished run: the report and every AWS call it made.
pub struct Outcome {
    pub report: Report,
    /// The calls made with the caller's own credentials (in a multi-account run: the organization
    /// reads and the role assumptions, plus the caller's account's own calls when it is selected).
    pub calls: Arc<CallLog>,
    /// The calls made in each reconciled account, by account id.
    pub calls_by_account: BTreeMap<String, Arc<CallLog>>,
    /// What `verify --security-hub` sent, per account and region; empty otherwise.
    pub security_hub: Vec<RegionImport>,
}

/// Why a run produced no report (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Selection(#[from] selection::UnknownControl),
    #[error("--region {0}")]
    Region(String),
    #[error(
        "cannot identify the caller (check credentials, --profile and --endpoint-url; credentials are valid in one partition only, and the home region {home_region} is in the {partition} partition{opt_in}): {error}"
    )]
    Caller { error: AwsError, home_region: RegionName, partition: &'static partition::Partition, opt_in: &'static str },
    /// The credentials belong to another partition than the baseline's regions.
    #[error("{0}")]
    Partition(String),
    /// The home region, where account-wide calls go, is an opt-in region the account has not enabled.
    #[error("{}; {}", engine::regions::not_enabled_message(.0), engine::regions::enable_steps(.0))]
    HomeRegionNotEnabled(RegionName),
    #[error(transparent)]
    Accounts(#[from] SelectionError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Everything that can be checked without AWS: the baseline, `--region` and `--only`.
pub fn prepare(invocation: &Invocation) -> Result<Baseline, AppError> {
    let baseline = Baseline::load(&invocation.baseline)?;
    let regions = invocation.regions.iter().map(|r| RegionName::parse(r).map_err(AppError::Region)).collect::<Result<Vec<_>, _>>()?;
    selection::select(&controls::catalogue(), &invocation.only)?;
    baseline.with_regions(regions).map_err(AppError::Region)
}

/// Runs `invocation`. `confirm` is asked before `apply` changes anything.
pub async fn execute(invocation: &Invocation, confirm: &mut dyn Confirm, progress: &dyn Progress) -> Result<Outcome, AppError> {
    let baseline = prepare(invocation)?;
    let catalogue = controls::catalogue();
    let selected = selection::select(&catalogue, &invocation.only)?;
    let mode = if invocation.verb == Verb::Apply { AccessMode::ReadWrite } else { AccessMode::ReadOnly };
    let aws = Aws::connect(&invocation.connect, mode, baseline.home_region().as_str()).await;
    let home = baseline.home_region();
    let caller = aws.caller().await.map_err(|error| AppError::Caller {
        error,
        home_region: home.clone(),
        partition: baseline.partition(),
        opt_in: if home.is_opt_in() { ", an opt-in region the account must have enabled" } else { "" },
    })?;
    partition::check_caller(&caller.partition, baseline.partition()).map_err(AppError::Partition)?;
    tracing::info!(account = %caller.account_id, verb = invocation.verb.name(), "connected");
    if invocation.accounts.is_caller_only() {
        let not_enabled = engine::regions::not_enabled_outside_home(&aws, home, &baseline.regions).await.map_err(AppError::HomeRegionNotEnabled)?;
        let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: invocation.mfa.as_ref(), regions_not_enabled: &not_enabled, layout: None };
        let report = engine::run(&ctx, invocation.verb, &selected, confirm, progress).await?;
        let security_hub = if exports_findings(invocation) { Box::pin(security_hub::export(&aws, &report, &caller.account_id)).await } else { Vec::new() };
        let calls = aws.calls();
        return Ok(Outcome { report, calls_by_account: BTreeMap::from([(caller.account_id.clone(), calls.clone())]), calls, security_hub });
    }

    let accounts = fleet::accounts::resolve(&aws, &invocation.accounts).await?;
    tracing::info!(accounts = accounts.len(), "accounts selected");
    let run = |verb| FleetRun {
        aws: &aws,
        caller: &caller,
        baseline: &baseline,
        verb,
        controls: &selected,
        mfa: invocation.mfa.as_ref(),
        max_in_flight: invocation.max_accounts_in_flight.unwrap_or(fleet::DEFAULT_ACCOUNTS_IN_FLIGHT),
        security_hub: exports_findings(invocation),
    };
    let outcome = if invocation.verb != Verb::Apply || invocation.approved {
        run(invocation.verb).run(accounts, &|_: &Report| true, progress).await
    } else {
        let plan = run(Verb::Plan).run(accounts.clone(), &|_: &Report| true, progress).await;
        if plan.report.changes.as_ref().is_some_and(|c| !c.is_empty()) && !confirm.confirm(&plan.report) {
            return Err(EngineError::Cancelled.into());
        }
        let approved = changes_by_account(&plan.report);
        // Every change an account's pass would make was approved (a pass may cover some controls only:
        // the log-archive account's audit bucket runs before the management account, see `fleet`).
        let still_approved = |account_plan: &Report| {
            let approved = approved.get(&account_plan.account);
            account_plan.changes.iter().flatten().all(|change| approved.is_some_and(|changes| changes.contains(change)))
        };
        run(Verb::Apply).run(accounts, &still_approved, &Silent).await
    };
    Ok(Outcome { report: outcome.report, calls: aws.calls(), calls_by_account: outcome.calls, security_hub: outcome.security_hub })
}

/// Only `verify` exports its findings: `plan` and `apply` reports describe changes, not the account.
fn exports_findings(invocation: &Invocation) -> bool {
    invocation.security_hub && invocation.verb == Verb::Verify
}

/// A plan's changes, by account.
fn changes_by_account(plan: &Report) -> BTreeMap<String, Vec<Change>> {
    let mut by_account: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in plan.changes.iter().flatten() {
        by_account.entry(change.account.clone()).or_default().push(change.clone());
    }
    by_account
}
