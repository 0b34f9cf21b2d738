//! The `--output text` renderer. `plan` reads like Terraform's: the changes once, in the `+ create` /
//! `~ update` vocabulary with each changed field's before → after (long values shortened), then the
//! manual steps `apply` cannot take and anything that could not be evaluated, then one line
//! (`Plan: 23 to create, 3 to change, 2 manual steps.`). `verify` and `apply` are finding-oriented:
//! what does not pass, with its fix; passes and skips only with `-v`, and a converged run is a short
//! all-clear with the counts. A run over several accounts groups by account and ends with one line per
//! account and the total.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Change, Finding, Report, Status, Summary, Verb};

/// The message of a pass that has nothing more to say.
const PLAIN_PASS: &str = "matches the baseline";

pub fn render(report: &Report) -> String {
    render_with(report, false)
}

/// `verbose`: passing and skipped findings too.
pub fn render_with(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    let scope = match &report.accounts {
        Some(accounts) => format!("{} accounts (caller {})", accounts.len(), report.account),
        None => format!("account {}", report.account),
    };
    let _ = writeln!(out, "mamori {} · baseline {} · {scope} · {}\n", report.verb.name(), report.baseline, report.regions.join(", "));
    let width = report.findings.iter().map(|f| f.control.len()).max().unwrap_or(0);
    let changes = report.changes.as_deref().unwrap_or_default();
    // Plan shows each finding's change once, as a change; the findings it lists are the rest.
    let shown = |f: &&Finding| match (report.verb, f.status) {
        (Verb::Plan, Status::Fail) | (_, Status::Excepted) => false,
        (_, Status::Pass | Status::Skipped) => verbose,
        _ => true,
    };
    let converged = report.summary.fail + report.summary.manual + report.summary.error == 0 && changes.is_empty();
    if converged && !verbose {
        let _ = writeln!(out, "All clear: nothing to change. {}", counts(&report.summary));
        accepted_block(&mut out, report, width);
        warnings_block(&mut out, report);
        return out;
    }
    let listed = |out: &mut String, account: Option<&str>| {
        let selected = report.findings.iter().filter(|f| account.is_none_or(|a| f.account == a)).filter(shown);
        match report.verb {
            Verb::Plan => manual_block(out, selected, width),
            _ => findings(out, selected, width),
        }
    };
    match &report.accounts {
        None => {
            changes_block(&mut out, report.verb, changes.iter());
            listed(&mut out, None);
        }
        Some(accounts) => {
            for account in accounts {
                let name = account.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
                let ou = account.ou.as_deref().map(|ou| format!(" ({ou})")).unwrap_or_default();
                let reason = account.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                let _ = writeln!(out, "account {}{name}{ou}{reason}", account.id);
                changes_block(&mut out, report.verb, changes.iter().filter(|c| c.account == account.id));
                listed(&mut out, Some(&account.id));
                out.push('\n');
            }
        }
    }
    let creates = changes.iter().filter(|c| c.action == Action::Create).count();
    match report.verb {
        Verb::Plan => {
            let steps = report.summary.manual;
            let _ = write!(out, "\nPlan: {creates} to create, {} to change, {steps} manual step{}.", changes.len() - creates, if steps == 1 { "" } else { "s" });
            if report.summary.error > 0 {
                let _ = write!(out, " {} could not be evaluated.", report.summary.error);
            }
        }
        Verb::Apply => {
            let _ = write!(out, "\n{} · done: create {creates}, update {}", counts(&report.summary), changes.len() - creates);
        }
        Verb::Verify => {
            let _ = write!(out, "\n{}", counts(&report.summary));
        }
    }
    out.push('\n');
    accepted_block(&mut out, report, width);
    warnings_block(&mut out, report);
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
    format!("{} pass, {} fail, {} manual, {} error, {} skipped, {} excepted", s.pass, s.fail, s.manual, s.error, s.skipped, s.excepted)
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

/// The accepted risks: every `excepted` finding, with who accepted it, why and until when. Listed in
/// every run, converged or not: an accepted risk is compliant, never forgotten.
fn accepted_block(out: &mut String, report: &Report, width: usize) {
    let mut accepted = report.findings.iter().filter(|f| f.status == Status::Excepted).peekable();
    if accepted.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "\nAccepted risks (excepted by the baseline; apply leaves them as they are):");
    for finding in accepted {
        let account = if report.accounts.is_some() { format!("{}  ", finding.account) } else { String::new() };
        let _ = writeln!(out, "  {account}{:<width$}  {:<10} {}", finding.control, finding.region, finding.resource);
        match &finding.exception {
            Some(exception) => {
                let _ = writeln!(out, "          {}", exception.describe());
            }
            None => {
                for line in finding.message.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
        }
    }
}

/// Stale and expired exceptions: the baseline needs a look.
fn warnings_block(out: &mut String, report: &Report) {
    if report.warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nWarnings:");
    for warning in &report.warnings {
        let _ = writeln!(out, "  {}", warning.message);
    }
}

/// Plan's second block: what `apply` cannot do (manual steps) and what could not be evaluated.
fn manual_block<'a>(out: &mut String, findings: impl Iterator<Item = &'a Finding>, width: usize) {
    let mut findings = findings.peekable();
    if findings.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "\nManual steps and findings apply does not change:");
    self::findings(out, findings, width);
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
            exception: None,
        }
    }

    fn report(verb: Verb, findings: Vec<Finding>, changes: Option<Vec<Change>>) -> Report {
        Report {
            mamori_version: "0".into(),
            verb,
            baseline: "t".into(),
            account: "1".into(),
            regions: vec!["us-east-1".into()],
            duration_ms: 0,
            generated_at: String::new(),
            summary: Summary::of(&findings),
            findings,
            changes,
            accounts: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_pass_shows_its_message_only_when_it_explains_something() {
        let findings = vec![pass("bucket/plain", PLAIN_PASS), pass("bucket/access-logs", "matches the baseline\nSSE-S3, not SSE-KMS, by design")];
        let text = render_with(&report(Verb::Verify, findings, None), true);
        assert!(text.contains("          SSE-S3, not SSE-KMS, by design\n"), "{text}");
        assert_eq!(text.matches(PLAIN_PASS).count(), 1, "the plain pass adds no line: {text}");
    }

    fn plan() -> Report {
        let mut fail = pass("account-setting/ebs-default-encryption", "encryption_by_default: false → true");
        fail.control = "ebs.default-encryption".into();
        fail.status = Status::Fail;
        let mut manual = pass("root", "the root user has no MFA device");
        manual.control = "root.mfa".into();
        manual.status = Status::Manual;
        manual.remediation = Some("sign in as root and enrol a device".into());
        let findings = vec![fail, manual, pass("bucket/plain", PLAIN_PASS)];
        let update = Change {
            account: "1".into(),
            control: "ebs.default-encryption".into(),
            region: "us-east-1".into(),
            resource: "account-setting/ebs-default-encryption".into(),
            action: Action::Update,
            before: serde_json::json!({ "encryption_by_default": false }),
            after: serde_json::json!({ "encryption_by_default": true, "policy": "x".repeat(300) }),
        };
        let create = Change { control: "kms.baseline-key".into(), resource: "alias/mamori-baseline".into(), action: Action::Create, before: Value::Null, after: serde_json::json!({ "alias": "mamori-baseline" }), ..update.clone() };
        report(Verb::Plan, findings, Some(vec![create, update]))
    }

    #[test]
    fn a_plan_shows_each_change_once_then_the_manual_steps_then_one_line() {
        let text = render(&plan());
        assert_eq!(text.matches("encryption_by_default: false → true").count(), 1, "{text}");
        assert!(text.contains("  + kms.baseline-key"), "{text}");
        let manual = text.find("root.mfa").expect("the manual step");
        assert!(text.find("~ ebs.default-encryption").unwrap() < manual, "changes first: {text}");
        assert!(text.contains("fix: sign in as root and enrol a device"), "{text}");
        assert!(text.contains(&format!("policy: (none) → \"{}…", "x".repeat(116))), "long values shortened: {text}");
        assert!(text.trim_end().ends_with("Plan: 1 to create, 1 to change, 1 manual step."), "{text}");
        assert!(!text.contains("bucket/plain"), "passes only with -v: {text}");
        assert!(render_with(&plan(), true).contains("bucket/plain"));
    }

    #[test]
    fn a_converged_run_is_a_short_all_clear_with_the_counts() {
        let mut report = plan();
        report.verb = Verb::Verify;
        report.changes = None;
        report.findings.retain(|f| f.status == Status::Pass);
        report.summary = Summary::of(&report.findings);
        assert_eq!(render(&report), "mamori verify · baseline t · account 1 · us-east-1\n\nAll clear: nothing to change. 1 pass, 0 fail, 0 manual, 0 error, 0 skipped, 0 excepted\n");
    }

    #[test]
    fn accepted_risks_and_stale_exceptions_are_listed_even_when_all_is_clear() {
        let mut report = crate::report::fixture::fleet_report();
        report.findings.retain(|f| matches!(f.status, Status::Pass | Status::Excepted));
        report.summary = Summary::of(&report.findings);
        let text = render(&report);
        assert!(text.contains("All clear: nothing to change. 1 pass, 0 fail, 0 manual, 0 error, 0 skipped, 1 excepted"), "{text}");
        let accepted = text.find("Accepted risks").expect(&text);
        assert!(text[accepted..].contains("111111111111  s3.account-public-access-block  global     account-public-access-block\n          accepted risk until 2027-01-31, owner data-team: public website & blog (ticket RISK-42)"), "{text}");
        assert!(text.contains("Warnings:\n  stale exception exceptions[1] (control iam, owner data-team)"), "{text}");
        assert_eq!(text.matches("EXCEPTED").count(), 0, "listed once, in its own block: {text}");
    }
}
