//! EC2 and Session Manager controls end to end on moto: `ec2.imdsv2`, `ec2.no-open-admin-ports`,
//! `ssm.session-preferences`, `ec2.instance-roles`, `ec2.embedded-keys`, and a legacy account that has
//! all their problems at once (nothing may be deleted, the fake secret may never be printed).

use aws_sdk_ec2::types::{Filter, IamInstanceProfileSpecification, InstanceType, IpPermission, IpRange, Ipv6Range};
use mamori::aws::AccessMode;
use mamori::report::{Action, Status, Verb};

use crate::controls::assert_all_pass;
use crate::controls::assert_converges_with;
use mamori::controls::ssm::session_preferences::DOCUMENT_NAME;
use crate::harness::{baseline_file, mamori, standard_baseline, stderr, stdout, Account};

const HEAD: &str = "version: 1\nname: t\nregions: [us-east-1]\n";

/// Launches one instance from an AMI the emulator knows; returns its id.
pub(crate) async fn launch(ec2: &aws_sdk_ec2::Client) -> String {
    launch_with(ec2, None, None).await
}

/// [`launch`] with user data (plain text, base64-encoded here) and an instance profile.
async fn launch_with(ec2: &aws_sdk_ec2::Client, user_data: Option<&str>, profile: Option<&str>) -> String {
    let images = ec2.describe_images().send().await.unwrap();
    let image = images.images()[0].image_id().unwrap().to_string();
    let profile = profile.map(|name| IamInstanceProfileSpecification::builder().name(name).build());
    let out = ec2
        .run_instances()
        .image_id(image)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .set_user_data(user_data.map(aws_smithy_types::base64::encode))
        .set_iam_instance_profile(profile)
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

async fn default_vpc(ec2: &aws_sdk_ec2::Client) -> String {
    let filter = Filter::builder().name("is-default").values("true").build();
    ec2.describe_vpcs().filters(filter).send().await.unwrap().vpcs()[0].vpc_id().unwrap().to_string()
}

/// A group with SSH open to the world (and from 10/8 in the same permission), HTTPS open to the world,
/// and RDP open to `::/0`.
async fn legacy_security_group(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    let vpc = default_vpc(ec2).await;
    let group = ec2.create_security_group().group_name(name).description("legacy").vpc_id(vpc).send().await.unwrap();
    let group_id = group.group_id().unwrap().to_string();
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
        .build();
    let https = IpPermission::builder().ip_protocol("tcp").from_port(443).to_port(443).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build()).build();
    let rdp = IpPermission::builder().ip_protocol("tcp").from_port(3389).to_port(3389).ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build()).build();
    ec2.authorize_security_group_ingress().group_id(&group_id).ip_permissions(ssh).ip_permissions(https).ip_permissions(rdp).send().await.unwrap();
    group_id
}

/// (protocol, port, source) of every ingress source of a group.
async fn ingress(ec2: &aws_sdk_ec2::Client, group_id: &str) -> Vec<(String, i32, String)> {
    let groups = ec2.describe_security_groups().group_ids(group_id).send().await.unwrap();
    let mut sources = Vec::new();
    for permission in groups.security_groups()[0].ip_permissions() {
        let protocol = permission.ip_protocol().unwrap_or_default().to_string();
        let port = permission.from_port().unwrap_or(-1);
        for range in permission.ip_ranges() {
            sources.push((protocol.clone(), port, range.cidr_ip().unwrap().to_string()));
        }
        for range in permission.ipv6_ranges() {
            sources.push((protocol.clone(), port, range.cidr_ipv6().unwrap().to_string()));
        }
    }
    sources.sort();
    sources
}

#[tokio::test]
async fn imdsv2_is_required_by_default_and_on_running_instances() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let instance = launch(&ec2).await;
    let (_dir, baseline) = baseline_file(&format!("{HEAD}ec2:\n  imdsv2:\n    running_instances: true\n"));

    let plan = account.run(Verb::Plan, &baseline, &["ec2.imdsv2"]).await;
    let resources: Vec<&str> = plan.report.changes.iter().flatten().map(|c| c.resource.as_str()).collect();
    assert_eq!(resources, ["account-setting/instance-metadata-defaults".to_string(), format!("instance/{instance}")]);

    assert_converges_with(&account, &baseline, "ec2.imdsv2", &[]).await;
    let defaults = ec2.get_instance_metadata_defaults().send().await.unwrap();
    let level = defaults.account_level().unwrap();
    assert_eq!(level.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(level.http_put_response_hop_limit(), Some(2), "the default hop limit lets containers reach IMDSv2");
    let described = ec2.describe_instances().instance_ids(&instance).send().await.unwrap();
    let options = described.reservations()[0].instances()[0].metadata_options().unwrap().clone();
    assert_eq!(options.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(options.http_put_response_hop_limit(), Some(2), "the hop limit goes with the token requirement");
}

#[tokio::test]
async fn the_token_hop_limit_is_a_baseline_setting() {
    let account = Account::fresh().await;
    let (_dir, baseline) = baseline_file(&format!("{HEAD}ec2:\n  imdsv2:\n    http_put_response_hop_limit: 1\n"));
    assert_converges_with(&account, &baseline, "ec2.imdsv2", &[]).await;
    let ec2 = account.aws(AccessMode::ReadOnly).await.ec2("us-east-1");
    let defaults = ec2.get_instance_metadata_defaults().send().await.unwrap();
    assert_eq!(defaults.account_level().and_then(|l| l.http_put_response_hop_limit()), Some(1));
}

#[tokio::test]
async fn imdsv2_reports_instances_and_changes_them_only_when_the_baseline_says_so() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let instance = launch(&ec2).await;
    let apply = account.run(Verb::Apply, &standard_baseline(), &["ec2.imdsv2"]).await;
    assert_eq!(apply.report.exit_code(), 2, "the instance that still allows IMDSv1 is reported: {:#?}", apply.report);
    let findings = apply.report.finding("ec2.imdsv2");
    let default = findings.iter().find(|f| f.resource == "account-setting/instance-metadata-defaults").unwrap();
    assert_eq!(default.status, Status::Pass);
    let reported = findings.iter().find(|f| f.resource == format!("instance/{instance}")).expect("the instance is a finding");
    assert_eq!(reported.status, Status::Manual, "{reported:?}");
    let steps = reported.remediation.as_deref().unwrap();
    assert!(steps.contains(&format!("--instance-id {instance} --http-tokens required --http-put-response-hop-limit 2")), "{steps}");
    assert!(steps.contains("MetadataNoToken"), "{steps}");
    assert_eq!(reported.references.cis_v5, ["5.7"]);
    let sent: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(sent, ["ModifyInstanceMetadataDefaults"]);
    let described = ec2.describe_instances().instance_ids(&instance).send().await.unwrap();
    let tokens = described.reservations()[0].instances()[0].metadata_options().and_then(|o| o.http_tokens()).map(|t| t.as_str().to_string());
    assert_eq!(tokens.as_deref(), Some("optional"), "the running instance was not touched");
}

