//! How accepted risks show in a report: the [`ExceptionNote`] a finding carries when an exception of
//! the baseline decides it, and the run's [`Warning`]s about exceptions (stale: matched no drift;
//! expired). Warnings of several reports are combined here too: an exception is stale in a fleet only
//! if it excepted nothing in any of its accounts. Nothing here reads the baseline or calls AWS.

use serde::{Deserialize, Serialize};

use super::Finding;

/// The exception that decided a finding (`excepted`), or that would have, had it not expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionNote {
    /// Its position in the baseline's `exceptions:` list (0-based).
    pub index: usize,
    /// The control id or group it names.
    pub control: String,
    pub reason: String,
    pub owner: String,
    /// The last day it applies, YYYY-MM-DD.
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// True when it expired before the run: the finding shows its real status.
    #[serde(default)]
    pub expired: bool,
}

impl ExceptionNote {
    /// One line for people: "accepted risk until 2027-03-31, owner platform-team: <reason> (ticket SEC-12)".
    pub fn describe(&self) -> String {
        let ticket = self.ticket.as_deref().map(|t| format!(" (ticket {t})")).unwrap_or_default();
        if self.expired {
            format!("the exception for this finding expired on {} (owner {}: {}){ticket}", self.expires, self.owner, self.reason)
        } else {
            format!("accepted risk until {}, owner {}: {}{ticket}", self.expires, self.owner, self.reason)
        }
    }
}

/// What a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// An active exception that excepted no finding: nothing it accepts is out of line any more (or
    /// its patterns name nothing). Remove it, or fix its patterns.
    StaleException,
    /// An exception past its expiry date: it no longer applies. Renew it or remove it.
    ExpiredException,
}

/// Something a run noticed about its own input that needs a person's attention, without failing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// The exception it is about.
    pub exception: ExceptionNote,
    pub message: String,
}

impl Warning {
    /// The warning about `exception`, of `kind`.
    pub fn about(kind: WarningKind, exception: ExceptionNote) -> Warning {
        let message = match kind {
            WarningKind::StaleException => format!(
                "stale exception exceptions[{}] (control {}, owner {}): it matched no finding that needs it; remove it or correct its patterns",
                exception.index, exception.control, exception.owner
            ),
            WarningKind::ExpiredException => format!(
                "exception exceptions[{}] (control {}, owner {}) expired on {}: the findings it covered show their real status; renew or remove it",
                exception.index, exception.control, exception.owner, exception.expires
            ),
        };
        Warning { kind, exception, message }
    }
}

/// The warnings of several reports of one baseline, made one list: each warning once, and a stale
/// warning only when no finding of any report was excepted by that exception.
pub fn combine<'a>(warnings: impl IntoIterator<Item = &'a Warning>, findings: &[Finding]) -> Vec<Warning> {
    let used = |index: usize| findings.iter().filter_map(|f| f.exception.as_ref()).any(|e| e.index == index && !e.expired);
    let mut combined: Vec<Warning> = Vec::new();
    for warning in warnings {
        let stale_elsewhere_used = warning.kind == WarningKind::StaleException && used(warning.exception.index);
        let repeated = combined.iter().any(|w| w.kind == warning.kind && w.exception.index == warning.exception.index);
        if !stale_elsewhere_used && !repeated {
            combined.push(warning.clone());
        }
    }
    combined.sort_by_key(|w| (w.exception.index, w.kind));
    combined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{References, Status};

    fn note(index: usize) -> ExceptionNote {
        ExceptionNote { index, control: "ebs".into(), reason: "r".into(), owner: "o".into(), expires: "2027-01-31".into(), ticket: None, expired: false }
    }

    fn excepted_by(index: usize) -> Finding {
        Finding {
            account: "111122223333".into(),
            control: "ebs.default-encryption".into(),
            region: "eu-west-1".into(),
            resource: "x".into(),
            status: Status::Excepted,
            message: String::new(),
            expected: None,
            actual: None,
            remediation: None,
            references: References::default(),
            exception: Some(note(index)),
        }
    }

    #[test]
    fn a_stale_warning_survives_only_when_no_account_used_the_exception() {
        let stale = |index| Warning::about(WarningKind::StaleException, note(index));
        let expired = Warning::about(WarningKind::ExpiredException, ExceptionNote { expired: true, ..note(2) });
        // Account A used exception 0; account B did not (its report says stale). Exception 1 is stale
        // in both.
        let warnings = [stale(1), stale(0), stale(1), expired.clone(), expired.clone()];
        let combined = combine(&warnings, &[excepted_by(0)]);
        assert_eq!(combined, vec![stale(1), expired]);
    }

    #[test]
    fn notes_say_who_accepted_what_until_when() {
        let text = ExceptionNote { ticket: Some("SEC-12".into()), ..note(0) }.describe();
        assert_eq!(text, "accepted risk until 2027-01-31, owner o: r (ticket SEC-12)");
        assert!(ExceptionNote { expired: true, ..note(0) }.describe().starts_with("the exception for this finding expired on 2027-01-31"));
    }
}
