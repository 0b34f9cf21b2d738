//! Instance roles judged against the shipped baselines' Session Manager preferences, over policy
//! fixtures: the AWS managed `AmazonSSMManagedInstanceCore` (as AWS publishes it) and mamori's own
//! templates.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::baseline::Baseline;
use crate::inventory::iam_authorization::Grants;

const ACCOUNT: &str = "111122223333";
const PROFILE: &str = "arn:aws:iam::111122223333:instance-profile/apps/legacy-app";
const INSTANCE: &str = "i-0123456789abcdef0";
const CORE: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

fn caller() -> Caller {
    Caller { account_id: ACCOUNT.into(), partition: "aws".into(), arn: String::new() }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A shipped baseline, in two regions; `edit` changes its text first.
fn baseline(name: &str, edit: impl Fn(String) -> String) -> Baseline {
    let path = root().join(format!("baselines/{name}.yaml"));
    let text = edit(std::fs::read_to_string(&path).unwrap());
    let baseline = Baseline::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    baseline.with_regions(["us-east-1", "eu-west-1"].iter().map(|r| RegionName::parse(r).unwrap()).collect()).unwrap()
}

fn core() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/policies/AmazonSSMManagedInstanceCore.json")).unwrap()).unwrap()
}

fn key(region: &str) -> String {
    format!("arn:aws:kms:{region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
}

/// What Session Manager asks of a role for an instance in `region` under `baseline`, the session log
/// bucket being the audit bucket (encrypted with the home region's key).
fn wanted<'a>(baseline: &'a Baseline, region: &str) -> impl Fn(&str) -> Vec<Request> + 'a {
    let region = RegionName::parse(region).unwrap();
    move |role: &str| {
        let caller = caller();
        let names = Names::new(baseline, &caller);
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
        service_access::session_manager_requests(&names, &role_arn, &region, INSTANCE, Some(&key(region.as_str())), Some(&key("us-east-1")))
    }
}

fn details(inline: Vec<Value>, attached: &[&str]) -> Authorization {
    let inline = inline.into_iter().enumerate().map(|(i, document)| (format!("inline-{i}"), document)).collect();
    let grants = Grants { attached: attached.iter().map(|a| a.to_string()).collect(), inline };
    let role = RoleGrants { grants, instance_profiles: vec![PROFILE.to_string()] };
    Authorization { roles: BTreeMap::from([("legacy-role".to_string(), role)]), ..Authorization::default() }
}

/// A template of the baseline, rendered for the account.
fn template(baseline: &Baseline, name: &str) -> Value {
    let caller = caller();
    let names = Names::new(baseline, &caller);
    baseline.templates.render(name, &names.vars(baseline.home_region()))
}

fn missing(baseline: &Baseline, region: &str, inline: Vec<Value>, attached: &[&str]) -> Vec<String> {
    let read = |arn: &str| (arn == CORE).then(core);
    gap(wanted(baseline, region), PROFILE, &details(inline, attached), read).unwrap().missing
}

#[test]
fn the_managed_core_policy_alone_cannot_open_a_session_under_the_shipped_preferences() {
    for name in ["standard", "strict"] {
        let baseline = baseline(name, |text| text);
        let bucket = format!("arn:aws:s3:::mamori-audit-{ACCOUNT}-us-east-1");
        let expected = [
            format!("kms:Decrypt on {}", key("eu-west-1")),
            format!("s3:PutObject on {bucket}/session-logs/eu-west-1/{INSTANCE}-0a1b2c3d4e5f67890.log"),
            format!("s3:GetEncryptionConfiguration on {bucket}"),
            format!("kms:GenerateDataKey on {}", key("us-east-1")),
        ];
        assert_eq!(missing(&baseline, "eu-west-1", vec![], &[CORE]), expected, "{name}");
    }
}

#[test]
fn without_preferences_the_agent_channels_suffice() {
    let standard = std::fs::read_to_string(root().join("baselines/standard.yaml")).unwrap();
    let at = standard.find("ssm:\n").expect("the standard baseline has an ssm section");
    let without = baseline("standard", |text| text[..at].to_string());
    assert_eq!(without.session_preferences, None);
    assert_eq!(missing(&without, "us-east-1", vec![], &[CORE]), Vec::<String>::new());
}

#[test]
fn the_shipped_template_opens_sessions_under_the_shipped_preferences_in_every_region() {
    for name in ["standard", "strict"] {
        let baseline = baseline(name, |text| text);
        let shipped = template(&baseline, SESSION_MANAGER_TEMPLATE);
        for region in ["us-east-1", "eu-west-1"] {
            assert_eq!(missing(&baseline, region, vec![shipped.clone()], &[]), Vec::<String>::new(), "{name} in {region}");
        }
    }
}

#[test]
fn a_session_log_group_needs_the_cloudwatch_template_too() {
    let with_group = baseline("standard", |text| {
        text.replace("    # cloudwatch_log_group: \"/mamori/session-manager\"", "    cloudwatch_log_group: \"/mamori/session-manager\"")
            .replace("policies: [ssm-session-instance] ", "policies: [ssm-session-instance, ssm-session-cloudwatch-logs] ")
    });
    assert!(with_group.session_preferences.as_ref().unwrap().cloudwatch_log_group.is_some(), "the edit named a log group");
    let shipped = template(&with_group, SESSION_MANAGER_TEMPLATE);
    let logs = template(&with_group, "ssm-session-cloudwatch-logs");
    let without_logs = missing(&with_group, "eu-west-1", vec![shipped.clone()], &[]);
    assert_eq!(without_logs.len(), 4, "{without_logs:?}");
    assert!(without_logs.iter().all(|m| m.starts_with("logs:")), "{without_logs:?}");
    assert_eq!(missing(&with_group, "eu-west-1", vec![shipped, logs], &[]), Vec::<String>::new());
}

