//! Malformed baselines: each is rejected with exit 1, `file:line:col` and the key named, and no AWS
//! call (every call would hit a tripwire port, which must stay untouched).

use crate::harness::{baseline_file, in_days, mamori, stderr, Tripwire};

const VALID_HEAD: &str = "version: 1\nname: t\nregions: [us-east-1]\n";

/// (what is wrong, the file, the line, the key the message must name)
fn cases() -> Vec<(&'static str, String, usize, &'static str)> {
    vec![
        ("unknown top-level key", format!("{VALID_HEAD}regionz: [eu-west-1]\n"), 4, "regionz"),
        ("unknown nested key", format!("{VALID_HEAD}iam:\n  password_policy:\n    minimum_lenght: 14\n"), 6, "iam.password_policy.minimum_lenght"),
        ("regions is not a list", "version: 1\nname: t\nregions: us-east-1\n".into(), 3, "regions"),
        ("unknown region", "version: 1\nname: t\nregions:\n  - us-east-1\n  - us-east-9\n".into(), 5, "regions[1]"),
        ("duplicate region", "version: 1\nname: t\nregions: [us-east-1, us-east-1]\n".into(), 3, "regions"),
        ("regions of two partitions", "version: 1\nname: t\nregions:\n  - us-east-1\n  - cn-north-1\n".into(), 5, "regions[1]"),
        (
            "a bucket name too long in the longest region",
            format!("{VALID_HEAD}logs:\n  bucket:\n    name: central-audit-logs-of-the-organization-{{account_id}}-{{region}}\n"),
            6,
            "logs.bucket.name",
        ),
        ("length below the minimum", format!("{VALID_HEAD}iam:\n  password_policy:\n    minimum_length: 4\n"), 6, "iam.password_policy.minimum_length"),
        ("negative reuse count", format!("{VALID_HEAD}iam:\n  password_policy:\n    reuse_prevention: -1\n"), 6, "iam.password_policy.reuse_prevention"),
        ("unsupported version", "version: 2\nname: t\nregions: [us-east-1]\n".into(), 1, "version"),
        ("missing regions", "version: 1\nname: t\n".into(), 1, "regions"),
        ("reserved alias", format!("{VALID_HEAD}kms:\n  baseline_key:\n    alias: aws/ebs\n"), 6, "kms.baseline_key.alias"),
        ("unknown template", format!("{VALID_HEAD}kms:\n  baseline_key:\n    policy: no-such-policy\n"), 6, "kms.baseline_key.policy"),
        ("wrong type for a flag", format!("{VALID_HEAD}ebs:\n  default_encryption:\n    enabled: maybe\n"), 6, "ebs.default_encryption.enabled"),
        ("empty name", "version: 1\nname: \"\"\nregions: [us-east-1]\n".into(), 2, "name"),
        ("unused days out of range", format!("{VALID_HEAD}iam:\n  unused_credentials:\n    max_unused_days: 0\n"), 6, "iam.unused_credentials.max_unused_days"),
        ("opt-in fix that is not a flag", format!("{VALID_HEAD}iam:\n  unused_credentials:\n    disable_unused: sometimes\n"), 6, "iam.unused_credentials.disable_unused"),
        ("key age that is not a number", format!("{VALID_HEAD}iam:\n  access_key_rotation:\n    max_age_days: ninety\n"), 6, "iam.access_key_rotation.max_age_days"),
        ("unknown console-mfa key", format!("{VALID_HEAD}iam:\n  console_mfa:\n    remove_login: true\n"), 6, "iam.console_mfa.remove_login"),
        (
            "vpce-only without a break-glass principal",
            format!("{VALID_HEAD}vpc:\n  endpoints: {{}}\n  s3_bucket_vpce_only:\n    buckets:\n      - name: data-bucket\n        stage: vpce-only\n"),
            6,
            "vpc.s3_bucket_vpce_only.break_glass_principals",
        ),
        (
            "an empty break-glass list",
            format!("{VALID_HEAD}vpc:\n  endpoints: {{}}\n  s3_bucket_vpce_only:\n    break_glass_principals: []\n    buckets: [{{name: data-bucket}}]\n"),
            7,
            "vpc.s3_bucket_vpce_only.break_glass_principals",
        ),
        (
            "a malformed CIDR",
            format!("{VALID_HEAD}vpc:\n  endpoints: {{}}\n  s3_bucket_vpce_only:\n    break_glass_principals: [\"arn:aws:iam::123456789012:role/B\"]\n    buckets:\n      - name: data-bucket\n        stage: allow-ip-or-vpce\n        source_ips:\n          - 203.0.113.0/24\n          - 10.0.0/8\n"),
            13,
            "vpc.s3_bucket_vpce_only.buckets[0].source_ips[1]",
        ),
        (
            "an unknown endpoint service",
            format!("{VALID_HEAD}vpc:\n  endpoints:\n    interface_services: [ssm, ssn]\n"),
            6,
            "vpc.endpoints.interface_services[1]",
        ),
        ("a VPC id that is not one", format!("{VALID_HEAD}vpc:\n  endpoints:\n    vpcs:\n      ids: [vpc-12x]\n"), 7, "vpc.endpoints.vpcs.ids[0]"),
        (
            "stage 1 without source ranges",
            format!("{VALID_HEAD}vpc:\n  endpoints: {{}}\n  s3_bucket_vpce_only:\n    break_glass_principals: [\"arn:aws:iam::123456789012:role/B\"]\n    buckets:\n      - name: data-bucket\n        stage: allow-ip-or-vpce\n"),
            9,
            "vpc.s3_bucket_vpce_only.buckets[0]",
        ),
        (
            "endpoint-only buckets without vpc.endpoints",
            format!("{VALID_HEAD}vpc:\n  s3_bucket_vpce_only:\n    break_glass_principals: [\"arn:aws:iam::123456789012:role/B\"]\n    buckets: [{{name: data-bucket}}]\n"),
            5,
            "vpc.s3_bucket_vpce_only",
        ),
        (
            "a security group id that is not one",
            format!("{VALID_HEAD}vpc:\n  restricted_egress:\n    security_groups:\n      - sg-0123456789abcdef0\n      - not-a-group\n"),
            8,
            "vpc.restricted_egress.security_groups[1]",
        ),
        (
            "the retired S3 endpoint policy setting",
            format!("{VALID_HEAD}vpc:\n  endpoints:\n    s3_endpoint_policy: vpc-s3-endpoint-own-account\n"),
            6,
            "vpc.endpoints.s3_endpoint_policy",
        ),
        ("an endpoint policy that is not a perimeter", format!("{VALID_HEAD}vpc:\n  endpoints:\n    endpoint_policy: open\n"), 6, "vpc.endpoints.endpoint_policy"),
        ("restricted egress naming no group", format!("{VALID_HEAD}vpc:\n  restricted_egress:\n    security_groups: []\n"), 5, "vpc.restricted_egress"),
        ("opt-in that is not a flag", format!("{VALID_HEAD}ec2:\n  no_open_admin_ports:\n    revoke_open_admin_ports: sometimes\n"), 6, "ec2.no_open_admin_ports.revoke_open_admin_ports"),
        ("unknown IMDS setting", format!("{VALID_HEAD}ec2:\n  imdsv2:\n    running_instance: true\n"), 6, "ec2.imdsv2.running_instance"),
        ("IMDS token hop limit out of range", format!("{VALID_HEAD}ec2:\n  imdsv2:\n    http_put_response_hop_limit: 65\n"), 6, "ec2.imdsv2.http_put_response_hop_limit"),
        ("network ACL opt-in that is not a flag", format!("{VALID_HEAD}vpc:\n  nacl_admin_ports:\n    deny_open_admin_ports: maybe\n"), 6, "vpc.nacl_admin_ports.deny_open_admin_ports"),
        ("endpoint group opt-in misspelt", format!("{VALID_HEAD}vpc:\n  endpoints:\n    revoke_other_ingres: true\n"), 6, "vpc.endpoints.revoke_other_ingres"),
        ("idle timeout of zero minutes", format!("{VALID_HEAD}ssm:\n  session_preferences:\n    idle_session_timeout_minutes: 0\n"), 6, "ssm.session_preferences.idle_session_timeout_minutes"),
        ("session preferences without the baseline key", format!("{VALID_HEAD}ssm:\n  session_preferences:\n    idle_session_timeout_minutes: 10\n"), 5, "ssm.session_preferences"),
        ("unknown variable in a log bucket", format!("{VALID_HEAD}ssm:\n  session_preferences:\n    s3_bucket: logs-{{acount_id}}\n"), 6, "ssm.session_preferences.s3_bucket"),
        ("no instance roles", format!("{VALID_HEAD}ec2:\n  instance_roles:\n    roles: []\n"), 6, "ec2.instance_roles.roles"),
        ("invalid role name", format!("{VALID_HEAD}ec2:\n  instance_roles:\n    roles:\n      - name: bad/name\n        policies: [ssm-session-instance]\n"), 7, "ec2.instance_roles.roles[0].name"),
        ("unknown role policy template", format!("{VALID_HEAD}ec2:\n  instance_roles:\n    roles:\n      - name: app\n        policies: [no-such-policy]\n"), 8, "ec2.instance_roles.roles[0].policies[0]"),
        ("invalid replacement role", format!("{VALID_HEAD}ec2:\n  embedded_keys:\n    replacement_role: \"my role\"\n"), 6, "ec2.embedded_keys.replacement_role"),
        ("maximum age of zero days", format!("{VALID_HEAD}iam:\n  password_policy:\n    max_age_days: 0\n"), 6, "iam.password_policy.max_age_days"),
        ("an exception for an unknown control", exception("control: iam.pasword-policy", &in_days(30), ""), 5, "exceptions[0].control"),
        ("an exception without an owner", format!("{VALID_HEAD}exceptions:\n  - control: iam\n    reason: r\n    expires: {}\n", in_days(30)), 5, "exceptions[0].owner"),
        ("an exception without a reason", format!("{VALID_HEAD}exceptions:\n  - control: iam\n    owner: o\n    expires: {}\n", in_days(30)), 5, "exceptions[0].reason"),
        ("an exception without an expiry", format!("{VALID_HEAD}exceptions:\n  - control: iam\n    reason: r\n    owner: o\n"), 5, "exceptions[0].expires"),
        ("an exception expiring on a day that does not exist", exception("control: iam", "2027-02-29", ""), 8, "exceptions[0].expires"),
        ("an exception more than a year ahead", exception("control: iam", &in_days(367), ""), 8, "exceptions[0].expires"),
        ("an exception with an unknown key", exception("control: iam", &in_days(30), "    approved_by: me\n"), 9, "exceptions[0].approved_by"),
    ]
}

