//! The `--output text` renderer: findings as a table, changes in Terraform's `+ create` / `~ update`
//! vocabulary with each changed field's before and after, and a one-line summary.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Report, Status, Verb};

/// The message of a pass that has nothing more to say.
const PLAIN_PASS: &str = "matches the baseline";

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mamori {} · baseline {} · account {} · {}\n",
        report.verb.name(),
        report.baseline,
        report.account,
        report.regions.join(", ")
    );
    let width = report.findings.iter().map(|f| f.control.len()).max().unwrap_or(0);
    for finding in &report.findings {
        let _ = writeln!(
            out,
            "  {:<7} {:<width$}  {:<10} {}",
            finding.status.label().to_uppercase(),
            finding.control,
            finding.region,
            finding.resource
        );
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
    if let Some(changes) = report.changes.as_ref().filter(|c| !c.is_empty()) {
        let heading = if report.verb == Verb::Plan { "Planned changes" } else { "Changes made" };
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
    let s = &report.summary;
    let _ = write!(out, "\n{} pass, {} fail, {} manual, {} error, {} skipped", s.pass, s.fail, s.manual, s.error, s.skipped);
    if let Some(changes) = &report.changes {
        let creates = changes.iter().filter(|c| c.action == Action::Create).count();
        let verb = if report.verb == Verb::Plan { "to" } else { "done:" };
        let _ = write!(out, " · {verb} create {creates}, update {}", changes.len() - creates);
    }
    out.push('\n');
    out
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
            summary: Summary::of(&findings),
            findings,
            changes: None,
        };
        let text = render(&report);
        assert!(text.contains("          SSE-S3, not SSE-KMS, by design\n"), "{text}");
        assert_eq!(text.matches(PLAIN_PASS).count(), 1, "the plain pass adds no line: {text}");
    }
}
