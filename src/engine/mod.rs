//! The reconcile engine: one pipeline behind `plan`, `apply` and `verify`.
//!
//! `plan` = observe + diff; `verify` = observe + evaluate; `apply` = plan → (confirm) → apply in
//! dependency order → observe again what was changed. There is no state file: the live account is the
//! state. Observation needs no other control's result ([`Control::observe`] takes no facts), so every
//! (control, target) unit is observed in one concurrent wave, and then every unit publishes its facts
//! (the baseline key's ARN, say) for the `desired` of its dependants: a run is as fast as its slowest
//! chain of dependent reads, not the sum of the layers. Controls are grouped in layers by dependency
//! depth only for `apply`, which writes layer by layer. A control that fails becomes an `error`
//! finding and the others go on. A regional unit in an opt-in region the account has not enabled is
//! not run at all: its finding is `skipped`, with the steps to enable the region (see [`regions`]).
//!
//! A converged `apply` costs what a `verify` costs: when the plan has no change nothing is re-read,
//! and after changes only the changed units are observed again. AWS may answer a read right after a
//! write with what was there before (S3 bucket configuration is eventually consistent): a unit whose
//! read-back still shows a change to make is read again after 1, 2, 4 and 8 s
//! ([`crate::aws::propagation::READ_BACK_BUDGET`]) before its drift is reported, so a stale read-back
//! is not reported as drift. Once the run is interrupted (the first Ctrl-C of `apply`), no further
//! unit's apply starts, the writes in flight finish (the client layer refuses any write not yet
//! sent), the units applied are read back once without waiting out propagation, and the units not
//! applied are reported as `error` findings that say so. The engine never decides what a call is
//! allowed to do: that is the client layer's read-only guard.

pub mod control;
pub mod diff;
pub mod exceptions;
pub mod regions;
pub mod selection;

use std::time::Instant;

use futures::stream::{self, StreamExt};
use tracing::Instrument;

pub use control::{Context, Control, ControlError, ControlMeta, Facts, Fix, Observed, Part, Reconciler, Scope, Target};

use crate::aws::{propagation, AwsError};
use crate::least_privilege;
use crate::report::{Change, Finding, Report, Status, Summary, Verb};

/// How many units are observed or applied at once: enough for every unit of the standard baseline in
/// four regions to be in flight together (the units call different APIs, and AWS limits each API on
/// its own; the SDK's retry backs a throttled call off, see [`crate::aws::retry`]).
const CONCURRENCY: usize = 64;

/// Why a drifted unit was not applied once the run was interrupted (see [`crate::aws::interrupt`]).
pub const NOT_STARTED_AFTER_INTERRUPT: &str = "not applied: the run was interrupted (Ctrl-C) before this change started";

/// Called with the plan before `apply` changes anything; `false` cancels the run.
pub trait Confirm {
    fn confirm(&mut self, plan: &Report) -> bool;
}

impl<F: FnMut(&Report) -> bool> Confirm for F {
    fn confirm(&mut self, plan: &Report) -> bool {
        self(plan)
    }
}

/// Receives progress as units complete (a progress bar, or nothing).
pub trait Progress: Sync {
    fn start(&self, _phase: &str, _units: usize) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {}

/// The run could not produce a report at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("apply cancelled: nothing was changed")]
    Cancelled,
}

/// One control on one target, and what is known about it so far.
struct Unit<'c> {
    control: &'c dyn Reconciler,
    target: Target,
    layer: usize,
    observed: Option<Result<Observed, String>>,
    /// The outcome of `apply`: the changes it made, or why it failed.
    applied: Option<Result<Vec<Change>, String>>,
    /// Why `apply` left the unit alone although it drifts: its change cannot be split from a
    /// resource an exception accepts.
    held_back: Option<String>,
}

/// Runs `verb` over `controls` (already selected and ordered, see [`selection`]).
pub async fn run(
    ctx: &Context<'_>,
    verb: Verb,
    controls: &[&dyn Reconciler],
    confirm: &mut dyn Confirm,
    progress: &dyn Progress,
) -> Result<Report, EngineError> {
    let started = Instant::now();
    let layers = selection::layers(controls);
    let mut skipped = Vec::new();
    let mut units = Vec::new();
    for (control, layer) in controls.iter().zip(&layers) {
        let elsewhere = ctx.layout.and_then(|layout| layout.skips(control.placement(), &ctx.caller.account_id));
        for target in targets(ctx, control.meta().scope) {
            if !control.enabled(ctx.baseline) {
                skipped.push(skipped_finding(ctx, *control, &target, "disabled or not configured in the baseline".into(), None));
            } else if let Some(reason) = &elsewhere {
                skipped.push(skipped_finding(ctx, *control, &target, reason.to_string(), None));
            } else if ctx.regions_not_enabled.contains(&target.region) {
                let (message, steps) = (regions::not_enabled_message(&target.region), regions::enable_steps(&target.region));
                skipped.push(skipped_finding(ctx, *control, &target, message, Some(steps)));
            } else {
                units.push(Unit { control: *control, target, layer: *layer, observed: None, applied: None, held_back: None });
            }
        }
    }
    let depth = layers.iter().copied().max().map_or(0, |d| d + 1);

    progress.start("observe", units.len());
    let mut facts = Facts::default();
    observe_all(ctx, &mut units, progress).await;
    for layer in 0..depth {
        publish(&units, layer, &mut facts);
    }
    progress.finish();

    if verb == Verb::Apply {
        let plan = report(ctx, Verb::Plan, &units, &facts, &skipped, started);
        if plan.changes.as_ref().is_some_and(|c| !c.is_empty()) {
            if !confirm.confirm(&plan) {
                return Err(EngineError::Cancelled);
            }
            progress.start("apply", plan.changes.as_ref().map_or(0, Vec::len));
            for layer in 0..depth {
                apply_layer(ctx, &mut units, layer, &mut facts, progress).await;
            }
            progress.finish();
        }
    }
    Ok(report(ctx, verb, &units, &facts, &skipped, started))
}