/// A baseline with one exception: `control`, a reason and owner, `expires`, then `extra` lines.
fn exception(control: &str, expires: &str, extra: &str) -> String {
    format!("{VALID_HEAD}exceptions:\n  - {control}\n    reason: r\n    owner: o\n    expires: {expires}\n{extra}")
}

#[test]
fn malformed_baselines_are_rejected_before_any_call() {
    let cases = cases();
    assert!(cases.len() >= 10);
    for (what, yaml, line, key) in cases {
        let (_dir, path) = baseline_file(&yaml);
        let tripwire = Tripwire::new();
        let output = mamori(&["verify", "--baseline", path.to_str().unwrap()], &tripwire.env());
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{what}: exit code\n{message}");
        let location = format!("{}:{line}:", path.display());
        assert!(message.contains(&location), "{what}: expected {location} in:\n{message}");
        assert!(message.contains(&format!("key `{key}`")), "{what}: expected key `{key}` in:\n{message}");
        assert!(!tripwire.touched(), "{what}: an AWS call was made");
    }
}

#[test]
fn a_template_with_an_unknown_variable_is_rejected_with_its_key() {
    let (dir, path) = baseline_file(&format!("{VALID_HEAD}kms:\n  baseline_key:\n    policy: mine\n"));
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/mine.json"), r#"{"Statement": [{"Resource": "arn:{partition}:s3:::{bucket_name}"}]}"#).unwrap();
    let tripwire = Tripwire::new();
    let output = mamori(&["plan", "--baseline", path.to_str().unwrap()], &tripwire.env());
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains(":6:") && message.contains("key `kms.baseline_key.policy`") && message.contains("{bucket_name}"), "{message}");
    assert!(!tripwire.touched());
}

