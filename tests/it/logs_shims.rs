//! The emulator shims the audit-trail tests rely on, each on its own: the emulator refuses what AWS
//! refuses (and answers as AWS answers), so that the end-to-end tests of `logs.trail` and `logs.alarms`
//! meet AWS's behaviour. moto only (the shims patch moto); each test names the shim module it covers.

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mamori::aws::AccessMode;

use crate::harness::Account;
use crate::logs::fresh_on_moto;

fn cloudtrail_policy(bucket: &str, write: serde_json::Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl", "Resource": format!("arn:aws:s3:::{bucket}")},
        write,
    ]})
    .to_string()
}

/// A bucket of `account` with `policy` (none when `None`).
async fn bucket(account: &Account, name: &str, policy: Option<String>) -> String {
    let s3 = account.aws(AccessMode::ReadWrite).await.s3("us-east-1");
    let bucket = format!("{name}-{}", account.id);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    if let Some(policy) = policy {
        s3.put_bucket_policy().bucket(&bucket).policy(policy.replace("BUCKET", &bucket)).send().await.unwrap();
    }
    bucket
}

fn code<E: ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or("(no code)").to_string()
}

/// cloudtrail_bucket_policy.py
#[tokio::test]
async fn cloudtrail_refuses_a_bucket_whose_policy_does_not_let_it_write() {
    let Some(account) = fresh_on_moto().await else { return };
    let cloudtrail = account.aws(AccessMode::ReadWrite).await.cloudtrail("us-east-1");
    let write = |condition: serde_json::Value| {
        serde_json::json!({"Sid": "Write", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                           "Resource": "arn:aws:s3:::BUCKET/AWSLogs/*", "Condition": condition})
    };

    let bare = bucket(&account, "bare", None).await;
    let refused = cloudtrail.create_trail().name("bare").s3_bucket_name(&bare).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "InsufficientS3BucketPolicyException");

    let other_trail = serde_json::json!({"StringEquals": {"aws:SourceArn": format!("arn:aws:cloudtrail:us-east-1:{}:trail/someone-else", account.id)}});
    let wrong = bucket(&account, "wrong", Some(cloudtrail_policy("BUCKET", write(other_trail)))).await;
    let refused = cloudtrail.create_trail().name("wrong").s3_bucket_name(&wrong).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "InsufficientS3BucketPolicyException", "the condition names another trail");

    let this_trail = serde_json::json!({"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                                          "aws:SourceArn": format!("arn:aws:cloudtrail:us-east-1:{}:trail/good", account.id)}});
    let good = bucket(&account, "good", Some(cloudtrail_policy("BUCKET", write(this_trail)))).await;
    cloudtrail.create_trail().name("good").s3_bucket_name(&good).send().await.expect("a sufficient policy");

    let refused = cloudtrail.update_trail().name("good").s3_bucket_name(&bare).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "InsufficientS3BucketPolicyException", "UpdateTrail checks the new bucket");
    let trail = cloudtrail.get_trail().name("good").send().await.unwrap();
    assert_eq!(trail.trail().unwrap().s3_bucket_name(), Some(good.as_str()), "a refused update changes nothing");

    let deny = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["s3:GetBucketAcl", "s3:PutObject"], "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"]},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:Put*", "Resource": "arn:aws:s3:::BUCKET/*"}]});
    let denied = bucket(&account, "denied", Some(deny.to_string())).await;
    let refused = cloudtrail.create_trail().name("denied").s3_bucket_name(&denied).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "InsufficientS3BucketPolicyException", "an explicit Deny wins");
}

/// A bucket CloudTrail may write to.
async fn open_bucket(account: &Account, name: &str) -> String {
    let write = serde_json::json!({"Sid": "Write", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::BUCKET/AWSLogs/*"});
    bucket(account, name, Some(cloudtrail_policy("BUCKET", write))).await
}

/// On moto: a fresh account, a bucket CloudTrail may write to, and CloudTrail behind mamori's back.
async fn moto_account_with_trail_bucket(name: &str) -> Option<(Account, String, aws_sdk_cloudtrail::Client)> {
    let account = fresh_on_moto().await?;
    let logs = open_bucket(&account, name).await;
    let cloudtrail = account.aws(AccessMode::ReadWrite).await.cloudtrail("us-east-1");
    Some((account, logs, cloudtrail))
}

/// cloudtrail_organization_trail.py
#[tokio::test]
async fn an_organization_trail_needs_the_management_account_all_features_and_trusted_access() {
    let Some((billing_only, logs, _)) = moto_account_with_trail_bucket("org-logs").await else { return };
    let aws = billing_only.aws(AccessMode::ReadWrite).await;
    let create = |cloudtrail: aws_sdk_cloudtrail::Client, bucket: String| async move {
        cloudtrail.create_trail().name("org").s3_bucket_name(bucket).is_organization_trail(true).is_multi_region_trail(true).send().await
    };
    let refused = create(aws.cloudtrail("us-east-1"), logs.clone()).await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "OrganizationsNotInUseException");
    aws.organizations().create_organization().feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
    let refused = create(aws.cloudtrail("us-east-1"), logs).await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "OrganizationNotInAllFeaturesModeException");

    let (management, logs, cloudtrail) = moto_account_with_trail_bucket("org-logs").await.expect("on moto");
    let aws = management.aws(AccessMode::ReadWrite).await;
    aws.organizations().create_organization().send().await.unwrap();
    let refused = create(cloudtrail.clone(), logs.clone()).await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "CloudTrailAccessNotEnabledException");
    cloudtrail.create_trail().name("org").s3_bucket_name(&logs).send().await.expect("an account trail needs none of it");
    let refused = cloudtrail.update_trail().name("org").is_organization_trail(true).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "CloudTrailAccessNotEnabledException", "UpdateTrail checks it too");
    aws.organizations().enable_aws_service_access().service_principal("cloudtrail.amazonaws.com").send().await.unwrap();
    cloudtrail.update_trail().name("org").is_organization_trail(true).send().await.expect("management account, all features, trusted access");

    let created = aws.organizations().create_account().account_name("member").email("member@example.com").send().await.unwrap();
    let member = management.member(created.create_account_status().and_then(|s| s.account_id()).unwrap()).await;
    let member_logs = open_bucket(&member, "member-logs").await;
    let refused = create(member.aws(AccessMode::ReadWrite).await.cloudtrail("us-east-1"), member_logs).await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "NotOrganizationMasterAccountException");
}

/// cloudtrail_event_selectors.py
#[tokio::test]
async fn put_event_selectors_replaces_the_whole_set() {
    let Some((_account, logs, cloudtrail)) = moto_account_with_trail_bucket("selector-logs").await else { return };
    cloudtrail.create_trail().name("selected").s3_bucket_name(&logs).send().await.unwrap();

    let fresh = cloudtrail.get_event_selectors().trail_name("selected").send().await.unwrap();
    let default = fresh.event_selectors();
    assert_eq!(default.len(), 1, "a new trail logs every management event: {default:?}");
    assert_eq!((default[0].read_write_type(), default[0].include_management_events()), (Some(&ReadWriteType::All), Some(true)));

    let category = AdvancedFieldSelector::builder().field("eventCategory").equals("Management").build().unwrap();
    let advanced = AdvancedEventSelector::builder().name("management").field_selectors(category).build().unwrap();
    cloudtrail.put_event_selectors().trail_name("selected").advanced_event_selectors(advanced).send().await.unwrap();
    let writes = EventSelector::builder().read_write_type(ReadWriteType::WriteOnly).include_management_events(true).build();
    cloudtrail.put_event_selectors().trail_name("selected").event_selectors(writes.clone()).send().await.unwrap();
    let replaced = cloudtrail.get_event_selectors().trail_name("selected").send().await.unwrap();
    assert!(replaced.advanced_event_selectors().is_empty(), "basic selectors replace advanced ones: {replaced:?}");
    assert_eq!(replaced.event_selectors().len(), 1);

    let six = vec![writes; 6];
    let refused = cloudtrail.put_event_selectors().trail_name("selected").set_event_selectors(Some(six)).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "InvalidEventSelectorsException");
}

/// cloudtrail_delivery_status.py
#[tokio::test]
async fn trail_status_reports_cloudwatch_logs_delivery_and_the_errors_a_test_sets() {
    let Some((account, logs, cloudtrail)) = moto_account_with_trail_bucket("status-logs").await else { return };
    let group = format!("arn:aws:logs:us-east-1:{}:log-group:/status:*", account.id);
    // A delivery role that exists, and whose creation the emulator has seen propagate.
    account.propagation_delay(0);
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    let iam = account.aws(AccessMode::ReadWrite).await.iam();
    let role = iam.create_role().role_name("delivery").assume_role_policy_document(trust).send().await.unwrap().role.unwrap().arn;
    cloudtrail.create_trail().name("status").s3_bucket_name(&logs).cloud_watch_logs_log_group_arn(group).cloud_watch_logs_role_arn(role).send().await.unwrap();
    cloudtrail.start_logging().name("status").send().await.unwrap();

    let status = cloudtrail.get_trail_status().name("status").send().await.unwrap();
    assert!(status.latest_cloud_watch_logs_delivery_time().is_some(), "a logging trail with a group delivers there: {status:?}");
    assert_eq!(status.latest_delivery_error(), None);

    account.trail_delivery(&[("trail", "status"), ("cloudwatch-logs-error", "LogGroup not found"), ("delivered-hours-ago", "30")]);
    let status = cloudtrail.get_trail_status().name("status").send().await.unwrap();
    assert_eq!(status.latest_cloud_watch_logs_delivery_error(), Some("LogGroup not found"));
    let age = aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs() - status.latest_delivery_time().unwrap().secs();
    assert!((29 * 3600..31 * 3600).contains(&age), "delivered 30 hours ago: {age} s");
}

/// sns_subscription_confirmation.py
#[tokio::test]
async fn email_subscriptions_wait_for_their_recipients_confirmation() {
    let Some(account) = fresh_on_moto().await else { return };
    let sns = account.aws(AccessMode::ReadWrite).await.sns("us-east-1");
    let topic = sns.create_topic().name("alarms").send().await.unwrap().topic_arn().unwrap().to_string();
    let subscribed = sns.subscribe().topic_arn(&topic).protocol("email").endpoint("security@example.com").send().await.unwrap();
    assert_eq!(subscribed.subscription_arn(), Some("pending confirmation"));
    let listed = |sns: aws_sdk_sns::Client, topic: String| async move {
        let out = sns.list_subscriptions_by_topic().topic_arn(topic).send().await.unwrap();
        out.subscriptions().iter().map(|s| s.subscription_arn().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(listed(sns.clone(), topic.clone()).await, ["PendingConfirmation"]);

    account.confirm_subscription(&topic, "security@example.com");
    let confirmed = listed(sns.clone(), topic.clone()).await;
    assert!(confirmed[0].starts_with(&format!("{topic}:")), "confirmed: {confirmed:?}");
}

/// organizations_service_access_pages.py
#[tokio::test]
async fn trusted_access_is_listed_in_short_and_empty_pages() {
    let Some(account) = fresh_on_moto().await else { return };
    let organizations = account.aws(AccessMode::ReadWrite).await.organizations();
    organizations.create_organization().send().await.unwrap();
    for service in ["cloudtrail.amazonaws.com", "config.amazonaws.com"] {
        organizations.enable_aws_service_access().service_principal(service).send().await.unwrap();
    }
    let first = organizations.list_aws_service_access_for_organization().send().await.unwrap();
    assert!(first.enabled_service_principals().is_empty() && first.next_token().is_some(), "an empty first page with a token: {first:?}");
    let mut pages = organizations.list_aws_service_access_for_organization().into_paginator().send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        all.extend(page.unwrap().enabled_service_principals().iter().filter_map(|p| p.service_principal()).map(str::to_string));
    }
    assert_eq!(all, ["cloudtrail.amazonaws.com", "config.amazonaws.com"]);
}
