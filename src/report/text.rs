//! The `--output text` renderer: findings as a table, changes in Terraform's `+ create` / `~ update`
//! vocabulary with each changed field's before and after, and a one-line summary. A run over several
//! accounts groups findings and changes by account and ends with one line per account and the total.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Change, Finding, Report, Status, Summary, Verb};

/// The message of a pass that has nothing more to say.
const PLAIN_PASS: &str = "matches the baseline";

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let scope = match &report.accounts {
        Some(accounts) => format!("{} accounts (caller {})", accounts.len(), report.account),
        None => format!("account {}", report.account),
    };
    let _ = writeln!(out, "mamori {} · baseline {} · {scope} · {}\n", report.verb.name(), report.baseline, report.regions.join(", "));
    let width = report.findings.iter().map(|f| f.control.len()).max().unwrap_or(0);
    let changes = report.changes.as_deref().unwrap_or_default();
    match &report.accounts {
        None => {
            findings(&mut out, report.findings.iter(), width);
            changes_block(&mut out, report.verb, changes.iter());
        }
        Some(accounts) => {
            for account in accounts {
                let name = account.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
                let ou = account.ou.as_deref().map(|ou| format!(" ({ou})")).unwrap_or_default();
                let reason = account.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                let _ = writeln!(out, "account {}{name}{ou}{reason}", account.id);
                findings(&mut out, report.findings.iter().filter(|f| f.account == account.id), width);
                changes_block(&mut out, report.verb, changes.iter().filter(|c| c.account == account.id));
                out.push('\n');
            }
        }
    }
    let _ = write!(out, "\n{}", counts(&report.summary));
    if let Some(changes) = &report.changes {
        let creates = changes.iter().filter(|c| c.action == Action::Create).count();
        let verb = if report.verb == Verb::Plan { "to" } else { "done:" };
        let _ = write!(out, " · {verb} create {creates}, update {}", changes.len() - creates);
    }
    out.push('\n');
    if let Some(accounts) = &report.accounts {
        let _ = writeln!(out, "\n{:<14} {:<24} {:<10} {:>5} {:>5} {:>7} {:>6}", "ACCOUNT", "NAME", "STATUS", "PASS", "FAIL", "MANUAL", "ERROR");
        for account in accounts {
            let status = serde_json::to_value(account.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let name = account.name.as_deref().unwrap_or("");
            let _ = writeln!(out, "{:<14} {:<24} {:<10} {}", account.id, truncate(name, 24), status, row(&account.summary));
        }
        let _ = writeln!(out, "{:<14} {:<24} {:<10} {}", "total", "", "", row(&report.summary));
    }
    out
}

fn counts(s: &Summary) -> String {
    format!("{} pass, {} fail, {} manual, {} error, {} skipped", s.pass, s.fail, s.manual, s.error, s.skipped)
}

fn row(s: &Summary) -> String {
    format!("{:>5} {:>5} {:>7} {:>6}", s.pass, s.fail, s.manual, s.error)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        text.chars().take(width - 1).chain(['…']).collect()
    }
}

fn findings<'a>(out: &mut String, findings: impl Iterator<Item = &'a Finding>, width: usize) {
    for finding in findings {
        let _ = writeln!(out, "  {:<7} {:<width$}  {:<10} {}", finding.status.label().to_uppercase(), finding.control, finding.region, finding.resource);
        // A pass is shown with its message only when it says more than that (why it passes, or why a
        // setting a scanner flags is what it is).
        if finding.status != Status::Pass || finding.message != PLAIN_PASS {
            for line in finding.message.lines() {
                let _ = writeln!(out, "          {line}");
            }
        }
        if let Some(remediation) = finding.remediation.as_ref().filter(|_| finding.status != Status::Pass) {
            let _ = writeln!(out, "          fix: {remediation}");
        }
    }
}

fn changes_block<'a>(out: &mut String, verb: Verb, changes: impl Iterator<Item = &'a Change>) {
    let mut changes = changes.peekable();
    if changes.peek().is_none() {
        return;
    }
    let heading = if verb == Verb::Plan { "Planned changes" } else { "Changes made" };
    let _ = writeln!(out, "\n{heading}:");
    for change in changes {
        let symbol = match change.action {
            Action::Create => "+",
            Action::Update => "~",
        };
        let _ = writeln!(out, "  {symbol} {}  {}  {}", change.control, change.region, change.resource);
        for (field, before, after) in field_changes(&change.before, &change.after) {
            let _ = writeln!(out, "      {field}: {before} → {after}");
        }
    }
}

/// Fields whose values differ, for display: top-level keys of two objects, or the whole values.
fn field_changes(before: &Value, after: &Value) -> Vec<(String, String, String)> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => a
            .iter()
            .filter(|(key, value)| b.get(*key) != Some(value))
            .map(|(key, value)| (key.clone(), b.get(key).map(short).unwrap_or_else(|| "(none)".into()), short(value)))
            .collect(),
        _ => vec![("value".into(), short(before), short(after))],
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        format!("{}…", &text[..text.char_indices().nth(117).map(|(i, _)| i).unwrap_or(text.len())])
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Finding, References, Summary};

    fn pass(resource: &str, message: &str) -> Finding {
        Finding {
            account: "111122223333".into(),
            control: "logs.bucket".into(),
            region: "global".into(),
            resource: resource.into(),
            status: Status::Pass,
            message: message.into(),
            expected: None,
            actual: None,
            remediation: None,
            references: References::default(),
        }
    }

    #[test]
    fn a_pass_shows_its_message_only_when_it_explains_something() {
        let findings = vec![pass("bucket/plain", PLAIN_PASS), pass("bucket/access-logs", "matches the baseline\nSSE-S3, not SSE-KMS, by design")];
        let report = Report {
            mamori_version: "0".into(),
            verb: Verb::Verify,
            baseline: "t".into(),
            account: "1".into(),
            regions: vec!["us-east-1".into()],
            duration_ms: 0,
            generated_at: String::new(),
            summary: Summary::of(&findings),
            findings,
            changes: None,
            accounts: None,
        };
        let text = render(&report);
        assert!(text.contains("          SSE-S3, not SSE-KMS, by design\n"), "{text}");
        assert_eq!(text.matches(PLAIN_PASS).count(), 1, "the plain pass adds no line: {text}");
    }
}
