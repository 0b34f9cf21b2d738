//! The `ocsf` format: OCSF Compliance Finding events (class 2003, category Findings, schema version
//! 1.3.0), one per finding, as a JSON array, the form Amazon Security Lake and other OCSF consumers
//! ingest. Each event carries the account, region and resource, the compliance status, and the CIS
//! v5 and FSBP ids as the standards and requirements it answers to.
//!
//! Reference: OCSF schema 1.3.0, class `compliance_finding` (uid 2003), objects `compliance`,
//! `finding_info`, `cloud`, `resource_details`.

use serde_json::{json, Value};

use super::{rules, Finding, Report, Status};

/// The OCSF schema version the events follow.
pub const SCHEMA_VERSION: &str = "1.3.0";
const CLASS_UID: u32 = 2003;
const CATEGORY_UID: u32 = 2;
/// Activity 1, Create: a finding as observed by this run.
const ACTIVITY_CREATE: u32 = 1;

pub fn render(report: &Report) -> String {
    let time = time_ms(&report.generated_at);
    let events: Vec<Value> = report.findings.iter().map(|f| event(report, f, time)).collect();
    serde_json::to_string_pretty(&events).expect("OCSF events serialize") + "\n"
}

fn event(report: &Report, f: &Finding, time: i64) -> Value {
    let (status_id, status) = compliance_status(f.status);
    let (severity_id, severity) = severity(f.status);
    let mut standards: Vec<String> = Vec::new();
    let mut requirements: Vec<String> = Vec::new();
    if !f.references.cis_v5.is_empty() {
        standards.push("CIS AWS Foundations Benchmark v5.0.0".into());
        requirements.extend(f.references.cis_v5.iter().map(|id| format!("CIS {id}")));
    }
    if !f.references.fsbp.is_empty() {
        standards.push("AWS Foundational Security Best Practices".into());
        requirements.extend(f.references.fsbp.iter().map(|id| format!("FSBP {id}")));
    }
    if standards.is_empty() {
        standards.push(format!("mamori baseline {}", report.baseline));
    }
    let region = rules::aws_region(&f.region, &report.regions);
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Compliance Finding: Create",
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": finding_status(f.status).0,
        "status": finding_status(f.status).1,
        "message": f.message,
        "metadata": {
            "version": SCHEMA_VERSION,
            "product": { "name": "mamori", "vendor_name": "mamori", "version": report.mamori_version },
        },
        "finding_info": {
            "uid": rules::finding_key(f),
            "title": rules::title(&f.control),
            "desc": f.message,
            "types": [rules::group(&f.control)],
        },
        "compliance": {
            "control": f.control,
            "standards": standards,
            "requirements": requirements,
            "status_id": status_id,
            "status": status,
            "status_detail": f.exception.as_ref().filter(|_| f.status == Status::Excepted).map_or_else(|| f.message.clone(), |e| e.describe()),
        },
        "cloud": { "provider": "AWS", "region": region, "account": { "uid": f.account, "type": "AWS Account", "type_id": 10 } },
        "resources": [{ "uid": f.resource, "region": region, "cloud_partition": "aws", "owner": { "account": { "uid": f.account } } }],
        "remediation": { "desc": f.remediation.clone().unwrap_or_else(|| format!("mamori apply --only {}", f.control)) },
        "unmapped": { "mamori_status": f.status.label(), "expected": f.expected, "actual": f.actual, "exception": f.exception },
    })
}

/// OCSF compliance status: 1 Pass, 2 Warning, 3 Fail, 0 Unknown.
fn compliance_status(status: Status) -> (u32, &'static str) {
    match status {
        Status::Pass | Status::Excepted => (1, "Pass"),
        Status::Manual => (2, "Warning"),
        Status::Fail => (3, "Fail"),
        Status::Error | Status::Skipped => (0, "Unknown"),
    }
}

/// OCSF finding status: 1 New, 3 Suppressed (an accepted exception), 4 Resolved.
fn finding_status(status: Status) -> (u32, &'static str) {
    match status {
        Status::Pass => (4, "Resolved"),
        Status::Excepted => (3, "Suppressed"),
        _ => (1, "New"),
    }
}

/// OCSF severity: 1 Informational, 3 Medium, 4 High.
fn severity(status: Status) -> (u32, &'static str) {
    match status {
        Status::Fail => (4, "High"),
        Status::Manual | Status::Error => (3, "Medium"),
        Status::Pass | Status::Skipped | Status::Excepted => (1, "Informational"),
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (0 when there is none).
fn time_ms(rfc3339: &str) -> i64 {
    aws_smithy_types::DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime).ok().and_then(|t| t.to_millis().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    const SCHEMA: &str = "ocsf-1.3.0-compliance_finding.schema.json";

    #[test]
    fn every_finding_is_a_valid_compliance_finding_event() {
        let report = fixture::fleet_report();
        let events: Vec<Value> = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(events.len(), report.findings.len());
        for event in &events {
            assert_eq!(fixture::schema_errors(SCHEMA, event), Vec::<String>::new(), "{event:#}");
        }
        let ebs = &events[0];
        assert_eq!((ebs["class_uid"].as_u64(), ebs["type_uid"].as_u64(), ebs["time"].as_i64()), (Some(2003), Some(200301), Some(1_796_230_800_000)));
        assert_eq!(ebs["compliance"]["status"], "Fail");
        assert_eq!(ebs["compliance"]["requirements"], json!(["CIS 5.1.1", "FSBP EC2.7"]));
        assert_eq!(ebs["cloud"]["account"]["uid"], fixture::ACCOUNT_A);
        let statuses: Vec<&str> = events.iter().map(|e| e["compliance"]["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["Fail", "Pass", "Warning", "Pass", "Unknown", "Unknown"]);
        assert_eq!(events[1]["cloud"]["region"], "us-east-1", "an account-wide finding sits in the home region");
        assert_eq!(events[3]["status"], "Suppressed", "an excepted finding");
        assert_eq!(events[3]["compliance"]["status_detail"], "accepted risk until 2027-01-31, owner data-team: public website & blog (ticket RISK-42)");
        assert_eq!(events[3]["unmapped"]["exception"]["owner"], "data-team");
    }

    #[test]
    fn the_schema_refuses_an_event_without_compliance() {
        let mut events: Vec<Value> = serde_json::from_str(&render(&fixture::fleet_report())).unwrap();
        events[0].as_object_mut().unwrap().remove("compliance");
        assert!(!fixture::schema_errors(SCHEMA, &events[0]).is_empty());
    }
}
