//! `logs.alarms` on moto, past convergence: an alarm silenced or altered behind mamori's back is drift
//! that `apply` repairs. (Subscriptions waiting for confirmation are tested in `logs`.) LocalStack has
//! no CloudTrail, so no log group to put the alarms on: these tests are moto only. Both lists are read
//! past their first page (AWS pages them at 50; the emulator shim `alarm_and_metric_filter_pages.py`).

use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use mamori::aws::AccessMode;
use mamori::report::{Status, Verb};

use crate::harness::standard_baseline;
use crate::logs::converged_on_moto;

/// `PutMetricAlarm` of the CIS alarm `slug` as mamori writes it, but for the threshold and actions.
fn cis_alarm(cloudwatch: &aws_sdk_cloudwatch::Client, slug: &str, threshold: f64, action: &str) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    cloudwatch
        .put_metric_alarm()
        .alarm_name(format!("mamori-cis-{slug}"))
        .metric_name(slug)
        .namespace("mamori/CISBenchmark")
        .statistic(Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(threshold)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .alarm_actions(action)
}

#[tokio::test]
async fn silenced_and_altered_alarms_are_repaired() {
    let Some(account) = converged_on_moto().await else { return };
    let cloudwatch = account.aws(AccessMode::ReadWrite).await.cloudwatch("us-east-1");
    let described = cloudwatch.describe_alarms().alarm_name_prefix("mamori-cis-").send().await.unwrap();
    let names: Vec<String> = described.metric_alarms().iter().filter_map(|a| a.alarm_name()).map(str::to_string).collect();
    assert_eq!(names.len(), 15);
    // One call silences every alarm without changing anything else.
    cloudwatch.disable_alarm_actions().set_alarm_names(Some(names.clone())).send().await.unwrap();
    // And one alarm now waits for a hundred root actions in a period before it says anything.
    let topic = format!("arn:aws:sns:us-east-1:{}:mamori-security-alarms", account.id);
    cis_alarm(&cloudwatch, "root-usage", 100.0, &topic).actions_enabled(false).send().await.unwrap();

    let plan = account.run(Verb::Plan, &standard_baseline(), &["logs.alarms"]).await;
    let changes: Vec<_> = plan.report.changes.iter().flatten().filter(|c| c.control == "logs.alarms").collect();
    assert_eq!(changes.len(), 15, "every alarm is drift: {changes:#?}");
    let root = changes.iter().find(|c| c.resource == "alarm/mamori-cis-root-usage").unwrap();
    assert_eq!(root.before["alarm.condition"], "Sum >= 100 per 300 s, 1 of 1 periods");
    assert_eq!(root.after["alarm.actions_enabled"], true);

    let apply = account.run(Verb::Apply, &standard_baseline(), &["logs.alarms"]).await;
    let mut writes: Vec<String> = apply.calls.mutating_sent().iter().map(|c| c.operation.clone()).collect();
    writes.sort();
    assert_eq!(writes, ["EnableAlarmActions", "PutMetricAlarm"], "one call re-enables fourteen alarms, one rewrites the altered one");
    let described = cloudwatch.describe_alarms().alarm_name_prefix("mamori-cis-").send().await.unwrap();
    assert!(described.metric_alarms().iter().all(|a| a.actions_enabled() == Some(true)), "every alarm notifies again");
    let root = described.metric_alarms().iter().find(|a| a.alarm_name() == Some("mamori-cis-root-usage")).unwrap();
    assert_eq!((root.threshold(), root.alarm_actions()), (Some(1.0), [topic.clone()].as_slice()));

    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.alarms"]).await;
    let alarms: Vec<Status> = verify.report.finding("logs.alarms").iter().filter(|f| f.resource.starts_with("alarm/")).map(|f| f.status).collect();
    assert_eq!(alarms, [Status::Pass; 15]);
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs.alarms"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}

#[tokio::test]
async fn other_actions_on_an_alarm_are_kept() {
    let Some(account) = converged_on_moto().await else { return };
    let aws = account.aws(AccessMode::ReadWrite).await;
    let pager = aws.sns("us-east-1").create_topic().name("pager").send().await.unwrap().topic_arn().unwrap().to_string();
    let cloudwatch = aws.cloudwatch("us-east-1");
    // The alarm is pointed at the team's pager only: mamori's topic is gone from it.
    cis_alarm(&cloudwatch, "iam-policy-changes", 1.0, &pager).send().await.unwrap();
    account.run(Verb::Apply, &standard_baseline(), &["logs.alarms"]).await;
    let described = cloudwatch.describe_alarms().alarm_names("mamori-cis-iam-policy-changes").send().await.unwrap();
    let mut actions = described.metric_alarms()[0].alarm_actions().to_vec();
    actions.sort();
    let topic = format!("arn:aws:sns:us-east-1:{}:mamori-security-alarms", account.id);
    let mut expected = vec![topic, pager];
    expected.sort();
    assert_eq!(actions, expected, "the topic is added back, the pager stays");
}

#[tokio::test]
async fn someone_elses_alarms_and_filters_under_the_prefix_do_not_hide_the_baselines() {
    let Some(account) = converged_on_moto().await else { return };
    let aws = account.aws(AccessMode::ReadWrite).await;
    let (cloudwatch, logs) = (aws.cloudwatch("us-east-1"), aws.logs("us-east-1"));
    // Sixty of each whose names sort before every baseline one ('0' < 'a'), on the trail's log group.
    for i in 0..60 {
        let name = format!("mamori-cis-0-team-{i:02}");
        cloudwatch
            .put_metric_alarm()
            .alarm_name(&name)
            .metric_name(&name)
            .namespace("team")
            .statistic(Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .send()
            .await
            .unwrap();
        let transformation = MetricTransformation::builder().metric_name(&name).metric_namespace("team").metric_value("1").build().unwrap();
        logs.put_metric_filter()
            .log_group_name("/mamori/cloudtrail")
            .filter_name(&name)
            .filter_pattern("{ $.eventName = \"TeamEvent\" }")
            .metric_transformations(transformation)
            .send()
            .await
            .unwrap();
    }
    // The emulator pages both lists at AWS's 50, in name order (the shim): the first pages hold none
    // of the baseline's.
    let alarms = cloudwatch.describe_alarms().alarm_name_prefix("mamori-cis-").send().await.unwrap();
    assert!(alarms.next_token().is_some() && alarms.metric_alarms().iter().all(|a| a.alarm_name().unwrap().starts_with("mamori-cis-0-")));
    let filters = logs.describe_metric_filters().log_group_name("/mamori/cloudtrail").filter_name_prefix("mamori-cis-").send().await.unwrap();
    assert!(filters.next_token().is_some() && filters.metric_filters().iter().all(|f| f.filter_name().unwrap().starts_with("mamori-cis-0-")));

    let verify = account.run(Verb::Verify, &standard_baseline(), &["logs.alarms"]).await;
    let baseline_alarms: Vec<Status> = verify.report.finding("logs.alarms").iter().filter(|f| f.resource.starts_with("alarm/")).map(|f| f.status).collect();
    assert_eq!(baseline_alarms, [Status::Pass; 15], "{:#?}", verify.report.finding("logs.alarms"));
    let again = account.run(Verb::Apply, &standard_baseline(), &["logs.alarms"]).await;
    assert!(again.calls.mutating_sent().is_empty(), "{:?}", again.calls.mutating_sent());
}
