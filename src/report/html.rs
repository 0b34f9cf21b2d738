//! The `html` format: one self-contained page that account owners open from an e-mail attachment or
//! an S3 bucket, offline. Inline CSS and JavaScript only (no network, no external script, font or
//! stylesheet): a header (accounts, baseline, verb, time, version), the counts, for several accounts a
//! matrix of accounts × control groups coloured by the worst status, and the findings, each expanding
//! to what was expected and found and the steps, with filters by status, account and group and a text
//! search that run in the page. Rendered by `minijinja` with HTML auto-escaping: every value from the
//! report is escaped, the only markup is the template's.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{context, AutoEscape, Environment};
use serde::Serialize;

use super::{rules, Report, Status};

const TEMPLATE: &str = include_str!("html/report.html.j2");

/// One finding as the page shows it.
#[derive(Serialize)]
struct Row<'a> {
    account: &'a str,
    account_name: &'a str,
    control: &'a str,
    title: String,
    group: &'a str,
    region: &'a str,
    resource: &'a str,
    status: &'static str,
    message: &'a str,
    expected: Option<String>,
    actual: Option<String>,
    remediation: Option<&'a str>,
    cis_v5: String,
    fsbp: String,
}

/// One cell of the matrix: the worst status of a group in an account.
#[derive(Serialize)]
struct Cell {
    status: &'static str,
    count: usize,
}

pub fn render(report: &Report) -> String {
    let names: BTreeMap<&str, &str> = report.accounts.iter().flatten().filter_map(|a| a.name.as_deref().map(|n| (a.id.as_str(), n))).collect();
    let rows: Vec<Row> = report
        .findings
        .iter()
        .map(|f| Row {
            account: &f.account,
            account_name: names.get(f.account.as_str()).copied().unwrap_or(""),
            control: &f.control,
            title: rules::title(&f.control),
            group: rules::group(&f.control),
            region: &f.region,
            resource: &f.resource,
            status: f.status.label(),
            message: &f.message,
            expected: f.expected.as_ref().map(|v| serde_json::to_string_pretty(v).unwrap_or_default()),
            actual: f.actual.as_ref().map(|v| serde_json::to_string_pretty(v).unwrap_or_default()),
            remediation: f.remediation.as_deref(),
            cis_v5: f.references.cis_v5.join(", "),
            fsbp: f.references.fsbp.join(", "),
        })
        .collect();
    let groups: BTreeSet<&str> = report.findings.iter().map(|f| rules::group(&f.control)).collect();
    let accounts: Vec<&str> = match &report.accounts {
        Some(accounts) => accounts.iter().map(|a| a.id.as_str()).collect(),
        None => vec![report.account.as_str()],
    };
    let matrix: Vec<Vec<Cell>> = accounts
        .iter()
        .map(|account| {
            groups
                .iter()
                .map(|group| {
                    let statuses: Vec<Status> = report.findings.iter().filter(|f| f.account == *account && rules::group(&f.control) == *group).map(|f| f.status).collect();
                    Cell { status: statuses.iter().copied().max_by_key(|s| severity(*s)).map_or("none", Status::label), count: statuses.len() }
                })
                .collect()
        })
        .collect();
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("report.html", TEMPLATE).expect("the report template parses");
    env.get_template("report.html")
        .expect("the report template is loaded")
        .render(context! {
            report => report,
            rows => rows,
            groups => groups,
            accounts => report.accounts.clone().unwrap_or_default(),
            matrix_accounts => accounts,
            matrix => matrix,
            warnings => &report.warnings,
            accepted => report.findings.iter().filter(|f| f.status == Status::Excepted).collect::<Vec<_>>(),
            statuses => ["fail", "manual", "error", "excepted", "skipped", "pass"],
        })
        .expect("the report template renders")
}

/// How bad a status is, for the matrix colour: error worst, then fail, manual, excepted, skipped, pass.
fn severity(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Skipped => 1,
        Status::Excepted => 2,
        Status::Manual => 3,
        Status::Fail => 4,
        Status::Error => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_page_is_self_contained_and_escapes_what_the_report_says() {
        let page = render(&fixture::fleet_report());
        assert!(page.contains("&lt;not set&gt;"), "markup in a message is escaped");
        assert!(page.contains("prod &lt;web&gt;"), "markup in an account name is escaped");
        assert!(!page.contains("<not set>") && !page.contains("<web>"));
        for external in ["<link", " src=", "@import", "url(", "http://", "https://"] {
            assert!(!page.contains(external), "the page loads nothing: found {external}");
        }
        assert_eq!(page.matches("<tr class=\"finding\"").count(), 6);
        assert_eq!(page.matches("<tr class=\"accepted\">").count(), 1, "the accepted risk is listed on its own");
        assert!(page.contains("<td>public website &amp; blog</td><td>data-team</td><td>2027-01-31</td><td>RISK-42</td>"), "with reason, owner, expiry and ticket");
        assert!(page.contains("<li class=\"warning\" data-kind=\"stale-exception\">stale exception exceptions[1]"), "and the stale exception");
        assert!(page.contains("1. Sign in as root\n2. Open &quot;Security credentials&quot; &amp; add &lt;MFA&gt;"), "the manual steps, escaped");
    }
}
