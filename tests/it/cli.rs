//! The command line as users and scripts see it: exit codes, the JSON document, confirmation without
//! a terminal, and the commands that need no account (`init`, `schema`, `controls`).

use serde_json::Value;

use crate::harness::{baseline_file, mamori, standard_baseline, stderr, stdout, Account, Tripwire, FULLY_AUTOMATIC};

fn run_json(account: &Account, verb: &str) -> (i32, Value) {
    let baseline = standard_baseline();
    let mut args = vec![verb, "--baseline", baseline.to_str().unwrap(), "--output", "json", "-q"];
    for control in FULLY_AUTOMATIC {
        args.extend(["--only", control]);
    }
    if verb == "apply" {
        args.push("--yes");
    }
    let output = mamori(&args, &account.env());
    let document = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{verb}: stdout is not JSON ({e}):\n{}\n{}", stdout(&output), stderr(&output)));
    (output.status.code().expect("exit code"), document)
}

#[tokio::test]
async fn exit_codes_and_json_follow_the_contract() {
    let account = Account::fresh().await;

    let (code, verify) = run_json(&account, "verify");
    assert_eq!(code, 2, "drift on a fresh account");
    for field in ["mamori_version", "verb", "baseline", "account", "regions", "duration_ms", "summary", "findings"] {
        assert!(verify.get(field).is_some(), "verify JSON lacks {field}: {verify}");
    }
    assert!(verify.get("changes").is_none(), "verify reports no changes");
    assert_eq!(verify["verb"], "verify");
    assert_eq!(verify["baseline"], "standard");
    assert_eq!(verify["account"], account.id.as_str());
    assert_eq!(verify["regions"], serde_json::json!(["us-east-1"]));
    for status in ["pass", "fail", "manual", "error", "skipped"] {
        assert!(verify["summary"][status].is_u64(), "summary.{status}");
    }
    let ebs = verify["findings"].as_array().unwrap().iter().find(|f| f["control"] == "ebs.default-encryption").expect("ebs finding");
    assert_eq!(ebs["status"], "fail");
    assert_eq!(ebs["region"], "us-east-1");
    assert_eq!(ebs["resource"], "account-setting/ebs-default-encryption");
    assert_eq!(ebs["references"], serde_json::json!({"cis_v5": ["5.1.1"], "fsbp": ["EC2.7"]}));
    assert_eq!(ebs["remediation"], "mamori apply --only ebs.default-encryption");
    assert_eq!(ebs["expected"]["encryption_by_default"], true);
    assert_eq!(ebs["actual"]["encryption_by_default"], false);

    let (code, plan) = run_json(&account, "plan");
    assert_eq!(code, 2, "changes pending");
    let changes = plan["changes"].as_array().expect("plan lists changes");
    let ebs = changes.iter().find(|c| c["control"] == "ebs.default-encryption").expect("ebs change");
    assert_eq!(ebs["action"], "update");
    assert_eq!(ebs["before"]["encryption_by_default"], false);
    assert_eq!(ebs["after"]["encryption_by_default"], true);
    assert!(changes.iter().any(|c| c["control"] == "kms.baseline-key" && c["action"] == "create"));

    let (code, apply) = run_json(&account, "apply");
    assert_eq!(code, 0, "{apply}");
    assert_eq!(apply["changes"].as_array().unwrap().len(), changes.len(), "apply made the planned changes");

    let (code, verify) = run_json(&account, "verify");
    assert_eq!(code, 0, "{verify}");
    let (code, plan) = run_json(&account, "plan");
    assert_eq!((code, plan["changes"].as_array().unwrap().len()), (0, 0));
}

#[tokio::test]
async fn text_output_shows_the_plan_in_terraform_vocabulary() {
    let account = Account::fresh().await;
    let baseline = standard_baseline();
    let output = mamori(&["plan", "--baseline", baseline.to_str().unwrap(), "--output", "text", "--only", "ebs"], &account.env());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(text.contains("+ kms.baseline-key"), "{text}");
    assert!(text.contains("~ ebs.default-encryption"), "{text}");
    assert!(text.contains("encryption_by_default: false → true"), "{text}");
}

