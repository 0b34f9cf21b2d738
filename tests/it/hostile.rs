//! Account content that AWS allows but that breaks naive code: long IAM names full of `+=,.@_-`,
//! security groups named with `&`, `<`-free punctuation and described in unicode, EC2 tags with quotes,
//! newlines and `<script>`, policy documents in every valid odd shape, and user data that is binary,
//! gzip inside base64, or 16 KB. `verify` must report it all correctly, keep the text, JSON, HTML and
//! CSV reports well-formed, and never print the secret access keys it meets.

use std::io::Write;

use aws_sdk_ec2::types::{InstanceType, IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use mamori::aws::AccessMode;
use serde_json::Value;

use crate::harness::{mamori, standard_baseline, stderr, stdout, Account};

/// A secret access key written into user data (AWS's documented example key, never valid).
const USER_DATA_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const USER_DATA_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

/// 64 characters, IAM's longest user name, with every punctuation mark IAM allows in one.
const LONG_USER: &str = "app+deploy=prod,team.ops@example_com-0123456789abcdefghijklmnopq";

/// A security group name with every punctuation mark EC2 allows in one.
const GROUP_NAME: &str = "legacy ._-:/()#,@[]+=&;{}!$* group";

/// A tag value no report may render as markup or split a line or a CSV record on.
const HOSTILE_TAG: &str = "<script>alert(\"mamori\")</script> 'quoted' \"double\"\nsecond line, comma; 設定";

fn script_with_key() -> String {
    format!("#!/bin/bash\nexport AWS_ACCESS_KEY_ID={USER_DATA_KEY_ID}\nexport AWS_SECRET_ACCESS_KEY={USER_DATA_SECRET}\n")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Policy documents in the shapes the policy grammar allows; `true` where it grants `*` on `*`.
fn odd_policies() -> Vec<(&'static str, Value, bool)> {
    vec![
        ("single-statement-object", serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}), true),
        ("star-colon-star-in-a-list", serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}]}), true),
        ("not-action", serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}), false),
        ("not-resource", serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]}), false),
        (
            "conditions-list-and-scalar",
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"], "aws:PrincipalTag/team": "ops"}, "Bool": {"aws:SecureTransport": "true"}}}]}),
            false,
        ),
        ("deny-everything-else", serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": ["s3:*", "kms:Decrypt"], "NotResource": "arn:aws:s3:::a/*"}]}), false),
    ]
}

/// Fills `account` with the hostile content; returns (the IAM secret created, the instances whose
/// user data holds a key, the instances whose user data holds none).
async fn populate(account: &Account) -> (String, Vec<String>, Vec<String>) {
    let aws = account.aws(AccessMode::ReadWrite).await;
    let iam = aws.iam();
    iam.create_user().user_name(LONG_USER).send().await.unwrap();
    iam.create_login_profile().user_name(LONG_USER).password("Hostile-Passw0rd-Not-Secret!").send().await.unwrap();
    let key = iam.create_access_key().user_name(LONG_USER).send().await.unwrap();
    let secret = key.access_key().unwrap().secret_access_key().to_string();
    for (name, document, _) in odd_policies() {
        iam.create_policy().policy_name(format!("odd+{name}=@,.")).policy_document(document.to_string()).send().await.unwrap();
    }

    let ec2 = aws.ec2("us-east-1");
    let vpc = ec2.describe_vpcs().send().await.unwrap().vpcs().iter().find(|v| v.is_default() == Some(true)).unwrap().vpc_id().unwrap().to_string();
    let group = ec2
        .create_security_group()
        .group_name(GROUP_NAME)
        .description("ssh for ops ._-:/()#,@[]+=&;{}!$*")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let ssh = IpPermission::builder().ip_protocol("tcp").from_port(22).to_port(22).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").description("from anywhere \"quoted\" & <b>").build()).build();
    ec2.authorize_security_group_ingress().group_id(group.group_id().unwrap()).ip_permissions(ssh).send().await.unwrap();

    let image = ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
    let sixteen_kb = {
        let mut script = "#!/bin/bash\n".to_string();
        while script.len() < 16 * 1024 - 200 {
            script.push_str("echo 'padding line of a long legacy bootstrap script' >> /var/log/boot.log\n");
        }
        script.push_str(&script_with_key());
        script.into_bytes()
    };
    let binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let user_data: Vec<(&str, Vec<u8>, bool)> = vec![
        ("gzip", gzip(script_with_key().as_bytes()), true),
        ("16 KB", sixteen_kb, true),
        ("binary", binary, false),
    ];
    let (mut with_key, mut without_key) = (Vec::new(), Vec::new());
    for (what, bytes, holds_key) in user_data {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key("Name").value(format!("{what} {HOSTILE_TAG}")).build())
            .tags(Tag::builder().key("owner \"<&>\"").value(HOSTILE_TAG).build())
            .build();
        let out = ec2
            .run_instances()
            .image_id(&image)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .user_data(aws_smithy_types::base64::encode(&bytes))
            .tag_specifications(tags)
            .send()
            .await
            .unwrap();
        let id = out.instances()[0].instance_id().unwrap().to_string();
        if holds_key { with_key.push(id) } else { without_key.push(id) }
    }
    (secret, with_key, without_key)
}

fn finding<'a>(report: &'a Value, control: &str, resource_part: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["control"] == control && f["resource"].as_str().is_some_and(|r| r.contains(resource_part)))
        .unwrap_or_else(|| panic!("no {control} finding for {resource_part}"))
}

#[tokio::test]
async fn hostile_names_documents_and_user_data_are_reported_correctly_in_well_formed_output() {
    let account = Account::fresh().await;
    let (iam_secret, with_key, without_key) = populate(&account).await;
    let dir = tempfile::tempdir().unwrap();
    let (html, csv) = (dir.path().join("report.html"), dir.path().join("report.csv"));
    let baseline = standard_baseline();
    let baseline = baseline.to_str().unwrap();
    let reports = [format!("html={}", html.display()), format!("csv={}", csv.display())];
    let json_run = mamori(&["verify", "--baseline", baseline, "--region", "us-east-1", "--output", "json", "--report", &reports[0], "--report", &reports[1]], &account.env());
    let text_run = mamori(&["verify", "--baseline", baseline, "--region", "us-east-1", "--output", "text", "-v"], &account.env());

    // JSON: parses back, and the findings are right.
    let report: Value = serde_json::from_str(&stdout(&json_run)).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stderr(&json_run)));
    let errors: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["status"] == "error").collect();
    assert!(errors.is_empty(), "no control failed to evaluate: {errors:#?}");
    assert_eq!(json_run.status.code(), Some(2), "drift, no error:\n{}", stderr(&json_run));
    for id in &with_key {
        let found = finding(&report, "ec2.embedded-keys", id);
        assert_eq!(found["status"], "manual", "{found}");
        assert!(found["message"].as_str().unwrap().contains("AKIA") && !found["message"].as_str().unwrap().contains(USER_DATA_KEY_ID), "the key id is named masked: {found}");
    }
    for id in &without_key {
        assert_eq!(finding(&report, "ec2.embedded-keys", id)["status"], "pass");
    }
    assert_eq!(finding(&report, "iam.console-mfa", LONG_USER)["status"], "manual");
    for (name, _, grants_everything) in odd_policies() {
        let status = &finding(&report, "iam.no-star-policies", name)["status"];
        assert_eq!(status, if grants_everything { "manual" } else { "pass" }, "policy {name}");
    }
    let ssh = report["findings"].as_array().unwrap().iter().filter(|f| f["control"] == "ec2.no-open-admin-ports" && f["status"] == "manual").count();
    assert_eq!(ssh, 1, "the oddly named group with SSH open");

    // CSV: every record has the header's width, and one record per finding.
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let width = reader.headers().unwrap().len();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a well-formed CSV record")).collect();
    assert!(records.iter().all(|r| r.len() == width), "ragged CSV");
    assert_eq!(records.len(), report["findings"].as_array().unwrap().len(), "one CSV record per finding");

    // HTML and text: nothing from the account becomes markup; the text run succeeds.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<script>alert") && !page.contains("& <b>") && !page.contains("\"<&>\""), "account content rendered as markup");
    // Only ids, names and values reach the reports (a group's name and the tags do not): the quotes in
    // a finding's message, and every user and policy name, come through escaped and whole.
    assert!(page.contains("&quot;from_port&quot;:22") && !page.contains("\"from_port\":22"), "quotes in a message, escaped");
    assert!(page.contains(LONG_USER) && page.contains("odd+single-statement-object=@,."), "odd names, whole");
    assert_eq!(text_run.status.code(), Some(2), "{}", stderr(&text_run));

    // No secret in any output, at any verbosity.
    let outputs = [stdout(&json_run), stderr(&json_run), stdout(&text_run), stderr(&text_run), page, std::fs::read_to_string(&csv).unwrap()];
    for secret in [USER_DATA_SECRET, iam_secret.as_str()].into_iter().chain(account.credential_strings().iter().skip(1).map(String::as_str)) {
        assert!(outputs.iter().all(|o| !o.contains(secret)), "a secret access key was printed");
    }
}
