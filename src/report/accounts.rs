//! The accounts of a multi-account run: one line each in the report, and how the reports of several
//! accounts become one.
//!
//! Each account of a run over an organization is reconciled on its own and yields its own [`Report`];
//! [`combine`] makes the run's document from them: every finding and change (each already names its
//! account), one [`AccountSummary`] per account, and `summary` as their total, so the exit code is the
//! worst over the accounts (`1` wins over `2`). Accounts that were not reconciled (suspended, or
//! whose role could not be assumed) are listed too, with the reason.

use serde::{Deserialize, Serialize};

use super::{Report, Summary, Verb};

/// What happened to one account in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountOutcome {
    /// Reconciled; nothing to report (exit code 0 on its own).
    Compliant,
    /// Reconciled; findings `fail` or `manual`, or (plan) changes pending.
    Drift,
    /// At least one control could not be evaluated, or the account could not be entered.
    Error,
    /// Not entered: suspended or closing, so its role is not assumed.
    Skipped,
}

/// One account's line in a multi-account report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: String,
    /// The account's name in the organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The id of the organizational unit (or root) the account sits in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    pub status: AccountOutcome,
    /// Why the account was skipped or could not be entered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub summary: Summary,
}

impl AccountSummary {
    /// The line of an account reconciled into `report`.
    pub fn of(id: &str, name: Option<String>, ou: Option<String>, report: &Report) -> AccountSummary {
        let status = match report.exit_code() {
            0 => AccountOutcome::Compliant,
            2 => AccountOutcome::Drift,
            _ => AccountOutcome::Error,
        };
        AccountSummary { id: id.to_string(), name, ou, status, reason: None, summary: report.summary }
    }
}

/// The document of a run over several accounts: the caller's `account`, every account's findings and
/// changes (sorted by account, then as each account sorted them), the account lines in `accounts`
/// order, and the total summary.
pub fn combine(template: Report, reports: Vec<Report>, accounts: Vec<AccountSummary>) -> Report {
    let mut findings = Vec::new();
    let mut changes = template.changes.as_ref().map(|_| Vec::new());
    let mut reports = reports;
    reports.sort_by(|a, b| a.account.cmp(&b.account));
    let warnings: Vec<super::Warning> = reports.iter().flat_map(|r| r.warnings.iter().cloned()).collect();
    for report in reports {
        findings.extend(report.findings);
        if let (Some(all), Some(more)) = (changes.as_mut(), report.changes) {
            all.extend(more);
        }
    }
    Report {
        summary: Summary::of(&findings),
        warnings: super::exception::combine(&warnings, &findings),
        findings,
        changes: if template.verb == Verb::Verify { None } else { changes.or(Some(Vec::new())) },
        accounts: Some(accounts),
        ..template
    }
}