#[test]
fn apply_without_a_terminal_and_without_yes_refuses_before_any_call() {
    let tripwire = Tripwire::new();
    let baseline = standard_baseline();
    let output = mamori(&["apply", "--baseline", baseline.to_str().unwrap()], &tripwire.env());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--yes"), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    assert!(!tripwire.touched());
}

#[test]
fn an_unknown_only_name_is_rejected_before_any_call() {
    let tripwire = Tripwire::new();
    let baseline = standard_baseline();
    let output = mamori(&["verify", "--baseline", baseline.to_str().unwrap(), "--only", "nope"], &tripwire.env());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--only nope"), "{}", stderr(&output));
    assert!(!tripwire.touched());
}

#[test]
fn bad_account_options_are_rejected_before_any_call() {
    let tripwire = Tripwire::new();
    let baseline = standard_baseline();
    for (args, expected) in [
        (vec!["--org", "--shard", "4/3"], "--shard 4/3"),
        (vec!["--account", "12345"], "not an AWS account id"),
        (vec!["--org", "--exclude-account", "x"], "not an AWS account id"),
        (vec!["--org", "--max-accounts-in-flight", "0"], "--max-accounts-in-flight"),
        (vec!["--no-such-flag"], "--no-such-flag"),
    ] {
        let mut full = vec!["verify", "--baseline", baseline.to_str().unwrap()];
        full.extend(args.iter().copied());
        let output = mamori(&full, &tripwire.env());
        assert_eq!(output.status.code(), Some(1), "{args:?}: bad input exits 1");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
    assert!(!tripwire.touched());
    assert_eq!(mamori(&["--version"], &[]).status.code(), Some(0));
}

#[test]
fn an_unknown_region_flag_is_rejected_before_any_call() {
    let tripwire = Tripwire::new();
    let baseline = standard_baseline();
    let output = mamori(&["verify", "--baseline", baseline.to_str().unwrap(), "--region", "mars-1"], &tripwire.env());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown region `mars-1`"), "{}", stderr(&output));
    assert!(!tripwire.touched());
}

#[test]
fn a_report_file_that_cannot_be_written_is_rejected_before_any_call() {
    let tripwire = Tripwire::new();
    let baseline = standard_baseline();
    let output = mamori(&["apply", "--yes", "--baseline", baseline.to_str().unwrap(), "--report", "html=/no/such/dir/report.html"], &tripwire.env());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--report html=/no/such/dir/report.html: cannot be written"), "{}", stderr(&output));
    assert!(!tripwire.touched(), "nothing was read or changed");
}

#[test]
fn unreachable_endpoint_is_an_error_exit() {
    // Nothing listens on the tripwire's port once it is dropped: the caller cannot be identified.
    let env = Tripwire::new().env();
    let baseline = standard_baseline();
    let output = mamori(&["verify", "--baseline", baseline.to_str().unwrap(), "-q"], &env);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("sts:GetCallerIdentity"), "{}", stderr(&output));
}

#[test]
fn init_prints_baselines_that_load() {
    for template in ["standard", "strict"] {
        let output = mamori(&["init", "--template", template], &[]);
        assert_eq!(output.status.code(), Some(0));
        let (_dir, path) = baseline_file(&stdout(&output));
        let baseline = mamori::baseline::Baseline::load(&path).unwrap_or_else(|e| panic!("init --template {template}: {e}"));
        assert_eq!(baseline.name, template);
    }
}

