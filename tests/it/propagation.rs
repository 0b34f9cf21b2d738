//! AWS's eventual consistency, as the emulator shims model it (moto): each shim rule on its own (the
//! shim refuses, or answers stale, what AWS does; the test's account gets a delay of an hour, so the
//! rule holds however slow the machine, then none), then mamori meeting all of them at once, where one
//! `apply` of the standard baseline on a fresh account must still converge. Also the two answers that
//! must never be taken for something else: a key search that fails is an error, not "no key", and an
//! instance profile that holds another role is reported, not forced.

use aws_sdk_ec2::types::{IamInstanceProfileSpecification, InstanceType};
use mamori::aws::{AccessMode, Aws};
use mamori::report::{Status, Verb};

use crate::harness::{baseline_file, emulator, standard_baseline, Account, Engine};

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

fn on_moto() {
    assert_eq!(emulator().engine, Engine::Moto, "the propagation shims model moto's services");
}

/// A fresh account on moto whose propagation delay is an hour (each rule holds, however slow the
/// machine, until the test sets it to 0), and a connection to it.
async fn delayed_account() -> (Account, Aws) {
    on_moto();
    let account = Account::fresh().await;
    account.propagation_delay(3600);
    let aws = account.aws(AccessMode::ReadWrite).await;
    (account, aws)
}

fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(error: &E) -> Option<&str> {
    error.code()
}

#[tokio::test]
async fn the_shim_hides_a_new_key_from_the_calls_that_change_it() {
    let (account, aws) = delayed_account().await;
    let kms = aws.kms("us-east-1");
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let early = kms.create_alias().alias_name("alias/young").target_key_id(&key).send().await.expect_err("a key of 0 s is not found");
    assert_eq!(early.as_service_error().and_then(code), Some("NotFoundException"));
    kms.describe_key().key_id(&key).send().await.expect("reads of the key stay consistent");
    account.propagation_delay(0);
    kms.create_alias().alias_name("alias/young").target_key_id(&key).send().await.expect("found once propagated");
}

#[tokio::test]
async fn the_shim_refuses_a_new_delivery_role_to_cloudtrail() {
    let (account, aws) = delayed_account().await;
    let bucket = format!("trail-{}", account.id);
    let s3 = aws.s3("us-east-1");
    crate::harness::cloudtrail_bucket(&s3, &bucket).await;
    let role = aws.iam().create_role().role_name("delivery").assume_role_policy_document(TRUST).send().await.unwrap().role.unwrap().arn;
    let log_group = format!("arn:aws:logs:us-east-1:{}:log-group:trail:*", account.id);
    let trail = aws.cloudtrail("us-east-1").create_trail().name("trail").s3_bucket_name(&bucket).cloud_watch_logs_log_group_arn(&log_group);
    let early = trail.clone().cloud_watch_logs_role_arn(&role).send().await.expect_err("a role of 0 s is not valid yet");
    assert_eq!(early.as_service_error().and_then(code), Some("InvalidCloudWatchLogsRoleArnException"));
    let missing = trail.clone().cloud_watch_logs_role_arn(format!("arn:aws:iam::{}:role/none", account.id)).send().await;
    assert_eq!(missing.expect_err("no such role").as_service_error().and_then(code), Some("InvalidCloudWatchLogsRoleArnException"));
    account.propagation_delay(0);
    trail.cloud_watch_logs_role_arn(&role).send().await.expect("accepted once propagated");
}

#[tokio::test]
async fn the_shim_refuses_a_new_instance_profile_to_ec2() {
    let (account, aws) = delayed_account().await;
    let ec2 = aws.ec2("us-east-1");
    let image = ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
    let instance = ec2.run_instances().image_id(image).instance_type(InstanceType::T3Micro).min_count(1).max_count(1).send().await.unwrap().instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    aws.iam().create_instance_profile().instance_profile_name("young").send().await.unwrap();
    let associate = ec2.associate_iam_instance_profile().instance_id(&instance).iam_instance_profile(IamInstanceProfileSpecification::builder().name("young").build());
    let early = associate.clone().send().await.expect_err("a profile of 0 s is invalid to EC2");
    assert_eq!(early.as_service_error().and_then(code), Some("InvalidParameterValue"));
    account.propagation_delay(0);
    associate.send().await.expect("accepted once propagated");
}

#[tokio::test]
async fn the_shim_answers_a_bucket_configuration_read_from_before_the_write() {
    let (account, aws) = delayed_account().await;
    let s3 = aws.s3("us-east-1");
    let bucket = format!("lagging-{}", account.id);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let enabled = aws_sdk_s3::types::VersioningConfiguration::builder().status(aws_sdk_s3::types::BucketVersioningStatus::Enabled).build();
    s3.put_bucket_versioning().bucket(&bucket).versioning_configuration(enabled).send().await.unwrap();
    let early = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(early.status(), None, "the read right after the write shows the bucket as it was");
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await;
    assert!(policy.is_err(), "no policy was written: reads of other settings are not affected");
    account.propagation_delay(0);
    let late = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(late.status(), Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled));
}

