//! One run of `plan`, `apply` or `verify`, from a baseline path to a [`Report`].
//!
//! This is the single entry point the binary and the integration tests share: load and validate the
//! baseline, resolve `--only` and `--region` (all before any AWS call), connect with the access mode
//! the verb allows (read-only for `plan` and `verify`), learn who the caller is, and run the engine.

use std::path::PathBuf;
use std::sync::Arc;

use crate::aws::{AccessMode, Aws, AwsError, CallLog, ConnectOptions, Mfa};
use crate::baseline::{Baseline, BaselineError, RegionName};
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
    #[error("cannot identify the caller (check credentials, --profile and --endpoint-url): {0}")]
    Caller(AwsError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Everything that can be checked without AWS: the baseline, `--region` and `--only`.
pub fn prepare(invocation: &Invocation) -> Result<Baseline, AppError> {
    let baseline = Baseline::load(&invocation.baseline)?;
    let regions = invocation.regions.iter().map(|r| RegionName::parse(r).map_err(AppError::Region)).collect::<Result<Vec<_>, _>>()?;
    selection::select(&controls::catalogue(), &invocation.only)?;
    Ok(baseline.with_regions(regions))
}

/// Runs `invocation`. `confirm` is asked before `apply` changes anything.
pub async fn execute(invocation: &Invocation, confirm: &mut dyn Confirm, progress: &dyn Progress) -> Result<Outcome, AppError> {
    let baseline = prepare(invocation)?;
    let catalogue = controls::catalogue();
    let selected = selection::select(&catalogue, &invocation.only)?;
    let mode = if invocation.verb == Verb::Apply { AccessMode::ReadWrite } else { AccessMode::ReadOnly };
    let aws = Aws::connect(&invocation.connect, mode, baseline.home_region().as_str()).await;
    let caller = aws.caller().await.map_err(AppError::Caller)?;
    tracing::info!(account = %caller.account_id, verb = invocation.verb.name(), "connected");
    let ctx = Context { aws: &aws, baseline: &baseline, caller: &caller, mfa: invocation.mfa.as_ref() };
    let report = engine::run(&ctx, invocation.verb, &selected, confirm, progress).await?;
    Ok(Outcome { report, calls: aws.calls() })
}
