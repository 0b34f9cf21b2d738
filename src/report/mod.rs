//! What a run found and changed, and how it is shown.
//!
//! [`Finding`] and [`Change`] are the stable vocabulary of SPEC.md's JSON output (fields are added,
//! never renamed). [`Report`] is one run's document; it also decides the exit code, the same for every
//! verb. Rendering lives in [`format`] and a module per format; nothing here talks to AWS.

pub mod accounts;
pub mod asff;
pub mod csv;
pub mod exception;
#[cfg(test)]
pub mod fixture;
pub mod format;
pub mod html;
pub mod json;
pub mod junit;
pub mod merge;
pub mod ocsf;
pub mod rules;
pub mod sarif;
pub mod text;

pub use accounts::{AccountOutcome, AccountSummary};
pub use exception::{ExceptionNote, Warning, WarningKind};
pub use format::{Format, RenderOptions, ReportFile};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The evaluation of one control on one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Matches the baseline.
    Pass,
    /// Does not match; `apply` can fix it.
    Fail,
    /// Does not match; only a human can fix it. The finding carries the steps.
    Manual,
    /// Could not be evaluated; the message says which call failed and why.
    Error,
    /// Not applicable, or disabled in the baseline.
    Skipped,
    /// Does not match, and an active exception of the baseline accepts it (reason, owner, expiry in
    /// the message and in [`Finding::exception`]). Compliant for the exit code; `apply` leaves it alone.
    Excepted,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Manual => "manual",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Excepted => "excepted",
        }
    }
}

/// Benchmark ids a control maps to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct References {
    pub cis_v5: Vec<String>,
    pub fsbp: Vec<String>,
}

/// One finding: a control's verdict on one resource in one region (`global` for account-wide ones)
/// of one account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The account the resource belongs to.
    pub account: String,
    pub control: String,
    pub region: String,
    pub resource: String,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    pub references: References,
    /// The baseline exception that decided this finding (`excepted`), or that covers it but expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionNote>,
}

/// What a change does to its resource. mamori never plans a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
}

/// One planned (plan) or performed (apply) change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The account the resource belongs to.
    pub account: String,
    pub control: String,
    pub region: String,
    pub resource: String,
    pub action: Action,
    pub before: Value,
    pub after: Value,
}

/// Counts of findings by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub manual: usize,
    pub error: usize,
    pub skipped: usize,
    /// Absent in documents written before exceptions existed.
    #[serde(default)]
    pub excepted: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut summary = Summary::default();
        for finding in findings {
            *match finding.status {
                Status::Pass => &mut summary.pass,
                Status::Fail => &mut summary.fail,
                Status::Manual => &mut summary.manual,
                Status::Error => &mut summary.error,
                Status::Skipped => &mut summary.skipped,
                Status::Excepted => &mut summary.excepted,
            } += 1;
        }
        summary
    }
}

/// The three verbs that evaluate an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Plan,
    Apply,
    Verify,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Plan => "plan",
            Verb::Apply => "apply",
            Verb::Verify => "verify",
        }
    }
}

/// One run's result: the JSON document of SPEC.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub mamori_version: String,
    pub verb: Verb,
    pub baseline: String,
    pub account: String,
    pub regions: Vec<String>,
    pub duration_ms: u64,
    /// When the run finished, RFC 3339 in UTC (empty in a document written before the field existed).
    #[serde(default)]
    pub generated_at: String,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Planned (plan) or performed (apply) changes; absent for verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub changes: Option<Vec<Change>>,
    /// The accounts of a multi-account run (`--org`, `--ou`, `--account`), each with its own summary;
    /// `summary` is then their total. Absent for a run over the caller's own account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub accounts: Option<Vec<AccountSummary>>,
    /// What needs attention in the baseline itself: stale and expired exceptions. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// Now, as [`Report::generated_at`] spells it.
pub fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now()).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default()
}

impl Report {
    /// `0` compliant / nothing to change, `2` drift (fail or manual, or planned changes), `1` a control
    /// could not be evaluated. `1` wins over `2`.
    pub fn exit_code(&self) -> u8 {
        if self.summary.error > 0 {
            1
        } else if self.summary.fail > 0 || self.summary.manual > 0 || (self.verb == Verb::Plan && self.changes.as_ref().is_some_and(|c| !c.is_empty())) {
            2
        } else {
            0
        }
    }

    /// The finding of `control` on `resource`, if any (tests and callers that look one up).
    pub fn finding(&self, control: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.control == control).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verb: Verb, statuses: &[Status], changes: usize) -> Report {
        let findings: Vec<Finding> = statuses
            .iter()
            .map(|s| Finding {
                account: "a".into(),
                control: "c".into(),
                region: "r".into(),
                resource: "x".into(),
                status: *s,
                message: String::new(),
                expected: None,
                actual: None,
                remediation: None,
                references: References::default(),
                exception: None,
            })
            .collect();
        let change = Change { account: "a".into(), control: "c".into(), region: "r".into(), resource: "x".into(), action: Action::Update, before: Value::Null, after: Value::Null };
        Report {
            mamori_version: "0".into(),
            verb,
            baseline: "b".into(),
            account: "a".into(),
            regions: vec![],
            duration_ms: 0,
            generated_at: String::new(),
            summary: Summary::of(&findings),
            findings,
            changes: Some(vec![change; changes]),
            accounts: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn exit_codes_follow_the_detailed_exitcode_convention() {
        assert_eq!(report(Verb::Verify, &[Status::Pass, Status::Skipped], 0).exit_code(), 0);
        assert_eq!(report(Verb::Verify, &[Status::Pass, Status::Fail], 0).exit_code(), 2);
        assert_eq!(report(Verb::Verify, &[Status::Manual], 0).exit_code(), 2);
        assert_eq!(report(Verb::Verify, &[Status::Fail, Status::Error], 0).exit_code(), 1);
        assert_eq!(report(Verb::Plan, &[Status::Pass], 1).exit_code(), 2);
        assert_eq!(report(Verb::Apply, &[Status::Pass], 3).exit_code(), 0);
        assert_eq!(report(Verb::Verify, &[Status::Pass, Status::Excepted], 0).exit_code(), 0, "an accepted risk is compliant");
    }
}
