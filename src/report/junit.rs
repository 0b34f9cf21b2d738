//! The `junit` format: JUnit XML, which CI systems show as a test report. One `testsuite` per account
//! (per control group when the run covered one account), one `testcase` per finding: `fail` and
//! `manual` are failures (the message and the steps), `error` an error, `skipped` and `excepted`
//! skipped (an exception says why, who owns it and until when). Written with `quick-xml`, which
//! escapes.

use std::collections::BTreeMap;
use std::io;

use quick_xml::events::BytesText;
use quick_xml::Writer;

use super::{Finding, Report, Status, Summary};

pub fn render(report: &Report) -> String {
    let mut suites: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        let suite = match report.accounts {
            Some(_) => finding.account.clone(),
            None => super::rules::group(&finding.control).to_string(),
        };
        suites.entry(suite).or_default().push(finding);
    }
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    write(&mut writer, report, &suites).expect("writing to memory");
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&String::from_utf8(writer.into_inner()).expect("XML of strings is UTF-8"));
    xml.push('\n');
    xml
}

fn write(writer: &mut Writer<Vec<u8>>, report: &Report, suites: &BTreeMap<String, Vec<&Finding>>) -> io::Result<()> {
    let name = format!("mamori {} {}", report.verb.name(), report.baseline);
    let total = Summary::of(&report.findings);
    let seconds = format!("{:.3}", report.duration_ms as f64 / 1000.0);
    writer
        .create_element("testsuites")
        .with_attributes(counts(&name, &total).iter().map(|(k, v)| (*k, v.as_str())))
        .with_attribute(("time", seconds.as_str()))
        .write_inner_content(|writer| {
            for (suite, findings) in suites {
                let owned: Vec<Finding> = findings.iter().map(|f| (*f).clone()).collect();
                let summary = Summary::of(&owned);
                writer
                    .create_element("testsuite")
                    .with_attributes(counts(suite, &summary).iter().map(|(k, v)| (*k, v.as_str())))
                    .with_attribute(("timestamp", report.generated_at.as_str()))
                    .write_inner_content(|writer| {
                        for finding in findings {
                            testcase(writer, suite, finding)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The count attributes JUnit readers expect on a suite.
fn counts(name: &str, s: &Summary) -> Vec<(&'static str, String)> {
    let tests = s.pass + s.fail + s.manual + s.error + s.skipped + s.excepted;
    vec![
        ("name", name.to_string()),
        ("tests", tests.to_string()),
        ("failures", (s.fail + s.manual).to_string()),
        ("errors", s.error.to_string()),
        ("skipped", (s.skipped + s.excepted).to_string()),
    ]
}

fn testcase(writer: &mut Writer<Vec<u8>>, suite: &str, finding: &Finding) -> io::Result<()> {
    let name = format!("{} {} {}", finding.control, finding.region, finding.resource);
    // Grouped by account, the class names the account too; grouped by control group, the control says it.
    let classname = if suite == finding.account { format!("{suite}.{}", finding.control) } else { finding.control.clone() };
    let case = writer.create_element("testcase").with_attribute(("classname", classname.as_str())).with_attribute(("name", name.as_str())).with_attribute(("time", "0"));
    let body = details(finding);
    match finding.status {
        Status::Pass => {
            case.write_empty()?;
        }
        Status::Fail | Status::Manual => {
            case.write_inner_content(|w| {
                w.create_element("failure").with_attribute(("message", finding.message.as_str())).with_attribute(("type", finding.status.label())).write_text_content(BytesText::new(&body))?;
                Ok(())
            })?;
        }
        Status::Error => {
            case.write_inner_content(|w| {
                w.create_element("error").with_attribute(("message", finding.message.as_str())).with_attribute(("type", "error")).write_text_content(BytesText::new(&body))?;
                Ok(())
            })?;
        }
        // An accepted risk is a skipped test case, not a passing one: CI dashboards (GitLab, Jenkins,
        // GitHub test reporters) count skipped cases apart and show their message, where a pass shows
        // nothing; the build stays green either way.
        Status::Skipped | Status::Excepted => {
            let message = match (&finding.exception, finding.status) {
                (Some(exception), Status::Excepted) => format!("excepted: {}", exception.describe()),
                _ => finding.message.clone(),
            };
            case.write_inner_content(|w| {
                w.create_element("skipped").with_attribute(("message", message.as_str())).write_empty()?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// The failure's text: the message, then what was expected and found, then the steps.
fn details(finding: &Finding) -> String {
    let mut text = finding.message.clone();
    if let Some(expected) = &finding.expected {
        text.push_str(&format!("\nexpected: {expected}"));
    }
    if let Some(actual) = &finding.actual {
        text.push_str(&format!("\nactual: {actual}"));
    }
    if let Some(remediation) = &finding.remediation {
        text.push_str(&format!("\nfix: {remediation}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// Reads the XML back with Python's `xml.etree` (not quick-xml): per suite, the counts it declares
    /// and the elements under its test cases.
    const READER: &str = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
for suite in root.findall("testsuite"):
    cases = suite.findall("testcase")
    kinds = [next((c.tag for c in case), "pass") for case in cases]
    print(suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped"), len(cases), ",".join(kinds))
failure = root.find(".//failure[@type='manual']")
print(failure.text.replace("\n", "|"))
print(root.find(".//testcase[@classname='111111111111.s3.account-public-access-block']/skipped").get("message"))
"#;

    #[test]
    fn a_run_over_two_accounts_reads_back_as_one_suite_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.xml");
        std::fs::write(&path, render(&fixture::fleet_report())).unwrap();
        let output = std::process::Command::new("python3").args(["-c", READER]).arg(&path).output().expect("python3 runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "111111111111 4 2 0 1 4 failure,pass,failure,skipped");
        assert_eq!(lines[1], "222222222222 2 0 1 1 2 error,skipped");
        assert_eq!(lines[2], "the root user has no MFA device|fix: 1. Sign in as root|2. Open \"Security credentials\" & add <MFA>");
        assert_eq!(lines[3], "excepted: accepted risk until 2027-01-31, owner data-team: public website & blog (ticket RISK-42)");
    }

    #[test]
    fn a_single_account_run_has_a_suite_per_control_group() {
        let mut report = fixture::fleet_report();
        report.accounts = None;
        report.findings.retain(|f| f.account == fixture::ACCOUNT_A);
        let xml = render(&report);
        let suites: Vec<&str> = xml.lines().filter(|l| l.trim_start().starts_with("<testsuite ")).map(|l| l.split("name=\"").nth(1).unwrap().split('"').next().unwrap()).collect();
        assert_eq!(suites, ["ebs", "iam", "root", "s3"]);
    }
}
