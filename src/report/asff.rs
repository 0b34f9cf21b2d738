//! The `asff` format: AWS Security Finding Format documents, one per finding, as a JSON array (the
//! `Findings` of `BatchImportFindings`). A finding keeps its `Id` across runs (account, region, control
//! and resource), so Security Hub updates it in place instead of adding a duplicate; a finding that
//! passes now is `RESOLVED` and `ARCHIVED`, so the one it replaces leaves the active list.
//!
//! Reference: AWS Security Hub User Guide, "AWS Security Finding Format (ASFF)" and "Required
//! top-level attributes in ASFF" (`SchemaVersion` 2018-10-08, `ProductArn` of a custom integration
//! `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`, `Compliance.Status`
//! PASSED, WARNING, FAILED or NOT_AVAILABLE, `Workflow.Status`, `RecordState`), and "BatchImportFindings"
//! (at most 100 findings a request). A re-import updates a finding in place, but `Workflow` and `Note`
//! only count when a finding is created (Security Hub's users own them afterwards, through
//! `BatchUpdateFindings`), and `Severity` and `Types` are updated through `FindingProviderFields`.
//! What marks a fixed finding is therefore `RecordState` `ARCHIVED` and `Compliance.Status` `PASSED`,
//! both of which a re-import updates; an accepted risk is `PASSED` too, and `SUPPRESSED` when it is
//! first imported as one.

use serde_json::{json, Value};

use super::{rules, Finding, Report, Status};
use crate::baseline::RegionName;

/// Description limit of ASFF.
const DESCRIPTION_MAX: usize = 1024;

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&findings(report)).expect("ASFF findings serialize") + "\n"
}

/// Every finding of `report` as an ASFF document.
pub fn findings(report: &Report) -> Vec<Value> {
    report.findings.iter().map(|f| finding(report, f)).collect()
}

/// The product ARN of findings that an account imports itself (a custom integration).
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

fn finding(report: &Report, f: &Finding) -> Value {
    let region = rules::aws_region(&f.region, &report.regions);
    let partition = partition_of(region);
    let (label, normalized) = severity(f.status);
    let (workflow, record_state) = match f.status {
        Status::Pass => ("RESOLVED", "ARCHIVED"),
        Status::Excepted => ("SUPPRESSED", "ACTIVE"),
        _ => ("NEW", "ACTIVE"),
    };
    let mut related: Vec<Value> = f.references.cis_v5.iter().map(|id| json!({ "StandardsId": "standards/cis-aws-foundations-benchmark/v/5.0.0", "Id": id })).collect();
    related.extend(f.references.fsbp.iter().map(|id| json!({ "StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0", "Id": id })));
    let mut document = json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("mamori/{}", rules::finding_key(f)),
        "ProductArn": product_arn(partition, region, &f.account),
        "ProductName": "mamori",
        "CompanyName": "mamori",
        "GeneratorId": format!("mamori/{}", f.control),
        "AwsAccountId": f.account,
        "Region": region,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": report.generated_at,
        "UpdatedAt": report.generated_at,
        "Severity": { "Label": label, "Normalized": normalized },
        // A re-import may not change the top-level `Severity` and `Types` of an existing finding; a
        // finding provider updates them here (BatchImportFindings, API Reference).
        "FindingProviderFields": { "Severity": { "Label": label, "Original": f.status.label() }, "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"] },
        "Title": rules::title(&f.control),
        "Description": truncate(&f.message, DESCRIPTION_MAX),
        "Resources": [{ "Type": "Other", "Id": f.resource, "Partition": partition, "Region": region }],
        "Compliance": { "Status": compliance(f.status), "RelatedRequirements": f.references.cis_v5.iter().map(|id| format!("CIS AWS Foundations Benchmark v5.0.0/{id}")).chain(f.references.fsbp.iter().map(|id| format!("AWS Foundational Security Best Practices/{id}"))).collect::<Vec<_>>(), "AssociatedStandards": related.iter().map(|r| json!({ "StandardsId": r["StandardsId"] })).collect::<Vec<_>>() },
        "Workflow": { "Status": workflow },
        "RecordState": record_state,
        "ProductFields": { "mamori/status": f.status.label(), "mamori/control": f.control },
    });
    if let Some(exception) = f.exception.as_ref().filter(|_| f.status == Status::Excepted) {
        // Security Hub's own record of why a finding is suppressed: a note, with who decided.
        document["Note"] = json!({ "Text": truncate(&exception.describe(), 512), "UpdatedBy": truncate(&exception.owner, 512), "UpdatedAt": report.generated_at });
    }
    if let Some(remediation) = &f.remediation {
        document["Remediation"] = json!({ "Recommendation": { "Text": truncate(remediation, 512) } });
    }
    document
}