/// The targets of a control: the home region once, or every baseline region.
fn targets(ctx: &Context<'_>, scope: Scope) -> Vec<Target> {
    match scope {
        Scope::Account => vec![Target { region: ctx.baseline.home_region().clone(), account_wide: true }],
        Scope::Regional => ctx.baseline.regions.iter().map(|region| Target { region: region.clone(), account_wide: false }).collect(),
    }
}

/// Observes every unit concurrently.
async fn observe_all(ctx: &Context<'_>, units: &mut [Unit<'_>], progress: &dyn Progress) {
    stream::iter(units.iter_mut())
        .for_each_concurrent(CONCURRENCY, |unit| async move {
            unit.observed = Some(observe(ctx, unit).await);
            progress.advance();
        })
        .await;
}

async fn observe(ctx: &Context<'_>, unit: &Unit<'_>) -> Result<Observed, String> {
    let span = tracing::info_span!("observe", control = unit.control.meta().id, region = unit.target.label());
    unit.control.observe(ctx, &unit.target).instrument(span).await.map_err(|e| explained(ctx, &e))
}

/// An AWS error as a finding says it: a denial names what to grant ([`least_privilege::denial`]).
fn explained(ctx: &Context<'_>, error: &AwsError) -> String {
    least_privilege::denial::explained(error, ctx.aws.mode(), &ctx.baseline.source)
}

fn publish(units: &[Unit<'_>], layer: usize, facts: &mut Facts) {
    for unit in units.iter().filter(|u| u.layer == layer) {
        if let Some(Ok(observed)) = &unit.observed {
            unit.control.publish(&unit.target, observed, facts);
        }
    }
}

/// Applies every drifted unit of `layer` (assessed with the facts as they are now), then observes the
/// changed units again and publishes their facts.
///
/// A unit whose dependency could not be observed or applied in this run is not applied: what it
/// would write may rest on what the dependency should have made (a log bucket, a key). Its drifted
/// findings say which dependency held it back.
async fn apply_layer(ctx: &Context<'_>, units: &mut [Unit<'_>], layer: usize, facts: &mut Facts, progress: &dyn Progress) {
    let current = facts.clone();
    let failed: Vec<&'static str> = units
        .iter()
        .filter(|u| u.layer < layer && (matches!(u.observed, Some(Err(_))) || matches!(u.applied, Some(Err(_)))))
        .map(|u| u.control.meta().id)
        .collect();
    let to_apply: Vec<(&mut Unit, Vec<Change>)> = units
        .iter_mut()
        .filter(|u| u.layer == layer)
        .filter_map(|unit| {
            let observed = unit.observed.as_ref()?.as_ref().ok()?;
            let changes = unit.control.assess(ctx, &unit.target, observed, &current).changes;
            if changes.is_empty() {
                return None;
            }
            if ctx.aws.interrupted() {
                unit.applied = Some(Err(NOT_STARTED_AFTER_INTERRUPT.into()));
                return None;
            }
            if let Some(dependency) = unit.control.meta().depends_on.iter().find(|id| failed.contains(id)) {
                unit.applied = Some(Err(format!("not applied: {dependency}, which it depends on, failed in this run")));
                return None;
            }
            Some((unit, changes))
        })
        .collect();
    let current = &current;
    stream::iter(to_apply)
        .for_each_concurrent(CONCURRENCY, |(unit, changes)| async move {
            let span = tracing::info_span!("apply", control = unit.control.meta().id, region = unit.target.label());
            if ctx.aws.interrupted() {
                unit.applied = Some(Err(NOT_STARTED_AFTER_INTERRUPT.into()));
                progress.advance();
                return;
            }
            let observed = unit.observed.clone().expect("filtered on observed").expect("filtered on ok");
            let outcome = unit.control.apply(ctx, &unit.target, &observed, current).instrument(span).await;
            tracing::info!(control = unit.control.meta().id, region = unit.target.label(), ok = outcome.is_ok(), "applied");
            if let Err(held @ ControlError::Inseparable(_)) = &outcome {
                unit.held_back = Some(held.to_string());
                progress.advance();
                return;
            }
            unit.applied = Some(outcome.map(|()| changes).map_err(|e| match e {
                ControlError::Aws(error) => explained(ctx, &error),
                other => other.to_string(),
            }));
            unit.observed = Some(read_back(ctx, unit, current).await);
            progress.advance();
        })
        .await;
    publish(units, layer, facts);
}

