//! `logs.trail` on moto, past convergence: event selectors kept while management events are added,
//! delivery judged from what CloudTrail reports, retention never shortened, and the organization's
//! prerequisites and trails. LocalStack has no CloudTrail (its `error` is tested in `logs`): these
//! tests are moto only.

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, ReadWriteType};
use mamori::aws::AccessMode;
use mamori::report::{Action, Status, Verb};

use crate::harness::{propagated, standard_baseline, Account};
use crate::logs::{converge, converged_on_moto, fresh_on_moto, status_of};

const TRAIL: &str = "trail/mamori-trail";
const LOG_GROUP: &str = "/mamori/cloudtrail";

/// `verify` of `logs.trail` passes on `resource`, and a second `apply` makes no mutating call.
async fn assert_converged(account: &Account, resource: &str) {
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail"]).await;
    assert_eq!(status_of(&verify, "logs.trail", resource), Status::Pass);
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs.trail"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

fn trail_arn(account: &Account) -> String {
    format!("arn:aws:cloudtrail:us-east-1:{}:trail/mamori-trail", account.id)
}

fn field(name: &str, configure: impl FnOnce(aws_sdk_cloudtrail::types::builders::AdvancedFieldSelectorBuilder) -> aws_sdk_cloudtrail::types::builders::AdvancedFieldSelectorBuilder) -> AdvancedFieldSelector {
    configure(AdvancedFieldSelector::builder().field(name)).build().unwrap()
}

fn payroll_data_events() -> AdvancedEventSelector {
    AdvancedEventSelector::builder()
        .name("payroll objects")
        .field_selectors(field("eventCategory", |f| f.equals("Data")))
        .field_selectors(field("resources.type", |f| f.equals("AWS::S3::Object")))
        .field_selectors(field("resources.ARN", |f| f.starts_with("arn:aws:s3:::payroll/")))
        .build()
        .unwrap()
}

#[tokio::test]
async fn advanced_selectors_keep_their_data_events_and_gain_every_management_event() {
    let Some(account) = converged_on_moto().await else { return };
    let cloudtrail = account.aws(AccessMode::ReadWrite).await.cloudtrail("us-east-1");
    let no_kms = AdvancedEventSelector::builder()
        .name("management, KMS excluded")
        .field_selectors(field("eventCategory", |f| f.equals("Management")))
        .field_selectors(field("eventSource", |f| f.not_equals("kms.amazonaws.com")))
        .build()
        .unwrap();
    cloudtrail.put_event_selectors().trail_name(trail_arn(&account)).advanced_event_selectors(no_kms).advanced_event_selectors(payroll_data_events()).send().await.unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.trail"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.resource == TRAIL).expect("the selectors are drift");
    assert_eq!(change.before["management_events.read"], "all except kms.amazonaws.com", "KMS excluded is not all events: {change:?}");
    assert_eq!(change.after["management_events.read"], "all");

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.trail"]).await;
    let writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(writes, ["PutEventSelectors"], "only the selectors change");
    let selectors = cloudtrail.get_event_selectors().trail_name(trail_arn(&account)).send().await.unwrap();
    assert!(selectors.event_selectors().is_empty(), "the trail keeps its advanced form");
    let advanced = selectors.advanced_event_selectors();
    assert_eq!(advanced.len(), 2, "{advanced:?}");
    assert!(advanced.contains(&payroll_data_events()), "the data-event selector is kept as it was: {advanced:?}");
    let management = advanced.iter().find(|s| s.name() == Some("management, KMS excluded")).expect("the management selector, by its name");
    assert_eq!(management.field_selectors().len(), 1, "every management event, nothing excluded: {management:?}");
    assert_converged(&account, TRAIL).await;
}

#[tokio::test]
async fn basic_selectors_without_management_events_are_blind_and_keep_their_data_resources() {
    let Some(account) = converged_on_moto().await else { return };
    let cloudtrail = account.aws(AccessMode::ReadWrite).await.cloudtrail("us-east-1");
    let objects = DataResource::builder().r#type("AWS::S3::Object").values("arn:aws:s3:::payroll/").build();
    let data_only = EventSelector::builder().read_write_type(ReadWriteType::All).include_management_events(false).data_resources(objects.clone()).build();
    cloudtrail.put_event_selectors().trail_name(trail_arn(&account)).event_selectors(data_only).send().await.unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.trail"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.resource == TRAIL).expect("a blind trail is drift");
    assert_eq!((change.before["management_events.read"].as_str(), change.before["management_events.write"].as_str()), (Some("none"), Some("none")));

    account.run(Verb::Apply, &standard_baseline(), &["logs.trail"]).await;
    let selectors = cloudtrail.get_event_selectors().trail_name(trail_arn(&account)).send().await.unwrap();
    let basic = selectors.event_selectors();
    assert!(selectors.advanced_event_selectors().is_empty());
    assert_eq!(basic.len(), 1, "the All selector now includes management events too: {basic:?}");
    assert_eq!(basic[0].data_resources(), [objects], "its data resources are kept");
    assert_eq!(basic[0].include_management_events(), Some(true));
    assert_converged(&account, TRAIL).await;
}

#[tokio::test]
async fn a_trail_that_does_not_deliver_fails_with_the_error_aws_gives() {
    let Some(account) = converged_on_moto().await else { return };
    let delivery = format!("{TRAIL}/delivery");
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail"]).await;
    assert_eq!(status_of(&verify, "logs.trail", &delivery), Status::Pass, "a logging trail delivers");

    let refused = "AccessDenied: Access Denied (bucket policy)";
    account.trail_delivery(&[("trail", "mamori-trail"), ("s3-error", refused)]);
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail"]).await;
    let finding = verify.report.finding("logs.trail").into_iter().find(|f| f.resource == delivery).unwrap().clone();
    assert_eq!(finding.status, Status::Fail, "IsLogging is true, yet nothing arrives: {finding:?}");
    assert!(finding.message.contains(&format!("failing: {refused}")), "{}", finding.message);
    assert_eq!(status_of(&verify, "logs.trail", TRAIL), Status::Pass, "the trail's settings are right");
    assert_eq!(verify.report.exit_code(), 2);

    account.trail_delivery(&[("trail", "mamori-trail"), ("s3-error", ""), ("logging-started-hours-ago", "300"), ("delivered-hours-ago", "30")]);
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail"]).await;
    let finding = verify.report.finding("logs.trail").into_iter().find(|f| f.resource == delivery).unwrap().clone();
    assert_eq!(finding.status, Status::Fail);
    assert!(finding.message.contains("s3: \"stale: nothing delivered for over 24 hours"), "{}", finding.message);
    assert!(finding.message.contains("cloudwatch_logs: \"stale"), "CIS asks for recent CloudWatch Logs delivery: {}", finding.message);

    account.trail_delivery(&[("trail", "mamori-trail"), ("logging-started-hours-ago", "2")]);
    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.trail"]).await;
    assert_eq!(status_of(&verify, "logs.trail", &delivery), Status::Pass, "logging restarted two hours ago: not delivered yet is no failure");
    assert!(verify.calls.mutating_sent().is_empty());
}

#[tokio::test]
async fn retention_is_raised_to_the_baseline_and_never_shortened() {
    let Some(account) = converged_on_moto().await else { return };
    let logs = account.aws(AccessMode::ReadWrite).await.logs("us-east-1");
    let resource = format!("log-group/{LOG_GROUP}");
    let retention = || async {
        let groups = logs.describe_log_groups().log_group_name_prefix(LOG_GROUP).send().await.unwrap();
        groups.log_groups().iter().find(|g| g.log_group_name() == Some(LOG_GROUP)).expect("the trail's group").retention_in_days()
    };

    logs.put_retention_policy().log_group_name(LOG_GROUP).retention_in_days(3653).send().await.unwrap();
    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.trail"]).await;
    assert!(apply.calls.mutating_sent().is_empty(), "ten years is kept, not cut to 365 days: {:?}", apply.calls.mutating_sent());
    let kept = apply.report.finding("logs.trail").into_iter().find(|f| f.resource == resource).unwrap().clone();
    assert_eq!(kept.status, Status::Pass);
    assert!(kept.message.contains("keeps events for 3653 days") && kept.message.contains("never shortened"), "{}", kept.message);
    assert_eq!(retention().await, Some(3653));

    logs.delete_retention_policy().log_group_name(LOG_GROUP).send().await.unwrap();
    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.trail"]).await;
    assert!(apply.calls.mutating_sent().is_empty(), "a group that keeps events forever is left alone: {:?}", apply.calls.mutating_sent());
    assert_eq!(retention().await, None);

    logs.put_retention_policy().log_group_name(LOG_GROUP).retention_in_days(30).send().await.unwrap();
    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.trail"]).await;
    let change = plan.report.changes.iter().flatten().find(|c| c.resource == resource).expect("30 days is raised").clone();
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.before["retention"], "30 days");
    assert_eq!(change.after["retention"], "365 days (raised to the baseline's minimum: retention is never shortened)", "the plan says so");
    account.run(Verb::Apply, &standard_baseline(), &["logs.trail"]).await;
    assert_eq!(retention().await, Some(365));
    assert_converged(&account, &resource).await;
}

