//! A report of a run over two accounts with every status, and values that every format must escape
//! or quote (commas, quotes, markup, newlines): the input of the renderers' tests.

use serde_json::json;

use super::{AccountOutcome, AccountSummary, ExceptionNote, Finding, References, Report, Status, Summary, Verb, Warning, WarningKind};

pub const ACCOUNT_A: &str = "111111111111";
pub const ACCOUNT_B: &str = "222222222222";

fn finding(account: &str, control: &str, region: &str, resource: &str, status: Status, message: &str) -> Finding {
    let cis: &[&str] = match control {
        "ebs.default-encryption" => &["5.1.1"],
        "iam.password-policy" => &["1.8", "1.9"],
        _ => &[],
    };
    let fsbp: &[&str] = match control {
        "ebs.default-encryption" => &["EC2.7"],
        "iam.password-policy" => &["IAM.15"],
        _ => &[],
    };
    Finding {
        account: account.into(),
        control: control.into(),
        region: region.into(),
        resource: resource.into(),
        status,
        message: message.into(),
        expected: (status == Status::Fail).then(|| json!({ "encryption_by_default": true })),
        actual: (status == Status::Fail).then(|| json!({ "encryption_by_default": false })),
        remediation: match status {
            Status::Fail => Some(format!("mamori apply --only {control}")),
            Status::Manual => Some("1. Sign in as root\n2. Open \"Security credentials\" & add <MFA>".into()),
            _ => None,
        },
        references: References { cis_v5: cis.iter().map(|s| s.to_string()).collect(), fsbp: fsbp.iter().map(|s| s.to_string()).collect() },
        exception: None,
    }
}

/// Two accounts: A has a failure, a manual step, a pass and an exception; B an error and a skip.
pub fn fleet_report() -> Report {
    let mut findings = vec![
        finding(ACCOUNT_A, "ebs.default-encryption", "us-east-1", "account-setting/ebs-default-encryption", Status::Fail, "encryption by default is off, \"false\" <not set>"),
        finding(ACCOUNT_A, "iam.password-policy", "global", "account-password-policy", Status::Pass, "matches the baseline"),
        finding(ACCOUNT_A, "root.mfa", "global", "root", Status::Manual, "the root user has no MFA device"),
        finding(ACCOUNT_A, "s3.account-public-access-block", "global", "account-public-access-block", Status::Excepted, "accepted until 2027-01-31 (owner data-team, reason: public website)"),
        finding(ACCOUNT_B, "ebs.default-encryption", "eu-west-1", "account-setting/ebs-default-encryption", Status::Error, "ec2:GetEbsEncryptionByDefault: AccessDenied (request id 1a2b)"),
        finding(ACCOUNT_B, "logs.trail", "global", "trail/mamori", Status::Skipped, "disabled in the baseline"),
    ];
    findings[3].exception = Some(exception(0));
    let line = |id: &str, name: &str, status| {
        let own: Vec<Finding> = findings.iter().filter(|f| f.account == id).cloned().collect();
        AccountSummary { id: id.into(), name: Some(name.into()), ou: Some("ou-ab12-cdef3456".into()), status, reason: None, summary: Summary::of(&own) }
    };
    let accounts = vec![line(ACCOUNT_A, "prod <web>", AccountOutcome::Drift), line(ACCOUNT_B, "sandbox", AccountOutcome::Error)];
    Report {
        mamori_version: "0.1.0".into(),
        verb: Verb::Verify,
        baseline: "standard".into(),
        account: ACCOUNT_A.into(),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        duration_ms: 1234,
        generated_at: "2026-12-02T17:00:00Z".into(),
        summary: Summary::of(&findings),
        findings,
        changes: None,
        accounts: Some(accounts),
        warnings: vec![Warning::about(WarningKind::StaleException, ExceptionNote { index: 1, control: "iam".into(), ..exception(1) })],
    }
}

/// The exception at `index` of the fixture's baseline: accepted by the data team until 2027-01-31.
pub fn exception(index: usize) -> ExceptionNote {
    ExceptionNote {
        index,
        control: "s3.account-public-access-block".into(),
        reason: "public website & blog".into(),
        owner: "data-team".into(),
        expires: "2027-01-31".into(),
        ticket: Some("RISK-42".into()),
        expired: false,
    }
}

/// The errors of `document` against the JSON Schema `tests/schemas/<file>` (none: valid).
pub fn schema_errors(file: &str, document: &serde_json::Value) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas").join(file);
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("vendored schema")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    validator.iter_errors(document).map(|e| format!("{} at {}", e, e.instance_path)).collect()
}
