//! Several saved reports made one: the last step of a run split with `--shard K/N`, or of separate
//! runs that one page should show. Reads JSON documents only; never calls AWS.
//!
//! The reports must share the verb and the baseline. Each account may appear in one report only (two
//! shards of one run never share an account; two runs over the same account would show it twice).
//! A single-account report becomes one account line; the result always carries `accounts`, and its
//! summary is the total, so its exit code is the worst of the parts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{accounts, AccountSummary, Report};

/// Why saved reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a mamori JSON report: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("no report to render")]
    Empty,
    #[error("{path}: a {found} report cannot be merged with {expected} reports")]
    Verb { path: PathBuf, found: &'static str, expected: &'static str },
    #[error("{path}: baseline `{found}` differs from `{expected}`")]
    Baseline { path: PathBuf, found: String, expected: String },
    #[error("{path}: account {account} is already in an earlier report")]
    DuplicateAccount { path: PathBuf, account: String },
}

/// Reads the JSON report at `path`.
pub fn read(path: &Path) -> Result<Report, MergeError> {
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Read { path: path.into(), source })?;
    serde_json::from_str(&text).map_err(|source| MergeError::Parse { path: path.into(), source })
}

/// Merges the reports read from `paths`, in order.
pub fn merge_files(paths: &[PathBuf]) -> Result<Report, MergeError> {
    let reports = paths.iter().map(|p| read(p).map(|r| (p.clone(), r))).collect::<Result<Vec<_>, _>>()?;
    merge(reports)
}

/// Merges reports (each with the path it came from, for errors). One report is returned as it is.
pub fn merge(reports: Vec<(PathBuf, Report)>) -> Result<Report, MergeError> {
    let mut reports = reports.into_iter();
    let (_, first) = reports.next().ok_or(MergeError::Empty)?;
    let rest: Vec<(PathBuf, Report)> = reports.collect();
    if rest.is_empty() {
        return Ok(first);
    }
    let mut seen = BTreeSet::new();
    let mut lines: Vec<AccountSummary> = Vec::new();
    let mut parts = Vec::new();
    let mut duration_ms = 0;
    let mut generated_at = String::new();
    for (path, report) in std::iter::once((PathBuf::from("(first)"), first.clone())).chain(rest) {
        if report.verb != first.verb {
            return Err(MergeError::Verb { path, found: report.verb.name(), expected: first.verb.name() });
        }
        if report.baseline != first.baseline {
            return Err(MergeError::Baseline { path, found: report.baseline.clone(), expected: first.baseline.clone() });
        }
        let own = report.accounts.clone().unwrap_or_else(|| vec![AccountSummary::of(&report.account, None, None, &report)]);
        for line in own {
            if !seen.insert(line.id.clone()) {
                return Err(MergeError::DuplicateAccount { path, account: line.id });
            }
            lines.push(line);
        }
        duration_ms = duration_ms.max(report.duration_ms);
        generated_at = generated_at.max(report.generated_at.clone());
        parts.push(Report { accounts: None, ..report });
    }
    lines.sort_by(|a, b| a.id.cmp(&b.id));
    let mut regions: Vec<String> = parts.iter().flat_map(|r| r.regions.iter().cloned()).collect();
    let home = regions.first().cloned();
    regions.sort();
    regions.dedup();
    if let Some(home) = home {
        regions.retain(|r| *r != home);
        regions.insert(0, home);
    }
    let template = Report { duration_ms, generated_at, regions, findings: Vec::new(), changes: first.changes.as_ref().map(|_| Vec::new()), ..first };
    let mut merged = accounts::combine(template, parts, lines);
    // A shard's report names its caller, not its accounts: order by each finding's own account (the
    // sort is stable, so each account keeps its own order).
    merged.findings.sort_by(|a, b| a.account.cmp(&b.account));
    if let Some(changes) = merged.changes.as_mut() {
        changes.sort_by(|a, b| a.account.cmp(&b.account));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{fixture, Status};

    fn shards() -> (Report, Report) {
        let whole = fixture::fleet_report();
        let split = |keep: &str| {
            let mut part = whole.clone();
            part.findings.retain(|f| f.account == keep);
            part.accounts.as_mut().unwrap().retain(|a| a.id == keep);
            part.summary = crate::report::Summary::of(&part.findings);
            part
        };
        (split(fixture::ACCOUNT_A), split(fixture::ACCOUNT_B))
    }

    #[test]
    fn shards_merge_into_the_report_of_the_whole_run() {
        let whole = fixture::fleet_report();
        let (a, b) = shards();
        let merged = merge(vec![("b.json".into(), b), ("a.json".into(), a)]).unwrap();
        assert_eq!(merged.findings, whole.findings);
        assert_eq!(merged.summary, whole.summary);
        assert_eq!(merged.accounts, whole.accounts);
        assert_eq!(merged.exit_code(), whole.exit_code());
    }

    #[test]
    fn an_exception_is_stale_in_the_merged_report_only_if_no_shard_used_it() {
        use crate::report::{Warning, WarningKind};
        let (mut a, mut b) = shards();
        let stale = |index| Warning::about(WarningKind::StaleException, fixture::exception(index));
        // Shard A excepted a finding with exceptions[0]; shard B, without such a finding, saw it stale.
        // exceptions[1] matched nothing in either.
        a.warnings = vec![stale(1)];
        b.warnings = vec![stale(0), stale(1)];
        let merged = merge(vec![("a.json".into(), a), ("b.json".into(), b)]).unwrap();
        assert_eq!(merged.warnings, vec![stale(1)]);
        let json = serde_json::to_string(&merged).unwrap();
        let read_back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(read_back.warnings, merged.warnings, "warnings survive the saved JSON");
    }

    #[test]
    fn a_single_account_report_becomes_an_account_line() {
        let (a, _) = shards();
        let mut single = a.clone();
        single.accounts = None;
        single.account = fixture::ACCOUNT_A.into();
        let (_, b) = shards();
        let merged = merge(vec![("a.json".into(), single), ("b.json".into(), b)]).unwrap();
        let ids: Vec<&str> = merged.accounts.as_ref().unwrap().iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, [fixture::ACCOUNT_A, fixture::ACCOUNT_B]);
        assert!(merged.findings.iter().any(|f| f.status == Status::Fail));
    }

    #[test]
    fn overlapping_or_mismatched_reports_are_refused() {
        let (a, b) = shards();
        assert!(matches!(merge(vec![("a.json".into(), a.clone()), ("again.json".into(), a.clone())]), Err(MergeError::DuplicateAccount { .. })));
        let mut plan = b.clone();
        plan.verb = crate::report::Verb::Plan;
        assert!(matches!(merge(vec![("a.json".into(), a.clone()), ("b.json".into(), plan)]), Err(MergeError::Verb { .. })));
        let mut other = b;
        other.baseline = "strict".into();
        assert!(matches!(merge(vec![("a.json".into(), a), ("b.json".into(), other)]), Err(MergeError::Baseline { .. })));
        assert!(matches!(merge(vec![]), Err(MergeError::Empty)));
    }
}
