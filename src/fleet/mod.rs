//! Runs over several accounts of an AWS Organization: `--org`, `--ou`, `--account`.
//!
//! The account is one more dimension of the same engine, not a second engine: the selection is
//! resolved first ([`accounts`]), the organization layout is read once from the management account
//! ([`layout`]), and then each account is reconciled by [`crate::engine::run`] exactly as a
//! single-account run would be, with its own connection ([`assume`]: the baseline's role, assumed with
//! the caller's credentials; the caller's own account uses the caller's connection), its own read memo
//! and call log, all dropped when the account is done, so memory holds only the accounts in flight and
//! the findings. Accounts run concurrently, at most `--max-accounts-in-flight` at once; AWS rate limits
//! are per account, and each account's clients retry on their own, so one account's throttling never
//! slows another. An account that cannot be entered becomes one `error` finding naming STS's error
//! code; the others go on.
//!
//! # Order across accounts
//! `apply` in the organization layout (`organization.log_archive_account`) runs in three waves: the
//! log-archive account's audit bucket (the controls placed there and what they depend on: the bucket
//! must exist before a trail delivers to it), then the management account (the organization trail),
//! then every other account, the log-archive account included, with every control (the audit bucket
//! is then converged, so it is only read again; the account's two passes are reported as one). The
//! layout's organization trail is read again before each wave after the first, so the members and
//! the log-archive account are judged against the trail the management account just made. `plan` and
//! `verify` run every account in one wave. Without the organization layout, every account runs in one
//! wave.

pub mod accounts;
pub mod assume;
pub mod layout;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aws_credential_types::provider::SharedCredentialsProvider;
use futures::stream::{self, StreamExt};

pub use accounts::{AccountSelection, AccountState, OrgAccount, SelectionError, Shard};
pub use layout::{Layout, OrganizationTrail, Placement};

use crate::aws::{Aws, AwsError, CallLog, Caller, Mfa};
use crate::baseline::Baseline;
use crate::engine::{self, Context, Progress, Reconciler, Silent};
use crate::security_hub::{self, RegionImport};
use crate::report::{accounts::combine, AccountOutcome, AccountSummary, Finding, References, Report, Status, Summary, Verb};

/// `--max-accounts-in-flight` when none is given (see the README's fleet benchmark).
pub const DEFAULT_ACCOUNTS_IN_FLIGHT: usize = 8;

/// The control id of the finding an account that could not be entered gets.
pub const ENTER_ACCOUNT: &str = "organization.assume-role";

/// The control id of the finding an account gets when its plan changed after the run's plan was
/// approved (nothing is applied there).
pub const PLAN_APPROVAL: &str = "organization.plan-approval";

/// How a multi-account run goes.
pub struct FleetRun<'a> {
    /// The caller's connection and identity (the management account, or a delegated administrator).
    pub aws: &'a Aws,
    pub caller: &'a Caller,
    pub baseline: &'a Baseline,
    pub verb: Verb,
    pub controls: &'a [&'a dyn Reconciler],
    pub mfa: Option<&'a Mfa>,
    pub max_in_flight: usize,
    /// `verify --security-hub`: each account's findings go to Security Hub with its own connection.
    pub security_hub: bool,
}

/// Is asked, per account, whether that account's plan may be applied (see [`crate::app`]).
pub type ApproveAccount<'a> = dyn Fn(&Report) -> bool + Sync + 'a;

/// What a multi-account run produced: the combined report and each account's call log.
pub struct FleetOutcome {
    pub report: Report,
    pub calls: BTreeMap<String, Arc<CallLog>>,
    /// What each account sent to Security Hub (`verify --security-hub`).
    pub security_hub: Vec<RegionImport>,
}

/// One account's result.
struct Reconciled {
    report: Report,
    summary: AccountSummary,
    calls: Option<Arc<CallLog>>,
    /// What the account sent to Security Hub, once its last pass is done.
    security_hub: Vec<RegionImport>,
}

impl Reconciled {
    /// One result for an account reconciled in two passes (the log-archive account: its audit bucket
    /// first, then everything): the second pass's findings, which cover every control; the changes
    /// and calls of both.
    fn followed_by(self, second: Reconciled) -> Reconciled {
        let mut report = second.report;
        if let (Some(first), Some(then)) = (self.report.changes, report.changes.as_mut()) {
            then.splice(0..0, first);
        }
        let calls = match (self.calls, second.calls) {
            (Some(first), Some(then)) => {
                first.append(&then);
                Some(first)
            }
            (first, then) => then.or(first),
        };
        let mut security_hub = self.security_hub;
        security_hub.extend(second.security_hub);
        Reconciled { summary: AccountSummary { summary: report.summary, ..second.summary }, report, calls, security_hub }
    }
}