/// An organization whose EC2 declarative policy decides the member's instance metadata defaults
/// (optional tokens, with the platform team's message); returns the member account.
async fn member_under_an_imds_declarative_policy() -> Account {
    let management = Account::fresh().await;
    let organizations = management.aws(AccessMode::ReadWrite).await.organizations();
    organizations.create_organization().send().await.unwrap();
    let root = organizations.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let created = organizations.create_account().account_name("workload").email("workload@example.com").send().await.unwrap();
    let member = created.create_account_status.unwrap().account_id.unwrap();
    let content = r#"{"ec2_attributes": {"instance_metadata_defaults": {"http_tokens": {"@@assign": "optional"}, "http_put_response_hop_limit": {"@@assign": "3"}},
        "exception_message": {"@@assign": "IMDS defaults are set by the platform team"}}}"#;
    let policy = organizations
        .create_policy()
        .name("imds-defaults")
        .description("instance metadata defaults")
        .r#type(aws_sdk_organizations::types::PolicyType::DeclarativePolicyEc2)
        .content(content)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .policy_summary
        .unwrap()
        .id
        .unwrap();
    organizations.enable_policy_type().root_id(&root).policy_type(aws_sdk_organizations::types::PolicyType::DeclarativePolicyEc2).send().await.unwrap();
    organizations.attach_policy().policy_id(&policy).target_id(&member).send().await.unwrap();
    management.member(&member).await
}

#[tokio::test]
async fn imds_defaults_an_organizations_declarative_policy_manages_are_skipped_not_fought() {
    let member = member_under_an_imds_declarative_policy().await;
    for verb in [Verb::Verify, Verb::Apply, Verb::Apply] {
        let outcome = member.run(verb, &standard_baseline(), &["ec2.imdsv2"]).await;
        assert_eq!(outcome.report.exit_code(), 0, "{verb:?}: {:#?}", outcome.report);
        let finding = &outcome.report.finding("ec2.imdsv2")[0];
        assert_eq!(finding.status, Status::Skipped, "{finding:?}");
        assert!(finding.message.contains("managed by the organization's declarative policy"), "{}", finding.message);
        assert!(finding.message.contains("IMDS defaults are set by the platform team"), "the organization's message is passed on: {}", finding.message);
        assert!(outcome.calls.mutating_sent().is_empty(), "no ModifyInstanceMetadataDefaults against the policy: {:?}", outcome.calls.mutating_sent());
    }
}

/// The emulator rule on its own: the defaults the policy sets are reported as the policy's, and the
/// account cannot change them; an account outside the organization can.
#[tokio::test]
async fn the_emulator_refuses_imds_defaults_changes_under_a_declarative_policy() {
    let member = member_under_an_imds_declarative_policy().await;
    let ec2 = member.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let level = ec2.get_instance_metadata_defaults().send().await.unwrap().account_level.unwrap();
    assert_eq!(level.managed_by().map(|m| m.as_str()), Some("declarative-policy"));
    assert_eq!((level.http_tokens().map(|t| t.as_str()), level.http_put_response_hop_limit()), (Some("optional"), Some(3)));
    assert_eq!(level.managed_exception_message(), Some("IMDS defaults are set by the platform team"));
    let refused = ec2.modify_instance_metadata_defaults().http_tokens(aws_sdk_ec2::types::MetadataDefaultHttpTokensState::Required).send().await;
    let error = refused.expect_err("the account cannot change what the policy decides");
    assert_eq!(aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&error), Some("OperationNotPermitted"));

    let standalone = Account::fresh().await.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    standalone.modify_instance_metadata_defaults().http_tokens(aws_sdk_ec2::types::MetadataDefaultHttpTokensState::Required).send().await.unwrap();
    let level = standalone.get_instance_metadata_defaults().send().await.unwrap().account_level.unwrap();
    assert_eq!(level.managed_by(), None, "no policy, nothing managed elsewhere");
}

#[tokio::test]
async fn open_admin_ports_are_manual_without_the_opt_in() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let group = legacy_security_group(&ec2, "legacy-manual").await;
    let before = ingress(&ec2, &group).await;

    let verify = account.run(Verb::Verify, &standard_baseline(), &["ec2.no-open-admin-ports"]).await;
    assert_eq!(verify.report.exit_code(), 2);
    let findings = verify.report.finding("ec2.no-open-admin-ports");
    let resource = format!("security-group/{group}");
    let finding = findings.iter().find(|f| f.resource == resource).expect("a finding for the group");
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.remediation.as_deref().is_some_and(|r| r.contains(&group) && r.contains("revoke-security-group-ingress")), "{finding:?}");
    assert!(findings.iter().filter(|f| f.resource != resource).all(|f| f.status == Status::Pass), "other groups pass: {findings:?}");

    let apply = account.run(Verb::Apply, &standard_baseline(), &["ec2.no-open-admin-ports"]).await;
    assert_eq!(apply.report.exit_code(), 2, "still manual");
    assert!(apply.calls.mutating_sent().is_empty(), "nothing revoked without the opt-in: {:?}", apply.calls.mutating_sent());
    assert_eq!(ingress(&ec2, &group).await, before);
}

#[tokio::test]
async fn open_admin_ports_are_revoked_exactly_with_the_opt_in() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    let group = legacy_security_group(&ec2, "legacy-revoke").await;
    let (_dir, baseline) = baseline_file(&format!("{HEAD}ec2:\n  no_open_admin_ports:\n    revoke_open_admin_ports: true\n"));

    let apply = assert_converges_with(&account, &baseline, "ec2.no-open-admin-ports", &[]).await;
    let sent: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(sent, ["RevokeSecurityGroupIngress"], "one call for the one open group");
    let expected = vec![("tcp".to_string(), 22, "10.0.0.0/8".to_string()), ("tcp".to_string(), 443, "0.0.0.0/0".to_string())];
    assert_eq!(ingress(&ec2, &group).await, expected, "exactly the world-open SSH and RDP sources are gone");
    let groups = ec2.describe_security_groups().group_ids(&group).send().await.unwrap();
    assert_eq!(groups.security_groups().len(), 1, "the group itself is kept");
}