#[test]
fn the_schema_validates_the_shipped_baselines_and_rejects_bad_ones() {
    let output = mamori(&["schema"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let schema: Value = serde_json::from_str(&stdout(&output)).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    for file in ["baselines/standard.yaml", "baselines/strict.yaml"] {
        let text = std::fs::read_to_string(crate::harness::repo().join(file)).unwrap();
        let document: Value = serde_yaml_ng::from_str(&text).unwrap();
        let errors: Vec<String> = validator.iter_errors(&document).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
    let bad: Value = serde_json::json!({"version": 1, "name": "t", "regions": ["us-east-9"], "extra": true});
    assert!(!validator.is_valid(&bad), "the schema rejects unknown regions and keys");
}

#[test]
fn controls_lists_the_catalogue() {
    let output = mamori(&["controls", "--output", "json"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let rows: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let ids: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "kms.baseline-key",
            "ebs.default-encryption",
            "s3.account-public-access-block",
            "iam.password-policy",
            "logs.bucket",
            "logs.bucket-mfa-delete",
            "logs.trail",
            "logs.alarms",
            "root.access-keys",
            "root.mfa",
            "root.recent-use",
            "iam.console-mfa",
            "iam.unused-credentials",
            "iam.access-key-rotation",
            "iam.no-admin-keys",
            "iam.no-star-policies",
            "vpc.endpoints",
            "vpc.s3-bucket-vpce-only",
            "vpc.restricted-egress",
            "vpc.nacl-admin-ports",
            "ec2.instance-roles",
            "ec2.embedded-keys",
            "ec2.imdsv2",
            "ec2.no-open-admin-ports",
            "ssm.session-preferences",
        ]
    );
    let fixable = |id: &str| rows.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()["fixable"].as_str().unwrap().to_string();
    assert_eq!(
        [fixable("ebs.default-encryption"), fixable("root.mfa"), fixable("iam.unused-credentials")],
        ["yes", "manual", "optional"],
        "opt-in fixes are labelled optional"
    );
    let text = stdout(&mamori(&["controls", "--output", "text"], &[]));
    assert!(text.contains("ebs.default-encryption") && text.contains("5.1.1") && text.contains("EC2.7"), "{text}");
}

/// The SDK's endpoint settings are the SDK's: a service-specific variable wins over `AWS_ENDPOINT_URL`
/// (here a closed port), as the SDKs document, and the S3 Control adjustment for emulators follows the
/// endpoint the SDK resolved for S3 Control.
#[tokio::test]
async fn service_specific_endpoint_variables_win_over_aws_endpoint_url() {
    let account = Account::fresh().await;
    let closed = Tripwire::new().endpoint();
    let emulator = crate::harness::emulator().endpoint.clone();
    let mut env: Vec<(&str, String)> = account.env().into_iter().filter(|(name, _)| *name != "AWS_ENDPOINT_URL").collect();
    env.extend([("AWS_ENDPOINT_URL", closed), ("AWS_ENDPOINT_URL_STS", emulator.clone()), ("AWS_ENDPOINT_URL_S3_CONTROL", emulator)]);
    let baseline = standard_baseline();
    let args = ["apply", "--yes", "--baseline", baseline.to_str().unwrap(), "--only", "s3.account-public-access-block", "--output", "json", "-q"];
    let output = mamori(&args, &env);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
}

/// A profile's `endpoint_url` (no `AWS_ENDPOINT_URL`, no `--endpoint-url`) is honoured, and the emulator
/// adjustments follow it: S3 Control and path-style S3 work against the emulator.
#[tokio::test]
async fn a_profile_endpoint_url_gets_the_emulator_adjustments() {
    let account = Account::fresh().await;
    let (_dir, config) = account.profile_file("emulated", Some(&crate::harness::emulator().endpoint));
    let env = vec![("AWS_CONFIG_FILE", config.display().to_string()), ("AWS_REGION", "us-east-1".to_string())];
    let baseline = standard_baseline();
    let args = ["apply", "--yes", "--profile", "emulated", "--baseline", baseline.to_str().unwrap(), "--only", "s3", "--only", "logs.bucket", "--output", "json", "-q"];
    let output = mamori(&args, &env);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&output), stderr(&output)));
    let errors: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["status"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(output.status.code(), Some(0), "{report}");
}