#[tokio::test]
async fn an_organization_without_all_features_gets_an_account_trail_and_a_manual_step() {
    let Some(account) = fresh_on_moto().await else { return };
    let aws = account.aws(AccessMode::ReadWrite).await;
    aws.organizations().create_organization().feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
    let apply = converge(&account).await;
    assert!(!apply.calls.mutating_sent().iter().any(|c| c.operation == "EnableAWSServiceAccess"), "trusted access needs all features");
    let trail = &aws.cloudtrail("us-east-1").describe_trails().send().await.unwrap().trail_list()[0].clone();
    assert_eq!((trail.is_organization_trail(), trail.is_multi_region_trail()), (Some(false), Some(true)), "a multi-region account trail meanwhile");

    let organization = apply.report.finding("logs.trail").into_iter().find(|f| f.resource.starts_with("organization/o-")).expect("the organization's finding").clone();
    assert_eq!(organization.status, Status::Manual, "{organization:?}");
    assert!(organization.remediation.as_deref().unwrap_or_default().contains("aws organizations enable-all-features"), "{organization:?}");
    assert_eq!(status_of(&apply, "logs.trail", TRAIL), Status::Pass, "the account trail is what the baseline asks while features are missing");
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

#[tokio::test]
async fn an_organization_trail_of_another_name_is_reported_not_duplicated() {
    let Some(account) = fresh_on_moto().await else { return };
    let aws = account.aws(AccessMode::ReadWrite).await;
    aws.organizations().create_organization().send().await.unwrap();
    aws.organizations().enable_aws_service_access().service_principal("cloudtrail.amazonaws.com").send().await.unwrap();
    // AWS Control Tower's organization trail, set up before mamori runs.
    let bucket = format!("aws-controltower-logs-{}-us-east-1", account.id);
    let s3 = aws.s3("us-east-1");
    crate::harness::cloudtrail_bucket(&s3, &bucket).await;
    let group = "aws-controltower/CloudTrailLogs";
    aws.logs("us-east-1").create_log_group().log_group_name(group).send().await.unwrap();
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    aws.iam().create_role().role_name("aws-controltower-CloudWatchLogsRole").assume_role_policy_document(trust).send().await.unwrap();
    propagated().await;
    let cloudtrail = aws.cloudtrail("us-east-1");
    let control_tower = cloudtrail
        .create_trail()
        .name("aws-controltower-BaselineCloudTrail")
        .s3_bucket_name(&bucket)
        .is_organization_trail(true)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .kms_key_id(format!("arn:aws:kms:us-east-1:{}:key/control-tower", account.id))
        .cloud_watch_logs_log_group_arn(format!("arn:aws:logs:us-east-1:{}:log-group:{group}:*", account.id))
        .cloud_watch_logs_role_arn(format!("arn:aws:iam::{}:role/aws-controltower-CloudWatchLogsRole", account.id))
        .send()
        .await
        .unwrap();
    let control_tower_arn = control_tower.trail_arn().unwrap().to_string();
    cloudtrail.start_logging().name(&control_tower_arn).send().await.unwrap();

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    assert!(!apply.calls.sent().iter().any(|c| c.operation == "CreateTrail" || c.operation == "UpdateTrail"), "no second organization trail");
    let trails = cloudtrail.describe_trails().send().await.unwrap();
    assert_eq!(trails.trail_list().len(), 1);
    let reported = apply.report.finding("logs.trail").into_iter().find(|f| f.resource == format!("organization-trail/{control_tower_arn}")).expect("the trail of record").clone();
    assert_eq!(reported.status, Status::Manual, "log-file validation is off, and mamori does not change what it does not manage: {reported:?}");
    assert!(reported.message.contains("log_file_validation: false → true"), "{}", reported.message);
    assert!(reported.remediation.as_deref().unwrap_or_default().contains("logs.trail.name: aws-controltower-BaselineCloudTrail"), "{reported:?}");

    let filters = aws.logs("us-east-1").describe_metric_filters().log_group_name(group).send().await.unwrap();
    assert_eq!(filters.metric_filters().len(), 15, "the alarms watch the group the organization trail writes to");
    assert_eq!(status_of(&apply, "logs.alarms", "alarm/mamori-cis-root-usage"), Status::Pass);
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}