/// The default Session document's content, as JSON.
async fn session_document(ssm: &aws_sdk_ssm::Client) -> serde_json::Value {
    let out = ssm.get_document().name(DOCUMENT_NAME).document_format(aws_sdk_ssm::types::DocumentFormat::Json).send().await.unwrap();
    serde_json::from_str(out.content().unwrap()).unwrap()
}

#[tokio::test]
async fn session_preferences_converge_with_the_baseline_key() {
    let account = Account::fresh().await;
    let apply = assert_converges_with(&account, &standard_baseline(), "ssm.session-preferences", &[]).await;
    assert_all_pass(&apply, "kms.baseline-key");

    let aws = account.aws(AccessMode::ReadOnly).await;
    let key_arn = aws.kms("us-east-1").describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    let document = session_document(&aws.ssm("us-east-1")).await;
    let inputs = &document["inputs"];
    assert_eq!(inputs["kmsKeyId"], key_arn.as_str(), "sessions are encrypted with the baseline key");
    assert_eq!(inputs["s3BucketName"], format!("mamori-audit-{}-us-east-1", account.id).as_str(), "the audit-log bucket");
    let audit_bucket = format!("mamori-audit-{}-us-east-1", account.id);
    assert!(aws.s3("us-east-1").head_bucket().bucket(&audit_bucket).send().await.is_ok(), "logs.bucket made the bucket the sessions log to");
    assert_eq!(inputs["s3KeyPrefix"], "session-logs/us-east-1");
    assert_eq!(inputs["s3EncryptionEnabled"], true);
    assert_eq!(inputs["idleSessionTimeout"], "20");
    // ssm:DescribeDocument is no read mamori sends, so the read-only guard refuses it: a plain client.
    let described = account.aws(AccessMode::ReadWrite).await.ssm("us-east-1").describe_document().name(DOCUMENT_NAME).send().await.unwrap();
    assert_eq!(described.document().and_then(|d| d.document_type()).map(|t| t.as_str()), Some("Session"));
}

/// The default and latest version numbers of the Session document.
async fn session_versions(ssm: &aws_sdk_ssm::Client) -> (String, String) {
    let described = ssm.describe_document().name(DOCUMENT_NAME).send().await.unwrap().document.unwrap();
    (described.default_version().unwrap().to_string(), described.latest_version().unwrap().to_string())
}

#[tokio::test]
async fn preferences_changed_with_update_document_latest_are_drift_and_apply_leaves_one_version() {
    let account = Account::fresh().await;
    let only = ["ssm.session-preferences"];
    assert_converges_with(&account, &standard_baseline(), "ssm.session-preferences", &[]).await;
    let ssm = account.aws(AccessMode::ReadWrite).await.ssm("us-east-1");
    assert_eq!(session_versions(&ssm).await, ("1".to_string(), "1".to_string()));

    // AWS's documented command line procedure: `aws ssm update-document --name
    // SSM-SessionManagerRunShell --content file://... --document-version '$LATEST'`, here weakening the
    // preferences: no encryption, a longer idle timeout. It adds version 2; the default stays 1.
    let weakened = r#"{"schemaVersion": "1.0", "description": "changed by hand", "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": "", "s3EncryptionEnabled": false, "kmsKeyId": "", "idleSessionTimeout": "60"}}"#;
    ssm.update_document()
        .name(DOCUMENT_NAME)
        .document_version("$LATEST")
        .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
        .content(weakened)
        .send()
        .await
        .unwrap();
    assert_eq!(session_versions(&ssm).await, ("1".to_string(), "2".to_string()));

    let verify = account.run(Verb::Verify, &standard_baseline(), &only).await;
    assert_eq!(verify.report.exit_code(), 2, "{:#?}", verify.report.finding("ssm.session-preferences"));
    let finding = verify.report.finding("ssm.session-preferences").into_iter().find(|f| f.resource == format!("document/{DOCUMENT_NAME}")).unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert_eq!(finding.actual.as_ref().unwrap()["latest"]["inputs"]["idleSessionTimeout"], "60", "{finding:?}");
    let plan = account.run(Verb::Plan, &standard_baseline(), &only).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.control == "ssm.session-preferences").expect("a planned change");
    assert_eq!(change.before["latest"]["inputs"]["idleSessionTimeout"], "60", "{change:?}");
    assert!(change.after["latest"].is_null(), "after apply, no other latest version: {change:?}");

    let apply = account.run(Verb::Apply, &standard_baseline(), &only).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(writes, ["UpdateDocument", "UpdateDocumentDefaultVersion"], "a new version with the baseline's preferences, made the default");
    assert_eq!(session_versions(&ssm).await, ("3".to_string(), "3".to_string()), "default and latest are one version");
    assert_eq!(session_document(&ssm).await["inputs"]["idleSessionTimeout"], "20");

    // The default set back to the weakened version (the latest is the baseline's, as after a run
    // interrupted between its two writes): the latest is made the default again, no new version.
    ssm.update_document_default_version().name(DOCUMENT_NAME).document_version("2").send().await.unwrap();
    let apply = account.run(Verb::Apply, &standard_baseline(), &only).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(writes, ["UpdateDocumentDefaultVersion"]);
    assert_eq!(session_versions(&ssm).await, ("3".to_string(), "3".to_string()));

    let verify = account.run(Verb::Verify, &standard_baseline(), &only).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    let again = account.run(Verb::Apply, &standard_baseline(), &only).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert_eq!(again.calls.sent().len(), verify.calls.sent().len(), "a converged apply costs what verify costs");
    let reads = verify.calls.sent().iter().filter(|c| c.operation == "GetDocument").count();
    assert_eq!(reads, 2, "the default version and $LATEST");
}