/// Every control of the standard baseline, on a fresh account, with AWS's propagation delays: one
/// `apply` leaves nothing `fail` or `error` (only the root user's manual steps), the refused calls and
/// the stale read-backs were tried again, and a second `apply` writes nothing.
#[tokio::test]
async fn one_apply_of_the_standard_baseline_converges_with_the_propagation_delays_on() {
    on_moto();
    let account = Account::fresh().await;
    // Longer than any two consecutive calls take, however loaded the machine: the delays are met.
    account.propagation_delay(5);
    let apply = account.run(Verb::Apply, &standard_baseline(), &[]).await;
    let unconverged: Vec<_> = apply.report.findings.iter().filter(|f| matches!(f.status, Status::Fail | Status::Error)).collect();
    assert!(unconverged.is_empty(), "one apply converges: {unconverged:#?}");
    let manual: Vec<&str> = apply.report.findings.iter().filter(|f| f.status == Status::Manual).map(|f| f.control.as_str()).collect();
    assert_eq!(
        manual,
        ["logs.alarms", "logs.bucket-mfa-delete", "root.mfa", "vpc.nacl-admin-ports"],
        "only the human steps are left: the root user's, a subscriber to confirm, and the default VPC's open network ACL (closed on opt-in)"
    );
    let calls = apply.calls.by_operation();
    eprintln!("apply of the standard baseline with propagation delays: {} calls {calls:?}", apply.calls.sent().len());
    for retried in ["KMS:CreateAlias", "CloudTrail:CreateTrail"] {
        assert!(calls.get(retried).is_some_and(|n| *n >= 2), "{retried} was refused while the key or role propagated, then retried: {calls:?}");
    }
    let read_back = calls.get("S3:GetBucketVersioning").copied().unwrap_or(0);
    assert!(read_back >= 3, "the audit buckets' stale read-back was read again: {calls:?}");
    let again = account.run(Verb::Apply, &standard_baseline(), &[]).await;
    assert!(again.calls.mutating_sent().is_empty(), "second apply wrote: {:?}", again.calls.mutating_sent());
}

/// An `apply` interrupted after `CreateKey` left a tagged key without its alias; a run whose tag read of
/// that key fails (throttled past the SDK's retries, or `KMSInternalException`) cannot tell whether it
/// is the baseline key, so it reports an error and creates nothing: never a second key.
#[tokio::test]
async fn a_failed_tag_read_is_an_error_never_a_second_key() {
    on_moto();
    let account = Account::fresh().await;
    let kms = account.aws(AccessMode::ReadWrite).await.kms("us-east-1");
    let tag = aws_sdk_kms::types::Tag::builder().tag_key("mamori:baseline-key").tag_value("mamori-baseline").build().unwrap();
    // The emulator shim `kms_faults` answers ListResourceTags of this key with KMSInternalException.
    kms.create_key().description("mamori-test-fault: KMSInternalException").tags(tag).send().await.unwrap();

    let apply = account.run(Verb::Apply, &standard_baseline(), &["kms.baseline-key"]).await;
    let finding = &apply.report.finding("kms.baseline-key")[0];
    assert_eq!(finding.status, Status::Error, "{finding:?}");
    assert!(finding.message.contains("kms:ListResourceTags") && finding.message.contains("KMSInternalException"), "{}", finding.message);
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "CreateKey"), "no second key: {:?}", apply.calls.by_operation());
    assert_eq!(kms.list_keys().send().await.unwrap().keys().len(), 1);
}

/// An instance profile of a baseline role's name that already holds another role: AWS would refuse the
/// second role (`LimitExceeded`); mamori reports it `manual` with the steps, removes nothing, adds
/// nothing, and gives no instance that profile.
#[tokio::test]
async fn an_instance_profile_holding_another_role_is_reported_not_forced() {
    on_moto();
    let account = Account::fresh().await;
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    iam.create_role().role_name("someone-elses").assume_role_policy_document(TRUST).send().await.unwrap();
    iam.create_instance_profile().instance_profile_name("mamori-ssm-session-instance").send().await.unwrap();
    iam.add_role_to_instance_profile().instance_profile_name("mamori-ssm-session-instance").role_name("someone-elses").send().await.unwrap();
    let (_dir, baseline) = baseline_file(
        "version: 1\nname: t\nregions: [us-east-1]\nec2:\n  instance_roles:\n    trust_policy: ec2-instance-trust\n    roles:\n      - name: mamori-ssm-session-instance\n        policies: [ssm-session-instance]\n",
    );

    let apply = account.run(Verb::Apply, &baseline, &["ec2.instance-roles"]).await;
    let finding = apply.report.finding("ec2.instance-roles").into_iter().find(|f| f.resource == "role/mamori-ssm-session-instance").unwrap().clone();
    assert_eq!(finding.status, Status::Manual, "{finding:?}");
    let steps = finding.remediation.unwrap_or_default();
    assert!(steps.contains("remove-role-from-instance-profile --instance-profile-name mamori-ssm-session-instance --role-name someone-elses"), "{steps}");
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "AddRoleToInstanceProfile"), "not forced: {:?}", apply.calls.by_operation());
    let profile = iam.get_instance_profile().instance_profile_name("mamori-ssm-session-instance").send().await.unwrap().instance_profile.unwrap();
    let roles: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(roles, ["someone-elses"], "the role someone put there stays");
    let again = account.run(Verb::Apply, &baseline, &["ec2.instance-roles"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}
