//! The `sarif` format: SARIF 2.1.0, which GitHub code scanning and other SAST dashboards ingest. One
//! rule per control of the run (id, title, help with the remediation, CIS/FSBP ids as properties), one
//! result per finding that is not a pass (`fail` → error, `manual` → warning, `error` → note with
//! kind `open`, `skipped` and `excepted` → kind `notApplicable`/suppressed). Each result points at the
//! baseline file, at the line of the control's key (where code scanning shows it), and names the AWS
//! resource as a logical location.
//!
//! Reference: the OASIS SARIF 2.1.0 specification, and GitHub's "SARIF support for code scanning"
//! (a result needs a physical location with a relative `artifactLocation.uri` and a `region`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::{rules, Report, Status};
use crate::baseline::locate::Positions;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render(report: &Report, baseline_path: Option<&Path>) -> String {
    let (uri, positions) = match baseline_path {
        Some(path) => (path.to_string_lossy().replace('\\', "/"), std::fs::read_to_string(path).map(|t| Positions::of(&t)).unwrap_or_default()),
        None => ("mamori.yaml".to_string(), Positions::default()),
    };
    let mut rule_ids: BTreeMap<&str, &super::Finding> = BTreeMap::new();
    for finding in &report.findings {
        rule_ids.entry(finding.control.as_str()).or_insert(finding);
    }
    let index: BTreeMap<&str, usize> = rule_ids.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|(id, finding)| {
            let title = rules::title(id);
            let help = finding.remediation.clone().unwrap_or_else(|| format!("mamori apply --only {id}"));
            json!({
                "id": id,
                "name": id.replace(['.', '-'], "_"),
                "shortDescription": { "text": title },
                "fullDescription": { "text": title },
                "help": { "text": help },
                "properties": { "cis_v5": finding.references.cis_v5, "fsbp": finding.references.fsbp, "tags": ["security", "aws", rules::group(id)] },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| {
            let line = positions.get(&key_path(&f.control)).or_else(|| positions.get(rules::group(&f.control))).map_or(1, |(line, _)| line);
            let mut result = json!({
                "ruleId": f.control,
                "ruleIndex": index[f.control.as_str()],
                "level": level(f.status),
                "kind": kind(f.status),
                "message": { "text": message(f) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": uri }, "region": { "startLine": line } },
                    "logicalLocations": [{ "name": f.resource, "fullyQualifiedName": format!("{}/{}/{}", f.account, f.region, f.resource), "kind": "resource" }],
                }],
                "partialFingerprints": { "mamoriFinding/v1": rules::finding_key(f) },
                "properties": { "account": f.account, "region": f.region, "resource": f.resource, "status": f.status.label() },
            });
            match (&f.exception, f.status) {
                // An accepted risk is suppressed outside the code, in the baseline, by its owner.
                (Some(exception), Status::Excepted) => {
                    result["suppressions"] = json!([{
                        "kind": "external",
                        "status": "accepted",
                        "justification": exception.describe(),
                        "properties": { "owner": exception.owner, "expires": exception.expires, "ticket": exception.ticket, "exception": format!("exceptions[{}]", exception.index) },
                    }]);
                }
                (_, Status::Excepted | Status::Skipped) => result["suppressions"] = json!([{ "kind": "external", "justification": f.message }]),
                _ => {}
            }
            result
        })
        .collect();
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mamori",
                "version": report.mamori_version,
                "rules": rules,
            }},
            "automationDetails": { "id": format!("mamori/{}/{}/", report.verb.name(), report.baseline) },
            "results": results,
            "properties": { "account": report.account, "regions": report.regions, "generated_at": report.generated_at },
        }],
    });
    serde_json::to_string_pretty(&document).expect("a SARIF document serializes") + "\n"
}

/// The key of a control in the baseline file: `ebs.default-encryption` is `ebs.default_encryption`.
fn key_path(control: &str) -> String {
    control.replace('-', "_")
}

fn level(status: Status) -> &'static str {
    match status {
        Status::Fail => "error",
        Status::Manual => "warning",
        Status::Error => "note",
        Status::Pass | Status::Skipped | Status::Excepted => "none",
    }
}

fn kind(status: Status) -> &'static str {
    match status {
        Status::Fail | Status::Manual => "fail",
        Status::Error => "open",
        Status::Pass => "pass",
        Status::Skipped | Status::Excepted => "notApplicable",
    }
}

fn message(finding: &super::Finding) -> String {
    let mut text = format!("{} ({} in {}): {}", finding.resource, finding.account, finding.region, finding.message);
    if let Some(remediation) = &finding.remediation {
        text.push_str(&format!("\nfix: {remediation}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn a_run_is_valid_sarif_with_a_rule_per_control_and_a_result_per_finding_that_is_not_a_pass() {
        let report = fixture::fleet_report();
        let dir = tempfile::tempdir().unwrap();
        let baseline = dir.path().join("mamori.yaml");
        std::fs::write(&baseline, "version: 1\nname: standard\nregions:\n  - us-east-1\nebs:\n  default_encryption:\n    enabled: true\nroot:\n  mfa:\n    require_hardware: false\n").unwrap();
        let document: Value = serde_json::from_str(&render(&report, Some(&baseline))).unwrap();
        assert_eq!(fixture::schema_errors("sarif-2.1.0-rtm.5.json", &document), Vec::<String>::new());
        let run = &document["runs"][0];
        let rules: Vec<&str> = run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(rules, ["ebs.default-encryption", "iam.password-policy", "logs.trail", "root.mfa", "s3.account-public-access-block"]);
        assert_eq!(run["tool"]["driver"]["rules"][0]["properties"]["fsbp"], json!(["EC2.7"]));
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), report.findings.iter().filter(|f| f.status != Status::Pass).count());
        let level = |control: &str, account: &str| {
            let r = results.iter().find(|r| r["ruleId"] == control && r["properties"]["account"] == account).unwrap();
            (r["level"].as_str().unwrap().to_string(), r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap())
        };
        assert_eq!(level("ebs.default-encryption", fixture::ACCOUNT_A), ("error".to_string(), 6), "at the `default_encryption` key");
        assert_eq!(level("root.mfa", fixture::ACCOUNT_A), ("warning".to_string(), 9));
        assert_eq!(level("ebs.default-encryption", fixture::ACCOUNT_B).0, "note");
        assert_eq!(level("logs.trail", fixture::ACCOUNT_B), ("none".to_string(), 1), "a control the file does not name points at its first line");
        let excepted = results.iter().find(|r| r["ruleId"] == "s3.account-public-access-block").unwrap();
        assert_eq!(excepted["suppressions"][0]["kind"], "external");
        assert_eq!(excepted["suppressions"][0]["status"], "accepted");
        assert_eq!(excepted["suppressions"][0]["justification"], "accepted risk until 2027-01-31, owner data-team: public website & blog (ticket RISK-42)");
        assert_eq!((&excepted["suppressions"][0]["properties"]["owner"], &excepted["suppressions"][0]["properties"]["expires"]), (&json!("data-team"), &json!("2027-01-31")));
    }

    #[test]
    fn the_schema_refuses_a_result_without_a_message() {
        let mut document: Value = serde_json::from_str(&render(&fixture::fleet_report(), None)).unwrap();
        document["runs"][0]["results"][0].as_object_mut().unwrap().remove("message");
        assert!(!fixture::schema_errors("sarif-2.1.0-rtm.5.json", &document).is_empty());
    }
}