#[tokio::test]
async fn an_existing_session_document_with_other_content_is_updated_not_recreated() {
    let account = Account::fresh().await;
    let ssm = account.aws(AccessMode::ReadWrite).await.ssm("us-east-1");
    let theirs = r#"{"schemaVersion": "1.0", "description": "set by hand", "sessionType": "Standard_Stream",
        "inputs": {"idleSessionTimeout": "60", "s3BucketName": "", "kmsKeyId": ""}}"#;
    ssm.create_document()
        .name(DOCUMENT_NAME)
        .document_type(aws_sdk_ssm::types::DocumentType::Session)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
        .content(theirs)
        .send()
        .await
        .unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["ssm.session-preferences"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.control == "ssm.session-preferences").expect("a planned change");
    assert_eq!(change.action, Action::Update, "{change:?}");

    let apply = account.run(Verb::Apply, &standard_baseline(), &["ssm.session-preferences"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let ssm_writes: Vec<String> =
        apply.calls.mutating_sent().iter().filter(|c| c.service.eq_ignore_ascii_case("ssm")).map(|c| c.operation.clone()).collect();
    assert_eq!(ssm_writes, ["UpdateDocument", "UpdateDocumentDefaultVersion"], "updated in place, not recreated");
    let described = ssm.describe_document().name(DOCUMENT_NAME).send().await.unwrap().document.unwrap();
    assert_eq!((described.default_version(), described.latest_version()), (Some("2"), Some("2")));
    assert_eq!(session_document(&ssm).await["inputs"]["idleSessionTimeout"], "20");

    let again = account.run(Verb::Apply, &standard_baseline(), &["ssm.session-preferences"]).await;
    assert_eq!(again.report.exit_code(), 0);
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    let described = ssm.describe_document().name(DOCUMENT_NAME).send().await.unwrap().document.unwrap();
    assert_eq!(described.latest_version(), Some("2"), "no new version");
}

const OWN_DESTINATIONS: &str = r#"
version: 1
name: own-session-destinations
regions: [us-east-1]
kms:
  baseline_key: {alias: mamori-baseline}
ssm:
  session_preferences:
    s3_bucket: "sessions-{account_id}"
    s3_key_prefix: sessions/
    cloudwatch_log_group: /sessions/shell
"#;

#[tokio::test]
async fn preferences_wait_until_their_log_destinations_exist_encrypted() {
    let account = Account::fresh().await;
    let (_dir, baseline) = baseline_file(OWN_DESTINATIONS);
    let status = |outcome: &mamori::app::Outcome, resource: &str| {
        outcome.report.finding("ssm.session-preferences").iter().find(|f| f.resource == resource).map(|f| f.status)
    };
    let bucket = format!("sessions-{}", account.id);
    let (document, bucket_part, group_part) =
        (format!("document/{DOCUMENT_NAME}"), format!("destination/s3/{bucket}"), "destination/log-group//sessions/shell".to_string());

    // Neither destination exists: nothing is written, since sessions would be refused.
    let apply = account.run(Verb::Apply, &baseline, &["ssm.session-preferences"]).await;
    let ssm_writes = apply.calls.mutating_sent().iter().filter(|c| c.service.eq_ignore_ascii_case("ssm")).count();
    assert_eq!(ssm_writes, 0, "{:?}", apply.calls.mutating_sent());
    assert_eq!([status(&apply, &document), status(&apply, &bucket_part), status(&apply, &group_part)], [Some(Status::Manual); 3]);
    let steps = apply.report.finding("ssm.session-preferences").iter().find(|f| f.resource == bucket_part).and_then(|f| f.remediation.clone()).unwrap();
    assert!(steps.contains(&format!("put-bucket-encryption --bucket {bucket}")), "{steps}");

    // The team makes them, encrypted, the bucket in another region (S3 answers the home region with a
    // redirect naming it): now the preferences are written.
    let aws = account.aws(AccessMode::ReadWrite).await;
    let key = aws.kms("us-east-1").describe_key().key_id("alias/mamori-baseline").send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    let s3 = aws.s3("eu-west-1");
    let elsewhere = aws_sdk_s3::types::CreateBucketConfiguration::builder().location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1).build();
    s3.create_bucket().bucket(&bucket).create_bucket_configuration(elsewhere).send().await.unwrap();
    let sse = aws_sdk_s3::types::ServerSideEncryptionByDefault::builder().sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::Aes256).build().unwrap();
    let rule = aws_sdk_s3::types::ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(sse).build();
    let configuration = aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap();
    s3.put_bucket_encryption().bucket(&bucket).server_side_encryption_configuration(configuration).send().await.unwrap();
    aws.logs("us-east-1").create_log_group().log_group_name("/sessions/shell").kms_key_id(&key).send().await.unwrap();
    crate::harness::propagated().await;
    let apply = account.run(Verb::Apply, &baseline, &["ssm.session-preferences"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let reads = apply.calls.by_operation();
    assert_eq!((reads.get("S3:HeadBucket"), reads.get("S3:GetBucketEncryption")), (Some(&1), Some(&1)), "through the client layer: {reads:?}");
    assert!(apply.report.finding("ssm.session-preferences").iter().all(|f| f.status == Status::Pass), "read in eu-west-1: {:#?}", apply.report);
    let inputs = session_document(&aws.ssm("us-east-1")).await["inputs"].clone();
    assert_eq!((inputs["s3BucketName"].as_str(), inputs["cloudWatchLogGroupName"].as_str()), (Some(bucket.as_str()), Some("/sessions/shell")));
    let again = account.run(Verb::Apply, &baseline, &["ssm.session-preferences"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
}

/// A fake secret access key (40 characters) that the legacy account's user data holds.
const FAKE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET";

/// Everything that must never be deleted, counted: users, access keys, customer policies, groups,
/// instances, security groups and their ingress sources.
async fn inventory(aws: &mamori::aws::Aws) -> Vec<(&'static str, usize)> {
    let iam = aws.iam();
    let ec2 = aws.ec2("us-east-1");
    let users = iam.list_users().send().await.unwrap().users;
    let mut keys = 0;
    for user in &users {
        keys += iam.list_access_keys().user_name(user.user_name()).send().await.unwrap().access_key_metadata.len();
    }
    let policies = iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send().await.unwrap().policies().len();
    let groups = iam.list_groups().send().await.unwrap().groups.len();
    let instances: usize = ec2.describe_instances().send().await.unwrap().reservations().iter().map(|r| r.instances().len()).sum();
    let security_groups = ec2.describe_security_groups().send().await.unwrap().security_groups.unwrap_or_default();
    let sources: usize = security_groups.iter().flat_map(|g| g.ip_permissions()).map(|p| p.ip_ranges().len() + p.ipv6_ranges().len()).sum();
    vec![
        ("users", users.len()),
        ("access keys", keys),
        ("customer policies", policies),
        ("groups", groups),
        ("instances", instances),
        ("security groups", security_groups.len()),
        ("ingress sources", sources),
    ]
}

#[tokio::test]
async fn a_legacy_account_is_reported_and_fixed_without_deleting_anything() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    let iam = aws.iam();
    let ec2 = aws.ec2("us-east-1");
    // An administrator with access keys, in an admins group, and a customer `*:*` policy.
    let star = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    let policy = iam.create_policy().policy_name("legacy-full-access").policy_document(star).send().await.unwrap().policy.unwrap();
    iam.create_group().group_name("admins").send().await.unwrap();
    iam.create_user().user_name("legacy-admin").send().await.unwrap();
    iam.add_user_to_group().group_name("admins").user_name("legacy-admin").send().await.unwrap();
    iam.attach_group_policy().group_name("admins").policy_arn(policy.arn().unwrap()).send().await.unwrap();
    let admin_key = iam.create_access_key().user_name("legacy-admin").send().await.unwrap().access_key.unwrap();
    // A console user without MFA.
    iam.create_user().user_name("legacy-console").send().await.unwrap();
    iam.create_login_profile().user_name("legacy-console").password("Legacy-Passw0rd!").send().await.unwrap();
    // An instance without a profile whose user data holds a key, and a second one with a profile.
    let user_data = format!("#!/bin/bash\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7LEGACY1\nexport AWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n");
    let unprofiled = launch_with(&ec2, Some(&user_data), None).await;
    role_in_profile(&iam, "legacy-app").await;
    let profiled_instance = launch_with(&ec2, None, Some("legacy-app")).await;
    // SSH open to the world.
    let group = legacy_security_group(&ec2, "legacy-ssh").await;
    let before = inventory(&aws).await;
    let profiled = profile_of_all(&ec2).await;

    let standard = std::fs::read_to_string(standard_baseline()).unwrap();
    assert!(standard.contains("attach_to_unprofiled_instances: false"));
    let (_dir, baseline) = baseline_file(&standard.replace("attach_to_unprofiled_instances: false", "attach_to_unprofiled_instances: true"));
    let only = ["root", "iam", "ec2", "ssm"];
    let verify = account.run(Verb::Verify, &baseline, &only).await;
    assert_eq!(verify.report.exit_code(), 2);
    assert!(verify.calls.mutating_sent().is_empty());
    let status = |outcome: &mamori::app::Outcome, control: &str, resource: &str| {
        outcome.report.finding(control).iter().find(|f| f.resource == resource).map(|f| f.status).unwrap_or_else(|| panic!("no {control} finding for {resource}"))
    };
    assert_eq!(status(&verify, "ec2.imdsv2", "account-setting/instance-metadata-defaults"), Status::Fail);
    assert_eq!(status(&verify, "ec2.no-open-admin-ports", &format!("security-group/{group}")), Status::Manual);
    assert_eq!(status(&verify, "ssm.session-preferences", &format!("document/{DOCUMENT_NAME}")), Status::Fail);
    assert_eq!(status(&verify, "ec2.instance-roles", "role/mamori-ssm-session-instance"), Status::Fail);
    assert_eq!(status(&verify, "ec2.instance-roles", &format!("instance/us-east-1/{unprofiled}")), Status::Fail);
    let session_manager = format!("instance/us-east-1/{profiled_instance}");
    assert_eq!(status(&verify, "ec2.instance-roles", &session_manager), Status::Manual, "its role has no Session Manager permissions");
    assert_eq!(verify.report.finding("ec2.instance-roles").len(), 3);
    let embedded = verify.report.finding("ec2.embedded-keys");
    let leaked = embedded.iter().find(|f| f.resource == format!("instance/us-east-1/{unprofiled}")).expect("the instance with a key");
    assert_eq!(leaked.status, Status::Manual);
    assert!(leaked.message.contains("AKIA************ACY1"), "names the masked key id: {}", leaked.message);
    let admin = embedded.iter().find(|f| f.resource == "user/legacy-admin").expect("the admin user acts as an application");
    assert_eq!(admin.status, Status::Manual);
    assert!(admin.message.contains("replace with an instance role cut to what the application uses"), "names what replaces it: {}", admin.message);
    assert!(!embedded.iter().any(|f| f.resource == "user/legacy-console"), "a console user is not an application identity");
    assert_eq!(embedded.iter().filter(|f| f.status == Status::Pass).count(), 1, "the other instance is clean");
    let json = serde_json::to_string(&verify.report).unwrap();
    assert!(!json.contains(FAKE_SECRET) && !json.contains("AKIAIOSFODNN7LEGACY1"), "no secret and no full key id in the report");
    // The identity side of the same account: root, users and policies.
    assert_eq!(status(&verify, "root.mfa", "root-user"), Status::Manual);
    assert_eq!(status(&verify, "root.access-keys", "root-user"), Status::Pass);
    assert_eq!(status(&verify, "root.recent-use", "root-user"), Status::Pass);
    assert_eq!(status(&verify, "iam.console-mfa", "user/legacy-console"), Status::Manual);
    assert_eq!(status(&verify, "iam.no-admin-keys", "user/legacy-admin"), Status::Manual);
    assert_eq!(status(&verify, "iam.no-star-policies", "policy/legacy-full-access"), Status::Manual);
    assert_eq!(status(&verify, "iam.password-policy", "account-setting/password-policy"), Status::Fail);
    eprintln!(
        "verify --only root --only iam --only ec2 --only ssm on the legacy account: {} calls {:?}",
        verify.calls.sent().len(),
        verify.calls.by_operation()
    );
    let repeated = verify.calls.repeated();
    assert!(repeated.is_empty(), "no call repeated with identical parameters (instances are listed once per region): {repeated:?}");

    let apply = account.run(Verb::Apply, &baseline, &only).await;
    assert_eq!(apply.report.exit_code(), 2, "the open SSH rule stays a manual finding: {:#?}", apply.report);
    assert_eq!(status(&apply, "ec2.imdsv2", "account-setting/instance-metadata-defaults"), Status::Pass);
    assert_eq!(status(&apply, "ssm.session-preferences", &format!("document/{DOCUMENT_NAME}")), Status::Pass);
    assert_eq!(status(&apply, "ec2.no-open-admin-ports", &format!("security-group/{group}")), Status::Manual);
    assert_eq!(status(&apply, "ec2.instance-roles", "role/mamori-ssm-session-instance"), Status::Pass);
    assert_eq!(status(&apply, "ec2.instance-roles", &session_manager), Status::Manual, "reported, not fixed");
    assert_eq!(profile_of(&ec2, &unprofiled).await.as_deref(), Some("mamori-ssm-session-instance"), "the profile was attached");

    let again = account.run(Verb::Apply, &baseline, &only).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
    assert_eq!(inventory(&aws).await, before, "nothing was deleted");
    let after_profiles = profile_of_all(&ec2).await;
    for (instance, profile) in profiled.iter().filter(|(_, p)| p.is_some()) {
        assert_eq!(after_profiles.get(instance), Some(profile), "an instance that had a profile keeps it");
    }
    assert!(ec2.describe_instances().instance_ids(&unprofiled).send().await.is_ok());

    // The binary at -vv and at RUST_LOG=trace, verify and apply, and with profile credentials at
    // RUST_LOG=info: no secret shows, on stdout or stderr — neither the one in the user data (plain or
    // base64), nor the full key id, nor the admin's secret, nor the run's own credentials.
    let path = baseline.to_str().unwrap();
    let secrets = [FAKE_SECRET.to_string(), aws_smithy_types::base64::encode(&user_data), "AKIAIOSFODNN7LEGACY1".to_string(), admin_key.secret_access_key];
    let traced = [account.env(), vec![("RUST_LOG", "trace".to_string())]].concat();
    // Static keys in a profile: aws-config logs the credentials it loads from one at INFO.
    let (_config_dir, config) = account.profile_file("legacy", Some(&crate::harness::emulator().endpoint));
    let profiled = vec![("AWS_CONFIG_FILE", config.display().to_string()), ("AWS_REGION", "us-east-1".to_string()), ("RUST_LOG", "info".to_string())];
    let secrets = [secrets.to_vec(), account.credential_strings()].concat();
    for (verb, env) in [
        (&["verify"][..], account.env()),
        (&["apply", "--yes"][..], account.env()),
        (&["verify"][..], traced),
        (&["verify", "--profile", "legacy"][..], profiled),
    ] {
        let mut args = verb.to_vec();
        args.extend(["--baseline", path, "--only", "root", "--only", "iam", "--only", "ec2", "--only", "ssm", "-vv", "--output", "json"]);
        let output = mamori(&args, &env);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        for text in [stdout(&output), stderr(&output)] {
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "a secret leaked in `mamori {}` ({} bytes of output)", verb[0], text.len());
            }
        }
    }
}