/// ASFF `Compliance.Status`.
fn compliance(status: Status) -> &'static str {
    match status {
        Status::Pass | Status::Excepted => "PASSED",
        Status::Fail => "FAILED",
        Status::Manual => "WARNING",
        Status::Error | Status::Skipped => "NOT_AVAILABLE",
    }
}

fn severity(status: Status) -> (&'static str, u32) {
    match status {
        Status::Fail => ("HIGH", 70),
        Status::Manual | Status::Error => ("MEDIUM", 40),
        Status::Pass | Status::Skipped | Status::Excepted => ("INFORMATIONAL", 0),
    }
}

/// The partition of a region (the ARNs of Security Hub need it).
fn partition_of(region: &str) -> &'static str {
    RegionName::parse(region).map_or(crate::baseline::partition::AWS.id, |r| r.partition().id)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn a_finding_keeps_its_id_across_runs_and_a_pass_is_archived() {
        let first = fixture::fleet_report();
        let mut later = first.clone();
        later.generated_at = "2026-12-03T09:00:00Z".into();
        later.findings[0].status = Status::Pass;
        let (before, after) = (findings(&first), findings(&later));
        assert_eq!(before.iter().map(|f| &f["Id"]).collect::<Vec<_>>(), after.iter().map(|f| &f["Id"]).collect::<Vec<_>>());
        assert_eq!(before[0]["Id"], "mamori/111111111111/us-east-1/ebs.default-encryption/account-setting/ebs-default-encryption");
        assert_eq!((&before[0]["Compliance"]["Status"], &before[0]["RecordState"], &before[0]["Workflow"]["Status"]), (&json!("FAILED"), &json!("ACTIVE"), &json!("NEW")));
        assert_eq!((&after[0]["Compliance"]["Status"], &after[0]["RecordState"], &after[0]["Workflow"]["Status"]), (&json!("PASSED"), &json!("ARCHIVED"), &json!("RESOLVED")));
        let statuses: Vec<&str> = before.iter().map(|f| f["Compliance"]["Status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["FAILED", "PASSED", "WARNING", "PASSED", "NOT_AVAILABLE", "NOT_AVAILABLE"]);
        let accepted = &before[3];
        assert_eq!((&accepted["Workflow"]["Status"], &accepted["RecordState"]), (&json!("SUPPRESSED"), &json!("ACTIVE")), "Security Hub's state for an accepted risk");
        assert_eq!(accepted["Note"]["Text"], "accepted risk until 2027-01-31, owner data-team: public website & blog (ticket RISK-42)");
        assert_eq!(accepted["Note"]["UpdatedBy"], "data-team");
        assert!(before.iter().enumerate().all(|(i, f)| (i == 3) != f["Note"].is_null()), "only the accepted risk carries a note");
        assert_eq!(after[0]["FindingProviderFields"]["Severity"], json!({ "Label": "INFORMATIONAL", "Original": "pass" }), "a re-import lowers the severity where Security Hub takes it");
    }

    #[test]
    fn every_finding_has_the_required_top_level_attributes() {
        for finding in findings(&fixture::fleet_report()) {
            for attribute in ["SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources"] {
                assert!(!finding[attribute].is_null(), "{attribute} missing: {finding:#}");
            }
            let account = finding["AwsAccountId"].as_str().unwrap();
            let region = finding["Region"].as_str().unwrap();
            assert_eq!(finding["ProductArn"], product_arn("aws", region, account));
            assert_ne!(region, "global");
        }
    }
}