#[test]
fn the_template_names_the_key_by_the_baselines_alias() {
    let renamed = baseline("standard", |text| text.replace("alias: mamori-baseline", "alias: team-key"));
    let shipped = template(&renamed, SESSION_MANAGER_TEMPLATE);
    let missing = missing(&renamed, "us-east-1", vec![shipped], &[]);
    assert_eq!(missing.len(), 2, "the template's alias condition no longer matches: {missing:?}");
    assert!(missing.iter().all(|m| m.starts_with("kms:")), "{missing:?}");
}

#[test]
fn the_gap_is_what_inline_and_attached_policies_leave_out() {
    let standard = baseline("standard", |text| text);
    let no_document = |_: &str| None;
    let s3_read = json!({"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
    let gap_of = |inline: Value, attached: &[&str]| gap(wanted(&standard, "us-east-1"), PROFILE, &details(vec![inline], attached), no_document);
    let reader = gap_of(s3_read.clone(), &[]).unwrap();
    assert_eq!((reader.profile.as_str(), reader.role.as_deref()), ("legacy-app", Some("legacy-role")));
    assert!(reader.missing.iter().any(|m| m == "ssm:UpdateInstanceInformation") && reader.missing.iter().any(|m| m == "ssmmessages:OpenDataChannel"));
    assert!(!reader.missing.iter().any(|m| m.starts_with("s3:GetEncryptionConfiguration")), "s3:Get* covers it: {:?}", reader.missing);
    assert_eq!(gap_of(s3_read, &[CORE]), None, "an unread attached policy: no answer");

    let shipped = template(&standard, SESSION_MANAGER_TEMPLATE);
    let deny = json!({"Statement": [{"Effect": "Deny", "Action": "ssmmessages:OpenDataChannel", "Resource": "*"}]});
    assert_eq!(missing(&standard, "us-east-1", vec![shipped, deny], &[]), ["ssmmessages:OpenDataChannel"], "a Deny wins");

    let elsewhere = "arn:aws:iam::111122223333:instance-profile/other";
    let roleless = gap(wanted(&standard, "us-east-1"), elsewhere, &details(vec![], &[]), no_document).unwrap();
    assert_eq!((roleless.profile.as_str(), roleless.role.clone()), ("other", None), "a profile without a role");
    assert_eq!(roleless.missing.len(), 9, "everything: {:?}", roleless.missing);
}

#[test]
fn keys_named_by_s3_become_arns() {
    let caller = caller();
    assert_eq!(key_arn(&caller, "eu-west-1", &key("us-east-1")), key("us-east-1"));
    assert_eq!(key_arn(&caller, "eu-west-1", "1234"), format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"));
    assert_eq!(key_arn(&caller, "eu-west-1", "alias/logs"), format!("arn:aws:kms:eu-west-1:{ACCOUNT}:alias/logs"));
}

#[test]
fn steps_name_the_instance_profile_role_what_is_missing_and_both_fixes() {
    let settings_with = |roles: &[(&str, &str)]| Settings {
        trust_template: "ec2-instance-trust".into(),
        attach_to_unprofiled_instances: false,
        roles: roles.iter().map(|(name, template)| InstanceRole { name: name.to_string(), policy_templates: vec![template.to_string()] }).collect(),
    };
    let caller = caller();
    let region = "eu-west-1";
    let gap = SessionManagerGap { profile: "legacy-app".into(), role: Some("legacy-role".into()), missing: vec!["ssm:UpdateInstanceInformation".into()] };
    let settings = settings_with(&[("app-mailer", "ses-send-from-identity"), ("mamori-ssm-session-instance", SESSION_MANAGER_TEMPLATE)]);
    let text = steps(&settings, &caller, "us-east-1", region, "i-0abc", &gap);
    for part in [
        "i-0abc (eu-west-1)",
        "instance profile legacy-app",
        "role legacy-role",
        "ssm:UpdateInstanceInformation",
        "aws iam put-role-policy --role-name legacy-role --policy-name ssm-session-instance",
        "{account_id} = 111122223333",
        "{home_region} = us-east-1",
        "--filters Name=instance-id,Values=i-0abc",
        "replace-iam-instance-profile-association --region eu-west-1",
        "--iam-instance-profile Name=mamori-ssm-session-instance",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    let without_session_role = steps(&settings_with(&[("app-mailer", "ses-send-from-identity")]), &caller, "us-east-1", region, "i-0abc", &gap);
    assert!(!without_session_role.contains("replace-iam-instance-profile-association"), "no baseline profile to move to: {without_session_role}");
    let roleless = SessionManagerGap { role: None, ..gap };
    let text = steps(&settings, &caller, "us-east-1", region, "i-0abc", &roleless);
    assert!(text.contains("holds no role") && text.contains("add-role-to-instance-profile --instance-profile-name legacy-app"), "{text}");
}