/// The instance profile name of an instance, if it has one.
async fn profile_of(ec2: &aws_sdk_ec2::Client, instance: &str) -> Option<String> {
    let out = ec2.describe_instances().instance_ids(instance).send().await.unwrap();
    let arn = out.reservations()[0].instances()[0].iam_instance_profile()?.arn()?.to_string();
    arn.rsplit('/').next().map(str::to_string)
}

async fn profile_of_all(ec2: &aws_sdk_ec2::Client) -> std::collections::BTreeMap<String, Option<String>> {
    let out = ec2.describe_instances().send().await.unwrap();
    let mut profiles = std::collections::BTreeMap::new();
    for instance in out.reservations().iter().flat_map(|r| r.instances()) {
        let id = instance.instance_id().unwrap().to_string();
        profiles.insert(id.clone(), profile_of(ec2, &id).await);
    }
    profiles
}

const ROLES_BASELINE: &str = "ec2:
  instance_roles:
    attach_to_unprofiled_instances: true
    roles:
      - name: mamori-ssm-session-instance
        policies: [ssm-session-instance]
      - name: app-mailer
        policies: [ses-send-from-identity]
";

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

/// An inline policy with exactly what Session Manager needs by wildcard, when the baseline sets no
/// Session Manager preferences (no session key, no session logs).
const SESSION_MANAGER_INLINE: &str =
    r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ssmmessages:*", "ssm:UpdateInstanceInformation"], "Resource": "*"}]}"#;