#[test]
fn invalid_yaml_is_rejected_with_its_line() {
    let (_dir, path) = baseline_file("version: 1\nname: t\nregions: [us-east-1\n");
    let tripwire = Tripwire::new();
    let output = mamori(&["verify", "--baseline", path.to_str().unwrap()], &tripwire.env());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains(&format!("{}:", path.display())), "{}", stderr(&output));
    assert!(!tripwire.touched());
}

#[test]
fn a_missing_baseline_file_is_named() {
    let tripwire = Tripwire::new();
    let output = mamori(&["verify", "--baseline", "/nonexistent/mamori.yaml"], &tripwire.env());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/nonexistent/mamori.yaml"));
    assert!(!tripwire.touched());
}

#[test]
fn a_huge_or_deeply_nested_baseline_is_refused_at_once_with_its_file_named() {
    // Under the size limit (indentation grows with depth): the depth limit refuses it.
    let deep_mapping: String = (0..1_400).map(|depth| format!("{}k:\n", " ".repeat(depth + 2))).collect();
    let cases = [
        ("a 10 MB baseline", format!("{VALID_HEAD}# {}\n", "a".repeat(10 * 1024 * 1024)), "bytes, more than the"),
        ("a block mapping 1,400 levels deep", format!("{VALID_HEAD}iam:\n{deep_mapping}"), "nested more than"),
        ("a flow sequence 10,000 levels deep", format!("{VALID_HEAD}iam: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)), "nested more than"),
    ];
    for (what, yaml, expected) in cases {
        let (_dir, path) = baseline_file(&yaml);
        let tripwire = Tripwire::new();
        let started = std::time::Instant::now();
        let output = mamori(&["verify", "--baseline", path.to_str().unwrap()], &tripwire.env());
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{what}: exit code\n{message}");
        assert!(message.contains(&path.display().to_string()) && message.contains(expected), "{what}: expected the file and `{expected}` in:\n{message}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{what}: took {:?}", started.elapsed());
        assert!(!tripwire.touched(), "{what}: an AWS call was made");
    }
}