/// Observes `unit` again after its apply. When the apply succeeded and the observation still shows a
/// change to make, the read may be stale (AWS propagates some writes late): the run's memorised reads
/// are dropped and the unit observed again after each pause of [`propagation::READ_BACK_BUDGET`],
/// until nothing is left to change. Drift that outlasts the budget is reported as it is read.
async fn read_back(ctx: &Context<'_>, unit: &Unit<'_>, facts: &Facts) -> Result<Observed, String> {
    let mut observed = observe(ctx, unit).await;
    if !matches!(unit.applied, Some(Ok(_))) || ctx.aws.interrupted() {
        return observed;
    }
    for pause in propagation::pauses(propagation::READ_BACK_BUDGET) {
        let drifted = match &observed {
            Ok(state) => !unit.control.assess(ctx, &unit.target, state, facts).changes.is_empty(),
            Err(_) => false,
        };
        if !drifted {
            break;
        }
        tracing::info!(control = unit.control.meta().id, region = unit.target.label(), pause_s = pause.as_secs(), "read-back after apply still differs: reading again");
        tokio::time::sleep(pause).await;
        ctx.aws.memo().forget_all();
        observed = observe(ctx, unit).await;
    }
    observed
}

/// The report of the units as they stand: findings from the latest observations, changes planned
/// (plan) or made (apply).
fn report(ctx: &Context<'_>, verb: Verb, units: &[Unit<'_>], facts: &Facts, skipped: &[Finding], started: Instant) -> Report {
    let mut findings = Vec::new();
    let mut changes = Vec::new();
    for unit in units {
        let assessment = match unit.observed.as_ref().expect("every unit was observed") {
            Ok(observed) => unit.control.assess(ctx, &unit.target, observed, facts),
            Err(message) => {
                findings.push(error_finding(ctx, unit, format!("could not be evaluated: {message}")));
                continue;
            }
        };
        let mut unit_findings = assessment.findings;
        match (&unit.applied, verb) {
            (Some(Err(message)), _) => {
                for finding in unit_findings.iter_mut().filter(|f| !matches!(f.status, Status::Pass | Status::Excepted)) {
                    finding.status = Status::Error;
                    finding.message = format!("apply failed: {message}");
                }
            }
            (Some(Ok(made)), Verb::Apply) => changes.extend(made.iter().cloned()),
            (_, Verb::Plan) => changes.extend(assessment.changes),
            _ => {}
        }
        if let Some(reason) = &unit.held_back {
            for finding in unit_findings.iter_mut().filter(|f| f.status == Status::Fail) {
                finding.message = format!("{}\nnot applied: {reason}", finding.message);
            }
        }
        findings.extend(unit_findings);
    }
    findings.extend(skipped.iter().cloned());
    findings.sort_by(|a, b| (&a.control, &a.region, &a.resource).cmp(&(&b.control, &b.region, &b.resource)));
    let mut regions: Vec<String> = ctx.baseline.regions.iter().map(|r| r.to_string()).collect();
    regions.dedup();
    Report {
        mamori_version: env!("CARGO_PKG_VERSION").to_string(),
        verb,
        baseline: ctx.baseline.name.clone(),
        account: ctx.caller.account_id.clone(),
        regions,
        duration_ms: started.elapsed().as_millis() as u64,
        generated_at: crate::report::now(),
        summary: Summary::of(&findings),
        warnings: exceptions::warnings(&findings, &ctx.baseline.exceptions),
        findings,
        changes: (verb != Verb::Verify).then_some(changes),
        accounts: None,
    }
}

fn error_finding(ctx: &Context<'_>, unit: &Unit<'_>, message: String) -> Finding {
    let meta = unit.control.meta();
    Finding {
        account: ctx.caller.account_id.clone(),
        control: meta.id.into(),
        region: unit.target.label().into(),
        resource: unit.control.resource(ctx, &unit.target),
        status: Status::Error,
        message,
        expected: None,
        actual: None,
        remediation: None,
        references: crate::controls::benchmarks::cited(meta, ctx.baseline),
        exception: None,
    }
}

fn skipped_finding(ctx: &Context<'_>, control: &dyn Reconciler, target: &Target, message: String, remediation: Option<String>) -> Finding {
    let meta = control.meta();
    Finding {
        account: ctx.caller.account_id.clone(),
        control: meta.id.into(),
        region: target.label().into(),
        resource: control.resource(ctx, target),
        status: Status::Skipped,
        message,
        expected: None,
        actual: None,
        remediation,
        references: crate::controls::benchmarks::cited(meta, ctx.baseline),
        exception: None,
    }
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
