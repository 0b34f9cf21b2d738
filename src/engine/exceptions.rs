//! What the baseline's accepted risks do to a run: a drifted finding (`fail` or `manual`) that an
//! active exception covers becomes `excepted`, carries the exception, and its change is neither
//! planned nor made; one whose exception has expired keeps its real status and says when the
//! exception expired. After the run, the exceptions that excepted nothing are reported as stale, and
//! the expired ones as expired (see [`crate::report::exception`]).
//!
//! An exception never hides an `error` (the control could not be evaluated: there is nothing to
//! accept yet) nor turns a `pass` into anything else. This module decides statuses only: keeping
//! `apply` away from an excepted resource is the engine's, through [`super::Control::except`].

use crate::baseline::{Exception, Exceptions};
use crate::report::{ExceptionNote, Finding, Status, Warning, WarningKind};

/// The note a finding carries for `exception`, as of `exceptions.today`.
pub fn note(exception: &Exception, exceptions: &Exceptions) -> ExceptionNote {
    ExceptionNote {
        index: exception.index,
        control: exception.control.clone(),
        reason: exception.reason.clone(),
        owner: exception.owner.clone(),
        expires: exception.expires.to_string(),
        ticket: exception.ticket.clone(),
        expired: !exception.is_active(exceptions.today),
    }
}

/// Decides a drifted `finding` against `exceptions`; true when it is now `excepted`.
pub fn decide(finding: &mut Finding, exceptions: &Exceptions) -> bool {
    if !matches!(finding.status, Status::Fail | Status::Manual) {
        return false;
    }
    let Some(exception) = exceptions.deciding(&finding.control, &finding.account, &finding.region, &finding.resource) else { return false };
    let note = note(exception, exceptions);
    finding.message = format!("{}\n{}", finding.message, note.describe());
    let excepted = !note.expired;
    if excepted {
        finding.status = Status::Excepted;
        // `apply` leaves an accepted risk alone: there is no fix to offer.
        finding.remediation = None;
    }
    finding.exception = Some(note);
    excepted
}

/// The warnings of one run's `findings`: an active exception that excepted none of them is stale
/// (only when the run evaluated its control: `--only iam` says nothing about an `ebs` exception),
/// and an expired one is expired.
pub fn warnings(findings: &[Finding], exceptions: &Exceptions) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for exception in &exceptions.entries {
        let note = note(exception, exceptions);
        if note.expired {
            warnings.push(Warning::about(WarningKind::ExpiredException, note));
            continue;
        }
        let evaluated = findings.iter().any(|f| f.status != Status::Skipped && exception.names(&f.control));
        let used = findings.iter().any(|f| f.exception.as_ref().is_some_and(|e| e.index == exception.index && !e.expired));
        if evaluated && !used {
            warnings.push(Warning::about(WarningKind::StaleException, note));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Date;
    use crate::report::References;

    fn exceptions(expires: &[&str]) -> Exceptions {
        let entries = expires
            .iter()
            .enumerate()
            .map(|(index, expires)| Exception {
                index,
                control: "iam.password-policy".into(),
                accounts: vec![],
                regions: vec![],
                resources: vec![],
                reason: "legacy SSO users only".into(),
                owner: "identity-team".into(),
                expires: Date::parse(expires).unwrap(),
                ticket: Some("SEC-7".into()),
            })
            .collect();
        Exceptions { entries, today: Date::parse("2027-03-01").unwrap() }
    }

    fn finding(status: Status) -> Finding {
        Finding {
            account: "111122223333".into(),
            control: "iam.password-policy".into(),
            region: "global".into(),
            resource: "account-password-policy".into(),
            status,
            message: "minimum_length: 8 → 14".into(),
            expected: None,
            actual: None,
            remediation: Some("mamori apply --only iam.password-policy".into()),
            references: References::default(),
            exception: None,
        }
    }

    #[test]
    fn an_active_exception_excepts_drift_and_says_who_accepted_it() {
        let mut drift = finding(Status::Fail);
        assert!(decide(&mut drift, &exceptions(&["2027-03-01"])), "through its expiry day");
        assert_eq!(drift.status, Status::Excepted);
        assert_eq!(drift.message, "minimum_length: 8 → 14\naccepted risk until 2027-03-01, owner identity-team: legacy SSO users only (ticket SEC-7)");
        assert_eq!(drift.remediation, None);
        assert_eq!(drift.exception.as_ref().map(|e| (e.index, e.expired)), Some((0, false)));
        assert!(warnings(&[drift], &exceptions(&["2027-03-01"])).is_empty());
    }

    #[test]
    fn an_expired_exception_leaves_the_real_status_and_says_when_it_expired() {
        let mut drift = finding(Status::Manual);
        assert!(!decide(&mut drift, &exceptions(&["2027-02-28"])));
        assert_eq!(drift.status, Status::Manual);
        assert!(drift.message.ends_with("the exception for this finding expired on 2027-02-28 (owner identity-team: legacy SSO users only) (ticket SEC-7)"), "{}", drift.message);
        let warned = warnings(&[drift], &exceptions(&["2027-02-28"]));
        assert_eq!(warned.iter().map(|w| w.kind).collect::<Vec<_>>(), [WarningKind::ExpiredException]);
    }

    #[test]
    fn errors_and_passes_are_never_excepted_and_an_unused_exception_is_stale() {
        for status in [Status::Error, Status::Pass, Status::Skipped] {
            let mut other = finding(status);
            assert!(!decide(&mut other, &exceptions(&["2027-12-31"])));
            assert_eq!((other.status, other.exception), (status, None));
        }
        let warned = warnings(&[finding(Status::Pass)], &exceptions(&["2027-12-31"]));
        assert_eq!(warned.iter().map(|w| w.kind).collect::<Vec<_>>(), [WarningKind::StaleException]);
        let other_control = Finding { control: "ebs.default-encryption".into(), ..finding(Status::Fail) };
        assert!(warnings(&[other_control], &exceptions(&["2027-12-31"])).is_empty(), "its control was not evaluated in this run");
    }
}