/// A role `name` that EC2 may assume, in an instance profile of the same name.
async fn role_in_profile(iam: &aws_sdk_iam::Client, name: &str) {
    iam.create_role().role_name(name).assume_role_policy_document(TRUST).send().await.unwrap();
    iam.create_instance_profile().instance_profile_name(name).send().await.unwrap();
    iam.add_role_to_instance_profile().instance_profile_name(name).role_name(name).send().await.unwrap();
}

/// What a role grants, as a comparable snapshot: inline policies with their documents, attached ARNs.
async fn role_grants(iam: &aws_sdk_iam::Client, role: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut inline = Vec::new();
    for name in iam.list_role_policies().role_name(role).send().await.unwrap().policy_names {
        let document = iam.get_role_policy().role_name(role).policy_name(&name).send().await.unwrap().policy_document;
        inline.push((name, document));
    }
    let attached = iam.list_attached_role_policies().role_name(role).send().await.unwrap();
    (inline, attached.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect())
}

#[tokio::test]
async fn instances_whose_profile_lacks_session_manager_are_reported_and_left_alone() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    let (iam, ec2) = (aws.iam(), aws.ec2("us-east-1"));
    // Only S3 reads (AWS managed): nothing of Session Manager.
    role_in_profile(&iam, "s3-reader").await;
    iam.attach_role_policy().role_name("s3-reader").policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").send().await.unwrap();
    // Inline wildcards: everything Session Manager needs under the standard baseline's preferences
    // (the channels, the baseline key by its alias, encrypted session logs in the audit bucket).
    role_in_profile(&iam, "session-inline").await;
    let complete = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": ["ssmmessages:*", "ssm:UpdateInstanceInformation"], "Resource": "*"}},
           {{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "arn:aws:kms:*:{id}:key/*",
             "Condition": {{"ForAnyValue:StringEquals": {{"kms:ResourceAliases": "alias/mamori-baseline"}}}}}},
           {{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetEncryptionConfiguration"], "Resource": ["arn:aws:s3:::mamori-audit-{id}-*", "arn:aws:s3:::mamori-audit-{id}-*/session-logs/*"]}}]}}"#,
        id = account.id
    );
    iam.put_role_policy().role_name("session-inline").policy_name("session").policy_document(complete).send().await.unwrap();
    // The broad AWS managed policy: the channels, but neither the session key nor the session logs.
    role_in_profile(&iam, "session-core").await;
    iam.attach_role_policy().role_name("session-core").policy_arn("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore").send().await.unwrap();
    // A customer policy allowing everything, and an inline Deny of one channel.
    let everything = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    let deny = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ssmmessages:OpenDataChannel", "Resource": "*"}]}"#;
    let policy = iam.create_policy().policy_name("all-of-it").policy_document(everything).send().await.unwrap().policy.unwrap();
    role_in_profile(&iam, "session-denied").await;
    iam.attach_role_policy().role_name("session-denied").policy_arn(policy.arn().unwrap()).send().await.unwrap();
    iam.put_role_policy().role_name("session-denied").policy_name("no-data-channel").policy_document(deny).send().await.unwrap();
    let roles = ["s3-reader", "session-inline", "session-core", "session-denied"];
    let mut instances = std::collections::BTreeMap::new();
    for role in roles {
        instances.insert(role, format!("instance/us-east-1/{}", launch_with(&ec2, None, Some(role)).await));
    }
    let mut grants_before = Vec::new();
    for role in roles {
        grants_before.push(role_grants(&iam, role).await);
    }
    let profiles_before = profile_of_all(&ec2).await;

    let verify = account.run(Verb::Verify, &standard_baseline(), &["ec2.instance-roles"]).await;
    assert_eq!(verify.report.exit_code(), 2);
    let findings = verify.report.finding("ec2.instance-roles");
    let finding = |role: &str| findings.iter().find(|f| f.resource == instances[role]).unwrap_or_else(|| panic!("no finding for {role}: {findings:#?}"));
    assert_eq!(finding("session-inline").status, Status::Pass, "{:?}", finding("session-inline"));
    // No key exists yet in this account: the session key and the audit bucket's key are named `key/*`.
    let (key, bucket) = (format!("arn:aws:kms:us-east-1:{}:key/*", account.id), format!("arn:aws:s3:::mamori-audit-{}-us-east-1", account.id));
    let instance_id = |role: &str| instances[role].rsplit('/').next().unwrap().to_string();
    let logs_and_key = [
        format!("kms:Decrypt on {key}"),
        format!("s3:PutObject on {bucket}/session-logs/us-east-1/{}-0a1b2c3d4e5f67890.log", instance_id("session-core")),
        format!("s3:GetEncryptionConfiguration on {bucket}"),
        format!("kms:GenerateDataKey on {key}"),
    ];
    let core = finding("session-core");
    assert_eq!(core.status, Status::Manual, "AmazonSSMManagedInstanceCore alone cannot open a session under encrypted preferences: {core:?}");
    assert_eq!(core.actual.as_ref().unwrap()["missing_session_manager_actions"], serde_json::json!(logs_and_key));
    let s3_reader = finding("s3-reader");
    assert_eq!(s3_reader.status, Status::Manual, "{s3_reader:?}");
    let all_five = ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"];
    assert!(all_five.iter().all(|action| s3_reader.message.contains(action)), "names the missing actions: {}", s3_reader.message);
    let reader_missing = [
        all_five.map(String::from).to_vec(),
        vec![
            format!("kms:Decrypt on {key}"),
            format!("s3:PutObject on {bucket}/session-logs/us-east-1/{}-0a1b2c3d4e5f67890.log", instance_id("s3-reader")),
            format!("kms:GenerateDataKey on {key}"),
        ],
    ]
    .concat();
    assert_eq!(
        s3_reader.actual,
        Some(serde_json::json!({"instance_profile": "s3-reader", "role": "s3-reader", "missing_session_manager_actions": reader_missing})),
        "s3:Get* of AmazonS3ReadOnlyAccess covers the encryption check"
    );
    assert_eq!(s3_reader.expected, Some(serde_json::json!({"instance_profile": "s3-reader", "role": "s3-reader", "missing_session_manager_actions": []})));
    let steps = s3_reader.remediation.as_deref().expect("manual steps");
    let reader_id = instance_id("s3-reader");
    for part in [reader_id.as_str(), "instance profile s3-reader", "role s3-reader", "ssmmessages:OpenDataChannel", "put-role-policy --role-name s3-reader --policy-name ssm-session-instance", "replace-iam-instance-profile-association", "Name=mamori-ssm-session-instance"] {
        assert!(steps.contains(part), "{part:?} missing from the steps: {steps}");
    }
    let denied = finding("session-denied");
    assert_eq!(denied.status, Status::Manual);
    let denied_actions = denied.actual.as_ref().map(|actual| actual["missing_session_manager_actions"].clone());
    assert_eq!(denied_actions, Some(serde_json::json!(["ssmmessages:OpenDataChannel"])), "the Deny wins over the customer policy");

    let reads = verify.calls.by_operation();
    eprintln!("verify --only ec2.instance-roles, four instances with their own profiles: {} calls {reads:?}", verify.calls.sent().len());
    let count = |operation: &str| verify.calls.sent().iter().filter(|c| c.operation == operation).count();
    assert_eq!(count("GetAccountAuthorizationDetails"), 1, "the roles are read once: {reads:?}");
    assert_eq!((count("GetPolicy"), count("GetPolicyVersion")), (2, 2), "the two AWS managed policies, once each: {reads:?}");
    assert_eq!(count("DescribeInstances"), 1);
    assert!(verify.calls.repeated().is_empty(), "{:?}", verify.calls.repeated());

    let apply = account.run(Verb::Apply, &standard_baseline(), &["ec2.instance-roles"]).await;
    assert_eq!(apply.report.exit_code(), 2, "the manual findings stay: {:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(writes, ["CreateRole", "PutRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"], "only the baseline's own role");
    assert!(apply.report.changes.iter().flatten().all(|c| c.resource == "role/mamori-ssm-session-instance"), "{:?}", apply.report.changes);
    let again = account.run(Verb::Apply, &standard_baseline(), &["ec2.instance-roles"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "manual findings make no write: {:?}", again.calls.mutating_sent());
    assert_eq!(again.report.finding("ec2.instance-roles").iter().filter(|f| f.status == Status::Manual).count(), 3);

    let mut grants_after = Vec::new();
    for role in roles {
        grants_after.push(role_grants(&iam, role).await);
    }
    assert_eq!(grants_after, grants_before, "no foreign role changed");
    assert_eq!(profile_of_all(&ec2).await, profiles_before, "no association replaced");
}

#[tokio::test]
async fn instances_on_the_baseline_profile_cost_no_iam_read() {
    let account = Account::fresh().await;
    let ec2 = account.aws(AccessMode::ReadWrite).await.ec2("us-east-1");
    launch(&ec2).await;
    let (_dir, baseline) = baseline_file(&format!("{HEAD}{ROLES_BASELINE}"));
    let apply = account.run(Verb::Apply, &baseline, &["ec2.instance-roles"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);

    let verify = account.run(Verb::Verify, &baseline, &["ec2.instance-roles"]).await;
    assert_eq!(verify.report.exit_code(), 0, "{:#?}", verify.report);
    let operations: Vec<String> = verify.calls.sent().iter().map(|c| c.operation.clone()).collect();
    eprintln!("verify --only ec2.instance-roles, converged, one instance on the baseline profile: {} calls {:?}", operations.len(), verify.calls.by_operation());
    assert!(!operations.iter().any(|o| o == "GetAccountAuthorizationDetails" || o == "GetPolicy"), "{operations:?}");

    // An instance on the baseline's application role, whose templates grant no Session Manager action.
    let mailer = launch_with(&ec2, None, Some("app-mailer")).await;
    let verify = account.run(Verb::Verify, &baseline, &["ec2.instance-roles"]).await;
    let finding = verify.report.finding("ec2.instance-roles").into_iter().find(|f| f.resource == format!("instance/us-east-1/{mailer}")).cloned();
    let finding = finding.unwrap_or_else(|| panic!("the app-mailer instance is reported: {:#?}", verify.report));
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    assert!(finding.message.contains("ssmmessages:OpenDataChannel"), "{}", finding.message);
}

#[tokio::test]
async fn instance_roles_converge_and_unprofiled_instances_get_the_default_profile() {
    let account = Account::fresh().await;
    let aws = account.aws(AccessMode::ReadWrite).await;
    let (iam, ec2) = (aws.iam(), aws.ec2("us-east-1"));
    role_in_profile(&iam, "legacy-app").await;
    iam.put_role_policy().role_name("legacy-app").policy_name("session-manager").policy_document(SESSION_MANAGER_INLINE).send().await.unwrap();
    let unprofiled = launch(&ec2).await;
    let profiled = launch_with(&ec2, None, Some("legacy-app")).await;
    let (_dir, baseline) = baseline_file(&format!("{HEAD}{ROLES_BASELINE}"));

    let apply = assert_converges_with(&account, &baseline, "ec2.instance-roles", &[]).await;
    let created: Vec<String> = apply.report.changes.iter().flatten().filter(|c| c.action == Action::Create).map(|c| c.resource.clone()).collect();
    assert_eq!(created, ["role/app-mailer", "role/mamori-ssm-session-instance"]);

    for (role, template) in [("mamori-ssm-session-instance", "ssm-session-instance"), ("app-mailer", "ses-send-from-identity")] {
        let policy = iam.get_role_policy().role_name(role).policy_name(template).send().await.unwrap();
        let document = mamori::policy::parse_document(policy.policy_document()).unwrap();
        assert!(document.to_string().contains(&account.id), "{role}: rendered for the account: {document}");
        let profile = iam.get_instance_profile().instance_profile_name(role).send().await.unwrap();
        assert_eq!(profile.instance_profile().unwrap().roles()[0].role_name(), role);
    }
    let ssm_policy = iam.get_role_policy().role_name("mamori-ssm-session-instance").policy_name("ssm-session-instance").send().await.unwrap();
    let text = mamori::policy::parse_document(ssm_policy.policy_document()).unwrap().to_string();
    assert!(text.contains("ssmmessages:OpenDataChannel") && !text.contains("ssm:*") && !text.contains("\"*:*\""), "least privilege: {text}");
    assert_eq!(profile_of(&ec2, &unprofiled).await.as_deref(), Some("mamori-ssm-session-instance"));
    assert_eq!(profile_of(&ec2, &profiled).await.as_deref(), Some("legacy-app"), "an existing profile is never replaced");
}

#[tokio::test]
async fn a_drifted_role_policy_is_updated_and_foreign_policies_are_kept() {
    let account = Account::fresh().await;
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.create_role().role_name("mamori-ssm-session-instance").assume_role_policy_document(TRUST).send().await.unwrap();
    let broad = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}]}"#;
    iam.put_role_policy().role_name("mamori-ssm-session-instance").policy_name("ssm-session-instance").policy_document(broad).send().await.unwrap();
    iam.put_role_policy().role_name("mamori-ssm-session-instance").policy_name("their-own").policy_document(broad).send().await.unwrap();
    let only_session_role = "ec2:\n  instance_roles:\n    roles:\n      - name: mamori-ssm-session-instance\n        policies: [ssm-session-instance]\n";
    let (_dir, baseline) = baseline_file(&format!("{HEAD}{only_session_role}"));

    let plan = account.run(Verb::Plan, &baseline, &["ec2.instance-roles"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.resource == "role/mamori-ssm-session-instance").expect("a change");
    assert_eq!(change.action, Action::Update);

    let apply = account.run(Verb::Apply, &baseline, &["ec2.instance-roles"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert!(!writes.iter().any(|w| w == "CreateRole" || w.starts_with("Delete") || w.starts_with("Detach")), "{writes:?}");
    assert!(writes.iter().any(|w| w == "PutRolePolicy"), "{writes:?}");
    let names = iam.list_role_policies().role_name("mamori-ssm-session-instance").send().await.unwrap().policy_names;
    assert!(names.contains(&"their-own".to_string()), "foreign policy kept: {names:?}");

    let again = account.run(Verb::Apply, &baseline, &["ec2.instance-roles"]).await;
    assert_eq!(again.report.exit_code(), 0);
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

#[tokio::test]
async fn session_preferences_changed_by_hand_get_a_new_version_that_is_default_and_latest() {
    let account = Account::fresh().await;
    let first = account.run(Verb::Apply, &standard_baseline(), &["ssm.session-preferences"]).await;
    assert_eq!(first.report.exit_code(), 0, "{:#?}", first.report);
    // Someone edits the preferences by hand: version 2 with other content becomes the default.
    let ssm = account.aws(AccessMode::ReadWrite).await.ssm("us-east-1");
    let theirs = r#"{"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {"idleSessionTimeout": "60"}}"#;
    ssm.update_document().name(DOCUMENT_NAME).document_version("$LATEST").content(theirs).document_format(aws_sdk_ssm::types::DocumentFormat::Json).send().await.unwrap();
    ssm.update_document_default_version().name(DOCUMENT_NAME).document_version("2").send().await.unwrap();

    let apply = account.run(Verb::Apply, &standard_baseline(), &["ssm.session-preferences"]).await;
    assert_eq!(apply.report.exit_code(), 0, "{:#?}", apply.report);
    // Making version 1 the default again would leave their version 2 the latest, which Session Manager
    // may apply: a version 3 with the baseline's preferences is both.
    let described = ssm.describe_document().name(DOCUMENT_NAME).send().await.unwrap().document.unwrap();
    assert_eq!((described.default_version(), described.latest_version()), (Some("3"), Some("3")), "one version is default and latest");
    assert_eq!(session_document(&ssm).await["inputs"]["idleSessionTimeout"], "20");
    let again = account.run(Verb::Apply, &standard_baseline(), &["ssm.session-preferences"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}