impl FleetRun<'_> {
    /// Reconciles `accounts` (already resolved) and combines their reports.
    pub async fn run(&self, accounts: Vec<OrgAccount>, approve: &ApproveAccount<'_>, progress: &dyn Progress) -> FleetOutcome {
        let started = Instant::now();
        let mut layout = self.read_layout().await;
        progress.start("accounts", accounts.len());
        let audit_bucket_controls = self.audit_bucket_controls();
        let waves = self.waves(&accounts, layout.as_ref().ok(), &audit_bucket_controls);
        let mut results: Vec<Reconciled> = Vec::new();
        for (i, wave) in waves.into_iter().enumerate() {
            if i > 0 && self.verb == Verb::Apply {
                if let Ok(layout) = layout.as_mut() {
                    if let Err(e) = layout.refresh_trail(self.aws, self.baseline).await {
                        tracing::warn!(error = %e, "could not read the organization trail again");
                    }
                }
            }
            let layout = layout.as_ref().ok();
            let done: Vec<(bool, Reconciled)> = stream::iter(wave)
                .map(|(account, controls)| async move {
                    let result = self.reconcile(account, controls, layout, approve).await;
                    let complete = controls.len() == self.controls.len();
                    if complete {
                        progress.advance();
                    }
                    (complete, result)
                })
                .buffer_unordered(self.max_in_flight.max(1))
                .collect()
                .await;
            for (_, result) in done {
                match results.iter().position(|earlier| earlier.summary.id == result.summary.id) {
                    Some(at) => {
                        let first_pass = results.remove(at);
                        results.push(first_pass.followed_by(result));
                    }
                    None => results.push(result),
                }
            }
        }
        progress.finish();
        if let Err(e) = &layout {
            tracing::warn!(error = %e, "the organization layout could not be read: every account runs with its own audit bucket and trail");
        }
        results.sort_by(|a, b| a.summary.id.cmp(&b.summary.id));
        let template = self.empty_report(started);
        let summaries = results.iter().map(|r| r.summary.clone()).collect();
        let calls = results.iter().filter_map(|r| Some((r.summary.id.clone(), r.calls.clone()?))).collect();
        let security_hub = results.iter().flat_map(|r| r.security_hub.iter().cloned()).collect();
        let reports = results.into_iter().map(|r| r.report).collect();
        let mut report = combine(template, reports, summaries);
        report.duration_ms = started.elapsed().as_millis() as u64;
        FleetOutcome { report, calls, security_hub }
    }

    /// The organization layout, when the caller can read the organization.
    async fn read_layout(&self) -> Result<Layout, AwsError> {
        Layout::read(self.aws, self.baseline).await
    }

    /// The accounts in the order they must run, each with the controls it runs in that wave: see the
    /// module documentation.
    fn waves<'x>(
        &'x self,
        accounts: &'x [OrgAccount],
        layout: Option<&Layout>,
        audit_bucket_controls: &'x [&'x dyn Reconciler],
    ) -> Vec<Vec<(&'x OrgAccount, &'x [&'x dyn Reconciler])>> {
        let every: &[&dyn Reconciler] = self.controls;
        let archive = layout.and_then(|l| l.log_archive_account.as_deref());
        let management = layout.map(|l| l.management_account.as_str());
        if self.verb != Verb::Apply || archive.is_none() {
            return vec![accounts.iter().map(|a| (a, every)).collect()];
        }
        let is = |account: &OrgAccount, id: Option<&str>| Some(account.id.as_str()) == id;
        let first = accounts.iter().filter(|a| is(a, archive) && !is(a, management) && !audit_bucket_controls.is_empty()).map(|a| (a, audit_bucket_controls)).collect();
        let second = accounts.iter().filter(|a| is(a, management)).map(|a| (a, every)).collect();
        let rest = accounts.iter().filter(|a| !is(a, management)).map(|a| (a, every)).collect();
        [first, second, rest].into_iter().filter(|wave: &Vec<_>| !wave.is_empty()).collect()
    }

    /// The controls placed in the log-archive account and, transitively, the controls they depend on.
    fn audit_bucket_controls(&self) -> Vec<&dyn Reconciler> {
        let mut wanted: Vec<&str> = self.controls.iter().filter(|c| c.placement() == Placement::LogArchiveAccount).map(|c| c.meta().id).collect();
        let mut i = 0;
        while i < wanted.len() {
            let control = self.controls.iter().find(|c| c.meta().id == wanted[i]);
            for dependency in control.map_or(&[][..], |c| c.meta().depends_on) {
                if !wanted.contains(dependency) && self.controls.iter().any(|c| c.meta().id == *dependency) {
                    wanted.push(dependency);
                }
            }
            i += 1;
        }
        self.controls.iter().copied().filter(|c| wanted.contains(&c.meta().id)).collect()
    }

    /// Enters one account and runs the engine there.
    async fn reconcile(&self, account: &OrgAccount, controls: &[&dyn Reconciler], layout: Option<&Layout>, approve: &ApproveAccount<'_>) -> Reconciled {
        let line = |status: AccountOutcome, reason: Option<String>, summary: Summary| AccountSummary {
            id: account.id.clone(),
            name: account.name.clone(),
            ou: account.ou.clone(),
            status,
            reason,
            summary,
        };
        let started = Instant::now();
        if let AccountState::NotActive(state) = &account.state {
            let reason = format!("{state}: not entered");
            return Reconciled { report: self.empty_report(started), summary: line(AccountOutcome::Skipped, Some(reason), Summary::default()), calls: None, security_hub: Vec::new() };
        }
        let entered = if account.id == self.caller.account_id {
            Ok((self.aws.clone(), self.caller.clone()))
        } else {
            assume::AssumedRole::enter(self.aws, &self.caller.partition, &account.id, &self.baseline.organization, self.verb.name())
                .await
                .map(|(role, caller)| (self.aws.for_account(SharedCredentialsProvider::new(role)), caller))
        };
        let (aws, caller) = match entered {
            Ok(entered) => entered,
            Err(error) => {
                let report = self.entry_error(&account.id, &error, started);
                let summary = line(AccountOutcome::Error, Some(error.to_string()), report.summary);
                return Reconciled { report, summary, calls: None, security_hub: Vec::new() };
            }
        };
        let home = self.baseline.home_region();
        let not_enabled = match engine::regions::not_enabled_outside_home(&aws, home, &self.baseline.regions).await {
            Ok(not_enabled) => not_enabled,
            Err(home) => {
                let message = format!("{}; {}", engine::regions::not_enabled_message(&home), engine::regions::enable_steps(&home));
                let report = self.single_finding(&account.id, ENTER_ACCOUNT, format!("account/{}", account.id), message.clone(), started);
                let summary = line(AccountOutcome::Error, Some(message), report.summary);
                return Reconciled { report, summary, calls: Some(aws.calls()), security_hub: Vec::new() };
            }
        };
        let ctx = Context { aws: &aws, baseline: self.baseline, caller: &caller, mfa: self.mfa, regions_not_enabled: &not_enabled, layout };
        let mut approve_account = |plan: &Report| approve(plan);
        let report = match engine::run(&ctx, self.verb, controls, &mut approve_account, &Silent).await {
            Ok(report) => report,
            Err(error) => self.not_applied(&account.id, &error.to_string(), started),
        };
        let summary = AccountSummary::of(&account.id, account.name.clone(), account.ou.clone(), &report);
        // `verify` runs each account in one pass (only `apply` splits the log-archive account).
        let security_hub = if self.security_hub { Box::pin(security_hub::export(&aws, &report, &account.id)).await } else { Vec::new() };
        Reconciled { report, summary, calls: Some(aws.calls()), security_hub }
    }

    fn empty_report(&self, started: Instant) -> Report {
        let mut regions: Vec<String> = self.baseline.regions.iter().map(|r| r.to_string()).collect();
        regions.dedup();
        Report {
            mamori_version: env!("CARGO_PKG_VERSION").to_string(),
            verb: self.verb,
            baseline: self.baseline.name.clone(),
            account: self.caller.account_id.clone(),
            regions,
            duration_ms: started.elapsed().as_millis() as u64,
            generated_at: crate::report::now(),
            summary: Summary::default(),
            findings: Vec::new(),
            changes: (self.verb != Verb::Verify).then(Vec::new),
            accounts: None,
            warnings: Vec::new(),
        }
    }

    /// The one finding of an account that could not be entered.
    fn entry_error(&self, account: &str, error: &AwsError, started: Instant) -> Report {
        let role = format!("role/{}", self.baseline.organization.role_name);
        let message = format!("could not enter the account: {error}");
        self.single_finding(account, ENTER_ACCOUNT, role, message, started)
    }

    /// The finding of an account whose apply was not approved (its plan changed after confirmation).
    fn not_applied(&self, account: &str, why: &str, started: Instant) -> Report {
        self.single_finding(account, PLAN_APPROVAL, format!("account/{account}"), format!("not applied: {why}"), started)
    }

    fn single_finding(&self, account: &str, control: &str, resource: String, message: String, started: Instant) -> Report {
        let finding = Finding {
            account: account.to_string(),
            control: control.to_string(),
            region: "global".to_string(),
            resource,
            status: Status::Error,
            message,
            expected: None,
            actual: None,
            remediation: None,
            references: References::default(),
            exception: None,
        };
        let mut report = self.empty_report(started);
        report.summary = Summary::of(std::slice::from_ref(&finding));
        report.findings = vec![finding];
        report
    }
}
