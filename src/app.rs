//! One run of `plan`, `apply` or `verify`, from a baseline path to a [`Report`].
//!
//! This is the single entry point the binary and the integration tests share: load and validate the
//! baseline, resolve `--only` and `--region` (all before any AWS call), connect with the access mode
//! the verb allows (read-only for `plan` and `verify`), learn who the caller is and check that the
//! baseline's regions are in the caller's partition, learn which opt-in regions of the run the account
//! has not enabled (see [`engine::regions`]), and run the engine.

use std::path::PathBuf;
use std::sync::Arc;

use crate::aws::{AccessMode, Aws, AwsError, CallLog, ConnectOptions, Mfa};
use crate::baseline::{partition, Baseline, BaselineError, RegionName};
use crate::controls;
use crate::engine::{self, selection, Confirm, Context, EngineError, Progress};
use crate::report::{Report, Verb};

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
}

/// A finished run: the report and every AWS call it made.
pub struct Outcome {
    pub report: Report,
    pub calls: Arc<CallLog>,
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
    let not_enabled = engine::regions::not_enabled(&aws, home, &baseline.regions).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "could not read which opt-in regions are enabled; every region of the baseline is tried");
        Vec::new()
    });
    if not_enabled.contains(home) {
        return Err(AppError::HomeRegionNotEnabled(home.clone()));
    }
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: invocation.mfa.as_ref(), regions_not_enabled: &not_enabled };
    let report = engine::run(&ctx, invocation.verb, &selected, confirm, progress).await?;
    Ok(Outcome { report, calls: aws.calls() })
}
